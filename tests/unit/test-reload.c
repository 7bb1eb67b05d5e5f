/* reload.c: which steps a reload takes, in which order, and that a failing
 * setsockopt() is undone in reverse. setsockopt() is replaced at link time
 * (-Wl,--wrap=setsockopt) by a recorder that can fail on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "addr.h"
#include "config.h"
#include "md5sig.h"
#include "plan.h"
#include "reload.h"
#include "tcp-ao.h"
#include "util.h"

/* ---- building entries ---- */

static Secret S1 = { .bytes = "one", .len = 3 }, S2 = { .bytes = "two", .len = 3 }, CA = { .bytes = "rnd", .len = 3 };

static bool secret_same(const Secret *a, const Secret *b) {
        return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static KeyEntry v4(const char *a, uint8_t len, const Secret *s) {
        KeyEntry e = { .family = AF_INET, .prefixlen = len };
        if (s)
                e.secret = *s;
        inet_pton(AF_INET, a, &e.addr.in);
        return e;
}

static KeyEntry v6(const char *a, uint8_t len, const Secret *s) {
        KeyEntry e = { .family = AF_INET6, .prefixlen = len };
        if (s)
                e.secret = *s;
        inet_pton(AF_INET6, a, &e.addr.in6);
        return e;
}

static void diff(const KeyEntry *o, size_t no, const KeyEntry *n, size_t nn, ReloadStep **steps, size_t *ns) {
        assert_int_equal(reload_diff(o, no, n, nn, steps, ns), 0);
}

static void test_unchanged_needs_nothing(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &CA) };
        /* Equal bytes in another buffer (a re-read file) is still no change. */
        Secret s1copy = S1;
        KeyEntry n[] = { v4("0.0.0.0", 0, &CA), v4("10.0.0.0", 8, &s1copy) };
        ReloadStep *s;
        size_t ns;
        diff(o, 2, n, 2, &s, &ns);
        assert_int_equal(ns, 0);
        free(s);
}

static void test_changed_secret_is_one_replace(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &CA) };
        KeyEntry n[] = { v4("10.0.0.0", 8, &S2), v4("0.0.0.0", 0, &CA) };
        ReloadStep *s;
        size_t ns;
        diff(o, 2, n, 2, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_REPLACE);
        assert_ptr_equal(s[0].old, &o[0]);
        assert_ptr_equal(s[0].new, &n[0]);
        free(s);
}

static void test_order_adds_replaces_deletes(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.1.0.0", 16, &S1), v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &CA) };
        KeyEntry n[] = { v4("10.0.0.0", 8, &S2), v4("192.0.2.0", 24, &S1), v4("0.0.0.0", 0, &CA),
                         v4("198.51.100.0", 24, &S2) };
        ReloadStep *s;
        size_t ns;
        diff(o, 3, n, 4, &s, &ns);
        assert_int_equal(ns, 4);
        assert_int_equal(s[0].op, RELOAD_ADD);
        assert_ptr_equal(s[0].new, &n[1]);
        assert_int_equal(s[1].op, RELOAD_ADD);
        assert_ptr_equal(s[1].new, &n[3]);
        assert_int_equal(s[2].op, RELOAD_REPLACE);
        assert_ptr_equal(s[2].old, &o[1]);
        assert_int_equal(s[3].op, RELOAD_DELETE);
        assert_ptr_equal(s[3].old, &o[0]);
        free(s);
}

/* A configured 0.0.0.0/0 key takes the catch-all's place: one replace in
 * place, never a delete followed by an add. And back again. */
static void test_catch_all_replaced_in_place(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &CA) };
        KeyEntry n[] = { v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &S2) };
        ReloadStep *s;
        size_t ns;
        diff(o, 2, n, 2, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_REPLACE);
        assert_int_equal(s[0].new->prefixlen, 0);
        free(s);
        diff(n, 2, o, 2, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_REPLACE);
        free(s);
}

/* The interface is part of the kernel's identity of a key. */
static void test_interface_is_identity(void **state) {
        (void) state;
        KeyEntry o[] = { v6("2001:db8::", 32, &S1) };
        KeyEntry n[] = { v6("2001:db8::", 32, &S1) };
        n[0].ifindex = 3;
        ReloadStep *s;
        size_t ns;
        diff(o, 1, n, 1, &s, &ns);
        assert_int_equal(ns, 2);
        assert_int_equal(s[0].op, RELOAD_ADD);
        assert_int_equal(s[1].op, RELOAD_DELETE);
        free(s);
}

static void test_empty_lists(void **state) {
        (void) state;
        KeyEntry n[] = { v6("::", 0, &CA) };
        ReloadStep *s;
        size_t ns;
        diff(NULL, 0, n, 1, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_ADD);
        free(s);
        diff(n, 1, NULL, 0, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_DELETE);
        free(s);
}

