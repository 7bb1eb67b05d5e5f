/* Accept mode (Accept=yes): the activator keeps the keyed listeners,
 * accepts each connection and starts the command once per connection, with
 * the connection on fd 3 (LISTEN_FDS=1) or, inetd style, on stdin/stdout. */
#pragma once

#include <stdbool.h>

#include "runtime.h"

/* Serves rt's listeners until SIGTERM/SIGINT, then returns 0 at once,
 * leaving the running children alone. As PID 1 it passes the signal on to
 * them instead and returns once they are gone (0), or at once on a second
 * such signal (128 + signal). SIGHUP (and with watch, a changed config or
 * key file) reloads rt in a reload child: the next connection gets what the
 * reload leaves (command, Inetd=, limits). Closes the listeners. Returns
 * the exit status, or -errno. */
int accept_run(Runtime *rt, bool watch);
