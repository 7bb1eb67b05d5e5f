/* The trusted walk: see trusted-path.h. Shaped after systemd's chase()
 * with CHASE_SAFE, and judged as sshd's StrictModes judges a path. */
#include "trusted-path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

#define LINKS_MAX 40 /* the kernel's own limit */
#define STEP_OPENED 2 /* step(): the file is open */
#define STEP_AGAIN 3  /* step(): the file's name became a link; walk it again */

/* A directory on the walk: its O_PATH fd, and how much of the walked path
 * names it. Borrowed steps belong to the TrustedDir a walk started from. */
typedef struct Step {
        int fd;
        size_t len;
        bool owned;
} Step;

/* The directories walked so far, from "/" (steps[0]) down; ".." pops one,
 * so it goes back along the path actually walked. */
struct TrustedDir {
        Step *steps;
        size_t n, cap;
        char path[PATH_MAX]; /* of the top step; "" for "/" */
        char todo[PATH_MAX]; /* what is left to walk */
        size_t pos;          /* into todo */
        unsigned links;      /* followed so far */
        bool via_link;
        uid_t euid;
};

/* The text of the last problem found, valid until the next one. On the
 * heap, not static: processes that never meet a problem (a resident
 * supervisor) then keep no page of it. */
__attribute__((format(printf, 1, 2))) static const char *problem_text(const char *fmt, ...) {
        static char *text;
        char *next;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&next, fmt, ap) < 0)
                next = NULL;
        va_end(ap);
        free(text);
        text = next;
        return text ? text : "(out of memory describing the problem)";
}

const char *file_permission_problem(const struct stat *st, uid_t euid, bool holds_secret) {
        if (st->st_uid != 0 && st->st_uid != euid)
                return "it is owned by another user (chown it to root)";
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return "group or other can write it (chmod go-w)";
        if (holds_secret && (st->st_mode & (S_IRGRP | S_IROTH)))
                return "it holds a secret and group or other can read it (chmod 600)";
        return NULL;
}

static int top(const TrustedDir *w) {
        return w->steps[w->n - 1].fd;
}

/* Whoever may rename or replace entries of a directory may swap the file
 * for their own: a directory must be owned by root or euid, and group and
 * other may write it only when the sticky bit keeps them to their own
 * entries. */
static const char *dir_problem(const struct stat *st, const char *dir, uid_t euid) {
        if (st->st_uid != 0 && st->st_uid != euid)
                return problem_text("directory %s is owned by another user, who can replace what is in it "
                                    "(chown root %s)", dir, dir);
        if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
                return problem_text("group or other can write directory %s and replace what is in it "
                                    "(chmod go-w %s)", dir, dir);
        return NULL;
}

/* A link's owner may remove it and make another in its place whenever the
 * directory lets them (a sticky one does): only root's and ours are
 * followed. */
static const char *link_problem(const struct stat *st, const char *link, uid_t euid) {
        if (st->st_uid == 0 || st->st_uid == euid)
                return NULL;
        const struct passwd *pw = getpwuid(st->st_uid);
        char uid[32];
        snprintf(uid, sizeof uid, "uid %u", (unsigned) st->st_uid);
        return problem_text("symbolic link %s is owned by %s, who can point it anywhere (use a link of root's: "
                            "chown -h root %s)", link, pw ? pw->pw_name : uid, link);
}

/* Takes fd (a judged directory) as the new top step, named name ("" for
 * "/"). */
static int push(TrustedDir *w, int fd, const char *name) {
        size_t len = strlen(w->path), add = *name ? 1 + strlen(name) : 0;
        int r = len + add >= sizeof w->path ? -ENAMETOOLONG
                                            : grow_array((void **) &w->steps, &w->cap, w->n + 1, sizeof(Step));
        if (r < 0) {
                close(fd);
                return r;
        }
        if (*name) {
                w->path[len] = '/';
                memcpy(w->path + len + 1, name, add); /* with its NUL */
        }
        w->steps[w->n++] = (Step) { .fd = fd, .len = len + add, .owned = true };
        return 0;
}

static void pop(TrustedDir *w) {
        if (w->n <= 1) /* ".." of "/" is "/" */
                return;
        Step *s = &w->steps[--w->n];
        if (s->owned)
                close(s->fd);
        w->path[w->steps[w->n - 1].len] = 0;
}

