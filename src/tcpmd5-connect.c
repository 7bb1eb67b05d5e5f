/* tcpmd5-connect: the client side. Connects to HOST PORT with the TCP MD5
 * key for the peer's address, then relays stdin and stdout, so it serves
 * as an ssh ProxyCommand and as a netcat for signed ports. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config-files.h"
#include "config.h"
#include "handoff.h"
#include "log.h"
#include "md5sig.h"
#include "relay.h"
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
static const char *arg_host, *arg_port;

static void help(void) {
        printf("Usage: tcpmd5-connect [OPTIONS] HOST PORT\n"
               "\n"
               "Connect to HOST PORT with a TCP MD5 signature (RFC 2385) and relay\n"
               "standard input to the connection and the connection to standard output,\n"
               "e.g. as ssh -o ProxyCommand='tcpmd5-connect --key-file KEY %%h %%p'.\n"
               "\n"
               "Key (at most one; without one the connection is unsigned):\n"
               "  -k, --key-file=FILE    the secret in FILE: 1..80 bytes, one trailing newline\n"
               "                         dropped; refused if group or other can read FILE\n"
               "      --key-fd=N         the secret read from file descriptor N (3 or above)\n"
               "      --credential=NAME  the secret in $CREDENTIALS_DIRECTORY/NAME\n"
               "  -c, --config=FILE      [Key NAME] sections of FILE and FILE.d/*.conf: the\n"
               "                         key whose longest Peer= prefix holds the address\n"
               "\n"
               "Connection:\n"
               "  -4, -6                 IPv4 or IPv6 addresses of HOST only\n"
               "  -s, --source=ADDR      bind to local address ADDR (keys are per address pair)\n"
               "  -t, --timeout=SEC      give up on each address after SEC seconds (default %g;\n"
               "                         fractions allowed: 0.5)\n"
               "  -v, --verbose          say which address and key are used\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n"
               "\n"
               "HOST is tried address by address. EOF on standard input half-closes the\n"
               "connection; the relay ends when both directions have ended.\n"
               "\n"
               "Exit status: 0 both directions ended cleanly, 1 no connection or a relay\n"
               "error, 64 usage, 68 unknown host, 69 no TCP MD5 in the kernel, 71 OS error,\n"
               "77 permissions of a key or config file, 78 config or key error.\n",
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
                if (!*optarg || strchr(optarg, '/') || strcmp(optarg, ".") == 0 || strcmp(optarg, "..") == 0)
                        return log_errno(-EINVAL, "--credential=%s: not a credential name", optarg);
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
        default:
                return -EINVAL;
        }
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "key-file", required_argument, NULL, 'k' },
                { "key-fd", required_argument, NULL, 'K' },
                { "credential", required_argument, NULL, 'C' },
                { "config", required_argument, NULL, 'c' },
                { "source", required_argument, NULL, 's' },
                { "timeout", required_argument, NULL, 't' },
                { "verbose", no_argument, NULL, 'v' },
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
                if ((r = parse_option(c)) < 0)
                        return r;
        }
        if (!!arg_key_file + (arg_key_fd >= 0) + !!arg_credential + !!arg_config > 1)
                return log_errno(-EINVAL, "give at most one of --key-file, --key-fd, --credential and --config");
        if (argc - optind != 2)
                return log_errno(-EINVAL, "expected HOST PORT (see --help)");
        arg_host = argv[optind];
        arg_port = argv[optind + 1];
        if (!*arg_host || !*arg_port)
                return log_errno(-EINVAL, "HOST and PORT must not be empty");
        return 1;
}

/* Where the secret comes from: one fixed secret, or a config's keys. */
typedef struct Keys {
        Secret fixed;
        bool have_fixed;
        Config *config;
        const char *source; /* for messages: "--key-file FILE" etc., or NULL when unsigned */
} Keys;

static void keys_done(Keys *k) {
        secret_wipe(&k->fixed);
        k->have_fixed = false;
        config_free(k->config);
        k->config = NULL;
}

