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

static int arg_family = AF_UNSPEC;
static const char *arg_key_file;
static int arg_key_fd = -1;
static const char *arg_credential;
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
               "  ssh -o ProxyUseFdpass=yes -o ProxyCommand='tcpmd5-connect --fdpass -k KEY %%h %%p'\n"
               "\n"
               "HOST is a name or an address ([::1] too); PORT a number in 1..65535 or a\n"
               "service name (ssh).\n"
               "\n"
               "Key (at most one; without one the connection is unsigned):\n"
               "  -k, --key-file=FILE    the secret in FILE: 1..80 bytes, one trailing newline\n"
               "                         dropped; refused if group or other can read FILE\n"
               "      --key-fd=N         the secret read from file descriptor N (3 or above)\n"
               "      --credential=NAME  the secret in $CREDENTIALS_DIRECTORY/NAME\n"
               "  -c, --config=FILE      [Key NAME] sections of FILE and FILE.d/*.conf: the\n"
               "                         key whose longest Peer= prefix holds the address\n"
               "      --ao=ALG:SENDID:RECVID  sign with TCP-AO (RFC 5925) instead: the secret of\n"
               "                         -k, --key-fd or --credential with MAC algorithm ALG\n"
               "                         (hmac(sha1), cmac(aes128), ...) and these KeyIDs\n"
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
               TIMEOUT_DEFAULT_MS / 1000.0);
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

static int parse_option(int c) {
        uint64_t v;
        switch (c) {
        case '4':
        case '6':
                if (arg_family != AF_UNSPEC)
                        return log_errno(-EINVAL, "-4 and -6 exclude each other");
                arg_family = c == '4' ? AF_INET : AF_INET6;
                return 0;
        case 'k':
                arg_key_file = optarg;
                return 0;
        case 'K':
                if (parse_uint(optarg, 3, INT32_MAX, &v) < 0)
                        return log_errno(-EINVAL, "--key-fd=%s: not a file descriptor of 3 or above "
                                         "(0, 1 and 2 carry the data)", optarg);
                arg_key_fd = (int) v;
                return 0;
        case 'C':
                if (!credential_name_valid(optarg))
                        return log_errno(-EINVAL, "--credential=%s: not a credential name (a file name in "
                                         "$CREDENTIALS_DIRECTORY: no '/' or ':', not . or ..)", optarg);
                arg_credential = optarg;
                return 0;
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
        if (!!arg_key_file + (arg_key_fd >= 0) + !!arg_credential + !!arg_config > 1)
                return log_errno(-EINVAL, "give at most one of --key-file, --key-fd, --credential and --config");
        if (arg_ao && (arg_config || !(arg_key_file || arg_key_fd >= 0 || arg_credential)))
                return log_errno(-EINVAL, "--ao=%s signs with the secret of --key-file, --key-fd or --credential "
                                 "(with --config, [Key] sections say Algorithm=, SendID= and RecvID=)", arg_ao);
        if (argc - optind == 1 && looks_like_host_port(argv[optind]))
                return log_errno(-EINVAL, "%s: give HOST and PORT as two arguments (tcpmd5-connect HOST PORT)",
                                 argv[optind]);
        if (argc - optind != 2)
                return log_errno(-EINVAL, "expected HOST PORT (see --help)");
        if ((r = parse_host(argv[optind])) < 0 || (r = parse_port(argv[optind + 1])) < 0)
                return r;
        return 1;
}

/* Where the secret comes from: one fixed secret, or a config's keys. */
typedef struct Keys {
        Secret fixed;
        bool have_fixed;
        KeyConfig fixed_ao; /* --ao: the TCP-AO settings for fixed (a copy of it in .secret) */
        Config *config;
        const char *source; /* for messages: "--key-file FILE" etc., or NULL when unsigned */
} Keys;

static void keys_done(Keys *k) {
        secret_wipe(&k->fixed);
        secret_wipe(&k->fixed_ao.secret);
        free(k->fixed_ao.algorithm);
        k->fixed_ao = (KeyConfig) { 0 };
        k->have_fixed = false;
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
        return config_validate_keys(k->config);
}

/* --ao=ALGORITHM:SENDID:RECVID, around the fixed secret. The kernel
 * judges the algorithm's name (ENOENT: key_set() says so). */
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
        k->fixed_ao.secret = k->fixed;
        return 0;
}

