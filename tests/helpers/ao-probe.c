/* ao-probe: the kernel facts the TCP-AO design rests on, established as
 * TAP checks (ok / not ok lines, no plan: the calling test counts them).
 * Runs in the test VM (tests/vm/), whose kernel has CONFIG_TCP_AO, in a
 * network namespace of its own: every peer is an address of 127.0.0.0/8
 * on loopback, every client one socket of this one process (a process
 * start costs ~50x under TCG). The findings are written up in
 * tests/vm/README.md; a kernel that behaves otherwise fails a check here.
 *
 *   ao-probe [basics|rollover|dualstack|layouts]...   (default: all four)
 *   ao-probe attempts < LIST
 *
 * Exit 0 when every check passed, 1 otherwise. "attempts" is the client
 * side of tests/vm/ao-matrix.sh: every connection of LIST at once against
 * listeners of other processes, one result line each (see attempts()). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp-ao.h"

#define SERVER "127.0.0.1"
/* A negative case waits this long for a handshake that must not happen
 * (on loopback the answer to a SYN takes milliseconds; the margin is for a
 * busy host under TCG). Its SYN's retransmission after 1 s meets the same
 * drop. */
#define NEGATIVE_MS 1500
/* An expected handshake may take this long on a busy host (it returns as
 * soon as it completes). */
#define POSITIVE_MS 10000

static int failed;

__attribute__((format(printf, 2, 3))) static void check(bool good, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        printf("%s - ", good ? "ok" : "not ok");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        fflush(stdout);
        if (!good)
                failed = 1;
}

static const char *errname(int err) {
        switch (err) {
        case 0: return "ok";
        case EKEYREJECTED: return "EKEYREJECTED";
        case EINVAL: return "EINVAL";
        case EBUSY: return "EBUSY";
        case ENOENT: return "ENOENT";
        case EEXIST: return "EEXIST";
        case EPERM: return "EPERM";
        case ENOPROTOOPT: return "ENOPROTOOPT";
        default: return strerror(err);
        }
}

static struct sockaddr_in in4(const char *ip, uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
                fprintf(stderr, "ao-probe: bad address %s\n", ip);
                exit(2);
        }
        return sa;
}

/* key_addr: a key's peer address, IPv4 ("127.0.1.0") or IPv6
 * ("::ffff:127.0.1.0"), port 0, into the kernel's sockaddr_storage. */
static void key_addr(const char *ip, struct __kernel_sockaddr_storage *ret) {
        struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
        memset(ret, 0, sizeof *ret);
        if (strchr(ip, ':') == NULL) {
                struct sockaddr_in sa = in4(ip, 0);
                memcpy(ret, &sa, sizeof sa);
        } else if (inet_pton(AF_INET6, ip, &sa6.sin6_addr) == 1) {
                memcpy(ret, &sa6, sizeof sa6);
        } else {
                fprintf(stderr, "ao-probe: bad address %s\n", ip);
                exit(2);
        }
}

/* The keys, as the kernel takes them. Each returns 0 or an errno. */
typedef struct {
        const char *alg;    /* "hmac(sha1)", "cmac(aes128)", ... */
        const char *secret;
        uint8_t sndid, rcvid;
} AoKey;

static int ao_add(int fd, const char *peer, int prefix, const AoKey *k, bool current, bool rnext) {
        struct tcp_ao_add a = { .prefix = (uint8_t) prefix, .sndid = k->sndid, .rcvid = k->rcvid,
                                .set_current = current, .set_rnext = rnext };
        key_addr(peer, &a.addr);
        snprintf(a.alg_name, sizeof a.alg_name, "%s", k->alg);
        a.keylen = (uint8_t) strlen(k->secret);
        memcpy(a.key, k->secret, a.keylen);
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_ADD_KEY, &a, sizeof a) < 0 ? errno : 0;
}

static int ao_del(int fd, const char *peer, int prefix, uint8_t sndid, uint8_t rcvid) {
        struct tcp_ao_del d = { .prefix = (uint8_t) prefix, .sndid = sndid, .rcvid = rcvid };
        key_addr(peer, &d.addr);
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_DEL_KEY, &d, sizeof d) < 0 ? errno : 0;
}

static int md5_add(int fd, const char *peer, int prefix, const char *secret) {
        struct tcp_md5sig m = { .tcpm_flags = TCP_MD5SIG_FLAG_PREFIX, .tcpm_prefixlen = (uint8_t) prefix };
        key_addr(peer, (struct __kernel_sockaddr_storage *) &m.tcpm_addr);
        m.tcpm_keylen = (uint16_t) strlen(secret);
        memcpy(m.tcpm_key, secret, m.tcpm_keylen);
        return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &m, sizeof m) < 0 ? errno : 0;
}

static int ao_info(int fd, struct tcp_ao_info_opt *ret_info) {
        socklen_t len = sizeof *ret_info;
        memset(ret_info, 0, sizeof *ret_info);
        return getsockopt(fd, IPPROTO_TCP, TCP_AO_INFO, ret_info, &len) < 0 ? errno : 0;
}

