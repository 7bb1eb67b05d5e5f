/* The config model and its settings: one parser per setting, merge rules,
 * and validation of the merged result. Reading files lives elsewhere. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>

#include "execwords.h"
#include "log.h"
#include "util.h"

Config *config_new(const char *name) {
        Config *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->name = strdup(name);
        if (!c->name) {
                free(c);
                return NULL;
        }
        c->backlog = CONFIG_BACKLOG_DEFAULT;
        c->max_connections = CONFIG_MAX_CONNECTIONS_DEFAULT;
        return c;
}

static void key_config_done(KeyConfig *k) {
        free(k->name);
        free(k->peers);
        free(k->source_arg);
        free(k->interface);
        free(k->algorithm);
        secret_wipe(&k->secret);
}

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_keys; i++)
                key_config_done(&c->keys[i]);
        free(c->keys);
        free(c->key_index);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c->listen);
        free(c->bind_to_device);
        free(c->fdname);
        strv_free(c->exec_start);
        free(c->name);
        free(c);
}

/* ---- key name index: keeps 100 000 [Key] sections linear ---- */

static size_t hash_name(const char *s) {
        size_t h = 14695981039346656037ull;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ull;
        return h;
}

static int key_index_rebuild(Config *c, size_t size) {
        size_t *idx = malloc(size * sizeof *idx);
        if (!idx)
                return -ENOMEM;
        memset(idx, 0xff, size * sizeof *idx);
        for (size_t i = 0; i < c->n_keys; i++) {
                size_t h = hash_name(c->keys[i].name) & (size - 1);
                while (idx[h] != SIZE_MAX)
                        h = (h + 1) & (size - 1);
                idx[h] = i;
        }
        free(c->key_index);
        c->key_index = idx;
        c->key_index_size = size;
        return 0;
}

KeyConfig *config_find_key(const Config *c, const char *name) {
        if (c->key_index_size == 0)
                return NULL;
        size_t h = hash_name(name) & (c->key_index_size - 1);
        for (; c->key_index[h] != SIZE_MAX; h = (h + 1) & (c->key_index_size - 1))
                if (strcmp(c->keys[c->key_index[h]].name, name) == 0)
                        return &c->keys[c->key_index[h]];
        return NULL;
}

static int config_add_key(Config *c, const char *name, Origin origin, KeyConfig **ret) {
        /* Secret= and SecretHex= are already in the keys before this one. */
        int r = grow_array_wiped((void **) &c->keys, &c->cap_keys, c->n_keys + 1, sizeof(KeyConfig));
        if (r < 0)
                return r;
        KeyConfig *k = &c->keys[c->n_keys];
        *k = (KeyConfig) { .origin = origin };
        if (!(k->name = strdup(name)))
                return -ENOMEM;
        c->n_keys++;
        if ((c->n_keys + 1) * 2 > c->key_index_size)
                r = key_index_rebuild(c, c->key_index_size ? c->key_index_size * 2 : 64);
        else {
                size_t h = hash_name(name) & (c->key_index_size - 1);
                while (c->key_index[h] != SIZE_MAX)
                        h = (h + 1) & (c->key_index_size - 1);
                c->key_index[h] = c->n_keys - 1;
        }
        if (r < 0)
                return r;
        *ret = k;
        return 0;
}

/* ---- setting parsers: return 0, or -EBADMSG after logging ---- */

typedef struct Assignment {
        Config *config;
        KeyConfig *key;     /* for [Key NAME] settings */
        const char *name;   /* setting name */
        const char *value;
        Origin origin;
        const char *secret_problem; /* of the file, for Secret=/SecretHex= */
} Assignment;

