/* Creating the keyed listening sockets. */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "md5sig.h"
#include "tcpao.h"
#include "util.h"

static bool read_sysctl_long(const char *path, long *ret) {
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        bool ok = fscanf(f, "%ld", ret) == 1;
        fclose(f);
        return ok;
}

ListenerShape listener_expected_shape(const Config *c, const ListenAddress *a) {
        long v6only = 0;
        if (c->bind_ipv6_only == BIND_IPV6_ONLY_DEFAULT)
                read_sysctl_long("/proc/sys/net/ipv6/bindv6only", &v6only);
        else
                v6only = c->bind_ipv6_only == BIND_IPV6_ONLY_IPV6_ONLY;
        return listener_shape(a, v6only != 0);
}

/* CAP_NET_BIND_SERVICE in the effective set, from /proc (no libcap). */
static bool may_bind_privileged(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long long eff = 0;
        bool found = false;
        while (f && !found && fgets(line, sizeof line, f))
                found = sscanf(line, "CapEff: %llx", &eff) == 1;
        if (f)
                fclose(f);
        return !found || (eff >> 10 & 1); /* CAP_NET_BIND_SERVICE is 10; unknown: let bind() tell */
}

int listener_check_bind_permission(const Config *c) {
        long start = 1024;
        read_sysctl_long("/proc/sys/net/ipv4/ip_unprivileged_port_start", &start);
        for (size_t i = 0; i < c->n_listen; i++) {
                const ListenEntry *e = &c->listen[i];
                if (e->address.port >= start || may_bind_privileged())
                        continue;
                char addr[ADDR_STRLEN];
                listen_address_format(&e->address, addr);
                return log_errno(-EACCES, "%s:%u: ListenStream=%s: cannot bind: permission denied "
                                 "(ports below %ld need CAP_NET_BIND_SERVICE)", e->origin.file, e->origin.line, addr,
                                 start);
        }
        return 0;
}

size_t listener_set_keys(const ListenerSet *s) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++)
                n += s->v[i].n_keys;
        return n;
}

size_t optmem_needed(size_t n_keys) {
        /* Measured: about 136 bytes of option memory per key. Leave room. */
        size_t bytes = (n_keys + 16) * 144;
        return (bytes + 4095) / 4096 * 4096;
}

static int set_int(int fd, int level, int opt, int v) {
        return setsockopt(fd, level, opt, &v, sizeof v) < 0 ? -errno : 0;
}

static int socket_options(const Config *c, int fd, const ListenAddress *a, const char **ret_step) {
        int r;
        *ret_step = "SO_REUSEADDR";
        if ((r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
                return r;
        if (a->family == AF_INET6 && c->bind_ipv6_only != BIND_IPV6_ONLY_DEFAULT) {
                *ret_step = "IPV6_V6ONLY";
                if ((r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, c->bind_ipv6_only == BIND_IPV6_ONLY_IPV6_ONLY)) < 0)
                        return r;
        }
        if (c->free_bind) {
                *ret_step = "FreeBind";
                r = a->family == AF_INET ? set_int(fd, IPPROTO_IP, IP_FREEBIND, 1)
                                         : set_int(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
                if (r < 0)
                        return r;
        }
        /* Accepted connections inherit them, in every mode (as systemd sets
         * them); off is the kernel's default. */
        unsigned on = config_socket_option_values(c);
        SocketOption o;
        for (size_t i = 0; config_socket_option(i, &o); i++) {
                *ret_step = o.label;
                if ((on >> i & 1) && (r = set_int(fd, o.level, o.name, 1)) < 0)
                        return r;
        }
        if (c->bind_to_device) {
                *ret_step = "SO_BINDTODEVICE";
                if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->bind_to_device, (socklen_t) strlen(c->bind_to_device)) < 0)
                        return -errno;
        }
        return 0;
}

