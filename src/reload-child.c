/* The two sides of a supervisor's reload in a child (reload-child.h). */
#include "reload-child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "log.h"
#include "notify.h"
#include "reload.h"
#include "resident.h"
#include "util.h"

/* The child's exit status when it refused the reload and logged why (an
 * invalid config): the supervisor adds nothing then. */
#define CHILD_REFUSED 1

struct ReloadChild {
        pid_t pid;
        int sock;              /* our end of the pair; -1 once at its end */
        int timer;             /* a timerfd: the deadline */
        ResidentInbox inbox;
        int received;          /* resident_inbox_read()'s last word: 1 whole, 0 not yet, -errno */
        bool exited;
        int status;            /* from waitpid(), once exited */
        bool timed_out;
        char trigger[256];     /* as much as STATUS= shows (notify.c) */
};

/* One reload at a time, and its record outside the heap: a resident
 * supervisor's heap should not keep a page dirty for it
 * (bench/supervise-memory). */
static ReloadChild slot;
static bool slot_taken;

/* Closes *fd and forgets it. */
static void close_fd(int *fd) {
        closep(fd);
        *fd = -1;
}

/* ---- in the child ---- */

/* The next process's part of the message, from next: its settings, and
 * the command found as a start finds it while one is still to start (a
 * command that cannot run fails the reload, as it fails a start). Logs. */
static int child_next(const Runtime *rt, const Config *next, ReloadNext *ret, char **ret_block) {
        _cleanup_free_ char *path = NULL;
        *ret = (ReloadNext) { .accept = accept_settings(next) };
        *ret_block = NULL;
        if (rt->daemon_runs)
                return 0;
        int r = command_find(next, &path);
        if (r < 0)
                return log_errno(r, "reload: the configuration is not valid (see above); the old keys stay");
        if ((r = reload_next_command(path, next->exec_start, ret_block, &ret->command_size)) < 0)
                return log_errno(r, "reload: out of memory; the old keys stay");
        ret->command = *ret_block;
        return 0;
}

/* Reads the config in force back from rt's source, the new one from the
 * files, plans every listener's table and sends it all. The exit status. */
static int child_run(Runtime *rt, int fd) {
        Config *old = NULL, *next = NULL;
        ConfigSource source = { 0 };
        ReloadTarget t = { 0 };
        ReloadNext n;
        _cleanup_free_ char *command = NULL;
        int status = CHILD_REFUSED, r = rt->load(&rt->source, NULL, &old);
        if (r < 0)
                log_errno(r, "reload: cannot read back the config in force; the old keys stay");
        else if (reload_load_new(rt, &next, &source) < 0 || child_next(rt, next, &n, &command) < 0)
                ; /* said why */
        else if ((r = reload_plan(&rt->listeners, old, next, &t)) < 0) {
                if (r == -ENOMEM) /* the other refusals said why */
                        log_errno(r, "reload: out of memory; the old keys stay");
        } else {
                reload_report(old, next, rt->daemon_runs);
                /* The supervisor says what went wrong with a message cut short. */
                status = resident_send_reload(fd, &rt->listeners, &t, &source, &n) < 0 ? EXIT_OSERR : 0;
        }
        reload_target_done(&t);
        config_free(old);
        config_free(next);
        config_source_done(&source);
        return status;
}

static _Noreturn void child_main(Runtime *rt, int fd) {
        /* The listeners stay the supervisor's alone: whatever becomes of
         * this process, it cannot change a key. */
        for (size_t i = 0; i < rt->listeners.n; i++)
                close_fd(&rt->listeners.v[i].fd);
        _exit(child_run(rt, fd));
}

/* ---- in the supervisor ---- */

static void child_free(ReloadChild *c) {
        close_fd(&c->sock);
        close_fd(&c->timer);
        resident_inbox_done(&c->inbox);
        slot_taken = false;
}

