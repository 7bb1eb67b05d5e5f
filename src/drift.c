/* Expected against found keys, prefix by prefix. */
#include "drift.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int expected_compare(const void *a, const void *b) {
        return prefix_compare(&((const ExpectedKey *) a)->prefix, &((const ExpectedKey *) b)->prefix);
}

/* A v4-mapped entry of a dual-stack listener, as the kernel stores it. */
static Prefix kernel_prefix(const KeyEntry *e) {
        Prefix p = { .family = e->family, .addr = e->addr, .len = e->prefixlen };
        if (e->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&e->addr.in6)) {
                p.family = AF_INET;
                p.addr = (InAddr) { 0 };
                memcpy(&p.addr.in, &e->addr.in6.s6_addr[12], 4);
        }
        return p;
}

int drift_expected(const Config *c, ListenerShape shape, ExpectedKey **ret, size_t *ret_n) {
        static const Secret none = { .len = 1 };
        KeyEntry *e;
        size_t n;
        int r = plan_keys(c, shape, &none, &e, &n);
        if (r == -EXDEV) /* a layout no start-up installs: the kernel's keys alone */
                e = NULL, n = 0;
        else if (r < 0)
                return -ENOMEM;
        ExpectedKey *v = calloc(n ? n : 1, sizeof *v);
        if (!v) {
                key_table_free(e, n);
                return -ENOMEM;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                /* sock_diag reports TCP MD5 keys only: TCP-AO ones are not compared. */
                if (key_entry_is_ao(&e[i]))
                        continue;
                size_t j = m++;
                v[j].prefix = kernel_prefix(&e[i]);
                snprintf(v[j].name, sizeof v[j].name, "%s", e[i].name);
                const KeyConfig *k = e[i].name[0] ? config_find_key(c, e[i].name) : NULL;
                if (k && !config_key_deferred(k))
                        secret_fingerprint(&k->secret, v[j].fingerprint);
        }
        key_table_free(e, n);
        qsort(v, m, sizeof *v, expected_compare);
        *ret = v;
        *ret_n = m;
        return 0;
}

/* Is fp the secret of one of the configured keys? */
static bool configured_secret(const ExpectedKey *want, size_t n, const char *fp) {
        for (size_t i = 0; i < n; i++)
                if (want[i].name[0] && strcmp(want[i].fingerprint, fp) == 0)
                        return true;
        return false;
}

static DriftKind judge(const ExpectedKey *w, const DiagKey *h, const ExpectedKey *want, size_t n_want) {
        if (!h)
                return DRIFT_MISSING;
        if (!w)
                return DRIFT_EXTRA;
        if (!w->name[0])
                return configured_secret(want, n_want, h->fingerprint) ? DRIFT_OTHER_KEY : DRIFT_CATCH_ALL;
        if (!w->fingerprint[0])
                return DRIFT_UNVERIFIED;
        return strcmp(w->fingerprint, h->fingerprint) == 0 ? DRIFT_IN_SYNC : DRIFT_OTHER_KEY;
}

int drift_diff(const ExpectedKey *want, size_t n_want, const DiagKey *have, size_t n_have, DriftLine **ret,
               size_t *ret_n) {
        DriftLine *v = calloc(n_want + n_have + 1, sizeof *v);
        size_t i = 0, j = 0, n = 0;
        if (!v)
                return -ENOMEM;
        while (i < n_want || j < n_have) {
                int c = i == n_want ? 1 : j == n_have ? -1 : prefix_compare(&want[i].prefix, &have[j].prefix);
                const ExpectedKey *w = c <= 0 ? &want[i++] : NULL;
                const DiagKey *h = c >= 0 ? &have[j++] : NULL;
                DriftLine *l = &v[n++];
                l->prefix = w ? w->prefix : h->prefix;
                l->kind = judge(w, h, want, n_want);
                l->catch_all = w && !w->name[0];
                if (w)
                        snprintf(l->name, sizeof l->name, "%s", w->name);
                snprintf(l->fingerprint, sizeof l->fingerprint, "%s", h ? h->fingerprint : w->fingerprint);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

bool drift_kind_differs(DriftKind k) {
        return k == DRIFT_MISSING || k == DRIFT_EXTRA || k == DRIFT_OTHER_KEY;
}

const char *drift_kind_to_string(DriftKind k) {
        static const char *const s[_DRIFT_KIND_MAX] = {
                [DRIFT_IN_SYNC] = "in sync",
                [DRIFT_CATCH_ALL] = "catch-all",
                [DRIFT_UNVERIFIED] = "present, secret not readable here",
                [DRIFT_MISSING] = "MISSING",
                [DRIFT_EXTRA] = "EXTRA",
                [DRIFT_OTHER_KEY] = "OTHER KEY",
        };
        return k < _DRIFT_KIND_MAX ? s[k] : "?";
}
