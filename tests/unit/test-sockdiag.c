/* Unit tests for the parsing of sock_diag answers: the inet_diag_msg
 * header, the INET_DIAG_MD5SIG attribute among others, keys fingerprinted
 * as --check fingerprints them and sorted, and malformed input refused. */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "sockdiag.h"

static struct tcp_diag_md5sig md5_entry(int family, const char *addr, uint8_t len, const char *secret) {
        struct tcp_diag_md5sig m = { .tcpm_family = (uint8_t) family, .tcpm_prefixlen = len,
                                     .tcpm_keylen = (uint16_t) strlen(secret) };
        inet_pton(family, addr, m.tcpm_addr);
        memcpy(m.tcpm_key, secret, strlen(secret));
        return m;
}

static void fingerprint_of(const char *secret, char fp[static SECRET_FINGERPRINT_STRLEN]) {
        Secret s;
        assert_int_equal(secret_from_string(secret, &s), 0);
        secret_fingerprint(&s, fp);
}

/* A message as the kernel sends it: header, then attributes; an
 * INET_DIAG_INFO one first, to be skipped. Returns its length. */
static size_t build_msg(uint8_t *buf, const struct tcp_diag_md5sig *keys, size_t n) {
        struct inet_diag_msg m = { .idiag_family = AF_INET6, .idiag_state = 10, .idiag_inode = 4242,
                                   .idiag_uid = 7 };
        m.id.idiag_sport = htons(2222);
        memcpy(buf, &m, sizeof m);
        size_t off = NLMSG_ALIGN(sizeof m);
        struct rtattr *a = (struct rtattr *) (buf + off);
        a->rta_type = INET_DIAG_INFO;
        a->rta_len = RTA_LENGTH(6);
        memset(RTA_DATA(a), 0xee, 6);
        off += RTA_ALIGN(a->rta_len);
        a = (struct rtattr *) (buf + off);
        a->rta_type = INET_DIAG_MD5SIG;
        a->rta_len = (unsigned short) RTA_LENGTH(n * sizeof *keys);
        memcpy(RTA_DATA(a), keys, n * sizeof *keys);
        return off + RTA_ALIGN(a->rta_len);
}

static void keys_are_fingerprinted_and_sorted(void **state) {
        (void) state;
        struct tcp_diag_md5sig keys[] = {
                md5_entry(AF_INET6, "::1", 128, "office-secret"),
                md5_entry(AF_INET, "127.0.0.0", 8, "office-secret"),
                md5_entry(AF_INET, "0.0.0.0", 0, "random-bytes"),
        };
        uint8_t buf[1024] = { 0 };
        size_t len = build_msg(buf, keys, 3);
        DiagSocket s;
        char office[SECRET_FINGERPRINT_STRLEN], random[SECRET_FINGERPRINT_STRLEN], addr[ADDR_STRLEN];
        assert_int_equal(sockdiag_parse(buf, len, &s), 0);
        assert_int_equal(s.family, AF_INET6);
        assert_int_equal(s.local_port, 2222);
        assert_int_equal(s.inode, 4242);
        assert_int_equal(s.n_keys, 3);
        fingerprint_of("office-secret", office);
        fingerprint_of("random-bytes", random);
        prefix_format(&s.keys[0].prefix, addr);
        assert_string_equal(addr, "0.0.0.0/0");
        assert_string_equal(s.keys[0].fingerprint, random);
        prefix_format(&s.keys[1].prefix, addr);
        assert_string_equal(addr, "127.0.0.0/8");
        assert_string_equal(s.keys[1].fingerprint, office);
        prefix_format(&s.keys[2].prefix, addr);
        assert_string_equal(addr, "::1/128");
        assert_string_equal(s.keys[2].fingerprint, office);
        diag_socket_done(&s);
}

static void no_md5_attribute_is_no_keys(void **state) {
        (void) state;
        uint8_t buf[256] = { 0 };
        struct inet_diag_msg m = { .idiag_family = AF_INET };
        memcpy(buf, &m, sizeof m);
        DiagSocket s;
        assert_int_equal(sockdiag_parse(buf, sizeof m, &s), 0);
        assert_int_equal(s.n_keys, 0);
        assert_null(s.keys);
}

static void short_or_foreign_messages_are_refused(void **state) {
        (void) state;
        uint8_t buf[256] = { 0 };
        struct inet_diag_msg m = { .idiag_family = AF_UNIX };
        DiagSocket s;
        assert_int_equal(sockdiag_parse(buf, sizeof m - 1, &s), -EBADMSG);
        memcpy(buf, &m, sizeof m);
        assert_int_equal(sockdiag_parse(buf, sizeof m, &s), -EBADMSG);
}

static void bad_md5_payloads_are_refused(void **state) {
        (void) state;
        struct tcp_diag_md5sig k = md5_entry(AF_INET, "10.0.0.0", 8, "x");
        DiagKey *v;
        size_t n;
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k - 1, &v, &n), -EBADMSG);
        k.tcpm_keylen = SECRET_MAX + 1;
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k, &v, &n), -EBADMSG);
        k = md5_entry(AF_INET, "10.0.0.0", 33, "x");
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k, &v, &n), -EBADMSG);
        k = md5_entry(AF_INET6, "::", 129, "x");
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k, &v, &n), -EBADMSG);
        k.tcpm_family = AF_UNIX;
        k.tcpm_prefixlen = 0;
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k, &v, &n), -EBADMSG);
}

static void the_longest_key_is_fingerprinted_whole(void **state) {
        (void) state;
        char secret[SECRET_MAX + 1], fp[SECRET_FINGERPRINT_STRLEN];
        memset(secret, 'k', SECRET_MAX);
        secret[SECRET_MAX] = 0;
        struct tcp_diag_md5sig k = md5_entry(AF_INET, "10.0.0.0", 8, secret);
        DiagKey *v;
        size_t n;
        assert_int_equal(sockdiag_parse_md5(&k, sizeof k, &v, &n), 0);
        fingerprint_of(secret, fp);
        assert_string_equal(v[0].fingerprint, fp);
        free(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(keys_are_fingerprinted_and_sorted),
                cmocka_unit_test(no_md5_attribute_is_no_keys),
                cmocka_unit_test(short_or_foreign_messages_are_refused),
                cmocka_unit_test(bad_md5_payloads_are_refused),
                cmocka_unit_test(the_longest_key_is_fingerprinted_whole),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
