/* inotify on directories, not files: tools replace key files by rename, and
 * a watch on the old inode would never fire again. Events are filtered by
 * (directory, name), so a busy directory (a key under /tmp) does not cause
 * reloads, nor delay them. */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* IN_DELETE_SELF and IN_MOVE_SELF: a watched directory removed or renamed
 * away (rm -rf, a directory swap); its parent's watch sees what comes in
 * its place. */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | \
                    IN_DELETE_SELF | IN_MOVE_SELF)
/* Editors and deployment tools write a file in several steps: reload once
 * the files have been quiet this long, but never later than the bound
 * after the first change, however busy they stay. */
#define WATCH_QUIET_MS 200
#define WATCH_MAX_DELAY_MS 2000

/* A watched directory; wd -1 while it does not exist. */
typedef struct WatchDir {
        int wd;
        char *path;
        bool any_conf;   /* the drop-in directory: any *.conf counts */
} WatchDir;

/* An event for name in directory dir concerns path (a file we read, a link
 * on the way to one, or a directory holding them). */
typedef struct WatchName {
        size_t dir;
        char *name, *path;
} WatchName;

struct Watch {
        int fd;
        WatchDir *dirs;
        size_t n_dirs, cap_dirs;
        WatchName *names;
        size_t n_names, cap_names;
        bool pending;             /* a relevant change not yet reloaded */
        struct timespec first, last;   /* CLOCK_MONOTONIC, of pending changes */
        char *changed;   /* the first file changed since watch_set() */
        bool changed_more;
        char *what;      /* watch_changed()'s text */
};

/* path's directory and base name; "." for a path without a slash. */
static void split_path(const char *path, char ret_dir[static PATH_MAX], const char **ret_base) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                snprintf(ret_dir, PATH_MAX, ".");
        else
                snprintf(ret_dir, PATH_MAX, "%.*s", (int) (slash == path ? 1 : slash - path), path);
        *ret_base = slash ? slash + 1 : path;
}

/* Watches directory path (once); its index, or -errno. */
static ssize_t watch_dir(Watch *w, const char *path) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (strcmp(w->dirs[i].path, path) == 0)
                        return (ssize_t) i;
        int r = grow_array((void **) &w->dirs, &w->cap_dirs, w->n_dirs + 1, sizeof *w->dirs);
        if (r < 0)
                return r;
        int wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR);
        if (wd < 0 && errno != ENOENT && errno != ENOTDIR)
                return -errno;
        char *copy = strdup(path);
        if (!copy) {
                if (wd >= 0)
                        (void) inotify_rm_watch(w->fd, wd);
                return -ENOMEM;
        }
        w->dirs[w->n_dirs] = (WatchDir) { .wd = wd, .path = copy };
        return (ssize_t) w->n_dirs++;
}

static int add_name(Watch *w, size_t dir, const char *name, const char *path) {
        for (size_t i = 0; i < w->n_names; i++)
                if (w->names[i].dir == dir && strcmp(w->names[i].name, name) == 0)
                        return 0;
        int r = grow_array((void **) &w->names, &w->cap_names, w->n_names + 1, sizeof *w->names);
        if (r < 0)
                return r;
        WatchName n = { .dir = dir, .name = strdup(name), .path = strdup(path) };
        if (!n.name || !n.path) {
                free(n.name);
                free(n.path);
                return -ENOMEM;
        }
        w->names[w->n_names++] = n;
        return 0;
}

/* Watches path's directory for path's base name, and the directory's
 * parent for the directory's own name: a directory removed and made again,
 * or swapped by rename, is seen in its parent. Up the tree while parents
 * are missing. */
static int watch_name(Watch *w, const char *path) {
        char dir[PATH_MAX];
        const char *base;
        for (int depth = 0; depth < PATH_MAX / 2; depth++) {
                split_path(path, dir, &base);
                if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                        return 0;
                ssize_t i = watch_dir(w, dir);
                if (i < 0)
                        return (int) i;
                int r = add_name(w, (size_t) i, base, path);
                if (r < 0)
                        return r;
                /* The root, and the working directory, stay where they are. */
                if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0 || (depth > 0 && w->dirs[i].wd >= 0))
                        return 0;
                path = w->dirs[i].path;
        }
        return -ELOOP;
}

/* The first symlink among path's components (a prefix of path, in
 * ret_link), and path with that link replaced by its target (ret_next);
 * 0 when no component is a link. */
