/* Unkeyed listening ports in a process tree (see unkeyed.h). */
#include "unkeyed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "util.h"

void unkeyed_format(const UnkeyedPort *u, char buf[static UNKEYED_STRLEN]) {
        ListenAddress a = { .family = u->family, .addr = u->addr, .port = u->port };
        char addr[ADDR_STRLEN];
        listen_address_format(&a, addr);
        snprintf(buf, UNKEYED_STRLEN, "%s (pid %ld %s)", addr, (long) u->pid, u->comm);
}

typedef struct Proc {
        pid_t pid, ppid;
        char comm[16];
} Proc;

/* The ppid in what follows comm in /proc/PID/stat: " STATE PPID ...". By
 * hand, as proc_path(): sscanf()'s stack is deep. */
static bool parse_ppid(const char *s, long *ret) {
        if (s[0] != ' ' || !s[1] || s[2] != ' ')
                return false;
        char *end;
        errno = 0;
        long v = strtol(s + 3, &end, 10);
        if (end == s + 3 || *end != ' ' || errno)
                return false;
        *ret = v;
        return true;
}

/* pid, comm and ppid from /proc/PID/stat; false when it is gone. */
static bool proc_read(pid_t pid, Proc *ret) {
        char path[PROC_PATH_MAX], buf[512];
        proc_path(pid, "/stat", path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        /* comm may hold anything, ')' too: the last one ends it. */
        char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
        long ppid;
        if (!open_paren || !close_paren || close_paren < open_paren ||
            !parse_ppid(close_paren + 1, &ppid))
                return false;
        *ret = (Proc) { .pid = pid, .ppid = (pid_t) ppid };
        size_t len = (size_t) (close_paren - open_paren - 1);
        memcpy(ret->comm, open_paren + 1, len < sizeof ret->comm ? len : sizeof ret->comm - 1);
        return true;
}

static int proc_list(Proc **ret, size_t *ret_n) {
        DIR *d = opendir("/proc");
        if (!d)
                return -errno;
        Proc *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                uint64_t pid;
                if (parse_uint(de->d_name, 1, INT32_MAX, &pid) < 0)
                        continue;
                if ((r = grow_array((void **) &v, &cap, n + 1, sizeof *v)) < 0)
                        break;
                if (proc_read((pid_t) pid, &v[n]))
                        n++;
        }
        closedir(d);
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Calls found(inode, ctx) for each socket pid has open. */
static void proc_sockets(pid_t pid, void (*found)(uint64_t ino, pid_t pid, void *ctx), void *ctx) {
        char path[PROC_PATH_MAX], link[64];
        proc_path(pid, "/fd", path);
        DIR *d = opendir(path);
        if (!d)
                return; /* gone, or not ours to look into */
        struct dirent *de;
        while ((de = readdir(d))) {
                ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
                uint64_t ino;
                if (n <= 0)
                        continue;
                link[n] = 0;
                /* "socket:[INODE]", parsed as proc_read() parses. */
                if (strncmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
                        continue;
                link[n - 1] = 0;
                if (parse_uint(link + 8, 0, UINT64_MAX, &ino) == 0)
                        found(ino, pid, ctx);
        }
        closedir(d);
}

typedef struct Holders {
        const uint64_t *inodes;
        size_t n_inodes;
        pid_t *pids;
        size_t n, cap;
        int error;
} Holders;

static void holder_found(uint64_t ino, pid_t pid, void *ctx) {
        Holders *h = ctx;
        for (size_t i = 0; i < h->n_inodes; i++)
                if (h->inodes[i] == ino) {
                        if (h->n > 0 && h->pids[h->n - 1] == pid)
                                return;
                        if (grow_array((void **) &h->pids, &h->cap, h->n + 1, sizeof *h->pids) < 0)
                                h->error = -ENOMEM;
                        else
                                h->pids[h->n++] = pid;
                        return;
                }
}

int proc_socket_holders(const uint64_t *inodes, size_t n, pid_t **ret, size_t *ret_n) {
        Proc *procs;
        size_t n_procs;
        int r = proc_list(&procs, &n_procs);
        if (r < 0)
                return r;
        Holders h = { .inodes = inodes, .n_inodes = n };
        for (size_t i = 0; i < n_procs && h.error == 0; i++)
                proc_sockets(procs[i].pid, holder_found, &h);
        free(procs);
        if (h.error < 0) {
                free(h.pids);
                return h.error;
        }
        *ret = h.pids;
        *ret_n = h.n;
        return 0;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The number of pid's fd that is socket ino; -ENOENT when pid has no such
 * fd, -EACCES when its fds are not ours to look into (no ptrace rights). */
static int proc_socket_fd(pid_t pid, uint64_t ino) {
        char path[64], link[64];
        snprintf(path, sizeof path, "/proc/%ld/fd", (long) pid);
        DIR *d = opendir(path);
        if (!d)
                return errno == EACCES || errno == EPERM ? -EACCES : -ENOENT; /* or gone */
        int found = -ENOENT;
        struct dirent *de;
        while (found < 0 && (de = readdir(d))) {
                ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
                uint64_t i, fd;
                if (n < 0 && (errno == EACCES || errno == EPERM)) {
                        found = -EACCES; /* a link is readable with ptrace rights only */
                        break;
                }
                if (n <= 0)
                        continue;
                link[n] = 0;
                if (sscanf(link, "socket:[%" SCNu64 "]", &i) == 1 && i == ino &&
                    parse_uint(de->d_name, 0, INT32_MAX, &fd) >= 0)
                        found = (int) fd;
        }
        closedir(d);
        return found;
}

/* A copy of pid's fd, if it is still socket ino (the number may have
 * been closed and reused since /proc named it). -errno. */
static int take_fd(pid_t pid, int fd, uint64_t ino) {
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        int r = (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0); /* the copy is O_CLOEXEC */
        if (r < 0)
                return -errno;
        struct stat st;
        if (fstat(r, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_ino != ino) {
                close(r);
                return -ESTALE;
        }
        return r;
}

int proc_socket_take(uint64_t ino, int *ret_fd) {
        Proc *procs;
        size_t n_procs;
        int r = proc_list(&procs, &n_procs), fd = -ESRCH;
        if (r < 0)
                return r;
        /* Any holder will do: every one holds the same socket. A process
         * we may not look into could be one: then say so (-EPERM). */
        for (size_t i = 0; i < n_procs && fd < 0; i++) {
                int n = proc_socket_fd(procs[i].pid, ino);
                if (n >= 0)
                        fd = take_fd(procs[i].pid, n, ino);
                else if (n == -EACCES)
                        fd = -EPERM;
        }
        free(procs);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* Marks in tree[] the roots' descendants (and the roots, when asked). */
static void mark_tree(const Proc *p, size_t n, const pid_t *roots, size_t n_roots, bool include_roots, bool *tree) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n_roots; j++)
                        if ((include_roots && p[i].pid == roots[j]) || p[i].ppid == roots[j])
                                tree[i] = true;
        /* Down one generation per pass; a pass that adds nothing ends it. */
        for (bool more = true; more;) {
                more = false;
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < n && !tree[i]; j++)
                                if (tree[j] && p[i].ppid == p[j].pid && !(p[j].pid == p[i].pid))
                                        tree[i] = more = true;
        }
}

typedef struct Search {
        const DiagTable *t;
        const uint64_t *skip;
        size_t n_skip;
        const Proc *proc;
        UnkeyedPort *v;
        size_t n, cap;
        int error;
} Search;

static void unkeyed_found(uint64_t ino, pid_t pid, void *ctx) {
        Search *s = ctx;
        const DiagSocket *d = diag_table_find_inode(s->t, ino);
        (void) pid;
        if (!d || d->n_keys > 0)
                return;
        for (size_t i = 0; i < s->n_skip; i++)
                if (s->skip[i] == ino)
                        return;
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].inode == ino)
                        return; /* shared with a parent: named once */
        if (grow_array((void **) &s->v, &s->cap, s->n + 1, sizeof *s->v) < 0) {
                s->error = -ENOMEM;
                return;
        }
        UnkeyedPort *u = &s->v[s->n++];
        *u = (UnkeyedPort) { .family = d->family, .addr = d->local, .port = d->local_port, .inode = ino,
                             .pid = s->proc->pid };
        memcpy(u->comm, s->proc->comm, sizeof u->comm);
}

