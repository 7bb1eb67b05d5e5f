/* Live key changes on listening sockets (SIGHUP in every mode that stays).
 * The diff is pure; applying it is one setsockopt() per step. */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "log.h"
#include "md5sig.h"
#include "tcpao.h"
#include "util.h"

/* The kernel's identity of a key: re-adding an MD5 key replaces its
 * secret; a TCP-AO key is also known by its SendID and RecvID, so a key
 * with new IDs on the same prefix is another key (a rollover). */
static int entry_compare(const KeyEntry *a, const KeyEntry *b) {
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        if (a->ifindex != b->ifindex)
                return a->ifindex < b->ifindex ? -1 : 1;
        int c = memcmp(&a->addr, &b->addr, a->family == AF_INET ? sizeof a->addr.in : sizeof a->addr.in6);
        if (c || key_entry_is_ao(a) != key_entry_is_ao(b))
                return c ? c : key_entry_is_ao(a) ? 1 : -1;
        if (a->send_id != b->send_id)
                return a->send_id < b->send_id ? -1 : 1;
        return (a->recv_id > b->recv_id) - (a->recv_id < b->recv_id);
}

static int entry_ptr_compare(const void *x, const void *y) {
        const KeyEntry *a = *(const KeyEntry *const *) x, *b = *(const KeyEntry *const *) y;
        int c = entry_compare(a, b);
        return c ? c : (a > b) - (a < b); /* duplicates pair up in list order */
}

