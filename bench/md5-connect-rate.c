/* The kernel's cost of many keys: a listener on 127.0.0.1:PORT holding N
 * keys of the bench key set (the one that matches, 127.0.0.1, added last),
 * and a client that connects signed, is accepted, and resets, one
 * connection at a time, for MS milliseconds; R rounds. N = 0 is the
 * unsigned reference (no key on either side). Resetting (SO_LINGER 0)
 * leaves no TIME_WAIT behind, so ports never run out.
 *
 * usage: md5-connect-rate N PORT MS R
 * prints one "rate=CONNECTIONS_PER_SECOND" line per round. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_connection(int lfd, const struct sockaddr_in *sin, int signed_) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        if (fd < 0 || (signed_ && keyset_client_key(fd) < 0) ||
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0 ||
            connect(fd, (const struct sockaddr *) sin, sizeof *sin) < 0) {
                perror("md5-connect-rate: connect");
                return -1;
        }
        int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0) {
                perror("md5-connect-rate: accept");
                return -1;
        }
        close(fd);
        close(a);
        return 0;
}

int main(int argc, char **argv) {
        if (argc != 5)
                return fprintf(stderr, "usage: md5-connect-rate N PORT MS ROUNDS\n"), 64;
        unsigned long n = strtoul(argv[1], NULL, 10), port = strtoul(argv[2], NULL, 10);
        double ms = strtod(argv[3], NULL);
        int rounds = atoi(argv[4]), one = 1, r = 0;
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return perror("md5-connect-rate: socket"), 71;
        for (uint32_t i = 0; i < n && r == 0; i++)
                r = keyset_add(lfd, i, (uint32_t) n);
        if (r < 0)
                return fprintf(stderr, "md5-connect-rate: key: %s\n", strerror(-r)), 71;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, 128) < 0)
                return perror("md5-connect-rate: bind/listen"), 71;
        for (int k = 0; k < rounds; k++) {
                double t0 = now_s(), t;
                long count = 0;
                do {
                        if (one_connection(lfd, &sin, n > 0) < 0)
                                return 1;
                        count++;
                } while ((t = now_s()) - t0 < ms / 1000);
                printf("rate=%.0f\n", count / (t - t0));
        }
        return 0;
}
