/* Live key changes on listening sockets (SIGHUP in supervise and accept
 * mode). The diff is pure; applying it is one setsockopt() per step. */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config-pack.h"
#include "log.h"
#include "md5sig.h"
#include "util.h"

/* The kernel's identity of a key: re-adding it replaces the secret. */
static int entry_compare(const KeyEntry *a, const KeyEntry *b) {
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        if (a->ifindex != b->ifindex)
                return a->ifindex < b->ifindex ? -1 : 1;
        return memcmp(&a->addr, &b->addr, a->family == AF_INET ? sizeof a->addr.in : sizeof a->addr.in6);
}

static int entry_ptr_compare(const void *x, const void *y) {
        const KeyEntry *a = *(const KeyEntry *const *) x, *b = *(const KeyEntry *const *) y;
        int c = entry_compare(a, b);
        return c ? c : (a > b) - (a < b); /* duplicates pair up in list order */
}

static bool secret_equal(const Secret *a, const Secret *b) {
        return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
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
        _cleanup_free_ const KeyEntry **match = calloc(n_new ? n_new : 1, sizeof *match); /* new[j]'s old */
        _cleanup_free_ bool *kept = calloc(n_old ? n_old : 1, sizeof *kept);
        ReloadStep *steps = malloc((n_old + n_new + 1) * sizeof *steps);
        if (!so || !sn || !match || !kept || !steps) {
                free(steps);
                return -ENOMEM;
        }
        for (size_t i = 0, j = 0; i < n_old && j < n_new;) {
                int c = entry_compare(so[i], sn[j]);
                if (c == 0) {
                        match[sn[j] - new] = so[i];
                        kept[so[i] - old] = true;
                }
                i += c <= 0;
                j += c >= 0;
        }
        size_t n = 0;
        for (size_t j = 0; j < n_new; j++)
                if (!match[j])
                        steps[n++] = (ReloadStep) { RELOAD_ADD, NULL, &new[j] };
        qsort(steps, n, sizeof *steps, add_order);
        for (size_t j = 0; j < n_new; j++)
                if (match[j] && !secret_equal(match[j]->secret, new[j].secret))
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

static int step_do(int fd, const ReloadStep *s, ReloadStats *stats) {
        stats->setsockopts++;
        return s->op == RELOAD_DELETE ? md5sig_delete(fd, s->old) : md5sig_add(fd, s->new);
}

static int step_undo(int fd, const ReloadStep *s, ReloadStats *stats) {
        stats->setsockopts++;
        return s->op == RELOAD_ADD ? md5sig_delete(fd, s->new) : md5sig_add(fd, s->old);
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

/* ---- every live listener, all or nothing ---- */

typedef struct ListenerChange {
        KeyEntry *old, *new;
        size_t n_old, n_new;
        ReloadStep *steps;
        size_t n_steps;
} ListenerChange;

static void changes_free(ListenerChange *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].old);
                free(v[i].new);
                free(v[i].steps);
        }
        free(v);
}

/* The old plan is what listener_set_open() installed: same config, same
 * shape, same catch-all secret. */
