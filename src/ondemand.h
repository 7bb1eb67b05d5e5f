/* On-demand start (OnDemand=yes): the keyed listeners wait until one has a
 * connection queued, then the daemon is exec'd as in exec mode. Only a
 * signed SYN completes a handshake, so scanners never wake the daemon. */
#pragma once

#include "listener.h"

/* 0 once a listener has a connection queued (left queued for the daemon);
 * 1 when SIGTERM or SIGINT came first (nothing to start); -errno. SIGHUP
 * calls on_reload, as in accept mode: keys can rotate before anyone came. */
int ondemand_wait(ListenerSet *set, void (*on_reload)(ListenerSet *set, void *userdata), void *userdata);
