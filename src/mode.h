/* Which mode tcpmd5-activate runs in, decided once from the command line
 * and the config before any mode-specific setup (no signal mask, subreaper
 * bit or stderr buffer of one mode reaches another). The precedence, as
 * tcpmd5-activate(8) documents it under MODES:
 *   1. --accept/--inetd and --on-demand on the command line override the
 *      config's Accept=/Inetd= and OnDemand= (each turns the other off);
 *   2. else the config's Accept=yes or OnDemand=yes;
 *   3. --supervise (or running as PID 1) makes on-demand mode supervise
 *      the daemon it starts, and exec mode supervise mode; accept mode is
 *      resident anyway and takes it as it is (the shipped unit runs
 *      --supervise with whatever the config says).
 * An option that does not apply to the mode decided is refused, never
 * dropped: 64 when the command line alone says so, 78 when the config
 * made the mode. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef enum Mode {
        MODE_EXEC,                /* execve the command with the listeners */
        MODE_ON_DEMAND,           /* wait for the first signed connection, then execve */
        MODE_ON_DEMAND_SUPERVISE, /* wait for the first signed connection, then supervise */
        MODE_ACCEPT,              /* one process per connection; stays, reloads on SIGHUP */
        MODE_SUPERVISE,           /* the daemon as our child; reloads in a reload child */
        _MODE_MAX,
} Mode;

/* What the command line says about the mode. */
typedef struct ModeArgs {
        bool accept;          /* --accept or --inetd */
        bool on_demand;       /* --on-demand */
        bool supervise;       /* --supervise */
        bool pid1;            /* running as PID 1: supervise unless told otherwise */
        bool daemon_options;  /* --process-group, --no-forward-reload or --always-forward-reload */
        bool watch;           /* --watch */
} ModeArgs;

/* What the config says, with where (file NULL: not set). */
typedef struct ModeConfig {
        bool accept;          /* Accept=yes or Inetd=yes */
        bool on_demand;       /* OnDemand=yes */
        Origin accept_origin, on_demand_origin;
} ModeConfig;

/* The mode, or why not: exit is 0 with mode set, else EXIT_USAGE or
 * EXIT_CONFIG with message saying what to write instead. */
typedef struct ModeDecision {
        Mode mode;
        int exit;
        char message[320];
} ModeDecision;

/* cfg NULL: the command line alone (at parse time): refuses only what no
 * config can make work; mode is then what it picks with a config that sets
 * nothing (unchecked: with the config, --watch in exec mode is refused).
 * Pure: no I/O, no logging. */
void mode_decide(const ModeArgs *a, const ModeConfig *cfg, ModeDecision *ret);

/* The config's part, from a loaded config. */
ModeConfig mode_config_of(const Config *c);

const char *mode_to_string(Mode m);
