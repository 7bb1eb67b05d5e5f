/* LD_PRELOAD shim for fault-injection tests. It counts calls of socket,
 * bind, listen, setsockopt, fork, execve, pipe2 and dup2 across the whole
 * process tree (the counters live in a shared mapping, so children count
 * on), and makes call number FAULT_AT of FAULT_FUNC fail with FAULT_ERRNO.
 * "fork" counts every new process: fork() and clone() ("fork clone" in
 * failed=), as a started program is made with either. The calls a spawned
 * child makes before its execve (dup2, execve) run on the parent's memory:
 * this shim allocates nothing there.
 *
 *   FAULT_TARGET=PATH   only the process running this program is counted
 *                       and faulted; elsewhere the shim stays inert (so a
 *                       wrapper such as valgrind's launcher passes it on)
 *   FAULT_FUNC=setsockopt FAULT_AT=3 FAULT_ERRNO=ENOMEM   the fault (optional)
 *   FAULT_MD5SIG_DELAY_MS=N   every TCP MD5 key change (setsockopt
 *                       TCP_MD5SIG or TCP_MD5SIG_EXT) takes N ms more, as
 *                       on a busy machine: what the kernel holds between
 *                       two changes stays there long enough to be seen
 *   FAULT_DEADLINE_MS=N   every timer armed with timerfd_settime (the
 *                       deadline of a child that reads the config) fires
 *                       after N ms instead, so a test of it is short
 *   FAULT_REPORT=FILE   rewritten after every counted call and at exit:
 *                       "socket=N" ... lines, "failed=FUNC detail" for the
 *                       injected fault, and at exit of the first process
 *                       "exit_new_fds=N exit_listening=N": fds opened since
 *                       start and still open, and how many are listening;
 *                       "reaped=CODE..." the exit codes of the children the
 *                       target reaped with waitpid (128+N: killed by N).
 *
 *   FAULT_IN_FORK=K     only the process made by the K-th fork (a reload
 *                       child) counts and is faulted, forks aside; read
 *                       and write are counted only then
 *   FAULT_ERRNO=KILL    the faulted call is not made: the process is
 *                       killed with SIGKILL there instead;
 *   FAULT_ERRNO=HANG    it waits there until killed;
 *   FAULT_ERRNO=SEGV    the process dies of SIGSEGV there, as of a crash in
 *                       the code that made the call (a config parser's
 *                       bug); any handler (ASan's) is bypassed.
 *
 * execve runs the new program without LD_PRELOAD and FAULT_*, so only the
 * activator is judged, never the command it starts. */
#include <stdbool.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { F_SOCKET, F_BIND, F_LISTEN, F_SETSOCKOPT, F_FORK, F_EXECVE, F_PIPE2, F_DUP2, F_READ, F_WRITE, F_MAX };
static const char *const names[F_MAX] = { "socket", "bind", "listen", "setsockopt", "fork", "execve", "pipe2", "dup2",
                                          "read", "write" };
enum { ACTION_KILL = -1, ACTION_HANG = -2, ACTION_SEGV = -3 };

typedef struct Shared {
        unsigned count[F_MAX];
        char failed[128];
        char reaped[256];       /* "CODE CODE ...", oldest first, cut when full */
} Shared;

static Shared *shared;
static bool inert;
static int fault_func = -1;
static unsigned fault_at;
static int fault_errno;
static unsigned md5sig_delay_ms;
static unsigned deadline_ms;     /* FAULT_DEADLINE_MS */
static const char *report_path;
static pid_t first_pid;
static unsigned scope_fork;     /* FAULT_IN_FORK */
static unsigned my_fork;        /* the fork that made this process; 0 for the first */
static __typeof__(&write) real_write;
static unsigned char open_at_start[1024];