static int changes_plan(const ListenerSet *live, const Config *old, const Config *new, ListenerChange **ret) {
        ListenerChange *v = calloc(live->n ? live->n : 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < live->n; i++) {
                ListenerChange *ch = &v[i];
                ListenerShape shape = live->v[i].shape;
                if (plan_keys(old, shape, &live->catch_all, &ch->old, &ch->n_old) < 0 ||
                    plan_keys(new, shape, &live->catch_all, &ch->new, &ch->n_new) < 0 ||
                    reload_diff(ch->old, ch->n_old, ch->new, ch->n_new, &ch->steps, &ch->n_steps) < 0) {
                        changes_free(v, live->n);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

static const char *const op_verb[_RELOAD_OP_MAX] = {
        [RELOAD_ADD] = "add", [RELOAD_REPLACE] = "replace", [RELOAD_DELETE] = "delete",
};

/* Not inlined, for the same reason as warn_restart_needed(). */
__attribute__((noinline)) static int explain_step_error(int r, const Listener *l, const ListenerChange *ch, const ReloadStep *s) {
        const KeyEntry *e = s->new ? s->new : s->old;
        char addr[ADDR_STRLEN], pfx[ADDR_STRLEN];
        listen_address_format(&l->address, addr);
        key_entry_format(e, pfx);
        const char *name = e->key ? e->key->name : "(catch-all)";
        if (r == -ENOMEM) {
                /* New keys go in before old ones leave: briefly both sets. */
                size_t peak = ch->n_old + ch->n_new;
                return log_errno(r, "%s: reload: the kernel refused to %s [Key %s] %s for lack of socket option "
                                 "memory; the switch-over briefly holds up to %zu keys: raise net.core.optmem_max "
                                 "to at least %zu; the old keys stay", addr, op_verb[s->op], name, pfx, peak,
                                 optmem_needed(peak));
        }
        return log_errno(r, "%s: reload: cannot %s [Key %s] %s: %s; the old keys stay", addr, op_verb[s->op], name,
                         pfx, strerror(-r));
}

static int changes_apply(ListenerSet *live, const ListenerChange *v, ReloadStats *stats) {
        for (size_t i = 0; i < live->n; i++) {
                size_t failed = 0;
                int r = reload_apply(live->v[i].fd, v[i].steps, v[i].n_steps, &failed, stats);
                if (r >= 0)
                        continue;
                explain_step_error(r, &live->v[i], &v[i], &v[i].steps[failed]);
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
        for (size_t i = 0; i < live->n; i++) {
                live->v[i].n_keys = v[i].n_new;
                stats->keys += v[i].n_new;
                for (size_t j = 0; j < v[i].n_steps; j++) {
                        ReloadOp op = v[i].steps[j].op;
                        stats->added += op == RELOAD_ADD;
                        stats->replaced += op == RELOAD_REPLACE;
                        stats->deleted += op == RELOAD_DELETE;
                }
        }
        return 0;
}

static bool str_same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool listen_same(const Config *a, const Config *b) {
        if (a->n_listen != b->n_listen)
                return false;
        for (size_t i = 0; i < a->n_listen; i++) {
                char x[ADDR_STRLEN], y[ADDR_STRLEN];
                listen_address_format(&a->listen[i].address, x);
                listen_address_format(&b->listen[i].address, y);
                if (strcmp(x, y) != 0)
                        return false;
        }
        return true;
}

/* The sockets already exist and the daemon holds them: only keys can
 * change. Say what else changed instead of ignoring it silently. Not
 * inlined: its buffers would stay in reload_keys()'s frame while load()
 * parses below it, and stack touched that deep stays resident in the
 * supervisor (bench/supervise-memory). */
__attribute__((noinline)) static void warn_restart_needed(const Config *a, const Config *b) {
        const struct {
                bool changed;
                const char *name;
        } s[] = {
                { !listen_same(a, b), "ListenStream=" },
                { a->bind_ipv6_only != b->bind_ipv6_only, "BindIPv6Only=" },
                { a->backlog != b->backlog, "Backlog=" },
                { a->free_bind != b->free_bind, "FreeBind=" },
                { a->reuse_port != b->reuse_port, "ReusePort=" },
                { !str_same(a->bind_to_device, b->bind_to_device), "BindToDevice=" },
                { !str_same(a->fdname, b->fdname), "FileDescriptorName=" },
                { a->accept != b->accept || a->inetd != b->inetd || a->on_demand != b->on_demand,
                  "Accept=/Inetd=/OnDemand=" },
        };
        char what[256] = "";
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                if (s[i].changed)
                        snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", what[0] ? " " : "",
                                 s[i].name);
        if (what[0])
                log_warning("reload: %s changed: the listening sockets stay as they are until a restart; "
                            "applying only the key changes", what);
}

int reload_keys(ListenerSet *live, Config **current, ReloadLoadConfig load, ReloadStats *ret_stats) {
        _cleanup_(config_freep) Config *next = NULL;
        ListenerChange *changes = NULL;
        ReloadStats stats = { 0 };
        int r = load(&next);
        if (r < 0)
                return log_errno(r, "reload: the configuration is not valid (see above); the old keys stay");
        warn_restart_needed(*current, next);
        if ((r = changes_plan(live, *current, next, &changes)) < 0)
                return log_errno(r, "reload: out of memory; the old keys stay");
        r = changes_apply(live, changes, &stats);
        changes_free(changes, live->n);
        if (r < 0)
                return r;
        /* Only now: the old entries pointed into the old config. */
        config_free(*current);
        *current = TAKE_PTR(next);
        /* Kept until the next reload: in one block (config-pack.c). Without
         * memory it stays as parsed, which works as well. */
        (void) config_pack(current);
        log_info("reloaded: %zu key%s added, %zu replaced, %zu deleted on %zu listener%s (%zu setsockopt calls)",
                 stats.added, stats.added == 1 ? "" : "s", stats.replaced, stats.deleted, live->n,
                 live->n == 1 ? "" : "s", stats.setsockopts);
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}
