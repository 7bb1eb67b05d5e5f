/* Starting a program in the systemd LISTEN_FDS protocol or inetd style. */
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

extern char **environ;

static int check_executable(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
                return -EACCES;
        return 0;
}

int exec_resolve(const char *name, char **ret_path) {
        if (strchr(name, '/')) {
                int r = check_executable(name);
                if (r < 0)
                        return r == -ENOTDIR ? -ENOENT : r;
                return (*ret_path = strdup(name)) ? 0 : -ENOMEM;
        }
        const char *path = getenv("PATH");
        if (str_empty(path))
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        int best = -ENOENT;
        while (*path) {
                size_t n = strcspn(path, ":");
                char *p = NULL;
                if (asprintf(&p, "%.*s/%s", (int) n, n ? path : ".", name) < 0)
                        return -ENOMEM;
                int r = check_executable(p);
                if (r == 0) {
                        *ret_path = p;
                        return 0;
                }
                free(p);
                if (r == -EACCES)
                        best = r;
                path += n + (path[n] == ':');
        }
        return best;
}

int exec_exit_code(int r) {
        switch (-r) {
        case ENOENT:
        case ENOTDIR:
                return EXIT_EXEC_NOT_FOUND;
        case EACCES:
        case EPERM:
        case ENOEXEC:
        case EISDIR:
        case ELOOP:
        case ETXTBSY:
        case ELIBBAD:
                return EXIT_EXEC_NOT_EXECUTABLE;
        default:
                return EXIT_OSERR;
        }
}

int stdio_ensure_open(void) {
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                int n = open("/dev/null", O_RDWR);
                if (n < 0)
                        return -errno;
                if (n != fd) { /* lower fds are open, so open() gave us exactly fd */
                        close(n);
                        return -EBADF;
                }
        }
        return 0;
}

int fds_close_from(int first) {
        return syscall(SYS_close_range, (unsigned) first, ~0U, 0) < 0 ? -errno : 0;
}

/* Everything the started program needs, made before it starts: the code
 * between clone() and execve() shares our memory and must not allocate. */
typedef struct Start {
        const ProcessSpec *p;
        char **envp;
        size_t n_inherited;     /* envp[0..n_inherited) are environ's */
        size_t n_ours;          /* then ours, to free */
        char *pid_digits;       /* inside LISTEN_PID=: room for the pid, or NULL */
        int *tmp;               /* n_fds slots for fds on their way to 3.. */
        int err_fd;             /* the child reports its errno here; -1 in place */
} Start;

#define PID_ROOM 20
#define ENV_OURS_MAX 5

