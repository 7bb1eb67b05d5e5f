/* sock_diag dumps of TCP sockets, with their MD5 keys fingerprinted as they
 * arrive. */
#include "sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "util.h"

static int key_compare(const void *a, const void *b) {
        return prefix_compare(&((const DiagKey *) a)->prefix, &((const DiagKey *) b)->prefix);
}

int sockdiag_parse_md5(const void *data, size_t len, DiagKey **ret, size_t *ret_n) {
        const size_t size = sizeof(struct tcp_diag_md5sig);
        if (len % size != 0)
                return -EBADMSG;
        size_t n = len / size;
        DiagKey *v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct tcp_diag_md5sig m;
                memcpy(&m, (const uint8_t *) data + i * size, size);
                Prefix *p = &v[i].prefix;
                p->family = m.tcpm_family;
                p->len = m.tcpm_prefixlen;
                bool ok = m.tcpm_keylen <= SECRET_MAX &&
                          ((p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128));
                if (ok) {
                        memcpy(&p->addr, m.tcpm_addr, p->family == AF_INET ? 4 : 16);
                        Secret s = { .len = m.tcpm_keylen };
                        memcpy(s.bytes, m.tcpm_key, s.len);
                        secret_fingerprint(&s, v[i].fingerprint);
                        secret_wipe(&s);
                }
                explicit_bzero(&m, sizeof m);
                if (!ok) {
                        free(v);
                        return -EBADMSG;
                }
        }
        qsort(v, n, sizeof *v, key_compare);
        *ret = v;
        *ret_n = n;
        return 0;
}

int sockdiag_parse(const void *msg, size_t len, DiagSocket *ret) {
        struct inet_diag_msg m;
        if (len < sizeof m)
                return -EBADMSG;
        memcpy(&m, msg, sizeof m);
        if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
                return -EBADMSG;
        DiagSocket s = {
                .family = m.idiag_family, .state = m.idiag_state, .inode = m.idiag_inode, .uid = m.idiag_uid,
                .local_port = ntohs(m.id.idiag_sport), .remote_port = ntohs(m.id.idiag_dport),
        };
        size_t alen = s.family == AF_INET ? 4 : 16;
        memcpy(&s.local, m.id.idiag_src, alen);
        memcpy(&s.remote, m.id.idiag_dst, alen);
        /* The attributes follow, 4-byte aligned (NLMSG_ALIGN of the struct). */
        size_t off = NLMSG_ALIGN(sizeof m);
        size_t rest = len > off ? len - off : 0;
        const struct rtattr *a = (const struct rtattr *) ((const uint8_t *) msg + off);
        for (unsigned short n = (unsigned short) (rest > 0xffff ? 0xffff : rest); RTA_OK(a, n); a = RTA_NEXT(a, n)) {
                if (a->rta_type != INET_DIAG_MD5SIG)
                        continue;
                int r = sockdiag_parse_md5(RTA_DATA(a), RTA_PAYLOAD(a), &s.keys, &s.n_keys);
                if (r < 0)
                        return r;
        }
        *ret = s;
        return 0;
}

void diag_socket_done(DiagSocket *s) {
        free(s->keys);
        s->keys = NULL;
        s->n_keys = 0;
}

void diag_table_free(DiagTable *t) {
        for (size_t i = 0; i < t->n; i++)
                diag_socket_done(&t->v[i]);
        free(t->v);
        *t = (DiagTable) { 0 };
}

bool sockdiag_can_read_keys(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

const DiagSocket *diag_table_find_inode(const DiagTable *t, uint64_t ino) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].inode == ino)
                        return &t->v[i];
        return NULL;
}

static int table_add(DiagTable *t, size_t *cap, const DiagSocket *s) {
        if (grow_array((void **) &t->v, cap, t->n + 1, sizeof *t->v) < 0)
                return -ENOMEM;
        t->v[t->n++] = *s;
        return 0;
}

/* One datagram of the dump: 1 when it ended the dump, 0 for more, -errno. */
static int parse_datagram(const uint8_t *buf, size_t len, DiagTable *t, size_t *cap) {
        const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
        for (size_t n = len; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
                if (h->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (h->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = NLMSG_DATA(h);
                        return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 ? e->error : -EPROTO;
                }
                if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                        continue;
                DiagSocket s;
                int r = sockdiag_parse(NLMSG_DATA(h), NLMSG_PAYLOAD(h, 0), &s);
                if (r >= 0 && (r = table_add(t, cap, &s)) < 0)
                        diag_socket_done(&s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The receive buffer holds raw secrets: wiped after each datagram. A dump
 * message is at most 32 kB (the kernel's cap on a netlink dump skb). */
static int dump_family(int fd, int family, unsigned states, bool with_keys, DiagTable *t, size_t *cap) {
        struct {
                struct nlmsghdr h;
                struct inet_diag_req_v2 r;
        } req = {
                .h = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .r = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = states,
                       /* The keys come with the "aux" attributes, which the
                        * kernel adds to INET_DIAG_INFO (idiag_ext has 8 bits:
                        * INET_DIAG_MD5SIG has no bit of its own). */
                       .idiag_ext = with_keys ? 1u << (INET_DIAG_INFO - 1) : 0 },
        };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        static const size_t size = 64 * 1024;
        uint8_t *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        int r = 0;
        while (r == 0) {
                ssize_t k = recv(fd, buf, size, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                r = k < 0 ? -errno : k == 0 ? -EPROTO : parse_datagram(buf, (size_t) k, t, cap);
                if (k > 0)
                        explicit_bzero(buf, (size_t) k);
        }
        free(buf);
        return r < 0 ? r : 0;
}

int sockdiag_dump(unsigned states, bool with_keys, DiagTable *ret) {
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        DiagTable t = { 0 };
        size_t cap = 0;
        int r = dump_family(fd, AF_INET, states, with_keys, &t, &cap);
        if (r >= 0)
                r = dump_family(fd, AF_INET6, states, with_keys, &t, &cap);
        if (r < 0) {
                diag_table_free(&t);
                return r;
        }
        *ret = t;
        return 0;
}
