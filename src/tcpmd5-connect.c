/* tcpmd5-connect: the client side. Connects to HOST PORT with the TCP MD5
 * key for the peer's address, then relays stdin and stdout, so it serves
 * as an ssh ProxyCommand and as a netcat for signed ports; or hands the
 * connected socket to ssh (ProxyUseFdpass) and exits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config-files.h"
#include "config.h"
#include "connect-race.h"
#include "handoff.h"
#include "log.h"
#include "md5sig.h"
#include "plan.h"
#include "relay.h"
#include "tcpao.h"
#include "util.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "0"
#endif

#define EXIT_CONNECT 1 /* no connection, or the relay failed */
#define EXIT_NOHOST 68 /* sysexits EX_NOHOST: the name does not resolve */
#define TIMEOUT_DEFAULT_MS 5000
#define TIMEOUT_MAX_MS (3600 * 1000)

/* -k, --key-fd and --credential, in command-line order: later is newer. */
typedef enum KeyKind { KEY_FILE, KEY_FD, KEY_CREDENTIAL } KeyKind;
typedef struct KeyArg {
        KeyKind kind;
        const char *arg;
        int fd;
} KeyArg;

static int arg_family = AF_UNSPEC;
static KeyArg arg_keys[RACE_MAX];
static size_t arg_n_keys;
static const char *arg_config;
static const char *arg_source;
static unsigned arg_timeout_ms = TIMEOUT_DEFAULT_MS;
static bool arg_verbose;
static bool arg_fdpass;
static const char *arg_ao; /* ALGORITHM:SENDID:RECVID for the one secret of -k/--key-fd/--credential */
static const char *arg_host;
static char arg_port_number[sizeof "65535"];

static void help(void) {
        printf("Usage: tcpmd5-connect [OPTIONS] HOST PORT\n"
               "\n"
               "Connect to HOST PORT with a TCP MD5 signature (RFC 2385) and relay\n"
               "standard input to the connection and the connection to standard output;\n"
               "or, with --fdpass, hand the connected socket to ssh and exit:\n"
               "  ssh -o ProxyUseFdpass=yes -o ProxyCommand='tcpmd5-connect --fdpass -k KEY -- %%h %%p'\n"
               "\n"
               "HOST is a name or an address ([::1] too); PORT a number in 1..65535 or a\n"
               "service name (ssh).\n"
               "\n"
               "Key (without one the connection is unsigned):\n"
               "  -k, --key-file=FILE    the secret in FILE: 1..80 bytes, one trailing newline\n"
               "                         dropped; refused if group or other can read FILE\n"
               "      --key-fd=N         the secret read from file descriptor N (3 or above)\n"
               "      --credential=NAME  the secret in $CREDENTIALS_DIRECTORY/NAME\n"
               "  -c, --config=FILE      [Key NAME] sections of FILE and FILE.d/*.conf: the\n"
               "                         key whose longest Peer= prefix holds the address\n"
               "      --ao=ALG:SENDID:RECVID  sign with TCP-AO (RFC 5925) instead: the secret of\n"
               "                         -k, --key-fd or --credential with MAC algorithm ALG\n"
               "                         (hmac(sha1), cmac(aes128), ...) and these KeyIDs\n"
               "Key rollover: -k, --key-fd and --credential may be given together and more\n"
               "than once (at most %d keys), later is newer; with --config, every [Key]\n"
               "of that longest prefix, a later section newer. One attempt per key, all at\n"
               "once; the first handshake to complete wins. TCP-AO keys roll over inside\n"
               "one connection: one attempt holding every TCP-AO key of the config for\n"
               "the address, sending with the newest.\n"
               "\n"
               "Connection:\n"
               "  -4, -6                 IPv4 or IPv6 addresses of HOST only\n"
               "  -s, --source=ADDR      bind to local address ADDR (keys are per address pair)\n"
               "  -t, --timeout=SEC      give up on each address after SEC seconds (default %g;\n"
               "                         fractions allowed: 0.5)\n"
               "      --fdpass           pass the connected socket to ssh on standard output\n"
               "                         (ProxyUseFdpass yes) and exit, instead of relaying\n"
               "  -v, --verbose          say which address and key (source, length,\n"
               "                         fingerprint) are used\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n"
               "\n"
               "HOST is tried address by address. EOF on standard input half-closes the\n"
               "connection; the relay ends when both directions have ended.\n"
               "\n"
               "Exit status: 0 both directions ended cleanly (--fdpass: the socket was\n"
               "passed), 1 no connection or a relay error, 64 usage, 68 unknown host,\n"
               "69 no TCP MD5 (or TCP-AO) in the kernel, 71 OS error (--source cannot\n"
               "bind, the socket cannot be passed), 77 permissions of a key or config\n"
               "file, 78 config or key error.\n",
               RACE_MAX, TIMEOUT_DEFAULT_MS / 1000.0);
}

