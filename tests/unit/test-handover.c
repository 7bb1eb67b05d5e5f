/* resident.c's start-up handover: the child that read the config hands
 * the supervisor its listeners (the sockets by SCM_RIGHTS), their key
 * tables, the catch-all secret and the config's source. A whole handover
 * arrives as sent, the sockets the very same ones; one cut at any byte is
 * refused, leaves the receiving Runtime empty and leaks no fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "plan.h"
#include "resident.h"
#include "util.h"

static const char text[] = "[Socket]\nListenStream=2222\nListenStream=127.0.0.1:2223\n"
                           "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office\n";
static const char record[] = "C/etc/t.conf\0the text";

static Runtime sent;

static int setup(void **state) {
        (void) state;
        Config *c = config_new("t");
        assert_non_null(c);
        assert_int_equal(config_parse_text(c, "t.conf", text, strlen(text), NULL), 0);
        assert_int_equal(config_validate(c, true), 0);
        Listener *v = calloc(2, sizeof *v);
        assert_non_null(v);
        sent.listeners = (ListenerSet) { .v = v, .n = 2, .catch_all = { .bytes = "random", .len = 6 } };
        v[0] = (Listener) { .address = c->listen[0].address, .shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true } };
        v[1] = (Listener) { .address = c->listen[1].address, .shape = { .family = AF_INET, .ipv4 = true } };
        for (size_t i = 0; i < 2; i++) {
                assert_true((v[i].fd = socket(v[i].shape.family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
                assert_int_equal(plan_keys(c, v[i].shape, &sent.listeners.catch_all, &v[i].keys, &v[i].n_keys), 0);
        }
        sent.source = (ConfigSource) { malloc(sizeof record - 1), sizeof record - 1 };
        memcpy(sent.source.data, record, sent.source.size);
        config_free(c);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        listener_set_close(&sent.listeners);
        config_source_done(&sent.source);
        return 0;
}

static unsigned open_fds(void) {
        unsigned n = 0;
        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

static ino_t inode(int fd) {
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        return st.st_ino;
}

static void test_whole_handover_arrives_as_sent(void **state) {
        (void) state;
        int sv[2];
        Runtime got = { 0 };
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(resident_send(sv[1], &sent), 0);
        close(sv[1]);
        assert_int_equal(resident_receive(sv[0], &got), 0);
        close(sv[0]);
        assert_int_equal(got.listeners.n, 2);
        assert_memory_equal(&got.listeners.catch_all, &sent.listeners.catch_all, sizeof(Secret));
        for (size_t i = 0; i < 2; i++) {
                const Listener *a = &sent.listeners.v[i], *b = &got.listeners.v[i];
                assert_int_not_equal(a->fd, b->fd);
                assert_int_equal(inode(a->fd), inode(b->fd)); /* the same socket */
                assert_true(fcntl(b->fd, F_GETFD) & FD_CLOEXEC);
                assert_memory_equal(&a->address, &b->address, sizeof a->address);
                assert_memory_equal(&a->shape, &b->shape, sizeof a->shape);
                assert_int_equal(a->n_keys, b->n_keys);
                assert_memory_equal(a->keys, b->keys, a->n_keys * sizeof(KeyEntry));
        }
        assert_int_equal(got.source.size, sent.source.size);
        assert_memory_equal(got.source.data, sent.source.data, sent.source.size);
        listener_set_close(&got.listeners);
        config_source_done(&got.source);
}

/* The stream as sent: the count, the header (which carries the fds), the rest. */
static char *capture(size_t *ret_size, size_t *ret_header_end) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(resident_send(sv[1], &sent), 0);
        close(sv[1]);
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap), control[CMSG_SPACE(8 * sizeof(int))];
        for (;;) {
                struct iovec iov = { buf + n, cap - n };
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                    .msg_controllen = sizeof control };
                ssize_t k = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC);
                assert_true(k >= 0);
                if (k == 0)
                        break;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                        int fds[8];
                        size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
                        for (size_t i = 0; i < nfd; i++)
                                close(fds[i]);
                        *ret_header_end = n + (size_t) k; /* the header ends the segment with the fds */
                }
                n += (size_t) k;
        }
        close(sv[0]);
        *ret_size = n;
        return buf;
}

/* The first k bytes, the fds attached to the header when it is sent whole
 * or in part, as resident_send() does. */
static int receive_cut(const char *buf, size_t k, size_t header_start, size_t header_end, Runtime *got) {
        int sv[2], fds[2] = { dup(sent.listeners.v[0].fd), dup(sent.listeners.v[1].fd) };
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        size_t first = k < header_start ? k : header_start;
        assert_int_equal(write(sv[1], buf, first), (ssize_t) first);
        if (k > header_start) {
                size_t part = (k < header_end ? k : header_end) - header_start;
                char control[CMSG_SPACE(sizeof fds)] = { 0 };
                struct iovec iov = { (char *) buf + header_start, part };
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                    .msg_controllen = sizeof control };
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                *c = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof fds), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(c), fds, sizeof fds);
                assert_int_equal(sendmsg(sv[1], &m, 0), (ssize_t) part);
        }
        if (k > header_end)
                assert_int_equal(write(sv[1], buf + header_end, k - header_end), (ssize_t) (k - header_end));
        close(fds[0]);
        close(fds[1]);
        close(sv[1]);
        int r = resident_receive(sv[0], got);
        close(sv[0]);
        return r;
}

static void test_cut_at_every_byte_is_refused(void **state) {
        (void) state;
        size_t size, header_end = 0;
        char *buf = capture(&size, &header_end);
        assert_true(header_end > sizeof(size_t) && header_end < size);
        unsigned before = open_fds();
        for (size_t k = 0; k < size; k++) {
                Runtime got = { 0 };
                int r = receive_cut(buf, k, sizeof(size_t), header_end, &got);
                if (r >= 0)
                        fail_msg("cut after %zu of %zu bytes was taken", k, size);
                if (k == 0)
                        assert_int_equal(r, -ENODATA);
                assert_null(got.listeners.v);
                assert_int_equal(got.listeners.n, 0);
                assert_null(got.source.data);
                if (open_fds() != before)
                        fail_msg("cut after %zu bytes: %u fds open, %u before", k, open_fds(), before);
        }
        Runtime got = { 0 };
        assert_int_equal(receive_cut(buf, size, sizeof(size_t), header_end, &got), 0); /* the control */
        assert_int_equal(got.listeners.n, 2);
        listener_set_close(&got.listeners);
        config_source_done(&got.source);
        assert_int_equal(open_fds(), before);
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whole_handover_arrives_as_sent),
                cmocka_unit_test(test_cut_at_every_byte_is_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
