/* The two-way relay behind tcpmd5-connect. Each direction is a Flow: a
 * source, a sink, and a pipe (splice mode) or a buffer between them. A
 * Flow moves data until nothing moves without waiting; poll() then waits
 * for exactly the ends that blocked. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define RELAY_PIPE_SIZE (1 << 20) /* /proc/sys/fs/pipe-max-size, the default limit */
#define RELAY_ROUNDS 64           /* moves per Flow before the other gets a turn */

typedef struct End {
        int fd;
        bool gated; /* may block: one operation per readiness from poll() */
        bool ready; /* worth trying without waiting */
} End;

typedef struct Flow {
        End src, dst;
        const char *reading, *writing; /* for RelayStats.failed */
        int pipe[2];                   /* splice mode; -1 in buffer mode */
        uint8_t *buf;                  /* buffer mode: data at buf[off..off+pending) */
        size_t cap, off, pending;
        bool eof;  /* the source has ended */
        bool full; /* splice said EAGAIN with data in the pipe: maybe the pipe, not the source */
        bool done; /* EOF passed on to the sink */
        uint64_t bytes;
} Flow;

/* A regular file never blocks; a FIFO spliced with SPLICE_F_NONBLOCK does
 * not either; anything else blocking (a terminal, someone else's socket)
 * is touched only after poll(). */
static bool may_block(int fd, bool splicing) {
        struct stat st;
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
                return false;
        if (fstat(fd, &st) < 0)
                return true;
        return !(S_ISREG(st.st_mode) || (S_ISFIFO(st.st_mode) && splicing));
}

static void flow_init(Flow *f, int src, int dst, const char *reading, const char *writing) {
        *f = (Flow) { .src = { .fd = src, .ready = true }, .dst = { .fd = dst, .ready = true },
                      .reading = reading, .writing = writing, .pipe = { -1, -1 } };
}

static int flow_open(Flow *f) {
        if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        (void) fcntl(f->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE); /* a smaller pipe works too */
        int size = fcntl(f->pipe[1], F_GETPIPE_SZ);
        if (size <= 0)
                return -errno;
        f->cap = (size_t) size;
        f->src.gated = may_block(f->src.fd, true);
        f->dst.gated = may_block(f->dst.fd, true);
        return 0;
}

static void flow_close(Flow *f) {
        for (int i = 0; i < 2; i++)
                if (f->pipe[i] >= 0) {
                        close(f->pipe[i]);
                        f->pipe[i] = -1;
                }
        free(f->buf);
        f->buf = NULL;
}

/* An end that cannot splice (EINVAL: e.g. an O_APPEND file, or a device
 * without splice support): go on with read()/write(), taking along what
 * the pipe already holds. */
static int flow_to_buffer(Flow *f) {
        f->buf = malloc(f->cap);
        if (!f->buf)
                return -ENOMEM;
        size_t got = 0;
        while (got < f->pending) {
                ssize_t n = read(f->pipe[0], f->buf + got, f->pending - got);
                if (n <= 0 && !(n < 0 && errno == EINTR))
                        return n < 0 ? -errno : -EIO;
                if (n > 0)
                        got += (size_t) n;
        }
        close(f->pipe[0]);
        close(f->pipe[1]);
        f->pipe[0] = f->pipe[1] = -1;
        f->off = 0;
        f->full = false;
        f->src.gated = may_block(f->src.fd, false);
        f->dst.gated = may_block(f->dst.fd, false);
        return 0;
}

