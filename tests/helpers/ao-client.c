/* ao-client: TCP-AO clients for the live-rollover test (tests/vm/
 * ao-reload.sh), all in one process (a process start costs ~50x under
 * TCG). It connects over and over to an echo server, each time with the key
 * the test names, and counts per phase; beside that it can hold one
 * connection open and report its TCP-AO state.
 *
 *   ao-client once SERVER PORT SRC TIMEOUT_MS KEY
 *       one connection and a round trip: exit 0 if served, 1 if not
 *   ao-client drive CONTROL STATUS SERVER PORT SRC KEY1 KEY2
 *       runs the commands the test writes into CONTROL, one line
 *       "SEQ COMMAND ARGS" (a new SEQ is a new command), and appends
 *       "SEQ done ..." to STATUS when each is done:
 *         SEQ phase NAME K MIN   loop connections with key K (1 or 2),
 *                                counted under NAME; done after MIN served
 *         SEQ hold-open          one connection held: KEY1 current, KEY2 too
 *         SEQ hold-exchange N    N round trips on it; prints what it saw
 *         SEQ hold-rnext K       ask the server for key K (RNextKeyID)
 *         SEQ hold-del K         delete key K on our end; prints the errno
 *         SEQ hold-drop K        the same, moving our current key and RNext
 *                                to the other key as it goes
 *         SEQ stop               prints "phase NAME key K ok N fail M slow S"
 *                                for every phase on stdout, exits 0
 *       Bounded: it stops by itself after 240 s or 200000 connections.
 *
 * KEY is ALG:SENDID:RECVID:SECRETFILE. A connection fails when its
 * handshake or its round trip takes more than 3 s; one slower than 0.9 s
 * counts as slow (a dropped SYN comes back after 1 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp-ao.h"

#define FAIL_MS 3000
#define SLOW_MS 900
#define MAX_SECONDS 240
#define MAX_CONNECTIONS 200000
#define MAX_PHASES 16

typedef struct Key {
        char alg[64];
        uint8_t sndid, rcvid;
        char secret[TCP_AO_MAXKEYLEN];
        uint8_t len;
} Key;

typedef struct Phase {
        char name[32];
        int key;
        unsigned long ok, fail, slow, min;
} Phase;

static struct sockaddr_in server, source;
static Key keys[3];

static _Noreturn void die(const char *what) {
        fprintf(stderr, "ao-client: %s: %s\n", what, strerror(errno));
        exit(2);
}

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void parse_key(const char *spec, Key *k) {
        char path[4096];
        unsigned s, r;
        if (sscanf(spec, "%63[^:]:%u:%u:%4095s", k->alg, &s, &r, path) != 4 || s > 255 || r > 255) {
                fprintf(stderr, "ao-client: bad key %s (ALG:SENDID:RECVID:SECRETFILE)\n", spec);
                exit(2);
        }
        k->sndid = (uint8_t) s;
        k->rcvid = (uint8_t) r;
        FILE *f = fopen(path, "re");
        if (!f || !fgets(k->secret, sizeof k->secret, f))
                die(path);
        fclose(f);
        k->secret[strcspn(k->secret, "\n")] = 0;
        k->len = (uint8_t) strlen(k->secret);
}

static void parse_addr(const char *ip, uint16_t port, struct sockaddr_in *ret) {
        *ret = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port) };
        if (inet_pton(AF_INET, ip, &ret->sin_addr) != 1) {
                fprintf(stderr, "ao-client: bad address %s\n", ip);
                exit(2);
        }
}

static int key_add(int fd, const Key *k, bool current) {
        struct tcp_ao_add a = { .prefix = 32, .sndid = k->sndid, .rcvid = k->rcvid, .set_current = current,
                                .set_rnext = current, .keylen = k->len };
        struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr = server.sin_addr };
        memcpy(&a.addr, &peer, sizeof peer);
        snprintf(a.alg_name, sizeof a.alg_name, "%s", k->alg);
        memcpy(a.key, k->secret, k->len);
        return setsockopt(fd, IPPROTO_TCP, TCP_AO_ADD_KEY, &a, sizeof a) < 0 ? -errno : 0;
}

static bool wait_fd(int fd, short events, long deadline) {
        struct pollfd p = { .fd = fd, .events = events };
        long left = deadline - now_ms();
        return left > 0 && poll(&p, 1, (int) left) == 1 && !(p.revents & (POLLERR | POLLNVAL));
}

/* A round trip of 4 bytes on fd. */
static bool round_trip(int fd, long deadline) {
        char buf[4];
        size_t got = 0;
        if (write(fd, "ping", 4) != 4)
                return false;
        while (got < 4 && wait_fd(fd, POLLIN, deadline)) {
                ssize_t n = read(fd, buf + got, 4 - got);
                if (n <= 0)
                        return false;
                got += (size_t) n;
        }
        return got == 4 && memcmp(buf, "ping", 4) == 0;
}

