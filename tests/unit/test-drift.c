/* Unit tests for the comparison behind --status: what a listener should
 * hold (from the config, as the kernel reports it) against what it holds. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "drift.h"

static Prefix pfx(const char *s) {
        Prefix p[2];
        unsigned n;
        assert_int_equal(prefix_parse(s, p, &n), 0);
        return p[0];
}

static ExpectedKey want(const char *prefix, const char *name, const char *fp) {
        ExpectedKey e = { .prefix = pfx(prefix) };
        snprintf(e.name, sizeof e.name, "%s", name);
        snprintf(e.fingerprint, sizeof e.fingerprint, "%s", fp);
        return e;
}

static DiagKey have(const char *prefix, const char *fp) {
        DiagKey k = { .prefix = pfx(prefix) };
        snprintf(k.fingerprint, sizeof k.fingerprint, "%s", fp);
        return k;
}

static DriftLine *diff(const ExpectedKey *w, size_t nw, const DiagKey *h, size_t nh, size_t *ret_n) {
        DriftLine *v;
        assert_int_equal(drift_diff(w, nw, h, nh, &v, ret_n), 0);
        return v;
}

static void same_keys_are_in_sync_and_the_catch_all_is_not_drift(void **state) {
        (void) state;
        ExpectedKey w[] = { want("0.0.0.0/0", "", ""), want("10.0.0.0/8", "office", "aaaa") };
        DiagKey h[] = { have("0.0.0.0/0", "rrrr"), have("10.0.0.0/8", "aaaa") };
        size_t n;
        DriftLine *v = diff(w, 2, h, 2, &n);
        assert_int_equal(n, 2);
        assert_int_equal(v[0].kind, DRIFT_CATCH_ALL);
        assert_true(v[0].catch_all);
        assert_int_equal(v[1].kind, DRIFT_IN_SYNC);
        assert_string_equal(v[1].name, "office");
        assert_false(drift_kind_differs(v[0].kind) || drift_kind_differs(v[1].kind));
        free(v);
}

static void missing_extra_and_changed_prefixes_are_named(void **state) {
        (void) state;
        ExpectedKey w[] = { want("10.0.0.0/8", "office", "aaaa"), want("192.0.2.0/24", "partner", "bbbb") };
        DiagKey h[] = { have("10.0.0.0/8", "cccc"), have("198.51.100.0/24", "aaaa") };
        size_t n;
        DriftLine *v = diff(w, 2, h, 2, &n);
        assert_int_equal(n, 3);
        assert_int_equal(v[0].kind, DRIFT_OTHER_KEY);
        assert_string_equal(v[0].fingerprint, "cccc"); /* what the kernel holds */
        assert_int_equal(v[1].kind, DRIFT_MISSING);
        assert_string_equal(v[1].name, "partner");
        assert_string_equal(v[1].fingerprint, "bbbb");
        assert_int_equal(v[2].kind, DRIFT_EXTRA);
        assert_string_equal(v[2].name, "");
        for (size_t i = 0; i < n; i++)
                assert_true(drift_kind_differs(v[i].kind));
        free(v);
}

static void a_catch_all_holding_a_known_secret_is_drift(void **state) {
        (void) state;
        ExpectedKey w[] = { want("::/0", "", ""), want("2001:db8::/32", "office", "aaaa") };
        DiagKey h[] = { have("::/0", "aaaa"), have("2001:db8::/32", "aaaa") };
        size_t n;
        DriftLine *v = diff(w, 2, h, 2, &n);
        assert_int_equal(v[0].kind, DRIFT_OTHER_KEY);
        assert_int_equal(v[1].kind, DRIFT_IN_SYNC);
        free(v);
}

static void an_unreadable_credential_is_unverified_not_drift(void **state) {
        (void) state;
        ExpectedKey w[] = { want("10.0.0.0/8", "office", "") };
        DiagKey h[] = { have("10.0.0.0/8", "aaaa") };
        size_t n;
        DriftLine *v = diff(w, 1, h, 1, &n);
        assert_int_equal(v[0].kind, DRIFT_UNVERIFIED);
        assert_false(drift_kind_differs(v[0].kind));
        free(v);
}

static void nothing_installed_is_all_missing(void **state) {
        (void) state;
        ExpectedKey w[] = { want("0.0.0.0/0", "", ""), want("10.0.0.0/8", "office", "aaaa") };
        size_t n;
        DriftLine *v = diff(w, 2, NULL, 0, &n);
        assert_int_equal(n, 2);
        assert_int_equal(v[0].kind, DRIFT_MISSING);
        assert_true(v[0].catch_all);
        assert_int_equal(v[1].kind, DRIFT_MISSING);
        free(v);
}

/* The plan of a dual-stack listener, as sock_diag reports it: IPv4
 * prefixes as AF_INET (not v4-mapped), catch-alls for both families. */
static void expected_keys_follow_the_kernels_spelling(void **state) {
        (void) state;
        Config *c = config_new("t");
        const char text[] = "[Socket]\nListenStream=2222\n[Key office]\nPeer=10.0.0.0/8\nPeer=2001:db8::/32\n"
                            "SecretHex=6f6666696365\n";
        assert_int_equal(config_parse_text(c, "t.conf", text, sizeof text - 1, NULL), 0);
        ListenerShape shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true };
        ExpectedKey *v;
        size_t n;
        char addr[ADDR_STRLEN], fp[SECRET_FINGERPRINT_STRLEN];
        Secret s;
        assert_int_equal(drift_expected(c, shape, &v, &n), 0);
        assert_int_equal(n, 4);
        const char *order[] = { "0.0.0.0/0", "10.0.0.0/8", "::/0", "2001:db8::/32" };
        for (size_t i = 0; i < n; i++) {
                prefix_format(&v[i].prefix, addr);
                assert_string_equal(addr, order[i]);
        }
        assert_string_equal(v[0].name, "");
        assert_string_equal(v[0].fingerprint, "");
        assert_int_equal(secret_from_string("office", &s), 0);
        secret_fingerprint(&s, fp);
        assert_string_equal(v[1].fingerprint, fp);
        assert_string_equal(v[3].fingerprint, fp);
        free(v);
        config_free(c);
}

/* sock_diag reports TCP MD5 keys only: TCP-AO keys are not expected there
 * (status says so instead), and a listener of MD5 keys beside them
 * (UnmatchedPeers=allow-unsigned) expects just those. */
static void tcp_ao_keys_are_not_expected(void **state) {
        (void) state;
        Config *c = config_new("t");
        const char text[] = "[Socket]\nListenStream=2222\nUnmatchedPeers=allow-unsigned\n"
                            "[Key ao]\nPeer=10.0.0.0/8\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=a\n"
                            "[Key md5]\nPeer=2001:db8::/32\nSecret=b\n";
        assert_int_equal(config_parse_text(c, "t.conf", text, sizeof text - 1, NULL), 0);
        ListenerShape shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true };
        ExpectedKey *v;
        size_t n;
        assert_int_equal(drift_expected(c, shape, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].name, "md5");
        free(v);
        config_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(same_keys_are_in_sync_and_the_catch_all_is_not_drift),
                cmocka_unit_test(missing_extra_and_changed_prefixes_are_named),
                cmocka_unit_test(a_catch_all_holding_a_known_secret_is_drift),
                cmocka_unit_test(an_unreadable_credential_is_unverified_not_drift),
                cmocka_unit_test(nothing_installed_is_all_missing),
                cmocka_unit_test(expected_keys_follow_the_kernels_spelling),
                cmocka_unit_test(tcp_ao_keys_are_not_expected),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