static int ao_set(int fd, const struct tcp_ao_info_opt *info) {
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_INFO, info, sizeof *info) < 0 ? errno : 0;
}

/* ao_keys: every key of FD into KEYS (at most N); their number, or -errno.
 * optlen is the size of one entry, nkeys the number of entries. */
static int ao_keys(int fd, struct tcp_ao_getsockopt *keys, unsigned n) {
        memset(keys, 0, n * sizeof *keys);
        keys[0].nkeys = n;
        keys[0].get_all = 1;
        socklen_t len = sizeof *keys;
        if (getsockopt(fd, IPPROTO_TCP, TCP_AO_GET_KEYS, keys, &len) < 0)
                return -errno;
        return (int) keys[0].nkeys;
}

static int server_socket(void) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in sa = in4(SERVER, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("ao-probe: server socket");
                exit(2);
        }
        return fd;
}

static uint16_t server_listen(int fd) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        if (listen(fd, 64) < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
                perror("ao-probe: listen");
                exit(2);
        }
        return ntohs(sa.sin_port);
}

/* A client: where it connects from and how it signs. */
typedef enum { SIGN_NONE, SIGN_MD5, SIGN_AO } Sign;
typedef struct {
        const char *name;
        const char *src;
        Sign sign;
        const char *md5;  /* SIGN_MD5: the secret */
        AoKey ao;         /* SIGN_AO */
        int fd;           /* the connecting socket, -1 */
        int served;       /* the listener's socket for it, -1 */
        bool connected;
} Client;

static long now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void client_start(Client *c, uint16_t port) {
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        c->served = -1;
        c->connected = false;
        struct sockaddr_in src = in4(c->src, 0), dst = in4(SERVER, port);
        int err = 0;
        if (c->fd < 0 || bind(c->fd, (struct sockaddr *) &src, sizeof src) < 0)
                err = errno;
        else if (c->sign == SIGN_MD5)
                err = md5_add(c->fd, SERVER, 32, c->md5);
        else if (c->sign == SIGN_AO)
                err = ao_add(c->fd, SERVER, 32, &c->ao, false, false);
        if (err) {
                fprintf(stderr, "ao-probe: client %s: %s\n", c->name, strerror(err));
                exit(2);
        }
        if (connect(c->fd, (struct sockaddr *) &dst, sizeof dst) < 0 && errno != EINPROGRESS) {
                perror("ao-probe: connect");
                exit(2);
        }
}

/* same_peer: SERVED is the listener's end of CLIENT (an IPv4 client; a
 * dual-stack listener sees it IPv4-mapped). */
static bool same_peer(int served, int client) {
        struct sockaddr_storage a;
        struct sockaddr_in b;
        socklen_t la = sizeof a, lb = sizeof b;
        if (getpeername(served, (struct sockaddr *) &a, &la) < 0 || getsockname(client, (struct sockaddr *) &b, &lb) < 0)
                return false;
        if (a.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *) &a;
                return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && a6->sin6_port == b.sin_port &&
                       memcmp(&a6->sin6_addr.s6_addr[12], &b.sin_addr, 4) == 0;
        }
        const struct sockaddr_in *a4 = (const struct sockaddr_in *) &a;
        return a4->sin_addr.s_addr == b.sin_addr.s_addr && a4->sin_port == b.sin_port;
}

/* handshakes: start every client at once against listener L, wait until
 * each one expected to complete (WANT[i]) has, and NEGATIVE_MS at least
 * (POSITIVE_MS at most), then note in each client whether its handshake
 * completed on both ends and one byte went each way. */
