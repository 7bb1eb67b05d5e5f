/* Test daemon: takes its sockets with sd_listen_fds_with_names(), writes
 * what it received to the file named by argv[1], then echoes every
 * connection back, prefixed by nothing, until the peer closes.
 * With argv[2] = "--after-eof" it serves one connection at a time and
 * sends nothing until the peer has half-closed: then all of it, then a
 * close. A client that stops reading at its own EOF gets nothing.
 * Each SIGHUP appends a line to argv[1].hup (so tests see a forwarded
 * reload) instead of killing it.
 * With argv[2] = "--accept-log=FILE" it appends one line per accepted
 * connection (the peer address) to FILE.
 * With argv[2] = "--also-listen=PORT" it also listens on 127.0.0.1:PORT, a
 * socket of its own with no key (as a daemon told to listen on a port of
 * its own does), and serves it too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define MAX_FDS 256

static void report(const char *path, int n, char **names) {
        /* Any fd above ours that is open was leaked to us. Every open fd,
         * before the report's own file is opened. */
        int leaked = 0;
        for (int fd = SD_LISTEN_FDS_START + n; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        leaked++;
        char fds[4096] = "";
        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        snprintf(fds + strlen(fds), sizeof fds - strlen(fds), "%s%d", fds[0] ? "," : "", fd);
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "we");
        if (!f)
                exit(1);
        fprintf(f, "pid=%ld\nn=%d\n", (long) getpid(), n);
        fprintf(f, "LISTEN_FDNAMES=%s\nLISTEN_PID=%s\nLISTEN_FDS=%s\n", getenv("ECHO_LISTEN_FDNAMES"),
                getenv("ECHO_LISTEN_PID"), getenv("ECHO_LISTEN_FDS"));
        for (int i = 0; i < n; i++) {
                int type = 0, listening = 0;
                socklen_t l = sizeof type;
                getsockopt(SD_LISTEN_FDS_START + i, SOL_SOCKET, SO_TYPE, &type, &l);
                l = sizeof listening;
                getsockopt(SD_LISTEN_FDS_START + i, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l);
                fprintf(f, "fd%d=%s stream=%d listening=%d\n", SD_LISTEN_FDS_START + i, names ? names[i] : "?",
                        type == SOCK_STREAM, listening);
        }
        fprintf(f, "leaked=%d\nfds=%s\n", leaked, fds);
        sigset_t mask;
        sigprocmask(SIG_SETMASK, NULL, &mask);
        fprintf(f, "sigmask_empty=%d\n", sigisemptyset(&mask));
        /* Ignored signals, as the kernel reports them (hex mask). */
        FILE *st = fopen("/proc/self/status", "re");
        char line[256];
        while (st && fgets(line, sizeof line, st))
                if (strncmp(line, "SigIgn:", 7) == 0)
                        fprintf(f, "sigign=%s", line + 8 + strspn(line + 7, "\t ") - 1);
        if (st)
                fclose(st);
        fclose(f);
        rename(tmp, path);
}

/* --after-eof: read to EOF (at most 256 MiB), then echo it all. */
static void serve_after_eof(int c) {
        size_t cap = 1 << 20, n = 0;
        char *buf = malloc(cap);
        ssize_t k;
        while (buf && (k = read(c, buf + n, cap - n)) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        goto out;
                n += (size_t) k;
                if (n == cap && cap < (256u << 20)) {
                        char *b = realloc(buf, cap * 2);
                        if (!b)
                                goto out;
                        buf = b;
                        cap *= 2;
                } else if (n == cap) {
                        goto out;
                }
        }
        for (size_t off = 0; buf && off < n;) {
                k = write(c, buf + off, n - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                off += (size_t) k;
        }
out:
        free(buf);
        close(c);
}

static volatile sig_atomic_t got_hup;
static void on_hup(int sig) {
        (void) sig;
        got_hup = 1;
}

static void note_hup(const char *report_path) {
        char path[4096];
        got_hup = 0;
        snprintf(path, sizeof path, "%s.hup", report_path);
        FILE *f = fopen(path, "ae");
        if (f) {
                fprintf(f, "hup\n");
                fclose(f);
        }
}

static void log_accept(const char *path, int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        char host[INET6_ADDRSTRLEN] = "?";
        FILE *f = fopen(path, "ae");
        if (!f)
                exit(1);
        if (getpeername(fd, (struct sockaddr *) &ss, &len) == 0)
                inet_ntop(ss.ss_family, ss.ss_family == AF_INET ? (void *) &((struct sockaddr_in *) &ss)->sin_addr
                                                                : (void *) &((struct sockaddr_in6 *) &ss)->sin6_addr,
                          host, sizeof host);
        fprintf(f, "accept %s\n", host);
        fclose(f);
}

int main(int argc, char **argv) {
        char **names = NULL;
        static const char *const vars[] = { "LISTEN_FDNAMES", "LISTEN_PID", "LISTEN_FDS" };
        for (size_t i = 0; i < 3; i++) {
                const char *e = getenv(vars[i]);
                char name[64];
                snprintf(name, sizeof name, "ECHO_%s", vars[i]);
                setenv(name, e ? e : "", 1);
        }
        int n = sd_listen_fds_with_names(1, &names);
        if (n <= 0 || n > MAX_FDS) {
                fprintf(stderr, "echo-daemon: no sockets (%d)\n", n);
                return 2;
        }
        if (argc > 1)
                report(argv[1], n, names);
        bool after_eof = argc > 2 && strcmp(argv[2], "--after-eof") == 0;
        struct sigaction sa = { .sa_handler = on_hup }; /* no SA_RESTART: poll returns */
        sigaction(SIGHUP, &sa, NULL);
        const char *accept_log = argc > 2 && strncmp(argv[2], "--accept-log=", 13) == 0 ? argv[2] + 13 : NULL;
        struct pollfd p[MAX_FDS * 2];
        int np = n;
        for (int i = 0; i < n; i++)
                p[i] = (struct pollfd) { .fd = SD_LISTEN_FDS_START + i, .events = POLLIN };
        if (argc > 2 && strncmp(argv[2], "--also-listen=", 14) == 0) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[2] + 14)),
                                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(fd, 16) < 0) {
                        perror("echo-daemon: --also-listen");
                        return 1;
                }
                p[n] = (struct pollfd) { .fd = fd, .events = POLLIN };
                n++;
                np++;
        }
        for (;;) {
                if (got_hup && argc > 1)
                        note_hup(argv[1]);
                if (poll(p, (nfds_t) np, -1) < 0) {
                        if (errno != EINTR)
                                return 1;
                        continue;
                }
                for (int i = 0; i < np; i++) {
                        if (!p[i].revents)
                                continue;
                        if (i < n) {
                                int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                                if (c >= 0 && accept_log)
                                        log_accept(accept_log, c);
                                if (c >= 0 && after_eof)
                                        serve_after_eof(c);
                                else if (c >= 0 && np < MAX_FDS * 2)
                                        p[np++] = (struct pollfd) { .fd = c, .events = POLLIN };
                                else if (c >= 0)
                                        close(c);
                                continue;
                        }
                        char buf[65536];
                        ssize_t k = read(p[i].fd, buf, sizeof buf);
                        if (k > 0 && write(p[i].fd, buf, (size_t) k) == k)
                                continue;
                        close(p[i].fd);
                        p[i--] = p[--np];
                }
        }
}
