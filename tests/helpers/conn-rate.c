/* Benchmark client: keeps -c connections in flight to HOST PORT for -d
 * milliseconds; each one connects (signed with -k FILE), reads until the
 * server closes, and is replaced. Prints "conns N errors N per_sec N". */
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

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int start(int ep) {
        int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
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
                        if (k == 0)
                                done++;
                        else
                                errors++;
                        close(fd);
                        if (start(ep) < 0)
                                errors++;
                }
        }
        double t = now() - t0;
        secret_wipe(&key);
        printf("conns %ld errors %ld per_sec %.0f\n", done, errors, (double) done / t);
        return 0;
}