static bool env_is_set_here(const char *e, const ProcessSpec *p) {
        static const char *const listen[] = { "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };
        for (size_t i = 0; i < ELEMENTSOF(listen); i++)
                if (strncmp(e, listen[i], strlen(listen[i])) == 0)
                        return true; /* inetd style unsets them: nothing is passed that way */
        if (p->remote_addr && (strncmp(e, "REMOTE_ADDR=", 12) == 0 || strncmp(e, "REMOTE_PORT=", 12) == 0))
                return true;
        return p->drop_notify && strncmp(e, "NOTIFY_SOCKET=", 14) == 0;
}

static char *names_joined(const ProcessSpec *p) {
        size_t len = sizeof "LISTEN_FDNAMES=";
        for (size_t i = 0; i < p->n_fds; i++)
                len += strlen(p->names[i]) + 1;
        char *s = malloc(len);
        if (!s)
                return NULL;
        strcpy(s, "LISTEN_FDNAMES=");
        for (size_t i = 0; i < p->n_fds; i++) {
                if (i)
                        strcat(s, ":");
                strcat(s, p->names[i]);
        }
        return s;
}

/* Appends one variable of ours; false when out of memory. */
__attribute__((format(printf, 2, 3))) static bool env_add(Start *s, const char *fmt, ...) {
        va_list ap;
        char **slot = &s->envp[s->n_inherited + s->n_ours++];
        va_start(ap, fmt);
        int r = vasprintf(slot, fmt, ap);
        va_end(ap);
        if (r < 0)
                *slot = NULL;
        return r >= 0;
}

/* Our environment without what p sets, then p's variables; LISTEN_PID
 * holds blanks that the child overwrites with its own pid. */
static int env_build(Start *s) {
        const ProcessSpec *p = s->p;
        size_t n = 0;
        while (environ[n])
                n++;
        if (!(s->envp = calloc(n + ENV_OURS_MAX + 1, sizeof(char *))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!env_is_set_here(environ[i], p))
                        s->envp[s->n_inherited++] = environ[i];
        bool ok = true;
        if (p->stdio_fd < 0) {
                ok = env_add(s, "LISTEN_FDS=%zu", p->n_fds) && env_add(s, "LISTEN_PID=%*s", PID_ROOM, "");
                if (ok)
                        s->pid_digits = s->envp[s->n_inherited + s->n_ours - 1] + strlen("LISTEN_PID=");
                char *names = ok ? names_joined(p) : NULL;
                ok = ok && (s->envp[s->n_inherited + s->n_ours++] = names);
        }
        if (ok && p->remote_addr)
                ok = env_add(s, "REMOTE_ADDR=%s", p->remote_addr) && env_add(s, "REMOTE_PORT=%s", p->remote_port);
        return ok ? 0 : -ENOMEM;
}

static void start_done(Start *s) {
        for (size_t i = 0; s->envp && i < s->n_ours; i++)
                free(s->envp[s->n_inherited + i]);
        free(s->envp);
        free(s->tmp);
}

static int start_prepare(Start *s, const ProcessSpec *p, int err_fd) {
        *s = (Start) { .p = p, .err_fd = err_fd };
        if (p->n_fds && !(s->tmp = calloc(p->n_fds, sizeof(int))))
                return -ENOMEM;
        return env_build(s);
}

/* ---- between clone() and execve(): system calls only, no allocation ---- */

/* Closes every fd from first on except keep (-1: none). */
static int close_from_except(int first, int keep) {
        if (keep < first)
                return fds_close_from(first);
        if (keep > first && syscall(SYS_close_range, (unsigned) first, (unsigned) keep - 1, 0) < 0)
                return -errno;
        return fds_close_from(keep + 1);
}

/* The error pipe first goes above every target fd, so no dup2() clobbers it. */
static int fds_arrange(Start *s) {
        const ProcessSpec *p = s->p;
        bool inetd = p->stdio_fd >= 0;
        int top = inetd ? 3 : 3 + (int) p->n_fds;
        if (s->err_fd >= 0) {
                int e = fcntl(s->err_fd, F_DUPFD_CLOEXEC, top);
                if (e < 0)
                        return -errno; /* the report still goes to the old fd */
                s->err_fd = e;
        }
        if (inetd) {
                if (dup2(p->stdio_fd, STDIN_FILENO) < 0 || dup2(p->stdio_fd, STDOUT_FILENO) < 0)
                        return -errno;
                return close_from_except(3, s->err_fd);
        }
        /* Above the target range first, so no dup2() clobbers a source. */
        for (size_t i = 0; i < p->n_fds; i++)
                if ((s->tmp[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, top)) < 0)
                        return -errno;
        for (size_t i = 0; i < p->n_fds; i++)
                if (dup2(s->tmp[i], 3 + (int) i) < 0)
                        return -errno;
        return close_from_except(top, s->err_fd);
}

static void pid_write(char *digits, pid_t pid) {
        char buf[PID_ROOM];
        size_t n = 0;
        do
                buf[n++] = (char) ('0' + pid % 10);
        while ((pid /= 10) && n < sizeof buf);
        for (size_t i = 0; i < n; i++)
                digits[i] = buf[n - 1 - i];
        digits[n] = 0;
}

/* Default dispositions for every signal and an empty mask, by plain system
 * calls: a sanitizer's or libc's wrapper would note the change in memory we
 * share with the parent. A zeroed kernel sigaction is SIG_DFL, no flags. */
static void signals_clear(void) {
        unsigned long dfl[8] = { 0 };
        uint64_t none = 0;
        for (int sig = 1; sig < NSIG; sig++)
                (void) syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof none); /* SIGKILL, SIGSTOP refuse: fine */
        (void) syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

/* Returns -errno only on failure. */
static int become(Start *s) {
        const ProcessSpec *p = s->p;
        if (p->process_group) {
                (void) setpgid(0, 0);
                if (isatty(STDIN_FILENO)) /* the tty follows the group, as with tini -g */
                        (void) tcsetpgrp(STDIN_FILENO, getpid());
        }
        if (s->pid_digits)
                pid_write(s->pid_digits, getpid());
        int r = fds_arrange(s);
        if (r < 0)
                return r;
        signals_clear();
        execve(p->path, p->argv, s->envp);
        return -errno;
}

/* Not instrumented: AddressSanitizer would take this stack, which is not
 * the one it knows, for a corrupted one at _exit(). */
__attribute__((no_sanitize_address)) static int child_main(void *userdata) {
        Start *s = userdata;
        int r = become(s);
        (void) !write(s->err_fd, &r, sizeof r);
        _exit(exec_exit_code(r));
}

/* ---- the two ways to start ---- */

int process_exec(const ProcessSpec *p) {
        Start s;
        int r = start_prepare(&s, p, -1);
        if (r >= 0)
                r = become(&s);
        start_done(&s);
        return r;
}

/* The child's stack: mapped for each start, so no page of it stays
 * resident in a long-running activator. One guard page below. */
#define STACK_SIZE (256 * 1024)

/* AddressSanitizer marks the child's stack frames in its shadow memory,
 * which we share, and the child never returns to clear them: clear them
 * here, or a later mapping at the same address inherits them. */
static void stack_forget(void *stack) {
#if defined(__SANITIZE_ADDRESS__)
        __asan_unpoison_memory_region(stack, STACK_SIZE);
#else
        (void) stack;
#endif
}

static pid_t clone_child(Start *s) {
        char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (stack == MAP_FAILED)
                return -1;
        sigset_t all, old;
        sigfillset(&all);
        /* Until the child has cleared its signal state no handler may run in
         * it: it would run on our memory. The mask is restored at once. */
        sigprocmask(SIG_SETMASK, &all, &old);
        pid_t pid = -1;
        if (mprotect(stack, 4096, PROT_NONE) == 0)
                pid = clone(child_main, stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, s);
        int saved = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        stack_forget(stack);
        munmap(stack, STACK_SIZE);
        errno = saved;
        return pid;
}

int process_spawn(const ProcessSpec *p, pid_t *ret_pid) {
        Start s;
        int pipefd[2], err = 0;
        *ret_pid = 0;
        /* Close-on-exec: a program that runs closes its end, and we read
         * EOF; one that cannot start writes its errno first. A pipe, not a
         * variable in shared memory: under valgrind the clone is a plain
         * fork, and the parent must still learn what happened. */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        int r = start_prepare(&s, p, pipefd[1]);
        pid_t pid = r < 0 ? -1 : clone_child(&s);
        if (r >= 0 && pid < 0)
                r = -errno;
        close(pipefd[1]);
        if (pid > 0) {
                *ret_pid = pid;
                ssize_t n;
                while ((n = read(pipefd[0], &err, sizeof err)) < 0 && errno == EINTR)
                        ;
                r = n == (ssize_t) sizeof err ? (err < 0 ? err : -EIO) : 0;
        }
        close(pipefd[0]);
        start_done(&s);
        return r;
}