static void handshakes(int l, uint16_t port, Client *cs, size_t n, const bool *want) {
        for (size_t i = 0; i < n; i++)
                client_start(&cs[i], port);
        long start = now_ms();
        for (;;) {
                int fd;
                while ((fd = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                        size_t i = 0;
                        while (i < n && !same_peer(fd, cs[i].fd))
                                i++;
                        if (i < n)
                                cs[i].served = fd;
                        else
                                close(fd);
                }
                bool pending = false;
                for (size_t i = 0; i < n; i++) {
                        struct pollfd p = { .fd = cs[i].fd, .events = POLLOUT };
                        int err = 0;
                        socklen_t el = sizeof err;
                        if (!cs[i].connected && poll(&p, 1, 0) == 1 &&
                            getsockopt(cs[i].fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                                cs[i].connected = true;
                        if (want[i] && (!cs[i].connected || cs[i].served < 0))
                                pending = true;
                }
                long t = now_ms() - start;
                if (t >= POSITIVE_MS || (!pending && t >= NEGATIVE_MS))
                        break;
                struct pollfd p = { .fd = l, .events = POLLIN };
                poll(&p, 1, 20);
        }
        for (size_t i = 0; i < n; i++) {
                Client *c = &cs[i];
                if (c->connected && c->served >= 0) {
                        char b = 0;
                        struct pollfd p = { .fd = c->served, .events = POLLIN };
                        c->connected = write(c->fd, "x", 1) == 1 && poll(&p, 1, POSITIVE_MS) == 1 &&
                                       read(c->served, &b, 1) == 1 && b == 'x';
                        p = (struct pollfd) { .fd = c->fd, .events = POLLIN };
                        c->connected = c->connected && write(c->served, "y", 1) == 1 &&
                                       poll(&p, 1, POSITIVE_MS) == 1 && read(c->fd, &b, 1) == 1 && b == 'y';
                } else {
                        c->connected = false;
                }
                close(c->fd);
                if (c->served >= 0)
                        close(c->served);
        }
}


/* ---- attempts: many clients of listeners in other processes ---- */

typedef struct {
        char label[80], src[64], dst[64];
        struct sockaddr_storage to;
        socklen_t to_len;
        Sign sign;
        char md5[81];
        char alg[64], secret[81]; /* SIGN_AO, with: */
        uint8_t sndid, rcvid;
        bool want;   /* expected to be served: waited for */
        int fd;
        bool sent;   /* the handshake completed: a "ping" went out */
        size_t echoed;
        char result; /* 0 while pending */
} Attempt;

static bool sockaddr_of(const char *ip, const char *port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        if (getaddrinfo(ip, port, &hints, &ai) != 0)
                return false;
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return true;
}

/* attempt_parse: "LABEL SOURCE TARGET PORT SIGN WANT"; SIGN is none,
 * md5:SECRET or ao:ALGORITHM:SENDID:RECVID:SECRET, WANT Y or -. */
static bool attempt_parse(const char *line, Attempt *a) {
        char port[8], sign[200], want[2];
        memset(a, 0, sizeof *a);
        if (sscanf(line, "%79s %63s %63s %7s %199s %1s", a->label, a->src, a->dst, port, sign, want) != 6 ||
            !sockaddr_of(a->dst, port, &a->to, &a->to_len))
                return false;
        a->want = want[0] == 'Y';
        unsigned snd, rcv;
        if (strcmp(sign, "none") == 0)
                a->sign = SIGN_NONE;
        else if (sscanf(sign, "md5:%80s", a->md5) == 1)
                a->sign = SIGN_MD5;
        else if (sscanf(sign, "ao:%63[^:]:%u:%u:%80s", a->alg, &snd, &rcv, a->secret) == 4 && snd < 256 && rcv < 256)
                a->sign = SIGN_AO, a->sndid = (uint8_t) snd, a->rcvid = (uint8_t) rcv;
        else
                return false;
        return true;
}

static void attempt_start(Attempt *a) {
        struct sockaddr_storage from;
        socklen_t from_len;
        int plen = a->to.ss_family == AF_INET ? 32 : 128, err = 0;
        errno = 0;
        a->fd = socket(a->to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->fd < 0 || !sockaddr_of(a->src, "0", &from, &from_len) ||
            bind(a->fd, (struct sockaddr *) &from, from_len) < 0)
                err = errno ? errno : EINVAL;
        else if (a->sign == SIGN_MD5)
                err = md5_add(a->fd, a->dst, plen, a->md5);
        else if (a->sign == SIGN_AO)
                err = ao_add(a->fd, a->dst, plen, &(AoKey) { a->alg, a->secret, a->sndid, a->rcvid }, false, false);
        if (!err && connect(a->fd, (struct sockaddr *) &a->to, a->to_len) < 0 && errno != EINPROGRESS)
                err = errno;
        if (err) {
                fprintf(stderr, "ao-probe: %s: from %s: %s\n", a->label, a->src, strerror(err));
                exit(2);
        }
}

/* attempt_step: an event on A's socket: the handshake's outcome (then a
 * "ping" goes out), or the echo. */
static void attempt_step(Attempt *a) {
        int err = 0;
        socklen_t el = sizeof err;
        if (!a->sent) {
                getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err)
                        a->result = err == ECONNREFUSED ? 'R' : 'E';
                else if (write(a->fd, "ping", 4) == 4)
                        a->sent = true;
                else
                        a->result = 'H';
                return;
        }
        char buf[8];
        ssize_t k = read(a->fd, buf, sizeof buf);
        if (k < 0 && errno == EAGAIN)
                return;
        if (k > 0 && a->echoed + (size_t) k <= 4 && memcmp(buf, &"ping"[a->echoed], (size_t) k) == 0)
                a->echoed += (size_t) k;
        else
                a->result = 'H';
        if (a->echoed == 4)
                a->result = 'Y';
}

static Attempt *attempts_read(size_t *ret_n) {
        Attempt *as = NULL;
        size_t n = 0, cap = 0;
        char line[512];
        while (fgets(line, sizeof line, stdin)) {
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (n == cap && !(as = realloc(as, (cap = cap ? 2 * cap : 64) * sizeof *as))) {
                        perror("ao-probe: attempts");
                        exit(2);
                }
                if (!attempt_parse(line, &as[n++])) {
                        fprintf(stderr, "ao-probe: attempts: not LABEL SOURCE TARGET PORT SIGN WANT: %s", line);
                        exit(64);
                }
        }
        *ret_n = n;
        return as;
}

/* attempts: every connection of the list on standard input at once, one
 * line each, "LABEL SOURCE TARGET PORT SIGN WANT": SIGN is none,
 * md5:SECRET or ao:ALGORITHM:SENDID:RECVID:SECRET (the key for TARGET/32
 * or /128), WANT Y for one that should be served (it is waited for, up to
 * POSITIVE_MS), else -; the others get NEGATIVE_MS, their SYN's one
 * retransmission included. Prints "LABEL RESULT" for each, in order: Y
 * served (a "ping" echoed), H a handshake but no echo, R reset (nothing
 * listens there), E another error, - no handshake. AO_PROBE_NEGATIVE_MS=N
 * shortens that wait, for a test that judges many states in a row (the
 * SYN's retransmission is then not waited for). */
static void attempts(void) {
        size_t n;
        Attempt *as = attempts_read(&n);
        const char *env = getenv("AO_PROBE_NEGATIVE_MS");
        long negative_ms = env && atol(env) > 0 ? atol(env) : NEGATIVE_MS;
        struct pollfd *p = calloc(n ? n : 1, sizeof *p);
        if (!p)
                exit(2);
        for (size_t i = 0; i < n; i++)
                attempt_start(&as[i]);
        long start = now_ms();
        for (;;) {
                bool waiting = false;
                for (size_t i = 0; i < n; i++) {
                        p[i] = (struct pollfd) { .fd = as[i].result ? -1 : as[i].fd,
                                                 .events = as[i].sent ? POLLIN : POLLOUT };
                        waiting = waiting || (!as[i].result && (as[i].want || as[i].sent));
                }
                long t = now_ms() - start;
                if (t >= POSITIVE_MS || (!waiting && t >= negative_ms))
                        break;
                if (poll(p, n, 50) > 0)
                        for (size_t i = 0; i < n; i++)
                                if (p[i].revents)
                                        attempt_step(&as[i]);
        }
        for (size_t i = 0; i < n; i++) {
                printf("%s %c\n", as[i].label, as[i].result ? as[i].result : as[i].sent ? 'H' : '-');
                close(as[i].fd);
        }
        free(p);
        free(as);
}

static const AoKey SHA1 = { "hmac(sha1)", "ao-secret-one", 1, 1 };
static const AoKey CMAC = { "cmac(aes128)", "ao-secret-cmac-1", 2, 2 };
static const AoKey SHA1_WRONG = { "hmac(sha1)", "not-the-secret", 1, 1 };
static const AoKey SHA1_UNKNOWN_ID = { "hmac(sha1)", "ao-secret-one", 9, 9 };
static const AoKey K100 = { "hmac(sha1)", "the-key-of-100", 100, 100 };
static const AoKey K101 = { "cmac(aes128)", "the-key-of-101!!", 101, 101 };
static const char *MD5_SECRET = "md5-secret";

/* AO on its own: the handshake with both mandatory MACs, the three ways
 * to fail it, two keys on one listener, and the listener's counters. */
static void basics(void) {
        int l = server_socket();
        int err = ao_add(l, "127.0.1.0", 24, &SHA1, false, false);
        check(err == 0, "basics: hmac(sha1) key for 127.0.1.0/24 on a listener before listen(): %s", errname(err));
        err = ao_add(l, "127.0.2.0", 24, &CMAC, false, false);
        check(err == 0, "basics: cmac(aes128) key for 127.0.2.0/24 beside it: %s", errname(err));
        err = ao_add(l, "127.0.1.0", 24, &K100, false, false);
        check(err == 0, "basics: a second key (KeyID 100) for 127.0.1.0/24: %s", errname(err));
        err = ao_add(l, "127.0.1.0", 24, &(AoKey) { "hmac(sha1)", "x", 1, 7 }, false, false);
        check(err == EEXIST, "basics: a key with a SendID already used for the prefix is refused: %s", errname(err));
        err = ao_add(l, "127.0.0.0", 16, &(AoKey) { "hmac(sha1)", "x", 7, 1 }, false, false);
        check(err == EEXIST, "basics: so is a RecvID used by a key of an overlapping prefix (/16 over /24): %s",
              errname(err));
        err = ao_add(l, "127.0.4.0", 24, &SHA1, false, false);
        check(err == 0, "basics: the same IDs on a disjoint prefix are fine: %s", errname(err));
        err = ao_add(l, "127.0.5.1", 24, &K101, false, false);
        check(err == EINVAL, "basics: an address with bits past its prefix (127.0.5.1/24) is refused: %s", errname(err));
        uint16_t port = server_listen(l);
        Client cs[] = {
                { .name = "hmac(sha1)", .src = "127.0.1.1", .sign = SIGN_AO, .ao = SHA1 },
                { .name = "cmac(aes128)", .src = "127.0.2.1", .sign = SIGN_AO, .ao = CMAC },
                { .name = "the second key (100)", .src = "127.0.1.2", .sign = SIGN_AO, .ao = K100 },
                { .name = "wrong secret", .src = "127.0.1.3", .sign = SIGN_AO, .ao = SHA1_WRONG },
                { .name = "no key (unsigned)", .src = "127.0.1.4", .sign = SIGN_NONE },
                { .name = "unknown KeyID", .src = "127.0.1.5", .sign = SIGN_AO, .ao = SHA1_UNKNOWN_ID },
                { .name = "MD5 with a key the listener lacks", .src = "127.0.1.6", .sign = SIGN_MD5, .md5 = MD5_SECRET },
                { .name = "the cmac key from an hmac prefix", .src = "127.0.1.7", .sign = SIGN_AO, .ao = CMAC },
        };
        const bool want[] = { true, true, true, false, false, false, false, false };
        handshakes(l, port, cs, 8, want);
        for (size_t i = 0; i < 8; i++)
                check(cs[i].connected == want[i], "basics: AO listener, client with %s: %s", cs[i].name,
                      cs[i].connected ? "served" : "no handshake");
        struct tcp_ao_info_opt info;
        err = ao_info(l, &info);
        check(err == 0 && info.pkt_bad >= 1, "basics: the listener counted the wrong secret (pkt_bad %llu)",
              (unsigned long long) info.pkt_bad);
        check(err == 0 && info.pkt_key_not_found >= 1,
              "basics: the listener counted the unknown KeyID (pkt_key_not_found %llu)",
              (unsigned long long) info.pkt_key_not_found);
        check(err == 0 && info.pkt_ao_required >= 1,
              "basics: the listener counted the unsigned SYN (pkt_ao_required %llu)",
              (unsigned long long) info.pkt_ao_required);
        check(err == 0 && info.pkt_good >= 3, "basics: the listener counted good segments (pkt_good %llu)",
              (unsigned long long) info.pkt_good);
        struct tcp_ao_getsockopt keys[8];
        int n = ao_keys(l, keys, 8);
        check(n == 4, "basics: TCP_AO_GET_KEYS lists the listener's 4 keys (%d)", n);
        for (int i = 0; i < n && i < 8; i++) {
                printf("#   key %u/%u %s prefix /%u maclen %u: pkt_good %llu pkt_bad %llu\n", keys[i].sndid,
                       keys[i].rcvid, keys[i].alg_name, keys[i].prefix, keys[i].maclen,
                       (unsigned long long) keys[i].pkt_good, (unsigned long long) keys[i].pkt_bad);
                if (keys[i].sndid != CMAC.sndid)
                        continue;
                /* What a status view gets, and must not print. */
                check(strcmp(keys[i].alg_name, "cmac(aes)") == 0 && keys[i].maclen == 12,
                      "basics: TCP_AO_GET_KEYS names a cmac(aes128) key \"%s\", MAC length %u", keys[i].alg_name,
                      keys[i].maclen);
                check(keys[i].keylen == strlen(CMAC.secret) && memcmp(keys[i].key, CMAC.secret, keys[i].keylen) == 0,
                      "basics: TCP_AO_GET_KEYS hands back the secret itself (%u bytes)", keys[i].keylen);
        }
        close(l);
}

/* exchange: one message each way on an established pair; true if both arrived. */
static bool exchange(int a, int b) {
        char buf[8];
        struct pollfd pa = { .fd = a, .events = POLLIN }, pb = { .fd = b, .events = POLLIN };
        return write(a, "ping", 4) == 4 && poll(&pb, 1, POSITIVE_MS) == 1 && read(b, buf, sizeof buf) == 4 &&
               write(b, "pong", 4) == 4 && poll(&pa, 1, POSITIVE_MS) == 1 && read(a, buf, sizeof buf) == 4;
}

static bool info_is(int fd, int current, int rnext) {
        struct tcp_ao_info_opt info;
        return ao_info(fd, &info) == 0 && info.current_key == current && info.rnext == rnext;
}

/* connect_pair: a client from SRC holding K (and K2 if given, K current
 * and rnext) to listener L; the accepted socket in *RET_S. */
static int connect_pair(int l, uint16_t port, const char *src, const AoKey *k, const AoKey *k2, int *ret_s) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in s = in4(src, 0), d = in4(SERVER, port);
        if (c < 0 || bind(c, (struct sockaddr *) &s, sizeof s) < 0 || ao_add(c, SERVER, 32, k, true, true) != 0 ||
            (k2 && ao_add(c, SERVER, 32, k2, false, false) != 0) || connect(c, (struct sockaddr *) &d, sizeof d) < 0) {
                perror("ao-probe: connect_pair");
                exit(2);
        }
        struct pollfd p = { .fd = l, .events = POLLIN };
        *ret_s = poll(&p, 1, POSITIVE_MS) == 1 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : -1;
        if (*ret_s < 0) {
                fprintf(stderr, "ao-probe: connect_pair: nothing to accept\n");
                exit(2);
        }
        int fl = fcntl(*ret_s, F_GETFL);
        fcntl(*ret_s, F_SETFL, fl & ~O_NONBLOCK);
        return c;
}

/* Rollover on a live connection: RNextKeyID moves both ends from key 100
 * to 101, then 100 goes from both ends while data flows; and a connection
 * keeps working when its only key leaves the listener. */
static void rollover(void) {
        int l = server_socket();
        int err = ao_add(l, "127.0.3.0", 24, &K100, false, false);
        err = err ? err : ao_add(l, "127.0.3.0", 24, &K101, false, false);
        check(err == 0, "rollover: keys 100 (hmac(sha1)) and 101 (cmac(aes128)) on one listener: %s", errname(err));
        uint16_t port = server_listen(l);
        int s, c = connect_pair(l, port, "127.0.3.1", &K100, &K101, &s);
        check(exchange(c, s), "rollover: a connection signed with key 100 carries data");
        check(info_is(c, 100, 100), "rollover: TCP_AO_INFO on the client: current 100, rnext 100");
        check(info_is(s, 100, 100), "rollover: TCP_AO_INFO on the accepted socket: current 100, rnext 100");
        struct tcp_ao_getsockopt keys[4];
        int n = ao_keys(s, keys, 4);
        check(n == 2, "rollover: the accepted socket holds both of the listener's keys for its peer (%d)", n);

        struct tcp_ao_info_opt want = { .set_rnext = 1, .rnext = 101 };
        err = ao_set(c, &want);
        check(err == 0, "rollover: the client asks for key 101 (TCP_AO_INFO set_rnext): %s", errname(err));
        check(exchange(c, s) && info_is(s, 101, 100),
              "rollover: the server sends with key 101 once the client's RNextKeyID says so");
        err = ao_set(s, &want);
        check(err == 0 && exchange(s, c) && exchange(c, s) && info_is(c, 101, 101) && info_is(s, 101, 101),
              "rollover: the server asks for 101 too, and both ends send with 101 (current 101, rnext 101)");
        err = ao_del(c, SERVER, 32, 101, 101);
        check(err == EBUSY, "rollover: the client's current key cannot be deleted: %s", errname(err));
        /* The accepted socket holds copies of the listener's keys: same address and prefix. */
        int e1 = ao_del(c, SERVER, 32, 100, 100), e2 = ao_del(s, "127.0.3.0", 24, 100, 100);
        check(e1 == 0 && e2 == 0, "rollover: key 100 deleted on both ends of the live connection: %s, %s",
              errname(e1), errname(e2));
        err = ao_del(l, "127.0.3.0", 24, 100, 100);
        check(err == 0, "rollover: key 100 deleted on the listener: %s", errname(err));
        bool flows = true;
        for (int i = 0; i < 20 && flows; i++)
                flows = exchange(c, s);
        check(flows, "rollover: data keeps flowing with key 101 alone (20 round trips)");
        n = ao_keys(c, keys, 4);
        check(n == 1 && keys[0].sndid == 101 && keys[0].is_current && keys[0].is_rnext && keys[0].pkt_good > 20,
              "rollover: TCP_AO_GET_KEYS on the client: key 101 only, current and rnext, pkt_good %llu",
              n > 0 ? (unsigned long long) keys[0].pkt_good : 0ULL);
        struct tcp_ao_info_opt info;
        err = ao_info(s, &info);
        check(err == 0 && info.pkt_good > 20 && info.pkt_bad == 0,
              "rollover: TCP_AO_INFO counters on the server: pkt_good %llu, pkt_bad %llu",
              (unsigned long long) info.pkt_good, (unsigned long long) info.pkt_bad);
        close(c);
        close(s);

        /* The listener's only key for a peer leaves; the connection has its own copy. */
        c = connect_pair(l, port, "127.0.3.2", &K101, NULL, &s);
        err = ao_del(l, "127.0.3.0", 24, 101, 101);
        check(err == 0 && exchange(c, s) && exchange(s, c),
              "rollover: a connection keeps working after its key left the listener (%s)", errname(err));
        close(c);
        close(s);
        close(l);
}

/* A dual-stack listener ([::], IPV6_V6ONLY off) keys its IPv4 peers by
 * IPv4-mapped address, the prefix counted in IPv4 bits. */
static void dualstack(void) {
        int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int zero = 0, one = 1;
        struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
        if (l < 0 || setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0 ||
            setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(l, (struct sockaddr *) &any, sizeof any) < 0) {
                perror("ao-probe: dual-stack listener");
                exit(2);
        }
        int err = ao_add(l, "127.0.5.0", 24, &SHA1, false, false);
        check(err == EINVAL, "dual-stack: an AF_INET key on an IPv6 listener is refused: %s", errname(err));
        err = ao_add(l, "::ffff:127.0.5.0", 120, &SHA1, false, false);
        check(err == EINVAL, "dual-stack: an IPv4-mapped key with an IPv6-sized prefix (/120) is refused: %s",
              errname(err));
        err = ao_add(l, "::ffff:127.0.5.0", 24, &SHA1, false, false);
        check(err == 0, "dual-stack: ::ffff:127.0.5.0 with prefix 24 (IPv4 bits) is taken: %s", errname(err));
        uint16_t port = server_listen(l);
        Client cs[] = {
                { .name = "AO from 127.0.5.1", .src = "127.0.5.1", .sign = SIGN_AO, .ao = SHA1 },
                { .name = "unsigned from 127.0.5.2", .src = "127.0.5.2", .sign = SIGN_NONE },
                { .name = "unsigned from 127.0.6.1 (no key)", .src = "127.0.6.1", .sign = SIGN_NONE },
        };
        const bool want[] = { true, false, true };
        handshakes(l, port, cs, 3, want);
        for (size_t i = 0; i < 3; i++)
                check(cs[i].connected == want[i], "dual-stack: IPv4 client %s: %s", cs[i].name,
                      cs[i].connected ? "served" : "no handshake");
        close(l);
}

/* A listener layout: keys added in order, before listen(). */
typedef enum { STEP_END, ADD_AO, ADD_MD5, SET_AO_REQUIRED } StepKind;
typedef struct {
        StepKind kind;
        const char *addr;
        int prefix;
        const AoKey *ao;
        int want; /* errno expected */
} Step;

enum { C_UNSIGNED_A, C_UNSIGNED_M, C_UNSIGNED_O, C_MD5_M, C_MD5_A, C_AO_A, C_AO_WRONG_A, C_AO_UNKNOWN_A, C_AO_O, C_MAX };
typedef struct {
        const char *name;
        Step steps[4];
        const char *served; /* per client C_*: 'Y' handshake completes, '-' it does not */
} Layout;

/* The peers: A is the AO peers' 127.0.1.0/24, M the MD5 peers' 127.0.2.0/24,
 * O (127.1.9.0) outside every prefix. Every key for A is SHA1 (1/1); every MD5 key has MD5_SECRET. */
static const Layout layouts[] = {
        { "AO /24 alone", { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 } }, "-YY--Y---" },
        { "AO /24, ao_required", { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 }, { SET_AO_REQUIRED, NULL, 0, NULL, 0 } },
          "-----Y---" },
        { "AO 0.0.0.0/8 (refused), then AO 0.0.0.0/0: every peer",
          { { ADD_AO, "0.0.0.0", 8, &SHA1, EINVAL }, { ADD_AO, "0.0.0.0", 0, &SHA1, 0 } }, "-----Y--Y" },
        { "AO /24 and MD5 /24, disjoint",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 }, { ADD_MD5, "127.0.2.0", 24, NULL, 0 } }, "--YY-Y---" },
        { "AO /24, then MD5 /16 over it",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 }, { ADD_MD5, "127.0.0.0", 16, NULL, 0 } }, "--YYYY---" },
        { "MD5 /16, then AO /24 inside it",
          { { ADD_MD5, "127.0.0.0", 16, NULL, 0 }, { ADD_AO, "127.0.1.0", 24, &SHA1, EKEYREJECTED } }, "--YYY----" },
        { "MD5 /24, then AO /16 over it",
          { { ADD_MD5, "127.0.2.0", 24, NULL, 0 }, { ADD_AO, "127.0.0.0", 16, &SHA1, 0 } }, "--YY-Y---" },
        { "AO /16, then MD5 /24 inside it",
          { { ADD_AO, "127.0.0.0", 16, &SHA1, 0 }, { ADD_MD5, "127.0.2.0", 24, NULL, EKEYREJECTED } }, "--Y--Y---" },
        { "MD5 127.0.1.128/25, then AO 127.0.1.0/24 over it",
          { { ADD_MD5, "127.0.1.128", 25, NULL, 0 }, { ADD_AO, "127.0.1.0", 24, &SHA1, 0 } }, "-YY--Y---" },
        { "MD5 0.0.0.0/0, then AO /24",
          { { ADD_MD5, "0.0.0.0", 0, NULL, 0 }, { ADD_AO, "127.0.1.0", 24, &SHA1, EKEYREJECTED } }, "---YY----" },
        { "AO /24, then MD5 0.0.0.0/0",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 }, { ADD_MD5, "0.0.0.0", 0, NULL, EKEYREJECTED } }, "-YY--Y---" },
        { "AO /24, MD5 255.255.255.255/0 (a catch-all not at the any-address), then a second AO key for the /24",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 },
            { ADD_MD5, "255.255.255.255", 0, NULL, 0 },
            { ADD_AO, "127.0.1.0", 24, &K100, EKEYREJECTED } },
          "---YYY---" },
        { "AO /24, MD5 /24, then ao_required",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 },
            { ADD_MD5, "127.0.2.0", 24, NULL, 0 },
            { SET_AO_REQUIRED, NULL, 0, NULL, EKEYREJECTED } },
          "--YY-Y---" },
        { "AO /24, ao_required, then MD5 /24",
          { { ADD_AO, "127.0.1.0", 24, &SHA1, 0 },
            { SET_AO_REQUIRED, NULL, 0, NULL, 0 },
            { ADD_MD5, "127.0.2.0", 24, NULL, EKEYREJECTED } },
          "-----Y---" },
};

