/* The supervisor: starts the daemon, then a poll loop over a signalfd (and, with
 * --watch, an inotify fd). No asynchronous signal handlers at all: every
 * catchable signal is blocked and read as data, so the reload (which
 * allocates, parses, logs) runs in normal context. */
#include "supervise.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "child-load.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
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

/* The daemon: every listener at fd 3.. with LISTEN_PID its own pid. We
 * are the service's main process: the daemon's own notifications would be
 * refused (NotifyAccess=main) or, worse, taken for ours, so no
 * NOTIFY_SOCKET. As process_spawn(). */
static int daemon_start(const SuperviseOptions *o, const char *path, char *const *argv,
                        const ListenerSet *set, const char *const *names, pid_t *ret_pid) {
        _cleanup_free_ int *fds = calloc(set->n ? set->n : 1, sizeof *fds);
        *ret_pid = 0;
        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; i < set->n; i++)
                fds[i] = set->v[i].fd;
        ProcessSpec spec = {
                .path = path, .argv = argv, .fds = fds, .names = names, .n_fds = set->n,
                .stdio_fd = -1, .drop_notify = true, .process_group = o->process_group,
        };
        return process_spawn(&spec, ret_pid);
}

static void forward(const SuperviseOptions *o, pid_t child, int sig) {
        if (kill(o->process_group ? -child : child, sig) < 0 && errno != ESRCH)
                log_warning("cannot pass signal %d (%s) on: %m", sig, strsignal(sig));
}

/* Reaps every zombie, the main child's and orphans' alike (as PID 1 or
 * subreaper they all end up ours). True once the main child has ended. */
static bool reap(pid_t child, int *ret_status) {
        bool ended = false;
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == child) {
                        *ret_status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
                        ended = true;
                }
        return ended;
}

/* The state of the loop: what reload() needs, and the file watch. */
typedef struct Supervisor {
        const SuperviseOptions *o;
        pid_t child;
        ListenerSet *set;
        Config **config;
        Watch *watch;          /* with --watch */
        bool reload_due;       /* a watched file changed; reload when quiet */
} Supervisor;

/* Watches the files of the current config (they may have changed). */
static void rewatch(Supervisor *s) {
        int r = s->watch ? 0 : watch_new(&s->watch);
        if (r >= 0)
                r = watch_set(s->watch, *s->config);
        if (r < 0)
                log_warning("cannot watch the config and key files (%s); reload with SIGHUP", strerror(-r));
}

int supervise_reload(ListenerSet *set, Config **config, ReloadLoadConfig load, const char *trigger,
                     bool daemon_runs) {
        (void) notify_reloading(trigger);
        /* In a child, so the parse leaves no dirty heap here (child-load.c). */
        int r = child_reload(set, config, load, daemon_runs);
        notify_set_keys(set->n, listener_set_keys(set));
        notify_set_reload(trigger, r < 0);
        (void) notify_ready();
        return r;
}

static void reload(Supervisor *s, const char *trigger) {
        (void) supervise_reload(s->set, s->config, s->o->load, trigger, true);
        if (s->o->watch)
                rewatch(s);
        (void) malloc_trim(0);
}

/* One signal: >= 0 is the exit status once the daemon has ended. */
static int on_signal(Supervisor *s, const struct signalfd_siginfo *si) {
        int sig = (int) si->ssi_signo, status;
        if (sig == SIGCHLD)
                return reap(s->child, &status) ? status : -1;
        /* A SIGPIPE from our own write to a closed stderr is ours. */
        if (si->ssi_code == SI_USER && (pid_t) si->ssi_pid == getpid())
                return -1;
        if (sig == SIGHUP && s->o->load)
                reload(s, "SIGHUP");
        if (sig == SIGHUP && !s->o->forward_reload)
                return -1;
        if (sig == SIGTERM || sig == SIGINT)
                (void) notify_stopping();
        forward(s->o, s->child, sig);
        return -1;
}

/* Editors and deployment tools write a file in several steps: wait until
 * the directory has been quiet this long. */
#define WATCH_QUIET_MS 200

static int supervise_loop(Supervisor *s, int sfd) {
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = sfd, .events = POLLIN },
                        { .fd = s->watch ? watch_fd(s->watch) : -1, .events = POLLIN },
                };
                int k = poll(p, 2, s->reload_due ? WATCH_QUIET_MS : -1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return log_errno(EXIT_OSERR, "poll failed: %m");
                if (k == 0 && s->reload_due) {
                        s->reload_due = false;
                        reload(s, watch_changed(s->watch));
                        continue;
                }
                if (p[1].revents && watch_drain(s->watch))
                        s->reload_due = true;
                if (!(p[0].revents & POLLIN))
                        continue;
                struct signalfd_siginfo si;
                ssize_t n = read(sfd, &si, sizeof si);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n != (ssize_t) sizeof si) {
                        log_error("cannot read signals: %s; stopping the daemon", n < 0 ? strerror(errno) : "short read");
                        forward(s->o, s->child, SIGKILL);
                        return EXIT_OSERR;
                }
                int status = on_signal(s, &si);
                if (status >= 0)
                        return status;
        }
}

int supervise_run(const SuperviseOptions *o, const char *path, char *const *argv, ListenerSet *set,
                  const char *const *names, Config **config) {
        /* An unbuffered stderr makes every message format through an 8 kB
         * buffer on the stack, which then stays resident: buffer lines in
         * static memory instead (each message ends with a newline). */
        static char stderr_buffer[512];
        sigset_t mask;
        struct sigaction ign = { .sa_handler = SIG_IGN };
        supervise_signal_set(&mask);
        /* Before the daemon starts: a signal arriving in between stays pending
         * for the signalfd instead of killing us. The daemon starts with an
         * empty mask. */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_errno(EXIT_OSERR, "cannot block signals: %m");
        (void) sigaction(SIGTTIN, &ign, NULL);
        (void) sigaction(SIGTTOU, &ign, NULL);
        /* Orphans of the daemon come to us, as they would to PID 1. */
        if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning("cannot become a subreaper (%m); orphans of the daemon go to init");
        (void) setvbuf(stderr, stderr_buffer, _IOLBF, sizeof stderr_buffer);

        pid_t child;
        int r = daemon_start(o, path, argv, set, names, &child);
        if (r < 0 && child == 0)
                return log_errno(EXIT_OSERR, "cannot start %s: %s", path, strerror(-r));
        if (r < 0) { /* it has exited already with the code we return */
                log_error("cannot execute %s: %s", path, strerror(-r));
                (void) waitpid(child, NULL, 0);
                return exec_exit_code(r);
        }
        if (o->process_group)
                (void) setpgid(child, child); /* also here: no race with our first kill(-child) */

        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                log_error("cannot create a signalfd: %m; stopping the daemon");
                forward(o, child, SIGKILL);
                return EXIT_OSERR;
        }
        Supervisor s = { .o = o, .child = child, .set = set, .config = config };
        if (o->watch)
                rewatch(&s);
        notify_set_keys(set->n, listener_set_keys(set));
        (void) notify_ready();
        /* Parsing left freed pages in the heap; we stay resident for long. */
        (void) malloc_trim(0);
        r = supervise_loop(&s, sfd);
        watch_free(s.watch);
        return r;
}
