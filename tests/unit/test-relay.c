/* Unit tests for the relay: every kind of end it meets (pipe, regular file,
 * O_APPEND file, socket, character device), half-close in both directions,
 * and errors after data has flowed. The peer is a forked echo process on
 * the other end of a socketpair. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "relay.h"

#define BIG (6u << 20)

static uint8_t *data;

static int setup(void **state) {
        (void) state;
        signal(SIGPIPE, SIG_IGN);
        data = malloc(BIG);
        if (!data)
                return -1;
        uint32_t x = 2463534242u; /* xorshift: incompressible, reproducible */
        for (size_t i = 0; i < BIG; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                data[i] = (uint8_t) x;
        }
        return 0;
}
static int teardown(void **state) {
        (void) state;
        free(data);
        return 0;
}

static void write_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k <= 0)
                        _exit(3);
                p = (const uint8_t *) p + k;
                n -= (size_t) k;
        }
}

/* Children keep only their own fds: an inherited pipe end would hold an
 * EOF back forever. */
static void close_others(int keep1, int keep2) {
        for (int fd = 3; fd < 1024; fd++)
                if (fd != keep1 && fd != keep2)
                        close(fd);
}

/* A child that echoes fd (all at once after EOF if after_eof), then half-closes. */
static pid_t spawn_echo(int fd, bool after_eof) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid > 0)
                return pid;
        close_others(fd, -1);
        static uint8_t buf[BIG];
        size_t n = 0;
        ssize_t k;
        while ((k = read(fd, buf + n, after_eof ? BIG - n : 65536)) > 0) {
                if (!after_eof)
                        write_all(fd, buf, (size_t) k);
                else
                        n += (size_t) k;
        }
        write_all(fd, buf, n);
        shutdown(fd, SHUT_WR);
        _exit(k == 0 ? 0 : 2);
}

static pid_t spawn_writer(int fd, const void *p, size_t n) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close_others(fd, -1);
                write_all(fd, p, n);
                _exit(0);
        }
        close(fd);
        return pid;
}

/* Reads fd to EOF into a temporary file; returns its fd after the child ends. */
static pid_t spawn_reader(int fd, int file) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close_others(fd, file);
                static uint8_t buf[65536];
                ssize_t k;
                while ((k = read(fd, buf, sizeof buf)) > 0)
                        write_all(file, buf, (size_t) k);
                _exit(k == 0 ? 0 : 2);
        }
        close(fd);
        return pid;
}

static int child_status(pid_t pid) {
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int temp_file(const void *p, size_t n, int flags) {
        char path[] = "/tmp/tcpmd5-relay.XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC | flags);
        assert_true(fd >= 0);
        unlink(path);
        if (n)
                write_all(fd, p, n);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void assert_file_holds(int fd, off_t at, const void *p, size_t n) {
        uint8_t *got = malloc(n + 1);
        assert_non_null(got);
        assert_int_equal(pread(fd, got, n + 1, at), (ssize_t) n);
        assert_memory_equal(got, p, n);
        free(got);
}

/* A socketpair: sv[0] for the relay, sv[1] for the echo child. */
static int peer(bool after_eof, pid_t *ret_pid) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        *ret_pid = spawn_echo(sv[1], after_eof);
        close(sv[1]);
        return sv[0];
}

static void test_pipes(void **state) {
        (void) state;
        pid_t echo, writer, reader;
        int in[2], out[2], sock = peer(false, &echo), file = temp_file(NULL, 0, 0);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        writer = spawn_writer(in[1], data, BIG);
        reader = spawn_reader(out[0], file);
        RelayStats st;
        assert_int_equal(relay_run(in[0], out[1], sock, &st), 0);
        assert_int_equal(st.sent, BIG);
        assert_int_equal(st.received, BIG);
        /* The relay replaced out[1] by /dev/null: the reader has seen EOF. */
        assert_int_equal(child_status(reader), 0);
        assert_int_equal(child_status(writer), 0);
        assert_int_equal(child_status(echo), 0);
        assert_file_holds(file, 0, data, BIG);
        close(in[0]);
        close(out[1]);
        close(sock);
        close(file);
}

static void test_files_and_half_close(void **state) {
        (void) state;
        pid_t echo;
        int sock = peer(true, &echo); /* nothing comes back before our EOF */
        int in = temp_file(data, BIG, 0), out = temp_file(NULL, 0, 0);
        int keep = dup(out); /* the relay puts /dev/null on out's number at the end */
        RelayStats st;
        assert_int_equal(relay_run(in, out, sock, &st), 0);
        assert_int_equal(st.sent, BIG);
        assert_int_equal(st.received, BIG);
        assert_int_equal(child_status(echo), 0);
        assert_file_holds(keep, 0, data, BIG);
        close(keep);
        close(out);
        close(in);
        close(sock);
}

static void test_append_fallback(void **state) {
        (void) state;
        pid_t echo;
        int sock = peer(false, &echo);
        int in = temp_file(data, BIG, 0), out = temp_file("head", 4, O_APPEND);
        int keep = dup(out); /* the relay replaces out at the end; keep the file */
        RelayStats st;
        assert_int_equal(relay_run(in, out, sock, &st), 0);
        assert_int_equal(st.received, BIG);
        assert_int_equal(child_status(echo), 0);
        assert_file_holds(keep, 4, data, BIG);
        close(keep);
        close(out);
        close(in);
        close(sock);
}

static void test_socket_and_devnull(void **state) {
        (void) state;
        pid_t echo;
        int sock = peer(false, &echo);
        int local[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, local), 0);
        /* in == out: one blocking socket both ways, as inetd hands it. */
        write_all(local[1], "inetd-style", 11);
        shutdown(local[1], SHUT_WR);
        RelayStats st;
        assert_int_equal(relay_run(local[0], local[0], sock, &st), 0);
        char buf[32];
        assert_int_equal(read(local[1], buf, sizeof buf), 11);
        assert_memory_equal(buf, "inetd-style", 11);
        assert_int_equal(read(local[1], buf, sizeof buf), 0); /* shut down, not left open */
        assert_int_equal(child_status(echo), 0);
        close(local[0]);
        close(local[1]);
        close(sock);

        /* A character device: may block, so only touched after poll(). */
        sock = peer(false, &echo);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        assert_int_equal(relay_run(null, null, sock, &st), 0);
        assert_int_equal(st.sent, 0);
        assert_int_equal(st.received, 0);
        assert_int_equal(child_status(echo), 0);
        close(null);
        close(sock);
}

