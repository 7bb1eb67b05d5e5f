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

#include "config.h"
#include "plan.h"
#include "reload.h"

/* ---- building entries ---- */

static Secret S1 = { .bytes = "one", .len = 3 }, S2 = { .bytes = "two", .len = 3 }, CA = { .bytes = "rnd", .len = 3 };

static KeyEntry v4(const char *a, uint8_t len, const Secret *s) {
        KeyEntry e = { .family = AF_INET, .prefixlen = len, .secret = s };
        inet_pton(AF_INET, a, &e.addr.in);
        return e;
}

static KeyEntry v6(const char *a, uint8_t len, const Secret *s) {
        KeyEntry e = { .family = AF_INET6, .prefixlen = len, .secret = s };
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

/* ---- the catch-all rule through every intermediate state ---- */

typedef struct Model {
        KeyEntry v[64];
        size_t n;
} Model;

static size_t model_find(const Model *m, const KeyEntry *e) {
        for (size_t i = 0; i < m->n; i++)
                if (m->v[i].family == e->family && m->v[i].prefixlen == e->prefixlen &&
                    m->v[i].ifindex == e->ifindex && memcmp(&m->v[i].addr, &e->addr, sizeof e->addr) == 0)
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

static bool model_covers_all(const Model *m) {
        bool any4 = false, any6 = false;
        for (size_t i = 0; i < m->n; i++) {
                any4 |= m->v[i].family == AF_INET && m->v[i].prefixlen == 0 && !m->v[i].ifindex;
                any6 |= m->v[i].family == AF_INET6 && m->v[i].prefixlen == 0 && !m->v[i].ifindex;
        }
        return any4 && any6;
}

/* Random old and new plans, each with both families covered: the diff,
 * played step by step, never passes through a state without a prefix-0
 * key per family, and ends exactly at the new plan. */
static void test_catch_all_rule_every_step(void **state) {
        (void) state;
        static const char *const addrs4[] = { "10.0.0.0", "10.1.0.0", "192.0.2.0", "0.0.0.0" };
        static const char *const addrs6[] = { "2001:db8::", "2001:db8:1::", "::" };
        const Secret *secrets[] = { &S1, &S2, &CA };
        srand(1);
        for (int round = 0; round < 2000; round++) {
                KeyEntry lists[2][8];
                size_t n[2];
                for (int l = 0; l < 2; l++) {
                        n[l] = 0;
                        lists[l][n[l]++] = v4("0.0.0.0", 0, secrets[rand() % 3]);
                        lists[l][n[l]++] = v6("::", 0, secrets[rand() % 3]);
                        for (size_t i = 0; i < 3; i++)
                                if (rand() % 2)
                                        lists[l][n[l]++] = v4(addrs4[i], (uint8_t) (8 + 8 * (i > 0)), secrets[rand() % 3]);
                        for (size_t i = 0; i < 2; i++)
                                if (rand() % 2)
                                        lists[l][n[l]++] = v6(addrs6[i], 32, secrets[rand() % 3]);
                }
                ReloadStep *s;
                size_t ns;
                diff(lists[0], n[0], lists[1], n[1], &s, &ns);
                Model m = { .n = n[0] };
                memcpy(m.v, lists[0], n[0] * sizeof(KeyEntry));
                for (size_t i = 0; i < ns; i++) {
                        model_step(&m, &s[i]);
                        assert_true(model_covers_all(&m));
                }
                assert_int_equal(m.n, n[1]);
                for (size_t i = 0; i < n[1]; i++) {
                        size_t k = model_find(&m, &lists[1][i]);
                        assert_true(k != SIZE_MAX);
                        assert_ptr_equal(m.v[k].secret, lists[1][i].secret);
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
        ListenerShape shape = { .family = AF_INET6, .dual_stack = true };
        KeyEntry *o, *n;
        size_t no, nn, ns;
        ReloadStep *s;
        assert_int_equal(plan_keys(a, shape, &CA, &o, &no), 0);
        assert_int_equal(plan_keys(b, shape, &CA, &n, &nn), 0);
        assert_int_equal(no, 5); /* 3 prefixes + 2 catch-alls */
        diff(o, no, n, nn, &s, &ns);
        assert_int_equal(ns, 1);
        assert_int_equal(s[0].op, RELOAD_REPLACE);
        assert_string_equal(s[0].new->key->name, "lab");
        free(s);
        free(o);
        free(n);
        config_free(a);
        config_free(b);
}

/* ---- applying, with a setsockopt that fails on demand ---- */

typedef struct Call {
        uint8_t prefixlen;
        uint16_t keylen;
        char first;
} Call;

static Call calls[64];
static size_t n_calls;
static size_t fail_at = SIZE_MAX;

int __wrap_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);
int __wrap_setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
        (void) fd;
        (void) level;
        assert_int_equal(opt, TCP_MD5SIG_EXT);
        assert_int_equal(len, sizeof(struct tcp_md5sig));
        const struct tcp_md5sig *sig = val;
        if (n_calls == fail_at) {
                n_calls++;
                errno = ENOMEM;
                return -1;
        }
        calls[n_calls++] = (Call) { sig->tcpm_prefixlen, sig->tcpm_keylen, (char) sig->tcpm_key[0] };
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unchanged_needs_nothing),
                cmocka_unit_test(test_changed_secret_is_one_replace),
                cmocka_unit_test(test_order_adds_replaces_deletes),
                cmocka_unit_test(test_catch_all_replaced_in_place),
                cmocka_unit_test(test_interface_is_identity),
                cmocka_unit_test(test_empty_lists),
                cmocka_unit_test(test_catch_all_rule_every_step),
                cmocka_unit_test(test_one_key_rotation_from_config),
                cmocka_unit_test(test_apply_failure_is_undone_in_reverse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
