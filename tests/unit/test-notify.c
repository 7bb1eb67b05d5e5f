/* notify.c against real AF_UNIX datagram sockets: a path, the abstract
 * namespace ("@name"), an unset and a bad $NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static int bind_dgram(const char *name, bool abstract) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        strcpy(sa.sun_path + abstract, name);
        socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name));
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, len), 0);
        return fd;
}

static void expect_message(int fd, const char *prefix) {
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        assert_memory_equal(buf, prefix, strlen(prefix));
}

static void test_path_socket(void **state) {
        (void) state;
        char dir[] = "/tmp/notify-test.XXXXXX", path[64];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/sock", dir);
        int fd = bind_dgram(path, false);
        setenv("NOTIFY_SOCKET", path, 1);
        assert_int_equal(notify_ready(2, 5, NULL), 0);
        expect_message(fd, "READY=1\nSTATUS=2 listeners, 5 keys installed");
        assert_int_equal(notify_reloading(), 0);
        expect_message(fd, "RELOADING=1\n");
        assert_int_equal(notify_ready(1, 1, "note"), 0);
        expect_message(fd, "READY=1\nSTATUS=1 listener, 1 key installed; note");
        close(fd);
        unlink(path);
        rmdir(dir);
}

static void test_abstract_socket(void **state) {
        (void) state;
        char name[64], env[66];
        snprintf(name, sizeof name, "tcpmd5-notify-test-%ld", (long) getpid());
        int fd = bind_dgram(name, true);
        snprintf(env, sizeof env, "@%s", name);
        setenv("NOTIFY_SOCKET", env, 1);
        assert_int_equal(notify_stopping(), 0);
        expect_message(fd, "STOPPING=1");
        close(fd);
}

static void test_unset_and_bad(void **state) {
        (void) state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(notify_send("READY=1"), 0);
        setenv("NOTIFY_SOCKET", "relative/path", 1);
        assert_int_equal(notify_send("READY=1"), -EINVAL);
        setenv("NOTIFY_SOCKET", "/nonexistent/notify-socket", 1);
        assert_int_equal(notify_send("READY=1"), -ENOENT);
        unsetenv("NOTIFY_SOCKET");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_socket),
                cmocka_unit_test(test_abstract_socket),
                cmocka_unit_test(test_unset_and_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