static const char *client_names[C_MAX] = {
        "unsigned from A", "unsigned from M", "unsigned from O", "MD5 from M", "MD5 from A",
        "AO from A",       "AO wrong secret from A", "AO unknown KeyID from A", "AO from O",
};

static int layout_step(int l, const Step *st) {
        switch (st->kind) {
        case STEP_END: break;
        case ADD_AO: return ao_add(l, st->addr, st->prefix, st->ao, false, false);
        case ADD_MD5: return md5_add(l, st->addr, st->prefix, MD5_SECRET);
        case SET_AO_REQUIRED: {
                struct tcp_ao_info_opt info;
                int err = ao_info(l, &info);
                if (err)
                        return err;
                info.ao_required = 1;
                info.set_current = info.set_rnext = info.set_counters = 0;
                return ao_set(l, &info);
        }
        }
        return EINVAL;
}

static void step_text(const Step *st, char *buf, size_t size) {
        if (st->kind == SET_AO_REQUIRED)
                snprintf(buf, size, "ao_required");
        else if (st->kind == ADD_MD5)
                snprintf(buf, size, "MD5 key %s/%d", st->addr, st->prefix);
        else
                snprintf(buf, size, "AO key %u/%u %s/%d", st->ao->sndid, st->ao->rcvid, st->addr, st->prefix);
}

