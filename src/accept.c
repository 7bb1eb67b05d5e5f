/* Accept mode: one process per connection, as systemd's Accept=yes and
 * inetd do it. A single poll() loop over the signalfd and the listeners:
 * the activator never waits for one child, reaps every child, and answers a
 * connection over a limit by closing it at once. A stop closes the listeners
 * and leaves the running connections to the service manager. */
#include "accept.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "conntable.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
#include "reloader.h"
#include "sigfd.h"
#include "util.h"

/* Connections taken from one listener before signals get another look. */
#define ACCEPT_BURST 32
/* After EMFILE/ENOBUFS the connection stays queued and poll() would fire
 * at once again: leave the listeners alone this long instead of spinning. */
#define ACCEPT_PAUSE_MS 100
#define RATELIMIT_MS 1000
/* STATUS= follows the number of connections at most this often: a flood
 * of short connections must not become a flood of messages to PID 1. */
#define STATUS_INTERVAL_MS 1000

typedef struct RateLimit {
        int64_t last_ms;
        bool used;
        unsigned suppressed;
} RateLimit;

typedef struct AcceptState {
        Runtime *rt;            /* a reload changes what it holds */
        ConnTable children;
        RateLimit refused_log, error_log;
        struct pollfd *pfd;      /* [0] signalfd, [1..n] listeners, then the reloader's */
        Reloader reloader;
        int64_t paused_until_ms; /* 0: accepting */
        size_t status_n;         /* connections STATUS= last said */
        int64_t status_ms;       /* when it said so */
        bool init;               /* PID 1: our exit would kill every child */
        bool stopping;           /* listeners closed; as PID 1, waiting for the children */
} AcceptState;

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At most one message a second; the next one says how many were held back. */
static bool ratelimit_pass(RateLimit *rl, unsigned *ret_suppressed) {
        int64_t now = now_ms();
        if (rl->used && now - rl->last_ms < RATELIMIT_MS) {
                rl->suppressed++;
                return false;
        }
        *ret_suppressed = rl->suppressed;
        *rl = (RateLimit) { .last_ms = now, .used = true };
        return true;
}

/* Reports refusals held back when no new one came to carry the count. */
static void ratelimit_flush(RateLimit *rl, const char *what) {
        if (rl->suppressed == 0 || now_ms() - rl->last_ms < RATELIMIT_MS)
                return;
        log_warning("%u more %s in the last second", rl->suppressed, what);
        *rl = (RateLimit) { .last_ms = now_ms(), .used = true };
}

static const char *held_back(unsigned n, char buf[static 64]) {
        if (n == 0)
                return "";
        snprintf(buf, 64, " (and %u more since the last message)", n);
        return buf;
}

/* RST instead of FIN: the peer learns at once, and a flood of refused
 * connections leaves no TIME_WAIT state behind here. */
static void close_reset(int fd) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };
        (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
}

static void refuse(AcceptState *s, int conn, const PeerAddr *p, uint16_t port, const char *limit, unsigned value) {
        char addr[ADDR_STRLEN], more[64];
        unsigned n;
        close_reset(conn);
        if (!ratelimit_pass(&s->refused_log, &n))
                return;
        peer_format(p, addr);
        log_warning("refused connection from %s port %u: %s=%u reached%s", addr, port, limit, value,
                    held_back(n, more));
}

/* The connection on fd 3 (LISTEN_FDS=1) or, inetd style, on stdin and
 * stdout; the peer in REMOTE_ADDR and REMOTE_PORT. */
static int spawn_for_connection(const Runtime *rt, int conn, const PeerAddr *p, uint16_t port, pid_t *ret_pid) {
        static const char *const names[] = { "connection" };
        char addr[ADDR_STRLEN], num[8];
        bool inetd = rt->accept.inetd;
        peer_format(p, addr);
        snprintf(num, sizeof num, "%u", port);
        ProcessSpec spec = {
                .path = rt->path, .argv = rt->argv,
                .fds = &conn, .names = names, .n_fds = inetd ? 0 : 1,
                .stdio_fd = inetd ? conn : -1,
                .remote_addr = addr, .remote_port = num,
                /* We are the service's main process, as in supervise mode. */
                .drop_notify = true,
        };
        return process_spawn(&spec, ret_pid);
}

/* One accepted connection: within the limits, one process for it, else
 * it is reset. Either way the connection is no longer ours. */
