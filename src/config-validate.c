/* Checks on the merged config that no single line can decide: required
 * settings, modes that go together, and no prefix claimed twice. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

typedef struct PrefixRef {
        const Prefix *prefix;
        const KeyConfig *key;
        Origin origin;
} PrefixRef;

static int cmp_prefix_ref(const void *a, const void *b) {
        const PrefixRef *x = a, *y = b;
        int c = prefix_compare(x->prefix, y->prefix);
        if (c != 0)
                return c;
        /* Stable report: the earlier line first. */
        if (x->origin.file != y->origin.file)
                return x->origin.file < y->origin.file ? -1 : 1;
        return (x->origin.line > y->origin.line) - (x->origin.line < y->origin.line);
}

/* ---- TCP-AO keys ---- */

/* The MAC length of the algorithms known by name, 0 for others (the
 * kernel checks those). */
static unsigned ao_digest_size(const char *algorithm) {
        if (strcmp(algorithm, "hmac(sha1)") == 0)
                return 20;
        if (strcmp(algorithm, "cmac(aes128)") == 0)
                return 16;
        if (strcmp(algorithm, "hmac(sha256)") == 0)
                return 32;
        return 0;
}

/* One section's TCP-AO settings: all of Algorithm=, SendID= and RecvID=,
 * or none of them (a TCP MD5 key). */
static int check_ao_settings(const KeyConfig *k) {
        const Origin *o = k->send_id_origin.file ? &k->send_id_origin
                        : k->recv_id_origin.file ? &k->recv_id_origin : &k->mac_length_origin;
        const char *what = k->send_id_origin.file ? "SendID" : k->recv_id_origin.file ? "RecvID" : "MACLength";
        if (!key_is_ao(k)) {
                if (!o->file)
                        return 0;
                return log_errno(-EBADMSG, "%s:%u: [Key %s] %s= makes a TCP-AO key, which needs Algorithm= "
                                 "(add Algorithm=hmac(sha1) or Algorithm=cmac(aes128); for TCP MD5, drop SendID=, "
                                 "RecvID= and MACLength=)", o->file, o->line, k->name, what);
        }
        if (!k->send_id_origin.file || !k->recv_id_origin.file)
                return log_errno(-EBADMSG, "%s:%u: [Key %s] Algorithm=%s needs SendID= and RecvID= (0..255: the "
                                 "KeyIDs this end sends and expects; the peer's RecvID and SendID for its key)",
                                 k->algorithm_origin.file, k->algorithm_origin.line, k->name, k->algorithm);
        for (size_t i = 0; i < k->n_peers; i++) {
                const Prefix *p = &k->peers[i].prefix;
                static const InAddr zero;
                if (p->len > 0 && memcmp(&p->addr, &zero, p->family == AF_INET ? 4 : 16) == 0)
                        return log_errno(-EBADMSG, "%s:%u: [Key %s] Peer=: the kernel takes no TCP-AO key for a "
                                         "prefix at the all-zeros address other than 'any' (0.0.0.0/0, ::/0); "
                                         "name the peers' prefixes", k->peers[i].origin.file,
                                         k->peers[i].origin.line, k->name);
        }
        unsigned full = ao_digest_size(k->algorithm);
        if (k->mac_length_origin.file && full &&
            (k->mac_length < CONFIG_AO_MAC_DEFAULT || k->mac_length > full))
                return log_errno(-EBADMSG, "%s:%u: [Key %s] MACLength=%u: %s takes %u..%u bytes (default %u)",
                                 k->mac_length_origin.file, k->mac_length_origin.line, k->name, k->mac_length,
                                 k->algorithm, CONFIG_AO_MAC_DEFAULT, full, CONFIG_AO_MAC_DEFAULT);
        if (k->mac_length_origin.file && !full && k->mac_length < CONFIG_AO_MAC_DEFAULT)
                return log_errno(-EBADMSG, "%s:%u: [Key %s] MACLength=%u: at least %u bytes (96 bits)",
                                 k->mac_length_origin.file, k->mac_length_origin.line, k->name, k->mac_length,
                                 CONFIG_AO_MAC_DEFAULT);
        return 0;
}

