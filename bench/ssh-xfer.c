/* What ssh does with its connection, three ways: one process writes BYTES
 * and reads the echo back, interleaved with poll(), over
 *   fdpass  the socket a proxy command passes back (ProxyUseFdpass: a
 *           socketpair on the command's stdin/stdout, the fd received
 *           after the command has exited),
 *   relay   two pipes to a proxy command that stays (ProxyCommand),
 *   direct  a socket of its own with the TCP MD5 key set (the limit).
 * The time runs from the first byte written until the last byte is back:
 * the data path, not the start-up (for the relay it includes its connect,
 * a few milliseconds, since the first bytes wait in its pipe).
 *
 * usage: ssh-xfer fdpass|relay BYTES COMMAND [ARG]...
 *        ssh-xfer direct BYTES KEYFILE IPV4 PORT
 *        ssh-xfer -r ROUNDS fdpass BYTES COMMAND [ARG]... [--also COMMAND [ARG]...]...
 * prints "MiB/s=N". With -r, one socket from each COMMAND (all taken
 * first), then ROUNDS rounds of one echo of BYTES over each, in turn,
 * starting with the next one each round: sockets signed in different ways
 * compared a moment apart, on a machine whose load drifts. Prints
 * "conn=I MiB/s=N" per echo, I counting the COMMANDs from 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static double t_start, t_end; /* first byte written, last byte back */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
        perror(what);
        exit(1);
}

static pid_t spawn(char **argv, int in, int out) {
        pid_t pid = fork();
        if (pid < 0)
                die("ssh-xfer: fork");
        if (pid == 0) {
                if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static int receive_fd(int sock) {
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof control.buf };
        if (recvmsg(sock, &msg, 0) != 1)
                die("ssh-xfer: recvmsg");
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                die("ssh-xfer: no fd passed");
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        return fd;
}

static int connect_direct(const char *keyfile, const char *ip, const char *port) {
        struct tcp_md5sig sig = { 0 };
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(port)) };
        FILE *f = fopen(keyfile, "r");
        if (!f || inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
                die("ssh-xfer: key file or address");
        size_t n = fread(sig.tcpm_key, 1, sizeof sig.tcpm_key, f);
        fclose(f);
        if (n > 0 && sig.tcpm_key[n - 1] == '\n')
                n--;
        sig.tcpm_keylen = (uint16_t) n;
        memcpy(&sig.tcpm_addr, &sin, sizeof sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) < 0 ||
            connect(fd, (struct sockaddr *) &sin, sizeof sin) < 0)
                die("ssh-xfer: direct connect");
        return fd;
}

/* Writes total bytes to wfd while reading them back from rfd. */
static void transfer(int wfd, int rfd, unsigned long long total) {
        static char out[CHUNK], in[CHUNK];
        unsigned long long sent = 0, got = 0;
        memset(out, 'x', sizeof out);
        t_start = now_s();
        fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
        fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
        while (got < total) {
                struct pollfd p[2] = { { .fd = rfd, .events = POLLIN }, { .fd = sent < total ? wfd : -1, .events = POLLOUT } };
                if (poll(p, 2, 30000) <= 0)
                        die("ssh-xfer: poll (stalled 30 s?)");
                if (p[1].revents) {
                        size_t n = total - sent < CHUNK ? (size_t) (total - sent) : CHUNK;
                        ssize_t k = write(wfd, out, n);
                        if (k < 0 && errno != EAGAIN)
                                die("ssh-xfer: write");
                        if (k > 0)
                                sent += (unsigned long long) k;
                }
                if (p[0].revents) {
                        ssize_t k = read(rfd, in, sizeof in);
                        if (k == 0) {
                                fprintf(stderr, "ssh-xfer: EOF after %llu of %llu bytes\n", got, total);
                                exit(1);
                        }
                        if (k < 0 && errno != EAGAIN)
                                die("ssh-xfer: read");
                        if (k > 0)
                                got += (unsigned long long) k;
                }
        }
        t_end = now_s();
}

/* The socket COMMAND passes back, as ssh takes it (ProxyUseFdpass). */
static int fdpass_socket(char **command) {
        int sp[2], status;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                die("ssh-xfer: socketpair");
        pid_t pid = spawn(command, sp[1], sp[1]);
        close(sp[1]);
        /* As ssh: the command must have exited before the fd is taken. */
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "ssh-xfer: the proxy command %s failed\n", command[0]);
                exit(1);
        }
        int fd = receive_fd(sp[0]);
        close(sp[0]);
        return fd;
}

#define MAX_CONNS 8

/* -r: argv is fdpass BYTES COMMAND... [--also COMMAND...]... */
static int rounds_main(int rounds, int argc, char **argv) {
        if (argc < 3 || strcmp(argv[0], "fdpass") != 0)
                return fprintf(stderr, "ssh-xfer: -r takes fdpass only\n"), 64;
        unsigned long long total = strtoull(argv[1], NULL, 10);
        int fds[MAX_CONNS], n = 0;
        char **cmd = argv + 2;
        for (int i = 2; i <= argc; i++) {
                if (i < argc && strcmp(argv[i], "--also") != 0)
                        continue;
                argv[i] = NULL; /* ends this COMMAND (argv[argc] is NULL already) */
                if (n == MAX_CONNS || cmd[0] == NULL)
                        return fprintf(stderr, "ssh-xfer: 1 to %d COMMANDs\n", MAX_CONNS), 64;
                fds[n++] = fdpass_socket(cmd);
                cmd = argv + i + 1;
        }
        for (int k = 0; k < rounds; k++)
                for (int j = 0; j < n; j++) {
                        int c = (k + j) % n;
                        transfer(fds[c], fds[c], total);
                        printf("conn=%d MiB/s=%.1f\n", c, (double) total / 1048576.0 / (t_end - t_start));
                        fflush(stdout);
                }
        return 0;
}

int main(int argc, char **argv) {
        if (argc > 2 && strcmp(argv[1], "-r") == 0)
                return rounds_main(atoi(argv[2]), argc - 3, argv + 3);
        if (argc < 4) {
                fprintf(stderr, "usage: ssh-xfer fdpass|relay BYTES COMMAND [ARG]... | direct BYTES KEYFILE IPV4 PORT\n");
                return 64;
        }
        unsigned long long total = strtoull(argv[2], NULL, 10);
        if (strcmp(argv[1], "direct") == 0 && argc == 6) {
                int fd = connect_direct(argv[3], argv[4], argv[5]);
                transfer(fd, fd, total);
                close(fd);
        } else if (strcmp(argv[1], "fdpass") == 0) {
                int fd = fdpass_socket(argv + 3);
                transfer(fd, fd, total);
                close(fd);
        } else if (strcmp(argv[1], "relay") == 0) {
                int in[2], out[2];
                if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                        die("ssh-xfer: pipe");
                pid_t pid = spawn(argv + 3, in[0], out[1]);
                close(in[0]);
                close(out[1]);
                transfer(in[1], out[0], total);
                close(in[1]);
                close(out[0]);
                waitpid(pid, NULL, 0);
        } else {
                fprintf(stderr, "ssh-xfer: unknown mode %s\n", argv[1]);
                return 64;
        }
        double t = t_end - t_start;
        printf("MiB/s=%.1f\n", (double) total / 1048576.0 / t);
        return 0;
}