static void notify_end(const Runtime *rt, const char *trigger, bool failed) {
        notify_set_keys(rt->listeners.n, listener_set_keys(&rt->listeners));
        notify_set_reload(trigger, failed);
        (void) notify_ready();
}

int child_deadline_start(void) {
        struct itimerspec deadline = { .it_value.tv_sec = CHILD_DEADLINE_S };
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (timerfd_settime(fd, 0, &deadline, NULL) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* The pair (our end non-blocking) and the armed deadline. Logs. */
static int child_prepare(ReloadChild *c, int *ret_theirs) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return log_errno(-errno, "reload: cannot create a socket pair: %m; the old keys stay");
        c->sock = sv[0];
        *ret_theirs = sv[1];
        if (fcntl(c->sock, F_SETFL, O_NONBLOCK) < 0)
                return log_errno(-errno, "reload: cannot set up the socket pair: %m; the old keys stay");
        if ((c->timer = child_deadline_start()) < 0)
                return log_errno(c->timer, "reload: cannot set a deadline: %s; the old keys stay",
                                 strerror(-c->timer));
        return 0;
}

int reload_child_start(Runtime *rt, const char *trigger, ReloadChild **ret) {
        *ret = NULL;
        (void) notify_reloading(trigger);
        if (slot_taken) {
                notify_end(rt, trigger, true);
                return log_errno(-EBUSY, "reload: one is under way already; the old keys stay");
        }
        ReloadChild *c = &slot;
        *c = (ReloadChild) { .pid = -1, .sock = -1, .timer = -1 };
        slot_taken = true;
        snprintf(c->trigger, sizeof c->trigger, "%s", trigger);
        int theirs = -1, r = child_prepare(c, &theirs);
        if (r >= 0 && (c->pid = fork()) < 0)
                r = log_errno(-errno, "reload: cannot fork: %m; the old keys stay");
        if (r >= 0 && c->pid == 0) {
                child_free(c); /* the supervisor's, not ours */
                child_main(rt, theirs);
        }
        closep(&theirs);
        if (r < 0) {
                notify_end(rt, trigger, true);
                child_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void reload_child_pollfds(const ReloadChild *c, struct pollfd ret[static 2]) {
        ret[0] = (struct pollfd) { .fd = c->sock, .events = POLLIN };
        ret[1] = (struct pollfd) { .fd = c->timer, .events = POLLIN };
}

void reload_child_event(ReloadChild *c, const struct pollfd p[static 2]) {
        if (c->sock >= 0 && p[0].revents) {
                c->received = resident_inbox_read(&c->inbox, c->sock);
                if (c->received != 0)
                        close_fd(&c->sock);
                /* Too much, or too large: nothing it sends now can be taken. */
                if (c->received < 0 && c->received != -EPIPE)
                        (void) kill(c->pid, SIGKILL);
        }
        if (p[1].revents & POLLIN) {
                c->timed_out = true;
                (void) kill(c->pid, SIGKILL);
        }
}

bool reload_child_reaped(ReloadChild *c, pid_t pid, int status) {
        if (pid != c->pid)
                return false;
        c->exited = true;
        c->status = status;
        return true;
}

bool reload_child_over(const ReloadChild *c) {
        /* Once killed by us, not even its exit is worth waiting for: a child
         * stuck in the kernel (a hung network file system) may take long to
         * die. It is reaped with every other child later. */
        return c->timed_out || (c->received < 0 && c->received != -EPIPE) || (c->sock < 0 && c->exited);
}

/* 0 when the message arrived whole and the child exited 0; else logs what
 * happened, in one line, and returns -errno. */
static int child_outcome(const ReloadChild *c) {
        if (c->timed_out)
                return log_errno(-ETIMEDOUT, "reload: timed out after %d s (the reload process is killed); the old "
                                 "keys stay", CHILD_DEADLINE_S);
        if (c->received < 0 && c->received != -EPIPE)
                return log_errno(c->received, "reload: cannot take what the reload process sends (%s); the old "
                                 "keys stay", strerror(-c->received));
        if (WIFSIGNALED(c->status))
                return log_errno(-EINTR, "reload: the reload process was killed by signal %d (%s); the old keys "
                                 "stay", WTERMSIG(c->status), strsignal(WTERMSIG(c->status)));
        if (WEXITSTATUS(c->status) == CHILD_REFUSED)
                return -ECANCELED; /* it said why */
        if (WEXITSTATUS(c->status) != 0)
                return log_errno(-ECHILD, "reload: the reload process exited with status %d; the old keys stay",
                                 WEXITSTATUS(c->status));
        if (c->received != 1)
                return log_errno(-EPIPE, "reload: the reload process sent a short message (%zu of %llu bytes); the "
                                 "old keys stay", c->inbox.got + c->inbox.got_size,
                                 (unsigned long long) c->inbox.size + sizeof c->inbox.size);
        return 0;
}

/* Where the new source goes once the keys are in: over the old text when
 * the size is the same (a key rotation), as the tables, so that the heap
 * does not grow; else a copy made now, before any key changes. NULL (and
 * *ret_copy NULL) for in place; -ENOMEM. */
static int source_prepare(const ConfigSource *old, const ConfigSource *new, char **ret_copy) {
        *ret_copy = NULL;
        if (old->data && old->size == new->size)
                return 0;
        if (!(*ret_copy = malloc(new->size ? new->size : 1)))
                return -ENOMEM;
        memcpy(*ret_copy, new->data, new->size);
        return 0;
}

/* What the next process gets, made before any key changes so that taking
 * it over cannot fail afterwards. */
typedef struct NextCommand {
        char *path;
        char **argv;
} NextCommand;

/* Parses and installs the whole message. Logs. */
static int child_commit(ReloadChild *c, Runtime *rt) {
        ReloadTarget t;
        ConfigSource source;
        ReloadNext next;
        ReloadStats stats;
        NextCommand cmd = { 0 };
        char *copy = NULL;
        int r = resident_parse_reload(c->inbox.buf, c->inbox.size, &rt->listeners, &t, &source, &next);
        if (r < 0)
                return log_errno(r, "reload: the reload process sent a malformed message (%s); the old keys stay",
                                 strerror(-r));
        if ((r = source_prepare(&rt->source, &source, &copy)) < 0 ||
            (next.command && (r = reload_next_words(&next, &cmd.path, &cmd.argv)) < 0))
                log_errno(r, "reload: out of memory; the old keys stay");
        else if ((r = reload_install(&rt->listeners, &t, &stats)) >= 0) {
                if (copy) {
                        config_source_done(&rt->source);
                        rt->source = (ConfigSource) { TAKE_PTR(copy), source.size };
                } else if (source.size)
                        memcpy(rt->source.data, source.data, source.size);
                rt->accept = next.accept;
                if (cmd.path) {
                        free(rt->path);
                        strv_free(rt->argv);
                        rt->path = TAKE_PTR(cmd.path);
                        rt->argv = TAKE_PTR(cmd.argv);
                }
                reload_log_done(&rt->listeners, &stats);
        }
        config_source_done(&(ConfigSource) { copy, source.size });
        free(cmd.path);
        strv_free(cmd.argv);
        reload_target_done(&t);
        return r;
}

int reload_child_finish(ReloadChild *c, Runtime *rt) {
        int r = child_outcome(c);
        if (r >= 0)
                r = child_commit(c, rt);
        notify_end(rt, c->trigger, r < 0);
        child_free(c);
        return r;
}

void reload_child_cancel(ReloadChild *c, const char *why) {
        if (!c->exited)
                (void) kill(c->pid, SIGKILL);
        log_warning("reload: stopped before it finished (%s); the old keys stay", why);
        child_free(c);
}
