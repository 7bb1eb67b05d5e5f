/* Accept mode (Accept=yes): the activator keeps the keyed listeners,
 * accepts each connection and starts the command once per connection, with
 * the connection on fd 3 (LISTEN_FDS=1) or, inetd style, on stdin/stdout. */
#pragma once

#include <stdbool.h>

#include "listener.h"

typedef struct AcceptOptions {
        const char *path;             /* from exec_resolve() */
        char *const *argv;
        bool inetd;
        unsigned max_connections;     /* >= 1 */
        unsigned max_per_source;      /* 0: no per-source limit */
        /* SIGHUP: called in the loop, not in a signal handler; may change
         * keys on set's live listeners. */
        void (*on_reload)(ListenerSet *set, void *userdata);
        void *userdata;
} AcceptOptions;

/* Serves until SIGTERM/SIGINT, then returns 0 at once, leaving the running
 * children alone. As PID 1 it passes the signal on to them instead and
 * returns once they are gone (0), or at once on a second such signal
 * (128 + signal). Closes set's listeners. Returns an exit code. */
int accept_run(ListenerSet *set, const AcceptOptions *o);
