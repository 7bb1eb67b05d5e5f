/* The kernel's cost of many keys, and of signing: a listener on
 * 127.0.0.1:PORT holding N keys of the bench key set (the one that matches,
 * 127.0.0.1, added last), and a client that connects signed, is accepted,
 * and resets, one connection at a time, for MS milliseconds; R rounds.
 * N = 0 is the unsigned reference (no key on either side). Resetting
 * (SO_LINGER 0) leaves no TIME_WAIT behind, so ports never run out.
 *   -a ALG  the keys are TCP-AO keys with MAC algorithm ALG (hmac(sha1),
 *           cmac(aes128), ...) instead of TCP MD5 keys (keyset.h)
 *   -e      before the reset, one byte each way (client to server and
 *           back): signed data segments, not only the handshake
 *
 * usage: md5-connect-rate [-a ALG] [-e] N PORT MS R
 * prints one "rate=CONNECTIONS_PER_SECOND" line per round; with -a, then
 * "ao_good=COUNT": the segments the listener's keys verified (the proof
 * that the handshakes were signed with TCP-AO). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"

static const char *ao_alg; /* -a: TCP-AO with this MAC; NULL: TCP MD5 */
static bool exchange;      /* -e */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int client_key(int fd, uint32_t n) {
        return ao_alg ? keyset_ao_client_key(fd, ao_alg, n) : keyset_client_key(fd);
}

/* One byte from a to b and back; 0 or -1. */
static int ping(int a, int b) {
        char c = 'x';
        return write(a, &c, 1) == 1 && read(b, &c, 1) == 1 && write(b, &c, 1) == 1 && read(a, &c, 1) == 1 ? 0 : -1;
}

static int one_connection(int lfd, const struct sockaddr_in *sin, uint32_t n) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        if (fd < 0 || (n > 0 && client_key(fd, n) < 0) ||
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
        if (exchange && ping(fd, a) < 0) {
                perror("md5-connect-rate: exchange");
                return -1;
        }
        close(fd);
        close(a);
        return 0;
}

static int add_keys(int lfd, uint32_t n) {
        int r = 0;
        for (uint32_t i = 0; i < n && r == 0; i++)
                r = ao_alg ? keyset_ao_add(lfd, ao_alg, i, n) : keyset_add(lfd, i, n);
        return r;
}

static int usage(void) {
        fprintf(stderr, "usage: md5-connect-rate [-a ALG] [-e] N PORT MS ROUNDS\n");
        return 64;
}

int main(int argc, char **argv) {
        int opt;
        while ((opt = getopt(argc, argv, "a:e")) != -1) {
                if (opt == 'a')
                        ao_alg = optarg;
                else if (opt == 'e')
                        exchange = true;
                else
                        return usage();
        }
        if (argc - optind != 4)
                return usage();
        argv += optind;
        unsigned long n = strtoul(argv[0], NULL, 10), port = strtoul(argv[1], NULL, 10);
        double ms = strtod(argv[2], NULL);
        int rounds = atoi(argv[3]), one = 1;
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return perror("md5-connect-rate: socket"), 71;
        int r = add_keys(lfd, (uint32_t) n);
        if (r < 0)
                return fprintf(stderr, "md5-connect-rate: %s key: %s\n", ao_alg ? ao_alg : "TCP MD5", strerror(-r)), 71;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, 128) < 0)
                return perror("md5-connect-rate: bind/listen"), 71;
        for (int k = 0; k < rounds; k++) {
                double t0 = now_s(), t;
                long count = 0;
                do {
                        if (one_connection(lfd, &sin, (uint32_t) n) < 0)
                                return 1;
                        count++;
                } while ((t = now_s()) - t0 < ms / 1000);
                printf("rate=%.0f\n", count / (t - t0));
        }
        struct tcp_ao_info_opt info = { 0 };
        socklen_t len = sizeof info;
        if (ao_alg && getsockopt(lfd, IPPROTO_TCP, TCP_AO_INFO, &info, &len) < 0)
                return perror("md5-connect-rate: TCP_AO_INFO"), 71;
        if (ao_alg)
                printf("ao_good=%llu\n", (unsigned long long) info.pkt_good);
        return 0;
}
