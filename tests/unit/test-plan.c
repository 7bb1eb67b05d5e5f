/* Unit tests for the key plan: which entries each kind of listener gets,
 * including v4-mapped entries and the catch-all keys. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common.h"
#include "config.h"
#include "plan.h"

static Config *c;
static const Secret catch_all = { .len = 80 };

static int setup(void **state) {
        capture_logs(state);
        c = config_new("plan");
        return c ? 0 : -1;
}
static int teardown(void **state) {
        (void) state;
        config_free(c);
        return 0;
}

static void load(const char *text) {
        assert_int_equal(config_parse_text(c, "p.conf", text, strlen(text), NULL), 0);
}

static bool same_secret(const Secret *a, const Secret *b) {
        return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* The plan as text, one "prefix key" per line, for easy comparison. */
static char *plan_text(ListenerShape shape) {
        static char out[4096];
        KeyEntry *e;
        size_t n;
        assert_int_equal(plan_keys(c, shape, &catch_all, &e, &n), 0);
        out[0] = 0;
        for (size_t i = 0; i < n; i++) {
                char buf[ADDR_STRLEN];
                key_entry_format(&e[i], buf);
                snprintf(out + strlen(out), sizeof out - strlen(out), "%s %s%s\n", buf,
                         e[i].name[0] ? e[i].name : "*", same_secret(&e[i].secret, &catch_all) ? "(random)" : "");
        }
        key_table_free(e, n);
        return out;
}

#define V4 ((ListenerShape) { .family = AF_INET, .ipv4 = true })
#define V6 ((ListenerShape) { .family = AF_INET6, .ipv6 = true })
#define DUAL ((ListenerShape) { .family = AF_INET6, .ipv4 = true, .ipv6 = true })
#define MAPPED ((ListenerShape) { .family = AF_INET6, .ipv4 = true })

static const char two_families[] = "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=a\n"
                                   "[Key lab]\nPeer=198.51.100.7\nSecret=b\n";

static void ipv4_listener(void **state) {
        (void) state;
        load(two_families);
        assert_string_equal(plan_text(V4),
                            "192.0.2.0/24 office\n198.51.100.7/32 lab\n0.0.0.0/0 *(random)\n");
}

static void dual_stack_listener(void **state) {
        (void) state;
        load(two_families);
        /* IPv4 prefixes as v4-mapped with the IPv4 length, and both catch-alls:
         * ::/0 alone would leave every IPv4 peer unsigned. */
        assert_string_equal(plan_text(DUAL),
                            "::ffff:192.0.2.0/24 office\n2001:db8::/32 office\n::ffff:198.51.100.7/32 lab\n"
                            "::/0 *(random)\n::ffff:0.0.0.0/0 *(random)\n");
}

static void ipv6_only_listener(void **state) {
        (void) state;
        load(two_families);
        assert_string_equal(plan_text(V6), "2001:db8::/32 office\n::/0 *(random)\n");
}

/* Whatever reaches a v4-mapped socket is IPv4: IPv4 keys and the IPv4
 * catch-all, never the ::/0 one alone. */
static void mapped_listener(void **state) {
        (void) state;
        load(two_families);
        assert_string_equal(plan_text(MAPPED),
                            "::ffff:192.0.2.0/24 office\n::ffff:198.51.100.7/32 lab\n::ffff:0.0.0.0/0 *(random)\n");
}

static ListenerShape shape_of(const char *listen, bool v6only) {
        ListenAddress a;
        int r = listen_address_parse(listen, &a);
        assert_true(r == 0 || r == -EAFNOSUPPORT);
        return listener_shape(&a, v6only);
}
#define assert_shape(s, fam, v4, v6) \
        do { \
                ListenerShape _s = (s); \
                assert_int_equal(_s.family, fam); \
                assert_int_equal(_s.ipv4, v4); \
                assert_int_equal(_s.ipv6, v6); \
        } while (0)

/* The reception set of every listen form, from the address and IPV6_V6ONLY. */
static void shapes(void **state) {
        (void) state;
        assert_shape(shape_of("127.0.0.1:1", false), AF_INET, true, false);
        assert_shape(shape_of("0.0.0.0:1", false), AF_INET, true, false);
        assert_shape(shape_of("[2001:db8::1]:1", false), AF_INET6, false, true);
        assert_shape(shape_of("[::]:1", false), AF_INET6, true, true);
        assert_shape(shape_of("[::]:1", true), AF_INET6, false, true);
        assert_shape(shape_of("1", false), AF_INET6, true, true);
        assert_shape(shape_of("[fe80::1%lo]:1", false), AF_INET6, false, true);
        assert_shape(shape_of("[::ffff:127.0.0.1]:1", false), AF_INET6, true, false);
        assert_shape(shape_of("[::ffff:0.0.0.0]:1", false), AF_INET6, true, false);
}

