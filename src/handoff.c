/* The exec hand-off in the systemd LISTEN_FDS protocol. */
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

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

void signals_reset(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &sa, NULL); /* SIGKILL, SIGSTOP and libc's own refuse: fine */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

int fds_move_to(const int *fds, size_t n, int first) {
        int top = first + (int) n;
        _cleanup_free_ int *tmp = calloc(n ? n : 1, sizeof(int));
        if (!tmp)
                return -ENOMEM;
        /* Above the target range first, so no dup2() clobbers a source. */
        for (size_t i = 0; i < n; i++) {
                tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, top);
                if (tmp[i] < 0)
                        return -errno;
        }
        for (size_t i = 0; i < n; i++)
                if (dup2(tmp[i], first + (int) i) < 0)
                        return -errno;
        if (syscall(SYS_close_range, (unsigned) top, ~0U, 0) < 0)
                return -errno;
        return 0;
}

int listen_env_set(size_t n, const char *const *names) {
        char num[32];
        size_t len = 1;
        for (size_t i = 0; i < n; i++)
                len += strlen(names[i]) + 1;
        _cleanup_free_ char *joined = calloc(1, len);
        if (!joined)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strcat(joined, ":");
                strcat(joined, names[i]);
        }
        snprintf(num, sizeof num, "%zu", n);
        if (setenv("LISTEN_FDS", num, 1) < 0)
                return -errno;
        snprintf(num, sizeof num, "%ld", (long) getpid());
        if (setenv("LISTEN_PID", num, 1) < 0 || setenv("LISTEN_FDNAMES", joined, 1) < 0)
                return -errno;
        return 0;
}

int handoff_exec(const char *path, char *const *argv, const int *fds, size_t n, const char *const *names) {
        int r = listen_env_set(n, names);
        if (r < 0)
                return r;
        if ((r = fds_move_to(fds, n, 3)) < 0)
                return r;
        signals_reset();
        execve(path, argv, environ);
        return -errno;
}