static int secret_error(int r, const char *what, const char *problem) {
        if (problem)
                return log_errno(-EACCES, "%s: refusing it: %s", what, problem);
        if (r == -ELOOP)
                return log_errno(-EACCES, "%s: is a symbolic link; name the file itself", what);
        if (r == -E2BIG)
                return log_errno(-EBADMSG, "%s: holds more than %d bytes (TCP_MD5SIG_MAXKEYLEN); keys are never cut",
                                 what, SECRET_MAX);
        if (r == -ENODATA)
                return log_errno(-EBADMSG, "%s: is empty", what);
        if (r == -EISDIR)
                return log_errno(-EBADMSG, "%s: not a regular file (name a file holding the key)", what);
        return log_errno(r, "%s: cannot read: %s", what, strerror(-r));
}

static int keys_load_config(Keys *k) {
        _cleanup_free_ char *name = config_name_from_path(arg_config);
        if (!name)
                return -ENOMEM;
        k->config = config_new(name);
        if (!k->config)
                return -ENOMEM;
        int r = config_load(k->config, arg_config, NULL, NULL);
        if (r < 0)
                return r;
        if (k->config->n_keys == 0)
                return log_errno(-EBADMSG, "%s: no [Key NAME] section", arg_config);
        return config_validate_keys(k->config);
}

static int keys_load(Keys *k) {
        static char what[512];
        const char *problem = NULL;
        int r = 0;
        if (arg_config) {
                k->source = arg_config;
                return keys_load_config(k);
        }
        if (arg_key_file) {
                snprintf(what, sizeof what, "--key-file %s", arg_key_file);
                r = secret_load_file(arg_key_file, &k->fixed, &problem);
        } else if (arg_key_fd >= 0) {
                snprintf(what, sizeof what, "--key-fd %d", arg_key_fd);
                r = secret_read_fd(arg_key_fd, &k->fixed);
                close(arg_key_fd);
                if (r == -EBADF)
                        return log_errno(-EINVAL, "%s: not an open file descriptor", what);
        } else if (arg_credential) {
                const char *dir = getenv("CREDENTIALS_DIRECTORY");
                if (str_empty(dir))
                        return log_errno(-EBADMSG, "--credential %s: $CREDENTIALS_DIRECTORY is not set "
                                         "(LoadCredential= in the service unit sets it)", arg_credential);
                _cleanup_free_ char *path = str_join_path(dir, arg_credential);
                if (!path)
                        return -ENOMEM;
                snprintf(what, sizeof what, "--credential %s (%s)", arg_credential, path);
                r = secret_load_file(path, &k->fixed, &problem);
        } else {
                return 0;
        }
        if (r < 0)
                return secret_error(r, what, problem);
        k->have_fixed = true;
        k->source = what;
        return 0;
}

/* The secret for one peer address; *ret NULL for an unsigned connection.
 * -ENOENT: the config has no key for this address. */
