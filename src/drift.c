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

/* plan_keys() for the listener; a layout no start-up installs (-EXDEV)
 * is no entry: the kernel's keys alone. */
static int planned(const Config *c, ListenerShape shape, KeyEntry **ret, size_t *ret_n) {
        static const Secret none = { .len = 1 };
        int r = plan_keys(c, shape, &none, ret, ret_n);
        if (r == -EXDEV) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return r < 0 ? -ENOMEM : 0;
}

/* The fingerprint of the config's secret of key name, "" when unknown. */
static void config_fingerprint(const Config *c, const char *name, char ret[static SECRET_FINGERPRINT_STRLEN]) {
        const KeyConfig *k = name[0] ? config_find_key(c, name) : NULL;
        ret[0] = 0;
        if (k && !config_key_deferred(k))
                secret_fingerprint(&k->secret, ret);
}

int drift_expected(const Config *c, ListenerShape shape, ExpectedKey **ret, size_t *ret_n) {
        KeyEntry *e;
        size_t n;
        if (planned(c, shape, &e, &n) < 0)
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
                config_fingerprint(c, e[i].name, v[j].fingerprint);
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

static int ao_compare(const ExpectedAoKey *w, const TcpaoKey *h) {
        TcpaoKey k = { .prefix = w->prefix, .send_id = w->send_id, .recv_id = w->recv_id };
        return tcpao_key_compare(&k, h);
}

static int expected_ao_compare(const void *a, const void *b) {
        const ExpectedAoKey *y = b;
        TcpaoKey k = { .prefix = y->prefix, .send_id = y->send_id, .recv_id = y->recv_id };
        return ao_compare(a, &k);
}

int drift_ao_expected(const Config *c, ListenerShape shape, ExpectedAoKey **ret, size_t *ret_n) {
        KeyEntry *e;
        size_t n, m = 0;
        if (planned(c, shape, &e, &n) < 0)
                return -ENOMEM;
        ExpectedAoKey *v = calloc(n + 1, sizeof *v);
        for (size_t i = 0; v && i < n; i++) {
                if (!key_entry_is_ao(&e[i]))
                        continue;
                ExpectedAoKey *w = &v[m++];
                w->prefix = kernel_prefix(&e[i]);
                w->send_id = e[i].send_id;
                w->recv_id = e[i].recv_id;
                w->mac_length = e[i].mac_length ? e[i].mac_length : CONFIG_AO_MAC_DEFAULT;
                snprintf(w->name, sizeof w->name, "%s", e[i].name);
                snprintf(w->algorithm, sizeof w->algorithm, "%s", e[i].algorithm);
                config_fingerprint(c, e[i].name, w->fingerprint);
        }
        key_table_free(e, n);
        if (!v)
                return -ENOMEM;
        qsort(v, m, sizeof *v, expected_ao_compare);
        *ret = v;
        *ret_n = m;
        return 0;
}

static DriftKind ao_judge(const ExpectedAoKey *w, const TcpaoKey *h) {
        if (!h)
                return DRIFT_MISSING;
        if (!w)
                return DRIFT_EXTRA;
        bool same = strcmp(tcpao_kernel_algorithm(w->algorithm), h->algorithm) == 0 &&
                    w->mac_length == h->mac_length;
        return same ? DRIFT_IN_SYNC : DRIFT_OTHER_MAC;
}

int drift_ao_diff(const ExpectedAoKey *want, size_t n_want, const TcpaoKey *have, size_t n_have,
                  AoDriftLine **ret, size_t *ret_n) {
        AoDriftLine *v = calloc(n_want + n_have + 1, sizeof *v);
        size_t i = 0, j = 0, n = 0;
        if (!v)
                return -ENOMEM;
        while (i < n_want || j < n_have) {
                int c = i == n_want ? 1 : j == n_have ? -1 : ao_compare(&want[i], &have[j]);
                const ExpectedAoKey *w = c <= 0 ? &want[i++] : NULL;
                const TcpaoKey *h = c >= 0 ? &have[j++] : NULL;
                AoDriftLine *l = &v[n++];
                l->kind = ao_judge(w, h);
                l->has_want = w != NULL;
                l->has_have = h != NULL;
                if (w)
                        l->want = *w;
                if (h)
                        l->have = *h;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

bool drift_kind_differs(DriftKind k) {
        return k == DRIFT_MISSING || k == DRIFT_EXTRA || k == DRIFT_OTHER_KEY || k == DRIFT_OTHER_MAC;
}

const char *drift_kind_to_string(DriftKind k) {
        static const char *const s[_DRIFT_KIND_MAX] = {
                [DRIFT_IN_SYNC] = "in sync",
                [DRIFT_CATCH_ALL] = "catch-all",
                [DRIFT_UNVERIFIED] = "present, secret not readable here",
                [DRIFT_MISSING] = "MISSING",
                [DRIFT_EXTRA] = "EXTRA",
                [DRIFT_OTHER_KEY] = "OTHER KEY",
                [DRIFT_OTHER_MAC] = "OTHER MAC",
        };
        return k < _DRIFT_KIND_MAX ? s[k] : "?";
}
