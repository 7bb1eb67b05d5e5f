/* inotify on directories, not files: tools replace key files by rename, and
 * a watch on the old inode would never fire again. Events are filtered by
 * name, so a busy directory (a key under /tmp) does not cause reloads. */
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

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

struct Watch {
        int fd;
        int dropin_wd;   /* the drop-in directory, where any *.conf counts; -1 */
        char *dropin_dir;
        char **paths;    /* files whose base names count in any watched directory */
        size_t n_paths, cap_paths;
        char *changed;   /* the first file changed since watch_set() */
        bool changed_more;
        char *what;      /* watch_changed()'s text */
};

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static int add_path(Watch *w, const char *path) {
        for (size_t i = 0; i < w->n_paths; i++)
                if (strcmp(w->paths[i], path) == 0)
                        return 0;
        int r = grow_array((void **) &w->paths, &w->cap_paths, w->n_paths + 1, sizeof(char *));
        if (r < 0)
                return r;
        if (!(w->paths[w->n_paths] = strdup(path)))
                return -ENOMEM;
        w->n_paths++;
        return 0;
}

/* Watches path's directory and counts path's base name. */
static int watch_name(Watch *w, const char *path) {
        char dir[PATH_MAX];
        const char *slash = strrchr(path, '/');
        if (!slash)
                snprintf(dir, sizeof dir, ".");
        else
                snprintf(dir, sizeof dir, "%.*s", (int) (slash == path ? 1 : slash - path), path);
        if (inotify_add_watch(w->fd, dir, WATCH_MASK) < 0 && errno != ENOENT)
                return -errno;
        return add_path(w, path);
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
        /* Its creation shows up in the parent, which watch_name() covers. */
        int r = watch_name(w, dir);
        if (r < 0)
                return r;
        w->dropin_wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
        free(w->dropin_dir);
        w->dropin_dir = TAKE_PTR(dir);
        return w->dropin_wd < 0 && errno != ENOENT ? -errno : 0;
}

int watch_new(Watch **ret) {
        Watch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->dropin_wd = -1;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

static void forget_config(Watch *w) {
        for (size_t i = 0; i < w->n_paths; i++)
                free(w->paths[i]);
        w->n_paths = 0;
        free(w->changed);
        free(w->what);
        free(w->dropin_dir);
        w->changed = w->what = w->dropin_dir = NULL;
        w->changed_more = false;
}

/* Same inotify fd throughout, so no change between two reloads is missed;
 * watches on directories that no longer matter stay, but their events no
 * longer match a name. */
int watch_set(Watch *w, const ConfigSource *s) {
        SourceKind kind;
        const char *path, *text;
        size_t pos = 0, size;
        bool first = true;
        int r = 0;
        forget_config(w);
        w->dropin_wd = -1;
        while (r >= 0 && config_source_next(s, &pos, &kind, &path, &text, &size)) {
                r = watch_path(w, path);
                if (r >= 0 && kind == SOURCE_CONFIG && first)
                        r = watch_dropins(w, path);
                first &= kind != SOURCE_CONFIG;
        }
        return r;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        closep(&w->fd);
        forget_config(w);
        free(w->paths);
        free(w);
        return NULL;
}

int watch_fd(const Watch *w) {
        return w->fd;
}

/* The file an event is about if it is one we read, or could read (a
 * drop-in .conf: then *ret_dir is the drop-in directory); else NULL. */
static const char *event_file(const Watch *w, const struct inotify_event *e, const char **ret_dir) {
        *ret_dir = NULL;
        if (!e->len)
                return NULL;
        if (e->wd == w->dropin_wd && str_endswith(e->name, ".conf")) {
                *ret_dir = w->dropin_dir;
                return e->name;
        }
        for (size_t i = 0; i < w->n_paths; i++)
                if (strcmp(base_name(w->paths[i]), e->name) == 0)
                        return w->paths[i];
        return NULL;
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

bool watch_drain(Watch *w) {
        bool hit = false;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        while ((n = read(w->fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        const char *dir, *file = event_file(w, e, &dir);
                        if (file)
                                note_change(w, dir, file);
                        if (e->mask & IN_Q_OVERFLOW) /* events lost: any file may have changed */
                                w->changed_more = true;
                        hit |= file || (e->mask & IN_Q_OVERFLOW);
                        p += sizeof *e + e->len;
                }
        return hit;
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

bool watch_missed(const Watch *w, struct timespec since) {
        struct timespec until = { 0 };
        (void) clock_gettime(CLOCK_REALTIME, &until);
        /* A drop-in created, renamed or removed changes its directory. */
        if (w->dropin_dir && stamped_between(w->dropin_dir, stat, since, until))
                return true;
        /* lstat() too: a link renamed over another changes the link, not
         * the file it leads to. */
        for (size_t i = 0; i < w->n_paths; i++)
                if (stamped_between(w->paths[i], lstat, since, until) ||
                    stamped_between(w->paths[i], stat, since, until))
                        return true;
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