static int keys_for(Keys *k, const struct sockaddr *sa, const Secret **ret, const char **ret_name) {
        *ret = NULL;
        *ret_name = NULL;
        if (k->have_fixed) {
                *ret = &k->fixed;
                return 0;
        }
        if (!k->config)
                return 0;
        InAddr a;
        if (sa->sa_family == AF_INET)
                a.in = ((const struct sockaddr_in *) sa)->sin_addr;
        else
                a.in6 = ((const struct sockaddr_in6 *) sa)->sin6_addr;
        KeyConfig *best = NULL;
        int best_len = -1;
        for (size_t i = 0; i < k->config->n_keys; i++)
                for (size_t j = 0; j < k->config->keys[i].n_peers; j++) {
                        const Prefix *p = &k->config->keys[i].peers[j].prefix;
                        if (p->len > best_len && prefix_contains(p, sa->sa_family, &a)) {
                                best = &k->config->keys[i];
                                best_len = p->len;
                        }
                }
        if (!best)
                return -ENOENT;
        int r = config_resolve_key(best);
        if (r < 0)
                return r;
        *ret = &best->secret;
        *ret_name = best->name;
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

/* One address: socket, source, key, connect. Errors that the next address
 * may not have (refused, unreachable, timed out) come back unlogged. */
static int connect_one(const struct addrinfo *ai, const struct addrinfo *src, const Secret *s, int *ret_fd) {
        _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
        if (fd < 0)
                return log_errno(-errno, "socket: %m");
        if (src) {
                static const int one = 1;
                /* The port is picked at connect(), so many clients can share ADDR. */
                (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
                if (bind(fd, src->ai_addr, src->ai_addrlen) < 0)
                        return log_errno(errno == EADDRNOTAVAIL ? -EINVAL : -errno,
                                         "--source=%s: cannot bind: %m", arg_source);
        }
        if (s) {
                int r = md5sig_add_peer(fd, ai->ai_addr, ai->ai_addrlen, s);
                if (r == -ENOPROTOOPT)
                        return log_errno(r, "this kernel has no TCP MD5 support (CONFIG_TCP_MD5SIG)");
                if (r < 0)
                        return log_errno(r, "cannot set the TCP MD5 key: %s", strerror(-r));
        }
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

/* Every address in turn. 0 with *ret_fd, or an exit code. */
static int connect_any(Keys *keys, const struct addrinfo *list, const struct addrinfo *src, int *ret_fd) {
        unsigned tried = 0, keyless = 0;
        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV], how[300];
                const Secret *s;
                const char *name;
                if (src && ai->ai_family != src->ai_family)
                        continue;
                format_sockaddr(ai->ai_addr, ai->ai_addrlen, host, port);
                int r = keys_for(keys, ai->ai_addr, &s, &name);
                if (r == -ENOENT) {
                        log_warning("%s: no [Key] in %s has a Peer= prefix holding %s", arg_host, arg_config, host);
                        keyless++;
                        continue;
                }
                if (r < 0)
                        return exit_code_from_error(r);
                tried++;
                if (arg_verbose) {
                        if (name)
                                snprintf(how, sizeof how, "with [Key %s] of %s", name, keys->source);
                        else if (s)
                                snprintf(how, sizeof how, "with the key of %s", keys->source);
                        else
                                snprintf(how, sizeof how, "unsigned");
                        log_info("connecting to %s port %s %s", host, port, how);
                }
                r = connect_one(ai, src, s, ret_fd);
                if (r == 0) {
                        if (arg_verbose)
                                log_info("connected to %s port %s", host, port);
                        return 0;
                }
                if (r == -EINVAL)
                        return EXIT_USAGE; /* --source is not an address of this host */
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

static int run(void) {
        _cleanup_(keys_done) Keys keys = { 0 };
        struct addrinfo *peers = NULL, *src = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if ((r = keys_load(&keys)) < 0)
                return r == -EINVAL ? EXIT_USAGE : exit_code_from_error(r);
        /* The source's family narrows the peers in connect_any(), so that a
         * mismatch is reported as such rather than as an unknown host. */
        if (arg_source && (r = resolve(arg_source, NULL, arg_family, AI_NUMERICHOST | AI_PASSIVE, &src)) < 0)
                return r == -EADDRNOTAVAIL ? EXIT_USAGE : EXIT_OSERR;
        if ((r = resolve(arg_host, arg_port, arg_family, 0, &peers)) < 0) {
                freeaddrinfo(src);
                return r == -EADDRNOTAVAIL ? EXIT_NOHOST : EXIT_OSERR;
        }
        r = connect_any(&keys, peers, src, &fd);
        freeaddrinfo(peers);
        freeaddrinfo(src);
        keys_done(&keys); /* the kernel holds the key now */
        if (r != 0)
                return r;

        static const int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as ssh sets on its own socket */
        RelayStats st;
        r = relay_run(STDIN_FILENO, STDOUT_FILENO, fd, &st);
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
