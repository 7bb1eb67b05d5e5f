/* The --status view (see status.h). */
#include "status.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "drift.h"
#include "listener.h"
#include "log.h"
#include "sockdiag.h"
#include "tcpao.h"
#include "unkeyed.h"
#include "util.h"

typedef struct View {
        const Config *c;
        DiagTable listening, established;
        bool *shown;            /* per listening socket: matched to a listener of c */
        uint64_t *ours;         /* the inodes of c's listeners found */
        size_t n_ours;
        bool differs;
} View;

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

static void prefix_text(const Prefix *p, char buf[static ADDR_STRLEN]) { prefix_format(p, buf); }

/* The TcpExt counters that move when a signed or unsigned segment is
 * dropped, from /proc/net/netstat (a line of names, then one of values). */
static void print_counters(void) {
        static const char *const wanted[] = { "TCPMD5NotFound", "TCPMD5Failure", "TCPMD5Unexpected", "TCPAORequired",
                                              "TCPAOBad", "TCPAOKeyNotFound", "TCPAOGood", "TCPAODroppedIcmps" };
        /* The kernel lists the TCP-AO counters even without TCP-AO: then they say nothing. */
        size_t n_wanted = tcpao_probe("hmac(sha1)") == -ENOPROTOOPT ? 3 : ELEMENTSOF(wanted);
        char names[8192], values[8192];
        FILE *f = fopen("/proc/net/netstat", "re");
        printf("kernel counters");
        while (f && fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
                if (strncmp(names, "TcpExt:", 7) != 0)
                        continue;
                char *sn, *sv, *n = strtok_r(names + 7, " \n", &sn), *v = strtok_r(values + 7, " \n", &sv);
                for (; n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv))
                        for (size_t i = 0; i < n_wanted; i++)
                                if (strcmp(n, wanted[i]) == 0)
                                        printf(" TcpExt%s=%s", n, v);
        }
        printf("%s\n", f ? "" : " (cannot read /proc/net/netstat)");
        if (f)
                fclose(f);
}

