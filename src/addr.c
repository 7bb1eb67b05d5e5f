/* Address and prefix syntax, shared by the activator and the client. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

static int parse_port(const char *s, uint16_t *ret) {
        uint64_t v;
        int r = parse_uint(s, 1, 65535, &v);
        if (r < 0)
                return r;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_bracketed_ipv6(const char *s, ListenAddress *a) {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
                return -EINVAL;
        char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
        size_t n = (size_t) (close - (s + 1));
        if (n >= sizeof host)
                return -EINVAL;
        memcpy(host, s + 1, n);
        host[n] = 0;
        char *pct = strchr(host, '%');
        if (pct) {
                if (strlen(pct + 1) == 0 || strlen(pct + 1) >= IF_NAMESIZE || strchr(pct + 1, '/'))
                        return -EINVAL;
                strcpy(a->scope, pct + 1);
                *pct = 0;
        }
        if (inet_pton(AF_INET6, host, &a->addr.in6) != 1)
                return -EINVAL;
        if (pct && !IN6_IS_ADDR_LINKLOCAL(&a->addr.in6))
                return -EINVAL; /* a scope only makes sense for link-local */
        a->family = AF_INET6;
        int r = parse_port(close + 2, &a->port);
        if (r < 0)
                return r;
        /* Such a socket receives IPv4: one spelling per meaning, the IPv4 one. */
        return IN6_IS_ADDR_V4MAPPED(&a->addr.in6) ? -EAFNOSUPPORT : 0;
}

int listen_address_parse(const char *s, ListenAddress *ret) {
        ListenAddress a = { 0 };
        int r;
        if (s[0] == '[') {
                r = parse_bracketed_ipv6(s, &a);
        } else if (strchr(s, ':')) {
                const char *colon = strrchr(s, ':');
                char host[INET_ADDRSTRLEN];
                size_t n = (size_t) (colon - s);
                if (n >= sizeof host || strchr(s, ':') != colon)
                        return -EINVAL;
                memcpy(host, s, n);
                host[n] = 0;
                if (inet_pton(AF_INET, host, &a.addr.in) != 1)
                        return -EINVAL;
                a.family = AF_INET;
                r = parse_port(colon + 1, &a.port);
        } else {
                a.family = AF_INET6;
                a.addr.in6 = in6addr_any;
                a.port_only = true;
                r = parse_port(s, &a.port);
        }
        if (r < 0 && r != -EAFNOSUPPORT)
                return r;
        *ret = a;
        return r;
}

void listen_address_format(const ListenAddress *a, char buf[static ADDR_STRLEN]) {
        char host[INET6_ADDRSTRLEN];
        inet_ntop(a->family, &a->addr, host, sizeof host);
        if (a->family == AF_INET)
                snprintf(buf, ADDR_STRLEN, "%s:%u", host, a->port);
        else
                snprintf(buf, ADDR_STRLEN, "[%s%s%s]:%u", host, a->scope[0] ? "%" : "", a->scope, a->port);
}

static void mask_bits(uint8_t *bytes, size_t size, unsigned len) {
        for (size_t i = 0; i < size; i++) {
                unsigned keep = len > 8 * i ? len - 8 * (unsigned) i : 0;
                if (keep < 8)
                        bytes[i] &= (uint8_t) (0xff00u >> keep);
        }
}

int prefix_parse(const char *s, Prefix ret[static 2], unsigned *ret_n) {
        if (strcmp(s, "any") == 0) {
                ret[0] = (Prefix) { .family = AF_INET, .len = 0 };
                ret[1] = (Prefix) { .family = AF_INET6, .len = 0 };
                *ret_n = 2;
                return 0;
        }
        char host[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        if (n == 0 || n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = 0;

        Prefix p = { 0 };
        if (inet_pton(AF_INET, host, &p.addr.in) == 1)
                p.family = AF_INET;
        else if (inet_pton(AF_INET6, host, &p.addr.in6) == 1)
                p.family = AF_INET6;
        else
                return -EINVAL;
        if (p.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&p.addr.in6))
                return -EAFNOSUPPORT;

        unsigned max = p.family == AF_INET ? 32 : 128;
        uint64_t len = max;
        if (slash) {
                int r = parse_uint(slash + 1, 0, max, &len);
                if (r < 0)
                        return r;
        }
        p.len = (uint8_t) len;

        Prefix masked = p;
        mask_bits((uint8_t *) &masked.addr, p.family == AF_INET ? 4 : 16, p.len);
        if (memcmp(&masked.addr, &p.addr, sizeof p.addr) != 0) {
                ret[0] = masked;
                return -EDOM;
        }
        ret[0] = p;
        *ret_n = 1;
        return 0;
}

void prefix_format(const Prefix *p, char buf[static ADDR_STRLEN]) {
        char host[INET6_ADDRSTRLEN];
        inet_ntop(p->family, &p->addr, host, sizeof host);
        snprintf(buf, ADDR_STRLEN, "%s/%u", host, p->len);
}

int prefix_compare(const Prefix *a, const Prefix *b) {
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        size_t size = a->family == AF_INET ? 4 : 16;
        int c = memcmp(&a->addr, &b->addr, size);
        if (c != 0)
                return c;
        return (a->len > b->len) - (a->len < b->len);
}

bool prefix_contains(const Prefix *p, int family, const InAddr *addr) {
        if (p->family != family)
                return false;
        InAddr masked = *addr;
        mask_bits((uint8_t *) &masked, family == AF_INET ? 4 : 16, p->len);
        return memcmp(&masked, &p->addr, family == AF_INET ? 4 : 16) == 0;
}