int listener_connection_options(int fd, ConnectionOptions o, const char **ret_step) {
        SocketOption so;
        size_t i = 0;
        for (; config_socket_option(i, &so); i++) {
                *ret_step = so.label;
                int r = set_int(fd, so.level, so.name, o.on >> i & 1);
                if (r < 0)
                        return r;
        }
        return (int) i;
}

/* From the socket itself, not the config: the keys must cover what the
 * kernel will deliver to it. */
static int actual_shape(int fd, const ListenAddress *a, ListenerShape *ret) {
        int v6only = 0;
        socklen_t len = sizeof v6only;
        if (a->family == AF_INET6 && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) < 0)
                return -errno;
        *ret = listener_shape(a, v6only != 0);
        return 0;
}

static int explain_key_error(int r, const Config *c, const Listener *l, const KeyEntry *e, size_t i, size_t n) {
        char addr[ADDR_STRLEN], pfx[ADDR_STRLEN];
        listen_address_format(&l->address, addr);
        key_entry_format(e, pfx);
        const char *name = key_entry_name(e);
        if (r == -ENOMEM) {
                long cur = 0;
                read_sysctl_long("/proc/sys/net/core/optmem_max", &cur);
                return log_errno(r, "%s: the kernel refused key %zu of %zu ([Key %s] %s) for lack of socket option "
                                 "memory: net.core.optmem_max is %ld; raise it to at least %zu "
                                 "(sysctl -w net.core.optmem_max=%zu, and a file in /etc/sysctl.d/)",
                                 addr, i + 1, n, name, pfx, cur, optmem_needed(n), optmem_needed(n));
        }
        if (r == -ENOPROTOOPT && key_entry_is_ao(e))
                return log_errno(r, "%s: %s", addr, TCPAO_MISSING);
        if (r == -ENOPROTOOPT)
                return log_errno(r, "%s: this kernel has no TCP MD5 signature support (CONFIG_TCP_MD5SIG)", addr);
        if (r == -ENOENT && key_entry_is_ao(e))
                return log_errno(-EBADMSG, "%s: [Key %s] Algorithm=%s: the kernel has no such MAC algorithm "
                                 "(use hmac(sha1), cmac(aes128) or hmac(sha256), or load its crypto module)", addr,
                                 name, e->algorithm);
        if (r == -EKEYREJECTED)
                return log_errno(r, "%s: the kernel refused [Key %s] %s beside a key of the other kind "
                                 "(TCP-AO and TCP MD5) for the same peers", addr, name, pfx);
        if (r == -EINVAL && e->ifindex)
                return log_errno(r, "%s: [Key %s] Interface=%s: the kernel refused it; Interface= must name a VRF "
                                 "(l3mdev) device", addr, name, config_find_key(c, e->name)->interface);
        return log_errno(r, "%s: cannot install [Key %s] %s (key %zu of %zu): %s", addr, name, pfx, i + 1, n,
                         strerror(-r));
}

/* A layout plan_keys() refuses, named with both keys. */
static int check_layout(const Config *c, const ListenEntry *le, ListenerShape shape) {
        const KeyConfig *ao, *md5, *any = plan_ao_v4_any_on_v6(c, shape);
        char addr[ADDR_STRLEN];
        listen_address_format(&le->address, addr);
        if (any)
                return log_errno(-EBADMSG, "%s:%u: ListenStream=%s: TCP-AO [Key %s] (%s:%u) is for every IPv4 peer "
                                 "(0.0.0.0/0), which the kernel cannot hold on a socket that takes IPv4 as IPv6 "
                                 "(it refuses a TCP-AO key at ::ffff:0.0.0.0): listen on IPv4 apart "
                                 "(ListenStream=0.0.0.0:PORT, and [::]:PORT with BindIPv6Only=ipv6-only), or name "
                                 "the IPv4 prefixes", le->origin.file, le->origin.line, addr, any->name,
                                 any->origin.file, any->origin.line);
        if (!plan_mixed_refused(c, shape, &ao, &md5))
                return 0;
        return log_errno(-EBADMSG, "%s:%u: ListenStream=%s: TCP-AO [Key %s] (%s:%u) and TCP MD5 [Key %s] (%s:%u) "
                         "both reach this listener, and UnmatchedPeers=drop: no layout of the two kinds drops the "
                         "peers that match neither (the kernel refuses ao_required beside MD5 keys, and an MD5 "
                         "catch-all makes it refuse TCP-AO keys added later); serve TCP-AO and TCP MD5 peers from "
                         "separate configs, or set UnmatchedPeers=allow-unsigned", le->origin.file, le->origin.line,
                         addr, ao->name, ao->origin.file, ao->origin.line, md5->name, md5->origin.file,
                         md5->origin.line);
}

