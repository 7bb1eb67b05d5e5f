/* Test helper: forges TCP segments on IPv4 loopback through a raw socket
 * (SOCK_RAW, IPPROTO_RAW: the only way found that really delivers on lo).
 *
 *   rst-inject rst [-k KEYFILE] [-o OFFSET] -d server|client HOST PORT
 *       Connects to HOST:PORT (signed with -k), echoes "ping1" while an
 *       AF_PACKET socket on lo watches both directions, then forges an
 *       unsigned RST carrying the exact next sequence number, from the
 *       client to the server (-d server) or the other way (-d client), and
 *       echoes "ping2". -o adds OFFSET to the sequence number (an in-window
 *       but inexact RST only earns a challenge ACK, RFC 5961). Exit 0: the connection survived; 2: it was reset;
 *       1: the experiment itself failed.
 *   rst-inject syn [-m] [-n COUNT] [-u USEC] SRC DST PORT
 *       Sends COUNT SYNs from SRC (random source ports), unsigned or with
 *       a TCP MD5 option holding a random digest (-m), sleeping USEC after
 *       every 100. Prints how many were sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "md5sig.h"
#include "secret.h"

/* One direction of the connection as seen on the wire. */
typedef struct Flow {
        struct sockaddr_in src, dst;
        uint32_t nxt;  /* highest seq + payload seen: the peer's rcv_nxt */
        bool seen;
} Flow;

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
        const uint8_t *p = data;
        for (; len > 1; p += 2, len -= 2)
                sum += (uint32_t) (p[0] << 8 | p[1]);
        if (len)
                sum += (uint32_t) (p[0] << 8);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

static uint16_t tcp_csum(const struct iphdr *ip, const void *tcp, size_t len) {
        struct {
                uint32_t src, dst;
                uint8_t zero, proto;
                uint16_t len;
        } __attribute__((packed)) ph = { ip->saddr, ip->daddr, 0, IPPROTO_TCP, htons((uint16_t) len) };
        uint8_t buf[sizeof ph + 60];
        memcpy(buf, &ph, sizeof ph);
        memcpy(buf + sizeof ph, tcp, len);
        return htons(csum(buf, sizeof ph + len, 0));
}

/* Sends one IPv4 TCP segment with the given flags and options. */
static int send_segment(int raw, const struct sockaddr_in *src, const struct sockaddr_in *dst, uint32_t seq,
                        uint32_t ack, uint8_t flags, const uint8_t *opts, size_t optlen) {
        uint8_t pkt[20 + 20 + 40] = { 0 };
        struct iphdr *ip = (struct iphdr *) pkt;
        struct tcphdr *th = (struct tcphdr *) (pkt + 20);
        size_t tcplen = 20 + optlen;
        *ip = (struct iphdr) { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_TCP,
                               .tot_len = htons((uint16_t) (20 + tcplen)), .saddr = src->sin_addr.s_addr,
                               .daddr = dst->sin_addr.s_addr };
        th->source = src->sin_port;
        th->dest = dst->sin_port;
        th->seq = htonl(seq);
        th->ack_seq = htonl(ack);
        th->doff = (uint16_t) (tcplen / 4);
        th->th_flags = flags;
        th->window = htons(65535);
        if (optlen)
                memcpy(pkt + 40, opts, optlen);
        th->check = tcp_csum(ip, th, tcplen);
        ip->check = htons(csum(ip, 20, 0));
        if (sendto(raw, pkt, 20 + tcplen, 0, (const struct sockaddr *) dst, sizeof *dst) < 0)
                return -errno;
        return 0;
}

static int connect_to(const char *host, const char *port, const char *keyfile) {
        struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(port)) };
        struct timeval tv = { .tv_sec = 3 };
        if (inet_pton(AF_INET, host, &peer.sin_addr) != 1)
                return -EINVAL;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (keyfile) {
                Secret s;
                const char *problem;
                int r = secret_load_file(keyfile, &s, &problem);
                if (r == 0)
                        r = md5sig_add_peer(fd, (struct sockaddr *) &peer, sizeof peer, &s);
                secret_wipe(&s);
                if (r < 0)
                        return r;
        }
        if (connect(fd, (struct sockaddr *) &peer, sizeof peer) < 0)
                return -errno;
        return fd;
}

/* Writes msg and reads it back; -errno, or -EPIPE for an early EOF. */
static int echo(int fd, const char *msg) {
        size_t n = strlen(msg), got = 0;
        char buf[64];
        if (write(fd, msg, n) != (ssize_t) n)
                return -errno;
        while (got < n) {
                ssize_t k = read(fd, buf + got, n - got);
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EPIPE;
                got += (size_t) k;
        }
        return memcmp(buf, msg, n) == 0 ? 0 : -EBADMSG;
}

static int sniffer_open(void) {
        int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
        if (fd < 0)
                return -errno;
        struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                                  .sll_ifindex = (int) if_nametoindex("lo") };
        if (bind(fd, (struct sockaddr *) &ll, sizeof ll) < 0)
                return -errno;
        return fd;
}

static bool same(const struct sockaddr_in *a, uint32_t addr, uint16_t port) {
        return a->sin_addr.s_addr == addr && a->sin_port == port;
}

