/* On-demand start (OnDemand=yes): the keyed listeners wait until one has a
 * connection queued, then the daemon is exec'd as in exec mode. Only a
 * signed SYN completes a handshake, so scanners never wake the daemon. */
#pragma once

#include "runtime.h"

/* 0 once a listener has a connection queued (left queued for the daemon);
 * 1 when SIGTERM or SIGINT came first (nothing to start); -errno. SIGHUP
 * reloads rt, as in accept mode: keys can rotate before anyone came. */
int ondemand_wait(Runtime *rt);