/* ---- every intermediate state, played on a model of the kernel ---- */

typedef struct Model {
        KeyEntry v[64];
        size_t n;
} Model;

static bool same_identity(const KeyEntry *a, const KeyEntry *b) {
        return a->family == b->family && a->prefixlen == b->prefixlen && a->ifindex == b->ifindex &&
               memcmp(&a->addr, &b->addr, sizeof a->addr) == 0;
}

static size_t model_find(const Model *m, const KeyEntry *e) {
        for (size_t i = 0; i < m->n; i++)
                if (same_identity(&m->v[i], e))
                        return i;
        return SIZE_MAX;
}

static void model_step(Model *m, const ReloadStep *s) {
        const KeyEntry *e = s->new ? s->new : s->old;
        size_t i = model_find(m, e);
        if (s->op == RELOAD_DELETE) {
                assert_true(i != SIZE_MAX);
                m->v[i] = m->v[--m->n];
        } else if (i == SIZE_MAX) {
                assert_int_equal(s->op, RELOAD_ADD);
                m->v[m->n++] = *e;
        } else {
                assert_int_equal(s->op, RELOAD_REPLACE);
                m->v[i] = *e;
        }
}

/* The kernel's choice for a peer: the longest prefix containing it. */
static const KeyEntry *model_match(const KeyEntry *v, size_t n, const KeyEntry *peer) {
        const KeyEntry *best = NULL;
        for (size_t i = 0; i < n; i++) {
                Prefix p = { .family = v[i].family, .addr = v[i].addr, .len = v[i].prefixlen };
                if (v[i].family == peer->family && prefix_contains(&p, peer->family, &peer->addr) &&
                    (!best || v[i].prefixlen > best->prefixlen))
                        best = &v[i];
        }
        return best;
}

static bool same_key(const KeyEntry *a, const KeyEntry *b) {
        return a == b || (a && b && same_identity(a, b) && secret_same(&a->secret, &b->secret));
}

/* Random old and new plans over nested prefixes, with and without
 * prefix-0 keys: played step by step, every peer always matches either its
 * old key or its new one (so one covered before and after is never
 * uncovered), and the end state is exactly the new plan. */
static void test_every_step_old_or_new_key(void **state) {
        (void) state;
        static const struct { int family; const char *addr; uint8_t len; } pfx[] = {
                { AF_INET, "0.0.0.0", 0 }, { AF_INET, "10.0.0.0", 8 }, { AF_INET, "10.1.0.0", 16 },
                { AF_INET, "10.1.2.0", 24 }, { AF_INET, "10.1.2.3", 32 }, { AF_INET, "192.0.2.0", 24 },
                { AF_INET6, "::", 0 }, { AF_INET6, "2001:db8::", 32 }, { AF_INET6, "2001:db8:1::", 48 },
        };
        static const char *const peers4[] = { "10.1.2.3", "10.1.2.4", "10.1.9.9", "10.9.9.9", "192.0.2.1", "203.0.113.1" };
        static const char *const peers6[] = { "2001:db8:1::1", "2001:db8:2::1", "2001:db9::1" };
        const Secret *secrets[] = { &S1, &S2, &CA };
        KeyEntry peers[ELEMENTSOF(peers4) + ELEMENTSOF(peers6)];
        size_t np = 0;
        for (size_t i = 0; i < ELEMENTSOF(peers4); i++)
                peers[np++] = v4(peers4[i], 32, NULL);
        for (size_t i = 0; i < ELEMENTSOF(peers6); i++)
                peers[np++] = v6(peers6[i], 128, NULL);
        srand(1);
        for (int round = 0; round < 5000; round++) {
                KeyEntry lists[2][ELEMENTSOF(pfx)];
                size_t n[2] = { 0, 0 };
                for (int l = 0; l < 2; l++)
                        for (size_t i = 0; i < ELEMENTSOF(pfx); i++) {
                                if (rand() % 3 == 0)
                                        continue;
                                const Secret *sec = secrets[rand() % 3];
                                lists[l][n[l]++] = pfx[i].family == AF_INET ? v4(pfx[i].addr, pfx[i].len, sec)
                                                                            : v6(pfx[i].addr, pfx[i].len, sec);
                        }
                ReloadStep *s;
                size_t ns;
                diff(lists[0], n[0], lists[1], n[1], &s, &ns);
                Model m = { .n = n[0] };
                memcpy(m.v, lists[0], n[0] * sizeof(KeyEntry));
                for (size_t i = 0; i < ns; i++) {
                        model_step(&m, &s[i]);
                        for (size_t p = 0; p < np; p++) {
                                const KeyEntry *now = model_match(m.v, m.n, &peers[p]);
                                const KeyEntry *before = model_match(lists[0], n[0], &peers[p]);
                                const KeyEntry *after = model_match(lists[1], n[1], &peers[p]);
                                if (!same_key(now, before) && !same_key(now, after))
                                        fail_msg("round %d step %zu: peer %zu matches a third key", round, i, p);
                        }
                }
                assert_int_equal(m.n, n[1]);
                for (size_t i = 0; i < n[1]; i++) {
                        size_t k = model_find(&m, &lists[1][i]);
                        assert_true(k != SIZE_MAX);
                        assert_true(secret_same(&m.v[k].secret, &lists[1][i].secret));
                }
                free(s);
        }
}

