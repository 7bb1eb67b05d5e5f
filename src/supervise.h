/* Supervise mode: the activator stays as the daemon's parent, as a tiny
 * init (tini's duties: forward signals, reap every child, pass the exit
 * status on) and as the keeper of the listeners, whose keys it changes on
 * SIGHUP. Also what runs when the activator is PID 1. */
#pragma once

#include <stdbool.h>

#include "daemon-watch.h"
#include "runtime.h"

typedef struct SuperviseOptions {
        bool process_group;    /* signal the child's process group, not just the child */
        ReloadForward forward_reload; /* whether SIGHUP goes on to the daemon after the key reload */
        bool watch;            /* also reload when a config, drop-in or key file changes */
} SuperviseOptions;

/* Starts the daemon, which gets the listeners at fd 3.. with LISTEN_PID set
 * to its own pid, and stays its parent until it ends. When rt has no
 * listeners yet, a child reads the config and decides the mode
 * (runtime_load()); for supervise mode it opens the listeners and hands
 * this process copies with what it needs to reload them (resident.c):
 * nothing is parsed here, now or on a reload. The supervisor's own setup
 * (subreaper, stop signals ignored, stderr buffer) is made only once
 * supervise mode is decided; the signal mask blocked before the fork is
 * given back otherwise. Returns the exit status to pass on (the daemon's,
 * 128+N if signal N killed it, or the child's own when it could not
 * start), or -errno when supervising failed. *ret_other_mode: the config
 * asks for another mode, which the caller runs instead (nothing was
 * started, nothing of a supervisor set up). */
int supervise_run(Runtime *rt, const SuperviseOptions *o, bool *ret_other_mode);