int unkeyed_find(const DiagTable *t, const pid_t *roots, size_t n_roots, bool include_roots, const uint64_t *skip,
                 size_t n_skip, UnkeyedPort **ret, size_t *ret_n) {
        Proc *procs;
        size_t n_procs;
        int r = proc_list(&procs, &n_procs);
        if (r < 0)
                return r;
        bool *tree = calloc(n_procs ? n_procs : 1, sizeof *tree);
        if (!tree) {
                free(procs);
                return -ENOMEM;
        }
        mark_tree(procs, n_procs, roots, n_roots, include_roots, tree);
        Search s = { .t = t, .skip = skip, .n_skip = n_skip };
        for (size_t i = 0; i < n_procs && s.error == 0; i++)
                if (tree[i]) {
                        s.proc = &procs[i];
                        proc_sockets(procs[i].pid, unkeyed_found, &s);
                }
        free(tree);
        free(procs);
        if (s.error < 0) {
                free(s.v);
                return s.error;
        }
        *ret = s.v;
        *ret_n = s.n;
        return 0;
}

/* ---- the supervisor's schedule ---- */

static const long delays_ms[] = { 1000, 10000 };
static struct timespec scheduled_at;
static size_t next_look = ELEMENTSOF(delays_ms); /* none scheduled */
static uint64_t *warned;                          /* inodes already named in a warning */
static size_t n_warned, cap_warned;
static char last_status[256];                     /* what STATUS= names now */

