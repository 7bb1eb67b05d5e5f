/* What the kernel holds: TCP sockets of this network namespace read with
 * sock_diag (NETLINK_SOCK_DIAG), with the TCP MD5 keys of each. The kernel
 * hands the keys, raw secrets included, only to a CAP_NET_ADMIN requester;
 * here every secret is fingerprinted as it is parsed and the receive
 * buffer wiped, so no secret byte outlives the dump. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "secret.h"

/* One key as sock_diag reports it: an IPv4 key of a dual-stack socket
 * comes back as AF_INET with the IPv4 length (the kernel stores it so). */
typedef struct DiagKey {
        Prefix prefix;
        char fingerprint[SECRET_FINGERPRINT_STRLEN];
} DiagKey;

typedef struct DiagSocket {
        int family;
        uint8_t state;          /* TCP_LISTEN, TCP_ESTABLISHED, ... */
        InAddr local, remote;
        uint16_t local_port, remote_port;
        uint64_t inode;
        uid_t uid;
        uint32_t ifindex, cookie[2];  /* the rest of the kernel's socket id, to ask for it alone */
        DiagKey *keys;          /* sorted by prefix (prefix_compare) */
        size_t n_keys;
} DiagSocket;

typedef struct DiagTable {
        DiagSocket *v;
        size_t n;
} DiagTable;

#define SOCKDIAG_STATE(s) (1u << (s))

/* Every TCP socket of both families in one of the states (a mask of
 * SOCKDIAG_STATE()), with their MD5 keys when with_keys. -errno. Without
 * CAP_NET_ADMIN the kernel leaves the keys out silently: ask
 * sockdiag_can_read_keys() first. A dump leaves out a socket whose keys do
 * not fit in one dump message (32 kB, about 300 keys): such a socket is
 * then asked for alone, in a message sized to fit. */
int sockdiag_dump(unsigned states, bool with_keys, DiagTable *ret);
void diag_table_free(DiagTable *t);
/* Whether this process may read keys (CAP_NET_ADMIN in its effective set). */
bool sockdiag_can_read_keys(void);
/* The socket whose inode is ino, or NULL. */
const DiagSocket *diag_table_find_inode(const DiagTable *t, uint64_t ino);

/* Pure, for the unit tests. One inet_diag_msg and its attributes (len bytes
 * from the start of the netlink payload) into *ret: -EBADMSG when short or
 * malformed. The key bytes in msg are fingerprinted, never copied. */
int sockdiag_parse(const void *msg, size_t len, DiagSocket *ret);
/* The INET_DIAG_MD5SIG attribute's payload: an array of struct
 * tcp_diag_md5sig. -EBADMSG when its length is no multiple, a key is
 * longer than 80 bytes, or a prefix too long for its family. */
int sockdiag_parse_md5(const void *data, size_t len, DiagKey **ret, size_t *ret_n);
void diag_socket_done(DiagSocket *s);
