/* Parsing and printing of listen addresses (ListenStream=) and peer
 * prefixes (Peer=). Pure: no syscalls, so unit tests and fuzzers drive it. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

typedef union InAddr {
        struct in_addr in;
        struct in6_addr in6;
} InAddr;

typedef struct Prefix {
        int family; /* AF_INET or AF_INET6 */
        InAddr addr;
        uint8_t len;
} Prefix;

typedef struct ListenAddress {
        int family;          /* AF_INET or AF_INET6 */
        InAddr addr;
        uint16_t port;
        char scope[IF_NAMESIZE]; /* "%eth0" part of a link-local address, or "" */
        bool port_only;      /* written as a bare port: the [::] wildcard */
} ListenAddress;

/* "[ffff:...%interface-name]:65535" */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 16)

/* PORT, IPv4:PORT, [IPv6]:PORT, [IPv6%if]:PORT. -EINVAL on bad syntax,
 * -ERANGE for a port outside 1..65535, -EAFNOSUPPORT for a v4-mapped
 * address (ret then holds it, to suggest the IPv4 spelling). */
int listen_address_parse(const char *s, ListenAddress *ret);
void listen_address_format(const ListenAddress *a, char buf[static ADDR_STRLEN]);

/* CIDR, bare address (a host prefix) or "any" (both families: two entries).
 * -EINVAL bad syntax, -ERANGE bad length, -EDOM host bits set (ret[0] then
 * holds the masked prefix, to suggest), -EAFNOSUPPORT for v4-mapped IPv6. */
int prefix_parse(const char *s, Prefix ret[static 2], unsigned *ret_n);
void prefix_format(const Prefix *p, char buf[static ADDR_STRLEN]);
/* Total order for sorting and duplicate detection. */
int prefix_compare(const Prefix *a, const Prefix *b);
/* Does addr (of family) fall inside p? */
bool prefix_contains(const Prefix *p, int family, const InAddr *addr);
