/* What the supervisor learns about its daemon from /proc: whether passing
 * SIGHUP on would kill it, and, when it forks into the background, which
 * process carried on with the listening sockets. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "listener.h"

typedef enum ReloadForward {
        RELOAD_FORWARD_AUTO,   /* only to a daemon that catches or ignores SIGHUP */
        RELOAD_FORWARD_ALWAYS, /* --always-forward-reload */
        RELOAD_FORWARD_NEVER,  /* --no-forward-reload */
        _RELOAD_FORWARD_MAX,
} ReloadForward;

/* 1 when PID catches or ignores SIG (SigCgt/SigIgn of /proc/PID/status),
 * 0 when SIG would take its default action, -errno when PID cannot be
 * read (gone, or /proc hidden). */
int daemon_handles_signal(pid_t pid, int sig);

/* After a reload: whether SIGHUP goes on to the daemon PID, as the mode
 * says; logs what was decided and why. Judged anew at each reload, since a
 * daemon may install its handler some time after it started. */
bool daemon_pass_reload(pid_t pid, ReloadForward mode);

/* The daemon PID ended with STATUS (128+N for signal N): when SIGHUP killed
 * it after a reload passed it on, says so in one line, with the option
 * that avoids it. */
void daemon_explain_exit(pid_t pid, int status, bool hup_passed, ReloadForward mode);

/* The process that went on with the listening sockets of set after the
 * daemon's first process exited 0 (a daemon that forks into the
 * background): a child of ours (we are its subreaper) holding at least one
 * of them; when several do, the oldest, which the others descend from.
 * *ret 0 when none does. -errno when /proc cannot be read. */
int daemon_find_successor(const ListenerSet *set, pid_t *ret);

/* The daemon's process PID ended with STATUS. When it exited 0 and left a
 * process holding the listening sockets (it went into the background),
 * logs that and returns that process, which is the daemon from now on, as
 * systemd's Type=forking takes the forked process as the main one. 0
 * otherwise. */
pid_t daemon_carried_on(pid_t pid, int status, const ListenerSet *set);