/* ---- from real configs through plan_keys ---- */

static Config *parse(const char *text) {
        Config *c = config_new("t");
        assert_non_null(c);
        assert_int_equal(config_parse_text(c, "t.conf", text, strlen(text), NULL), 0);
        assert_int_equal(config_validate(c, true), 0);
        return c;
}

static const char base[] = "[Socket]\nListenStream=2222\n"
                           "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office\n"
                           "[Key lab]\nPeer=198.51.100.7\nSecret=lab\n";

/* Rotating one key that has one prefix on a dual-stack listener: one
 * setsockopt, the catch-alls untouched. */
static void test_one_key_rotation_from_config(void **state) {
        (void) state;
        Config *a = parse(base);
        char text[512];
        snprintf(text, sizeof text, "%s", base);
        memcpy(strstr(text, "Secret=lab"), "Secret=new", 10);
        Config *b = parse(text);
        ListenerShape shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true };
        KeyEntry *o, *n;
        size_t no, nn, ns;
        ReloadStep *s;
        assert_int_equal(plan_keys(a, shape, &CA, &o, &no), 0);
        assert_int_equal(plan_keys(b, shape, &CA, &n, &nn), 0);
        assert_int_equal(no, 5); /* 3 prefixes + 2 catch-alls */
        diff(o, no, n, nn, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_REPLACE);
        assert_string_equal(s[0].new->name, "lab");
        free(s);
        key_table_free(o, no);
        key_table_free(n, nn);
        config_free(a);
        config_free(b);
}

/* ---- applying, with a setsockopt that fails on demand ---- */

typedef struct Call {
        int opt;               /* TCP_MD5SIG_EXT, TCP_AO_ADD_KEY or TCP_AO_DEL_KEY */
        uint8_t sndid;         /* TCP-AO */
        uint8_t prefixlen;
        uint16_t keylen;
        char first;
        sa_family_t family;
        struct tcp_md5sig sig; /* key bytes included: these are test keys */
} Call;

static Call calls[64];
static size_t n_calls;
static size_t fail_at = SIZE_MAX;

/* The keys the kernel would hold on fds 40 and 41: what the whole-reload
 * test looks at. Entries are whole tcp_md5sig structs, keyed on address,
 * prefix and interface as the kernel keys them. */
enum { KFD = 40, N_KFD = 2 };
typedef struct KernelKeys {
        struct tcp_md5sig v[32];
        size_t n;
} KernelKeys;
static KernelKeys kernel[N_KFD];

static bool same_slot(const struct tcp_md5sig *a, const struct tcp_md5sig *b) {
        return a->tcpm_prefixlen == b->tcpm_prefixlen && a->tcpm_ifindex == b->tcpm_ifindex &&
               memcmp(&a->tcpm_addr, &b->tcpm_addr, sizeof a->tcpm_addr) == 0;
}

static int kernel_set(KernelKeys *k, const struct tcp_md5sig *sig) {
        size_t i = 0;
        while (i < k->n && !same_slot(&k->v[i], sig))
                i++;
        if (sig->tcpm_keylen == 0) {
                if (i == k->n)
                        return -ENOENT;
                k->v[i] = k->v[--k->n];
                return 0;
        }
        if (i == k->n) {
                assert_true(k->n < ELEMENTSOF(k->v));
                k->n++;
        }
        k->v[i] = *sig;
        return 0;
}

/* TCP-AO calls are recorded (operation, SendID, key's first byte) and
 * fail on demand; no kernel model holds them. */
static int ao_setsockopt(int opt, const void *val, socklen_t len) {
        Call c = { .opt = opt };
        if (opt == TCP_AO_ADD_KEY) {
                const struct tcp_ao_add *a = val;
                assert_int_equal(len, sizeof *a);
                c = (Call) { .opt = opt, .sndid = a->sndid, .prefixlen = a->prefix, .keylen = a->keylen,
                             .first = (char) a->key[0] };
        } else {
                const struct tcp_ao_del *d = val;
                assert_int_equal(len, sizeof *d);
                c = (Call) { .opt = opt, .sndid = d->sndid, .prefixlen = d->prefix };
        }
        if (n_calls < ELEMENTSOF(calls))
                calls[n_calls] = c;
        if (n_calls++ == fail_at)
                return errno = ENOMEM, -1;
        return 0;
}