static ssize_t flow_fill(Flow *f) {
        size_t space = f->cap - f->off - f->pending;
        if (f->pipe[1] >= 0)
                return splice(f->src.fd, NULL, f->pipe[1], NULL, space, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        return read(f->src.fd, f->buf + f->off + f->pending, space);
}

static ssize_t flow_drain(Flow *f) {
        if (f->pipe[0] >= 0)
                return splice(f->pipe[0], NULL, f->dst.fd, NULL, f->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        return write(f->dst.fd, f->buf + f->off, f->pending);
}

/* Passes EOF on: a half-close for a socket; for anything else the fd is
 * replaced by /dev/null, which closes our reference to the old file. */
static int end_output(int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISSOCK(st.st_mode))
                return shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN ? -errno : 0;
        _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (null < 0)
                return -errno;
        return dup2(null, fd) < 0 ? -errno : 0;
}

/* EOF towards the peer. ENOTCONN: the peer has closed, and its answer to
 * our last data was a reset (the end of an ssh session, the server having
 * gone first): the connection is gone both ways, there is nothing to
 * half-close, and everything we had was handed to the kernel. An ordinary
 * end. */
static int sock_end_output(int sock) {
        return shutdown(sock, SHUT_WR) < 0 && errno != ENOTCONN ? -errno : 0;
}

/* One attempt to fill: 1 when something changed, 0 when blocked, -errno. */
static int flow_fill_once(Flow *f) {
        ssize_t n = flow_fill(f);
        if (f->src.gated)
                f->src.ready = false;
        if (n > 0) {
                f->pending += (size_t) n;
                return 1;
        }
        if (n == 0) {
                f->eof = true;
                return 1;
        }
        if (errno == EINTR)
                return 1;
        if (errno == EAGAIN) {
                /* With data in the pipe, EAGAIN may mean the pipe is full:
                 * wait for the sink to drain it rather than spin on poll(). */
                if (f->pipe[1] >= 0 && f->pending > 0)
                        f->full = true;
                else
                        f->src.ready = false;
                return 0;
        }
        if (errno == EINVAL && f->pipe[1] >= 0) {
                int r = flow_to_buffer(f);
                return r < 0 ? r : 1;
        }
        return -errno;
}

static int flow_drain_once(Flow *f) {
        ssize_t n = flow_drain(f);
        if (f->dst.gated)
                f->dst.ready = false;
        if (n > 0) {
                f->pending -= (size_t) n;
                f->off = f->pending ? f->off + (size_t) n : 0;
                f->bytes += (uint64_t) n;
                f->full = false;
                return 1;
        }
        if (n == 0 || errno == EAGAIN) {
                f->dst.ready = false;
                return 0;
        }
        if (errno == EINTR)
                return 1;
        if (errno == EINVAL && f->pipe[0] >= 0) {
                int r = flow_to_buffer(f);
                return r < 0 ? r : 1;
        }
        return -errno;
}

/* Moves what moves without waiting. 1 when the round limit cut it short
 * (poll must not wait), 0 when blocked or done, -errno with *ret_failed. */
static int flow_step(Flow *f, int sock, const char **ret_failed) {
        for (unsigned round = 0; round < RELAY_ROUNDS; round++) {
                int moved = 0, r;
                if (!f->eof && !f->full && f->src.ready && f->off + f->pending < f->cap) {
                        if ((r = flow_fill_once(f)) < 0) {
                                *ret_failed = f->reading;
                                return r;
                        }
                        moved |= r;
                }
                if (f->pending > 0 && f->dst.ready) {
                        if ((r = flow_drain_once(f)) < 0) {
                                *ret_failed = f->writing;
                                return r;
                        }
                        moved |= r;
                }
                if (f->eof && f->pending == 0 && !f->done) {
                        r = f->dst.fd == sock ? sock_end_output(sock) : end_output(f->dst.fd);
                        if (r < 0) {
                                *ret_failed = f->writing;
                                return r;
                        }
                        f->done = true;
                }
                if (!moved || f->done)
                        return 0;
        }
        return 1;
}

static void poll_add(struct pollfd *p, nfds_t *n, End *e, short events, End **owners) {
        p[*n] = (struct pollfd) { .fd = e->fd, .events = events };
        owners[(*n)++] = e;
}

/* poll() for the ends that blocked; marks them ready. */
static int relay_wait(Flow *flows, size_t n_flows, bool busy) {
        struct pollfd p[4];
        End *owners[4];
        nfds_t n = 0;
        for (size_t i = 0; i < n_flows; i++) {
                Flow *f = &flows[i];
                if (f->done)
                        continue;
                if (!f->eof && !f->full && !f->src.ready && f->off + f->pending < f->cap)
                        poll_add(p, &n, &f->src, POLLIN, owners);
                if (f->pending > 0 && !f->dst.ready)
                        poll_add(p, &n, &f->dst, POLLOUT, owners);
        }
        if (n == 0 && !busy)
                return -EIO; /* nothing to wait for, nothing to do: a bug, not a hang */
        int k = poll(p, n, busy ? 0 : -1);
        if (k < 0)
                return errno == EINTR ? 0 : -errno;
        for (nfds_t i = 0; i < n; i++) {
                if (p[i].revents & POLLNVAL)
                        return -EBADF;
                /* POLLHUP/POLLERR too: the next operation reports EOF or the error. */
                if (p[i].revents)
                        owners[i]->ready = true;
        }
        return 0;
}

int relay_run(int in, int out, int sock, RelayStats *ret) {
        Flow flows[2];
        int r;
        flow_init(&flows[0], in, sock, "reading the input", "sending to the peer");
        flow_init(&flows[1], sock, out, "receiving from the peer", "writing the output");
        *ret = (RelayStats) { 0 };
        int fl = fcntl(sock, F_GETFL);
        if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0)
                return -errno;
        if ((r = flow_open(&flows[0])) < 0 || (r = flow_open(&flows[1])) < 0) {
                ret->failed = "creating a pipe";
                goto out;
        }
        while (!flows[0].done || !flows[1].done) {
                bool busy = false;
                for (size_t i = 0; i < 2; i++) {
                        if (flows[i].done)
                                continue;
                        if ((r = flow_step(&flows[i], sock, &ret->failed)) < 0)
                                goto out;
                        busy |= r > 0;
                }
                if (flows[0].done && flows[1].done)
                        break;
                if ((r = relay_wait(flows, 2, busy)) < 0) {
                        ret->failed = "waiting for data";
                        goto out;
                }
        }
        r = 0;
out:
        ret->sent = flows[0].bytes;
        ret->received = flows[1].bytes;
        flow_close(&flows[0]);
        flow_close(&flows[1]);
        return r;
}
