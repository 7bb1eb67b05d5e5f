/* Which (address, prefix length, key) entries go onto a listener of a given
 * family: the configured prefixes that can reach it, IPv4 ones as
 * v4-mapped on a dual-stack socket, and the catch-all keys that close the
 * unsigned side door. Pure, so unit tests check it without a kernel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* One key as the kernel holds it. Plain data (no pointers): a listener
 * keeps the table it installed, to diff a reload against, without the
 * config it came from. */
typedef struct KeyEntry {
        int family;            /* family of the address handed to the kernel */
        InAddr addr;           /* IPv4 prefixes on dual-stack: ::ffff:a.b.c.d */
        uint8_t prefixlen;     /* IPv4 length even when v4-mapped */
        int ifindex;
        Secret secret;
        char name[CONFIG_NAME_MAX + 1]; /* the [Key NAME]; "" for a catch-all */
} KeyEntry;

/* What a listener receives, which is not always what its address looks
 * like: [::] without IPV6_V6ONLY takes IPv4 too, a v4-mapped address takes
 * only IPv4. Keys follow what is received. */
typedef struct ListenerShape {
        int family;            /* the socket's: how key addresses are written */
        bool ipv4;             /* IPv4 peers reach it (as v4-mapped on AF_INET6) */
        bool ipv6;             /* IPv6 peers reach it */
} ListenerShape;

/* The shape of a socket bound to a, with IPV6_V6ONLY as given (ignored for
 * AF_INET). */
ListenerShape listener_shape(const ListenAddress *a, bool v6only);

/* The entries for one listener; catch_all holds the random secret. */
int plan_keys(const Config *c, ListenerShape shape, const Secret *catch_all, KeyEntry **ret, size_t *ret_n);
/* Wipes the secrets of v[0..n) and frees v. */
void key_table_free(KeyEntry *v, size_t n);
void key_entry_format(const KeyEntry *e, char buf[static ADDR_STRLEN]);
static inline const char *key_entry_name(const KeyEntry *e) {
        return e->name[0] ? e->name : "(catch-all)";
}

/* The client's choice: the key whose Peer= prefix holding addr (of family)
 * is the longest, as the kernel chooses on the server; NULL when none
 * holds it. Prefixes are never claimed twice, so there are no ties. */
KeyConfig *plan_key_for_peer(Config *c, int family, const InAddr *addr);
/* The client's choice during a rollover, where several keys may share that
 * longest prefix: all of them, newest first (a section that appears later
 * in the config is newer), at most max; returns how many there are. */
size_t plan_keys_for_peer(Config *c, int family, const InAddr *addr, KeyConfig **ret, size_t max);