int __wrap_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);
int __wrap_setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
        (void) level;
        if (opt == TCP_AO_ADD_KEY || opt == TCP_AO_DEL_KEY)
                return ao_setsockopt(opt, val, len);
        assert_int_equal(opt, TCP_MD5SIG_EXT);
        assert_int_equal(len, sizeof(struct tcp_md5sig));
        const struct tcp_md5sig *sig = val;
        /* What the kernel needs to key a prefix: without the flag it ignores
         * the length and keys one address; the family picks the address
         * and bounds the length; an interface only with its flag. */
        assert_true(sig->tcpm_flags & TCP_MD5SIG_FLAG_PREFIX);
        assert_int_equal(!!(sig->tcpm_flags & TCP_MD5SIG_FLAG_IFINDEX), sig->tcpm_ifindex != 0);
        sa_family_t family = sig->tcpm_addr.ss_family;
        assert_true(family == AF_INET || family == AF_INET6);
        assert_in_range(sig->tcpm_prefixlen, 0, family == AF_INET ? 32 : 128);
        if (n_calls == fail_at) {
                n_calls++;
                errno = ENOMEM;
                return -1;
        }
        if (n_calls < ELEMENTSOF(calls))
                calls[n_calls] = (Call) { TCP_MD5SIG_EXT, 0, sig->tcpm_prefixlen, sig->tcpm_keylen, (char) sig->tcpm_key[0],
                                          family, *sig };
        n_calls++;
        if (fd >= KFD && fd < KFD + N_KFD) {
                int r = kernel_set(&kernel[fd - KFD], sig);
                if (r < 0)
                        return errno = -r, -1;
        }
        return 0;
}

static void test_apply_failure_is_undone_in_reverse(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.1.0.0", 16, &S1), v4("10.0.0.0", 8, &S1), v4("0.0.0.0", 0, &CA) };
        KeyEntry n[] = { v4("10.0.0.0", 8, &S2), v4("192.0.2.0", 24, &S1), v4("0.0.0.0", 0, &CA) };
        ReloadStep *s;
        size_t ns, failed = 0;
        ReloadStats stats = { 0 };
        diff(o, 3, n, 3, &s, &ns);
        assert_int_equal(ns, 3); /* add /24, replace /8, delete /16 */

        n_calls = 0;
        fail_at = 2; /* the delete fails */
        assert_int_equal(reload_apply(42, s, ns, &failed, &stats), -ENOMEM);
        assert_int_equal(failed, 2);
        assert_int_equal(reload_undo(42, s, failed, &stats), 0);
        assert_int_equal(n_calls, 5);
        assert_int_equal(stats.setsockopts, 5);
        /* Done: add /24 (S1), replace /8 (S2). Undone: /8 back to S1, then
         * the /24 deleted (keylen 0). */
        assert_int_equal(calls[0].prefixlen, 24);
        assert_int_equal(calls[1].prefixlen, 8);
        assert_int_equal(calls[1].first, 't');
        assert_int_equal(calls[3].prefixlen, 8);
        assert_int_equal(calls[3].first, 'o');
        assert_int_equal(calls[4].prefixlen, 24);
        assert_int_equal(calls[4].keylen, 0);

        n_calls = 0;
        fail_at = SIZE_MAX;
        assert_int_equal(reload_apply(42, s, ns, &failed, &stats), 0);
        assert_int_equal(n_calls, 3);
        assert_int_equal(calls[2].keylen, 0); /* the delete comes last */
        assert_int_equal(calls[2].prefixlen, 16);
        free(s);
}

/* Each call keys exactly its entry: family, address, prefix length, the
 * prefix flag, the secret; a delete the same slot with no key. */
static void call_is(size_t i, const KeyEntry *e, bool add) {
        const struct tcp_md5sig *sig = &calls[i].sig;
        assert_int_equal(calls[i].family, e->family);
        assert_int_equal(sig->tcpm_prefixlen, e->prefixlen);
        assert_int_equal(sig->tcpm_flags, TCP_MD5SIG_FLAG_PREFIX);
        if (e->family == AF_INET)
                assert_memory_equal(&((const struct sockaddr_in *) &sig->tcpm_addr)->sin_addr, &e->addr.in, 4);
        else
                assert_memory_equal(&((const struct sockaddr_in6 *) &sig->tcpm_addr)->sin6_addr, &e->addr.in6, 16);
        assert_int_equal(sig->tcpm_keylen, add ? e->secret.len : 0);
        if (add)
                assert_memory_equal(sig->tcpm_key, e->secret.bytes, e->secret.len);
}

