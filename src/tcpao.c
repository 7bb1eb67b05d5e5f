/* TCP-AO setsockopt wrappers. As with TCP MD5, every struct holding a key
 * is zeroed, filled, used and wiped, so no copy outlives the call. */
#include "tcpao.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcp-ao.h"
#include "util.h"

static void fill_addr(struct __kernel_sockaddr_storage *ss, int family, const InAddr *addr) {
        if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) ss;
                sin->sin_family = AF_INET;
                sin->sin_addr = addr->in;
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_addr = addr->in6;
        }
}

static int add(int fd, struct tcp_ao_add *a, const char *algorithm, const Secret *s) {
        int r = -EINVAL;
        if (s->len > 0 && s->len <= TCP_AO_MAXKEYLEN && strlen(algorithm) < sizeof a->alg_name) {
                snprintf(a->alg_name, sizeof a->alg_name, "%s", algorithm);
                a->keylen = (uint8_t) s->len;
                memcpy(a->key, s->bytes, s->len);
                r = setsockopt(fd, IPPROTO_TCP, TCP_AO_ADD_KEY, a, sizeof *a) < 0 ? -errno : 0;
        }
        explicit_bzero(a, sizeof *a);
        return r;
}

int tcpao_add(int fd, const KeyEntry *e) {
        struct tcp_ao_add a = { .prefix = e->prefixlen, .sndid = e->send_id, .rcvid = e->recv_id,
                                .maclen = e->mac_length };
        fill_addr(&a.addr, e->family, &e->addr);
        if (e->ifindex > 0) {
                a.keyflags = TCP_AO_KEYF_IFINDEX;
                a.ifindex = e->ifindex;
        }
        return add(fd, &a, e->algorithm, &e->secret);
}

int tcpao_delete(int fd, const KeyEntry *e) {
        struct tcp_ao_del d = { .prefix = e->prefixlen, .sndid = e->send_id, .rcvid = e->recv_id };
        fill_addr(&d.addr, e->family, &e->addr);
        if (e->ifindex > 0) {
                d.keyflags = TCP_AO_KEYF_IFINDEX;
                d.ifindex = e->ifindex;
        }
        int r = setsockopt(fd, IPPROTO_TCP, TCP_AO_DEL_KEY, &d, sizeof d) < 0 ? -errno : 0;
        return r == -ENOENT ? 0 : r;
}

int tcpao_set_required(int fd) {
        struct tcp_ao_info_opt info = { .ao_required = 1 };
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_INFO, &info, sizeof info) < 0 ? -errno : 0;
}

int tcpao_add_peer(int fd, const struct sockaddr *peer, socklen_t len, const KeyConfig *k, bool current) {
        struct tcp_ao_add a = { .sndid = (uint8_t) k->send_id, .rcvid = (uint8_t) k->recv_id,
                                .maclen = (uint8_t) k->mac_length, .set_current = current, .set_rnext = current };
        if (!key_is_ao(k) || len > sizeof a.addr || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
                return -EINVAL;
        memcpy(&a.addr, peer, len);
        /* The kernel matches keys on addresses only, and refuses a port (EINVAL). */
        if (peer->sa_family == AF_INET)
                ((struct sockaddr_in *) &a.addr)->sin_port = 0;
        else
                ((struct sockaddr_in6 *) &a.addr)->sin6_port = 0;
        a.prefix = peer->sa_family == AF_INET ? 32 : 128;
        return add(fd, &a, k->algorithm, &k->secret);
}

int tcpao_probe(const char *algorithm) {
        /* A loopback peer on a socket that is never bound: nothing can
         * connect with it, and it is gone at close(). */
        static const Secret dummy = { .bytes = "tcpmd5-activate probe", .len = 21 };
        KeyEntry e = { .family = AF_INET, .addr.in.s_addr = htonl(INADDR_LOOPBACK), .prefixlen = 32, .secret = dummy };
        snprintf(e.algorithm, sizeof e.algorithm, "%s", algorithm);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        int r = tcpao_add(fd, &e);
        close(fd);
        return r;
}

/* The kernel's address and prefix of a key, as sock_diag reports MD5
 * keys: a v4-mapped one (a dual-stack listener's) as AF_INET. */
static Prefix key_prefix(const struct __kernel_sockaddr_storage *ss, uint8_t len) {
        Prefix p = { .family = ss->ss_family, .len = len };
        if (ss->ss_family == AF_INET) {
                p.addr.in = ((const struct sockaddr_in *) ss)->sin_addr;
                return p;
        }
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *) ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
                p.family = AF_INET;
                memcpy(&p.addr.in, &a6->s6_addr[12], 4);
        } else
                p.addr.in6 = *a6;
        return p;
}