/* SEC with up to three decimals, as milliseconds. */
static int parse_timeout(const char *s, unsigned *ret_ms) {
        char whole[16];
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t) (dot - s) : strlen(s);
        uint64_t sec, ms = 0;
        if (n == 0 || n >= sizeof whole)
                return -EINVAL;
        memcpy(whole, s, n);
        whole[n] = 0;
        int r = parse_uint(whole, 0, TIMEOUT_MAX_MS / 1000, &sec);
        if (r < 0)
                return r;
        if (dot) {
                size_t digits = strlen(dot + 1);
                if (digits == 0 || digits > 3 || parse_uint(dot + 1, 0, 999, &ms) < 0)
                        return -EINVAL;
                for (; digits < 3; digits++)
                        ms *= 10;
        }
        uint64_t total = sec * 1000 + ms;
        if (total == 0 || total > TIMEOUT_MAX_MS)
                return -ERANGE;
        *ret_ms = (unsigned) total;
        return 0;
}

/* PORT: 1..65535, or a service name; as digits for getaddrinfo(). */
static int parse_port(const char *s) {
        uint64_t v;
        if (strspn(s, "0123456789") == strlen(s)) {
                if (parse_uint(s, 1, 65535, &v) < 0)
                        return log_errno(-EINVAL, "PORT %s: not a port number (1..65535)", s);
        } else {
                const struct servent *se = getservbyname(s, "tcp");
                if (!se)
                        return log_errno(-EINVAL, "PORT %s: not a port number (1..65535) nor a TCP service "
                                         "name of /etc/services", s);
                v = ntohs((uint16_t) se->s_port);
        }
        snprintf(arg_port_number, sizeof arg_port_number, "%u", (unsigned) v);
        return 0;
}

/* "host:22" or "[::1]:22": one colon is never a host name or an IPv6
 * address, and a bracket closed before the end leaves a port behind. */
static bool looks_like_host_port(const char *s) {
        const char *colon = strchr(s, ':');
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                return close && close[1] == ':';
        }
        return colon && !strchr(colon + 1, ':');
}

/* HOST as getaddrinfo() takes it: "[::1]" loses its brackets. */
static int parse_host(char *s) {
        if (!*s)
                return log_errno(-EINVAL, "HOST must not be empty");
        if (looks_like_host_port(s))
                return log_errno(-EINVAL, "%s: give HOST and PORT as two arguments (tcpmd5-connect HOST PORT)", s);
        size_t n = strlen(s);
        if (s[0] == '[') {
                if (n < 3 || s[n - 1] != ']')
                        return log_errno(-EINVAL, "%s: an opening [ needs a closing ] at the end", s);
                s[n - 1] = 0;
                s++;
        }
        arg_host = s;
        return 0;
}

enum { ARG_VERSION = 0x100, ARG_FDPASS, ARG_AO }; /* long options without a letter */

/* -k, --key-fd or --credential: one more key, newer than those before. */
static int parse_key_option(int c) {
        uint64_t fd = 0;
        if (arg_n_keys == RACE_MAX)
                return log_errno(-EINVAL, "at most %d keys (--key-file, --key-fd, --credential)", RACE_MAX);
        if (c == 'K' && parse_uint(optarg, 3, INT32_MAX, &fd) < 0)
                return log_errno(-EINVAL, "--key-fd=%s: not a file descriptor of 3 or above "
                                 "(0, 1 and 2 carry the data)", optarg);
        if (c == 'C' && !credential_name_valid(optarg))
                return log_errno(-EINVAL, "--credential=%s: not a credential name (a file name in "
                                 "$CREDENTIALS_DIRECTORY: no '/' or ':', not . or ..)", optarg);
        arg_keys[arg_n_keys++] = (KeyArg) { .kind = c == 'k' ? KEY_FILE : c == 'K' ? KEY_FD : KEY_CREDENTIAL,
                                            .arg = optarg, .fd = c == 'K' ? (int) fd : -1 };
        return 0;
}

