/* The supervisor: fork, then a poll loop over a signalfd (and, with
 * --watch, an inotify fd). No asynchronous signal handlers at all: every
 * catchable signal is blocked and read as data, so the reload (which
 * allocates, parses, logs) runs in normal context. */
#include "supervise.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "daemon-watch.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
#include "reloader.h"
#include "reload-child.h"
#include "reload.h"
#include "resident.h"
#include "sigfd.h"
#include "unkeyed.h"
#include "util.h"
#include "watch.h"

/* Signals we take as data. Faults stay deliverable (blocking them is
 * undefined), and the terminal stop signals are ignored instead, as tini
 * does, so a supervisor in a background process group is not stopped. */
static void supervise_signal_set(sigset_t *ret) {
        static const int keep[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU };
        sigfillset(ret);
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                sigdelset(ret, keep[i]);
}

/* What the daemon gets: every listener at fd 3.. with LISTEN_PID its own
 * pid. We are the service's main process: the daemon's own notifications
 * would be refused (NotifyAccess=main) or, worse, taken for ours, so no
 * NOTIFY_SOCKET. */
typedef struct DaemonSpec {
        ProcessSpec spec;
        int *fds;
        const char **names;
} DaemonSpec;

static void daemon_spec_free(DaemonSpec *d) {
        free(d->fds);
        free(d->names);
}

static int daemon_spec(const SuperviseOptions *o, const Runtime *rt, DaemonSpec *d) {
        const ListenerSet *set = &rt->listeners;
        *d = (DaemonSpec) { .fds = calloc(set->n ? set->n : 1, sizeof(int)),
                            .names = calloc(set->n ? set->n : 1, sizeof(char *)) };
        if (!d->fds || !d->names)
                return -ENOMEM;
        for (size_t i = 0; i < set->n; i++) {
                d->fds[i] = set->v[i].fd;
                d->names[i] = runtime_fdname(rt);
        }
        d->spec = (ProcessSpec) {
                .path = rt->path, .argv = rt->argv, .fds = d->fds, .names = d->names, .n_fds = set->n,
                .stdio_fd = -1, .drop_notify = true, .process_group = o->process_group,
        };
        return 0;
}

/* In the forked child that read the config: it becomes the daemon. */
static _Noreturn void child_exec(const SuperviseOptions *o, const Runtime *rt) {
        DaemonSpec d;
        int r = daemon_spec(o, rt, &d);
        if (r >= 0)
                r = process_exec(&d.spec);
        daemon_spec_free(&d); /* a leak checker judges this process at _exit */
        runtime_log_exec_error(rt, r);
        _exit(exec_exit_code(r));
}

/* The child, when the listeners are not open yet: reads the config and
 * decides the mode (runtime_load()), tells the parent ('S' supervise, 'O'
 * another: the parent runs it), opens the listeners, hands the parent
 * copies, and once the parent is set up as a supervisor (its go byte),
 * becomes the daemon. */
static _Noreturn void read_config_then_become_daemon(const SuperviseOptions *o, Runtime *rt, int sock) {
        int r = runtime_load(rt);
        if (r < 0)
                _exit(exit_code_from_error(r));
        if ((r = runtime_find_command(rt)) < 0)
                _exit(exec_exit_code(r));
        bool other = rt->mode != MODE_SUPERVISE;
        if (write(sock, other ? "O" : "S", 1) != 1)
                _exit(EXIT_OSERR);
        if (other) {
                runtime_done(rt); /* a leak checker judges this process at _exit */
                _exit(0);
        }
        if ((r = listener_set_open(rt->config, &rt->listeners)) < 0)
                _exit(exit_code_from_error(r));
        if ((r = resident_send(sock, rt)) < 0) {
                log_error("cannot hand the listeners to the supervisor: %s", strerror(-r));
                _exit(EXIT_OSERR);
        }
        char go;
        if (read(sock, &go, 1) != 1) /* the supervisor failed, and said why */
                _exit(EXIT_OSERR);
        child_exec(o, rt);
}