static int keys_load(Keys *k) {
        static char what[512];
        int r = 0;
        if (arg_config) {
                k->source = arg_config;
                return keys_load_config(k);
        }
        if (arg_key_file) {
                snprintf(what, sizeof what, "--key-file %s", arg_key_file);
                r = secret_load_reported("--key-file", arg_key_file, &k->fixed);
        } else if (arg_key_fd >= 0) {
                snprintf(what, sizeof what, "--key-fd %d", arg_key_fd);
                r = secret_read_fd(arg_key_fd, &k->fixed);
                close(arg_key_fd);
                if (r == -EBADF)
                        return log_errno(-EINVAL, "%s: not an open file descriptor", what);
                if (r < 0)
                        return secret_report(r, what, NULL, NULL);
                secret_warn_line_end(what, NULL, &k->fixed);
        } else if (arg_credential) {
                _cleanup_free_ char *path = NULL;
                snprintf(what, sizeof what, "--credential %s", arg_credential);
                r = credential_path(arg_credential, &path);
                if (r == -ENXIO)
                        return log_errno(-EBADMSG, "%s: $CREDENTIALS_DIRECTORY is not set "
                                         "(LoadCredential= in the service unit sets it)", what);
                if (r >= 0)
                        r = secret_load_reported(what, path, &k->fixed);
                snprintf(what, sizeof what, "--credential %s (%s)", arg_credential, path ? path : "");
        } else {
                return 0;
        }
        if (r < 0)
                return r;
        k->have_fixed = true;
        k->source = what;
        return arg_ao ? keys_parse_ao(k) : 0;
}

/* The secret for one peer address; *ret NULL for an unsigned connection,
 * *ret_key the config's section when it came from --config.
 * -ENOENT: the config has no key for this address. */
