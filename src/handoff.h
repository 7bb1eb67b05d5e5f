/* Starting a program: what it gets (fds, environment, signal state,
 * process group) described once, and the two ways to start it: in place of
 * this process (exec mode, on demand) or as a new process (accept and
 * supervise mode). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Finds the program as execvp would (PATH when no '/'): -ENOENT when
 * missing, -EACCES when found but not executable. */
int exec_resolve(const char *name, char **ret_path);
/* The exit status for a failed start, as shells report it: 127 not found,
 * 126 found but not executable (no permission, not a program the kernel
 * can run: ENOEXEC, a directory, ...), 71 when the system failed (memory,
 * argument size, fds). */
int exec_exit_code(int r);

/* Opens /dev/null on any of fds 0..2 that is closed, so sockets never land
 * there by accident. */
int stdio_ensure_open(void);

/* Closes every fd from first on. */
int fds_close_from(int first);

/* What the program gets. Always: this process's environment (minus what
 * is set here), default dispositions for every signal, an empty signal
 * mask, fds 0..2 as they are, and no other fd of ours. */
typedef struct ProcessSpec {
        const char *path;                  /* from exec_resolve() */
        char *const *argv;
        /* fds[0..n_fds) at 3.., with LISTEN_FDS=n_fds, LISTEN_PID=its own
         * pid and LISTEN_FDNAMES=names joined by ':'. */
        const int *fds;
        const char *const *names;
        size_t n_fds;
        /* >= 0: inetd style instead: this fd on stdin and stdout, stderr
         * stays ours, no LISTEN_* at all. */
        int stdio_fd;
        const char *remote_addr;           /* REMOTE_ADDR, REMOTE_PORT when not NULL */
        const char *remote_port;
        bool drop_notify;                  /* without NOTIFY_SOCKET */
        bool process_group;                /* leads its own process group, which gets the terminal */
} ProcessSpec;

/* This process becomes the program. Returns -errno only on failure, with
 * this process's fds, environment and signal state possibly changed. */
int process_exec(const ProcessSpec *p);

/* Starts the program as a child, without copying this process: the child
 * shares our memory until its execve (clone(CLONE_VM|CLONE_VFORK)), so
 * the cost does not grow with our size. Returns 0 with *ret_pid once the
 * program runs; -errno when it cannot: *ret_pid is then 0 when no child was
 * made, else the pid of a child that has exited with exec_exit_code(r) and
 * must be reaped. Our own signal state, environment and fds stay as they
 * are. */
int process_spawn(const ProcessSpec *p, pid_t *ret_pid);