static void test_apply_keys_each_prefix_in_its_family(void **state) {
        (void) state;
        KeyEntry o[] = { v4("10.1.0.0", 16, &S1), v6("2001:db8::", 32, &S1), v6("::", 0, &CA) };
        KeyEntry n[] = { v4("10.1.0.0", 16, &S1), v6("2001:db8:1::", 48, &S2), v4("10.1.2.0", 24, &S2),
                         v6("::", 0, &CA) };
        ReloadStep *s;
        size_t ns, failed = 0;
        ReloadStats stats = { 0 };
        diff(o, 3, n, 4, &s, &ns);
        assert_int_equal(ns, 3); /* add /48, add /24, delete /32 */
        n_calls = 0;
        fail_at = SIZE_MAX;
        assert_int_equal(reload_apply(42, s, ns, &failed, &stats), 0);
        assert_int_equal(n_calls, 3);
        call_is(0, &n[1], true);
        call_is(1, &n[2], true);
        call_is(2, &o[1], false);
        free(s);
}

/* ---- the whole reload on two listeners: all or nothing ---- */

static const char two_old[] = "[Socket]\nListenStream=2222\nListenStream=0.0.0.0:2223\n"
                              "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office\n"
                              "[Key lab]\nPeer=198.51.100.7\nSecret=lab\n";
/* office rotated, lab moved to another address, a key added: adds,
 * replaces and deletes on both listeners. */
static const char two_new[] = "[Socket]\nListenStream=2222\nListenStream=0.0.0.0:2223\n"
                              "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office2\n"
                              "[Key lab]\nPeer=198.51.100.8\nSecret=lab\n"
                              "[Key new]\nPeer=203.0.113.0/24\nSecret=new\n";

static bool kernel_equal(const KernelKeys *a, const KernelKeys *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                size_t j = 0;
                while (j < b->n && memcmp(&a->v[i], &b->v[j], sizeof a->v[i]) != 0)
                        j++;
                if (j == b->n)
                        return false;
        }
        return true;
}

/* What listener_set_open() would have installed for config c, and the
 * tables it would have kept. */
static void kernel_install(ListenerSet *live, const Config *c, KernelKeys *ret) {
        for (size_t i = 0; i < live->n; i++) {
                Listener *l = &live->v[i];
                key_table_free(l->keys, l->n_keys);
                assert_int_equal(plan_keys(c, l->shape, &live->catch_all, &l->keys, &l->n_keys), 0);
                kernel[i].n = 0;
                for (size_t j = 0; j < l->n_keys; j++)
                        assert_int_equal(md5sig_add(KFD + (int) i, &l->keys[j]), 0);
                ret[i] = kernel[i];
        }
}

/* A reload whose setsockopt number k fails, for every k: reload_config()
 * fails, every listener (the failing one and those already switched over)
 * holds exactly its old keys again and keeps its old table. Past the last
 * call it succeeds with exactly the new keys, and the new tables. */
static void test_reload_failure_restores_every_listener(void **state) {
        (void) state;
        Config *cur = parse(two_old), *next = parse(two_new);
        Listener v[N_KFD] = {
                { .fd = KFD, .address = cur->listen[0].address, .shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true } },
                { .fd = KFD + 1, .address = cur->listen[1].address, .shape = { .family = AF_INET, .ipv4 = true } },
        };
        ListenerSet live = { .v = v, .n = N_KFD, .catch_all = CA };
        KernelKeys before[N_KFD], after[N_KFD];
        kernel_install(&live, next, after);
        kernel_install(&live, cur, before);
        const KeyEntry *tables[N_KFD] = { v[0].keys, v[1].keys };

        size_t k;
        for (k = 0; k < 64; k++) {
                n_calls = 0;
                fail_at = k;
                int r = reload_config(&live, cur, next, true, NULL);
                if (r == 0)
                        break;
                assert_int_equal(r, -ENOMEM);
                for (size_t i = 0; i < N_KFD; i++) {
                        assert_ptr_equal(v[i].keys, tables[i]);
                        if (!kernel_equal(&kernel[i], &before[i]))
                                fail_msg("setsockopt %zu failed: listener %zu does not hold its old keys", k, i);
                }
        }
        fail_at = SIZE_MAX;
        /* Steps on both listeners, so a failure on the second one had the first to restore. */
        assert_true(k >= 8);
        for (size_t i = 0; i < N_KFD; i++) {
                assert_true(kernel_equal(&kernel[i], &after[i]));
                assert_ptr_not_equal(v[i].keys, tables[i]);
                key_table_free(v[i].keys, v[i].n_keys);
        }
        config_free(cur);
        config_free(next);
}