static int parse_option(int c) {
        switch (c) {
        case '4':
        case '6':
                if (arg_family != AF_UNSPEC)
                        return log_errno(-EINVAL, "-4 and -6 exclude each other");
                arg_family = c == '4' ? AF_INET : AF_INET6;
                return 0;
        case 'k':
        case 'K':
        case 'C':
                return parse_key_option(c);
        case 'c':
                arg_config = optarg;
                return 0;
        case 's':
                arg_source = optarg;
                return 0;
        case 't':
                if (parse_timeout(optarg, &arg_timeout_ms) < 0)
                        return log_errno(-EINVAL, "--timeout=%s: not a number of seconds in 0.001..%u",
                                         optarg, TIMEOUT_MAX_MS / 1000);
                return 0;
        case 'v':
                arg_verbose = true;
                return 0;
        case ARG_FDPASS:
                arg_fdpass = true;
                return 0;
        case ARG_AO:
                arg_ao = optarg;
                return 0;
        default:
                return -EINVAL;
        }
}

static int parse_argv(int argc, char **argv) {
        static const struct option options[] = {
                { "key-file", required_argument, NULL, 'k' },
                { "key-fd", required_argument, NULL, 'K' },
                { "credential", required_argument, NULL, 'C' },
                { "config", required_argument, NULL, 'c' },
                { "source", required_argument, NULL, 's' },
                { "timeout", required_argument, NULL, 't' },
                { "verbose", no_argument, NULL, 'v' },
                { "fdpass", no_argument, NULL, ARG_FDPASS },
                { "ao", required_argument, NULL, ARG_AO },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r;
        while ((c = getopt_long(argc, argv, "46k:c:s:t:vh", options, NULL)) >= 0) {
                if (c == 'h') {
                        help();
                        return 0;
                }
                if (c == ARG_VERSION) {
                        printf("tcpmd5-connect %s\n", PROJECT_VERSION);
                        return 0;
                }
                if (c == '?') { /* getopt said what */
                        fprintf(stderr, "Try 'tcpmd5-connect --help' for more information.\n");
                        return -EINVAL;
                }
                if ((r = parse_option(c)) < 0)
                        return r;
        }
        if (arg_n_keys > 0 && arg_config)
                return log_errno(-EINVAL, "--config excludes --key-file, --key-fd and --credential "
                                 "(for a rollover, give the config both keys)");
        if (arg_ao && (arg_config || arg_n_keys == 0))
                return log_errno(-EINVAL, "--ao=%s signs with the secret of --key-file, --key-fd or --credential "
                                 "(with --config, [Key] sections say Algorithm=, SendID= and RecvID=)", arg_ao);
        if (arg_ao && arg_n_keys > 1)
                return log_errno(-EINVAL, "--ao takes one key (a TCP-AO rollover happens inside one connection, "
                                 "each key with its own KeyIDs); for a TCP-AO rollover put the keys in a --config");
        /* One word with a colon: HOST:PORT, or an IPv6 address with (or
         * without) its port, which only two words tell apart. */
        if (argc - optind == 1 && strchr(argv[optind], ':'))
                return log_errno(-EINVAL, "%s: give HOST and PORT as two arguments (tcpmd5-connect HOST PORT)",
                                 argv[optind]);
        if (argc - optind != 2)
                return log_errno(-EINVAL, "expected HOST PORT (see --help)");
        if ((r = parse_host(argv[optind])) < 0 || (r = parse_port(argv[optind + 1])) < 0)
                return r;
        return 1;
}

/* Where the secrets come from: the keys of the command line (oldest
 * first), or a config's [Key] sections. */
typedef struct Keys {
        Secret fixed[RACE_MAX];
        char *what[RACE_MAX]; /* for messages: "--key-file FILE" etc. */
        size_t n_fixed;
        KeyConfig fixed_ao; /* --ao: the TCP-AO settings for fixed[0] (a copy of it in .secret) */
        Config *config;
} Keys;

/* One key offered to a peer, and how -v names it. */
typedef struct Offer {
        const Secret *secret; /* NULL: unsigned (no key was given) */
        const KeyConfig *key; /* its [Key] section, with --config; TCP-AO: the current key */
        const char *what;
} Offer;

static void keys_done(Keys *k) {
        for (size_t i = 0; i < k->n_fixed; i++) {
                secret_wipe(&k->fixed[i]);
                free(k->what[i]);
                k->what[i] = NULL;
        }
        k->n_fixed = 0;
        secret_wipe(&k->fixed_ao.secret);
        free(k->fixed_ao.algorithm);
        k->fixed_ao = (KeyConfig) { 0 };
        config_free(k->config);
        k->config = NULL;
}

static int keys_load_config(Keys *k) {
        _cleanup_free_ char *name = config_name_from_path(arg_config);
        if (!name)
                return -ENOMEM;
        k->config = config_new(name);
        if (!k->config)
                return -ENOMEM;
        int r = config_load(k->config, arg_config, NULL, NULL, NULL);
        if (r < 0)
                return r;
        if (k->config->n_keys == 0)
                return log_errno(-EBADMSG, "%s: no [Key NAME] section", arg_config);
        return config_validate_key_sections(k->config);
}

/* One key of the command line; *ret_what names it for messages. */
static int key_load_arg(const KeyArg *a, Secret *ret, char **ret_what) {
        char what[512];
        int r;
        if (a->kind == KEY_FILE) {
                snprintf(what, sizeof what, "--key-file %s", a->arg);
                r = secret_load_reported("--key-file", a->arg, ret);
        } else if (a->kind == KEY_FD) {
                snprintf(what, sizeof what, "--key-fd %d", a->fd);
                r = secret_read_fd(a->fd, ret);
                close(a->fd);
                if (r == -EBADF)
                        return log_errno(-EINVAL, "%s: not an open file descriptor", what);
                if (r < 0)
                        return secret_report(r, what, NULL, NULL, -1);
                secret_warn_line_end(what, NULL, ret);
        } else {
                _cleanup_free_ char *path = NULL;
                snprintf(what, sizeof what, "--credential %s", a->arg);
                r = credential_path(a->arg, &path);
                if (r == -ENXIO)
                        return log_errno(-EBADMSG, "%s: $CREDENTIALS_DIRECTORY is not set "
                                         "(LoadCredential= in the service unit sets it)", what);
                if (r >= 0)
                        r = secret_load_reported(what, path, ret);
                snprintf(what, sizeof what, "--credential %s (%s)", a->arg, path ? path : "");
        }
        if (r < 0)
                return r;
        *ret_what = strdup(what);
        return *ret_what ? 0 : -ENOMEM;
}

/* --ao=ALGORITHM:SENDID:RECVID, around the one key of the command line.
 * The kernel judges the algorithm's name (ENOENT: ao_keys_set() says so). */
static int keys_parse_ao(Keys *k) {
        const char *recv = strrchr(arg_ao, ':');
        const char *send = recv ? memrchr(arg_ao, ':', (size_t) (recv - arg_ao)) : NULL;
        uint64_t sid, rid;
        char num[8];
        if (!send || send == arg_ao || (size_t) (send - arg_ao) > CONFIG_AO_ALGORITHM_MAX ||
            (size_t) (recv - send - 1) >= sizeof num || parse_uint(recv + 1, 0, 255, &rid) < 0)
                return log_errno(-EINVAL, "--ao=%s: not ALGORITHM:SENDID:RECVID, such as 'hmac(sha1):1:1' "
                                 "(KeyIDs 0..255)", arg_ao);
        snprintf(num, sizeof num, "%.*s", (int) (recv - send - 1), send + 1);
        if (parse_uint(num, 0, 255, &sid) < 0)
                return log_errno(-EINVAL, "--ao=%s: SENDID '%s' is not a KeyID in 0..255", arg_ao, num);
        if (!(k->fixed_ao.algorithm = strndup(arg_ao, (size_t) (send - arg_ao))))
                return -ENOMEM;
        k->fixed_ao.name = (char *) "--ao";
        k->fixed_ao.send_id = (unsigned) sid;
        k->fixed_ao.recv_id = (unsigned) rid;
        k->fixed_ao.secret = k->fixed[0];
        return 0;
}

static int keys_load(Keys *k) {
        if (arg_config)
                return keys_load_config(k);
        for (size_t i = 0; i < arg_n_keys; i++) {
                int r = key_load_arg(&arg_keys[i], &k->fixed[i], &k->what[i]);
                k->n_fixed = i + 1; /* wiped by keys_done() either way */
                if (r < 0)
                        return r;
        }
        return arg_ao ? keys_parse_ao(k) : 0;
}

static bool offered(const Offer *o, size_t n, const Secret *s) {
        for (size_t i = 0; i < n; i++)
                if (o[i].secret->len == s->len && memcmp(o[i].secret->bytes, s->bytes, s->len) == 0)
                        return true;
        return false;
}

/* Adds s unless a newer key already offers the same secret: two attempts
 * that could both complete would leave the server a connection closed at
 * once. */
static void offer_add(Offer *o, size_t *n, const Secret *s, const KeyConfig *key, const char *what) {
        if (!offered(o, *n, s))
                o[(*n)++] = (Offer) { s, key, what };
}

/* TCP-AO and TCP MD5 keys sharing the longest prefix: a connection is
 * signed with one or the other, so which to try is not ours to guess. */
static int check_one_kind(KeyConfig *const v[], size_t n) {
        for (size_t i = 1; i < n; i++)
                if (key_is_ao(v[i]) != key_is_ao(v[0])) {
                        const KeyConfig *a = key_is_ao(v[i]) ? v[i] : v[0], *m = key_is_ao(v[i]) ? v[0] : v[i];
                        return log_errno(-EBADMSG, "%s:%u: [Key %s] is a TCP-AO key and [Key %s] at %s:%u a TCP MD5 "
                                         "key of the same Peer= prefix; a connection is signed with one or the "
                                         "other (give them different prefixes, or drop one)", a->origin.file,
                                         a->origin.line, a->name, m->name, m->origin.file, m->origin.line);
                }
        return 0;
}

/* The config's keys to offer one address: those of the longest prefix,
 * newest first, one attempt each; TCP-AO keys roll over inside one
 * connection, so they make one attempt, its current key the newest. */
static int keys_for_config(Keys *k, int family, const InAddr *a, Offer ret[], size_t *ret_n) {
        size_t n = plan_keys_for_peer(k->config, family, a, NULL, 0);
        if (n == 0)
                return -ENOENT;
        _cleanup_free_ KeyConfig **best = calloc(n, sizeof *best);
        if (!best)
                return -ENOMEM;
        plan_keys_for_peer(k->config, family, a, best, n);
        int r = check_one_kind(best, n);
        if (r < 0)
                return r;
        if (key_is_ao(best[0]))
                n = 1; /* ao_keys_set() puts the others on the same socket */
        else if (n > RACE_MAX)
                return log_errno(-EBADMSG, "%s: %zu [Key] sections share the prefix of [Key %s]; at most %d keys "
                                 "are offered at once", arg_config, n, best[0]->name, RACE_MAX);
        for (size_t i = 0; i < n; i++) {
                if ((r = config_resolve_key(best[i])) < 0)
                        return r;
                offer_add(ret, ret_n, &best[i]->secret, best[i], arg_config);
        }
        return 0;
}

/* The keys to offer one peer address, newest first, in ret[RACE_MAX]: one
 * Offer of a NULL secret for an unsigned connection. -ENOENT: the config
 * has no key for this address. */
static int keys_for(Keys *k, const struct sockaddr *sa, Offer ret[], size_t *ret_n) {
        *ret_n = 0;
        if (k->fixed_ao.algorithm) {
                ret[(*ret_n)++] = (Offer) { &k->fixed_ao.secret, &k->fixed_ao, k->what[0] };
                return 0;
        }
        if (!k->config) {
                for (size_t i = k->n_fixed; i-- > 0;)
                        offer_add(ret, ret_n, &k->fixed[i], NULL, k->what[i]);
                if (k->n_fixed == 0)
                        ret[(*ret_n)++] = (Offer) { 0 };
                return 0;
        }
        InAddr a;
        if (sa->sa_family == AF_INET)
                a.in = ((const struct sockaddr_in *) sa)->sin_addr;
        else
                a.in6 = ((const struct sockaddr_in6 *) sa)->sin6_addr;
        return keys_for_config(k, sa->sa_family, &a, ret, ret_n);
}

static void format_sockaddr(const struct sockaddr *sa, socklen_t len, char host[static NI_MAXHOST],
                            char port[static NI_MAXSERV]) {
        if (getnameinfo(sa, len, host, NI_MAXHOST, port, NI_MAXSERV, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
                strcpy(host, "?");
                strcpy(port, "?");
        }
}

static int resolve(const char *host, const char *port, int family, int flags, struct addrinfo **ret) {
        struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = flags };
        int r = getaddrinfo(host, port, &hints, ret);
        if (r == 0)
                return 0;
        if (r == EAI_SYSTEM)
                return log_errno(-errno, "%s: cannot resolve: %m", host);
        if (r == EAI_MEMORY)
                return -ENOMEM;
        if (port)
                log_error("%s port %s: %s", host, port, gai_strerror(r));
        else
                log_error("--source=%s: %s", host, gai_strerror(r));
        return -EADDRNOTAVAIL;
}

/* A v4-mapped IPv6 address (::ffff:a.b.c.d) is IPv4 on the wire: connect
 * to a.b.c.d over IPv4, so that the key is the one for that IPv4 address
 * (and --source may be IPv4). Anything else is copied as it is. */
static void unmap_v4(const struct addrinfo *ai, struct addrinfo *ret, struct sockaddr_storage *ret_sa) {
        *ret = *ai;
        ret->ai_next = NULL;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ai->ai_addr;
        if (ai->ai_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                return;
        struct sockaddr_in *in = (struct sockaddr_in *) ret_sa;
        *ret_sa = (struct sockaddr_storage) { 0 };
        in->sin_family = AF_INET;
        in->sin_port = in6->sin6_port;
        memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], sizeof in->sin_addr);
        ret->ai_family = AF_INET;
        ret->ai_addr = (struct sockaddr *) in;
        ret->ai_addrlen = sizeof *in;
}

