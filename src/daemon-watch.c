/* The daemon as /proc shows it: its signal dispositions, and after a
 * fork into the background, which of our children holds our sockets.
 * Read-only: the decisions are the supervisor's. */
#include "daemon-watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* "SigCgt:\t0000000000004a02" and the like: the mask, or -1 for another line. */
static int64_t mask_line(const char *line, const char *name) {
        size_t n = strlen(name);
        if (strncmp(line, name, n) != 0 || line[n] != ':')
                return -1;
        const char *p = line + n + 1;
        p += strspn(p, " \t");
        uint64_t v = 0;
        int digits = 0;
        for (; unhexchar(*p) >= 0 && digits < 16; p++, digits++)
                v = v << 4 | (uint64_t) unhexchar(*p);
        return digits == 16 && !*p ? (int64_t) (v & INT64_MAX) : -1;
}

/* SigCgt and SigIgn from /proc/PID/status, read with read() into small
 * buffers: this runs in the resident supervisor at every reload, where a
 * stdio stream's heap buffer or scanf's deep stack would stay dirty. */
static int status_masks(int fd, uint64_t *ret_caught, uint64_t *ret_ignored) {
        char chunk[256], line[64];
        size_t len = 0;
        int found = 0;
        for (;;) {
                ssize_t k = read(fd, chunk, sizeof chunk);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                for (ssize_t i = 0; i < k; i++) {
                        if (chunk[i] != '\n') {
                                if (len < sizeof line - 1)
                                        line[len++] = chunk[i];
                                continue;
                        }
                        line[len] = 0;
                        len = 0;
                        int64_t c = mask_line(line, "SigCgt"), g = mask_line(line, "SigIgn");
                        if (c >= 0)
                                *ret_caught = (uint64_t) c, found |= 1;
                        if (g >= 0)
                                *ret_ignored = (uint64_t) g, found |= 2;
                }
        }
        return found == 3 ? 0 : -EBADMSG;
}

int daemon_handles_signal(pid_t pid, int sig) {
        char path[PROC_PATH_MAX];
        proc_path(pid, "/status", path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        uint64_t caught = 0, ignored = 0;
        int r = status_masks(fd, &caught, &ignored);
        if (r < 0)
                return r;
        uint64_t bit = UINT64_C(1) << (sig - 1);
        return ((caught | ignored) & bit) != 0;
}

bool daemon_pass_reload(pid_t pid, ReloadForward mode) {
        if (mode == RELOAD_FORWARD_NEVER)
                return false;
        if (mode == RELOAD_FORWARD_ALWAYS) {
                log_info("reload: SIGHUP passed to %ld (--always-forward-reload)", (long) pid);
                return true;
        }
        int r = daemon_handles_signal(pid, SIGHUP);
        if (r > 0)
                log_info("reload: SIGHUP passed to %ld (it handles SIGHUP)", (long) pid);
        else if (r == 0)
                log_info("reload: SIGHUP not passed: %ld does not handle SIGHUP, and would die of it "
                         "(--always-forward-reload passes it anyway)", (long) pid);
        else
                log_warning("reload: SIGHUP not passed: cannot tell whether %ld handles it (%s)", (long) pid,
                            strerror(-r));
        return r > 0;
}

void daemon_explain_exit(pid_t pid, int status, bool hup_passed, ReloadForward mode) {
        if (status != 128 + SIGHUP || !hup_passed)
                return;
        log_error("the daemon (%ld) was killed by the SIGHUP a reload passed on to it; %s", (long) pid,
                  mode == RELOAD_FORWARD_ALWAYS
                          ? "without --always-forward-reload, SIGHUP goes only to a daemon that handles it"
                          : "run with --no-forward-reload to keep SIGHUP from it");
}

/* Parent and start time (clock ticks since boot) from /proc/PID/stat:
 * fields 4 and 22, counted after the ')' that ends the command name. */
static int proc_stat(const char *pid, pid_t *ret_ppid, uint64_t *ret_start) {
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        long ppid;
        unsigned long long start;
        /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
         * cmajflt utime stime cutime cstime priority nice num_threads
         * itrealvalue starttime */
        if (!p || sscanf(p + 1, " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &ppid, &start) != 2)
                return -EBADMSG;
        *ret_ppid = (pid_t) ppid;
        *ret_start = start;
        return 0;
}

static bool is_listener_inode(const ListenerSet *set, const ino_t *inodes, ino_t ino) {
        for (size_t i = 0; i < set->n; i++)
                if (inodes[i] == ino)
                        return true;
        return false;
}

/* Whether /proc/PID/fd holds one of the sockets. */
static bool holds_listener(const char *pid, const ListenerSet *set, const ino_t *inodes) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/fd", pid);
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool found = false;
        struct dirent *e;
        while (!found && (e = readdir(d))) {
                char link[64];
                unsigned long long ino;
                ssize_t k = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
                if (k <= 0)
                        continue;
                link[k] = 0;
                found = sscanf(link, "socket:[%llu]", &ino) == 1 && is_listener_inode(set, inodes, (ino_t) ino);
        }
        closedir(d);
        return found;
}

int daemon_find_successor(const ListenerSet *set, pid_t *ret) {
        _cleanup_free_ ino_t *inodes = calloc(set->n ? set->n : 1, sizeof(ino_t));
        if (!inodes)
                return -ENOMEM;
        for (size_t i = 0; i < set->n; i++) {
                struct stat st;
                if (fstat(set->v[i].fd, &st) < 0)
                        return -errno;
                inodes[i] = st.st_ino;
        }
        DIR *d = opendir("/proc");
        if (!d)
                return -errno;
        pid_t self = getpid(), best = 0;
        uint64_t best_start = UINT64_MAX;
        struct dirent *e;
        while ((e = readdir(d))) {
                pid_t ppid = 0;
                uint64_t start = 0;
                if (e->d_name[0] < '1' || e->d_name[0] > '9' || proc_stat(e->d_name, &ppid, &start) < 0)
                        continue; /* not a process, or one that ended meanwhile */
                if (ppid != self || start >= best_start || !holds_listener(e->d_name, set, inodes))
                        continue;
                best = (pid_t) strtol(e->d_name, NULL, 10);
                best_start = start;
        }
        closedir(d);
        *ret = best;
        return 0;
}

pid_t daemon_carried_on(pid_t pid, int status, const ListenerSet *set) {
        pid_t next = 0;
        if (status != 0)
                return 0;
        int r = daemon_find_successor(set, &next);
        if (r < 0)
                log_warning("the daemon (%ld) exited; cannot look for a process it left behind: %s", (long) pid,
                            strerror(-r));
        if (r < 0 || next == 0)
                return 0;
        log_info("the daemon (%ld) went into the background: %ld holds the listening sockets and is supervised "
                 "from now on (signals and reloads go to it; its exit status is passed on)", (long) pid,
                 (long) next);
        return next;
}
