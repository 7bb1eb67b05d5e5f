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
                .ifindex = m.id.idiag_if, .cookie = { m.id.idiag_cookie[0], m.id.idiag_cookie[1] },
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

/* One datagram: 1 when it ended the answer (NLMSG_DONE, or the one answer
 * to a request for one socket), 0 for more, -errno. */
static int parse_datagram(const uint8_t *buf, size_t len, bool dump, DiagTable *t, size_t *cap) {
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
        return dump ? 0 : 1;
}

/* Receives one datagram into a buffer of its size, parses it, and wipes
 * the buffer: it holds raw secrets. */
static int receive(int fd, bool dump, DiagTable *t, size_t *cap) {
        ssize_t size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
        if (size < 0)
                return errno == EINTR ? 0 : -errno;
        if (size == 0)
                return -EPROTO;
        uint8_t *buf = malloc((size_t) size);
        if (!buf)
                return -ENOMEM;
        ssize_t k = recv(fd, buf, (size_t) size, 0);
        int r = k < 0 ? (errno == EINTR ? 0 : -errno) : parse_datagram(buf, (size_t) k, dump, t, cap);
        explicit_bzero(buf, (size_t) size);
        free(buf);
        return r;
}

/* Sends r (a dump of every socket, or a request for the one r->id names)
 * and parses the answer into t. */
static int ask(int fd, const struct inet_diag_req_v2 *r, bool dump, DiagTable *t, size_t *cap) {
        struct {
                struct nlmsghdr h;
                struct inet_diag_req_v2 r;
        } req = {
                .h = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                       .nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0) },
                .r = *r,
        };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        int k;
        while ((k = receive(fd, dump, t, cap)) == 0)
                ;
        return k < 0 ? k : 0;
}

static struct inet_diag_req_v2 request(int family, unsigned states, bool with_keys) {
        return (struct inet_diag_req_v2) {
                .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = states,
                /* The keys come with the "aux" attributes, which the kernel
                 * adds to INET_DIAG_INFO (idiag_ext has 8 bits: INET_DIAG_MD5SIG
                 * has no bit of its own). */
                .idiag_ext = with_keys ? 1u << (INET_DIAG_INFO - 1) : 0,
        };
}

static bool same_socket(const DiagSocket *a, const DiagSocket *b) {
        return a->inode == b->inode && a->cookie[0] == b->cookie[0] && a->cookie[1] == b->cookie[1];
}

/* The sockets of plain (a dump without keys) that the keyed dump in t left
 * out, each asked for alone. One that has gone since is left out. */
static int ask_missing(int fd, const DiagTable *plain, unsigned states, DiagTable *t, size_t *cap) {
        size_t n = t->n;
        for (size_t i = 0; i < plain->n; i++) {
                const DiagSocket *p = &plain->v[i];
                bool found = false;
                for (size_t j = 0; j < n && !found; j++)
                        found = same_socket(p, &t->v[j]);
                if (found)
                        continue;
                struct inet_diag_req_v2 r = request(p->family, states, true);
                size_t alen = p->family == AF_INET ? 4 : 16;
                r.id.idiag_sport = htons(p->local_port);
                r.id.idiag_dport = htons(p->remote_port);
                memcpy(r.id.idiag_src, &p->local, alen);
                memcpy(r.id.idiag_dst, &p->remote, alen);
                r.id.idiag_if = p->ifindex;
                memcpy(r.id.idiag_cookie, p->cookie, sizeof r.id.idiag_cookie);
                int k = ask(fd, &r, false, t, cap);
                if (k < 0 && k != -ENOENT)
                        return k;
        }
        return 0;
}

int sockdiag_dump(unsigned states, bool with_keys, DiagTable *ret) {
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        DiagTable t = { 0 }, plain = { 0 };
        size_t cap = 0, plain_cap = 0;
        int r = 0;
        for (int i = 0; i < 2 && r >= 0; i++) {
                struct inet_diag_req_v2 q = request(i == 0 ? AF_INET : AF_INET6, states, with_keys);
                r = ask(fd, &q, true, &t, &cap);
                if (r >= 0 && with_keys) {
                        q.idiag_ext = 0;
                        r = ask(fd, &q, true, &plain, &plain_cap);
                }
        }
        if (r >= 0 && with_keys)
                r = ask_missing(fd, &plain, states, &t, &cap);
        diag_table_free(&plain);
        if (r < 0) {
                diag_table_free(&t);
                return r;
        }
        *ret = t;
        return 0;
}
