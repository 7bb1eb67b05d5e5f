/* TEST ONLY — a stand-in for tcpmd5-connect until that lands: connects to
 * HOST PORT, signing with the key from -k FILE (unsigned without -k), then
 * relays stdin -> socket and socket -> stdout, so it can serve as an
 * OpenSSH ProxyCommand. Exit 3 when the connect times out (a dropped SYN). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "md5sig.h"
#include "secret.h"

static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                return -1;
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

static int connect_signed(const char *key, const char *src, const char *host, const char *port, int timeout_ms) {
        struct sockaddr_storage peer, local;
        socklen_t plen, llen;
        if (parse_addr(host, port, &peer, &plen) < 0)
                exit(64);
        int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || (src && (parse_addr(src, "0", &local, &llen) < 0 || bind(fd, (struct sockaddr *) &local, llen) < 0)))
                exit(1);
        if (key) {
                Secret s;
                const char *problem;
                int r = secret_load_file(key, &s, &problem);
                if (r == 0)
                        r = md5sig_add_peer(fd, (struct sockaddr *) &peer, plen, &s);
                secret_wipe(&s);
                if (r < 0) {
                        fprintf(stderr, "testonly-md5-proxy: cannot use key %s\n", key);
                        exit(1);
                }
        }
        if (connect(fd, (struct sockaddr *) &peer, plen) < 0 && errno != EINPROGRESS)
                exit(1);
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, timeout_ms) == 0) {
                fprintf(stderr, "testonly-md5-proxy: connect timed out\n");
                exit(3);
        }
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
                fprintf(stderr, "testonly-md5-proxy: connect: %s\n", strerror(err));
                exit(1);
        }
        fcntl(fd, F_SETFL, 0);
        return fd;
}

/* Copies one chunk; false at EOF or error. */
static int pump(int from, int to) {
        char buf[65536];
        ssize_t k = read(from, buf, sizeof buf);
        if (k <= 0)
                return k < 0 && errno == EINTR;
        for (ssize_t off = 0; off < k;) {
                ssize_t w = write(to, buf + off, (size_t) (k - off));
                if (w < 0)
                        return 0;
                off += w;
        }
        return 1;
}

int main(int argc, char **argv) {
        const char *key = NULL, *src = NULL;
        int timeout_ms = 2000, c;
        while ((c = getopt(argc, argv, "k:s:t:")) >= 0)
                switch (c) {
                case 'k': key = optarg; break;
                case 's': src = optarg; break;
                case 't': timeout_ms = atoi(optarg); break;
                default: return 64;
                }
        if (argc - optind != 2)
                return 64;
        int fd = connect_signed(key, src, argv[optind], argv[optind + 1], timeout_ms);
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
        for (;;) {
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return 1;
                if (p[0].revents && !pump(STDIN_FILENO, fd)) {
                        shutdown(fd, SHUT_WR);
                        p[0].fd = -1;
                }
                if (p[1].revents && !pump(fd, STDOUT_FILENO))
                        return 0;
        }
}
