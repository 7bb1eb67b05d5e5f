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

/* Not inlined, for the same reason as report_changes(). */
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
 * apply in one warning, the rest in one line. Not inlined: its buffers
 * would stay in reload_keys()'s frame while load() parses below it, and
 * stack touched that deep stays resident in the supervisor
 * (bench/supervise-memory). */
__attribute__((noinline)) static void report_changes(const Config *old, const Config *new, bool daemon_runs) {
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

/* KeepAlive= and NoDelay= live on the listeners: every connection accepted
 * later copies them, in every mode (the daemon's listeners are these very
 * sockets). All listeners or, on an error, none. */
static int options_apply(ListenerSet *live, const Config *old, const Config *new, ReloadStats *stats) {
        if (old->keep_alive == new->keep_alive && old->no_delay == new->no_delay)
                return 0;
        for (size_t i = 0; i < live->n; i++) {
                const char *step;
                stats->setsockopts += 2;
                int r = listener_connection_options(live->v[i].fd, new, &step);
                if (r >= 0)
                        continue;
                char addr[ADDR_STRLEN];
                listen_address_format(&live->v[i].address, addr);
                log_errno(r, "%s: reload: cannot set %s: %s; the old keys and options stay", addr, step, strerror(-r));
                for (size_t k = i + 1; k-- > 0;)
                        (void) listener_connection_options(live->v[k].fd, old, &step);
                return r;
        }
        return 0;
}

static void options_undo(ListenerSet *live, const Config *old, const Config *new) {
        const char *step;
        if (old->keep_alive != new->keep_alive || old->no_delay != new->no_delay)
                for (size_t i = 0; i < live->n; i++)
                        (void) listener_connection_options(live->v[i].fd, old, &step);
}

int reload_keys(ListenerSet *live, Config **current, ReloadLoadConfig load, bool daemon_runs,
                ReloadStats *ret_stats) {
        _cleanup_(config_freep) Config *next = NULL;
        ListenerChange *changes = NULL;
        ReloadStats stats = { 0 };
        int r = load(&next);
        if (r < 0)
                return log_errno(r, "reload: the configuration is not valid (see above); the old keys stay");
        if ((r = changes_plan(live, *current, next, &changes)) < 0)
                return log_errno(r, "reload: out of memory; the old keys stay");
        r = options_apply(live, *current, next, &stats);
        if (r >= 0 && (r = changes_apply(live, changes, &stats)) < 0)
                options_undo(live, *current, next);
        changes_free(changes, live->n);
        if (r < 0)
                return r;
        report_changes(*current, next, daemon_runs);
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
