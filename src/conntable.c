/* Per-child connection bookkeeping for accept mode. */
#include "conntable.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "util.h"

int peer_from_sockaddr(const struct sockaddr *sa, socklen_t len, PeerAddr *ret_addr, uint16_t *ret_port) {
        PeerAddr p = { .family = sa->sa_family };
        uint16_t port;
        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;
                p.addr.in = sin->sin_addr;
                port = ntohs(sin->sin_port);
        } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
                port = ntohs(sin6->sin6_port);
                if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                        p.family = AF_INET;
                        memcpy(&p.addr.in, &sin6->sin6_addr.s6_addr[12], sizeof p.addr.in);
                } else
                        p.addr.in6 = sin6->sin6_addr;
        } else
                return -EAFNOSUPPORT;
        *ret_addr = p;
        *ret_port = port;
        return 0;
}

bool peer_equal(const PeerAddr *a, const PeerAddr *b) {
        if (a->family != b->family)
                return false;
        return a->family == AF_INET ? a->addr.in.s_addr == b->addr.in.s_addr
                                    : memcmp(&a->addr.in6, &b->addr.in6, sizeof a->addr.in6) == 0;
}

void peer_format(const PeerAddr *p, char buf[static ADDR_STRLEN]) {
        if (!inet_ntop(p->family, &p->addr, buf, ADDR_STRLEN))
                strcpy(buf, "?");
}

int conn_table_reserve(ConnTable *t) {
        return grow_array((void **) &t->v, &t->cap, t->n + 1, sizeof *t->v);
}

int conn_table_add(ConnTable *t, pid_t pid, const PeerAddr *source) {
        int r = conn_table_reserve(t);
        if (r < 0)
                return r;
        t->v[t->n++] = (ConnEntry) { .pid = pid, .source = *source };
        return 0;
}

bool conn_table_remove(ConnTable *t, pid_t pid) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].pid == pid) {
                        t->v[i] = t->v[--t->n];
                        return true;
                }
        return false;
}

size_t conn_table_count_source(const ConnTable *t, const PeerAddr *source) {
        size_t n = 0;
        for (size_t i = 0; i < t->n; i++)
                n += peer_equal(&t->v[i].source, source);
        return n;
}

void conn_table_free(ConnTable *t) {
        free(t->v);
        *t = (ConnTable) { 0 };
}
