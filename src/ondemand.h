/* On-demand start (OnDemand=yes): the keyed listeners wait until one has a
 * connection queued, then the daemon is exec'd as in exec mode. Only a
 * signed SYN completes a handshake, so scanners never wake the daemon. */
#pragma once

#include <stdbool.h>

#include "runtime.h"

/* 0 once a listener has a connection queued (left queued for the daemon);
 * 1 when SIGTERM or SIGINT came first (nothing to start); -errno. SIGHUP
 * (and with watch, a changed config or key file) reloads rt in a reload
 * child (reloader.h), as every resident mode does: keys can rotate before
 * anyone came. A connection that comes while
 * a reload runs waits for its end, so the daemon starts with its result. */
int ondemand_wait(Runtime *rt, bool watch);
