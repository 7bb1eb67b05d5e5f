/* TCP-AO setsockopt wrappers. As with TCP MD5, every struct holding a key
 * is zeroed, filled, used and wiped, so no copy outlives the call. */
#include "tcpao.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
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