/* The child's status once it has ended, as main() passes it on. */
static int child_status(pid_t pid) {
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* The listeners are open already: nothing to read in a child of ours, so
 * the daemon starts without copying us. As start_daemon(). */
static int spawn_daemon(const Runtime *rt, const SuperviseOptions *o, pid_t *ret_child) {
        DaemonSpec d;
        pid_t pid = 0;
        int r = daemon_spec(o, rt, &d);
        if (r >= 0)
                r = process_spawn(&d.spec, &pid);
        daemon_spec_free(&d);
        if (r >= 0) {
                if (o->process_group)
                        (void) setpgid(pid, pid); /* also here: no race with our first kill(-child) */
                *ret_child = pid;
                return 0;
        }
        if (pid == 0)
                return log_errno(r, "cannot start %s: %s", rt->path, strerror(-r));
        runtime_log_exec_error(rt, r);
        int st = child_status(pid); /* it has exited already with exec_exit_code(r) */
        return st > 0 ? st : exec_exit_code(r);
}

/* What only a supervisor sets up, once the mode is decided and before its
 * daemon runs: no stop by the terminal, orphans of the daemon, and a
 * stderr buffer in static memory. (The signal mask is blocked before the
 * fork, and given back when the child decides on another mode.) */
static void become_supervisor(void) {
        /* An unbuffered stderr makes every message format through an 8 kB
         * buffer on the stack, which then stays resident: buffer lines in
         * static memory instead (each message ends with a newline), and
         * format messages straight into it (log.h). */
        static char stderr_buffer[512];
        struct sigaction ign = { .sa_handler = SIG_IGN };
        (void) sigaction(SIGTTIN, &ign, NULL);
        (void) sigaction(SIGTTOU, &ign, NULL);
        /* Orphans of the daemon come to us, as they would to PID 1. */
        if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning("cannot become a subreaper (%m); orphans of the daemon go to init");
        log_buffer_lines(stderr_buffer, sizeof stderr_buffer);
}

/* The regular file the child opened last and holds open (its highest
 * such fd): what it was reading when it hung. NULL when not known (no
 * /proc, or no right to look: it is not dumpable) or out of memory. On the
 * heap, not the stack: the supervisor's stack stays as deep as it is
 * (bench/supervise-memory), and this runs only on the way out. */
static char *child_open_file(pid_t child) {
        char path[64], *buf = malloc(PATH_MAX);
        struct stat st;
        for (int fd = 64; buf && fd >= 3; fd--) {
                snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) child, fd);
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                ssize_t n = readlink(path, buf, PATH_MAX - 1);
                if (n > 0) {
                        buf[n] = 0;
                        return buf;
                }
        }
        free(buf);
        return NULL;
}

/* Waits, under the deadline every config-reading child has, for the
 * child's first word, which it sends once the config and every key file
 * are read (a read that blocks, on a hung network file system, would hang
 * the start with nothing listening). 0; else logged, with the child
 * killed and not waited for (stuck in the kernel, it may take long to
 * die): -ETIMEDOUT at the deadline, -ECHILD when there is none. */
static int await_config_read(int sock, pid_t child) {
        _cleanup_close_ int timer = child_deadline_start();
        struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = timer, .events = POLLIN } };
        int r = timer < 0 ? timer : 0;
        while (r == 0 && poll(p, ELEMENTSOF(p), -1) < 0)
                r = errno == EINTR ? 0 : -errno;
        if (r < 0) {
                (void) kill(child, SIGKILL);
                log_error("cannot wait for the config to be read under a deadline: %s; nothing listens",
                          strerror(-r));
                return -ECHILD;
        }
        if (p[0].revents || !(p[1].revents & POLLIN))
                return 0;
        _cleanup_free_ char *file = child_open_file(child);
        (void) kill(child, SIGKILL);
        return log_errno(-ETIMEDOUT, "reading the config and key files timed out after %d s (the reading process "
                         "is killed%s%s); nothing listens. A file that blocks (on a hung network file system, "
                         "say): make it readable, or move it to a local file system, then start again",
                         CHILD_DEADLINE_S, file ? "; it was reading " : "", file ? file : "");
}