static void serve_connection(AcceptState *s, int conn, const struct sockaddr *sa, socklen_t len) {
        const AcceptSettings *c = &s->rt->accept;
        PeerAddr p;
        uint16_t port;
        char more[64];
        unsigned n;
        if (peer_from_sockaddr(sa, len, &p, &port) < 0) {
                close_reset(conn); /* not TCP over IP: cannot happen on our listeners */
                return;
        }
        if (s->children.n >= c->max_connections) {
                refuse(s, conn, &p, port, "MaxConnections", c->max_connections);
                return;
        }
        if (c->max_connections_per_source &&
            conn_table_count_source(&s->children, &p) >= c->max_connections_per_source) {
                refuse(s, conn, &p, port, "MaxConnectionsPerSource", c->max_connections_per_source);
                return;
        }
        if (conn_table_reserve(&s->children) < 0) {
                close_reset(conn);
                if (ratelimit_pass(&s->error_log, &n))
                        log_error("connection refused: out of memory%s", held_back(n, more));
                return;
        }
        pid_t pid;
        int r = spawn_for_connection(s->rt, conn, &p, port, &pid);
        if (pid > 0) /* exited already if r < 0: reaped as any other */
                (void) conn_table_add(&s->children, pid, &p); /* reserved above */
        if (r < 0) {
                close_reset(conn);
                if (!ratelimit_pass(&s->error_log, &n))
                        return;
                if (pid > 0)
                        log_error("cannot start %s for a connection: %s%s", s->rt->path, strerror(-r), held_back(n, more));
                else
                        log_error("connection refused: cannot start a process: %s%s", strerror(-r), held_back(n, more));
                return;
        }
        close(conn);
}

/* Returns false when this listener has nothing more to give for now. */
static bool accept_one(AcceptState *s, int lfd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        char more[64];
        unsigned n;
        int conn = accept4(lfd, (struct sockaddr *) &ss, &len, SOCK_CLOEXEC);
        if (conn >= 0) {
                serve_connection(s, conn, (struct sockaddr *) &ss, len);
                return true;
        }
        switch (errno) {
        case EAGAIN:
                return false;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM: /* a firewall said no to this one */
        case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN: case ENONET:
        case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
                return true; /* that connection's own trouble, as accept(2) advises */
        default: /* EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for resources */
                if (ratelimit_pass(&s->error_log, &n))
                        log_error("cannot accept connections: %m; pausing for %d ms%s", ACCEPT_PAUSE_MS,
                                  held_back(n, more));
                s->paused_until_ms = now_ms() + ACCEPT_PAUSE_MS;
                return false;
        }
}

static void reap(AcceptState *s) {
        pid_t pid;
        int status;
        /* Every child, ours or (as PID 1) not: no zombie is ever left. */
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                if (!reloader_reaped(&s->reloader, pid, status))
                        conn_table_remove(&s->children, pid);
}

static void forward(const AcceptState *s, int sig) {
        for (size_t i = 0; i < s->children.n; i++)
                (void) kill(s->children.v[i].pid, sig);
}

static void stop_listening(AcceptState *s) {
        for (size_t i = 0; i < s->rt->listeners.n; i++)
                s->pfd[1 + i].fd = -1;
        listener_set_close(&s->rt->listeners);
}

/* Not PID 1: the connection processes are the service manager's to stop or
 * keep (systemd's KillMode=), as with tcpserver and systemd-socket-activate;
 * they never hold a listener, so a restarted activator can bind at once.
 * As PID 1 nobody else can tell them, and the pid namespace dies with us:
 * pass the signal on and wait for them, as tini does, unless told twice. */
static int on_stop(AcceptState *s, int sig) {
        const char *what = s->children.n == 1 ? "child" : "children";
        if (s->init)
                forward(s, sig);
        if (s->stopping)
                return 128 + sig;
        s->stopping = true;
        reloader_done(&s->reloader); /* and no more watching: nothing left to reload */
        stop_listening(s);
        if (!s->init) {
                if (s->children.n)
                        log_info("SIG%s: listening stopped; %zu running %s left to the service manager",
                                 sigabbrev_np(sig), s->children.n, what);
                return 0;
        }
        if (s->children.n)
                log_info("SIG%s: no more connections; waiting for %zu running %s (again to exit at once)",
                         sigabbrev_np(sig), s->children.n, what);
        return -1;
}

/* >= 0: the exit code to leave with; -1: carry on. */
static int on_signal(AcceptState *s, int sig) {
        switch (sig) {
        case SIGCHLD:
                reap(s);
                return -1;
        case SIGHUP:
                /* Stopping, the listeners are closed: no keys left to change. */
                if (!s->stopping)
                        reloader_request(&s->reloader, "SIGHUP", true);
                return -1;
        case SIGTERM:
        case SIGINT:
                return on_stop(s, sig);
        default:
                return -1;
        }
}

/* Tells the service manager how many connections run, once the count
 * differs from what it was told and the interval has passed. */
