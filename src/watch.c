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

#include "util.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

struct Watch {
        int fd;
        int dropin_wd;   /* the drop-in directory, where any *.conf counts; -1 */
        char **names;    /* base names that count in any watched directory */
        size_t n_names, cap_names;
};

static int add_name(Watch *w, const char *name) {
        for (size_t i = 0; i < w->n_names; i++)
                if (strcmp(w->names[i], name) == 0)
                        return 0;
        int r = grow_array((void **) &w->names, &w->cap_names, w->n_names + 1, sizeof(char *));
        if (r < 0)
                return r;
        if (!(w->names[w->n_names] = strdup(name)))
                return -ENOMEM;
        w->n_names++;
        return 0;
}

/* Watches path's directory and counts path's base name. */
static int watch_path(Watch *w, const char *path) {
        char dir[PATH_MAX];
        const char *slash = strrchr(path, '/');
        if (!slash)
                snprintf(dir, sizeof dir, ".");
        else
                snprintf(dir, sizeof dir, "%.*s", (int) (slash == path ? 1 : slash - path), path);
        if (inotify_add_watch(w->fd, dir, WATCH_MASK) < 0 && errno != ENOENT)
                return -errno;
        return add_name(w, slash ? slash + 1 : path);
}

static int watch_dropins(Watch *w, const char *main_file) {
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s.d", main_file) < 0)
                return -ENOMEM;
        /* Its creation shows up in the parent, which watch_path() covers. */
        int r = watch_path(w, dir);
        if (r < 0)
                return r;
        w->dropin_wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
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

static void names_clear(Watch *w) {
        for (size_t i = 0; i < w->n_names; i++)
                free(w->names[i]);
        w->n_names = 0;
}

/* Same inotify fd throughout, so no change between two reloads is missed;
 * watches on directories that no longer matter stay, but their events no
 * longer match a name. */
int watch_set(Watch *w, const Config *c) {
        int r = 0;
        names_clear(w);
        w->dropin_wd = -1;
        for (size_t i = 0; r >= 0 && i < c->n_files; i++)
                r = watch_path(w, c->files[i]);
        if (r >= 0 && c->n_files > 0)
                r = watch_dropins(w, c->files[0]);
        for (size_t i = 0; r >= 0 && i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
                const char *creds = getenv("CREDENTIALS_DIRECTORY");
                if (k->source == SECRET_SOURCE_FILE)
                        r = watch_path(w, k->source_arg);
                else if (k->source == SECRET_SOURCE_CREDENTIAL && creds) {
                        _cleanup_free_ char *p = str_join_path(creds, k->source_arg);
                        r = p ? watch_path(w, p) : -ENOMEM;
                }
        }
        return r;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        closep(&w->fd);
        names_clear(w);
        free(w->names);
        free(w);
        return NULL;
}

int watch_fd(const Watch *w) {
        return w->fd;
}

static bool event_matters(const Watch *w, const struct inotify_event *e) {
        if (e->mask & IN_Q_OVERFLOW)
                return true;
        if (!e->len)
                return false;
        if (e->wd == w->dropin_wd && str_endswith(e->name, ".conf"))
                return true;
        for (size_t i = 0; i < w->n_names; i++)
                if (strcmp(w->names[i], e->name) == 0)
                        return true;
        return false;
}

bool watch_drain(Watch *w) {
        bool hit = false;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        while ((n = read(w->fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        hit |= event_matters(w, e);
                        p += sizeof *e + e->len;
                }
        return hit;
}