/* A connected socket holding `current` (and `also`, if not NULL), or -1
 * when no handshake completes by the deadline. */
static int connect_with(const Key *current, const Key *also, long deadline) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &source, sizeof source) < 0)
                die("socket");
        if (key_add(fd, current, true) < 0 || (also && key_add(fd, also, false) < 0))
                die("TCP_AO_ADD_KEY");
        int err = 0;
        socklen_t len = sizeof err;
        if ((connect(fd, (struct sockaddr *) &server, sizeof server) < 0 && errno != EINPROGRESS) ||
            !wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
                close(fd);
                return -1;
        }
        return fd;
}

/* One client: 0 served, 1 slow, -1 not served. */
static int one(const Key *k, long fail_ms) {
        long start = now_ms(), deadline = start + fail_ms;
        int fd = connect_with(k, NULL, deadline);
        bool ok = fd >= 0 && round_trip(fd, deadline);
        if (fd >= 0)
                close(fd);
        return !ok ? -1 : now_ms() - start > SLOW_MS ? 1 : 0;
}

/* ---- drive: the commands of the test ---- */

static int held = -1;

__attribute__((format(printf, 2, 3))) static void say(FILE *status, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(status, fmt, ap);
        va_end(ap);
        fputc('\n', status);
        fflush(status);
}

/* The per-key receive counters of the held connection, and its current
 * key and RNext. */
static void held_state(char *buf, size_t size) {
        struct tcp_ao_getsockopt k[4];
        struct tcp_ao_info_opt info;
        socklen_t len = sizeof k[0], ilen = sizeof info;
        memset(k, 0, sizeof k);
        memset(&info, 0, sizeof info);
        k[0].nkeys = 4;
        k[0].get_all = 1;
        int n = getsockopt(held, IPPROTO_TCP, TCP_AO_GET_KEYS, k, &len) < 0 ? -errno : (int) k[0].nkeys;
        int r = getsockopt(held, IPPROTO_TCP, TCP_AO_INFO, &info, &ilen) < 0 ? -errno : 0;
        size_t off = (size_t) snprintf(buf, size, "current %u rnext %u keys %d", r ? 0 : info.current_key,
                                       r ? 0 : info.rnext, n);
        for (int i = 0; i < n && i < 4 && off < size; i++)
                off += (size_t) snprintf(buf + off, size - off, " key%u_good %llu", k[i].sndid,
                                         (unsigned long long) k[i].pkt_good);
        explicit_bzero(k, sizeof k);
}

static void hold_command(FILE *status, unsigned long seq, const char *cmd, int arg) {
        char state[256];
        if (strcmp(cmd, "hold-open") == 0) {
                held = connect_with(&keys[1], &keys[2], now_ms() + FAIL_MS);
                bool ok = held >= 0 && round_trip(held, now_ms() + FAIL_MS);
                if (held >= 0)
                        held_state(state, sizeof state);
                say(status, "%lu done %s %s", seq, ok ? "ok" : "fail", held >= 0 ? state : "");
        } else if (strcmp(cmd, "hold-exchange") == 0) {
                int good = 0;
                for (int i = 0; i < arg && held >= 0; i++)
                        good += round_trip(held, now_ms() + FAIL_MS);
                held_state(state, sizeof state);
                say(status, "%lu done %s %d/%d %s", seq, good == arg ? "ok" : "fail", good, arg, state);
        } else if (strcmp(cmd, "hold-rnext") == 0) {
                struct tcp_ao_info_opt want = { .set_rnext = 1, .rnext = keys[arg].rcvid };
                int r = setsockopt(held, IPPROTO_TCP, TCP_AO_INFO, &want, sizeof want) < 0 ? errno : 0;
                say(status, "%lu done %s", seq, r ? strerror(r) : "ok");
        } else if (strcmp(cmd, "hold-del") == 0 || strcmp(cmd, "hold-drop") == 0) {
                bool move = strcmp(cmd, "hold-drop") == 0;
                const Key *other = &keys[arg == 1 ? 2 : 1];
                struct tcp_ao_del d = { .prefix = 32, .sndid = keys[arg].sndid, .rcvid = keys[arg].rcvid,
                                        .set_current = move, .set_rnext = move, .current_key = other->sndid,
                                        .rnext = other->rcvid };
                struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr = server.sin_addr };
                memcpy(&d.addr, &peer, sizeof peer);
                int r = setsockopt(held, IPPROTO_TCP, TCP_AO_DEL_KEY, &d, sizeof d) < 0 ? errno : 0;
                say(status, "%lu done %s", seq, r == 0 ? "ok" : r == EBUSY ? "EBUSY" : strerror(r));
        } else
                say(status, "%lu done unknown command %s", seq, cmd);
}