static void prefix_zero_replaces_catch_all(void **state) {
        (void) state;
        load("[Key world]\nPeer=0.0.0.0/0\nSecret=a\n[Key lab]\nPeer=2001:db8::1\nSecret=b\n");
        assert_string_equal(plan_text(DUAL),
                            "::ffff:0.0.0.0/0 world\n2001:db8::1/128 lab\n::/0 *(random)\n");
}

static void any_covers_both(void **state) {
        (void) state;
        load("[Key all]\nPeer=any\nSecret=a\n");
        assert_string_equal(plan_text(DUAL), "::ffff:0.0.0.0/0 all\n::/0 all\n");
        assert_string_equal(plan_text(V4), "0.0.0.0/0 all\n");
}

static void interface_bound_prefix_zero_keeps_catch_all(void **state) {
        (void) state;
        load("[Key vrf]\nPeer=0.0.0.0/0\nSecret=a\nInterface=blue\n");
        config_find_key(c, "vrf")->ifindex = 7; /* as config_resolve would */
        assert_string_equal(plan_text(V4), "0.0.0.0/0 vrf\n0.0.0.0/0 *(random)\n");
}

static void allow_unsigned_has_no_catch_all(void **state) {
        (void) state;
        load("[Socket]\nUnmatchedPeers=allow-unsigned\n[Key a]\nPeer=192.0.2.1\nSecret=a\n");
        assert_string_equal(plan_text(DUAL), "::ffff:192.0.2.1/32 a\n");
}

static void mapped_entry_bytes(void **state) {
        (void) state;
        load("[Key a]\nPeer=192.0.2.1\nSecret=a\n");
        KeyEntry *e;
        size_t n;
        assert_int_equal(plan_keys(c, DUAL, &catch_all, &e, &n), 0);
        struct in6_addr want;
        inet_pton(AF_INET6, "::ffff:192.0.2.1", &want);
        assert_int_equal(e[0].family, AF_INET6);
        assert_memory_equal(&e[0].addr.in6, &want, 16);
        assert_int_equal(e[0].prefixlen, 32);
        assert_true(same_secret(&e[0].secret, &config_find_key(c, "a")->secret));
        assert_string_equal(e[0].name, "a");
        key_table_free(e, n);
}

static KeyConfig *key_for(const char *addr) {
        InAddr a;
        int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(family, addr, &a), 1);
        return plan_key_for_peer(c, family, &a);
}

/* The client picks its key as the server's kernel does: the longest
 * prefix that holds the address, whatever the order in the file. */
static void client_longest_prefix(void **state) {
        (void) state;
        load("[Key wide]\nPeer=192.0.2.0/24\nPeer=any\nSecret=a\n"
             "[Key host]\nPeer=192.0.2.7\nSecret=b\n"
             "[Key mid]\nPeer=192.0.2.0/28\nPeer=2001:db8::/32\nSecret=c\n"
             "[Key six]\nPeer=2001:db8:1::/48\nSecret=d\n");
        assert_string_equal(key_for("192.0.2.7")->name, "host");
        assert_string_equal(key_for("192.0.2.8")->name, "mid");
        assert_string_equal(key_for("192.0.2.200")->name, "wide");
        assert_string_equal(key_for("198.51.100.1")->name, "wide");   /* any */
        assert_string_equal(key_for("2001:db8:1::1")->name, "six");
        assert_string_equal(key_for("2001:db8:2::1")->name, "mid");
        assert_string_equal(key_for("::1")->name, "wide");
}

static void client_no_key(void **state) {
        (void) state;
        load("[Key a]\nPeer=192.0.2.0/24\nSecret=a\n");
        assert_null(key_for("198.51.100.1"));
        assert_null(key_for("::ffff:192.0.2.1")); /* IPv6 never matches an IPv4 prefix */
        assert_non_null(key_for("192.0.2.1"));
}

/* keys_for ADDR: the names plan_keys_for_peer() offers, newest first,
 * space-separated; at most 2 taken, the count after a slash. */
