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
 * (status reads them from the socket: drift_ao_expected()), and a listener of MD5 keys beside them
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

/* The TCP-AO keys of the same config, as TCP_AO_GET_KEYS reports them: the
 * IPv4 prefix as AF_INET, the default MAC length filled in, the
 * fingerprint of the config's secret. */
static void expected_ao_keys_are_the_tcp_ao_entries(void **state) {
        (void) state;
        Config *c = config_new("t");
        const char text[] = "[Socket]\nListenStream=2222\nUnmatchedPeers=allow-unsigned\n"
                            "[Key ao]\nPeer=10.0.0.0/8\nAlgorithm=cmac(aes128)\nSendID=4\nRecvID=5\nSecret=a\n"
                            "[Key md5]\nPeer=2001:db8::/32\nSecret=b\n";
        assert_int_equal(config_parse_text(c, "t.conf", text, sizeof text - 1, NULL), 0);
        ListenerShape shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true };
        ExpectedAoKey *v;
        size_t n;
        char addr[ADDR_STRLEN], fp[SECRET_FINGERPRINT_STRLEN];
        Secret s;
        assert_int_equal(drift_ao_expected(c, shape, &v, &n), 0);
        assert_int_equal(n, 1);
        prefix_format(&v[0].prefix, addr);
        assert_string_equal(addr, "10.0.0.0/8");
        assert_string_equal(v[0].name, "ao");
        assert_string_equal(v[0].algorithm, "cmac(aes128)");
        assert_int_equal(v[0].send_id, 4);
        assert_int_equal(v[0].recv_id, 5);
        assert_int_equal(v[0].mac_length, 12);
        assert_int_equal(secret_from_string("a", &s), 0);
        secret_fingerprint(&s, fp);
        assert_string_equal(v[0].fingerprint, fp);
        free(v);
        config_free(c);
}

static ExpectedAoKey want_ao(const char *prefix, const char *alg, unsigned snd, unsigned rcv, unsigned mac) {
        ExpectedAoKey e = { .prefix = pfx(prefix), .send_id = (uint8_t) snd, .recv_id = (uint8_t) rcv,
                            .mac_length = (uint8_t) mac };
        snprintf(e.name, sizeof e.name, "k%u", snd);
        snprintf(e.algorithm, sizeof e.algorithm, "%s", alg);
        return e;
}

static TcpaoKey have_ao(const char *prefix, const char *alg, unsigned snd, unsigned rcv, unsigned mac) {
        TcpaoKey k = { .prefix = pfx(prefix), .send_id = (uint8_t) snd, .recv_id = (uint8_t) rcv,
                       .mac_length = (uint8_t) mac };
        snprintf(k.algorithm, sizeof k.algorithm, "%s", alg);
        return k;
}

/* Matched on prefix and both IDs; the kernel's "cmac(aes)" is the
 * config's cmac(aes128); another algorithm or MAC length is OTHER MAC. */
static void ao_keys_match_on_prefix_and_ids(void **state) {
        (void) state;
        ExpectedAoKey w[] = { want_ao("10.0.0.0/8", "cmac(aes128)", 1, 1, 12), want_ao("10.0.0.0/8", "hmac(sha1)", 2, 2, 12),
                              want_ao("10.0.0.0/8", "hmac(sha1)", 3, 3, 12), want_ao("10.0.0.0/8", "hmac(sha1)", 4, 5, 12),
                              want_ao("192.0.2.0/24", "hmac(sha1)", 6, 6, 12) };
        TcpaoKey h[] = { have_ao("10.0.0.0/8", "cmac(aes)", 1, 1, 12), have_ao("10.0.0.0/8", "hmac(sha256)", 2, 2, 12),
                         have_ao("10.0.0.0/8", "hmac(sha1)", 3, 3, 16), have_ao("10.0.0.0/8", "hmac(sha1)", 4, 4, 12),
                         have_ao("192.0.2.0/24", "hmac(sha1)", 6, 6, 12) };
        AoDriftLine *v;
        size_t n;
        assert_int_equal(drift_ao_diff(w, 5, h, 5, &v, &n), 0);
        assert_int_equal(n, 6);
        DriftKind kinds[] = { DRIFT_IN_SYNC, DRIFT_OTHER_MAC, DRIFT_OTHER_MAC, DRIFT_EXTRA, DRIFT_MISSING, DRIFT_IN_SYNC };
        for (size_t i = 0; i < n; i++)
                assert_int_equal(v[i].kind, kinds[i]);
        assert_true(v[3].has_have && !v[3].has_want && v[3].have.recv_id == 4);
        assert_true(v[4].has_want && !v[4].has_have && v[4].want.recv_id == 5);
        assert_string_equal(v[5].want.name, "k6");
        assert_true(drift_kind_differs(DRIFT_OTHER_MAC));
        free(v);
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
                cmocka_unit_test(expected_ao_keys_are_the_tcp_ao_entries),
                cmocka_unit_test(ao_keys_match_on_prefix_and_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