static int first_link(const char *path, char ret_link[static PATH_MAX], char ret_next[static PATH_MAX]) {
        if (!*path)
                return 0;
        for (const char *end = path + 1;; end++) {
                if (*end != '/' && *end)
                        continue;
                snprintf(ret_link, PATH_MAX, "%.*s", (int) (end - path), path);
                struct stat st;
                char target[PATH_MAX];
                ssize_t n;
                if (lstat(ret_link, &st) < 0 || !S_ISLNK(st.st_mode) ||
                    (n = readlink(ret_link, target, sizeof target - 1)) < 0) {
                        if (!*end)
                                return 0;
                        continue;
                }
                target[n] = 0;
                const char *slash = strrchr(ret_link, '/');
                int dir_len = target[0] == '/' || !slash ? 0 : (int) (slash - ret_link + 1);
                if (snprintf(ret_next, PATH_MAX, "%.*s%s%s", dir_len, ret_link, target, end) >= PATH_MAX)
                        return -ENAMETOOLONG;
                return 1;
        }
}

/* Watches path and, when symlinks lead to it, each link and the file at
 * the end: a secret volume is rotated by renaming a new link over an old
 * one (Kubernetes' "..data"), which changes the file without an event
 * under its own name. */
static int watch_path(Watch *w, const char *path) {
        char cur[PATH_MAX], link[PATH_MAX], next[PATH_MAX];
        int r = watch_name(w, path);
        snprintf(cur, sizeof cur, "%s", path);
        for (int hop = 0; r >= 0 && hop < 40; hop++) { /* the kernel's own limit */
                r = first_link(cur, link, next);
                if (r <= 0)
                        return r == 0 && strcmp(cur, path) != 0 ? watch_name(w, cur) : r;
                if ((r = watch_name(w, link)) >= 0)
                        memcpy(cur, next, sizeof cur);
        }
        return r;
}

static int watch_dropins(Watch *w, const char *main_file) {
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s.d", main_file) < 0)
                return -ENOMEM;
        int r = watch_name(w, dir);
        ssize_t i = r < 0 ? r : watch_dir(w, dir);
        if (i < 0)
                return (int) i;
        w->dirs[i].any_conf = true;
        return 0;
}

int watch_new(Watch **ret) {
        Watch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

static void free_dirs(WatchDir *dirs, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(dirs[i].path);
        free(dirs);
}

static void forget_config(Watch *w) {
        for (size_t i = 0; i < w->n_names; i++) {
                free(w->names[i].name);
                free(w->names[i].path);
        }
        w->n_names = 0;
        free(w->changed);
        free(w->what);
        w->changed = w->what = NULL;
        w->changed_more = false;
}

/* Watches that no longer matter are removed: their events, still queued
 * or to come (a directory swapped away), match nothing. */
static void retire_old(Watch *w, WatchDir *old, size_t n_old) {
        for (size_t k = 0; k < n_old; k++) {
                bool kept = old[k].wd < 0;
                for (size_t i = 0; i < w->n_dirs && !kept; i++)
                        kept = w->dirs[i].wd == old[k].wd;
                if (!kept)
                        (void) inotify_rm_watch(w->fd, old[k].wd);
        }
        free_dirs(old, n_old);
}

static bool watch_missed(const Watch *w, struct timespec since);
static void schedule(Watch *w);

/* Same inotify fd throughout, and a watch that still matters is kept (the
 * kernel hands back its wd), so no change between two reloads is missed. */
int watch_set(Watch *w, const ConfigSource *s, struct timespec since) {
        SourceKind kind;
        const char *path, *text;
        size_t pos = 0, size, n_old = w->n_dirs;
        bool first = true;
        int r = 0;
        WatchDir *old = w->dirs;
        /* The reload this follows read every file: what changed after it
         * began is still queued, or found by its stamp below. */
        w->pending = false;
        forget_config(w);
        w->dirs = NULL;
        w->n_dirs = w->cap_dirs = 0;
        while (r >= 0 && config_source_next(s, &pos, &kind, &path, &text, &size)) {
                r = watch_path(w, path);
                if (r >= 0 && kind == SOURCE_CONFIG && first)
                        r = watch_dropins(w, path);
                first &= kind != SOURCE_CONFIG;
        }
        retire_old(w, old, n_old);
        if (r >= 0 && watch_missed(w, since))
                schedule(w);
        return r;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        closep(&w->fd);
        forget_config(w);
        free(w->names);
        free_dirs(w->dirs, w->n_dirs);
        free(w);
        return NULL;
}

int watch_fd(const Watch *w) {
        return w->fd;
}

/* Remembers the first file changed since watch_set(), and whether others
 * changed too, for watch_changed(). */
static void note_change(Watch *w, const char *dir, const char *file) {
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", dir ? dir : "", dir ? "/" : "", file) < 0) {
                w->changed_more = true;
                return;
        }
        if (!w->changed)
                w->changed = TAKE_PTR(path);
        else if (strcmp(w->changed, path) != 0)
                w->changed_more = true;
        free(path);
}