/* Hears the mode from the child that read the config; for supervise mode,
 * sets up and takes the listeners over. 0, or -errno. */
static int take_over(int sock, Runtime *rt, char *ret_mode) {
        if (read(sock, ret_mode, 1) != 1 || *ret_mode != 'S')
                return -ENODATA;
        become_supervisor();
        if (write(sock, "g", 1) != 1)
                return -errno;
        return resident_receive(sock, rt);
}

/* Starts the daemon (see supervise_run()). 0 with *ret_child; a positive
 * exit status when the child ended without starting it; -errno. */
static int start_daemon(Runtime *rt, const SuperviseOptions *o, pid_t *ret_child, bool *ret_other_mode) {
        if (rt->listeners.v) {
                become_supervisor();
                return spawn_daemon(rt, o, ret_child);
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return log_errno(-errno, "cannot create a socket pair: %m");
        /* A real fork: the child reads the config in memory of its own. */
        pid_t child = fork();
        if (child < 0) {
                int r = log_errno(-errno, "cannot fork: %m");
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (child == 0) {
                close(sv[0]);
                read_config_then_become_daemon(o, rt, sv[1]);
        }
        if (o->process_group)
                (void) setpgid(child, child); /* also here: no race with our first kill(-child) */
        *ret_child = child;
        close(sv[1]);
        char mode = 0;
        int r = await_config_read(sv[0], child);
        if (r >= 0)
                r = take_over(sv[0], rt, &mode);
        close(sv[0]);
        if (r >= 0)
                return 0;
        if (r == -ETIMEDOUT || r == -ECHILD) /* said why; the child is killed */
                return r == -ETIMEDOUT ? EXIT_CONFIG : EXIT_OSERR;
        int st = child_status(child);
        if (st == 0 && mode == 'O') {
                *ret_other_mode = true;
                return 0;
        }
        if (st > 0) /* it said why */
                return st;
        r = st < 0 ? st : r == -ENODATA ? -EPROTO : r;
        return log_errno(r, "cannot take the listeners over from the child: %s", strerror(-r));
}

static void forward(const SuperviseOptions *o, pid_t child, int sig) {
        int r = kill(o->process_group ? -child : child, sig);
        if (r < 0 && errno == ESRCH && o->process_group) /* a daemon gone into the background leads no group */
                r = kill(child, sig);
        if (r < 0 && errno != ESRCH)
                log_warning("cannot pass signal %d (%s) on: %m", sig, strsignal(sig));
}

/* The state of the loop: what a reload needs, the reload running in a
 * child, the file watch, and what became of the daemon. */
typedef struct Supervisor {
        const SuperviseOptions *o;
        pid_t child;
        Runtime *rt;
        Reloader reloader;
        bool hup_passed;       /* a reload passed SIGHUP on to the daemon */
        bool stopping;         /* told to stop: what the daemon leaves behind is not its successor */
} Supervisor;

/* Reaps every zombie, the main child's, a reload child's and orphans'
 * alike (as PID 1 or subreaper they all end up ours). True once the main
 * child has ended. */
static bool reap(Supervisor *s, int *ret_status) {
        bool ended = false;
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == s->child) {
                        *ret_status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
                        ended = true;
                } else
                        (void) reloader_reaped(&s->reloader, p, st);
        return ended;
}

/* After a reload, whichever way it ended (ReloaderOver). */
static void reload_over(void *userdata, bool pass_on) {
        Supervisor *s = userdata;
        unkeyed_schedule();
        if (pass_on && daemon_pass_reload(s->child, s->o->forward_reload)) {
                s->hup_passed = true;
                forward(s->o, s->child, SIGHUP);
        }
}

/* The daemon ended: a process it left holding our sockets carries on as
 * the daemon (it forked into the background), else >= 0, its status. */
static int daemon_ended(Supervisor *s, int status) {
        pid_t next = s->stopping ? 0 : daemon_carried_on(s->child, status, &s->rt->listeners);
        if (next > 0) {
                s->child = next;
                return -1;
        }
        reloader_cancel(&s->reloader, "the daemon ended");
        daemon_explain_exit(s->child, status, s->hup_passed, s->o->forward_reload);
        return status;
}

/* One signal: >= 0 is the exit status once the daemon has ended. */
static int on_signal(Supervisor *s, const struct signalfd_siginfo *si) {
        int sig = (int) si->ssi_signo, status;
        if (sig == SIGCHLD)
                return reap(s, &status) ? daemon_ended(s, status) : -1;
        /* A SIGPIPE from our own write to a closed stderr is ours. */
        if (si->ssi_code == SI_USER && (pid_t) si->ssi_pid == getpid())
                return -1;
        if (sig == SIGHUP) {
                reloader_request(&s->reloader, "SIGHUP", true);
                return -1;
        }
        if (sig == SIGTERM || sig == SIGINT) {
                s->stopping = true;
                reloader_cancel(&s->reloader, strsignal(sig));
                (void) notify_stopping();
        }
        forward(s->o, s->child, sig);
        return -1;
}

/* The signals that arrived: >= 0 is the exit status; -errno, the daemon
 * stopped, when they cannot be read. */
static int on_signals(Supervisor *s, int sfd) {
        struct signalfd_siginfo si;
        int r;
        while ((r = sigfd_read_info(sfd, &si)) > 0) {
                int status = on_signal(s, &si);
                if (status >= 0)
                        return status;
        }
        if (r < 0) {
                log_error("cannot read signals: %s; stopping the daemon", strerror(-r));
                reloader_cancel(&s->reloader, "cannot read signals");
                forward(s->o, s->child, SIGKILL);
                return r;
        }
        return INT_MIN; /* nothing that ends the loop */
}

static int supervise_loop(Supervisor *s, int sfd) {
        for (;;) {
                struct pollfd p[1 + RELOADER_POLLFDS] = { { .fd = sfd, .events = POLLIN } };
                reloader_pollfds(&s->reloader, &p[1]);
                int k = poll(p, ELEMENTSOF(p), unkeyed_poll_timeout(reloader_timeout(&s->reloader, -1)));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return log_errno(-errno, "poll failed: %m");
                unkeyed_tick(&s->rt->listeners);
                reloader_event(&s->reloader, &p[1]);
                if (p[0].revents & POLLIN) {
                        int r = on_signals(s, sfd);
                        if (r != INT_MIN)
                                return r;
                }
                reloader_tick(&s->reloader);
        }
}

int supervise_run(Runtime *rt, const SuperviseOptions *o, bool *ret_other_mode) {
        sigset_t mask, before;
        pid_t child = -1;
        *ret_other_mode = false;
        supervise_signal_set(&mask);
        /* Before the fork: a signal arriving in between stays pending for the
         * signalfd instead of killing us. The child clears the mask. */
        if (sigprocmask(SIG_BLOCK, &mask, &before) < 0)
                return log_errno(-errno, "cannot block signals: %m");

        if (!rt->listeners.v)
                rt->read_at = watch_clock(); /* the child reads them now */
        int r = start_daemon(rt, o, &child, ret_other_mode);
        if (*ret_other_mode) /* the config asks for another mode: it starts from the mask we got */
                (void) sigprocmask(SIG_SETMASK, &before, NULL);
        if (r != 0 || *ret_other_mode)
                return r;
        rt->daemon_runs = true;
        _cleanup_close_ int sfd = sigfd_open_set(&mask);
        if (sfd < 0) {
                r = log_errno(sfd, "cannot create a signalfd: %s; stopping the daemon", strerror(-sfd));
                forward(o, child, SIGKILL);
                return r;
        }
        Supervisor s = { .o = o, .child = child, .rt = rt };
        reloader_init(&s.reloader, rt, o->watch, reload_over, &s);
        notify_set_keys(rt->listeners.n, listener_set_keys(&rt->listeners));
        (void) notify_ready();
        unkeyed_schedule();
        /* Whatever start-up left freed in the heap; we stay resident for long. */
        (void) malloc_trim(0);
        r = supervise_loop(&s, sfd);
        reloader_done(&s.reloader);
        return r;
}