#define BAD(a, fmt, ...) \
        log_errno(-EBADMSG, "%s:%u: %s=: " fmt, (a)->origin.file, (a)->origin.line, (a)->name, ##__VA_ARGS__)

static int set_string(const Assignment *a, char **field, size_t max, const char *forbidden) {
        for (const char *p = a->value; *p; p++)
                if (!isprint((unsigned char) *p) || strchr(forbidden, *p))
                        return BAD(a, "'%s' contains a character that is not allowed here", a->value);
        if (strlen(a->value) > max)
                return BAD(a, "'%s' is longer than %zu characters", a->value, max);
        char *s = NULL;
        if (!str_empty(a->value) && !(s = strdup(a->value)))
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static int set_bool(const Assignment *a, bool *field, bool dflt) {
        if (str_empty(a->value)) {
                *field = dflt;
                return 0;
        }
        if (parse_bool(a->value, field) < 0)
                return BAD(a, "'%s' is not a boolean (use yes or no)", a->value);
        return 0;
}

static int set_unsigned(const Assignment *a, unsigned *field, unsigned min, unsigned max, unsigned dflt) {
        uint64_t v;
        if (str_empty(a->value)) {
                *field = dflt;
                return 0;
        }
        int r = parse_uint(a->value, min, max, &v);
        if (r == -ERANGE)
                return BAD(a, "%s is out of range (%u..%u)", a->value, min, max);
        if (r < 0)
                return BAD(a, "'%s' is not a number", a->value);
        *field = (unsigned) v;
        return 0;
}

static int set_enum(const Assignment *a, int *field, const char *const *names, int n) {
        if (str_empty(a->value)) {
                *field = 0;
                return 0;
        }
        char accepted[128] = "";
        for (int i = 0; i < n; i++) {
                if (strcmp(a->value, names[i]) == 0) {
                        *field = i;
                        return 0;
                }
                snprintf(accepted + strlen(accepted), sizeof accepted - strlen(accepted), "%s%s", i ? ", " : "",
                         names[i]);
        }
        return BAD(a, "'%s' is not one of the accepted values: %s", a->value, accepted);
}

static const char *const bind_ipv6_only_names[] = { "default", "both", "ipv6-only" };
static const char *const unmatched_peers_names[] = { "drop", "allow-unsigned" };

const char *bind_ipv6_only_to_string(BindIPv6Only b) { return bind_ipv6_only_names[b]; }

const char *secret_source_to_string(SecretSource s) {
        static const char *const names[] = { "none", "SecretFile", "Secret", "SecretHex", "Credential" };
        return names[s];
}

/* Letters, digits, '-' and '.', with a letter that is no hex digit: a
 * name, not an address (fe80 and dead:beef are written with hex digits). */
static bool host_name_like(const char *s, size_t n) {
        bool letter = false;
        for (size_t i = 0; i < n; i++) {
                if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '.')
                        return false;
                letter = letter || (isalpha((unsigned char) s[i]) && unhexchar(s[i]) < 0);
        }
        return letter;
}

/* "2001:db8::1:2222": an IPv6 address and a port without the brackets
 * that tell them apart (the whole is a valid address too). */
static bool bare_ipv6_with_port(const char *s, const char *last_colon) {
        if (!last_colon || strchr(s, '[') || strchr(s, ':') == last_colon || !last_colon[1] ||
            strspn(last_colon + 1, "0123456789") != strlen(last_colon + 1))
                return false;
        char host[INET6_ADDRSTRLEN];
        struct in6_addr a;
        if ((size_t) (last_colon - s) >= sizeof host)
                return false;
        snprintf(host, sizeof host, "%.*s", (int) (last_colon - s), s);
        return inet_pton(AF_INET6, host, &a) == 1;
}

/* What else systemd's ListenStream= takes, for a message that says so. */
static const char *non_tcp_address_kind(const char *s) {
        if (s[0] == '/')
                return "a unix socket path";
        if (s[0] == '@')
                return "an abstract unix socket";
        if (strncmp(s, "vsock:", 6) == 0)
                return "a vsock address";
        return NULL;
}

static int p_listen_stream(const Assignment *a) {
        Config *c = a->config;
        if (str_empty(a->value)) {
                c->n_listen = 0;
                return 0;
        }
        ListenEntry e = { .origin = a->origin };
        int r = listen_address_parse(a->value, &e.address);
        if (r == -ERANGE)
                return BAD(a, "port in '%s' is out of range (1..65535)", a->value);
        if (r == -EAFNOSUPPORT) {
                char v4[ADDR_STRLEN];
                ListenAddress as_v4 = { .family = AF_INET, .port = e.address.port };
                memcpy(&as_v4.addr.in, &e.address.addr.in6.s6_addr[12], sizeof as_v4.addr.in);
                listen_address_format(&as_v4, v4);
                return BAD(a, "'%s' is an IPv4-mapped address: the socket would receive IPv4 peers; "
                           "write it as %s", a->value, v4);
        }
        const char *kind = non_tcp_address_kind(a->value), *colon = strrchr(a->value, ':');
        if (r < 0 && kind)
                return BAD(a, "'%s' is %s, which is not supported: TCP MD5 needs TCP (PORT, IPv4:PORT or "
                           "[IPv6]:PORT)", a->value, kind);
        if (r < 0 && colon && host_name_like(a->value, (size_t) (colon - a->value)))
                return BAD(a, "'%s' names a host: ListenStream= takes a numeric address (127.0.0.1:22, [::1]:22); "
                           "names are not resolved", a->value);
        if (r < 0 && bare_ipv6_with_port(a->value, colon))
                return BAD(a, "'%s' is ambiguous: an IPv6 address with a port goes in brackets: write [%.*s]:%s",
                           a->value, (int) (colon - a->value), a->value, colon + 1);
        if (r < 0)
                return BAD(a, "'%s' is not PORT, IPv4:PORT, [IPv6]:PORT or [fe80::1%%if]:PORT", a->value);
        if ((r = grow_array((void **) &c->listen, &c->cap_listen, c->n_listen + 1, sizeof e)) < 0)
                return r;
        c->listen[c->n_listen++] = e;
        return 0;
}

static int p_bind_ipv6_only(const Assignment *a) {
        return set_enum(a, (int *) &a->config->bind_ipv6_only, bind_ipv6_only_names, _BIND_IPV6_ONLY_MAX);
}
static int p_unmatched_peers(const Assignment *a) {
        return set_enum(a, (int *) &a->config->unmatched_peers, unmatched_peers_names, _UNMATCHED_PEERS_MAX);
}
static int p_backlog(const Assignment *a) {
        return set_unsigned(a, &a->config->backlog, 1, 65535, CONFIG_BACKLOG_DEFAULT);
}
static int p_free_bind(const Assignment *a) { return set_bool(a, &a->config->free_bind, false); }
static int p_reuse_port(const Assignment *a) { return set_bool(a, &a->config->reuse_port, false); }
static int p_keep_alive(const Assignment *a) { return set_bool(a, &a->config->keep_alive, false); }
static int p_no_delay(const Assignment *a) { return set_bool(a, &a->config->no_delay, false); }
static int p_bind_to_device(const Assignment *a) {
        return set_string(a, &a->config->bind_to_device, IF_NAMESIZE - 1, "/: %");
}
static int p_fdname(const Assignment *a) {
        return set_string(a, &a->config->fdname, 255, ":");
}

static int p_accept(const Assignment *a) { return set_bool(a, &a->config->accept, false); }
static int p_inetd(const Assignment *a) { return set_bool(a, &a->config->inetd, false); }
static int p_on_demand(const Assignment *a) { return set_bool(a, &a->config->on_demand, false); }
static int p_max_connections(const Assignment *a) {
        return set_unsigned(a, &a->config->max_connections, 1, 1000000, CONFIG_MAX_CONNECTIONS_DEFAULT);
}
static int p_max_per_source(const Assignment *a) {
        return set_unsigned(a, &a->config->max_connections_per_source, 1, 1000000, 0);
}

static int p_exec_start(const Assignment *a) {
        Config *c = a->config;
        char **words = NULL;
        const char *why;
        if (str_empty(a->value)) {
                strv_free(c->exec_start);
                c->exec_start = NULL;
                return 0;
        }
        int r = exec_words_parse(a->value, &words, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return BAD(a, "%s", why);
        strv_free(c->exec_start);
        c->exec_start = words;
        return 0;
}

static int p_peer(const Assignment *a) {
        KeyConfig *k = a->key;
        Prefix p[2];
        unsigned n;
        char buf[ADDR_STRLEN];
        if (str_empty(a->value)) {
                k->n_peers = 0;
                return 0;
        }
        int r = prefix_parse(a->value, p, &n);
        if (r == -EDOM) {
                prefix_format(&p[0], buf);
                return BAD(a, "'%s' has host bits set (did you mean %s?)", a->value, buf);
        }
        if (r == -EAFNOSUPPORT)
                return BAD(a, "'%s' is an IPv4-mapped address; write IPv4 peers as IPv4", a->value);
        if (r == -ERANGE)
                return BAD(a, "prefix length in '%s' is out of range", a->value);
        if (r < 0 && host_name_like(a->value, strcspn(a->value, "/")))
                return BAD(a, "'%s' is a host name: Peer= takes addresses and prefixes (ADDRESS, ADDRESS/LENGTH or "
                           "'any'), not host names, which are not resolved", a->value);
        if (r < 0 && strpbrk(a->value, ", \t"))
                return BAD(a, "'%s' holds more than one prefix: one prefix per Peer= line; repeat Peer=", a->value);
        if (r < 0)
                return BAD(a, "'%s' is not an address, ADDRESS/LENGTH or 'any'", a->value);
        if ((r = grow_array((void **) &k->peers, &k->cap_peers, k->n_peers + n, sizeof(PeerEntry))) < 0)
                return r;
        for (unsigned i = 0; i < n; i++)
                k->peers[k->n_peers++] = (PeerEntry) { .prefix = p[i], .origin = a->origin };
        return 0;
}

static int set_secret_source(const Assignment *a, SecretSource source) {
        KeyConfig *k = a->key;
        char *arg = NULL;
        Secret s = { 0 };
        int r = 0;
        if (str_empty(a->value)) {
                source = SECRET_SOURCE_NONE;
        } else if (source == SECRET_SOURCE_LITERAL || source == SECRET_SOURCE_HEX) {
                const char *problem = a->secret_problem;
                if (problem)
                        return log_errno(-EACCES, "%s:%u: %s=: refusing a secret in this file: %s",
                                         a->origin.file, a->origin.line, a->name, problem);
                r = source == SECRET_SOURCE_HEX ? secret_from_hex(a->value, &s) : secret_from_string(a->value, &s);
                if (r == -E2BIG)
                        r = BAD(a, "the secret is longer than %d bytes (TCP_MD5SIG_MAXKEYLEN); it is never cut", SECRET_MAX);
                else if (r == -EILSEQ)
                        r = BAD(a, "write the secret as bare hex digits, two per byte (68656c6c6f), without '0x', "
                                "':' or spaces");
                else if (r < 0)
                        r = BAD(a, "an odd number of hex digits; each byte takes two (0a, not a)");
        } else if (source == SECRET_SOURCE_FILE && a->value[0] != '/') {
                r = BAD(a, "'%s' is not an absolute path", a->value);
        } else if (source == SECRET_SOURCE_CREDENTIAL && !credential_name_valid(a->value)) {
                r = BAD(a, "'%s' is not a credential name (a file name in $CREDENTIALS_DIRECTORY: no '/' or ':', "
                        "not . or ..)", a->value);
        } else if (!(arg = strdup(a->value))) {
                r = -ENOMEM;
        }
        if (r < 0) {
                secret_wipe(&s);
                return r;
        }
        free(k->source_arg);
        secret_wipe(&k->secret);
        k->source_arg = arg;
        k->secret = s;
        k->source = source;
        k->secret_origin = a->origin;
        secret_wipe(&s);
        return 0;
}

static int p_secret_file(const Assignment *a) { return set_secret_source(a, SECRET_SOURCE_FILE); }
static int p_secret(const Assignment *a) { return set_secret_source(a, SECRET_SOURCE_LITERAL); }
static int p_secret_hex(const Assignment *a) { return set_secret_source(a, SECRET_SOURCE_HEX); }
static int p_credential(const Assignment *a) { return set_secret_source(a, SECRET_SOURCE_CREDENTIAL); }
static int p_interface(const Assignment *a) {
        a->key->interface_origin = a->origin;
        return set_string(a, &a->key->interface, IF_NAMESIZE - 1, "/: %");
}

/* ---- TCP-AO ---- */

/* The MAC algorithms known by name: RFC 5926's two, which every TCP-AO
 * peer has, and the common stronger one. Other hmac(NAME) names go to the
 * kernel, which refuses what it lacks at start-up. */
static const char *const ao_known_algorithms[] = { "hmac(sha1)", "cmac(aes128)", "hmac(sha256)" };

/* What a misspelling most likely meant: "HMAC-SHA1", "hmac sha1" (BIRD),
 * "aes-128-cmac", "cmac(aes)". Compared on letters and digits alone. */
static const char *ao_algorithm_guess(const char *s) {
        static const struct { const char *squashed, *name; } guesses[] = {
                { "hmacsha1", "hmac(sha1)" },         { "sha1", "hmac(sha1)" },
                { "hmacsha196", "hmac(sha1)" },       { "cmacaes128", "cmac(aes128)" },
                { "cmacaes", "cmac(aes128)" },        { "aes128cmac", "cmac(aes128)" },
                { "aes128cmac96", "cmac(aes128)" },   { "aescmac", "cmac(aes128)" },
                { "hmacsha256", "hmac(sha256)" },     { "sha256", "hmac(sha256)" },
        };
        char squashed[CONFIG_AO_ALGORITHM_MAX + 1];
        size_t n = 0;
        for (; *s && n < sizeof squashed - 1; s++)
                if (isalnum((unsigned char) *s))
                        squashed[n++] = (char) tolower((unsigned char) *s);
        squashed[n] = 0;
        for (size_t i = 0; i < ELEMENTSOF(guesses); i++)
                if (strcmp(squashed, guesses[i].squashed) == 0)
                        return guesses[i].name;
        return NULL;
}

/* hmac(NAME), NAME in the kernel's spelling: lower-case letters, digits, '-'. */
static bool ao_hmac_name(const char *s) {
        size_t n = strlen(s);
        if (n < 7 || strncmp(s, "hmac(", 5) != 0 || s[n - 1] != ')')
                return false;
        for (size_t i = 5; i < n - 1; i++)
                if (!islower((unsigned char) s[i]) && !isdigit((unsigned char) s[i]) && s[i] != '-')
                        return false;
        return true;
}

static int p_algorithm(const Assignment *a) {
        KeyConfig *k = a->key;
        bool known = false;
        for (size_t i = 0; i < ELEMENTSOF(ao_known_algorithms); i++)
                known = known || strcmp(a->value, ao_known_algorithms[i]) == 0;
        if (!str_empty(a->value) && !known && (!ao_hmac_name(a->value) || strlen(a->value) > CONFIG_AO_ALGORITHM_MAX)) {
                const char *guess = ao_algorithm_guess(a->value);
                char hint[64] = "";
                if (guess)
                        snprintf(hint, sizeof hint, " (did you mean %s?)", guess);
                return BAD(a, "'%s' is not a TCP-AO MAC algorithm%s: write hmac(sha1) or cmac(aes128) (RFC 5926's "
                           "two, which every TCP-AO peer has), hmac(sha256), or another hmac(NAME) of the kernel's "
                           "crypto API", a->value, hint);
        }
        char *v = NULL;
        if (!str_empty(a->value) && !(v = strdup(a->value)))
                return -ENOMEM;
        free(k->algorithm);
        k->algorithm = v;
        k->algorithm_origin = v ? a->origin : (Origin) { 0 };
        return 0;
}

/* An empty assignment unsets: the key is no TCP-AO key by this setting. */
static int set_ao_number(const Assignment *a, unsigned *field, Origin *origin, unsigned min, unsigned max) {
        int r = set_unsigned(a, field, min, max, 0);
        if (r >= 0)
                *origin = str_empty(a->value) ? (Origin) { 0 } : a->origin;
        return r;
}
static int p_send_id(const Assignment *a) {
        return set_ao_number(a, &a->key->send_id, &a->key->send_id_origin, 0, 255);
}
static int p_recv_id(const Assignment *a) {
        return set_ao_number(a, &a->key->recv_id, &a->key->recv_id_origin, 0, 255);
}
/* The algorithm's own bounds are checked once the section is complete. */
static int p_mac_length(const Assignment *a) {
        return set_ao_number(a, &a->key->mac_length, &a->key->mac_length_origin, 1, 255);
}

/* How a reload tells that a [Socket] or [Service] setting changed: the
 * type of its value in Config. */
typedef enum ValueKind {
        VALUE_KEY,      /* a [Key] setting: the key plan compares those */
        VALUE_BOOL,
        VALUE_UNSIGNED,
        VALUE_ENUM,
        VALUE_STRING,
        VALUE_WORDS,
        VALUE_LISTEN,   /* Config.listen, entry by entry */
} ValueKind;

/* The socket options settings name (SOCKOPT()): plain data, no pointer,
 * so a resident process's relocated pages stay as few as tini's. */
enum { SOCKOPT_NONE, SOCKOPT_SO_KEEPALIVE, SOCKOPT_TCP_NODELAY, _SOCKOPT_MAX };
static const struct {
        int level, name;
        char label[16];
} socket_options[_SOCKOPT_MAX] = {
        [SOCKOPT_SO_KEEPALIVE] = { SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" },
        [SOCKOPT_TCP_NODELAY] = { IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" },
};

typedef struct Setting {
        const char *section;
        const char *name;
        int (*parse)(const Assignment *a);
        ReloadPolicy reload;
        ValueKind kind;
        SettingId id;   /* Config.origin[id] holds its line */
        uint8_t sockopt; /* a live socket option on the listeners: SOCKOPT_* (0: none) */
        size_t offset;  /* of its value in Config */
} Setting;

#define VALUE(k, i, field) .kind = (k), .id = (i), .offset = offsetof(Config, field)
#define IN_KEY .kind = VALUE_KEY, .id = _SETTING_MAX
#define SOCKOPT(o) .sockopt = SOCKOPT_##o

/* One row per setting, with what a reload does with it. Live: keys (the
 * diff in reload.c), options that connections inherit from the listener,
 * and what the accept loop reads for every connection. */
static const Setting settings[] = {
        { "Socket", "ListenStream", p_listen_stream, RELOAD_RESTART,
          VALUE(VALUE_LISTEN, SETTING_LISTEN_STREAM, listen) },
        { "Socket", "BindIPv6Only", p_bind_ipv6_only, RELOAD_RESTART,
          VALUE(VALUE_ENUM, SETTING_BIND_IPV6_ONLY, bind_ipv6_only) },
        { "Socket", "Backlog", p_backlog, RELOAD_RESTART, VALUE(VALUE_UNSIGNED, SETTING_BACKLOG, backlog) },
        { "Socket", "FreeBind", p_free_bind, RELOAD_RESTART, VALUE(VALUE_BOOL, SETTING_FREE_BIND, free_bind) },
        { "Socket", "ReusePort", p_reuse_port, RELOAD_RESTART, VALUE(VALUE_BOOL, SETTING_REUSE_PORT, reuse_port) },
        { "Socket", "BindToDevice", p_bind_to_device, RELOAD_RESTART,
          VALUE(VALUE_STRING, SETTING_BIND_TO_DEVICE, bind_to_device) },
        { "Socket", "FileDescriptorName", p_fdname, RELOAD_RESTART, VALUE(VALUE_STRING, SETTING_FDNAME, fdname) },
        /* The catch-all keys: the key plan adds or deletes them. */
        { "Socket", "UnmatchedPeers", p_unmatched_peers, RELOAD_LIVE,
          VALUE(VALUE_ENUM, SETTING_UNMATCHED_PEERS, unmatched_peers) },
        { "Socket", "Accept", p_accept, RELOAD_RESTART, VALUE(VALUE_BOOL, SETTING_ACCEPT, accept) },
        { "Socket", "Inetd", p_inetd, RELOAD_NEXT_COMMAND, VALUE(VALUE_BOOL, SETTING_INETD, inetd) },
        { "Socket", "OnDemand", p_on_demand, RELOAD_RESTART, VALUE(VALUE_BOOL, SETTING_ON_DEMAND, on_demand) },
        { "Socket", "MaxConnections", p_max_connections, RELOAD_LIVE,
          VALUE(VALUE_UNSIGNED, SETTING_MAX_CONNECTIONS, max_connections) },
        { "Socket", "MaxConnectionsPerSource", p_max_per_source, RELOAD_LIVE,
          VALUE(VALUE_UNSIGNED, SETTING_MAX_PER_SOURCE, max_connections_per_source) },
        /* Set on the listeners, which accepted connections copy them from. */
        { "Socket", "KeepAlive", p_keep_alive, RELOAD_LIVE, VALUE(VALUE_BOOL, SETTING_KEEP_ALIVE, keep_alive),
          SOCKOPT(SO_KEEPALIVE) },
        { "Socket", "NoDelay", p_no_delay, RELOAD_LIVE, VALUE(VALUE_BOOL, SETTING_NO_DELAY, no_delay),
          SOCKOPT(TCP_NODELAY) },
        { "Service", "ExecStart", p_exec_start, RELOAD_NEXT_COMMAND,
          VALUE(VALUE_WORDS, SETTING_EXEC_START, exec_start) },
        { "Key", "Peer", p_peer, RELOAD_LIVE, IN_KEY },
        { "Key", "SecretFile", p_secret_file, RELOAD_LIVE, IN_KEY },
        { "Key", "Secret", p_secret, RELOAD_LIVE, IN_KEY },
        { "Key", "SecretHex", p_secret_hex, RELOAD_LIVE, IN_KEY },
        { "Key", "Credential", p_credential, RELOAD_LIVE, IN_KEY },
        { "Key", "Interface", p_interface, RELOAD_LIVE, IN_KEY },
        /* A reload adds and deletes TCP-AO keys; the changes no order of steps makes without a side
         * door it refuses, saying why (reload.c: ao_change_refused()). */
        { "Key", "Algorithm", p_algorithm, RELOAD_LIVE, IN_KEY },
        { "Key", "SendID", p_send_id, RELOAD_LIVE, IN_KEY },
        { "Key", "RecvID", p_recv_id, RELOAD_LIVE, IN_KEY },
        { "Key", "MACLength", p_mac_length, RELOAD_LIVE, IN_KEY },
};

/* The row of the i-th setting with a socket option, or NULL. */
static const Setting *socket_option_row(size_t i) {
        for (size_t k = 0; k < ELEMENTSOF(settings); k++)
                if (settings[k].sockopt && i-- == 0)
                        return &settings[k];
        return NULL;
}

bool config_socket_option(size_t i, SocketOption *ret) {
        const Setting *s = socket_option_row(i);
        if (!s)
                return false;
        *ret = (SocketOption) { socket_options[s->sockopt].level, socket_options[s->sockopt].name,
                                socket_options[s->sockopt].label };
        return true;
}

unsigned config_socket_option_values(const Config *c) {
        unsigned v = 0;
        const Setting *s;
        for (size_t i = 0; c && (s = socket_option_row(i)); i++)
                if (*(const bool *) ((const char *) c + s->offset)) /* VALUE_BOOL rows */
                        v |= 1u << i;
        return v;
}

bool config_setting(size_t i, const char **ret_section, const char **ret_name, ReloadPolicy *ret_reload,
                    SettingId *ret_id) {
        if (i >= ELEMENTSOF(settings))
                return false;
        *ret_section = settings[i].section;
        *ret_name = settings[i].name;
        *ret_reload = settings[i].reload;
        *ret_id = settings[i].id;
        return true;
}

static bool key_name_valid(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.@-", *s))
                        return false;
        return true;
}

/* ---- "did you mean": the nearest known name, when it is close ---- */

static bool close_to(const char *name, const char *known, size_t *ret_distance) {
        size_t d = str_distance(name, known);
        *ret_distance = d;
        return d <= 2 && 2 * d <= strlen(known);
}

/* The setting nearest to name: one of section kind on a tie, but one of
 * another section too (ExecStart= under [Socket]). */
static const Setting *nearest_setting(const char *kind, const char *name) {
        const Setting *best = NULL;
        size_t best_d = SIZE_MAX, d;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                const Setting *t = &settings[i];
                if (close_to(name, t->name, &d) &&
                    (d < best_d || (d == best_d && strcmp(t->section, kind) == 0))) {
                        best = t;
                        best_d = d;
                }
        }
        return best;
}

static int unknown_setting(const char *kind, const char *section, const char *name, Origin o) {
        const Setting *t = nearest_setting(kind, name);
        if (!t)
                return log_errno(-EBADMSG, "%s:%u: unknown setting %s= in [%s]", o.file, o.line, name, section);
        if (strcmp(t->section, kind) == 0)
                return log_errno(-EBADMSG, "%s:%u: unknown setting %s= in [%s] (did you mean %s=?)", o.file, o.line,
                                 name, section, t->name);
        return log_errno(-EBADMSG, "%s:%u: unknown setting %s= in [%s]: %s= belongs in [%s%s]", o.file, o.line, name,
                         section, t->name, t->section, strcmp(t->section, "Key") == 0 ? " NAME" : "");
}

/* [key office] is [Key office], [Sokcet] is [Socket]. */
static int unknown_section(const char *section, Origin o) {
        static const char *const known[] = { "Socket", "Service", "Key" };
        size_t n = strcspn(section, " "), best_d = SIZE_MAX, d;
        const char *best = NULL, *rest = section[n] ? section + n + 1 : "";
        char first[CONFIG_NAME_MAX + 1];
        if (strcmp(section, "Key") == 0)
                return log_errno(-EBADMSG, "%s:%u: [Key] needs a name: [Key NAME], such as [Key office]", o.file, o.line);
        snprintf(first, sizeof first, "%.*s", (int) n, section);
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (close_to(first, known[i], &d) && d < best_d) {
                        best = known[i];
                        best_d = d;
                }
        if (best && strcmp(best, "Key") == 0)
                return log_errno(-EBADMSG, "%s:%u: unknown section [%s] (did you mean [Key %s]?)", o.file, o.line,
                                 section, *rest ? rest : "NAME");
        if (best)
                return log_errno(-EBADMSG, "%s:%u: unknown section [%s] (did you mean [%s]?)", o.file, o.line, section,
                                 best);
        return log_errno(-EBADMSG, "%s:%u: unknown section [%s] (expected [Socket], [Service] or [Key NAME])", o.file,
                         o.line, section);
}

/* Called for every name=value inih hands us. */
int config_assign(Config *c, const char *section, const char *name, const char *value,
                  Origin origin, unsigned section_line, const char *secret_problem, KeyConfig **key_cache) {
        Assignment a = { .config = c, .name = name, .value = value, .origin = origin,
                        .secret_problem = secret_problem };
        const char *kind = section;
        if (strncmp(section, "Key ", 4) == 0) {
                const char *kname = section + 4;
                if (!key_name_valid(kname))
                        return log_errno(-EBADMSG, "%s:%u: [%s]: key name '%s' may only hold letters, digits and _.@-",
                                         origin.file, origin.line, section, kname);
                KeyConfig *k = *key_cache && strcmp((*key_cache)->name, kname) == 0 ? *key_cache : config_find_key(c, kname);
                if (!k) {
                        Origin header = { .file = origin.file, .line = section_line };
                        int r = config_add_key(c, kname, header, &k);
                        if (r < 0)
                                return r;
                }
                *key_cache = a.key = k;
                kind = "Key";
        } else if (strcmp(section, "Socket") != 0 && strcmp(section, "Service") != 0) {
                if (!*section)
                        return log_errno(-EBADMSG, "%s:%u: %s= stands before any [Section]", origin.file, origin.line, name);
                return unknown_section(section, (Origin) { origin.file, section_line });
        }
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (strcmp(settings[i].section, kind) == 0 && strcmp(settings[i].name, name) == 0) {
                        int r = settings[i].parse(&a);
                        if (r >= 0 && settings[i].id < _SETTING_MAX)
                                c->origin[settings[i].id] = origin;
                        return r;
                }
        return unknown_setting(kind, section, name, origin);
}

/* ---- what a reload changes ---- */

static bool str_same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool value_same(const Setting *s, const Config *a, const Config *b) {
        const void *x = (const char *) a + s->offset, *y = (const char *) b + s->offset;
        switch (s->kind) {
        case VALUE_BOOL:
                return *(const bool *) x == *(const bool *) y;
        case VALUE_UNSIGNED:
                return *(const unsigned *) x == *(const unsigned *) y;
        case VALUE_ENUM:
                return *(const int *) x == *(const int *) y;
        case VALUE_STRING:
                return str_same(*(char *const *) x, *(char *const *) y);
        case VALUE_WORDS:
                return strv_equal(*(char **const *) x, *(char **const *) y);
        default:
                return true;
        }
}

/* The first ListenStream= entry that differs, in order (the order gives
 * the fds), or SIZE_MAX when every one is the same. */
static size_t listen_difference(const Config *a, const Config *b) {
        size_t n = a->n_listen < b->n_listen ? a->n_listen : b->n_listen;
        for (size_t i = 0; i < n; i++) {
                char x[ADDR_STRLEN], y[ADDR_STRLEN];
                listen_address_format(&a->listen[i].address, x);
                listen_address_format(&b->listen[i].address, y);
                if (strcmp(x, y) != 0)
                        return i;
        }
        return a->n_listen == b->n_listen ? SIZE_MAX : n;
}

static bool setting_change(const Setting *s, const Config *old, const Config *new, SettingChange *ret) {
        *ret = (SettingChange) { .name = s->name, .reload = s->reload, .origin = new->origin[s->id] };
        if (s->kind == VALUE_LISTEN) {
                size_t i = listen_difference(old, new);
                if (i == SIZE_MAX)
                        return false;
                if (i < new->n_listen)
                        ret->origin = new->listen[i].origin;
                else
                        *ret = (SettingChange) { s->name, s->reload, old->listen[i].origin, true };
                return true;
        }
        if (value_same(s, old, new))
                return false;
        if (!ret->origin.file)
                *ret = (SettingChange) { s->name, s->reload, old->origin[s->id], true };
        return true;
}

size_t config_changes(const Config *old, const Config *new, SettingChange ret[static _SETTING_MAX]) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i].kind != VALUE_KEY && n < _SETTING_MAX && setting_change(&settings[i], old, new, &ret[n]))
                        n++;
        return n;
}
