/* The benchmark key set, shared by the C helpers and bench/lib/keyconf.py:
 * key i < n-1 is 10.0.0.0 + i + 1 /32 with the 8 secret bytes be32(i) twice;
 * the last key, added last, is 127.0.0.1/32 with "bench-key", the one the
 * benchmark client signs with. The catch-all 0.0.0.0/0 comes after it, as
 * tcpmd5-activate adds it. As TCP-AO keys (keyset_ao_add), the same
 * prefixes and secrets, each with SendID = RecvID = i mod 256: the prefixes
 * are disjoint, so the kernel takes repeated IDs. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "tcp-ao.h"

#define KEYSET_CLIENT_SECRET "bench-key"

static inline int keyset_setsockopt(int fd, uint32_t addr_be, int prefixlen, const void *key, size_t keylen) {
        struct tcp_md5sig sig = { .tcpm_flags = TCP_MD5SIG_FLAG_PREFIX, .tcpm_prefixlen = (uint8_t) prefixlen,
                                  .tcpm_keylen = (uint16_t) keylen };
        struct sockaddr_in *sin = (struct sockaddr_in *) &sig.tcpm_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = addr_be;
        memcpy(sig.tcpm_key, key, keylen);
        return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &sig, sizeof sig) < 0 ? -errno : 0;
}

/* Key i of n on fd; 0 or -errno. */
static inline int keyset_add(int fd, uint32_t i, uint32_t n) {
        if (i + 1 == n)
                return keyset_setsockopt(fd, htonl(INADDR_LOOPBACK), 32, KEYSET_CLIENT_SECRET,
                                         strlen(KEYSET_CLIENT_SECRET));
        uint32_t be = htonl(i);
        uint8_t secret[8];
        memcpy(secret, &be, 4);
        memcpy(secret + 4, &be, 4);
        return keyset_setsockopt(fd, htonl((10u << 24) + i + 1), 32, secret, sizeof secret);
}

/* The catch-all key of random bytes, as UnmatchedPeers=drop installs it. */
static inline int keyset_add_catch_all(int fd) {
        uint8_t secret[TCP_MD5SIG_MAXKEYLEN];
        if (getrandom(secret, sizeof secret, 0) != (ssize_t) sizeof secret)
                return -EIO;
        return keyset_setsockopt(fd, 0, 0, secret, sizeof secret);
}

/* A client socket that signs for the peer 127.0.0.1 with the last key. */
static inline int keyset_client_key(int fd) {
        struct tcp_md5sig sig = { .tcpm_keylen = sizeof KEYSET_CLIENT_SECRET - 1 };
        struct sockaddr_in *sin = (struct sockaddr_in *) &sig.tcpm_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        memcpy(sig.tcpm_key, KEYSET_CLIENT_SECRET, sizeof KEYSET_CLIENT_SECRET - 1);
        return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) < 0 ? -errno : 0;
}

/* A TCP-AO key with MAC algorithm alg for addr_be/prefixlen, IDs id/id;
 * 0 or -errno. */
static inline int keyset_ao_setsockopt(int fd, const char *alg, uint32_t addr_be, int prefixlen, uint8_t id,
                                       const void *key, size_t keylen) {
        struct tcp_ao_add a = { .prefix = (uint8_t) prefixlen, .sndid = id, .rcvid = id,
                                .keylen = (uint8_t) keylen };
        struct sockaddr_in *sin = (struct sockaddr_in *) &a.addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = addr_be;
        if (strlen(alg) >= sizeof a.alg_name || keylen > sizeof a.key)
                return -EINVAL;
        strcpy(a.alg_name, alg);
        memcpy(a.key, key, keylen);
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_ADD_KEY, &a, sizeof a) < 0 ? -errno : 0;
}

/* Key i of n on fd as a TCP-AO key with MAC algorithm alg; 0 or -errno. */
static inline int keyset_ao_add(int fd, const char *alg, uint32_t i, uint32_t n) {
        if (i + 1 == n)
                return keyset_ao_setsockopt(fd, alg, htonl(INADDR_LOOPBACK), 32, (uint8_t) i, KEYSET_CLIENT_SECRET,
                                            strlen(KEYSET_CLIENT_SECRET));
        uint32_t be = htonl(i);
        uint8_t secret[8];
        memcpy(secret, &be, 4);
        memcpy(secret + 4, &be, 4);
        return keyset_ao_setsockopt(fd, alg, htonl((10u << 24) + i + 1), 32, (uint8_t) i, secret, sizeof secret);
}

/* A client socket that signs with TCP-AO for the peer 127.0.0.1 with key
 * n-1 of the set (its IDs depend on n). */
static inline int keyset_ao_client_key(int fd, const char *alg, uint32_t n) {
        return keyset_ao_setsockopt(fd, alg, htonl(INADDR_LOOPBACK), 32, (uint8_t) (n - 1), KEYSET_CLIENT_SECRET,
                                    strlen(KEYSET_CLIENT_SECRET));
}