/* 0 with the next component of todo in ret_name, or 1 at its end. */
static int next_component(TrustedDir *w, char ret_name[static NAME_MAX + 1], bool *ret_last) {
        const char *p = w->todo + w->pos;
        p += strspn(p, "/");
        if (!*p)
                return 1;
        size_t len = strcspn(p, "/");
        if (len > NAME_MAX)
                return -ENAMETOOLONG;
        memcpy(ret_name, p, len);
        ret_name[len] = 0;
        w->pos = (size_t) (p + len - w->todo);
        *ret_last = p[len + strspn(p + len, "/")] == 0;
        return 0;
}

/* The link (fd, judged by the caller) is replaced in todo by its target:
 * an absolute one starts again at "/", a relative one goes on from the
 * directory holding the link. */
static int follow(TrustedDir *w, int fd) {
        char target[PATH_MAX], next[PATH_MAX];
        if (++w->links > LINKS_MAX)
                return -ELOOP;
        ssize_t n = readlinkat(fd, "", target, sizeof target);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ENOENT;
        if ((size_t) n >= sizeof target)
                return -ENAMETOOLONG;
        target[n] = 0;
        const char *rest = w->todo + w->pos;
        rest += strspn(rest, "/");
        int k = snprintf(next, sizeof next, "%s%s%s", target, *rest ? "/" : "", rest);
        if (k < 0 || (size_t) k >= sizeof next)
                return -ENAMETOOLONG;
        memcpy(w->todo, next, (size_t) k + 1);
        w->pos = 0;
        w->via_link = true;
        while (target[0] == '/' && w->n > 1)
                pop(w);
        return 0;
}

/* What is wrong with the file name in the top step, or NULL. */
static const char *file_problem(const TrustedDir *w, const char *name, const struct stat *st, TrustFlags flags) {
        const char *problem = file_permission_problem(st, w->euid, flags & TRUST_SECRET);
        if (problem && w->via_link) /* name the file that is wrong, not the link to it */
                return problem_text("it leads to %s/%s, and %s", w->path, name, problem);
        return problem;
}

/* The last component, a regular file judged on its O_PATH fd, opened for
 * reading relative to the directory it was judged in, without following
 * a link or waiting on a FIFO put there since (by root or us: nobody else
 * may change that directory), and judged again on what was opened. */