static void test_reader_gone(void **state) {
        (void) state;
        pid_t echo;
        int sock = peer(false, &echo);
        int in = temp_file(data, BIG, 0), out[2];
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        close(out[0]);
        RelayStats st;
        assert_int_equal(relay_run(in, out[1], sock, &st), -EPIPE);
        assert_string_equal(st.failed, "writing the output");
        close(sock); /* the echo child sees EOF or EPIPE and ends */
        child_status(echo);
        close(out[1]);
        close(in);
}

static void test_peer_reset(void **state) {
        (void) state;
        int sv[2], in[2], out[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        close(sv[1]); /* the peer is gone before we send */
        write_all(in[1], "x", 1);
        RelayStats st;
        int r = relay_run(in[0], out[1], sv[0], &st);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        assert_string_equal(st.failed, "sending to the peer");
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        close(sv[0]);
}

/* A TCP peer that closed (FIN) and then answered our last data with a
 * reset, as an sshd that has exited does: EOF on our input afterwards is
 * an ordinary end, not "Transport endpoint is not connected". */
static void test_closed_peer_then_eof(void **state) {
        (void) state;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(l >= 0 && c >= 0);
        assert_int_equal(bind(l, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(listen(l, 1), 0);
        assert_int_equal(getsockname(l, (struct sockaddr *) &a, &len), 0);
        assert_int_equal(connect(c, (struct sockaddr *) &a, sizeof a), 0);
        int srv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(srv >= 0);
        close(l);
        close(srv); /* FIN */
        char b;
        assert_int_equal(read(c, &b, 1), 0);
        write_all(c, "last", 4); /* the closed peer answers with a reset */
        struct pollfd p = { .fd = c, .events = POLLRDHUP };
        for (int i = 0; i < 100; i++) { /* until the reset has arrived: bounded */
                int err = 0;
                socklen_t el = sizeof err;
                assert_int_equal(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el), 0);
                if (err != 0)
                        break;
                assert_true(poll(&p, 1, 10) >= 0);
        }
        int in[2], out[2];
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        close(in[1]); /* input ends now */
        RelayStats st;
        assert_int_equal(relay_run(in[0], out[1], c, &st), 0);
        assert_int_equal(read(out[0], &b, 1), 0); /* and the output saw EOF */
        close(in[0]);
        close(out[0]);
        close(out[1]);
        close(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pipes),
                cmocka_unit_test(test_files_and_half_close),
                cmocka_unit_test(test_append_fallback),
                cmocka_unit_test(test_socket_and_devnull),
                cmocka_unit_test(test_reader_gone),
                cmocka_unit_test(test_peer_reset),
                cmocka_unit_test(test_closed_peer_then_eof),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