static void layout_run(const Layout *lay, char *ret_row) {
        int l = server_socket();
        for (size_t i = 0; i < 4 && lay->steps[i].kind != STEP_END; i++) {
                const Step *st = &lay->steps[i];
                char what[64];
                step_text(st, what, sizeof what);
                int err = layout_step(l, st);
                check(err == st->want, "layout \"%s\": %s: %s%s%s", lay->name, what, errname(err),
                      err == st->want ? "" : ", expected ", err == st->want ? "" : errname(st->want));
        }
        uint16_t port = server_listen(l);
        Client cs[C_MAX] = {
                [C_UNSIGNED_A] = { .src = "127.0.1.1", .sign = SIGN_NONE },
                [C_UNSIGNED_M] = { .src = "127.0.2.1", .sign = SIGN_NONE },
                [C_UNSIGNED_O] = { .src = "127.1.9.1", .sign = SIGN_NONE },
                [C_MD5_M] = { .src = "127.0.2.2", .sign = SIGN_MD5, .md5 = MD5_SECRET },
                [C_MD5_A] = { .src = "127.0.1.2", .sign = SIGN_MD5, .md5 = MD5_SECRET },
                [C_AO_A] = { .src = "127.0.1.3", .sign = SIGN_AO, .ao = SHA1 },
                [C_AO_WRONG_A] = { .src = "127.0.1.4", .sign = SIGN_AO, .ao = SHA1_WRONG },
                [C_AO_UNKNOWN_A] = { .src = "127.0.1.5", .sign = SIGN_AO, .ao = SHA1_UNKNOWN_ID },
                [C_AO_O] = { .src = "127.1.9.2", .sign = SIGN_AO, .ao = SHA1 },
        };
        bool want[C_MAX];
        for (int i = 0; i < C_MAX; i++) {
                cs[i].name = client_names[i];
                want[i] = lay->served[i] == 'Y';
        }
        handshakes(l, port, cs, C_MAX, want);
        for (int i = 0; i < C_MAX; i++) {
                ret_row[i] = cs[i].connected ? 'Y' : '-';
                check(cs[i].connected == want[i], "layout \"%s\": %s: %s", lay->name, client_names[i],
                      cs[i].connected ? "served" : "no handshake");
        }
        ret_row[C_MAX] = '\0';
        close(l);
}

