/* hello-daemon: the smallest daemon that works behind tcpmd5-activate (or
 * systemd's own socket units). It takes its listening sockets with
 * sd_listen_fds_with_names(), greets each client with the name of the
 * socket it came in on, then echoes what the client sends.
 *
 *   cc -o hello-daemon hello-daemon.c $(pkg-config --cflags --libs libsystemd)
 *
 * Nothing here knows about TCP MD5: the keys sit on the listening sockets,
 * and every accepted connection inherits the one that matched its peer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define MAX_LISTEN 64

/* One client at a time keeps the example short; a real daemon would
 * fork or poll here. The poll timeout bounds an idle client. */
static void serve(int conn, const char *name) {
        char buf[4096];
        dprintf(conn, "hello from %s\n", name);
        struct pollfd p = { .fd = conn, .events = POLLIN };
        while (poll(&p, 1, 60 * 1000) > 0) {
                ssize_t n = read(conn, buf, sizeof buf);
                if (n <= 0 || write(conn, buf, (size_t) n) != n)
                        break;
        }
        close(conn);
}

int main(void) {
        char **names = NULL;
        /* 1: unset LISTEN_* so a child we might start does not see them. */
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) {
                fprintf(stderr, "hello-daemon: LISTEN_FDS: %s\n", strerror(-n));
                return 1;
        }
        if (n == 0 || n > MAX_LISTEN) {
                fprintf(stderr, "hello-daemon: expected 1..%d sockets from the service manager, got %d\n",
                        MAX_LISTEN, n);
                return 1;
        }
        /* In supervise mode tcpmd5-activate passes SIGHUP on after it has
         * changed the keys, so a daemon can reload too. This one has
         * nothing to reload, and SIGHUP's default action would kill it. */
        signal(SIGHUP, SIG_IGN);
        struct pollfd p[MAX_LISTEN];
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        fprintf(stderr, "hello-daemon: fd %d (%s) is not a listening stream socket\n", fd, names[i]);
                        return 1;
                }
                p[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        fprintf(stderr, "hello-daemon: serving %d socket(s) named %s\n", n, names[0]);
        for (;;) {
                if (poll(p, (nfds_t) n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("hello-daemon: poll");
                        return 1;
                }
                for (int i = 0; i < n; i++)
                        if (p[i].revents & POLLIN) {
                                int conn = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                                if (conn >= 0)
                                        serve(conn, names[i]);
                        }
        }
}