static int keys_for(Keys *k, const struct sockaddr *sa, const Secret **ret, const KeyConfig **ret_key) {
        *ret = NULL;
        *ret_key = NULL;
        if (k->have_fixed) {
                *ret = &k->fixed;
                *ret_key = k->fixed_ao.algorithm ? &k->fixed_ao : NULL;
                return 0;
        }
        if (!k->config)
                return 0;
        InAddr a;
        if (sa->sa_family == AF_INET)
                a.in = ((const struct sockaddr_in *) sa)->sin_addr;
        else
                a.in6 = ((const struct sockaddr_in6 *) sa)->sin6_addr;
        KeyConfig *best = plan_key_for_peer(k->config, sa->sa_family, &a);
        if (!best)
                return -ENOENT;
        int r = config_resolve_key(best);
        if (r < 0)
                return r;
        *ret = &best->secret;
        *ret_key = best;
        return 0;
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

/* The TCP handshake with a bounded wait: 0, -ETIMEDOUT, or the error the
 * kernel reports (ECONNREFUSED, ENETUNREACH, ...). */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t len) {
        if (connect(fd, sa, len) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int r;
        /* EINTR: restart with the full wait; no handler runs here, so it is rare. */
        while ((r = poll(&p, 1, (int) arg_timeout_ms)) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                return -errno;
        return -err;
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

/* The key for the peer on fd, before connect(). */
static int key_set(Keys *keys, int fd, const struct addrinfo *ai, const Secret *s, const KeyConfig *k) {
        if (k && key_is_ao(k))
                return ao_keys_set(keys, fd, ai, k);
        int r = md5sig_add_peer(fd, ai->ai_addr, ai->ai_addrlen, s);
        if (r == -ENOPROTOOPT)
                return log_errno(r, "this kernel has no TCP MD5 support (CONFIG_TCP_MD5SIG)");
        if (r < 0)
                return log_errno(r, "cannot set the TCP MD5 key: %s", strerror(-r));
        return 0;
}

/* One address: socket, source, key, connect. -errno. Errors that the next
 * address may not have (refused, unreachable, timed out) come back
 * unlogged; the others are logged, and *ret_fatal says whether they would
 * be the same for every address. */
static int connect_one(Keys *keys, const struct addrinfo *ai, const struct addrinfo *src, const Secret *s,
                       const KeyConfig *k, int *ret_fd, bool *ret_fatal) {
        *ret_fatal = true;
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
        if (s) {
                int r = key_set(keys, fd, ai, s, k);
                if (r < 0)
                        return r;
        }
        *ret_fatal = false;
        int r = connect_wait(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void log_timeout(const char *host, const char *port, bool signed_) {
        log_error("%s port %s: no answer within %g s. The port may be closed or filtered; the key may differ "
                  "from the server's for this address pair%s (a signed port drops a wrong or missing signature "
                  "without reply); or a NAT on the path rewrites addresses (TCP MD5 cannot pass NAT).",
                  host, port, arg_timeout_ms / 1000.0,
                  signed_ ? "" : " (no key was given: use --key-file, --key-fd, --credential or --config)");
}

static bool worth_next_address(int r) {
        return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ENETUNREACH || r == -EHOSTUNREACH ||
               r == -ECONNRESET || r == -EADDRNOTAVAIL;
}

/* For -v: which key, where it came from, its length and fingerprint. */
static void log_attempt(const Keys *keys, const char *host, const char *port, const Secret *s,
                        const KeyConfig *k) {
        char fp[SECRET_FINGERPRINT_STRLEN];
        if (!s) {
                log_info("connecting to %s port %s unsigned", host, port);
                return;
        }
        secret_fingerprint(s, fp);
        if (k == &keys->fixed_ao)
                log_info("connecting to %s port %s with TCP-AO, the key of %s (%s SendID %u RecvID %u, %zu bytes, "
                         "fingerprint %s)", host, port, keys->source, k->algorithm, k->send_id, k->recv_id, s->len, fp);
        else if (k && key_is_ao(k))
                log_info("connecting to %s port %s with TCP-AO [Key %s] of %s (%s SendID %u RecvID %u, %zu bytes, "
                         "fingerprint %s)", host, port, k->name, keys->source, k->algorithm, k->send_id, k->recv_id,
                         s->len, fp);
        else if (k)
                log_info("connecting to %s port %s with [Key %s] of %s (%s%s%s, %zu bytes, fingerprint %s)",
                         host, port, k->name, keys->source, secret_source_to_string(k->source),
                         k->source_arg ? " " : "", k->source_arg ? k->source_arg : "", s->len, fp);
        else
                log_info("connecting to %s port %s with the key of %s (%zu bytes, fingerprint %s)", host, port,
                         keys->source, s->len, fp);
}

/* Every address in turn, each signed with its own key. 0 with *ret_fd, or
 * an exit code. */
static int connect_any(Keys *keys, const struct addrinfo *list, const struct addrinfo *src, int *ret_fd) {
        unsigned tried = 0, keyless = 0;
        for (const struct addrinfo *each = list; each; each = each->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];
                struct addrinfo one;
                struct sockaddr_storage unmapped;
                const struct addrinfo *ai = &one;
                const Secret *s;
                const KeyConfig *k;
                unmap_v4(each, &one, &unmapped);
                if (src && ai->ai_family != src->ai_family)
                        continue;
                format_sockaddr(ai->ai_addr, ai->ai_addrlen, host, port);
                int r = keys_for(keys, ai->ai_addr, &s, &k);
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
                if (arg_verbose)
                        log_attempt(keys, host, port, s, k);
                bool fatal;
                r = connect_one(keys, ai, src, s, k, ret_fd, &fatal);
                if (r == 0) {
                        if (arg_verbose)
                                log_info("connected to %s port %s", host, port);
                        return 0;
                }
                if (fatal)
                        return exit_code_from_error(r); /* logged */
                if (!worth_next_address(r))
                        return exit_code_from_error(r); /* logged, and the same for every address */
                if (r == -ETIMEDOUT)
                        log_timeout(host, port, s != NULL);
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
