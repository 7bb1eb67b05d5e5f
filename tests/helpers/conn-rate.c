/* Benchmark client: keeps -c connections in flight to HOST PORT for -d
 * milliseconds; each one connects (signed with -k FILE), reads until the
 * server closes, and is replaced. Prints "conns N errors N per_sec N
 * p50_us N p99_us N": the latency is from socket() to the server's close. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "md5sig.h"
#include "secret.h"

static struct sockaddr_storage peer;
static socklen_t peer_len;
static Secret key;
static int use_key;
/* When each fd's connection began, and the latencies of the finished ones. */
#define MAX_FD 65536
static double began[MAX_FD];
static double *lat;
static size_t n_lat, cap_lat;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int start(int ep) {
        int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (fd >= MAX_FD) {
                close(fd);
                return -1;
        }
        began[fd] = now();
        if (use_key && md5sig_add_peer(fd, (struct sockaddr *) &peer, peer_len, &key) < 0) {
                close(fd);
                return -1;
        }
        if (connect(fd, (struct sockaddr *) &peer, peer_len) < 0 && errno != EINPROGRESS) {
                close(fd);
                return -1;
        }
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
        return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void lat_add(double t) {
        if (n_lat == cap_lat) {
                cap_lat = cap_lat ? 2 * cap_lat : 4096;
                if (!(lat = realloc(lat, cap_lat * sizeof *lat)))
                        exit(1);
        }
        lat[n_lat++] = t;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* The q-quantile in microseconds (nearest rank). */
static double quantile_us(double q) {
        if (n_lat == 0)
                return 0;
        size_t i = (size_t) (q * (double) n_lat);
        return lat[i < n_lat ? i : n_lat - 1] * 1e6;
}

int main(int argc, char **argv) {
        int conc = 8, dur_ms = 2000, c;
        const char *keyfile = NULL;
        while ((c = getopt(argc, argv, "c:d:k:")) >= 0)
                switch (c) {
                case 'c': conc = atoi(optarg); break;
                case 'd': dur_ms = atoi(optarg); break;
                case 'k': keyfile = optarg; break;
                default: return 64;
                }
        if (argc - optind != 2 || conc < 1 || conc > 1000)
                return 64;
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai) != 0)
                return 64;
        memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
        peer_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        const char *problem;
        if (keyfile && secret_load_file(keyfile, &key, &problem) < 0) {
                fprintf(stderr, "conn-rate: cannot read key %s\n", keyfile);
                return 1;
        }
        use_key = keyfile != NULL;
        int ep = epoll_create1(EPOLL_CLOEXEC);
        for (int i = 0; i < conc; i++)
                if (start(ep) < 0)
                        return 1;
        long done = 0, errors = 0;
        double t0 = now(), end = t0 + dur_ms / 1000.0;
        struct epoll_event evs[64];
        while (now() < end) {
                int n = epoll_wait(ep, evs, 64, 100);
                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;
                        char buf[512];
                        ssize_t k = read(fd, buf, sizeof buf);
                        if (k > 0 || (k < 0 && errno == EAGAIN))
                                continue;
                        if (k == 0) {
                                done++;
                                lat_add(now() - began[fd]);
                        }
                        else
                                errors++;
                        close(fd);
                        if (start(ep) < 0)
                                errors++;
                }
        }
        double t = now() - t0;
        secret_wipe(&key);
        if (n_lat) /* qsort() wants an array, even of none */
                qsort(lat, n_lat, sizeof *lat, cmp_double);
        printf("conns %ld errors %ld per_sec %.0f p50_us %.0f p99_us %.0f\n", done, errors, (double) done / t,
               quantile_us(0.5), quantile_us(0.99));
        free(lat);
        return 0;
}
