/* Reading the config in a short-lived child, for the resident supervisor.
 *
 * Why: glibc keeps up to seven freed chunks of each small size in its
 * per-thread cache, wherever they lie, and neither free() nor malloc_trim()
 * gives those pages back. A parse (inih, file reads, some fifty strings and
 * arrays) and a reload's plan leave such chunks over three or four heap
 * pages, which then stay dirty in the supervisor for the daemon's lifetime:
 * the gap to tini in bench/supervise-memory. Done in a fork, the parse
 * dirties the child's pages only; the parent receives the packed config
 * (config-pack.c) into its static buffer with one read().
 *
 * A config too large for that buffer comes back as CHILD_TOO_BIG, before
 * anything changed, and the caller does the work itself, as before (so
 * such a config is parsed twice at start-up, and reloads stay in-process). The
 * child logs its own errors; notifications stay with the parent, whose pid
 * is the service's main pid (NotifyAccess=main). */
#include "child-load.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config-pack.h"
#include "log.h"
#include "util.h"

enum {
        CHILD_OK = 0,
        CHILD_FAILED = 1,   /* reload: logged, the old keys stay */
        CHILD_TOO_BIG = 2,  /* nothing done: the config does not fit the static buffer */
};

/* Forks; the child runs fn(fd, userdata) and exits with what it returns,
 * having written its answer to fd. Returns the child's exit status (or
 * 128+signal) and the read end of the pipe, or -errno. */
static int run_child(int (*fn)(int fd, void *userdata), void *userdata, int *ret_fd) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                _exit(fn(p[1], userdata));
        }
        close(p[1]);
        /* The answer (a few kB) fits the pipe: the child never blocks on it. */
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR) {
                        int r = -errno;
                        close(p[0]);
                        return r;
                }
        *ret_fd = p[0];
        return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* ---- start-up ---- */

static int load_child(int fd, void *userdata) {
        ReloadLoadConfig load = userdata;
        Config *c = NULL;
        int r = load(&c);
        if (r < 0)
                return exit_code_from_error(r);
        if (!config_pack_fits_resident(c) || config_pack(&c) < 0) {
                config_free(c); /* a leak checker judges this process at exit */
                return CHILD_TOO_BIG;
        }
        return config_pack_send(fd, c) < 0 ? EXIT_OSERR : CHILD_OK;
}

int child_load(ReloadLoadConfig load, Config **ret) {
        _cleanup_close_ int fd = -1;
        int st = run_child(load_child, (void *) load, &fd);
        if (st < 0)
                return st;
        if (st == CHILD_TOO_BIG)
                return -E2BIG;
        if (st > 128)
                return log_errno(EXIT_OSERR, "reading the configuration failed: signal %d", st - 128);
        if (st != CHILD_OK)
                return st; /* the child said why */
        int r = config_pack_receive(fd, ret);
        return r < 0 ? log_errno(EXIT_OSERR, "cannot read the configuration back: %s", strerror(-r)) : 0;
}

/* ---- SIGHUP ---- */

typedef struct ReloadChild {
        ListenerSet *set;
        Config **current;
        ReloadLoadConfig load;
} ReloadChild;

/* reload_keys() loads through a callback: hand it what the child loaded. */
static Config *child_next;

static int take_child_next(Config **ret) {
        *ret = TAKE_PTR(child_next);
        return 0;
}

static bool write_size(int fd, size_t v) {
        return write(fd, &v, sizeof v) == (ssize_t) sizeof v;
}

/* In the child: the whole reload (diff, apply, undo on failure), then for
 * the parent the answer's size, the new key counts and the new config. */
static int reload_child(int fd, void *userdata) {
        ReloadChild *rc = userdata;
        int r = rc->load(&child_next);
        if (r < 0) {
                log_errno(r, "reload: the configuration is not valid (see above); the old keys stay");
                return CHILD_FAILED;
        }
        if (!config_pack_fits_resident(child_next)) {
                config_free(TAKE_PTR(child_next));
                return CHILD_TOO_BIG;
        }
        if (reload_keys(rc->set, rc->current, take_child_next, NULL) < 0)
                return CHILD_FAILED;
        bool ok = write_size(fd, (*rc->current)->packed_size);
        for (size_t i = 0; ok && i < rc->set->n; i++)
                ok = write_size(fd, rc->set->v[i].n_keys);
        return ok && config_pack_send(fd, *rc->current) >= 0 ? CHILD_OK : EXIT_OSERR;
}

/* The child has exited: its whole answer is in the pipe, or it is broken.
 * Checked before the old config goes. */
static int answer_complete(int fd, size_t n_listeners, size_t *ret_size) {
        int avail;
        if (ioctl(fd, FIONREAD, &avail) < 0)
                return -errno;
        if (read(fd, ret_size, sizeof *ret_size) != (ssize_t) sizeof *ret_size ||
            (size_t) avail != (1 + n_listeners) * sizeof(size_t) + *ret_size)
                return -EBADMSG;
        return 0;
}

int child_reload(ListenerSet *set, Config **current, ReloadLoadConfig load) {
        _cleanup_close_ int fd = -1;
        ReloadChild rc = { set, current, load };
        size_t size;
        /* A config that did not fit last time will not now: parse once. */
        if (!config_is_resident(*current))
                return reload_keys(set, current, load, NULL);
        int st = run_child(reload_child, &rc, &fd);
        if (st < 0 || st == CHILD_TOO_BIG)
                return reload_keys(set, current, load, NULL);
        if (st == CHILD_FAILED)
                return -EBADMSG;
        int r = st == CHILD_OK ? answer_complete(fd, set->n, &size) : -EIO;
        if (r < 0)
                return log_errno(-EIO, "reload: the reloading process failed (status %d); the listeners may "
                                 "hold a mix of old and new keys: reload again", st);
        /* The counts are there (answer_complete()); a short read all the
         * same is handled as an incomplete answer. */
        for (size_t i = 0; i < set->n && r == 0; i++)
                if (read(fd, &set->v[i].n_keys, sizeof(size_t)) != (ssize_t) sizeof(size_t))
                        r = -EIO;
        config_free(*current);
        *current = NULL;
        if (r < 0 || (r = config_pack_receive(fd, current)) < 0) {
                /* Not with a complete answer; should it happen, the files
                 * say what the child installed. */
                log_error("reload: cannot take the new configuration over (%s); reading it again", strerror(-r));
                return load(current);
        }
        return 0;
}