static void layouts_all(void) {
        size_t n = sizeof layouts / sizeof layouts[0];
        char rows[sizeof layouts / sizeof layouts[0]][C_MAX + 1];
        for (size_t i = 0; i < n; i++)
                layout_run(&layouts[i], rows[i]);
        printf("# Handshakes per layout (Y served, - not). A = 127.0.1.0/24, M = 127.0.2.0/24, O = 127.1.9.0 outside every prefix.\n#");
        for (int i = 0; i < C_MAX; i++)
                printf(" %d=%s;", i + 1, client_names[i]);
        printf("\n");
        for (size_t i = 0; i < n; i++)
                printf("#   %s  %s\n", rows[i], layouts[i].name);
}

int main(int argc, char **argv) {
        const char *all[] = { "basics", "rollover", "dualstack", "layouts" };
        const char **parts = argc > 1 ? (const char **) argv + 1 : all;
        int n = argc > 1 ? argc - 1 : 4;
        for (int i = 0; i < n; i++) {
                if (strcmp(parts[i], "basics") == 0)
                        basics();
                else if (strcmp(parts[i], "rollover") == 0)
                        rollover();
                else if (strcmp(parts[i], "dualstack") == 0)
                        dualstack();
                else if (strcmp(parts[i], "layouts") == 0)
                        layouts_all();
                else if (strcmp(parts[i], "attempts") == 0 && n == 1)
                        attempts();
                else {
                        fprintf(stderr, "usage: ao-probe [basics|rollover|dualstack|layouts]... | ao-probe attempts < LIST\n");
                        return 64;
                }
        }
        return failed;
}
