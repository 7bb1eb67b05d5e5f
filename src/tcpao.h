/* The kernel interface for TCP-AO keys (RFC 5925, Linux >= 6.7 with
 * CONFIG_TCP_AO): one setsockopt per key, as for TCP MD5. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

#include "config.h"
#include "plan.h"

/* TCP_AO_ADD_KEY for a listener's entry (prefix, IDs, MAC, interface). -errno. */
int tcpao_add(int fd, const KeyEntry *e);
/* TCP_AO_DEL_KEY of the same entry; a missing key (ENOENT) is not an error. */
int tcpao_delete(int fd, const KeyEntry *e);
/* TCP_AO_INFO ao_required: every segment without TCP-AO is dropped, from
 * any peer. The kernel refuses it (EKEYREJECTED) on a socket with MD5 keys. */
int tcpao_set_required(int fd);
/* The client's key k (a TCP-AO [Key]) for exactly one peer address; with
 * current, the key it sends with and asks the peer for (RNextKeyID). */
int tcpao_add_peer(int fd, const struct sockaddr *peer, socklen_t len, const KeyConfig *k, bool current);

/* Whether the kernel takes a TCP-AO key with this MAC algorithm, tried on
 * a throwaway socket: 0; -ENOPROTOOPT without TCP-AO in the kernel;
 * -ENOENT when it lacks the algorithm; another -errno. */
int tcpao_probe(const char *algorithm);

/* The message for a kernel without TCP-AO, after "what: ". */
#define TCPAO_MISSING "this kernel has no TCP-AO: it needs Linux >= 6.7 built with CONFIG_TCP_AO " \
        "(Debian's kernels, up to 6.12, leave it unset); TCP MD5 keys work without it"
