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

static int check_duplicate_prefixes(const Config *c) {
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
                if (prefix_compare(refs[i - 1].prefix, refs[i].prefix) == 0) {
                        char buf[ADDR_STRLEN];
                        prefix_format(refs[i].prefix, buf);
                        return log_errno(-EBADMSG, "%s:%u: Peer=: %s is already claimed by [Key %s] at %s:%u; "
                                         "each prefix may have one key",
                                         refs[i].origin.file, refs[i].origin.line, buf, refs[i - 1].key->name,
                                         refs[i - 1].origin.file, refs[i - 1].origin.line);
                }
        return 0;
}

int config_validate_key_sections(const Config *c) {
        for (size_t i = 0; i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
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
        return r < 0 ? r : check_duplicate_prefixes(c);
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