static const char *keys_for(const char *addr) {
        static char out[256];
        InAddr a;
        KeyConfig *k[2];
        int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(family, addr, &a), 1);
        size_t n = plan_keys_for_peer(c, family, &a, k, 2);
        out[0] = 0;
        for (size_t i = 0; i < n && i < 2; i++)
                snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " " : "", k[i]->name);
        snprintf(out + strlen(out), sizeof out - strlen(out), "/%zu", n);
        return out;
}

/* A rollover: every key of the longest prefix, the later section first. */
static void client_rollover_offers_every_key_of_the_longest_prefix(void **state) {
        (void) state;
        load("[Key old]\nPeer=192.0.2.0/24\nSecret=a\n"
             "[Key wide]\nPeer=any\nSecret=w\n"
             "[Key new]\nPeer=2001:db8::/32\nPeer=192.0.2.0/24\nSecret=b\n"
             "[Key host]\nPeer=192.0.2.7\nSecret=c\n"
             "[Key third]\nPeer=198.51.100.0/24\nSecret=d\n"
             "[Key fourth]\nPeer=198.51.100.0/24\nSecret=e\n"
             "[Key fifth]\nPeer=198.51.100.0/24\nSecret=f\n");
        assert_string_equal(keys_for("192.0.2.8"), "new old/2");
        assert_string_equal(keys_for("192.0.2.7"), "host/1");          /* a longer prefix alone */
        assert_string_equal(keys_for("2001:db8::1"), "new/1");
        assert_string_equal(keys_for("203.0.113.1"), "wide/1");
        assert_string_equal(keys_for("198.51.100.1"), "fifth fourth/3"); /* the count beyond max */
}

static void client_rollover_no_key(void **state) {
        (void) state;
        load("[Key a]\nPeer=192.0.2.0/24\nSecret=a\n[Key b]\nPeer=192.0.2.0/24\nSecret=b\n");
        assert_string_equal(keys_for("198.51.100.1"), "/0");
        assert_string_equal(keys_for("::ffff:192.0.2.1"), "/0");
}

/* ---- TCP-AO ---- */

static const char ao_rollover[] = "[Key k1]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=2\nSecret=a\n"
                                  "[Key k2]\nPeer=192.0.2.0/24\nAlgorithm=cmac(aes128)\nSendID=3\nRecvID=4\n"
                                  "MACLength=16\nSecret=b\n"
                                  "[Key v6]\nPeer=2001:db8::/32\nAlgorithm=hmac(sha256)\nSendID=5\nRecvID=5\nSecret=c\n";

/* AO keys carry their IDs and MAC, v4-mapped on dual-stack like MD5 keys;
 * the listener gets ao_required instead of catch-all keys. */
static void ao_listener(void **state) {
        (void) state;
        KeyEntry *e;
        size_t n;
        load(ao_rollover);
        assert_string_equal(plan_text(DUAL), "::ffff:192.0.2.0/24 k1\n::ffff:192.0.2.0/24 k2\n2001:db8::/32 v6\n");
        assert_true(plan_ao_required(c, DUAL));
        assert_int_equal(plan_keys(c, DUAL, &catch_all, &e, &n), 0);
        assert_true(key_entry_is_ao(&e[0]));
        assert_string_equal(e[0].algorithm, "hmac(sha1)");
        assert_int_equal(e[0].send_id, 1);
        assert_int_equal(e[0].recv_id, 2);
        assert_int_equal(e[0].mac_length, 0);
        assert_string_equal(e[1].algorithm, "cmac(aes128)");
        assert_int_equal(e[1].mac_length, 16);
        assert_int_equal(e[0].prefixlen, 24);
        key_table_free(e, n);
        /* An IPv4 listener: the IPv4 keys, ao_required. */
        assert_string_equal(plan_text(V4), "192.0.2.0/24 k1\n192.0.2.0/24 k2\n");
        assert_true(plan_ao_required(c, V4));
}

/* No TCP-AO key reaches an IPv6-only listener of an IPv4-only AO config:
 * it is an MD5 listener without keys, closed by the catch-all. */
static void ao_keys_of_other_family(void **state) {
        (void) state;
        load("[Key k1]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=a\n");
        assert_string_equal(plan_text(V6), "::/0 *(random)\n");
        assert_false(plan_ao_required(c, V6));
}

/* Both kinds on one listener: refused with UnmatchedPeers=drop (no layout
 * closes the side door), taken without catch-all or ao_required when the
 * config allows unsigned peers. */
