/* Fuzz target: ListenStream= and Peer= syntax. Whatever parses must print
 * back to a string that parses to the same value; a prefix must contain its
 * own address; a refused prefix with host bits set must suggest a prefix
 * that parses. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "fuzz.h"

static void check_listen_address(const char *s) {
        ListenAddress a, b;
        char buf[ADDR_STRLEN];
        int r = listen_address_parse(s, &a);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE || r == -EAFNOSUPPORT);
        if (r < 0)
                return;
        FUZZ_ASSERT(a.family == AF_INET || a.family == AF_INET6);
        FUZZ_ASSERT(a.port >= 1);
        FUZZ_ASSERT(strlen(a.scope) < IF_NAMESIZE);
        listen_address_format(&a, buf);
        FUZZ_ASSERT(listen_address_parse(buf, &b) == 0);
        FUZZ_ASSERT(a.family == b.family && a.port == b.port && strcmp(a.scope, b.scope) == 0);
        FUZZ_ASSERT(memcmp(&a.addr, &b.addr, a.family == AF_INET ? 4 : 16) == 0);
        if (a.port_only)
                FUZZ_ASSERT(a.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a.addr.in6));
}

static void check_prefix_roundtrip(const Prefix *p) {
        Prefix q[2];
        unsigned n = 0;
        char buf[ADDR_STRLEN];
        FUZZ_ASSERT(p->family == AF_INET || p->family == AF_INET6);
        FUZZ_ASSERT(p->len <= (p->family == AF_INET ? 32 : 128));
        FUZZ_ASSERT(prefix_contains(p, p->family, &p->addr));
        prefix_format(p, buf);
        FUZZ_ASSERT(prefix_parse(buf, q, &n) == 0 && n == 1);
        FUZZ_ASSERT(prefix_compare(p, &q[0]) == 0);
}

static void check_prefix(const char *s) {
        Prefix p[2];
        unsigned n = 0;
        int r = prefix_parse(s, p, &n);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE || r == -EDOM || r == -EAFNOSUPPORT);
        if (r == -EDOM)
                check_prefix_roundtrip(&p[0]); /* the suggestion offered to the user */
        if (r < 0)
                return;
        FUZZ_ASSERT(n == 1 || n == 2);
        for (unsigned i = 0; i < n; i++)
                check_prefix_roundtrip(&p[i]);
        if (n == 2)
                FUZZ_ASSERT(prefix_compare(&p[0], &p[1]) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        if (!s)
                return 0;
        check_listen_address(s);
        check_prefix(s);
        free(s);
        return 0;
}
