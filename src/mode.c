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
        else if ((a->daemon_options || a->watch) && !supervising)
                refuse(d, EXIT_USAGE, "--process-group, --no-forward-reload, --always-forward-reload and --watch "
                       "only apply to --supervise");
        else if ((a->daemon_options || a->watch) && a->accept)
                refuse(d, EXIT_USAGE, "--process-group, --no-forward-reload, --always-forward-reload and --watch "
                       "do not apply to --accept (no daemon is supervised, and it reloads on SIGHUP)");
        return d->exit != 0;
}

/* Accept mode made by the config under --supervise (or as PID 1): the
 * supervisor's options have no daemon to act on. */
static bool refuse_in_accept_mode(const ModeArgs *a, const ModeConfig *cfg, ModeDecision *d) {
        const Origin *o = &cfg->accept_origin;
        if (a->daemon_options)
                refuse(d, EXIT_CONFIG, "%s:%u: Accept=yes runs accept mode, where no daemon is supervised: drop "
                       "--process-group, --no-forward-reload and --always-forward-reload, or set Accept=no",
                       o->file ? o->file : "(config)", o->line);
        else if (a->watch)
                refuse(d, EXIT_CONFIG, "%s:%u: Accept=yes runs accept mode, which does not watch files: drop "
                       "--watch and reload with SIGHUP (systemctl reload), or set Accept=no",
                       o->file ? o->file : "(config)", o->line);
        return d->exit != 0;
}

void mode_decide(const ModeArgs *a, const ModeConfig *cfg, ModeDecision *ret) {
        static const ModeConfig unset = { 0 };
        *ret = (ModeDecision) { .mode = MODE_EXEC };
        if (refuse_command_line(a, ret))
                return;
        if (!cfg)
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
        if (accept && refuse_in_accept_mode(a, cfg, ret))
                return;
        ret->mode = accept      ? MODE_ACCEPT
                    : on_demand ? (supervising ? MODE_ON_DEMAND_SUPERVISE : MODE_ON_DEMAND)
                                : (supervising ? MODE_SUPERVISE : MODE_EXEC);
}

ModeConfig mode_config_of(const Config *c) {
        return (ModeConfig) {
                .accept = c->accept || c->inetd,
                .on_demand = c->on_demand,
                .accept_origin = c->origin[c->accept || !c->inetd ? SETTING_ACCEPT : SETTING_INETD],
                .on_demand_origin = c->origin[SETTING_ON_DEMAND],
        };
}

const char *mode_to_string(Mode m) {
        static const char *const names[_MODE_MAX] = {
                [MODE_EXEC] = "exec",
                [MODE_ON_DEMAND] = "on demand",
                [MODE_ON_DEMAND_SUPERVISE] = "on demand, then supervise",
                [MODE_ACCEPT] = "accept",
                [MODE_SUPERVISE] = "supervise",
        };
        return m >= 0 && m < _MODE_MAX ? names[m] : "?";
}
