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
        RELOAD_REPLACE,  /* same key, other secret: MD5 re-adds in place; TCP-AO deletes, then adds */
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
 * address, prefix length, interface; for TCP-AO also SendID and RecvID,
 * so a rollover key is an add beside the old one): adds (longest prefix
 * first), then replaces, then deletes (shortest prefix first). At every step each peer
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

/* What a reload puts on the live listeners: each one's new key table, in
 * the listeners' order, and the connection options (old: what they hold
 * now). Plain data: a reload child sends it to the supervisor, which
 * installs it (reload-child.c). */
typedef struct KeyTable {
        KeyEntry *v;
        size_t n;
} KeyTable;

typedef struct ReloadTarget {
        KeyTable *tables;
        size_t n;
        ConnectionOptions old, new;
        bool borrowed;         /* the entries lie in a message that owns them (resident.c) */
} ReloadTarget;

/* new's key plan for every live listener (its shape, the live catch-all
 * secret). -ENOMEM; -EBADMSG, logged, when the new keys would open a side
 * door, or change TCP-AO keys in a way no order of steps makes without one
 * (a same-IDs change without ao_required, reused IDs, peers moving between
 * TCP MD5 and TCP-AO, ao_required turning on or off). */
int reload_plan(const ListenerSet *live, const Config *old, const Config *new, ReloadTarget *ret);
/* Whether t fits live: one table per listener, each entry one the kernel
 * takes on that listener (its family, a prefix length in range, a secret
 * of 1..80 bytes, a terminated name), no key twice in a table, and none of
 * the TCP-AO changes reload_plan() refuses. */
bool reload_target_valid(const ListenerSet *live, const ReloadTarget *t);
/* Wipes every secret and frees (the entries only unless borrowed). */
void reload_target_done(ReloadTarget *t);

/* Installs t over what the listeners hold: the connection options, then
 * every listener's keys (its table against t's), all of it or, on any
 * error, none. On success the listeners hold copies of t's tables: over
 * the old ones where the size is the same (a key rotation), so the
 * resident heap does not grow from one reload to the next.
 * Logs each failure, ending "the old keys stay"; returns -errno with
 * everything as it was. */
int reload_install(ListenerSet *live, const ReloadTarget *t, ReloadStats *ret_stats);
/* Names every changed setting other than keys, warning about those only a
 * restart applies (RELOAD_NEXT_COMMAND ones too when daemon_runs: the
 * command they are for already runs). */
void reload_report(const Config *old, const Config *new, bool daemon_runs);
/* The one line a successful reload logs. */
void reload_log_done(const ListenerSet *live, const ReloadStats *stats);
/* The config anew from the files, and what it was read from. Logs. */
int reload_load_new(Runtime *rt, Config **ret, ConfigSource *source);

/* reload_plan(), reload_install() and reload_report() in one: new over
 * what the listeners hold (old says what they were given). The reload of a
 * running activator goes through a reload child instead, in every mode
 * (reload-child.h), which runs these parts on its two sides. */
int reload_config(ListenerSet *live, const Config *old, const Config *new, bool daemon_runs,
                  ReloadStats *ret_stats);