static bool secret_equal(const Secret *a, const Secret *b) {
        return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* What one identity holds: for TCP-AO the MAC as well as the secret. */
static bool content_equal(const KeyEntry *a, const KeyEntry *b) {
        return secret_equal(&a->secret, &b->secret) && strcmp(a->algorithm, b->algorithm) == 0 &&
               a->mac_length == b->mac_length;
}

/* Adds longest prefix first, deletes shortest first: then at every step
 * each peer's longest match is either its old key or its new one, never a
 * third that would drop its SYNs for a moment. Ties keep list order. */
static int add_order(const void *x, const void *y) {
        const ReloadStep *a = x, *b = y;
        if (a->new->prefixlen != b->new->prefixlen)
                return a->new->prefixlen > b->new->prefixlen ? -1 : 1;
        return (a->new > b->new) - (a->new < b->new);
}

static int delete_order(const void *x, const void *y) {
        const ReloadStep *a = x, *b = y;
        if (a->old->prefixlen != b->old->prefixlen)
                return a->old->prefixlen < b->old->prefixlen ? -1 : 1;
        return (a->old > b->old) - (a->old < b->old);
}

static const KeyEntry **sorted_pointers(const KeyEntry *v, size_t n) {
        const KeyEntry **p = malloc((n ? n : 1) * sizeof *p);
        if (!p)
                return NULL;
        for (size_t i = 0; i < n; i++)
                p[i] = &v[i];
        qsort(p, n, sizeof *p, entry_ptr_compare);
        return p;
}

int reload_diff(const KeyEntry *old, size_t n_old, const KeyEntry *new, size_t n_new, ReloadStep **ret,
                size_t *ret_n) {
        _cleanup_free_ const KeyEntry **so = sorted_pointers(old, n_old);
        _cleanup_free_ const KeyEntry **sn = sorted_pointers(new, n_new);
        _cleanup_free_ const KeyEntry **match = malloc0(n_new, sizeof *match); /* new[j]'s old */
        _cleanup_free_ bool *kept = malloc0(n_old, sizeof *kept);
        if (!so || !sn || !match || !kept)
                return -ENOMEM;
        for (size_t i = 0, j = 0; i < n_old && j < n_new;) {
                int c = entry_compare(so[i], sn[j]);
                if (c == 0) {
                        match[sn[j] - new] = so[i];
                        kept[so[i] - old] = true;
                }
                i += c <= 0;
                j += c >= 0;
        }
        /* Sized to what changes: a key rotation is one step, whatever the
         * table's size (the resident supervisor's heap stays small). */
        size_t n = 0;
        for (size_t j = 0; j < n_new; j++)
                n += !match[j] || !content_equal(match[j], &new[j]);
        for (size_t i = 0; i < n_old; i++)
                n += !kept[i];
        ReloadStep *steps = malloc((n ? n : 1) * sizeof *steps);
        if (!steps)
                return -ENOMEM;
        n = 0;
        for (size_t j = 0; j < n_new; j++)
                if (!match[j])
                        steps[n++] = (ReloadStep) { RELOAD_ADD, NULL, &new[j] };
        qsort(steps, n, sizeof *steps, add_order);
        for (size_t j = 0; j < n_new; j++)
                if (match[j] && !content_equal(match[j], &new[j]))
                        steps[n++] = (ReloadStep) { RELOAD_REPLACE, match[j], &new[j] };
        size_t first_delete = n;
        for (size_t i = 0; i < n_old; i++)
                if (!kept[i])
                        steps[n++] = (ReloadStep) { RELOAD_DELETE, &old[i], NULL };
        qsort(steps + first_delete, n - first_delete, sizeof *steps, delete_order);
        *ret = steps;
        *ret_n = n;
        return 0;
}

static int key_add(int fd, const KeyEntry *e, ReloadStats *stats) {
        stats->setsockopts++;
        return key_entry_is_ao(e) ? tcpao_add(fd, e) : md5sig_add(fd, e);
}

static int key_delete(int fd, const KeyEntry *e, ReloadStats *stats) {
        stats->setsockopts++;
        return key_entry_is_ao(e) ? tcpao_delete(fd, e) : md5sig_delete(fd, e);
}

/* An MD5 key is replaced in place. A TCP-AO key has no such thing: it is
 * deleted and added again, which the planner allows only under
 * ao_required (the peer's segments are dropped in between, never taken
 * unsigned). When the add fails, the old key goes back. */
static int key_replace(int fd, const KeyEntry *from, const KeyEntry *to, ReloadStats *stats) {
        if (!key_entry_is_ao(to))
                return key_add(fd, to, stats);
        int r = key_delete(fd, from, stats);
        if (r >= 0 && (r = key_add(fd, to, stats)) < 0)
                (void) key_add(fd, from, stats);
        return r;
}

static int step_do(int fd, const ReloadStep *s, ReloadStats *stats) {
        switch (s->op) {
        case RELOAD_ADD:
                return key_add(fd, s->new, stats);
        case RELOAD_REPLACE:
                return key_replace(fd, s->old, s->new, stats);
        default:
                return key_delete(fd, s->old, stats);
        }
}

static int step_undo(int fd, const ReloadStep *s, ReloadStats *stats) {
        switch (s->op) {
        case RELOAD_ADD:
                return key_delete(fd, s->new, stats);
        case RELOAD_REPLACE:
                return key_replace(fd, s->new, s->old, stats);
        default:
                return key_add(fd, s->old, stats);
        }
}

/* Undoing in reverse keeps the invariant: every state passed through holds
 * the old keys or their replacements, so every peer stays covered even if
 * an undo step itself fails. */
int reload_undo(int fd, const ReloadStep *steps, size_t n, ReloadStats *stats) {
        int ret = 0;
        while (n-- > 0) {
                int r = step_undo(fd, &steps[n], stats);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int reload_apply(int fd, const ReloadStep *steps, size_t n, size_t *ret_failed, ReloadStats *stats) {
        for (size_t i = 0; i < n; i++) {
                int r = step_do(fd, &steps[i], stats);
                if (r < 0) {
                        *ret_failed = i;
                        return r;
                }
        }
        return 0;
}

/* ---- the target: what every listener is to hold ---- */

void reload_target_done(ReloadTarget *t) {
        for (size_t i = 0; t->tables && !t->borrowed && i < t->n; i++)
                key_table_free(t->tables[i].v, t->tables[i].n);
        free(t->tables);
        *t = (ReloadTarget) { 0 };
}

/* The entry's peers as a prefix of their own family: a v4-mapped entry
 * holds an IPv4 prefix length. */
static Prefix entry_prefix(const KeyEntry *e) {
        Prefix p = { .family = e->family, .addr = e->addr, .len = e->prefixlen };
        if (e->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&e->addr.in6)) {
                p.family = AF_INET;
                memcpy(&p.addr.in, &e->addr.in6.s6_addr[12], 4);
        }
        return p;
}

/* Whether some peer matches both (the kernel compares IDs at the shorter
 * prefix; an interface-bound key can still meet one that is not). */
static bool entries_overlap(const KeyEntry *a, const KeyEntry *b) {
        Prefix pa = entry_prefix(a), pb = entry_prefix(b);
        if (pa.family != pb.family)
                return false;
        return pa.len <= pb.len ? prefix_contains(&pa, pb.family, &pb.addr) : prefix_contains(&pb, pa.family, &pa.addr);
}

static bool table_has(const KeyEntry *v, size_t n, const KeyEntry *e) {
        for (size_t i = 0; i < n; i++)
                if (entry_compare(&v[i], e) == 0)
                        return true;
        return false;
}

/* Why a listener cannot go from old to new without a moment in which a
 * peer is served unsigned or refused by the kernel, or NULL. Two entries
 * meet when their prefixes overlap; *ret_key is the new one of the pair:
 * - a TCP-AO key whose secret, Algorithm= or MACLength= changes under the
 *   same IDs is deleted and added again: fail-closed only with ao_required;
 * - a new TCP-AO key with the SendID or RecvID of an old one it replaces
 *   cannot stand beside it (EEXIST), and the old one cannot go first;
 * - a new key of one kind meeting an old key of the other moves peers
 *   between TCP MD5 and TCP-AO: the kernel refuses the new key while the old
 *   one covers it, and taking the old one first opens a side door (this
 *   includes an MD5 catch-all giving way to TCP-AO keys). */
static const char *ao_change_refused(const KeyEntry *old, size_t n_old, const KeyEntry *new, size_t n_new,
                                     bool ao_required, const KeyEntry **ret_key) {
        for (size_t j = 0; j < n_new; j++) {
                const KeyEntry *e = &new[j];
                *ret_key = e;
                for (size_t i = 0; i < n_old; i++) {
                        const KeyEntry *o = &old[i];
                        if (!entries_overlap(o, e) || (!key_entry_is_ao(o) && !key_entry_is_ao(e)))
                                continue;
                        if (key_entry_is_ao(o) != key_entry_is_ao(e)) {
                                if (!table_has(new, n_new, o) || !table_has(old, n_old, e))
                                        return "it moves peers between TCP MD5 and TCP-AO keys, which no order of "
                                               "steps does without a moment in which they are served unsigned or "
                                               "refused: restart tcpmd5-activate to apply it";
                                continue;
                        }
                        if (entry_compare(o, e) == 0) {
                                if (!ao_required && !content_equal(o, e))
                                        return "its secret, Algorithm= or MACLength= changes under the same "
                                               "SendID and RecvID, which the kernel cannot replace in place: "
                                               "without ao_required (UnmatchedPeers=drop and TCP-AO keys only) "
                                               "its peers would go unsigned in between. Roll over instead: a key "
                                               "with new SendID and RecvID beside it, reload, move the peers, "
                                               "remove the old key, reload";
                        } else if ((o->send_id == e->send_id || o->recv_id == e->recv_id) &&
                                   !table_has(new, n_new, o) && !table_has(old, n_old, e))
                                return "it reuses the SendID or RecvID of a TCP-AO key it replaces on an "
                                       "overlapping prefix, which the kernel does not take while the old key "
                                       "is there: give it new SendID and RecvID (a rollover), or restart "
                                       "tcpmd5-activate to apply it";
                }
        }
        *ret_key = NULL;
        return NULL;
}

static int ao_refusal_log(const Listener *l, const Config *new, const KeyEntry *e, const char *why) {
        char addr[ADDR_STRLEN], pfx[ADDR_STRLEN];
        listen_address_format(&l->address, addr);
        key_entry_format(e, pfx);
        const KeyConfig *k = e->name[0] ? config_find_key(new, e->name) : NULL;
        if (k)
                return log_errno(-EBADMSG, "%s:%u: [Key %s] %s: reload: %s. Nothing was changed; the running keys "
                                 "stay (listener %s)", k->origin.file ? k->origin.file : "?", k->origin.line,
                                 e->name, pfx, why, addr);
        return log_errno(-EBADMSG, "%s: reload: [Key %s] %s: %s. Nothing was changed; the running keys stay", addr,
                         key_entry_name(e), pfx, why);
}

/* The TCP-AO changes a reload can make, and those it refuses (logged):
 * ao_required never turns on or off (the kernel refuses it beside MD5
 * keys; turning it off opens the door it closed, turning it on takes the
 * catch-alls away first), and ao_change_refused(). */
static int ao_change_allowed(const Listener *l, const KeyTable *t, const Config *old, const Config *new) {
        const KeyEntry *e;
        if (plan_ao_required(old, l->shape) != plan_ao_required(new, l->shape) ||
            plan_ao_required(new, l->shape) != l->ao_required) {
                char addr[ADDR_STRLEN];
                listen_address_format(&l->address, addr);
                return log_errno(-EBADMSG, "%s: reload: TCP-AO's ao_required would turn %s (UnmatchedPeers=, or "
                                 "TCP-AO keys coming to or leaving a listener of TCP MD5 keys): no order of steps "
                                 "does that without a side door; restart tcpmd5-activate to apply it. Nothing was "
                                 "changed; the running keys stay", addr, l->ao_required ? "off" : "on");
        }
        const char *why = ao_change_refused(l->keys, l->n_keys, t->v, t->n, l->ao_required, &e);
        return why ? ao_refusal_log(l, new, e, why) : 0;
}

/* One listener's target table: the new config's keys for its shape, unless
 * they would open a side door or change TCP-AO keys (refused, logged). */
static int listener_plan(const Listener *l, const Secret *catch_all, const Config *old, const Config *new,
                         KeyTable *ret) {
        int r = plan_keys(new, l->shape, catch_all, &ret->v, &ret->n);
        if (r == -EXDEV) {
                char addr[ADDR_STRLEN];
                listen_address_format(&l->address, addr);
                return log_errno(-EBADMSG, "%s: reload: the new keys cannot go on this listener without a side "
                                 "door (TCP-AO and TCP MD5 keys with UnmatchedPeers=drop, or a TCP-AO key for every "
                                 "IPv4 peer on a dual-stack socket: tcpmd5-activate --check says which); nothing "
                                 "was changed", addr);
        }
        return r < 0 ? r : ao_change_allowed(l, ret, old, new);
}

/* The same catch-all secret as the listeners hold, so catch-alls that stay
 * need no step. */
int reload_plan(const ListenerSet *live, const Config *old, const Config *new, ReloadTarget *ret) {
        ReloadTarget t = { .tables = malloc0(live->n, sizeof *t.tables), .n = live->n,
                           .old = connection_options(old), .new = connection_options(new) };
        if (!t.tables)
                return -ENOMEM;
        for (size_t i = 0; i < live->n; i++) {
                int r = listener_plan(&live->v[i], &live->catch_all, old, new, &t.tables[i]);
                if (r < 0) {
                        reload_target_done(&t);
                        return r;
                }
        }
        *ret = t;
        return 0;
}

static bool entry_valid(const KeyEntry *e, ListenerShape shape) {
        bool mapped = e->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&e->addr.in6);
        bool v4 = e->family == AF_INET || mapped;
        if (e->family != shape.family || (v4 ? !shape.ipv4 : !shape.ipv6))
                return false;
        return e->prefixlen <= (v4 ? 32 : 128) && e->ifindex >= 0 && e->secret.len >= 1 &&
               e->secret.len <= SECRET_MAX && memchr(e->name, 0, sizeof e->name) &&
               memchr(e->algorithm, 0, sizeof e->algorithm);
}

static bool table_valid(const KeyTable *t, ListenerShape shape) {
        for (size_t i = 0; i < t->n; i++)
                if (!entry_valid(&t->v[i], shape))
                        return false;
        _cleanup_free_ const KeyEntry **p = sorted_pointers(t->v, t->n);
        if (!p)
                return false;
        for (size_t i = 1; i < t->n; i++)
                if (entry_compare(p[i - 1], p[i]) == 0)
                        return false;
        return true;
}

bool reload_target_valid(const ListenerSet *live, const ReloadTarget *t) {
        if (t->n != live->n || (t->n && !t->tables))
                return false;
        for (size_t i = 0; i < t->n; i++) {
                const Listener *l = &live->v[i];
                const KeyEntry *e;
                /* The planner refused the TCP-AO changes no order of steps makes safely; so does the
                 * installer, whatever it is sent. */
                if (!table_valid(&t->tables[i], l->shape) ||
                    ao_change_refused(l->keys, l->n_keys, t->tables[i].v, t->tables[i].n, l->ao_required, &e))
                        return false;
        }
        return true;
}

/* ---- every live listener, all or nothing ---- */

/* One listener's steps from the table it holds to its target table, and
 * the record of that table when it does not fit over the old one: made
 * before any step, so that recording it afterwards cannot fail. */
typedef struct ListenerChange {
        ReloadStep *steps;
        size_t n_steps;
        KeyEntry *record;
} ListenerChange;

static void changes_free(ListenerChange *v, const ReloadTarget *t) {
        for (size_t i = 0; v && i < t->n; i++) {
                free(v[i].steps);
                key_table_free(v[i].record, t->tables[i].n);
        }
        free(v);
}

static int changes_plan(const ListenerSet *live, const ReloadTarget *t, ListenerChange **ret) {
        ListenerChange *v = malloc0(live->n, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < live->n; i++) {
                const Listener *l = &live->v[i];
                const KeyTable *n = &t->tables[i];
                bool fits = l->keys && l->n_keys == n->n;
                if ((!fits && !(v[i].record = malloc((n->n ? n->n : 1) * sizeof *n->v))) ||
                    reload_diff(l->keys, l->n_keys, n->v, n->n, &v[i].steps, &v[i].n_steps) < 0) {
                        changes_free(v, t);
                        return -ENOMEM;
                }
                if (v[i].record)
                        memcpy(v[i].record, n->v, n->n * sizeof *n->v);
        }
        *ret = v;
        return 0;
}

static const char *const op_verb[_RELOAD_OP_MAX] = {
        [RELOAD_ADD] = "add", [RELOAD_REPLACE] = "replace", [RELOAD_DELETE] = "delete",
};

static int explain_step_error(int r, const Listener *l, size_t n_new, const ReloadStep *s) {
        const KeyEntry *e = s->new ? s->new : s->old;
        char addr[ADDR_STRLEN], pfx[ADDR_STRLEN];
        listen_address_format(&l->address, addr);
        key_entry_format(e, pfx);
        const char *name = key_entry_name(e);
        if (r == -ENOMEM) {
                /* New keys go in before old ones leave: briefly both sets. */
                size_t peak = l->n_keys + n_new;
                return log_errno(r, "%s: reload: the kernel refused to %s [Key %s] %s for lack of socket option "
                                 "memory; the switch-over briefly holds up to %zu keys: raise net.core.optmem_max "
                                 "to at least %zu; the old keys stay", addr, op_verb[s->op], name, pfx, peak,
                                 optmem_needed(peak));
        }
        return log_errno(r, "%s: reload: cannot %s [Key %s] %s: %s; the old keys stay", addr, op_verb[s->op], name,
                         pfx, strerror(-r));
}

/* Every listener's steps, or on the first failure none: what was applied
 * is undone, newest first. */
static int changes_apply(ListenerSet *live, const ListenerChange *v, const ReloadTarget *t, ReloadStats *stats) {
        for (size_t i = 0; i < live->n; i++) {
                size_t failed = 0;
                int r = reload_apply(live->v[i].fd, v[i].steps, v[i].n_steps, &failed, stats);
                if (r >= 0)
                        continue;
                explain_step_error(r, &live->v[i], t->tables[i].n, &v[i].steps[failed]);
                int u = reload_undo(live->v[i].fd, v[i].steps, failed, stats);
                for (size_t k = i; k-- > 0;) {
                        int uk = reload_undo(live->v[k].fd, v[k].steps, v[k].n_steps, stats);
                        if (u == 0)
                                u = uk;
                }
                if (u < 0)
                        log_error("reload: could not restore every old key (%s); every peer still needs a "
                                  "key, but some may have the new one", strerror(-u));
                return r;
        }
        return 0;
}

/* The listeners now hold the target's tables: record them. */
static void changes_commit(ListenerSet *live, ListenerChange *v, const ReloadTarget *t, ReloadStats *stats) {
        for (size_t i = 0; i < live->n; i++) {
                Listener *l = &live->v[i];
                for (size_t j = 0; j < v[i].n_steps; j++) {
                        ReloadOp op = v[i].steps[j].op;
                        stats->added += op == RELOAD_ADD;
                        stats->replaced += op == RELOAD_REPLACE;
                        stats->deleted += op == RELOAD_DELETE;
                }
                const KeyTable *n = &t->tables[i];
                if (!v[i].record && n->n)
                        memcpy(l->keys, n->v, n->n * sizeof *n->v);
                else {
                        key_table_free(l->keys, l->n_keys);
                        l->keys = TAKE_PTR(v[i].record);
                        l->n_keys = n->n;
                }
                stats->keys += l->n_keys;
        }
}

/* The settings table's socket options (KeepAlive=, NoDelay=) live on the
 * listeners: every connection accepted later copies them, in every mode
 * (the daemon's listeners are these very sockets). All listeners or, on an
 * error, none. */
static bool options_differ(ConnectionOptions a, ConnectionOptions b) {
        return a.on != b.on;
}

static int options_apply(ListenerSet *live, ConnectionOptions old, ConnectionOptions new, ReloadStats *stats) {
        if (!options_differ(old, new))
                return 0;
        for (size_t i = 0; i < live->n; i++) {
                const char *step;
                int r = listener_connection_options(live->v[i].fd, new, &step);
                if (r >= 0) {
                        stats->setsockopts += (size_t) r;
                        continue;
                }
                char addr[ADDR_STRLEN];
                listen_address_format(&live->v[i].address, addr);
                log_errno(r, "%s: reload: cannot set %s: %s; the old keys and options stay", addr, step, strerror(-r));
                for (size_t k = i + 1; k-- > 0;)
                        (void) listener_connection_options(live->v[k].fd, old, &step);
                return r;
        }
        return 0;
}

static void options_undo(ListenerSet *live, ConnectionOptions old, ConnectionOptions new) {
        const char *step;
        if (options_differ(old, new))
                for (size_t i = 0; i < live->n; i++)
                        (void) listener_connection_options(live->v[i].fd, old, &step);
}

int reload_install(ListenerSet *live, const ReloadTarget *t, ReloadStats *ret_stats) {
        ListenerChange *changes = NULL;
        ReloadStats stats = { 0 };
        if (t->n != live->n)
                return log_errno(-EINVAL, "reload: the new key tables do not match the listeners; the old keys stay");
        int r = changes_plan(live, t, &changes);
        if (r < 0)
                return log_errno(r, "reload: out of memory; the old keys stay");
        r = options_apply(live, t->old, t->new, &stats);
        if (r >= 0 && (r = changes_apply(live, changes, t, &stats)) < 0)
                options_undo(live, t->old, t->new);
        if (r >= 0)
                changes_commit(live, changes, t, &stats);
        changes_free(changes, t);
        if (r >= 0 && ret_stats)
                *ret_stats = stats;
        return r;
}

void reload_log_done(const ListenerSet *live, const ReloadStats *stats) {
        log_info("reloaded: %zu key%s added, %zu replaced, %zu deleted on %zu listener%s (%zu setsockopt calls)",
                 stats->added, stats->added == 1 ? "" : "s", stats->replaced, stats->deleted, live->n,
                 live->n == 1 ? "" : "s", stats->setsockopts);
}

/* ---- settings other than keys ---- */

/* The unit to name in the restart hint: the service in our cgroup, when
 * systemd started us (it sets INVOCATION_ID). */
static bool own_unit(char ret[static 256]) {
        char line[1024];
        bool found = false;
        if (!getenv("INVOCATION_ID"))
                return false;
        FILE *f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                char *save = NULL;
                line[strcspn(line, "\n")] = 0;
                for (char *t = strtok_r(strchr(line, '/'), "/", &save); t; t = strtok_r(NULL, "/", &save))
                        if (str_endswith(t, ".service") && strlen(t) < 256) {
                                strcpy(ret, t);
                                found = true;
                        }
        }
        fclose(f);
        return found;
}