static void ao_and_md5_on_one_listener(void **state) {
        (void) state;
        const KeyConfig *ao, *md5;
        KeyEntry *e = NULL;
        size_t n = 0;
        load("[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=a\n"
             "[Key m]\nPeer=198.51.100.0/24\nSecret=m\n[Key m6]\nPeer=2001:db8::/32\nSecret=m\n");
        assert_true(plan_mixed_refused(c, V4, &ao, &md5));
        assert_string_equal(ao->name, "a");
        assert_string_equal(md5->name, "m");
        assert_int_equal(plan_keys(c, V4, &catch_all, &e, &n), -EXDEV);
        assert_true(plan_mixed_refused(c, DUAL, &ao, &md5));
        /* IPv6 peers are MD5 only: that listener is fine. */
        assert_false(plan_mixed_refused(c, V6, &ao, &md5));
        assert_string_equal(plan_text(V6), "2001:db8::/32 m6\n::/0 *(random)\n");
        load("[Socket]\nUnmatchedPeers=allow-unsigned\n");
        assert_false(plan_mixed_refused(c, V4, &ao, &md5));
        assert_false(plan_ao_required(c, V4));
        assert_string_equal(plan_text(V4), "192.0.2.0/24 a\n198.51.100.0/24 m\n");
}

/* The client sends with the last of the keys sharing the longest prefix,
 * and holds every TCP-AO key for the peer. */
static void client_ao_current_key(void **state) {
        (void) state;
        KeyConfig *v[4];
        load(ao_rollover);
        load("[Key wide]\nPeer=192.0.0.0/16\nAlgorithm=hmac(sha1)\nSendID=9\nRecvID=9\nSecret=w\n");
        assert_string_equal(key_for("192.0.2.1")->name, "k2");
        assert_string_equal(key_for("192.0.3.1")->name, "wide");
        InAddr a;
        assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &a.in), 1);
        assert_int_equal(plan_ao_keys_for_peer(c, AF_INET, &a, v, 4), 3);
        assert_string_equal(v[0]->name, "k1");
        assert_string_equal(v[1]->name, "k2");
        assert_string_equal(v[2]->name, "wide");
        assert_int_equal(plan_ao_keys_for_peer(c, AF_INET, &a, v, 1), 3); /* counts past max */
}

/* A TCP-AO key for every IPv4 peer fits an IPv4 listener and an IPv6 one
 * (its ::/0 half), but not a socket taking IPv4 as v4-mapped: the kernel
 * refuses ::ffff:0.0.0.0 for TCP-AO. */
static void ao_any_on_dual_stack_refused(void **state) {
        (void) state;
        KeyEntry *e = NULL;
        size_t n = 0;
        load("[Key all]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=a\n");
        assert_string_equal(plan_text(V4), "0.0.0.0/0 all\n");
        assert_string_equal(plan_text(V6), "::/0 all\n");
        assert_null(plan_ao_v4_any_on_v6(c, V4));
        assert_null(plan_ao_v4_any_on_v6(c, V6));
        assert_string_equal(plan_ao_v4_any_on_v6(c, DUAL)->name, "all");
        assert_string_equal(plan_ao_v4_any_on_v6(c, MAPPED)->name, "all");
        assert_int_equal(plan_keys(c, DUAL, &catch_all, &e, &n), -EXDEV);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(ipv4_listener, setup, teardown),
                cmocka_unit_test_setup_teardown(dual_stack_listener, setup, teardown),
                cmocka_unit_test_setup_teardown(mapped_listener, setup, teardown),
                cmocka_unit_test(shapes),
                cmocka_unit_test_setup_teardown(ipv6_only_listener, setup, teardown),
                cmocka_unit_test_setup_teardown(prefix_zero_replaces_catch_all, setup, teardown),
                cmocka_unit_test_setup_teardown(any_covers_both, setup, teardown),
                cmocka_unit_test_setup_teardown(interface_bound_prefix_zero_keeps_catch_all, setup, teardown),
                cmocka_unit_test_setup_teardown(allow_unsigned_has_no_catch_all, setup, teardown),
                cmocka_unit_test_setup_teardown(mapped_entry_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(client_longest_prefix, setup, teardown),
                cmocka_unit_test_setup_teardown(client_no_key, setup, teardown),
                cmocka_unit_test_setup_teardown(client_rollover_offers_every_key_of_the_longest_prefix, setup, teardown),
                cmocka_unit_test_setup_teardown(client_rollover_no_key, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_listener, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_keys_of_other_family, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_and_md5_on_one_listener, setup, teardown),
                cmocka_unit_test_setup_teardown(client_ao_current_key, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_any_on_dual_stack_refused, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
