/* The benchmark key set, shared by the C helpers and bench/lib/keyconf.py:
 * key i < n-1 is 10.0.0.0 + i + 1 /32 with the 8 secret bytes be32(i) twice;
 * the last key, added last, is 127.0.0.1/32 with "bench-key", the one the
 * benchmark client signs with. The catch-all 0.0.0.0/0 comes after it, as
 * tcpmd5-activate adds it. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

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