int listener_check_layouts(const Config *c) {
        for (size_t i = 0; i < c->n_listen; i++) {
                int r = check_layout(c, &c->listen[i], listener_expected_shape(c, &c->listen[i].address));
                if (r < 0)
                        return r;
        }
        return 0;
}

int listener_check_kernel(const Config *c) {
        const char *probed[16];
        size_t n_probed = 0;
        /* Each algorithm once, on a throwaway socket, before anything listens. */
        for (size_t i = 0; i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
                bool seen = false;
                for (size_t j = 0; key_is_ao(k) && j < n_probed && !seen; j++)
                        seen = strcmp(probed[j], k->algorithm) == 0;
                if (!key_is_ao(k) || seen)
                        continue;
                if (n_probed < ELEMENTSOF(probed)) /* past that, a name is probed again: harmless */
                        probed[n_probed++] = k->algorithm;
                int r = tcpao_probe(k->algorithm);
                if (r == -ENOPROTOOPT)
                        return log_errno(r, "%s:%u: [Key %s] is a TCP-AO key (Algorithm=), but %s",
                                         k->algorithm_origin.file, k->algorithm_origin.line, k->name, TCPAO_MISSING);
                if (r == -ENOENT)
                        return log_errno(-EBADMSG, "%s:%u: [Key %s] Algorithm=%s: the kernel has no such MAC "
                                         "algorithm (use hmac(sha1), cmac(aes128) or hmac(sha256), or load its "
                                         "crypto module)", k->algorithm_origin.file, k->algorithm_origin.line,
                                         k->name, k->algorithm);
                if (r < 0)
                        return log_errno(r, "%s:%u: [Key %s] Algorithm=%s: the kernel refused a test key: %s",
                                         k->algorithm_origin.file, k->algorithm_origin.line, k->name,
                                         k->algorithm, strerror(-r));
        }
        return 0;
}

static int install_keys(const Config *c, const ListenEntry *le, Listener *l, const Secret *catch_all) {
        KeyEntry *entries;
        size_t n;
        int r = check_layout(c, le, l->shape);
        if (r < 0)
                return r;
        if ((r = plan_keys(c, l->shape, catch_all, &entries, &n)) < 0)
                return log_errno(r, "out of memory planning keys");
        for (size_t i = 0; i < n && r >= 0; i++) {
                const KeyEntry *e = &entries[i];
                if ((r = key_entry_is_ao(e) ? tcpao_add(l->fd, e) : md5sig_add(l->fd, e)) < 0)
                        r = explain_key_error(r, c, l, e, i, n);
        }
        if (r >= 0 && plan_ao_required(c, l->shape) && (r = tcpao_set_required(l->fd)) < 0) {
                char addr[ADDR_STRLEN];
                listen_address_format(&l->address, addr);
                r = log_errno(r, "%s: cannot set TCP-AO's ao_required, which drops peers that match no key: %s",
                              addr, strerror(-r));
        }
        if (r < 0) {
                key_table_free(entries, n);
                return r;
        }
        l->keys = entries;
        l->n_keys = n;
        l->ao_required = plan_ao_required(c, l->shape);
        return 0;
}

