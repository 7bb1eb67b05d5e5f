/* Accept mode's bookkeeping: which child serves which peer address, so
 * MaxConnections= and MaxConnectionsPerSource= can be enforced and a slot
 * freed when the child is reaped. Pure: no syscalls, unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "addr.h"

/* A peer address as limits and REMOTE_ADDR see it: an IPv4 peer on a
 * dual-stack socket (::ffff:a.b.c.d) is plain IPv4. */
typedef struct PeerAddr {
        int family;       /* AF_INET or AF_INET6 */
        InAddr addr;
} PeerAddr;

typedef struct ConnEntry {
        pid_t pid;
        PeerAddr source;
} ConnEntry;

/* Dense and unordered: removal swaps in the last entry. Lookups scan, which
 * is cheaper than a fork for the sizes MaxConnections= allows in practice. */
typedef struct ConnTable {
        ConnEntry *v;
        size_t n, cap;
} ConnTable;

/* -EAFNOSUPPORT for anything but AF_INET/AF_INET6. */
int peer_from_sockaddr(const struct sockaddr *sa, socklen_t len, PeerAddr *ret_addr, uint16_t *ret_port);
bool peer_equal(const PeerAddr *a, const PeerAddr *b);
/* Text as in REMOTE_ADDR: no brackets, no port. */
void peer_format(const PeerAddr *p, char buf[static ADDR_STRLEN]);

int conn_table_add(ConnTable *t, pid_t pid, const PeerAddr *source);
/* False when pid is not in the table (e.g. a grandchild we reaped as PID 1). */
bool conn_table_remove(ConnTable *t, pid_t pid);
size_t conn_table_count_source(const ConnTable *t, const PeerAddr *source);
void conn_table_free(ConnTable *t);
/* Room for one more entry, so the add after a fork() cannot fail. */
int conn_table_reserve(ConnTable *t);