static const struct { const char *name; int value; } errnos[] = {
        { "ENOMEM", ENOMEM }, { "EAFNOSUPPORT", EAFNOSUPPORT }, { "EADDRINUSE", EADDRINUSE },
        { "EACCES", EACCES }, { "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EMFILE", EMFILE },
        { "EINVAL", EINVAL }, { "ENOBUFS", ENOBUFS }, { "EAGAIN", EAGAIN }, { "E2BIG", E2BIG },
        { "ENOPROTOOPT", ENOPROTOOPT }, { "EADDRNOTAVAIL", EADDRNOTAVAIL }, { "ENFILE", ENFILE },
        { "ENOEXEC", ENOEXEC }, { "EBADF", EBADF },
};

static void write_report(const char *extra) {
        if (!report_path)
                return;
        char buf[1024];
        int n = 0;
        for (int i = 0; i < F_MAX; i++)
                n += snprintf(buf + n, sizeof buf - (size_t) n, "%s=%u\n", names[i], shared->count[i]);
        if (shared->failed[0])
                n += snprintf(buf + n, sizeof buf - (size_t) n, "failed=%s\n", shared->failed);
        if (shared->reaped[0])
                n += snprintf(buf + n, sizeof buf - (size_t) n, "reaped=%s\n", shared->reaped);
        if (extra)
                n += snprintf(buf + n, sizeof buf - (size_t) n, "%s\n", extra);
        if (!real_write) /* before init_real() */
                real_write = (__typeof__(&write)) dlsym(RTLD_NEXT, "write");
        /* Written aside and renamed over the report: a test reading it
         * while a process rewrites it sees the old report or the new one,
         * never the empty file between O_TRUNC and write(). */
        char tmp[4096];
        if (snprintf(tmp, sizeof tmp, "%s.%d", report_path, (int) getpid()) >= (int) sizeof tmp)
                return;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        bool written = real_write(fd, buf, (size_t) n) == n;
        close(fd);
        if (!written || rename(tmp, report_path) < 0)
                (void) unlink(tmp);
}

static bool is_target(void) {
        const char *target = getenv("FAULT_TARGET");
        char want[4096], self[4096];
        if (!target)
                return true;
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0 || !realpath(target, want))
                return false;
        self[n] = 0;
        return strcmp(self, want) == 0;
}

__attribute__((constructor)) static void init(void) {
        if (!is_target()) {
                inert = true;
                return;
        }
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                abort();
        report_path = getenv("FAULT_REPORT");
        first_pid = getpid();
        const char *f = getenv("FAULT_FUNC"), *at = getenv("FAULT_AT"), *e = getenv("FAULT_ERRNO");
        for (int i = 0; f && i < F_MAX; i++)
                if (strcmp(f, names[i]) == 0)
                        fault_func = i;
        if (f && fault_func < 0)
                abort(); /* a typo in a test must not pass as "no fault" */
        fault_at = at ? (unsigned) atoi(at) : 0;
        const char *delay = getenv("FAULT_MD5SIG_DELAY_MS");
        md5sig_delay_ms = delay ? (unsigned) atoi(delay) : 0;
        const char *deadline = getenv("FAULT_DEADLINE_MS");
        deadline_ms = deadline ? (unsigned) atoi(deadline) : 0;
        const char *in_fork = getenv("FAULT_IN_FORK");
        scope_fork = in_fork ? (unsigned) atoi(in_fork) : 0;
        for (size_t i = 0; e && i < sizeof errnos / sizeof errnos[0]; i++)
                if (strcmp(e, errnos[i].name) == 0)
                        fault_errno = errnos[i].value;
        if (e && strcmp(e, "KILL") == 0)
                fault_errno = ACTION_KILL;
        if (e && strcmp(e, "HANG") == 0)
                fault_errno = ACTION_HANG;
        if (e && strcmp(e, "SEGV") == 0)
                fault_errno = ACTION_SEGV;
        if (f && (!fault_at || !fault_errno))
                abort();
        for (int fd = 0; fd < (int) sizeof open_at_start; fd++)
                open_at_start[fd] = fcntl(fd, F_GETFD) >= 0;
        write_report(NULL);
}