/* The command in CONTROL when its SEQ is new: 1, else 0. */
static int read_control(const char *path, unsigned long *seq, char cmd[32], char name[32], int *a, unsigned long *b) {
        char line[256];
        unsigned long s;
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        bool got = fgets(line, sizeof line, f) != NULL;
        fclose(f);
        name[0] = 0;
        *a = 0;
        *b = 0;
        if (!got || sscanf(line, "%lu %31s", &s, cmd) != 2 || s == *seq)
                return 0;
        if (strcmp(cmd, "phase") == 0 && sscanf(line, "%*u %*s %31s %d %lu", name, a, b) != 3)
                return 0; /* half written: read again */
        if (strncmp(cmd, "hold-", 5) == 0 && strcmp(cmd, "hold-open") != 0 && sscanf(line, "%*u %*s %d", a) != 1)
                return 0;
        bool counted = strcmp(cmd, "hold-exchange") == 0;
        if (*a < 0 || *a > (counted ? 1000 : 2))
                return 0;
        *seq = s;
        return 1;
}

static int drive(const char *control, const char *status_path) {
        Phase phases[MAX_PHASES];
        size_t n = 0;
        Phase *cur = NULL;
        unsigned long seq = 0, total = 0, b;
        char cmd[32], name[32];
        int a;
        FILE *status = fopen(status_path, "ae");
        if (!status)
                die(status_path);
        long end = now_ms() + MAX_SECONDS * 1000L;
        while (now_ms() < end && total < MAX_CONNECTIONS) {
                if (read_control(control, &seq, cmd, name, &a, &b)) {
                        if (strcmp(cmd, "stop") == 0)
                                break;
                        if (strcmp(cmd, "phase") == 0 && n < MAX_PHASES && (a == 1 || a == 2)) {
                                cur = &phases[n++];
                                *cur = (Phase) { .key = a, .min = b };
                                snprintf(cur->name, sizeof cur->name, "%s", name);
                                /* Its "done" comes once MIN are served. */
                        } else if (strcmp(cmd, "phase") != 0)
                                hold_command(status, seq, cmd, a);
                }
                if (!cur) {
                        usleep(20000);
                        continue;
                }
                int r = one(&keys[cur->key], FAIL_MS);
                total++;
                cur->ok += r >= 0;
                cur->fail += r < 0;
                cur->slow += r > 0;
                if (cur->min && cur->ok == cur->min)
                        say(status, "%lu done phase %s served %lu", seq, cur->name, cur->ok);
        }
        for (size_t i = 0; i < n; i++)
                printf("phase %s key %d ok %lu fail %lu slow %lu\n", phases[i].name, phases[i].key, phases[i].ok,
                       phases[i].fail, phases[i].slow);
        say(status, "%lu done stop", seq);
        fclose(status);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 7 && strcmp(argv[1], "once") == 0) {
                parse_addr(argv[2], (uint16_t) atoi(argv[3]), &server);
                parse_addr(argv[4], 0, &source);
                parse_key(argv[6], &keys[1]);
                return one(&keys[1], atol(argv[5])) < 0;
        }
        if (argc == 9 && strcmp(argv[1], "drive") == 0) {
                parse_addr(argv[4], (uint16_t) atoi(argv[5]), &server);
                parse_addr(argv[6], 0, &source);
                parse_key(argv[7], &keys[1]);
                parse_key(argv[8], &keys[2]);
                return drive(argv[2], argv[3]);
        }
        fprintf(stderr, "usage: ao-client once SERVER PORT SRC TIMEOUT_MS KEY\n"
                        "       ao-client drive CONTROL STATUS SERVER PORT SRC KEY1 KEY2\n");
        return 2;
}