/* A rotation keeps each table's size: the listener's record is rewritten
 * in place (the resident heap does not move), and only after every step
 * went in; a failed step leaves the record's bytes as they were. */
static void test_rotation_is_recorded_in_place(void **state) {
        (void) state;
        char text[512];
        snprintf(text, sizeof text, "%s", two_old);
        memcpy(strstr(text, "Secret=lab"), "Secret=new", 10);
        Config *cur = parse(two_old), *next = parse(text);
        Listener v[N_KFD] = {
                { .fd = KFD, .address = cur->listen[0].address, .shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true } },
                { .fd = KFD + 1, .address = cur->listen[1].address, .shape = { .family = AF_INET, .ipv4 = true } },
        };
        ListenerSet live = { .v = v, .n = N_KFD, .catch_all = CA };
        KernelKeys after[N_KFD], old[N_KFD];
        kernel_install(&live, next, after);
        kernel_install(&live, cur, old);
        KeyEntry *tables[N_KFD] = { v[0].keys, v[1].keys }, *before[N_KFD];
        for (size_t i = 0; i < N_KFD; i++)
                before[i] = test_malloc(v[i].n_keys * sizeof(KeyEntry));
        for (size_t i = 0; i < N_KFD; i++)
                memcpy(before[i], v[i].keys, v[i].n_keys * sizeof(KeyEntry));

        n_calls = 0;
        fail_at = 1; /* the second listener's replace fails */
        assert_int_equal(reload_config(&live, cur, next, true, NULL), -ENOMEM);
        for (size_t i = 0; i < N_KFD; i++) {
                assert_memory_equal(v[i].keys, before[i], v[i].n_keys * sizeof(KeyEntry));
                assert_true(kernel_equal(&kernel[i], &old[i]));
        }
        fail_at = SIZE_MAX;
        ReloadStats stats;
        assert_int_equal(reload_config(&live, cur, next, true, &stats), 0);
        assert_int_equal(stats.replaced, 2);
        for (size_t i = 0; i < N_KFD; i++) {
                assert_ptr_equal(v[i].keys, tables[i]);
                assert_true(kernel_equal(&kernel[i], &after[i]));
                const KeyEntry *lab = NULL;
                for (size_t j = 0; j < v[i].n_keys; j++)
                        if (strcmp(v[i].keys[j].name, "lab") == 0)
                                lab = &v[i].keys[j];
                assert_non_null(lab);
                assert_memory_equal(lab->secret.bytes, "new", 3);
                key_table_free(v[i].keys, v[i].n_keys);
                test_free(before[i]);
        }
        config_free(cur);
        config_free(next);
}

/* ---- TCP-AO keys: added and deleted live; the unsafe changes refused ---- */

static const char ao_old[] = "[Socket]\nListenStream=0.0.0.0:2223\nUnmatchedPeers=allow-unsigned\n"
                             "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=one\n"
                             "[Key m]\nPeer=198.51.100.0/24\nSecret=md5\n";
static const char ao_req[] = "[Socket]\nListenStream=0.0.0.0:2223\n"
                             "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=one\n";

/* One listener holding from's plan; reloads to text, returns its result. */
static int reload_from(const char *from, const char *text, size_t *ret_calls) {
        Config *cur = parse(from), *next = parse(text);
        Listener l = { .fd = 99, .address = cur->listen[0].address, .shape = { .family = AF_INET, .ipv4 = true } };
        l.ao_required = plan_ao_required(cur, l.shape);
        ListenerSet live = { .v = &l, .n = 1, .catch_all = CA };
        assert_int_equal(plan_keys(cur, l.shape, &CA, &l.keys, &l.n_keys), 0);
        const KeyEntry *table = l.keys;
        n_calls = 0;
        int r = reload_config(&live, cur, next, true, NULL);
        if (r < 0)
                assert_ptr_equal(l.keys, table); /* the old table stays: nothing changed */
        *ret_calls = n_calls;
        key_table_free(l.keys, l.n_keys);
        config_free(cur);
        config_free(next);
        fail_at = SIZE_MAX;
        return r;
}

/* text is from with the first `what` replaced by `with` (same length). */
static const char *edit(char *text, size_t size, const char *from, const char *what, const char *with) {
        snprintf(text, size, "%s", from);
        memcpy(strstr(text, what), with, strlen(with));
        return text;
}

