/* Unit tests for accept mode's connection table and peer addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "conntable.h"

static PeerAddr peer(const char *s) {
        PeerAddr p = { .family = strchr(s, ':') ? AF_INET6 : AF_INET };
        assert_int_equal(inet_pton(p.family, s, &p.addr), 1);
        return p;
}

static void test_v4_mapped_is_ipv4(void **state) {
        (void) state;
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(40001) };
        inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
        PeerAddr p;
        uint16_t port;
        char buf[ADDR_STRLEN];
        assert_int_equal(peer_from_sockaddr((struct sockaddr *) &sin6, sizeof sin6, &p, &port), 0);
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(port, 40001);
        peer_format(&p, buf);
        assert_string_equal(buf, "192.0.2.7");
        PeerAddr q = peer("192.0.2.7");
        assert_true(peer_equal(&p, &q));
}

static void test_ipv6_and_ipv4(void **state) {
        (void) state;
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(22) };
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(179) };
        inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
        inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr);
        PeerAddr p;
        uint16_t port;
        char buf[ADDR_STRLEN];
        assert_int_equal(peer_from_sockaddr((struct sockaddr *) &sin6, sizeof sin6, &p, &port), 0);
        peer_format(&p, buf);
        assert_string_equal(buf, "2001:db8::1");
        assert_int_equal(port, 22);
        assert_int_equal(peer_from_sockaddr((struct sockaddr *) &sin, sizeof sin, &p, &port), 0);
        peer_format(&p, buf);
        assert_string_equal(buf, "198.51.100.1");
        assert_int_equal(port, 179);
        /* Short lengths and other families are refused, not read past. */
        assert_int_equal(peer_from_sockaddr((struct sockaddr *) &sin6, sizeof sin, &p, &port), -EAFNOSUPPORT);
        struct sockaddr un = { .sa_family = AF_UNIX };
        assert_int_equal(peer_from_sockaddr(&un, sizeof un, &p, &port), -EAFNOSUPPORT);
}

static void test_families_differ(void **state) {
        (void) state;
        PeerAddr a = peer("::1"), b = peer("0.0.0.1");
        assert_false(peer_equal(&a, &b));
}

/* The limit counts per address, as systemd's MaxConnectionsPerSource does:
 * IPv6 neighbours in one /64 (or /32) are separate sources. */
static void test_ipv6_neighbours_are_separate_sources(void **state) {
        (void) state;
        PeerAddr a = peer("2001:db8::2"), b = peer("2001:db8::3"), a2 = peer("2001:db8::2");
        assert_false(peer_equal(&a, &b));
        assert_true(peer_equal(&a, &a2));
        ConnTable t = { 0 };
        assert_int_equal(conn_table_add(&t, 100, &a), 0);
        assert_int_equal(conn_table_count_source(&t, &b), 0);
        assert_int_equal(conn_table_count_source(&t, &a2), 1);
        conn_table_free(&t);
}

static void test_table_counts(void **state) {
        (void) state;
        ConnTable t = { 0 };
        PeerAddr a = peer("192.0.2.1"), b = peer("2001:db8::1");
        for (pid_t pid = 100; pid < 200; pid++)
                assert_int_equal(conn_table_add(&t, pid, pid % 2 ? &a : &b), 0);
        assert_int_equal(t.n, 100);
        assert_int_equal(conn_table_count_source(&t, &a), 50);
        assert_int_equal(conn_table_count_source(&t, &b), 50);
        assert_true(conn_table_remove(&t, 101));
        assert_false(conn_table_remove(&t, 101));
        assert_false(conn_table_remove(&t, 999));
        assert_int_equal(conn_table_count_source(&t, &a), 49);
        for (pid_t pid = 100; pid < 200; pid++)
                conn_table_remove(&t, pid);
        assert_int_equal(t.n, 0);
        assert_int_equal(conn_table_count_source(&t, &a), 0);
        assert_int_equal(conn_table_reserve(&t), 0);
        assert_true(t.cap >= 1);
        conn_table_free(&t);
        assert_null(t.v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_v4_mapped_is_ipv4),
                cmocka_unit_test(test_ipv6_and_ipv4),
                cmocka_unit_test(test_families_differ),
                cmocka_unit_test(test_ipv6_neighbours_are_separate_sources),
                cmocka_unit_test(test_table_counts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