static bool socket_is(const DiagSocket *d, const ListenAddress *a) {
        return d->family == a->family && d->local_port == a->port &&
               memcmp(&d->local, &a->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* A configured key with this prefix and secret, for sockets c does not
 * list; NULL when none. */
static const KeyConfig *key_named(const Config *c, const DiagKey *k) {
        for (size_t i = 0; c && i < c->n_keys; i++) {
                const KeyConfig *kc = &c->keys[i];
                char fp[SECRET_FINGERPRINT_STRLEN];
                if (config_key_deferred(kc))
                        continue;
                secret_fingerprint(&kc->secret, fp);
                for (size_t j = 0; j < kc->n_peers; j++)
                        if (prefix_compare(&kc->peers[j].prefix, &k->prefix) == 0 && strcmp(fp, k->fingerprint) == 0)
                                return kc;
        }
        return NULL;
}

/* One prefix: its key's name ("-" when unknown), the fingerprint of what
 * the kernel holds (or of the missing key), the verdict. */
static void print_line(const Prefix *p, const char *name, const char *fp, const char *verdict) {
        char pfx[ADDR_STRLEN], label[CONFIG_NAME_MAX + 8];
        prefix_text(p, pfx);
        snprintf(label, sizeof label, name[0] && strcmp(name, "catch-all") ? "[Key %s]" : "%s", name[0] ? name : "-");
        printf("  %-43s %-20s fingerprint %-16s %s\n", pfx, label, fp[0] ? fp : "(random)", verdict);
}

/* Accept mode: the established connections on the listener's port, per
 * remote address. */
static void print_connections(const View *v, const DiagSocket *l) {
        size_t total = 0;
        for (size_t i = 0; i < v->established.n; i++) {
                const DiagSocket *e = &v->established.v[i];
                if (e->local_port != l->local_port)
                        continue;
                total++;
                bool seen = false; /* counted with an earlier one of the same address */
                for (size_t j = 0; j < i && !seen; j++) {
                        const DiagSocket *o = &v->established.v[j];
                        seen = o->local_port == l->local_port && o->family == e->family &&
                               memcmp(&o->remote, &e->remote, sizeof o->remote) == 0;
                }
                if (seen)
                        continue;
                size_t same = 0;
                for (size_t j = i; j < v->established.n; j++) {
                        const DiagSocket *o = &v->established.v[j];
                        same += o->local_port == l->local_port && o->family == e->family &&
                                memcmp(&o->remote, &e->remote, sizeof o->remote) == 0;
                }
                Prefix host = { .family = e->family, .addr = e->remote, .len = e->family == AF_INET ? 32 : 128 };
                char addr[ADDR_STRLEN];
                prefix_text(&host, addr);
                printf("  connections from %s: %zu\n", addr, same);
        }
        printf("  connections: %zu\n", total);
}

/* What the kernel holds of TCP-AO on one listener: read on a copy of the
 * socket taken from its holder, for sock_diag does not report TCP-AO. */
typedef struct AoView {
        int error;             /* why nothing was read, or 0 */
        TcpaoInfo info;
        AoDriftLine *lines;
        size_t n_lines, n_diff;
} AoView;

static int ao_read(View *v, const DiagSocket *d, ListenerShape shape, AoView *ret) {
        _cleanup_close_ int fd = -1;
        TcpaoKey *have;
        ExpectedAoKey *want;
        size_t n_have, n_want;
        int r = proc_socket_take(d->inode, &fd);
        if (r >= 0)
                r = tcpao_get_info(fd, &ret->info);
        if (r >= 0)
                r = tcpao_get_keys(fd, &have, &n_have);
        if (r < 0 && r != -ENOMEM) { /* said in the view, not an error of --status */
                ret->error = -r;
                return 0;
        }
        if (r < 0)
                return r;
        r = drift_ao_expected(v->c, shape, &want, &n_want);
        if (r >= 0) {
                r = drift_ao_diff(want, n_want, have, n_have, &ret->lines, &ret->n_lines);
                free(want);
        }
        free(have);
        for (size_t i = 0; r >= 0 && i < ret->n_lines; i++)
                ret->n_diff += drift_kind_differs(ret->lines[i].kind);
        return r;
}

/* "hmac(sha1) SendID 1 RecvID 1 MAC 12" */
static void ao_key_text(const char *algorithm, unsigned send_id, unsigned recv_id, unsigned mac, char *buf, size_t n) {
        snprintf(buf, n, "%s SendID %u RecvID %u MAC %u", algorithm, send_id, recv_id, mac);
}

static void print_ao_line(const AoDriftLine *l) {
        const ExpectedAoKey *w = &l->want;
        const TcpaoKey *h = &l->have;
        char conf[128], kern[128];
        print_line(l->has_want ? &w->prefix : &h->prefix, l->has_want ? w->name : "",
                   l->has_want && w->fingerprint[0] ? w->fingerprint : "-", drift_kind_to_string(l->kind));
        if (l->has_want)
                ao_key_text(w->algorithm, w->send_id, w->recv_id, w->mac_length, conf, sizeof conf);
        if (l->has_have)
                ao_key_text(h->algorithm, h->send_id, h->recv_id, h->mac_length, kern, sizeof kern);
        if (!l->has_have) {
                printf("    TCP-AO %s: not on the socket\n", conf);
                return;
        }
        if (!l->has_want)
                printf("    TCP-AO %s (not in the config):", kern);
        else if (l->kind == DRIFT_OTHER_MAC)
                printf("    TCP-AO %s (the kernel holds %s %u-byte MACs):", conf, h->algorithm, h->mac_length);
        else
                printf("    TCP-AO %s:", conf);
        printf(" pkt_good %llu pkt_bad %llu%s%s\n", (unsigned long long) h->pkt_good, (unsigned long long) h->pkt_bad,
               h->is_current ? " current" : "", h->is_rnext ? " rnext" : "");
}

static void print_ao(const AoView *a, bool configured) {
        if (a->error) {
                if (configured) /* else keys the config dropped were looked for, at best */
                        printf("  TCP-AO keys not read: %s%s\n", strerror(a->error),
                               a->error == EPERM ? " (taking the socket from its holder needs ptrace rights: "
                                                   "run --status as root)" : "");
                return;
        }
        if (a->n_lines == 0)
                return;
        const TcpaoInfo *i = &a->info;
        printf("  TCP-AO socket%s: pkt_good %llu pkt_bad %llu pkt_key_not_found %llu pkt_ao_required %llu "
               "pkt_dropped_icmp %llu", i->ao_required ? " (ao_required)" : "", (unsigned long long) i->pkt_good,
               (unsigned long long) i->pkt_bad, (unsigned long long) i->pkt_key_not_found,
               (unsigned long long) i->pkt_ao_required, (unsigned long long) i->pkt_dropped_icmp);
        if (i->has_current)
                printf(" current SendID %u", i->current);
        if (i->has_rnext)
                printf(" rnext RecvID %u", i->rnext);
        printf("\n  TCP-AO keys matched on prefix, IDs, algorithm and MAC length; the fingerprints are the "
               "config's (the kernel's secrets are not compared)\n");
        for (size_t k = 0; k < a->n_lines; k++)
                print_ao_line(&a->lines[k]);
}

static void print_verdict(size_t n_md5, size_t n_ao) {
        if (n_md5 + n_ao == 0)
                printf(": in sync\n");
        else if (n_ao == 0)
                printf(": %zu %s differ%s\n", n_md5, plural(n_md5, "prefix", "prefixes"), n_md5 == 1 ? "s" : "");
        else if (n_md5 == 0)
                printf(": %zu TCP-AO %s differ%s\n", n_ao, plural(n_ao, "key", "keys"), n_ao == 1 ? "s" : "");
        else
                printf(": %zu %s and %zu TCP-AO %s differ\n", n_md5, plural(n_md5, "prefix", "prefixes"), n_ao,
                       plural(n_ao, "key", "keys"));
}

static int show_socket(View *v, const DiagSocket *d, ListenerShape shape) {
        ExpectedKey *want;
        DriftLine *lines;
        AoView ao = { 0 };
        size_t n_want, n_lines, n_diff = 0;
        const KeyConfig *ao_key, *md5_key;
        plan_key_kinds(v->c, shape, &ao_key, &md5_key);
        /* A listener without MD5 keys may hold TCP-AO keys the config no longer names. */
        int r = ao_key || d->n_keys == 0 ? ao_read(v, d, shape, &ao) : 0;
        if (r >= 0)
                r = drift_expected(v->c, shape, &want, &n_want);
        if (r >= 0) {
                r = drift_diff(want, n_want, d->keys, d->n_keys, &lines, &n_lines);
                free(want);
        }
        if (r < 0) {
                free(ao.lines);
                return r;
        }
        for (size_t i = 0; i < n_lines; i++)
                n_diff += drift_kind_differs(lines[i].kind);
        /* Keys the config has that could not be read are not "in sync". */
        bool unread = ao_key && ao.error;
        if (unread)
                printf(": TCP-AO keys not read\n");
        else
                print_verdict(n_diff, ao.n_diff);
        for (size_t i = 0; i < n_lines; i++)
                print_line(&lines[i].prefix, lines[i].catch_all ? "catch-all" : lines[i].name, lines[i].fingerprint,
                           drift_kind_to_string(lines[i].kind));
        free(lines);
        print_ao(&ao, ao_key != NULL);
        free(ao.lines);
        if (v->c->accept)
                print_connections(v, d);
        v->differs |= n_diff + ao.n_diff > 0 || unread;
        return 0;
}

static int show_listener(View *v, const ListenAddress *a) {
        char addr[ADDR_STRLEN];
        ListenerShape shape = listener_expected_shape(v->c, a);
        bool found = false;
        listen_address_format(a, addr);
        for (size_t i = 0; i < v->listening.n; i++) {
                const DiagSocket *d = &v->listening.v[i];
                if (!socket_is(d, a))
                        continue;
                found = v->shown[i] = true;
                v->ours[v->n_ours++] = d->inode;
                printf("listen %s%s, socket %llu", addr, shape.ipv4 && shape.ipv6 ? " (dual-stack)" : "",
                       (unsigned long long) d->inode);
                int r = show_socket(v, d, shape);
                if (r < 0)
                        return r;
        }
        if (!found) {
                printf("listen %s: not listening\n", addr);
                v->differs = true;
        }
        return 0;
}

/* Keyed listeners of this namespace that c does not name (all of them
 * without a config). */
static void show_others(View *v) {
        for (size_t i = 0; i < v->listening.n; i++) {
                const DiagSocket *d = &v->listening.v[i];
                if (v->shown[i] || d->n_keys == 0)
                        continue;
                ListenAddress a = { .family = d->family, .addr = d->local, .port = d->local_port };
                char addr[ADDR_STRLEN];
                listen_address_format(&a, addr);
                printf("listen %s, socket %llu%s: %zu %s\n", addr, (unsigned long long) d->inode,
                       v->c ? " (not in this config)" : "", d->n_keys, plural(d->n_keys, "key", "keys"));
                for (size_t j = 0; j < d->n_keys; j++) {
                        const KeyConfig *k = key_named(v->c, &d->keys[j]);
                        print_line(&d->keys[j].prefix, k ? k->name : "", d->keys[j].fingerprint, "");
                }
        }
}

/* The processes holding c's listeners, and their descendants: the service. */
static int show_unprotected(View *v) {
        pid_t *holders = NULL;
        UnkeyedPort *u = NULL;
        size_t n_holders = 0, n = 0;
        int r = proc_socket_holders(v->ours, v->n_ours, &holders, &n_holders);
        if (r >= 0 && n_holders > 0)
                r = unkeyed_find(&v->listening, holders, n_holders, true, v->ours, v->n_ours, &u, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char one[UNKEYED_STRLEN];
                unkeyed_format(&u[i], one);
                printf("unprotected %s: not protected: configure the daemon to use the inherited socket, "
                       "or add ListenStream=\n", one);
                v->differs = true;
        }
        free(u);
        free(holders);
        return r;
}

static int show(View *v) {
        int r;
        if (v->c) {
                for (size_t i = 0; i < v->c->n_files; i++)
                        printf("config %s\n", v->c->files[i]);
                printf("compared with the config as on disk now: what a reload would install\n");
        }
        for (size_t i = 0; v->c && i < v->c->n_listen; i++)
                if ((r = show_listener(v, &v->c->listen[i].address)) < 0)
                        return r;
        show_others(v);
        if (v->c && (r = show_unprotected(v)) < 0)
                return r;
        print_counters();
        return 0;
}

int status_show(const Config *c) {
        if (!sockdiag_can_read_keys()) {
                log_error("cannot read the keys the kernel holds without CAP_NET_ADMIN: run --status as root");
                return EXIT_NOPERM;
        }
        View v = { .c = c };
        int r = sockdiag_dump(SOCKDIAG_STATE(TCP_LISTEN), true, &v.listening);
        if (r >= 0 && c && c->accept)
                r = sockdiag_dump(SOCKDIAG_STATE(TCP_ESTABLISHED), false, &v.established);
        if (r >= 0) {
                v.shown = calloc(v.listening.n + 1, sizeof *v.shown);
                v.ours = calloc(v.listening.n + 1, sizeof *v.ours);
                r = v.shown && v.ours ? show(&v) : -ENOMEM;
        }
        free(v.shown);
        free(v.ours);
        diag_table_free(&v.listening);
        diag_table_free(&v.established);
        if (r < 0) {
                log_error("cannot read the sockets from the kernel (sock_diag): %s", strerror(-r));
                return EXIT_OSERR;
        }
        return v.differs ? 1 : 0;
}