/* TCP-AO on fd: every key the config holds for the peer (a server in
 * the middle of a rollover takes any), current the one it sends with and
 * asks the peer for (RNextKeyID). */
static int ao_keys_set(Keys *keys, int fd, const struct addrinfo *ai, const KeyConfig *current) {
        KeyConfig *v[256]; /* distinct RecvIDs: at most 256 keys for one peer */
        size_t n = 0;
        if (keys->config) {
                InAddr a;
                if (ai->ai_family == AF_INET)
                        a.in = ((const struct sockaddr_in *) ai->ai_addr)->sin_addr;
                else
                        a.in6 = ((const struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
                n = plan_ao_keys_for_peer(keys->config, ai->ai_family, &a, v, ELEMENTSOF(v));
        }
        int r = 0;
        for (size_t i = 0; i < n && i < ELEMENTSOF(v) && r >= 0; i++) {
                if (v[i] == current)
                        continue;
                if ((r = config_resolve_key(v[i])) < 0)
                        return r; /* logged */
                if (arg_verbose)
                        log_info("the socket also holds TCP-AO [Key %s] (%s SendID %u RecvID %u), should the "
                                 "server ask for it (RNextKeyID)", v[i]->name, v[i]->algorithm, v[i]->send_id,
                                 v[i]->recv_id);
                r = tcpao_add_peer(fd, ai->ai_addr, ai->ai_addrlen, v[i], false);
        }
        if (r >= 0)
                r = tcpao_add_peer(fd, ai->ai_addr, ai->ai_addrlen, current, true);
        if (r == -ENOPROTOOPT)
                return log_errno(r, "%s", TCPAO_MISSING);
        if (r == -ENOENT)
                return log_errno(-EBADMSG, "[Key %s]: the kernel has no MAC algorithm '%s' (use hmac(sha1), "
                                 "cmac(aes128) or hmac(sha256))", current->name, current->algorithm);
        if (r < 0)
                return log_errno(r, "cannot set the TCP-AO keys: %s", strerror(-r));
        return 0;
}

/* The key of o for the peer on fd, before connect(). */
static int key_set(Keys *keys, int fd, const struct addrinfo *ai, const Offer *o) {
        if (o->key && key_is_ao(o->key))
                return ao_keys_set(keys, fd, ai, o->key);
        int r = md5sig_add_peer(fd, ai->ai_addr, ai->ai_addrlen, o->secret);
        if (r == -ENOPROTOOPT)
                return log_errno(r, "this kernel has no TCP MD5 support (CONFIG_TCP_MD5SIG)");
        if (r < 0)
                return log_errno(r, "cannot set the TCP MD5 key: %s", strerror(-r));
        return 0;
}

/* One attempt's socket: non-blocking, bound to --source, keyed; no SYN
 * yet. -errno, logged: these errors would be the same for every address. */
static int attempt_socket(Keys *keys, const struct addrinfo *ai, const struct addrinfo *src, const Offer *o,
                          int *ret_fd) {
        _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
        if (fd < 0)
                return log_errno(-errno, "socket: %m");
        if (src) {
                static const int one = 1;
                /* The port is picked at connect(), so many clients can share ADDR. */
                (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
                if (bind(fd, src->ai_addr, src->ai_addrlen) < 0)
                        return log_errno(-errno, "--source=%s: cannot bind: %m%s", arg_source,
                                         errno == EADDRNOTAVAIL ? " (not an address of this host)" : "");
        }
        if (o->secret) {
                int r = key_set(keys, fd, ai, o);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Every attempt's socket, keyed, before the first SYN: a key that cannot
 * be set stops the client before the server sees anything. */
static int attempt_sockets(Keys *keys, const struct addrinfo *ai, const struct addrinfo *src, const Offer *o,
                           size_t n, int fds[]) {
        for (size_t i = 0; i < n; i++) {
                int r = attempt_socket(keys, ai, src, &o[i], &fds[i]);
                if (r < 0) {
                        while (i-- > 0)
                                close(fds[i]);
                        return r;
                }
        }
        return 0;
}

static void log_timeout(const char *host, const char *port, bool signed_, size_t n) {
        log_error("%s port %s: no answer within %g s. The port may be closed or filtered; the key%s may differ "
                  "from the server's for this address pair%s (a signed port drops a wrong or missing signature "
                  "without reply); or a NAT on the path rewrites addresses (TCP MD5 cannot pass NAT). "
                  "See TROUBLESHOOTING in tcpmd5-activate(8).",
                  host, port, arg_timeout_ms / 1000.0, n > 1 ? "s (every one offered)" : "",
                  signed_ ? "" : " (no key was given: use --key-file, --key-fd, --credential or --config)");
}

static bool worth_next_address(int r) {
        return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ENETUNREACH || r == -EHOSTUNREACH ||
               r == -ECONNRESET || r == -EADDRNOTAVAIL;
}

/* For -v: which key, where it came from, its length and fingerprint. */
static void log_attempt(const char *host, const char *port, const Offer *o) {
        char fp[SECRET_FINGERPRINT_STRLEN];
        const KeyConfig *k = o->key;
        if (!o->secret) {
                log_info("connecting to %s port %s unsigned", host, port);
                return;
        }
        secret_fingerprint(o->secret, fp);
        if (k && key_is_ao(k) && !arg_config)
                log_info("connecting to %s port %s with TCP-AO, the key of %s (%s SendID %u RecvID %u, %zu bytes, "
                         "fingerprint %s)", host, port, o->what, k->algorithm, k->send_id, k->recv_id,
                         o->secret->len, fp);
        else if (k && key_is_ao(k))
                log_info("connecting to %s port %s with TCP-AO [Key %s] of %s (%s SendID %u RecvID %u, %zu bytes, "
                         "fingerprint %s)", host, port, k->name, o->what, k->algorithm, k->send_id, k->recv_id,
                         o->secret->len, fp);
        else if (k)
                log_info("connecting to %s port %s with [Key %s] of %s (%s%s%s, %zu bytes, fingerprint %s)",
                         host, port, k->name, o->what, secret_source_to_string(k->source),
                         k->source_arg ? " " : "", k->source_arg ? k->source_arg : "", o->secret->len, fp);
        else
                log_info("connecting to %s port %s with the key of %s (%zu bytes, fingerprint %s)", host, port,
                         o->what, o->secret->len, fp);
}

/* For -v: the key that won. */
static void log_connected(const char *host, const char *port, const Offer *o) {
        char fp[SECRET_FINGERPRINT_STRLEN];
        if (!o->secret) {
                log_info("connected to %s port %s unsigned", host, port);
                return;
        }
        secret_fingerprint(o->secret, fp);
        const char *ao = o->key && key_is_ao(o->key) ? "TCP-AO " : "";
        if (o->key && arg_config)
                log_info("connected to %s port %s with %s[Key %s] of %s (fingerprint %s)", host, port, ao,
                         o->key->name, o->what, fp);
        else
                log_info("connected to %s port %s with %sthe key of %s (fingerprint %s)", host, port, ao, o->what,
                         fp);
}

/* One address: an attempt per key, the first to connect wins. 0 with
 * *ret_fd; -errno for the errors the next address may not have
 * (unlogged), an exit code (> 0) for the others. */
static int connect_offers(Keys *keys, const struct addrinfo *ai, const struct addrinfo *src, const Offer *o,
                          size_t n, const char *host, const char *port, int *ret_fd) {
        int fds[RACE_MAX];
        size_t winner;
        if (arg_verbose)
                for (size_t i = 0; i < n; i++)
                        log_attempt(host, port, &o[i]);
        int r = attempt_sockets(keys, ai, src, o, n, fds);
        if (r < 0)
                return exit_code_from_error(r); /* logged */
        r = race_connect(fds, n, ai->ai_addr, ai->ai_addrlen, arg_timeout_ms, &winner);
        if (r == 0) {
                if (arg_verbose)
                        log_connected(host, port, &o[winner]);
                *ret_fd = fds[winner];
                return 0;
        }
        if (worth_next_address(r))
                return r;
        log_error("%s port %s: %s", host, port, strerror(-r));
        return exit_code_from_error(r);
}

/* Every address in turn, each signed with its own keys. 0 with *ret_fd, or
 * an exit code. */
static int connect_any(Keys *keys, const struct addrinfo *list, const struct addrinfo *src, int *ret_fd) {
        unsigned tried = 0, keyless = 0;
        for (const struct addrinfo *each = list; each; each = each->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];
                struct addrinfo one;
                struct sockaddr_storage unmapped;
                const struct addrinfo *ai = &one;
                Offer offers[RACE_MAX];
                size_t n;
                unmap_v4(each, &one, &unmapped);
                if (src && ai->ai_family != src->ai_family)
                        continue;
                format_sockaddr(ai->ai_addr, ai->ai_addrlen, host, port);
                int r = keys_for(keys, ai->ai_addr, offers, &n);
                if (r == -ENOENT) {
                        /* Never unsigned instead: that address is skipped. */
                        log_warning("%s: no [Key] in %s has a Peer= prefix holding %s; not trying it", arg_host,
                                    arg_config, host);
                        keyless++;
                        continue;
                }
                if (r < 0)
                        return exit_code_from_error(r);
                tried++;
                r = connect_offers(keys, ai, src, offers, n, host, port, ret_fd);
                if (r >= 0)
                        return r;
                if (r == -ETIMEDOUT)
                        log_timeout(host, port, offers[0].secret != NULL, n);
                else
                        log_error("%s port %s: %s", host, port, strerror(-r));
        }
        if (tried == 0 && keyless > 0) {
                log_error("%s: no key for any address of %s (add a [Key] whose Peer= holds one)", arg_config,
                          arg_host);
                return EXIT_CONFIG;
        }
        if (tried == 0)
                log_error("%s has no address of the family of --source=%s", arg_host, arg_source);
        return EXIT_CONNECT;
}

/* --fdpass needs what ssh's ProxyUseFdpass gives as standard output: one
 * end of a unix socketpair. Checked before connecting, so a mistake costs
 * the server nothing. */
static int fdpass_check(void) {
        struct stat st;
        int domain = 0;
        socklen_t l = sizeof domain;
        if (fstat(STDOUT_FILENO, &st) < 0 || !S_ISSOCK(st.st_mode) ||
            getsockopt(STDOUT_FILENO, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 || domain != AF_UNIX)
                return log_errno(-EINVAL, "--fdpass: standard output is not a unix socket; --fdpass is for ssh with "
                                 "ProxyUseFdpass yes (elsewhere, leave it out and the data is relayed)");
        return 0;
}

/* One byte of data carrying the socket (SCM_RIGHTS), as OpenSSH's
 * mm_receive_fd() expects; ssh takes it after we have exited. The socket
 * goes blocking, as a plain connect() would have left it: the file flags
 * travel with it. */
static int fdpass_send(int fd) {
        char byte = 0;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = { 0 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof control.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
                return -errno;
        ssize_t n;
        while ((n = sendmsg(STDOUT_FILENO, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        return n == 1 ? 0 : -EIO;
}

static int relay(int fd) {
        static const int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as ssh sets on its own socket */
        RelayStats st;
        int r = relay_run(STDIN_FILENO, STDOUT_FILENO, fd, &st);
        if (r < 0) {
                log_error("%s: %s (after %llu bytes sent, %llu received)", st.failed, strerror(-r),
                          (unsigned long long) st.sent, (unsigned long long) st.received);
                return EXIT_CONNECT;
        }
        if (arg_verbose)
                log_info("done: %llu bytes sent, %llu received", (unsigned long long) st.sent,
                         (unsigned long long) st.received);
        return 0;
}

static int run(void) {
        _cleanup_(keys_done) Keys keys = { 0 };
        struct addrinfo *peers = NULL, *src = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (arg_fdpass && fdpass_check() < 0)
                return EXIT_USAGE;
        if ((r = keys_load(&keys)) < 0)
                return r == -EINVAL ? EXIT_USAGE : exit_code_from_error(r);
        /* The source's family narrows the peers in connect_any(), so that a
         * mismatch is reported as such rather than as an unknown host. */
        if (arg_source && (r = resolve(arg_source, NULL, arg_family, AI_NUMERICHOST | AI_PASSIVE, &src)) < 0)
                return r == -EADDRNOTAVAIL ? EXIT_USAGE : EXIT_OSERR;
        if ((r = resolve(arg_host, arg_port_number, arg_family, AI_NUMERICSERV, &peers)) < 0) {
                freeaddrinfo(src);
                return r == -EADDRNOTAVAIL ? EXIT_NOHOST : EXIT_OSERR;
        }
        r = connect_any(&keys, peers, src, &fd);
        freeaddrinfo(peers);
        freeaddrinfo(src);
        keys_done(&keys); /* the kernel holds the key now */
        if (r != 0)
                return r;
        if (!arg_fdpass)
                return relay(fd);
        /* The key stays on the socket: ssh's every segment is signed. */
        if ((r = fdpass_send(fd)) < 0) {
                log_error("--fdpass: cannot pass the connection on standard output: %s", strerror(-r));
                return EXIT_OSERR;
        }
        if (arg_verbose)
                log_info("passed the connection to ssh");
        return 0;
}

int main(int argc, char **argv) {
        log_init("tcpmd5-connect");
        if (stdio_ensure_open() < 0)
                return EXIT_OSERR;
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        signal(SIGPIPE, SIG_IGN);
        return run();
}
