/* The mode decision (mode.h): one function over plain values, so every
 * combination is a unit test (tests/unit/test-mode.c). */
#include "mode.h"

#include <stdarg.h>
#include <stdio.h>

#include "util.h"

static void refuse(ModeDecision *d, int exit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(ModeDecision *d, int exit, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(d->message, sizeof d->message, fmt, ap);
        va_end(ap);
        d->exit = exit;
}

/* The command line alone: combinations no config can make work. */
static bool refuse_command_line(const ModeArgs *a, ModeDecision *d) {
        bool supervising = a->supervise || a->pid1;
        if (a->accept && a->on_demand)
                refuse(d, EXIT_USAGE, "--on-demand and --accept exclude each other");
        else if (a->supervise && a->accept)
                refuse(d, EXIT_USAGE, "--supervise and --accept exclude each other (accept mode stays and reloads "
                       "on SIGHUP anyway): drop --supervise");
        else if (a->daemon_options && !supervising)
                refuse(d, EXIT_USAGE, "--process-group, --no-forward-reload and --always-forward-reload only apply "
                       "to --supervise");
        else if (a->daemon_options && a->accept)
                refuse(d, EXIT_USAGE, "--process-group, --no-forward-reload and --always-forward-reload do not "
                       "apply to --accept: no daemon is supervised");
        return d->exit != 0;
}

/* What a mode made by the config cannot take from the command line. */
static bool refuse_for_mode(const ModeArgs *a, const ModeConfig *cfg, Mode m, ModeDecision *d) {
        const Origin *o = &cfg->accept_origin;
        if (m == MODE_ACCEPT && a->daemon_options)
                refuse(d, EXIT_CONFIG, "%s:%u: Accept=yes runs accept mode, where no daemon is supervised: drop "
                       "--process-group, --no-forward-reload and --always-forward-reload, or set Accept=no",
                       o->file ? o->file : "(config)", o->line);
        else if (m == MODE_EXEC && a->watch)
                refuse(d, EXIT_CONFIG, "--watch only applies to a mode that stays (supervise, accept, on demand): add "
                       "--supervise, or use --accept, --on-demand, Accept=yes or OnDemand=yes");
        return d->exit != 0;
}

void mode_decide(const ModeArgs *a, const ModeConfig *cfg, ModeDecision *ret) {
        static const ModeConfig unset = { 0 };
        *ret = (ModeDecision) { .mode = MODE_EXEC };
        if (refuse_command_line(a, ret))
                return;
        bool alone = !cfg; /* what the config says may still change the mode */
        if (alone)
                cfg = &unset;
        bool supervising = a->supervise || a->pid1;
        bool accept = a->accept || (!a->on_demand && cfg->accept);
        bool on_demand = a->on_demand || (!a->accept && cfg->on_demand);
        if (accept && on_demand) {
                const Origin *o = &cfg->on_demand_origin;
                refuse(ret, EXIT_CONFIG, "%s:%u: OnDemand=yes and Accept=yes exclude each other",
                       o->file ? o->file : "(config)", o->line);
                return;
        }
        Mode m = accept      ? MODE_ACCEPT
                 : on_demand ? (supervising ? MODE_ON_DEMAND_SUPERVISE : MODE_ON_DEMAND)
                             : (supervising ? MODE_SUPERVISE : MODE_EXEC);
        if (!alone && refuse_for_mode(a, cfg, m, ret))
                return;
        ret->mode = m;
}

ModeConfig mode_config_of(const Config *c) {
        return (ModeConfig) {
                .accept = c->accept || c->inetd,
                .on_demand = c->on_demand,
                .accept_origin = c->origin[c->accept || !c->inetd ? SETTING_ACCEPT : SETTING_INETD],
                .on_demand_origin = c->origin[SETTING_ON_DEMAND],
        };
}

/* A switch, not a table of pointers: no relocated page for it. */
const char *mode_to_string(Mode m) {
        switch (m) {
        case MODE_EXEC:
                return "exec";
        case MODE_ON_DEMAND:
                return "on demand";
        case MODE_ON_DEMAND_SUPERVISE:
                return "on demand, then supervise";
        case MODE_ACCEPT:
                return "accept";
        case MODE_SUPERVISE:
                return "supervise";
        default:
                return "?";
        }
}