/* Whether event e concerns a file we read, or could read; then
 * note_change() is told which. Matched on (directory, name): the same name
 * in another watched directory is another file. */
static bool event_matches(Watch *w, const struct inotify_event *e) {
        bool hit = false;
        for (size_t i = 0; i < w->n_dirs; i++) {
                const WatchDir *d = &w->dirs[i];
                if (d->wd != e->wd)
                        continue;
                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                        note_change(w, NULL, d->path);
                        hit = true;
                }
                if (!e->len)
                        continue;
                if (d->any_conf && str_endswith(e->name, ".conf")) {
                        note_change(w, d->path, e->name);
                        hit = true;
                }
                for (size_t k = 0; k < w->n_names; k++)
                        if (w->names[k].dir == i && strcmp(w->names[k].name, e->name) == 0) {
                                note_change(w, NULL, w->names[k].path);
                                hit = true;
                        }
        }
        return hit;
}

static struct timespec monotonic_now(void) {
        struct timespec now = { 0 };
        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        return now;
}

static long long ms_between(struct timespec a, struct timespec b) {
        return (long long) (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void schedule(Watch *w) {
        w->last = monotonic_now();
        if (!w->pending)
                w->first = w->last;
        w->pending = true;
}

bool watch_drain(Watch *w) {
        bool hit = false;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        while ((n = read(w->fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        hit |= event_matches(w, e);
                        if (e->mask & IN_Q_OVERFLOW) { /* events lost: any file may have changed */
                                w->changed_more = true;
                                hit = true;
                        }
                        p += sizeof *e + e->len;
                }
        if (hit)
                schedule(w);
        return hit;
}

/* Milliseconds until the pending reload is due: quiet for WATCH_QUIET_MS,
 * or WATCH_MAX_DELAY_MS after the first change. */
static long long due_in(const Watch *w) {
        struct timespec now = monotonic_now();
        long long quiet = WATCH_QUIET_MS - ms_between(w->last, now);
        long long bound = WATCH_MAX_DELAY_MS - ms_between(w->first, now);
        long long ms = quiet < bound ? quiet : bound;
        return ms > 0 ? ms : 0;
}

int watch_timeout(const Watch *w) {
        return w->pending ? (int) due_in(w) + 1 : -1;
}

bool watch_due(Watch *w) {
        if (!w->pending || due_in(w) > 0)
                return false;
        w->pending = false;
        return true;
}

struct timespec watch_clock(void) {
        /* The coarse clock is the one the kernel stamps inodes with (or
         * its floor, where stamps are finer): a change after this call is
         * never stamped earlier. */
        struct timespec now = { 0 };
        (void) clock_gettime(CLOCK_REALTIME_COARSE, &now);
        return now;
}

static bool time_le(struct timespec a, struct timespec b) {
        return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

/* Inclusive: a stamp in the same clock tick as since may be either side.
 * A stamp after until, the precise time now, is no change we missed but a
 * clock set back, which must not reload forever. */
static bool stamped_between(const char *path, int (*stat_fn)(const char *, struct stat *), struct timespec since,
                            struct timespec until) {
        struct stat st;
        return stat_fn(path, &st) == 0 && time_le(since, st.st_ctim) && time_le(st.st_ctim, until);
}

/* Directories by their stamps only where any *.conf counts (a drop-in
 * created, renamed or removed changes its directory): elsewhere a
 * directory's stamp changes with every name in it. */
static bool watch_missed(const Watch *w, struct timespec since) {
        struct timespec until = { 0 };
        (void) clock_gettime(CLOCK_REALTIME, &until);
        for (size_t i = 0; i < w->n_dirs; i++)
                if (w->dirs[i].any_conf && stamped_between(w->dirs[i].path, stat, since, until))
                        return true;
        /* lstat() too: a link renamed over another changes the link, not
         * the file it leads to. */
        for (size_t i = 0; i < w->n_names; i++) {
                const char *path = w->names[i].path;
                struct stat st;
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        continue;
                if (stamped_between(path, lstat, since, until) || stamped_between(path, stat, since, until))
                        return true;
        }
        return false;
}

const char *watch_changed(Watch *w) {
        free(w->what);
        w->what = NULL;
        if (w->changed && asprintf(&w->what, "%s %s", w->changed,
                                   w->changed_more ? "and other files changed" : "changed") < 0)
                w->what = NULL;
        return w->what ? w->what : "watched files changed";
}