/* One prefix contains the other: a peer in the smaller one matches both. */
static bool prefixes_overlap(const Prefix *a, const Prefix *b) {
        if (a->family != b->family)
                return false;
        const Prefix *wide = a->len <= b->len ? a : b, *narrow = wide == a ? b : a;
        return prefix_contains(wide, narrow->family, &narrow->addr);
}

static int ao_conflict(const PrefixRef *x, const PrefixRef *y, const char *what, unsigned id) {
        char px[ADDR_STRLEN], py[ADDR_STRLEN];
        prefix_format(x->prefix, px);
        prefix_format(y->prefix, py);
        if (!key_is_ao(x->key))
                return log_errno(-EBADMSG, "%s:%u: [Key %s] Peer=%s: TCP-AO key for peers that TCP MD5 [Key %s] "
                                 "(%s:%u, Peer=%s) covers too; a peer is either TCP-AO or TCP MD5, and the kernel "
                                 "lets one signature stand in for the other on overlapping prefixes: give the two "
                                 "keys prefixes that do not overlap", y->origin.file, y->origin.line, y->key->name, py,
                                 x->key->name, x->origin.file, x->origin.line, px);
        return log_errno(-EBADMSG, "%s:%u: [Key %s] Peer=%s: %s=%u is also [Key %s]'s (%s:%u, Peer=%s); TCP-AO keys "
                         "a peer can match need their own SendID and RecvID (for a rollover, give the new key new "
                         "IDs)", y->origin.file, y->origin.line, y->key->name, py, what, id, x->key->name,
                         x->origin.file, x->origin.line, px);
}

/* Whether a's line comes before b's: files in the order they were read. */
static bool origin_before(const Config *c, const Origin *a, const Origin *b) {
        if (a->file == b->file)
                return a->line < b->line;
        for (size_t i = 0; i < c->n_files; i++)
                if (strcmp(c->files[i], a->file) == 0 || strcmp(c->files[i], b->file) == 0)
                        return strcmp(c->files[i], a->file) == 0;
        return false;
}

/* A pair of overlapping prefixes, at least one of them TCP-AO: with
 * another TCP-AO key the IDs must differ (the kernel refuses the same
 * KeyID twice for a peer), with a TCP MD5 key it is refused. */
static int check_ao_pair(const Config *c, const PrefixRef *a, const PrefixRef *b) {
        const PrefixRef *x = a, *y = b; /* y: the TCP-AO one, or the later line */
        if (!key_is_ao(a->key) || !key_is_ao(b->key)) {
                if (!key_is_ao(b->key))
                        x = b, y = a;
                return ao_conflict(x, y, NULL, 0);
        }
        if (origin_before(c, &b->origin, &a->origin))
                x = b, y = a;
        if (x->key->send_id == y->key->send_id)
                return ao_conflict(x, y, "SendID", y->key->send_id);
        if (x->key->recv_id == y->key->recv_id)
                return ao_conflict(x, y, "RecvID", y->key->recv_id);
        return 0;
}

/* refs sorted by prefix_compare(): every prefix inside refs[i] follows it
 * at once, so each pair of overlapping prefixes is met once, walking from
 * the wider one; that is as many steps as prefixes times their nesting
 * depth (at most 129), not the square of their number. */