static void name_change(FILE *f, const SettingChange *ch) {
        fprintf(f, "%s%s= (%s%s", ftell(f) ? ", " : "", ch->name, ch->unset ? "no longer set; was " : "",
                ch->origin.file ? ch->origin.file : "?");
        if (ch->origin.line)
                fprintf(f, ":%u", ch->origin.line);
        fputc(')', f);
}

/* Names every changed setting with its file:line: those this reload cannot
 * apply in one warning, the rest in one line. */
void reload_report(const Config *old, const Config *new, bool daemon_runs) {
        SettingChange ch[_SETTING_MAX];
        char *restart = NULL, *live = NULL, unit[256];
        size_t restart_size = 0, live_size = 0, n = config_changes(old, new, ch);
        if (n == 0)
                return;
        FILE *fr = open_memstream(&restart, &restart_size), *fl = open_memstream(&live, &live_size);
        for (size_t i = 0; fr && fl && i < n; i++) {
                bool later = ch[i].reload == RELOAD_RESTART || (ch[i].reload == RELOAD_NEXT_COMMAND && daemon_runs);
                name_change(later ? fr : fl, &ch[i]);
        }
        if (fr)
                fclose(fr);
        if (fl)
                fclose(fl);
        if (!fr || !fl)
                log_warning("reload: some settings other than keys changed; restart to apply them all");
        else if (restart_size && own_unit(unit))
                log_warning("reload: %s changed, which only a restart applies: systemctl restart %s; until then "
                            "the old values stay, and this reload applies the rest", restart, unit);
        else if (restart_size)
                log_warning("reload: %s changed, which only a restart applies (systemctl restart the unit, or "
                            "start tcpmd5-activate again); until then the old values stay, and this reload "
                            "applies the rest", restart);
        if (live_size)
                log_info("reload: applying %s", live);
        free(restart);
        free(live);
}


int reload_config(ListenerSet *live, const Config *old, const Config *new, bool daemon_runs,
                  ReloadStats *ret_stats) {
        ReloadTarget t;
        ReloadStats stats;
        int r = reload_plan(live, old, new, &t);
        if (r == -ENOMEM)
                return log_errno(r, "reload: out of memory; the old keys stay");
        if (r < 0)
                return r;
        r = reload_install(live, &t, &stats);
        reload_target_done(&t);
        if (r < 0)
                return r;
        reload_report(old, new, daemon_runs);
        reload_log_done(live, &stats);
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}

/* ---- the reload of a runtime ---- */

int reload_load_new(Runtime *rt, Config **ret, ConfigSource *source) {
        int r = rt->load(NULL, source, ret);
        if (r >= 0 && (r = config_source_add_keys(source, *ret)) < 0)
                log_errno(r, "out of memory");
        if (r < 0)
                log_errno(r, "reload: the configuration is not valid (see above); the old keys stay");
        return r;
}
