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
        char algorithm[CONFIG_AO_ALGORITHM_MAX + 1]; /* TCP-AO's MAC; "" for TCP MD5 */
        uint8_t send_id, recv_id, mac_length;        /* TCP-AO only; mac_length 0: the default */
} KeyEntry;

static inline bool key_entry_is_ao(const KeyEntry *e) { return e->algorithm[0] != 0; }

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

/* The first TCP-AO and the first TCP MD5 key that reach a listener of
 * this shape; NULL when none. */
void plan_key_kinds(const Config *c, ListenerShape shape, const KeyConfig **ret_ao, const KeyConfig **ret_md5);

/* Both kinds reach the listener and unmatched peers are to be dropped: no
 * layout closes that side door. The kernel refuses ao_required on a socket
 * holding MD5 keys, and an MD5 catch-all, which covers every TCP-AO peer,
 * makes it refuse every TCP-AO key added after it (a reload, a rollover).
 * plan_keys() refuses it; callers name the two keys first. */
bool plan_mixed_refused(const Config *c, ListenerShape shape, const KeyConfig **ret_ao, const KeyConfig **ret_md5);

/* A TCP-AO key for every IPv4 peer (0.0.0.0/0) on an AF_INET6 listener
 * that receives IPv4: the kernel takes no v4-mapped TCP-AO key at
 * ::ffff:0.0.0.0 (EINVAL), and ::/0 does not match IPv4 peers. NULL when
 * none; plan_keys() refuses it. */
const KeyConfig *plan_ao_v4_any_on_v6(const Config *c, ListenerShape shape);

/* The listener drops peers that match no key with TCP-AO's ao_required
 * (every segment without TCP-AO is dropped) instead of catch-all keys: its
 * keys are TCP-AO and UnmatchedPeers=drop. */
bool plan_ao_required(const Config *c, ListenerShape shape);

/* The entries for one listener; catch_all holds the random secret. Where
 * TCP-AO keys reach it there is no catch-all (see plan_ao_required()).
 * -EXDEV for a layout plan_mixed_refused() or plan_ao_v4_any_on_v6()
 * names, -ENOMEM. */
int plan_keys(const Config *c, ListenerShape shape, const Secret *catch_all, KeyEntry **ret, size_t *ret_n);
/* Wipes the secrets of v[0..n) and frees v. */
void key_table_free(KeyEntry *v, size_t n);
void key_entry_format(const KeyEntry *e, char buf[static ADDR_STRLEN]);
static inline const char *key_entry_name(const KeyEntry *e) {
        return e->name[0] ? e->name : "(catch-all)";
}

/* The client's choice: the key whose Peer= prefix holding addr (of family)
 * is the longest, as the kernel chooses on the server; NULL when none
 * holds it. Of TCP-AO keys sharing that prefix (a rollover), the section
 * that comes last in the config, the one to send with. The client offers
 * every key of the prefix: plan_keys_for_peer(). */
KeyConfig *plan_key_for_peer(Config *c, int family, const InAddr *addr);
/* The client's choice during a rollover, where several keys may share that
 * longest prefix: all of them, newest first (a section that appears later
 * in the config is newer), at most max; returns how many there are. */
size_t plan_keys_for_peer(Config *c, int family, const InAddr *addr, KeyConfig **ret, size_t max);
/* Every TCP-AO key with a Peer= prefix holding addr, in config order: a
 * TCP-AO server may take any of them. Fills ret[0..max); returns how many. */
size_t plan_ao_keys_for_peer(Config *c, int family, const InAddr *addr, KeyConfig **ret, size_t max);
