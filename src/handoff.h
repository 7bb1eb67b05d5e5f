/* Handing sockets to a program: fds at 3.., LISTEN_* variables, a clean
 * signal state, execve. Shared by exec, accept and supervise modes. */
#pragma once

#include <stddef.h>

/* Finds the program as execvp would (PATH when no '/'): -ENOENT when
 * missing, -EACCES when found but not executable. */
int exec_resolve(const char *name, char **ret_path);
/* The exit status for a failed exec, as shells report it: 127 not found,
 * 126 found but not executable (no permission, not a program the kernel
 * can run: ENOEXEC, a directory, ...), 71 when the system failed (memory,
 * argument size, fds). */
int exec_exit_code(int r);

/* Opens /dev/null on any of fds 0..2 that is closed, so sockets never land
 * there by accident. */
int stdio_ensure_open(void);

/* Default dispositions for every signal and an empty mask. */
void signals_reset(void);

/* Moves fds[0..n) to first.. (without CLOEXEC) and closes every fd above. */
int fds_move_to(const int *fds, size_t n, int first);

/* Sets LISTEN_FDS=n, LISTEN_PID=getpid(), LISTEN_FDNAMES=names (one name per
 * fd, ':'-separated) in this process's environment. */
int listen_env_set(size_t n, const char *const *names);

/* Everything above, then execve(path, argv, environ). Returns -errno only
 * on failure. */
int handoff_exec(const char *path, char *const *argv, const int *fds, size_t n, const char *const *names);