static int check_ao_overlaps(const Config *c, const PrefixRef *refs, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n && prefixes_overlap(refs[i].prefix, refs[j].prefix); j++) {
                        if (!key_is_ao(refs[i].key) && !key_is_ao(refs[j].key))
                                continue;
                        int r = check_ao_pair(c, &refs[i], &refs[j]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* No prefix claimed by two TCP MD5 keys; TCP-AO prefixes as
 * check_ao_overlaps() says. */
static int check_prefixes(const Config *c, bool any_ao) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_keys; i++)
                n += c->keys[i].n_peers;
        if (n < 2)
                return 0;
        _cleanup_free_ PrefixRef *refs = malloc(n * sizeof *refs);
        if (!refs)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < c->n_keys; i++)
                for (size_t j = 0; j < c->keys[i].n_peers; j++)
                        refs[n++] = (PrefixRef) { &c->keys[i].peers[j].prefix, &c->keys[i], c->keys[i].peers[j].origin };
        qsort(refs, n, sizeof *refs, cmp_prefix_ref);
        for (size_t i = 1; i < n; i++)
                /* Pairs with a TCP-AO key: check_ao_overlaps() judges those. */
                if (prefix_compare(refs[i - 1].prefix, refs[i].prefix) == 0 && !key_is_ao(refs[i - 1].key) &&
                    !key_is_ao(refs[i].key)) {
                        char buf[ADDR_STRLEN];
                        prefix_format(refs[i].prefix, buf);
                        return log_errno(-EBADMSG, "%s:%u: Peer=: %s is already claimed by [Key %s] at %s:%u; "
                                         "each prefix may have one key",
                                         refs[i].origin.file, refs[i].origin.line, buf, refs[i - 1].key->name,
                                         refs[i - 1].origin.file, refs[i - 1].origin.line);
                }
        return any_ao ? check_ao_overlaps(c, refs, n) : 0;
}

int config_validate_key_sections(const Config *c) {
        for (size_t i = 0; i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
                int r = check_ao_settings(k);
                if (r < 0)
                        return r;
                if (k->n_peers == 0)
                        return log_errno(-EBADMSG, "%s:%u: [Key %s] has no Peer= (add Peer=PREFIX or Peer=any)",
                                         k->origin.file, k->origin.line, k->name);
                if (k->source == SECRET_SOURCE_NONE)
                        return log_errno(-EBADMSG, "%s:%u: [Key %s] has no secret "
                                         "(add SecretFile=, Credential=, SecretHex= or Secret=)",
                                         k->origin.file, k->origin.line, k->name);
        }
        return 0;
}

int config_validate_keys(const Config *c) {
        int r = config_validate_key_sections(c);
        if (r < 0)
                return r;
        bool any_ao = false;
        for (size_t i = 0; i < c->n_keys && !any_ao; i++)
                any_ao = key_is_ao(&c->keys[i]);
        return check_prefixes(c, any_ao);
}

static int check_modes(const Config *c) {
        const Origin *inetd = &c->origin[SETTING_INETD], *on_demand = &c->origin[SETTING_ON_DEMAND];
        if (c->inetd && !c->accept)
                return log_errno(-EBADMSG, "%s:%u: Inetd=yes needs Accept=yes", inetd->file, inetd->line);
        if (c->on_demand && c->accept)
                return log_errno(-EBADMSG, "%s:%u: OnDemand=yes and Accept=yes exclude each other",
                                 on_demand->file, on_demand->line);
        return 0;
}

/* A socket with SO_REUSEPORT shares its port with any later socket of the
 * same uid that sets it too. A reuseport program cannot keep such a joiner
 * out: a classic BPF one picks by position in the group (which the joiner
 * may hold) and any member may replace it; a sockarray needs privileges. */
static int check_reuse_port(const Config *c) {
        const Origin *o = &c->origin[SETTING_REUSE_PORT];
        if (c->reuse_port)
                return log_errno(-EBADMSG, "%s:%u: ReusePort=yes is refused: another socket of the same user "
                                 "could join the port without keys and take connections (remove it; to spread "
                                 "connections over workers, let them share the handed-on socket, or use Accept=yes)",
                                 o->file, o->line);
        return 0;
}

int config_validate(const Config *c, bool have_command) {
        const char *first = c->n_files ? c->files[0] : "(no file)";
        if (c->n_listen == 0)
                return log_errno(-EBADMSG, "%s: no ListenStream= in [Socket]", first);
        if (!have_command && !c->exec_start)
                return log_errno(-EBADMSG, "%s: no command: set ExecStart= in [Service] or give one after --", first);
        if (c->n_keys == 0 && c->unmatched_peers == UNMATCHED_PEERS_DROP)
                return log_errno(-EBADMSG, "%s: no [Key NAME] section, so every peer would be dropped "
                                 "(add a key, or UnmatchedPeers=allow-unsigned for no signatures)", first);
        int r = check_modes(c);
        if (r < 0 || (r = check_reuse_port(c)) < 0)
                return r;
        return config_validate_keys(c);
}