static int resolve_scope(const ListenAddress *a, uint32_t *ret) {
        uint64_t v;
        *ret = 0;
        if (!a->scope[0])
                return 0;
        if (parse_uint(a->scope, 1, UINT32_MAX, &v) == 0) {
                *ret = (uint32_t) v;
                return 0;
        }
        *ret = if_nametoindex(a->scope);
        return *ret ? 0 : -ENODEV;
}

static int listener_bind(const Listener *l) {
        const ListenAddress *a = &l->address;
        if (a->family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(a->port), .sin_addr = a->addr.in };
                return bind(l->fd, (struct sockaddr *) &sin, sizeof sin) < 0 ? -errno : 0;
        }
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(a->port), .sin6_addr = a->addr.in6 };
        int r = resolve_scope(a, &sin6.sin6_scope_id);
        if (r < 0)
                return r;
        return bind(l->fd, (struct sockaddr *) &sin6, sizeof sin6) < 0 ? -errno : 0;
}

static int listener_open(const Config *c, const ListenEntry *e, const Secret *catch_all, Listener *l) {
        char addr[ADDR_STRLEN];
        const char *step;
        listen_address_format(&e->address, addr);
        *l = (Listener) { .fd = -1, .address = e->address };
        l->fd = socket(e->address.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
        if (l->fd < 0)
                return log_errno(-errno, "%s:%u: ListenStream=%s: cannot create socket: %m", e->origin.file,
                                 e->origin.line, addr);
        int r = socket_options(c, l->fd, &e->address, &step);
        if (r < 0)
                return log_errno(r, "%s:%u: ListenStream=%s: cannot set %s: %s", e->origin.file, e->origin.line, addr,
                                 step, strerror(-r));
        if ((r = actual_shape(l->fd, &e->address, &l->shape)) < 0)
                return log_errno(r, "%s:%u: ListenStream=%s: cannot read IPV6_V6ONLY: %s", e->origin.file,
                                 e->origin.line, addr, strerror(-r));
        if ((r = install_keys(c, e, l, catch_all)) < 0)
                return r;
        r = listener_bind(l);
        if (r == -ENODEV)
                return log_errno(-EBADMSG, "%s:%u: ListenStream=%s: no interface '%s'", e->origin.file,
                                 e->origin.line, addr, e->address.scope);
        if (r == -EACCES)
                return log_errno(r, "%s:%u: ListenStream=%s: cannot bind: permission denied "
                                 "(ports below 1024 need CAP_NET_BIND_SERVICE)", e->origin.file, e->origin.line, addr);
        if (r < 0)
                return log_errno(r, "%s:%u: ListenStream=%s: cannot bind: %s", e->origin.file, e->origin.line, addr,
                                 strerror(-r));
        return 0;
}

int listener_set_open(const Config *c, ListenerSet *s) {
        *s = (ListenerSet) { 0 };
        int r = listener_check_layouts(c);
        if (r >= 0)
                r = listener_check_kernel(c);
        if (r < 0)
                return r;
        r = secret_random(&s->catch_all);
        if (r < 0)
                return log_errno(r, "cannot get random bytes for the catch-all key: %s", strerror(-r));
        if (!(s->v = calloc(c->n_listen, sizeof *s->v)))
                return log_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < c->n_listen; i++) {
                s->n = i + 1;
                if ((r = listener_open(c, &c->listen[i], &s->catch_all, &s->v[i])) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < s->n; i++)
                if (listen(s->v[i].fd, (int) c->backlog) < 0) {
                        char addr[ADDR_STRLEN];
                        listen_address_format(&s->v[i].address, addr);
                        r = log_errno(-errno, "%s: listen() failed: %m", addr);
                        goto fail;
                }
        return 0;
fail:
        listener_set_close(s);
        return r;
}

void listener_set_close(ListenerSet *s) {
        for (size_t i = 0; i < s->n; i++) {
                closep(&s->v[i].fd);
                key_table_free(s->v[i].keys, s->v[i].n_keys);
        }
        free(s->v);
        secret_wipe(&s->catch_all);
        *s = (ListenerSet) { 0 };
}
