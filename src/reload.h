/* Changing the keys on live listening sockets: the difference between the
 * old and the new key plan of a listener, applied with setsockopt() in an
 * order that never leaves a peer a way in unsigned, and undone when a step
 * fails. Established connections keep the key they were accepted with. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "listener.h"
#include "plan.h"
#include "runtime.h"

typedef enum ReloadOp {
        RELOAD_ADD,      /* a prefix the old plan lacked */
        RELOAD_REPLACE,  /* same prefix, other secret: re-adding replaces in place */
        RELOAD_DELETE,   /* a prefix the new plan lacks: tcpm_keylen = 0 */
        _RELOAD_OP_MAX,
} ReloadOp;

typedef struct ReloadStep {
        ReloadOp op;
        const KeyEntry *old;   /* NULL for RELOAD_ADD */
        const KeyEntry *new;   /* NULL for RELOAD_DELETE */
} ReloadStep;

typedef struct ReloadStats {
        size_t added, replaced, deleted;
        size_t setsockopts;    /* every call made, rollbacks included */
        size_t keys;           /* keys on all listeners afterwards */
} ReloadStats;

/* Pure. The steps that turn old into new, entries matched on (family,
 * address, prefix length, interface): adds (longest prefix first), then
 * replaces, then deletes (shortest prefix first). At every step each peer
 * matches either the key it had or the key it will have, so a peer covered
 * before and after (the catch-alls see to that) is never uncovered, and a
 * catch-all giving way to a configured prefix-0 key is a replace in place.
 * Unchanged entries need no step. Steps point into old and new. */
int reload_diff(const KeyEntry *old, size_t n_old, const KeyEntry *new, size_t n_new, ReloadStep **ret,
                size_t *ret_n);

/* Applies steps to fd in order; stops at the first failure, with
 * *ret_failed its index (steps before it are applied: reload_undo them). */
int reload_apply(int fd, const ReloadStep *steps, size_t n, size_t *ret_failed, ReloadStats *stats);
/* Undoes steps[0..n) in reverse. Returns the first error, going on anyway. */
int reload_undo(int fd, const ReloadStep *steps, size_t n, ReloadStats *stats);

/* Applies new over what the listeners hold: KeepAlive= and NoDelay= (old
 * says what they were) and every listener's keys (its table against new's
 * plan), all of it or, on any error, none; then names every other changed
 * setting, warning about those only a restart applies (RELOAD_NEXT_COMMAND
 * ones too when daemon_runs: the command they are for already runs). On
 * success the listeners hold new's key tables. Logs; returns -errno with
 * everything as it was. */
int reload_config(ListenerSet *live, const Config *old, const Config *new, bool daemon_runs,
                  ReloadStats *ret_stats);

/* The reload, in every mode: reads the config anew and applies it to rt
 * with reload_config(), telling the service manager (RELOADING=1, then
 * READY=1 with STATUS= naming the trigger, "SIGHUP" or "FILE changed", and
 * whether it failed). A runtime without a config in force (a supervisor
 * that started from a child) reloads in a child, and takes over the key
 * tables it reports. Logs; returns -errno with the old keys in force. */
int reload(Runtime *rt, const char *trigger);