static long ms_since(struct timespec t) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t.tv_sec) * 1000 + (now.tv_nsec - t.tv_nsec) / 1000000;
}

void unkeyed_schedule(void) {
        clock_gettime(CLOCK_MONOTONIC, &scheduled_at);
        next_look = 0;
}

int unkeyed_poll_timeout(int timeout) {
        if (next_look >= ELEMENTSOF(delays_ms))
                return timeout;
        long left = delays_ms[next_look] - ms_since(scheduled_at);
        int mine = left < 0 ? 0 : (int) left;
        return timeout < 0 || mine < timeout ? mine : timeout;
}

static bool warned_before(uint64_t ino) {
        for (size_t i = 0; i < n_warned; i++)
                if (warned[i] == ino)
                        return true;
        if (grow_array((void **) &warned, &cap_warned, n_warned + 1, sizeof *warned) >= 0)
                warned[n_warned++] = ino;
        return false;
}

/* Names them in STATUS=: "unprotected: 0.0.0.0:8083 (pid 123 lighttpd), ..." */
static void report(const UnkeyedPort *v, size_t n) {
        char text[256] = "", one[UNKEYED_STRLEN];
        for (size_t i = 0; i < n; i++) {
                unkeyed_format(&v[i], one);
                size_t used = strlen(text);
                snprintf(text + used, sizeof text - used, "%s%s", i ? ", " : "not protected: ", one);
                if (!warned_before(v[i].inode))
                        log_warning("port %s is not protected: configure the daemon to use the inherited "
                                    "socket, or add ListenStream=", one);
        }
        if (strcmp(text, last_status) == 0)
                return; /* STATUS= says so already */
        snprintf(last_status, sizeof last_status, "%s", text);
        notify_set_unprotected(text);
        (void) notify_status();
}

static int look(const ListenerSet *s) {
        _cleanup_free_ uint64_t *ours = calloc(s->n ? s->n : 1, sizeof *ours);
        if (!ours)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                struct stat st;
                if (fstat(s->v[i].fd, &st) == 0)
                        ours[i] = st.st_ino;
        }
        DiagTable t;
        int r = sockdiag_dump(SOCKDIAG_STATE(TCP_LISTEN), sockdiag_can_read_keys(), &t);
        if (r < 0)
                return r;
        pid_t self = getpid();
        UnkeyedPort *v = NULL;
        size_t n = 0;
        if ((r = unkeyed_find(&t, &self, 1, false, ours, s->n, &v, &n)) >= 0)
                report(v, n);
        free(v);
        diag_table_free(&t);
        return r;
}

void unkeyed_tick(const ListenerSet *s) {
        if (next_look >= ELEMENTSOF(delays_ms) || ms_since(scheduled_at) < delays_ms[next_look])
                return;
        while (next_look < ELEMENTSOF(delays_ms) && ms_since(scheduled_at) >= delays_ms[next_look])
                next_look++;
        int r = look(s);
        (void) malloc_trim(0); /* the supervisor stays resident: give the scan's heap back */
        if (r < 0)
                log_warning("cannot look for unprotected ports of the daemon: %s", strerror(-r));
}
