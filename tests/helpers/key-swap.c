/* Test helper: changes the keys of another process's socket behind its
 * back, as a second admin (or an attacker with root) could. It takes the
 * socket with pidfd_getfd(2) (Linux >= 5.6, ptrace rights over PID), then
 * sets or deletes the key of one prefix on it.
 *   key-swap PID FD PREFIX/LEN SECRET     set (replace) that prefix's key
 *   key-swap PID FD PREFIX/LEN -d         delete it
 * An IPv4 prefix on an IPv6 socket goes in v4-mapped with the IPv4 length,
 * as the activator installs it. Exit 0 on success, 1 with a message. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int die(const char *what) {
        fprintf(stderr, "key-swap: %s: %s\n", what, strerror(errno));
        return 1;
}

int main(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: key-swap PID FD PREFIX/LEN SECRET|-d\n");
                return 1;
        }
        int pidfd = (int) syscall(SYS_pidfd_open, atoi(argv[1]), 0);
        if (pidfd < 0)
                return die("pidfd_open");
        int fd = (int) syscall(SYS_pidfd_getfd, pidfd, atoi(argv[2]), 0);
        if (fd < 0)
                return die("pidfd_getfd");
        struct sockaddr_storage own;
        socklen_t ol = sizeof own;
        if (getsockname(fd, (struct sockaddr *) &own, &ol) < 0)
                return die("getsockname");
        char addr[64];
        snprintf(addr, sizeof addr, "%s", argv[3]);
        char *slash = strchr(addr, '/');
        if (!slash)
                return fprintf(stderr, "key-swap: PREFIX/LEN wanted\n"), 1;
        *slash = 0;
        struct tcp_md5sig m = { .tcpm_flags = TCP_MD5SIG_FLAG_PREFIX, .tcpm_prefixlen = (uint8_t) atoi(slash + 1) };
        struct in_addr v4;
        if (inet_pton(AF_INET, addr, &v4) == 1 && own.ss_family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &m.tcpm_addr;
                sin->sin_family = AF_INET;
                sin->sin_addr = v4;
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &m.tcpm_addr;
                sin6->sin6_family = AF_INET6;
                if (inet_pton(AF_INET, addr, &v4) == 1) {
                        sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
                        memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
                } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
                        return fprintf(stderr, "key-swap: bad address %s\n", addr), 1;
                }
        }
        if (strcmp(argv[4], "-d") != 0) {
                m.tcpm_keylen = (uint16_t) strlen(argv[4]);
                memcpy(m.tcpm_key, argv[4], m.tcpm_keylen);
        }
        if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &m, sizeof m) < 0)
                return die("setsockopt TCP_MD5SIG_EXT");
        return 0;
}
