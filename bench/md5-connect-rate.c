/* The kernel's cost of many keys, and of signing: a listener on
 * 127.0.0.1:PORT holding N keys of the bench key set (the one that matches,
 * 127.0.0.1, added last), and a client that connects signed, is accepted,
 * and resets, one connection at a time, for MS milliseconds; R rounds.
 * N = 0 is the unsigned reference (no key on either side). Resetting
 * (SO_LINGER 0) leaves no TIME_WAIT behind, so ports never run out.
 *   -a ALG  the keys are TCP-AO keys with MAC algorithm ALG (hmac(sha1),
 *           cmac(aes128), ...), or TCP MD5 keys for ALG "md5" (keyset.h).
 *           Given several times: one listener per ALG (PORT, PORT+1, ...),
 *           and each round runs them all for MS ms each, one after the
 *           other, starting with the next one each round, so that their
 *           rates are compared a fraction of a second apart.
 *   -e      before the reset, one byte each way (client to server and
 *           back): signed data segments, not only the handshake
 *
 * usage: md5-connect-rate [-a ALG]... [-e] N PORT MS R
 * prints one "rate=CONNECTIONS_PER_SECOND" line per round; with -a, one
 * "alg=ALG rate=..." line per ALG and round, then for each TCP-AO ALG
 * "alg=ALG ao_good=COUNT": the segments its listener's keys verified (the
 * proof that the handshakes were signed with TCP-AO). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"

#define MAX_MODES 8

typedef struct {
        const char *alg; /* TCP-AO with this MAC; NULL: TCP MD5 */
        int lfd;
        struct sockaddr_in sin;
} Mode;

static Mode modes[MAX_MODES];
static int n_modes;
static bool exchange; /* -e */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int client_key(const Mode *m, int fd, uint32_t n) {
        return m->alg ? keyset_ao_client_key(fd, m->alg, n) : keyset_client_key(fd);
}

/* One byte from a to b and back; 0 or -1. */
static int ping(int a, int b) {
        char c = 'x';
        return write(a, &c, 1) == 1 && read(b, &c, 1) == 1 && write(b, &c, 1) == 1 && read(a, &c, 1) == 1 ? 0 : -1;
}

static int one_connection(const Mode *m, uint32_t n) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        if (fd < 0 || (n > 0 && client_key(m, fd, n) < 0) ||
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0 ||
            connect(fd, (const struct sockaddr *) &m->sin, sizeof m->sin) < 0) {
                perror("md5-connect-rate: connect");
                return -1;
        }
        int a = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
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

/* The listener of m on port, with n keys; 0, or an exit status. */
static int listener(Mode *m, uint32_t n, unsigned long port) {
        int one = 1, r = 0;
        m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return perror("md5-connect-rate: socket"), 71;
        for (uint32_t i = 0; i < n && r == 0; i++)
                r = m->alg ? keyset_ao_add(m->lfd, m->alg, i, n) : keyset_add(m->lfd, i, n);
        if (r < 0)
                return fprintf(stderr, "md5-connect-rate: %s key: %s\n", m->alg ? m->alg : "TCP MD5", strerror(-r)), 71;
        m->sin = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(m->lfd, (struct sockaddr *) &m->sin, sizeof m->sin) < 0 || listen(m->lfd, 128) < 0)
                return perror("md5-connect-rate: bind/listen"), 71;
        return 0;
}

/* Connections per second of m for ms milliseconds, or -1. */
static double rate(const Mode *m, uint32_t n, double ms) {
        double t0 = now_s(), t;
        long count = 0;
        do {
                if (one_connection(m, n) < 0)
                        return -1;
                count++;
        } while ((t = now_s()) - t0 < ms / 1000);
        return count / (t - t0);
}

static int ao_good(const Mode *m) {
        struct tcp_ao_info_opt info = { 0 };
        socklen_t len = sizeof info;
        if (getsockopt(m->lfd, IPPROTO_TCP, TCP_AO_INFO, &info, &len) < 0)
                return perror("md5-connect-rate: TCP_AO_INFO"), 71;
        printf("alg=%s ao_good=%llu\n", m->alg, (unsigned long long) info.pkt_good);
        return 0;
}

static int usage(void) {
        fprintf(stderr, "usage: md5-connect-rate [-a ALG]... [-e] N PORT MS ROUNDS\n");
        return 64;
}

int main(int argc, char **argv) {
        int opt;
        while ((opt = getopt(argc, argv, "a:e")) != -1) {
                if (opt == 'a' && n_modes < MAX_MODES)
                        modes[n_modes++].alg = strcmp(optarg, "md5") == 0 ? NULL : optarg;
                else if (opt == 'e')
                        exchange = true;
                else
                        return usage();
        }
        if (argc - optind != 4)
                return usage();
        bool named = n_modes > 0; /* -a: say which ALG each rate is */
        if (!named)
                n_modes = 1;
        argv += optind;
        unsigned long n = strtoul(argv[0], NULL, 10), port = strtoul(argv[1], NULL, 10);
        double ms = strtod(argv[2], NULL);
        int rounds = atoi(argv[3]), r;
        for (int j = 0; j < n_modes; j++)
                if ((r = listener(&modes[j], (uint32_t) n, port + (unsigned long) j)) != 0)
                        return r;
        for (int k = 0; k < rounds; k++)
                for (int j = 0; j < n_modes; j++) {
                        const Mode *m = &modes[(k + j) % n_modes];
                        double v = rate(m, (uint32_t) n, ms);
                        if (v < 0)
                                return 1;
                        if (named)
                                printf("alg=%s ", m->alg ? m->alg : "md5");
                        printf("rate=%.0f\n", v);
                }
        for (int j = 0; j < n_modes; j++)
                if (modes[j].alg && (r = ao_good(&modes[j])) != 0)
                        return r;
        return 0;
}
