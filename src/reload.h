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

/* Re-reads and validates the whole configuration into *ret (logging what is
 * wrong). tcpmd5-activate's own loader fits. */
typedef int (*ReloadLoadConfig)(Config **ret);

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

/* The whole reload: loads a new config; sets KeepAlive= and NoDelay= on
 * every live listener and changes their keys (all of them or, on any
 * error, none); names every other changed setting, warning about those
 * only a restart applies (RELOAD_NEXT_COMMAND ones too when daemon_runs:
 * the command they are for already runs); then frees the old config and
 * stores the new one in *current, for the caller to apply what it reads
 * from there (the accept loop's limits). The catch-all secret in live
 * stays the same. Logs; returns 0, or -errno with the old keys and
 * *current kept. */
int reload_keys(ListenerSet *live, Config **current, ReloadLoadConfig load, bool daemon_runs,
                ReloadStats *ret_stats);
