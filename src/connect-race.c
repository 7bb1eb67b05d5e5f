/* The client's racing connect (connect-race.h). All attempts start at
 * once, in the caller's order (the newest key first): a wrong key costs no
 * wait, since the server drops its SYN in silence and the right key's
 * handshake runs beside it. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "connect-race.h"

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_all_but(int fds[], size_t n, size_t keep) {
        for (size_t i = 0; i < n; i++)
                if (i != keep && fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

/* The outcome of a socket poll() reported: 0 connected, or -errno. */
static int handshake_result(int fd) {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                return -errno;
        return -err;
}

/* Waits for the first of the pending attempts p[] to connect: its index,
 * or -errno as race_connect() says. */
static int first_to_connect(struct pollfd p[], size_t n, size_t pending, int last_err, unsigned timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        while (pending > 0) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                int r = poll(p, n, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                for (size_t i = 0; i < n; i++) {
                        if (p[i].fd < 0 || p[i].revents == 0)
                                continue;
                        int e = handshake_result(p[i].fd);
                        if (e == 0)
                                return (int) i;
                        last_err = e;
                        p[i].fd = -1; /* poll() skips it from now on */
                        pending--;
                }
        }
        return last_err;
}

int race_connect(int fds[], size_t n, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms,
                 size_t *ret_winner) {
        struct pollfd p[RACE_MAX];
        size_t pending = 0;
        int r = -EINVAL;
        if (n == 0 || n > RACE_MAX)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                p[i] = (struct pollfd) { .fd = -1, .events = POLLOUT };
                if (connect(fds[i], sa, len) == 0) {
                        r = (int) i;
                        goto won;
                }
                if (errno == EINPROGRESS) {
                        p[i].fd = fds[i];
                        pending++;
                } else {
                        r = -errno;
                }
        }
        r = first_to_connect(p, n, pending, r, timeout_ms);
        if (r < 0)
                goto fail;
won:
        close_all_but(fds, n, (size_t) r);
        *ret_winner = (size_t) r;
        return 0;
fail:
        close_all_but(fds, n, SIZE_MAX);
        return r;
}
