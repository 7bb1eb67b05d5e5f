/* Test client: connects to HOST PORT with the key from -k FILE (if any),
 * (from -s ADDR, -p PORT) sends MESSAGE, half-closes, prints the reply. Exit 0 on a reply, 3 when
 * the connect times out (a dropped SYN), 1 otherwise. */
#include <arpa/inet.h>
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

int main(int argc, char **argv) {
        const char *key = NULL, *src = NULL, *sport = "0";
        int timeout_ms = 1000, c;
        while ((c = getopt(argc, argv, "k:p:s:t:")) >= 0)
                switch (c) {
                case 'k': key = optarg; break;
                case 's': src = optarg; break;
                case 'p': sport = optarg; break;
                case 't': timeout_ms = atoi(optarg); break;
                default: return 64;
                }
        if (argc - optind != 3)
                return 64;
        struct sockaddr_storage peer, local;
        socklen_t plen, llen;
        if (parse_addr(argv[optind], argv[optind + 1], &peer, &plen) < 0)
                return 64;
        int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (!src && strcmp(sport, "0") != 0)
                src = peer.ss_family == AF_INET ? "0.0.0.0" : "::";
        if (src) {
                if (parse_addr(src, sport, &local, &llen) < 0 || bind(fd, (struct sockaddr *) &local, llen) < 0) {
                        perror("bind");
                        return 1;
                }
        }
        if (key) {
                Secret s;
                const char *problem;
                if (secret_load_file(key, &s, &problem) < 0 || md5sig_add_peer(fd, (struct sockaddr *) &peer, plen, &s) < 0) {
                        fprintf(stderr, "md5-client: cannot use key %s\n", key);
                        return 1;
                }
        }
        if (connect(fd, (struct sockaddr *) &peer, plen) < 0 && errno != EINPROGRESS) {
                perror("connect");
                return 1;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, timeout_ms) == 0) {
                /* Closed now, not at exit (after LeakSanitizer's scan, in
                 * an ASan build): an open socket retransmits its SYN. */
                close(fd);
                fprintf(stderr, "md5-client: connect timed out\n");
                return 3;
        }
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
                fprintf(stderr, "md5-client: connect: %s\n", strerror(err));
                return 1;
        }
        fcntl(fd, F_SETFL, 0);
        const char *msg = argv[optind + 2];
        if (write(fd, msg, strlen(msg)) != (ssize_t) strlen(msg))
                return 1;
        shutdown(fd, SHUT_WR);
        char buf[4096];
        ssize_t k;
        p = (struct pollfd) { .fd = fd, .events = POLLIN };
        while (poll(&p, 1, timeout_ms) > 0 && (k = read(fd, buf, sizeof buf)) > 0)
                fwrite(buf, 1, (size_t) k, stdout);
        return 0;
}
