/* Times a start-up: from fork+exec of COMMAND until a client signing with
 * the bench key (keyset.h) on 127.0.0.1:PORT gets its echo back. Then
 * kills COMMAND and reports its peak RSS and CPU time (wait4; Linux keeps
 * the peak across execve, so an activator that execs its daemon is counted
 * at its largest).
 *
 * usage: bench-startup [-w TIMEOUT_MS] PORT COMMAND [ARG]...
 *        bench-startup -x COMMAND [ARG]...   (run to the end, no client)
 * prints: elapsed_us=.. maxrss_kb=.. utime_us=.. stime_us=..
 * (utime+stime is exact; the kernel splits it between the two by ticks)
 * exit 0, or 1 if no echo came back within the timeout or -x's COMMAND
 * failed. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keyset.h"

static long long now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Whether 127.0.0.1:PORT is in LISTEN state. A signed SYN cannot probe
 * this: the kernel sends no RST for a signed segment that finds no socket
 * (it has no key to sign one), so a SYN sent before listen() waits out the
 * 1 s retransmission timeout. /proc/net/tcp answers without a packet. */
static int listening(uint16_t port) {
        static char buf[1 << 16];
        char want[64];
        FILE *f = fopen("/proc/net/tcp", "re");
        if (!f)
                return -1;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        snprintf(want, sizeof want, "0100007F:%04X 00000000:0000 0A", port);
        return strstr(buf, want) != NULL;
}

/* 1 when an echo came back, 0 when nobody listens yet, -1 on error. */
static int try_echo(uint16_t port, int timeout_ms) {
        int l = listening(port);
        if (l <= 0)
                return l;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = -1;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (fd < 0 || keyset_client_key(fd) < 0)
                goto out;
        if (connect(fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
                r = errno == ECONNREFUSED ? 0 : -1;
                goto out;
        }
        char buf[8];
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (write(fd, "ping", 4) == 4 && poll(&p, 1, timeout_ms) == 1 && read(fd, buf, sizeof buf) == 4)
                r = 1;
out:
        if (fd >= 0)
                close(fd);
        return r;
}

static void print_usage(long long elapsed_us, const struct rusage *ru) {
        printf("elapsed_us=%lld maxrss_kb=%ld utime_us=%lld stime_us=%lld\n", elapsed_us, ru->ru_maxrss,
               ru->ru_utime.tv_sec * 1000000LL + ru->ru_utime.tv_usec,
               ru->ru_stime.tv_sec * 1000000LL + ru->ru_stime.tv_usec);
}

static int report_exit(pid_t pid, long long t0) {
        struct rusage ru;
        int st;
        if (wait4(pid, &st, 0, &ru) < 0)
                return perror("wait4"), 71;
        print_usage(now_us() - t0, &ru);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
        int timeout_ms = 600000, run_only = 0, c;
        while ((c = getopt(argc, argv, "+w:x")) >= 0)
                switch (c) {
                case 'w': timeout_ms = atoi(optarg); break;
                case 'x': run_only = 1; break;
                default: return 64;
                }
        if (argc - optind < 2 - run_only)
                return fprintf(stderr, "usage: bench-startup [-w TIMEOUT_MS] PORT COMMAND... | -x COMMAND...\n"), 64;
        if (run_only)
                optind--; /* no PORT: COMMAND is at argv[optind + 1] below */
        uint16_t port = run_only ? 0 : (uint16_t) atoi(argv[optind]);
        long long t0 = now_us(), deadline = t0 + timeout_ms * 1000LL;
        pid_t pid = fork();
        if (pid < 0)
                return perror("fork"), 71;
        if (pid == 0) {
                /* Our stdout carries the report alone. */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
                        _exit(71);
                execv(argv[optind + 1], argv + optind + 1);
                _exit(127);
        }
        if (run_only)
                return report_exit(pid, t0);
        int r = 0;
        long long t;
        while ((r = try_echo(port, timeout_ms)) == 0 && (t = now_us()) < deadline) {
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        fprintf(stderr, "bench-startup: %s exited before serving\n", argv[optind + 1]);
                        return 1;
                }
                /* Poll every 50 us at first, then at 1/1000 of the time so
                 * far: the error stays under 0.1 % and a long start-up is
                 * not slowed by our polling on a shared core. */
                long long us = (t - t0) / 1000;
                us = us < 50 ? 50 : us > 100000 ? 100000 : us;
                nanosleep(&(struct timespec) { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 }, NULL);
        }
        long long t1 = now_us();
        kill(pid, SIGKILL);
        struct rusage ru;
        if (wait4(pid, NULL, 0, &ru) < 0)
                return perror("wait4"), 71;
        if (r != 1)
                return fprintf(stderr, "bench-startup: no echo on port %u\n", port), 1;
        print_usage(t1 - t0, &ru);
        return 0;
}
