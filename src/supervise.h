/* Supervise mode: the activator stays as the daemon's parent, as a tiny
 * init (tini's duties: forward signals, reap every child, pass the exit
 * status on) and as the keeper of the listeners, whose keys it changes on
 * SIGHUP. Also what runs when the activator is PID 1. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "listener.h"
#include "reload.h"

typedef struct SuperviseOptions {
        bool process_group;    /* signal the child's process group, not just the child */
        bool forward_reload;   /* pass SIGHUP on to the daemon after the key reload */
        bool watch;            /* also reload when a config, drop-in or key file changes */
        ReloadLoadConfig load; /* re-reads the config on SIGHUP */
} SuperviseOptions;

/* Starts the daemon as our child: it gets the listeners at fd 3.. with LISTEN_PID set to its
 * own pid and execs path. The parent keeps set (close-on-exec) and *config
 * for reloads and returns the exit status for main(): the child's, 128+N if
 * signal N killed it, or 71 when the supervisor itself fails. argv and
 * names are used only before the fork. */
int supervise_run(const SuperviseOptions *o, const char *path, char *const *argv, ListenerSet *set,
                  const char *const *names, Config **config);

/* A reload with its notifications: RELOADING=1, reload_keys(), then READY=1
 * with STATUS= naming the trigger ("SIGHUP", "FILE changed") and saying
 * whether it failed. For accept and on-demand mode too, where no daemon
 * runs yet (daemon_runs false). */
int supervise_reload(ListenerSet *set, Config **config, ReloadLoadConfig load, const char *trigger,
                     bool daemon_runs);