__attribute__((destructor)) static void fini(void) {
        if (inert || getpid() != first_pid)
                return;
        unsigned extra = 0, listening = 0;
        for (int fd = 0; fd < (int) sizeof open_at_start; fd++) {
                if (open_at_start[fd] || fcntl(fd, F_GETFD) < 0)
                        continue;
                extra++;
                int v = 0;
                socklen_t len = sizeof v;
                if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v)
                        listening++;
        }
        char line[64];
        snprintf(line, sizeof line, "exit_new_fds=%u\nexit_listening=%u", extra, listening);
        write_report(line);
}

/* Whether calls of f made here count: everywhere, or with FAULT_IN_FORK
 * only in that process (forks are counted where they are made). */
static bool counted_here(int f) {
        if (f == F_FORK)
                return true;
        if (scope_fork)
                return my_fork == scope_fork;
        return f != F_READ && f != F_WRITE;
}

/* Counts the call; true when this one must fail. A KILL, HANG or SEGV
 * fault does not return. */
static bool hit(int f, const char *detail) {
        if (inert || !counted_here(f))
                return false;
        unsigned n = __atomic_add_fetch(&shared->count[f], 1, __ATOMIC_SEQ_CST);
        bool fail = f == fault_func && n == fault_at;
        if (fail)
                snprintf(shared->failed, sizeof shared->failed, "%s %s%s", names[f], detail,
                         fault_errno == ACTION_KILL ? " killed" : fault_errno == ACTION_HANG ? " hung"
                                                        : fault_errno == ACTION_SEGV ? " crashed" : "");
        write_report(NULL);
        if (fail && fault_errno == ACTION_KILL)
                raise(SIGKILL);
        if (fail && fault_errno == ACTION_SEGV) {
                sigset_t segv;
                sigemptyset(&segv);
                sigaddset(&segv, SIGSEGV);
                signal(SIGSEGV, SIG_DFL);
                (void) sigprocmask(SIG_UNBLOCK, &segv, NULL);
                raise(SIGSEGV);
        }
        while (fail && fault_errno == ACTION_HANG)
                pause();
        return fail;
}

#define REAL(name) ((__typeof__(&name)) dlsym(RTLD_NEXT, #name))

/* Looked up before any child runs: dlsym() may allocate. */
static __typeof__(&execve) real_execve;
static __typeof__(&dup2) real_dup2;
static __typeof__(&clone) real_clone;
static __typeof__(&read) real_read;
static __typeof__(&setsockopt) real_setsockopt; /* not dlsym() per call: see listen-guard.c */
__attribute__((constructor)) static void init_real(void) {
        real_setsockopt = REAL(setsockopt);
        real_read = REAL(read);
        if (!real_write)
                real_write = REAL(write);
        real_execve = REAL(execve);
        real_dup2 = REAL(dup2);
        real_clone = REAL(clone);
}

int socket(int domain, int type, int protocol) {
        char d[64];
        snprintf(d, sizeof d, "domain=%d", domain);
        if (hit(F_SOCKET, d))
                return errno = fault_errno, -1;
        return REAL(socket)(domain, type, protocol);
}

int bind(int fd, const struct sockaddr *a, socklen_t len) {
        if (hit(F_BIND, "-"))
                return errno = fault_errno, -1;
        return REAL(bind)(fd, a, len);
}

int listen(int fd, int backlog) {
        if (hit(F_LISTEN, "-"))
                return errno = fault_errno, -1;
        return REAL(listen)(fd, backlog);
}

int setsockopt(int fd, int level, int opt, const void *v, socklen_t len) {
        char d[64];
        snprintf(d, sizeof d, "level=%d opt=%d", level, opt);
        if (hit(F_SETSOCKOPT, d))
                return errno = fault_errno, -1;
        int r = real_setsockopt(fd, level, opt, v, len);
        if (!inert && md5sig_delay_ms && level == IPPROTO_TCP && (opt == TCP_MD5SIG || opt == TCP_MD5SIG_EXT)) {
                int saved = errno;
                nanosleep(&(struct timespec) { .tv_sec = md5sig_delay_ms / 1000,
                                               .tv_nsec = (long) (md5sig_delay_ms % 1000) * 1000000 }, NULL);
                errno = saved;
        }
        return r;
}