static void test_ao_rollover_adds_then_deletes(void **state) {
        (void) state;
        char text[1024];
        size_t n;
        /* k2 (new IDs) beside k1: one add, of SendID 2. */
        snprintf(text, sizeof text, "%s[Key b]\nPeer=192.0.2.0/24\nAlgorithm=cmac(aes128)\nSendID=2\nRecvID=2\n"
                 "Secret=two\n", ao_old);
        assert_int_equal(reload_from(ao_old, text, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(calls[0].opt, TCP_AO_ADD_KEY);
        assert_int_equal(calls[0].sndid, 2);
        assert_int_equal(calls[0].first, 't');
        /* ...then k1 removed: one delete, of SendID 1. */
        char both[1024], only_b[1024];
        snprintf(both, sizeof both, "%s", text);
        snprintf(only_b, sizeof only_b, "[Socket]\nListenStream=0.0.0.0:2223\nUnmatchedPeers=allow-unsigned\n"
                 "[Key b]\nPeer=192.0.2.0/24\nAlgorithm=cmac(aes128)\nSendID=2\nRecvID=2\nSecret=two\n"
                 "[Key m]\nPeer=198.51.100.0/24\nSecret=md5\n");
        assert_int_equal(reload_from(both, only_b, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(calls[0].opt, TCP_AO_DEL_KEY);
        assert_int_equal(calls[0].sndid, 1);
        /* Both at once (k1 out, k2 in): the add comes first. */
        assert_int_equal(reload_from(ao_old, only_b, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(calls[0].opt, TCP_AO_ADD_KEY);
        assert_int_equal(calls[1].opt, TCP_AO_DEL_KEY);
        /* The delete failing: the add is undone (a delete of SendID 2), newest first. */
        fail_at = 1;
        assert_int_equal(reload_from(ao_old, only_b, &n), -ENOMEM);
        assert_int_equal(n, 3);
        assert_int_equal(calls[2].opt, TCP_AO_DEL_KEY);
        assert_int_equal(calls[2].sndid, 2);
        /* The MD5 key rotated beside unchanged TCP-AO keys: one MD5 call. */
        assert_int_equal(reload_from(ao_old, edit(text, sizeof text, ao_old, "Secret=md5", "Secret=dm5"), &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(calls[0].opt, TCP_MD5SIG_EXT);
}

static void test_reload_refuses_unsafe_ao_changes(void **state) {
        (void) state;
        char text[1024];
        size_t n;
        /* A new secret under the same IDs, without ao_required: refused, not one setsockopt. */
        assert_int_equal(reload_from(ao_old, edit(text, sizeof text, ao_old, "Secret=one", "Secret=two"), &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_log_contains("t.conf:4: [Key a] 192.0.2.0/24: reload: its secret, Algorithm= or MACLength= changes "
                            "under the same SendID and RecvID");
        assert_log_contains("a key with new SendID and RecvID beside it");
        snprintf(text, sizeof text, "%s[Key a]\nMACLength=16\n", ao_old); /* sections merge by name */
        assert_int_equal(reload_from(ao_old, text, &n), -EBADMSG);
        assert_int_equal(n, 0);
        /* A new SendID with the old RecvID: both keys cannot stand at once. */
        assert_int_equal(reload_from(ao_old, edit(text, sizeof text, ao_old, "SendID=1", "SendID=3"), &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_log_contains("reuses the SendID or RecvID of a TCP-AO key it replaces");
        /* ao_required would turn on (UnmatchedPeers=drop): refused. */
        snprintf(text, sizeof text, "%s", ao_req);
        assert_int_equal(reload_from(ao_old, text, &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_log_contains("ao_required would turn on");
        /* ...or off: refused. */
        snprintf(text, sizeof text, "%s[Socket]\nUnmatchedPeers=allow-unsigned\n", ao_req);
        assert_int_equal(reload_from(ao_req, text, &n), -EBADMSG);
        assert_log_contains("ao_required would turn off");
        /* An MD5 prefix turned TCP-AO: refused. */
        snprintf(text, sizeof text, "%s", ao_old);
        char *m = strstr(text, "Secret=md5");
        snprintf(m, sizeof text - (size_t) (m - text), "Algorithm=hmac(sha1)\nSendID=5\nRecvID=5\nSecret=md5\n");
        assert_int_equal(reload_from(ao_old, text, &n), -EBADMSG);
        assert_log_contains("[Key m] 198.51.100.0/24: reload: it moves peers between TCP MD5 and TCP-AO keys");
        /* The MD5 catch-all giving way to a TCP-AO key (UnmatchedPeers= to allow-unsigned in the
         * same reload): the TCP-AO key could not go in beside it, and without it the door is
         * open: refused. */
        static const char md5_only[] = "[Socket]\nListenStream=0.0.0.0:2223\n"
                                       "[Key m]\nPeer=198.51.100.0/24\nSecret=md5\n";
        snprintf(text, sizeof text, "%s", ao_old);
        assert_int_equal(reload_from(md5_only, text, &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_log_contains("[Key a] 192.0.2.0/24: reload: it moves peers between TCP MD5 and TCP-AO keys");
        /* The control: the same TCP-AO key onto a listener without a catch-all is one add. */
        static const char mixed_md5[] = "[Socket]\nListenStream=0.0.0.0:2223\nUnmatchedPeers=allow-unsigned\n"
                                        "[Key m]\nPeer=198.51.100.0/24\nSecret=md5\n";
        assert_int_equal(reload_from(mixed_md5, text, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(calls[0].opt, TCP_AO_ADD_KEY);
        /* Both kinds with UnmatchedPeers=drop: a layout with a side door, refused. */
        snprintf(text, sizeof text, "%s[Socket]\nUnmatchedPeers=drop\n", ao_old);
        assert_int_equal(reload_from(ao_old, text, &n), -EBADMSG);
        assert_int_equal(n, 0);
        assert_log_contains("cannot go on this listener without a side door");
}

/* Under ao_required a new secret under the same IDs is a delete, then an
 * add; when the add fails the old key goes back. */
static void test_ao_same_ids_replaced_under_ao_required(void **state) {
        (void) state;
        char text[1024];
        size_t n;
        assert_int_equal(reload_from(ao_req, edit(text, sizeof text, ao_req, "Secret=one", "Secret=two"), &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(calls[0].opt, TCP_AO_DEL_KEY);
        assert_int_equal(calls[1].opt, TCP_AO_ADD_KEY);
        assert_int_equal(calls[1].first, 't');
        fail_at = 1;
        assert_int_equal(reload_from(ao_req, text, &n), -ENOMEM);
        assert_int_equal(n, 3);
        assert_int_equal(calls[2].opt, TCP_AO_ADD_KEY);
        assert_int_equal(calls[2].first, 'o');
}

/* The split reload: the supervisor refuses a target with a change the
 * child's plan refuses (as a child gone wrong would send), and takes a
 * rollover (the control). */
static void test_install_refuses_unsafe_ao_targets(void **state) {
        (void) state;
        char text[1024], roll[1024];
        Config *cur = parse(ao_old), *next = parse(edit(text, sizeof text, ao_old, "Secret=one", "Secret=two"));
        snprintf(roll, sizeof roll, "%s[Key b]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=2\nRecvID=2\n"
                 "Secret=b\n", ao_old);
        Config *rolled = parse(roll);
        Listener l = { .fd = 99, .address = cur->listen[0].address, .shape = { .family = AF_INET, .ipv4 = true } };
        ListenerSet live = { .v = &l, .n = 1, .catch_all = CA };
        assert_int_equal(plan_keys(cur, l.shape, &CA, &l.keys, &l.n_keys), 0);
        ReloadTarget t = { 0 };
        assert_int_equal(reload_plan(&live, cur, next, &t), -EBADMSG);
        assert_null(t.tables);

        KeyTable ok, changed;
        assert_int_equal(plan_keys(rolled, l.shape, &CA, &ok.v, &ok.n), 0);
        assert_int_equal(plan_keys(next, l.shape, &CA, &changed.v, &changed.n), 0);
        ReloadTarget control = { .tables = &ok, .n = 1, .borrowed = true };
        ReloadTarget forged = { .tables = &changed, .n = 1, .borrowed = true };
        assert_true(reload_target_valid(&live, &control));
        assert_false(reload_target_valid(&live, &forged));
        l.ao_required = true; /* where the same change is allowed */
        assert_true(reload_target_valid(&live, &forged));

        key_table_free(ok.v, ok.n);
        key_table_free(changed.v, changed.n);
        key_table_free(l.keys, l.n_keys);
        config_free(cur);
        config_free(next);
        config_free(rolled);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unchanged_needs_nothing),
                cmocka_unit_test(test_changed_secret_is_one_replace),
                cmocka_unit_test(test_order_adds_replaces_deletes),
                cmocka_unit_test(test_catch_all_replaced_in_place),
                cmocka_unit_test(test_interface_is_identity),
                cmocka_unit_test(test_empty_lists),
                cmocka_unit_test(test_every_step_old_or_new_key),
                cmocka_unit_test(test_one_key_rotation_from_config),
                cmocka_unit_test(test_apply_failure_is_undone_in_reverse),
                cmocka_unit_test(test_apply_keys_each_prefix_in_its_family),
                cmocka_unit_test(test_reload_failure_restores_every_listener),
                cmocka_unit_test(test_rotation_is_recorded_in_place),
                cmocka_unit_test_setup(test_ao_rollover_adds_then_deletes, capture_logs),
                cmocka_unit_test_setup(test_reload_refuses_unsafe_ao_changes, capture_logs),
                cmocka_unit_test_setup(test_ao_same_ids_replaced_under_ao_required, capture_logs),
                cmocka_unit_test_setup(test_install_refuses_unsafe_ao_targets, capture_logs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
