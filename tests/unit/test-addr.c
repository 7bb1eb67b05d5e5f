/* Unit tests for listen address and peer prefix syntax. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common.h"
#include "addr.h"

static void listen_forms(void **state) {
        (void) state;
        ListenAddress a;
        char buf[ADDR_STRLEN];
        assert_int_equal(listen_address_parse("2222", &a), 0);
        assert_int_equal(a.family, AF_INET6);
        assert_true(a.port_only);
        assert_true(IN6_IS_ADDR_UNSPECIFIED(&a.addr.in6));
        listen_address_format(&a, buf);
        assert_string_equal(buf, "[::]:2222");

        assert_int_equal(listen_address_parse("0.0.0.0:22", &a), 0);
        assert_int_equal(a.family, AF_INET);
        listen_address_format(&a, buf);
        assert_string_equal(buf, "0.0.0.0:22");

        assert_int_equal(listen_address_parse("[2001:db8::1]:179", &a), 0);
        listen_address_format(&a, buf);
        assert_string_equal(buf, "[2001:db8::1]:179");

        assert_int_equal(listen_address_parse("[fe80::1%eth0]:22", &a), 0);
        assert_string_equal(a.scope, "eth0");
        listen_address_format(&a, buf);
        assert_string_equal(buf, "[fe80::1%eth0]:22");
}

static void listen_errors(void **state) {
        (void) state;
        ListenAddress a;
        static const char *const bad[] = {
                "", "x", "22x", "1.2.3:22", "1.2.3.4", "1.2.3.4:", "[::1]", "[::1]22", "::1:22",
                "[2001:db8::1%eth0]:22", /* scope on a global address */
                "[fe80::1%]:22", "[fe80::1%toolonginterfacename]:22", "-1", "1.2.3.4:22:33",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                if (listen_address_parse(bad[i], &a) != -EINVAL)
                        fail_msg("'%s' accepted or wrong error", bad[i]);
        assert_int_equal(listen_address_parse("0", &a), -ERANGE);
        assert_int_equal(listen_address_parse("65536", &a), -ERANGE);
        assert_int_equal(listen_address_parse("[::]:99999", &a), -ERANGE);
        assert_int_equal(listen_address_parse("65535", &a), 0);
        /* v4-mapped receives IPv4: refused, with the address kept to suggest the IPv4 form. */
        assert_int_equal(listen_address_parse("[::ffff:127.0.0.1]:47011", &a), -EAFNOSUPPORT);
        assert_int_equal(a.port, 47011);
        assert_true(IN6_IS_ADDR_V4MAPPED(&a.addr.in6));
        assert_int_equal(listen_address_parse("[::ffff:0.0.0.0]:22", &a), -EAFNOSUPPORT);
}

static void prefixes(void **state) {
        (void) state;
        Prefix p[2];
        unsigned n;
        char buf[ADDR_STRLEN];
        assert_int_equal(prefix_parse("192.0.2.0/24", p, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(p[0].family, AF_INET);
        assert_int_equal(p[0].len, 24);
        assert_int_equal(prefix_parse("2001:db8::1", p, &n), 0);
        assert_int_equal(p[0].len, 128);
        assert_int_equal(prefix_parse("192.0.2.1", p, &n), 0);
        assert_int_equal(p[0].len, 32);
        assert_int_equal(prefix_parse("any", p, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(p[0].family, AF_INET);
        assert_int_equal(p[1].family, AF_INET6);
        assert_int_equal(p[0].len + p[1].len, 0);
        assert_int_equal(prefix_parse("0.0.0.0/0", p, &n), 0);
        assert_int_equal(prefix_parse("::/0", p, &n), 0);

        /* host bits: refused, with the masked prefix to suggest */
        assert_int_equal(prefix_parse("192.0.2.5/24", p, &n), -EDOM);
        prefix_format(&p[0], buf);
        assert_string_equal(buf, "192.0.2.0/24");
        assert_int_equal(prefix_parse("2001:db8::1/32", p, &n), -EDOM);
        prefix_format(&p[0], buf);
        assert_string_equal(buf, "2001:db8::/32");
        assert_int_equal(prefix_parse("10.0.0.1/31", p, &n), -EDOM);

        assert_int_equal(prefix_parse("::ffff:192.0.2.1", p, &n), -EAFNOSUPPORT);
        assert_int_equal(prefix_parse("192.0.2.0/33", p, &n), -ERANGE);
        assert_int_equal(prefix_parse("::/129", p, &n), -ERANGE);
        assert_int_equal(prefix_parse("192.0.2.0/", p, &n), -EINVAL);
        assert_int_equal(prefix_parse("192.0.2.0/x", p, &n), -EINVAL);
        assert_int_equal(prefix_parse("/24", p, &n), -EINVAL);
        assert_int_equal(prefix_parse("host.example", p, &n), -EINVAL);
        assert_int_equal(prefix_parse("ANY", p, &n), -EINVAL);
}

static void contains_and_order(void **state) {
        (void) state;
        Prefix p[2], q[2];
        unsigned n;
        InAddr a;
        assert_int_equal(prefix_parse("192.0.2.0/25", p, &n), 0);
        inet_pton(AF_INET, "192.0.2.127", &a.in);
        assert_true(prefix_contains(&p[0], AF_INET, &a));
        inet_pton(AF_INET, "192.0.2.128", &a.in);
        assert_false(prefix_contains(&p[0], AF_INET, &a));
        assert_false(prefix_contains(&p[0], AF_INET6, &a));
        assert_int_equal(prefix_parse("192.0.2.0/24", q, &n), 0);
        assert_true(prefix_compare(&p[0], &q[0]) > 0);
        assert_int_equal(prefix_compare(&p[0], &p[0]), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(listen_forms),
                cmocka_unit_test(listen_errors),
                cmocka_unit_test(prefixes),
                cmocka_unit_test(contains_and_order),
        };
        return cmocka_run_group_tests(tests, capture_logs, NULL);
}