static TcpaoKey key_from(const struct tcp_ao_getsockopt *g) {
        TcpaoKey k = { .prefix = key_prefix(&g->addr, g->prefix), .send_id = g->sndid, .recv_id = g->rcvid,
                       .mac_length = g->maclen, .is_current = g->is_current, .is_rnext = g->is_rnext,
                       .pkt_good = g->pkt_good, .pkt_bad = g->pkt_bad };
        if (g->keyflags & TCP_AO_KEYF_IFINDEX)
                k.ifindex = g->ifindex;
        snprintf(k.algorithm, sizeof k.algorithm, "%.*s", (int) strnlen(g->alg_name, sizeof g->alg_name),
                 g->alg_name);
        return k;
}

static int key_compare(const void *a, const void *b) { return tcpao_key_compare(a, b); }

int tcpao_key_compare(const TcpaoKey *a, const TcpaoKey *b) {
        int c = prefix_compare(&a->prefix, &b->prefix);
        if (c == 0)
                c = (int) a->send_id - (int) b->send_id;
        return c != 0 ? c : (int) a->recv_id - (int) b->recv_id;
}

/* One TCP_AO_GET_KEYS into g[0..cap): how many keys the socket has (the
 * kernel says so even beyond cap), or -errno. */
static int get_keys(int fd, struct tcp_ao_getsockopt *g, size_t cap) {
        memset(g, 0, cap * sizeof *g);
        g[0].nkeys = (uint32_t) cap;
        g[0].get_all = 1;
        socklen_t len = sizeof *g; /* the size of one entry; nkeys counts them */
        if (getsockopt(fd, IPPROTO_TCP, TCP_AO_GET_KEYS, g, &len) < 0)
                return errno == ENOENT ? 0 : -errno; /* ENOENT: no TCP-AO key on it */
        return (int) g[0].nkeys;
}

int tcpao_get_keys(int fd, TcpaoKey **ret, size_t *ret_n) {
        size_t cap = 16;
        for (;;) {
                struct tcp_ao_getsockopt *g = calloc(cap, sizeof *g);
                if (!g)
                        return -ENOMEM;
                int n = get_keys(fd, g, cap);
                TcpaoKey *v = n >= 0 && (size_t) n <= cap ? calloc((size_t) n + 1, sizeof *v) : NULL;
                for (int i = 0; v && i < n; i++)
                        v[i] = key_from(&g[i]);
                explicit_bzero(g, cap * sizeof *g); /* the secrets */
                free(g);
                if (n < 0)
                        return n;
                if (v) {
                        qsort(v, (size_t) n, sizeof *v, key_compare);
                        *ret = v;
                        *ret_n = (size_t) n;
                        return 0;
                }
                if ((size_t) n <= cap || cap >= 65536)
                        return -ENOMEM;
                cap = (size_t) n + 16; /* keys added since: ask again, larger */
        }
}

int tcpao_get_info(int fd, TcpaoInfo *ret) {
        struct tcp_ao_info_opt o = { 0 };
        socklen_t len = sizeof o;
        *ret = (TcpaoInfo) { 0 };
        if (getsockopt(fd, IPPROTO_TCP, TCP_AO_INFO, &o, &len) < 0)
                return errno == ENOENT ? 0 : -errno;
        *ret = (TcpaoInfo) { .ao_required = o.ao_required, .has_current = o.set_current, .has_rnext = o.set_rnext,
                             .current = o.current_key, .rnext = o.rnext, .pkt_good = o.pkt_good,
                             .pkt_bad = o.pkt_bad, .pkt_key_not_found = o.pkt_key_not_found,
                             .pkt_ao_required = o.pkt_ao_required, .pkt_dropped_icmp = o.pkt_dropped_icmp };
        return 0;
}

const char *tcpao_kernel_algorithm(const char *configured) {
        return strcmp(configured, "cmac(aes128)") == 0 ? "cmac(aes)" : configured;
}
