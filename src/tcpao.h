/* The kernel interface for TCP-AO keys (RFC 5925, Linux >= 6.7 with
 * CONFIG_TCP_AO): one setsockopt per key, as for TCP MD5. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
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

/* One TCP-AO key as TCP_AO_GET_KEYS reports it, without its secret: an
 * IPv4 key of a dual-stack socket (v4-mapped) as AF_INET with its IPv4
 * length, as sock_diag reports MD5 keys. */
typedef struct TcpaoKey {
        Prefix prefix;
        char algorithm[CONFIG_AO_ALGORITHM_MAX + 1]; /* the kernel's name: "cmac(aes)" for cmac(aes128) */
        uint8_t send_id, recv_id, mac_length;
        int ifindex;                                 /* 0: none */
        bool is_current, is_rnext;
        uint64_t pkt_good, pkt_bad;
} TcpaoKey;

/* TCP_AO_INFO of a socket: its settings and counters. */
typedef struct TcpaoInfo {
        bool ao_required, has_current, has_rnext;
        uint8_t current, rnext;
        uint64_t pkt_good, pkt_bad, pkt_key_not_found, pkt_ao_required, pkt_dropped_icmp;
} TcpaoInfo;

/* Every TCP-AO key on fd, sorted by prefix, then SendID, then RecvID
 * (tcpao_key_compare). The kernel hands each key's secret back with it:
 * the buffer is wiped before return and no byte of it is kept. A socket
 * without TCP-AO keys is an empty list. -ENOPROTOOPT without TCP-AO in
 * the kernel, -ENOMEM, another -errno. */
int tcpao_get_keys(int fd, TcpaoKey **ret, size_t *ret_n);
/* TCP_AO_INFO; a socket without TCP-AO keys: all zero. -errno. */
int tcpao_get_info(int fd, TcpaoInfo *ret);
int tcpao_key_compare(const TcpaoKey *a, const TcpaoKey *b);
/* The name the kernel reports for a configured algorithm: it keeps
 * cmac(aes128) as "cmac(aes)". */
const char *tcpao_kernel_algorithm(const char *configured);

/* Whether the kernel takes a TCP-AO key with this MAC algorithm, tried on
 * a throwaway socket: 0; -ENOPROTOOPT without TCP-AO in the kernel;
 * -ENOENT when it lacks the algorithm; another -errno. */
int tcpao_probe(const char *algorithm);

/* The message for a kernel without TCP-AO, after "what: ". */
#define TCPAO_MISSING "this kernel has no TCP-AO: it needs Linux >= 6.7 built with CONFIG_TCP_AO " \
        "(Debian's kernels, up to 6.12, leave it unset); TCP MD5 keys work without it"
