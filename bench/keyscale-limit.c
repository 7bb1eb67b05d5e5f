/* The limit for the key-scale benchmark: what any activator must do at
 * least. It reads no config; it makes one socket, does the same
 * setsockopt() calls tcpmd5-activate does for the bench key set (N keys,
 * then the catch-all), binds, listens, and execs COMMAND with the socket on
 * fd 3 (LISTEN_FDS=1), exactly as tcpmd5-activate hands it on. Whatever
 * tcpmd5-activate takes beyond this is its own parsing and planning.
 *
 * usage: keyscale-limit [-t] N PORT [COMMAND [ARG]...]
 * -t prints "install_ns=NS calls=C" (the setsockopt loop alone) on stdout.
 * Without COMMAND it exits after listen(). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"

static long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
        int timing = 0, c;
        while ((c = getopt(argc, argv, "+t")) >= 0) {
                if (c != 't')
                        return 64;
                timing = 1;
        }
        if (argc - optind < 2)
                return fprintf(stderr, "usage: keyscale-limit [-t] N PORT [COMMAND...]\n"), 64;
        unsigned long n = strtoul(argv[optind], NULL, 10), port = strtoul(argv[optind + 1], NULL, 10);
        if (n == 0 || n > 10000000 || port == 0 || port > 65535)
                return fprintf(stderr, "keyscale-limit: bad N or PORT\n"), 64;
        int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), one = 1, r = 0;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return perror("keyscale-limit: socket"), 71;
        long long t0 = now_ns();
        for (uint32_t i = 0; i < n && r == 0; i++)
                r = keyset_add(fd, i, (uint32_t) n);
        if (r == 0)
                r = keyset_add_catch_all(fd);
        long long t1 = now_ns();
        if (r < 0)
                return fprintf(stderr, "keyscale-limit: setsockopt: %s\n", strerror(-r)), 71;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(fd, 4096) < 0)
                return perror("keyscale-limit: bind/listen"), 71;
        if (timing)
                printf("install_ns=%lld calls=%lu\n", t1 - t0, n + 1);
        if (argc - optind == 2)
                return 0;
        fflush(stdout);
        if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
                return perror("keyscale-limit: dup2"), 71;
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long) getpid());
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDNAMES", "limit", 1);
        execv(argv[optind + 2], argv + optind + 2);
        perror("keyscale-limit: execv");
        return 127;
}
