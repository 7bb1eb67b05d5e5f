/* Reading the config in a short-lived child, so that the parse never
 * touches the resident supervisor's heap (see child-load.c). */
#pragma once

#include "config.h"
#include "listener.h"
#include "reload.h"

/* load() in a child; *ret is the packed result. Returns 0, -E2BIG when the
 * config is too large to come back this way (nothing done: call load()
 * yourself), -errno when the child could not run, or the exit code for
 * main() when loading failed (the child logged why). */
int child_load(ReloadLoadConfig load, Config **ret);

/* reload_keys() in a child, then *current and the listeners' key counts
 * as it left them. Same result and logs as reload_keys(); a config too
 * large for the static buffer is reloaded here instead. */
int child_reload(ListenerSet *set, Config **current, ReloadLoadConfig load, bool daemon_runs);