/* Reads what the sniffer queued (until 100 ms of quiet) into the flows. */
static void sniff(int fd, Flow flows[2]) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint8_t pkt[65536];
        while (poll(&p, 1, 100) > 0) {
                ssize_t k = recv(fd, pkt, sizeof pkt, 0);
                const struct iphdr *ip = (const struct iphdr *) pkt;
                if (k < 40 || ip->protocol != IPPROTO_TCP)
                        continue;
                const struct tcphdr *th = (const struct tcphdr *) (pkt + ip->ihl * 4);
                size_t payload = (size_t) ntohs(ip->tot_len) - ip->ihl * 4u - th->doff * 4u;
                uint32_t end = ntohl(th->seq) + (uint32_t) payload + (th->syn || th->fin);
                for (int i = 0; i < 2; i++)
                        if (same(&flows[i].src, ip->saddr, th->source) && same(&flows[i].dst, ip->daddr, th->dest) &&
                            (!flows[i].seen || (int32_t) (end - flows[i].nxt) > 0)) {
                                flows[i].nxt = end;
                                flows[i].seen = true;
                        }
        }
}

static int do_rst(int argc, char **argv) {
        const char *key = NULL, *dir = NULL;
        uint32_t offset = 0;
        int c, r;
        while ((c = getopt(argc, argv, "k:d:o:")) >= 0)
                switch (c) {
                case 'k': key = optarg; break;
                case 'o': offset = (uint32_t) strtoul(optarg, NULL, 10); break;
                case 'd': dir = optarg; break;
                default: return 1;
                }
        if (argc - optind != 2 || !dir || (strcmp(dir, "server") && strcmp(dir, "client")))
                return fprintf(stderr, "usage: rst-inject rst [-k KEY] [-o OFFSET] -d server|client HOST PORT\n"), 1;
        int sniffer = sniffer_open(), raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
        if (sniffer < 0 || raw < 0)
                return fprintf(stderr, "rst-inject: sniffer or raw socket: %s\n", strerror(errno)), 1;
        int fd = connect_to(argv[optind], argv[optind + 1], key);
        if (fd < 0)
                return fprintf(stderr, "rst-inject: connect: %s\n", strerror(-fd)), 1;
        Flow f[2] = { 0 }; /* [0] client -> server, [1] server -> client */
        socklen_t len = sizeof f[0].src;
        getsockname(fd, (struct sockaddr *) &f[0].src, &len);
        len = sizeof f[0].dst;
        getpeername(fd, (struct sockaddr *) &f[0].dst, &len);
        f[1].src = f[0].dst;
        f[1].dst = f[0].src;
        if ((r = echo(fd, "ping1")) < 0)
                return fprintf(stderr, "rst-inject: first echo: %s\n", strerror(-r)), 1;
        sniff(sniffer, f);
        if (!f[0].seen || !f[1].seen)
                return fprintf(stderr, "rst-inject: saw no segments of the connection on lo\n"), 1;
        const Flow *from = strcmp(dir, "server") == 0 ? &f[0] : &f[1], *back = from == &f[0] ? &f[1] : &f[0];
        if ((r = send_segment(raw, &from->src, &from->dst, from->nxt + offset, back->nxt, TH_RST | TH_ACK, NULL, 0)) < 0)
                return fprintf(stderr, "rst-inject: send: %s\n", strerror(-r)), 1;
        printf("injected RST toward the %s: seq=%u ack=%u\n", dir, from->nxt + offset, back->nxt);
        usleep(200 * 1000);
        r = echo(fd, "ping2");
        if (r == 0)
                return printf("survived\n"), 0;
        printf("reset: %s\n", strerror(-r));
        return 2;
}

static int do_syn(int argc, char **argv) {
        unsigned long count = 1000, usec = 0;
        bool md5 = false;
        int c;
        while ((c = getopt(argc, argv, "mn:u:")) >= 0)
                switch (c) {
                case 'm': md5 = true; break;
                case 'n': count = strtoul(optarg, NULL, 10); break;
                case 'u': usec = strtoul(optarg, NULL, 10); break;
                default: return 1;
                }
        if (argc - optind != 3)
                return fprintf(stderr, "usage: rst-inject syn [-m] [-n COUNT] [-u USEC] SRC DST PORT\n"), 1;
        struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
        if (inet_pton(AF_INET, argv[optind], &src.sin_addr) != 1 || inet_pton(AF_INET, argv[optind + 1], &dst.sin_addr) != 1)
                return 1;
        dst.sin_port = htons((uint16_t) atoi(argv[optind + 2]));
        int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
        if (raw < 0)
                return perror("raw socket"), 1;
        unsigned long sent = 0;
        for (; sent < count; sent++) {
                uint8_t opts[20] = { TCPOPT_NOP, TCPOPT_NOP, 19 /* TCPOPT_MD5SIG */, 18 };
                uint32_t rnd[2];
                if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd || (md5 && getrandom(opts + 4, 16, 0) != 16))
                        return 1;
                src.sin_port = htons((uint16_t) (1024 + rnd[0] % 64000));
                int r = send_segment(raw, &src, &dst, rnd[1], 0, TH_SYN, md5 ? opts : NULL, md5 ? 20 : 0);
                if (r < 0)
                        return fprintf(stderr, "rst-inject: send: %s\n", strerror(-r)), 1;
                if (usec && sent % 100 == 99)
                        usleep((useconds_t) usec);
        }
        printf("sent %lu\n", sent);
        return 0;
}

int main(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "rst") == 0)
                return do_rst(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "syn") == 0)
                return do_syn(argc - 1, argv + 1);
        fprintf(stderr, "usage: rst-inject rst|syn ...\n");
        return 1;
}