static int open_last(TrustedDir *w, const char *name, TrustFlags flags, int *ret_fd, struct stat *ret_st,
                     const char **ret_problem) {
        _cleanup_close_ int fd = openat(top(w), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? STEP_AGAIN : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        if ((*ret_problem = file_problem(w, name, &st, flags)))
                return -EACCES;
        *ret_fd = TAKE_FD(fd);
        *ret_st = st;
        return STEP_OPENED;
}

/* One component, name, judged on what openat() gives: 0 to go on, or
 * STEP_OPENED, STEP_AGAIN, TRUSTED_MASKED, -errno. */
static int step(TrustedDir *w, const char *name, bool last, bool want_dir, TrustFlags flags, int *ret_fd,
                struct stat *ret_st, const char **ret_problem) {
        char entry[sizeof w->path + NAME_MAX + 2];
        if (strcmp(name, ".") == 0)
                return 0;
        if (strcmp(name, "..") == 0) {
                pop(w);
                return 0;
        }
        _cleanup_close_ int fd = openat(top(w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        snprintf(entry, sizeof entry, "%s/%s", w->path, name);
        if (S_ISLNK(st.st_mode)) {
                if ((*ret_problem = link_problem(&st, entry, w->euid)))
                        return -EACCES;
                return follow(w, fd);
        }
        if (S_ISDIR(st.st_mode)) {
                if ((*ret_problem = dir_problem(&st, entry, w->euid)))
                        return -EACCES;
                return push(w, TAKE_FD(fd), name);
        }
        if (!last || want_dir)
                return -ENOTDIR;
        if ((flags & TRUST_MASKABLE) && w->via_link && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return TRUSTED_MASKED;
        if (!S_ISREG(st.st_mode))
                return -EISDIR; /* never opened: opening a device can have side effects */
        if ((*ret_problem = file_problem(w, name, &st, flags))) /* another user's file is never opened */
                return -EACCES;
        return open_last(w, name, flags, ret_fd, ret_st, ret_problem);
}

/* Walks todo to its end: a file opened (want_dir false; 0 or
 * TRUSTED_MASKED) or the top step a directory (want_dir). */
static int walk(TrustedDir *w, bool want_dir, TrustFlags flags, int *ret_fd, struct stat *ret_st,
                const char **ret_problem) {
        *ret_problem = NULL;
        for (;;) {
                char name[NAME_MAX + 1];
                bool last;
                size_t pos = w->pos;
                int r = next_component(w, name, &last);
                if (r < 0)
                        return r;
                if (r > 0)
                        return want_dir ? 0 : -EISDIR;
                r = step(w, name, last, want_dir, flags, ret_fd, ret_st, ret_problem);
                if (r == STEP_AGAIN) {
                        if (++w->links > LINKS_MAX)
                                return -ELOOP;
                        w->pos = pos;
                        continue;
                }
                if (r == STEP_OPENED)
                        return 0;
                if (r != 0)
                        return r;
        }
}

void trusted_dir_free(TrustedDir *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->n; i++)
                if (w->steps[i].owned)
                        close(w->steps[i].fd);
        free(w->steps);
        free(w);
}

static void trusted_dir_freep(TrustedDir **w) {
        trusted_dir_free(*w);
}

/* A walk of path from "/" (judged), or from the working directory's path. */
static int walk_new(const char *path, TrustedDir **ret, const char **ret_problem) {
        _cleanup_(trusted_dir_freep) TrustedDir *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->euid = geteuid();
        *ret_problem = NULL;
        int n;
        if (path[0] == '/') {
                n = snprintf(w->todo, sizeof w->todo, "%s", path);
        } else {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof cwd))
                        return -errno;
                n = snprintf(w->todo, sizeof w->todo, "%s/%s", cwd, path);
        }
        if (n < 0 || (size_t) n >= sizeof w->todo)
                return -ENAMETOOLONG;
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        if ((*ret_problem = dir_problem(&st, "/", w->euid))) {
                close(fd);
                return -EACCES;
        }
        int r = push(w, fd, "");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int trusted_open(const char *path, TrustFlags flags, int *ret_fd, struct stat *ret_st, const char **ret_problem) {
        _cleanup_(trusted_dir_freep) TrustedDir *w = NULL;
        int fd = -1;
        int r = walk_new(path, &w, ret_problem);
        if (r < 0)
                return r;
        r = walk(w, false, flags, &fd, ret_st, ret_problem);
        if (r == 0)
                *ret_fd = fd;
        return r;
}

int trusted_dir_open(const char *path, TrustedDir **ret, const char **ret_problem) {
        _cleanup_(trusted_dir_freep) TrustedDir *w = NULL;
        int r = walk_new(path, &w, ret_problem);
        if (r < 0)
                return r;
        r = walk(w, true, 0, NULL, NULL, ret_problem);
        if (r < 0)
                return r;
        w->todo[0] = 0;
        w->pos = 0;
        *ret = TAKE_PTR(w);
        return 0;
}

int trusted_dir_openat(const TrustedDir *d, const char *name, TrustFlags flags, int *ret_fd, struct stat *ret_st,
                       const char **ret_problem) {
        _cleanup_(trusted_dir_freep) TrustedDir *w = calloc(1, sizeof *w);
        *ret_problem = NULL;
        if (!w || !(w->steps = calloc(d->n, sizeof(Step))))
                return -ENOMEM;
        for (size_t i = 0; i < d->n; i++)
                w->steps[i] = (Step) { .fd = d->steps[i].fd, .len = d->steps[i].len, .owned = false };
        w->n = w->cap = d->n;
        memcpy(w->path, d->path, sizeof w->path);
        w->euid = d->euid;
        int n = snprintf(w->todo, sizeof w->todo, "%s", name);
        if (n < 0 || (size_t) n >= sizeof w->todo)
                return -ENAMETOOLONG;
        int fd = -1;
        int r = walk(w, false, flags, &fd, ret_st, ret_problem);
        if (r == 0)
                *ret_fd = fd;
        return r;
}

DIR *trusted_dir_list(const TrustedDir *d) {
        /* "." of the O_PATH fd: the same directory, no name looked up. */
        int fd = openat(top(d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        DIR *list = fdopendir(fd);
        if (!list)
                close(fd);
        return list;
}