pid_t fork(void) {
        if (hit(F_FORK, "-"))
                return errno = fault_errno, -1;
        unsigned ordinal = inert ? 0 : __atomic_load_n(&shared->count[F_FORK], __ATOMIC_SEQ_CST);
        pid_t pid = REAL(fork)();
        if (pid == 0)
                my_fork = ordinal;
        return pid;
}

ssize_t read(int fd, void *buf, size_t n) {
        char d[32];
        snprintf(d, sizeof d, "fd=%d", fd);
        if (hit(F_READ, d))
                return errno = fault_errno, -1;
        if (!real_read)
                real_read = REAL(read);
        return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n) {
        char d[32];
        snprintf(d, sizeof d, "fd=%d", fd);
        if (hit(F_WRITE, d))
                return errno = fault_errno, -1;
        if (!real_write)
                real_write = REAL(write);
        return real_write(fd, buf, n);
}

int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
        va_list ap;
        va_start(ap, arg);
        pid_t *ptid = va_arg(ap, pid_t *);
        void *tls = va_arg(ap, void *);
        pid_t *ctid = va_arg(ap, pid_t *);
        va_end(ap);
        if (hit(F_FORK, "clone"))
                return errno = fault_errno, -1;
        return real_clone(fn, stack, flags, arg, ptid, tls, ctid);
}

int pipe2(int fds[2], int flags) {
        if (hit(F_PIPE2, "-"))
                return errno = fault_errno, -1;
        return REAL(pipe2)(fds, flags);
}

int dup2(int from, int to) {
        char d[32];
        snprintf(d, sizeof d, "to=%d", to);
        if (hit(F_DUP2, d))
                return errno = fault_errno, -1;
        return real_dup2(from, to);
}

/* Not counted: with FAULT_DEADLINE_MS, a timer armed to fire once fires
 * after that many ms instead. */
int timerfd_settime(int fd, int flags, const struct itimerspec *v, struct itimerspec *old) {
        struct itimerspec shorter = *v;
        if (!inert && deadline_ms && !(flags & TFD_TIMER_ABSTIME) && (v->it_value.tv_sec || v->it_value.tv_nsec))
                shorter.it_value = (struct timespec) { .tv_sec = deadline_ms / 1000,
                                                       .tv_nsec = (long) (deadline_ms % 1000) * 1000000 };
        return REAL(timerfd_settime)(fd, flags, &shorter, old);
}

/* Not faulted: only recorded, so a test sees the status of a child that
 * the target reaps (accept mode's per-connection children). */
pid_t waitpid(pid_t pid, int *status, int options) {
        int st = 0;
        pid_t r = REAL(waitpid)(pid, &st, options);
        if (status)
                *status = st;
        if (r > 0 && !inert) {
                size_t len = strlen(shared->reaped);
                int code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
                if (len + 8 < sizeof shared->reaped)
                        snprintf(shared->reaped + len, sizeof shared->reaped - len, "%s%d", len ? " " : "", code);
                write_report(NULL);
        }
        return r;
}

static bool is_ours(const char *var) {
        return strncmp(var, "LD_PRELOAD=", 11) == 0 || strncmp(var, "FAULT_", 6) == 0;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
        if (hit(F_EXECVE, path))
                return errno = fault_errno, -1;
        if (inert)
                return real_execve(path, argv, envp);
        size_t n = 0, k = 0;
        while (envp[n])
                n++;
        char *clean[512]; /* on the stack: no allocation in a spawned child */
        if (n >= sizeof clean / sizeof clean[0])
                return errno = E2BIG, -1;
        for (size_t i = 0; i < n; i++)
                if (!is_ours(envp[i]))
                        clean[k++] = envp[i];
        clean[k] = NULL;
        return real_execve(path, argv, clean);
}
