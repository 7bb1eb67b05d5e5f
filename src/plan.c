/* The key plan for a listener. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

ListenerShape listener_shape(const ListenAddress *a, bool v6only) {
        if (a->family == AF_INET || IN6_IS_ADDR_V4MAPPED(&a->addr.in6))
                return (ListenerShape) { .family = a->family, .ipv4 = true };
        return (ListenerShape) { .family = AF_INET6, .ipv6 = true,
                                 .ipv4 = IN6_IS_ADDR_UNSPECIFIED(&a->addr.in6) && !v6only };
}

static bool prefix_fits(const Prefix *p, ListenerShape shape) {
        return p->family == AF_INET ? shape.ipv4 : shape.ipv6;
}

/* Fills *e in place: no copy of the secret is left on the stack. */
static void entry_set(KeyEntry *e, const Prefix *p, ListenerShape shape, const KeyConfig *k, const Secret *secret) {
        memset(e, 0, sizeof *e);
        e->family = p->family;
        e->addr = p->addr;
        e->prefixlen = p->len;
        memcpy(&e->secret, secret, sizeof *secret);
        if (k) {
                e->ifindex = k->ifindex;
                snprintf(e->name, sizeof e->name, "%s", k->name);
        }
        if (k && key_is_ao(k)) {
                snprintf(e->algorithm, sizeof e->algorithm, "%s", k->algorithm);
                e->send_id = (uint8_t) k->send_id;
                e->recv_id = (uint8_t) k->recv_id;
                e->mac_length = (uint8_t) k->mac_length;
        }
        if (shape.family == AF_INET6 && p->family == AF_INET) {
                /* The kernel wants the IPv4 length here; 96+n is EINVAL. */
                e->family = AF_INET6;
                e->addr.in6 = (struct in6_addr) { 0 };
                e->addr.in6.s6_addr[10] = 0xff;
                e->addr.in6.s6_addr[11] = 0xff;
                memcpy(&e->addr.in6.s6_addr[12], &p->addr.in, 4);
        }
}

void plan_key_kinds(const Config *c, ListenerShape shape, const KeyConfig **ret_ao, const KeyConfig **ret_md5) {
        *ret_ao = *ret_md5 = NULL;
        for (size_t i = 0; i < c->n_keys && !(*ret_ao && *ret_md5); i++) {
                const KeyConfig *k = &c->keys[i];
                const KeyConfig **slot = key_is_ao(k) ? ret_ao : ret_md5;
                for (size_t j = 0; j < k->n_peers && !*slot; j++)
                        if (prefix_fits(&k->peers[j].prefix, shape))
                                *slot = k;
        }
}

bool plan_mixed_refused(const Config *c, ListenerShape shape, const KeyConfig **ret_ao, const KeyConfig **ret_md5) {
        plan_key_kinds(c, shape, ret_ao, ret_md5);
        return *ret_ao && *ret_md5 && c->unmatched_peers == UNMATCHED_PEERS_DROP;
}

const KeyConfig *plan_ao_v4_any_on_v6(const Config *c, ListenerShape shape) {
        if (shape.family != AF_INET6 || !shape.ipv4)
                return NULL;
        for (size_t i = 0; i < c->n_keys; i++)
                for (size_t j = 0; key_is_ao(&c->keys[i]) && j < c->keys[i].n_peers; j++)
                        if (c->keys[i].peers[j].prefix.family == AF_INET && c->keys[i].peers[j].prefix.len == 0)
                                return &c->keys[i];
        return NULL;
}

bool plan_ao_required(const Config *c, ListenerShape shape) {
        const KeyConfig *ao, *md5;
        plan_key_kinds(c, shape, &ao, &md5);
        return ao && !md5 && c->unmatched_peers == UNMATCHED_PEERS_DROP;
}

int plan_keys(const Config *c, ListenerShape shape, const Secret *catch_all, KeyEntry **ret, size_t *ret_n) {
        const KeyConfig *ao, *md5;
        if (plan_mixed_refused(c, shape, &ao, &md5) || plan_ao_v4_any_on_v6(c, shape))
                return -EXDEV;
        size_t n = 0, cap = 2;
        bool covered[2] = { false, false }; /* [0] IPv4, [1] IPv6 */
        for (size_t i = 0; i < c->n_keys; i++)
                cap += c->keys[i].n_peers;
        KeyEntry *v = calloc(cap, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
                for (size_t j = 0; j < k->n_peers; j++) {
                        const Prefix *p = &k->peers[j].prefix;
                        if (!prefix_fits(p, shape))
                                continue;
                        /* A prefix-0 key bound to one interface leaves the others open. */
                        if (p->len == 0 && k->ifindex == 0)
                                covered[p->family == AF_INET6] = true;
                        entry_set(&v[n++], p, shape, k, &k->secret);
                }
        }
        if (c->unmatched_peers == UNMATCHED_PEERS_DROP && !ao) {
                Prefix any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };
                if (shape.ipv6 && !covered[1])
                        entry_set(&v[n++], &any6, shape, NULL, catch_all);
                if (shape.ipv4 && !covered[0])
                        entry_set(&v[n++], &any4, shape, NULL, catch_all);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void key_table_free(KeyEntry *v, size_t n) {
        if (v)
                explicit_bzero(v, n * sizeof *v);
        free(v);
}

void key_entry_format(const KeyEntry *e, char buf[static ADDR_STRLEN]) {
        Prefix p = { .family = e->family, .addr = e->addr, .len = e->prefixlen };
        prefix_format(&p, buf);
}

KeyConfig *plan_key_for_peer(Config *c, int family, const InAddr *addr) {
        KeyConfig *best = NULL;
        int best_len = -1;
        for (size_t i = 0; i < c->n_keys; i++)
                for (size_t j = 0; j < c->keys[i].n_peers; j++) {
                        const Prefix *p = &c->keys[i].peers[j].prefix;
                        /* Ties are TCP-AO keys of one prefix: the later section is the newer key. */
                        if ((p->len > best_len || (p->len == best_len && key_is_ao(&c->keys[i]))) &&
                            prefix_contains(p, family, addr)) {
                                best = &c->keys[i];
                                best_len = p->len;
                        }
                }
        return best;
}

size_t plan_keys_for_peer(Config *c, int family, const InAddr *addr, KeyConfig **ret, size_t max) {
        int best_len = -1;
        size_t n = 0;
        for (size_t i = 0; i < c->n_keys; i++)
                for (size_t j = 0; j < c->keys[i].n_peers; j++) {
                        const Prefix *p = &c->keys[i].peers[j].prefix;
                        if (p->len > best_len && prefix_contains(p, family, addr))
                                best_len = p->len;
                }
        for (size_t i = c->n_keys; i-- > 0;) /* newest first */
                for (size_t j = 0; j < c->keys[i].n_peers; j++) {
                        const Prefix *p = &c->keys[i].peers[j].prefix;
                        if (p->len == best_len && prefix_contains(p, family, addr)) {
                                if (n < max)
                                        ret[n] = &c->keys[i];
                                n++;
                                break;
                        }
                }
        return n;
}

size_t plan_ao_keys_for_peer(Config *c, int family, const InAddr *addr, KeyConfig **ret, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_keys; i++) {
                bool holds = false;
                for (size_t j = 0; j < c->keys[i].n_peers && !holds; j++)
                        holds = prefix_contains(&c->keys[i].peers[j].prefix, family, addr);
                if (holds && key_is_ao(&c->keys[i])) {
                        if (n < max)
                                ret[n] = &c->keys[i];
                        n++;
                }
        }
        return n;
}