static void status_update(AcceptState *s) {
        int64_t now = now_ms();
        if (s->children.n == s->status_n || now - s->status_ms < STATUS_INTERVAL_MS)
                return;
        s->status_n = s->children.n;
        s->status_ms = now;
        notify_set_connections(s->status_n);
        (void) notify_status();
}

static int poll_timeout(const AcceptState *s) {
        int64_t t = -1, now = now_ms();
        if (s->children.n != s->status_n) {
                int64_t due = s->status_ms + STATUS_INTERVAL_MS - now;
                t = due > 0 ? due : 0;
        }
        if (s->paused_until_ms) {
                int64_t pause = s->paused_until_ms > now ? s->paused_until_ms - now : 0;
                if (t < 0 || pause < t)
                        t = pause;
        }
        if (s->refused_log.suppressed || s->error_log.suppressed) {
                int64_t flush = RATELIMIT_MS;
                if (t < 0 || flush < t)
                        t = flush;
        }
        return (int) t;
}

static int serve(AcceptState *s, int sigfd) {
        size_t n = 1 + s->rt->listeners.n;
        for (;;) {
                if (s->stopping && s->children.n == 0)
                        return 0;
                bool paused = s->paused_until_ms && now_ms() < s->paused_until_ms;
                if (!paused)
                        s->paused_until_ms = 0;
                for (size_t i = 1; i < n; i++)
                        s->pfd[i].events = paused ? 0 : POLLIN;
                reloader_pollfds(&s->reloader, &s->pfd[n]);
                if (poll(s->pfd, n + RELOADER_POLLFDS, reloader_timeout(&s->reloader, poll_timeout(s))) < 0 &&
                    errno != EINTR)
                        return log_errno(-errno, "poll: %m");
                if (!s->stopping)
                        reloader_event(&s->reloader, &s->pfd[n]);
                status_update(s);
                ratelimit_flush(&s->refused_log, "connections refused over a limit");
                ratelimit_flush(&s->error_log, "connections lost to errors");
                if (s->pfd[0].revents) {
                        int sig;
                        while ((sig = sigfd_read(sigfd)) > 0) {
                                int code = on_signal(s, sig);
                                if (code >= 0)
                                        return code;
                        }
                        if (sig < 0)
                                return log_errno(sig, "reading signals: %s", strerror(-sig));
                }
                reloader_tick(&s->reloader);
                for (size_t i = 1; i < n; i++)
                        if (s->pfd[i].fd >= 0 && (s->pfd[i].revents & POLLIN))
                                for (int k = 0; k < ACCEPT_BURST && accept_one(s, s->pfd[i].fd); k++)
                                        ;
        }
}

static int prepare(ListenerSet *set, struct pollfd *pfd, int sigfd) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
        /* SIGCHLD inherited as SIG_IGN would reap children behind our back. */
        if (sigaction(SIGCHLD, &dfl, NULL) < 0 || sigaction(SIGPIPE, &ign, NULL) < 0)
                return -errno;
        pfd[0] = (struct pollfd) { .fd = sigfd, .events = POLLIN };
        for (size_t i = 0; i < set->n; i++) {
                int fl = fcntl(set->v[i].fd, F_GETFL);
                /* A queued connection can vanish between poll() and accept(). */
                if (fl < 0 || fcntl(set->v[i].fd, F_SETFL, fl | O_NONBLOCK) < 0)
                        return -errno;
                pfd[1 + i] = (struct pollfd) { .fd = set->v[i].fd, .events = POLLIN };
        }
        return 0;
}

int accept_run(Runtime *rt, bool watch) {
        static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
        ListenerSet *set = &rt->listeners;
        _cleanup_free_ struct pollfd *pfd = calloc(1 + set->n + RELOADER_POLLFDS, sizeof *pfd);
        if (!pfd) {
                listener_set_close(set);
                return log_errno(-ENOMEM, "out of memory");
        }
        _cleanup_close_ int sigfd = sigfd_open(sigs, ELEMENTSOF(sigs));
        int r = sigfd < 0 ? sigfd : prepare(set, pfd, sigfd);
        if (r < 0) {
                listener_set_close(set);
                return log_errno(r, "cannot set up signal handling: %s", strerror(-r));
        }
        /* Listening: for Type=notify units (a no-op without NOTIFY_SOCKET). */
        notify_set_keys(set->n, listener_set_keys(set));
        notify_set_connections(0);
        (void) notify_ready();
        AcceptState s = { .rt = rt, .pfd = pfd, .init = getpid() == 1 };
        reloader_init(&s.reloader, rt, watch, NULL, NULL);
        int code = serve(&s, sigfd);
        reloader_done(&s.reloader);
        listener_set_close(set);
        conn_table_free(&s.children);
        return code;
}
