/* listen-probe MODE PORT: one way of reaching listen() on 127.0.0.1:PORT,
 * for the tests of tests/helpers/listen-guard.c. Prints "listened" and
 * exits 0 once listen() returned.
 *   nokey   no key at all
 *   key     a TCP_MD5SIG_EXT key, then listen
 *   dup     a key on one fd, listen on a dup() of it
 *   reuse   a key on a socket that is closed; a new one takes its fd number
 *   refused a key the kernel refuses (an IPv6 address on an IPv4 socket: EINVAL)
 *   ao      a TCP-AO key (TCP_AO_ADD_KEY), then listen; on a kernel without
 *           TCP-AO the key is refused (ENOPROTOOPT) and listen() goes on
 *   unix    an AF_UNIX stream socket (not TCP: never judged) */
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/tcp-ao.h"

static void die(const char *what) {
        perror(what);
        exit(2);
}

static int tcp(unsigned port) {
        int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0)
                die("socket/bind");
        return fd;
}

static void key(int fd, int family) {
        struct tcp_md5sig sig = { .tcpm_keylen = 5, .tcpm_key = "probe" };
        struct sockaddr_in *a = (struct sockaddr_in *) &sig.tcpm_addr;
        a->sin_family = (sa_family_t) family;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        /* The refused one fails on purpose: the guard must not count it. */
        if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &sig, sizeof sig) < 0 && family == AF_INET)
                die("setsockopt");
}

/* Refused on a kernel without TCP-AO: then the guard must not count it. */
static void ao_key(int fd) {
        struct tcp_ao_add a = { .prefix = 32, .sndid = 1, .rcvid = 1, .keylen = 5, .key = "probe" };
        struct sockaddr_in *sin = (struct sockaddr_in *) &a.addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        snprintf(a.alg_name, sizeof a.alg_name, "hmac(sha1)");
        if (setsockopt(fd, IPPROTO_TCP, TCP_AO_ADD_KEY, &a, sizeof a) < 0)
                perror("listen-probe: TCP_AO_ADD_KEY");
}

int main(int argc, char **argv) {
        if (argc != 3)
                return 64;
        const char *mode = argv[1];
        unsigned port = (unsigned) atoi(argv[2]);
        int fd;
        if (strcmp(mode, "nokey") == 0) {
                fd = tcp(port);
        } else if (strcmp(mode, "key") == 0) {
                fd = tcp(port);
                key(fd, AF_INET);
        } else if (strcmp(mode, "dup") == 0) {
                int orig = tcp(port);
                key(orig, AF_INET);
                fd = dup(orig);
        } else if (strcmp(mode, "reuse") == 0) {
                int old = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
                key(old, AF_INET);
                close(old);
                fd = tcp(port);
                if (fd != old)
                        fprintf(stderr, "listen-probe: fd %d not reused (%d)\n", old, fd);
        } else if (strcmp(mode, "refused") == 0) {
                fd = tcp(port);
                key(fd, AF_INET6);
        } else if (strcmp(mode, "ao") == 0) {
                fd = tcp(port);
                ao_key(fd);
        } else if (strcmp(mode, "unix") == 0) {
                struct sockaddr_un sun = { .sun_family = AF_UNIX };
                snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "listen-probe-%u", port);
                fd = socket(AF_UNIX, SOCK_STREAM, 0);
                if (fd < 0 || bind(fd, (struct sockaddr *) &sun, sizeof sun) < 0)
                        die("unix socket");
        } else {
                return 64;
        }
        if (fd < 0 || listen(fd, 1) < 0)
                die("listen");
        puts("listened");
        return 0;
}
