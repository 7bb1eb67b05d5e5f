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
        notify_set_keys(2, 5);
        assert_int_equal(notify_ready(), 0);
        expect_message(fd, "READY=1\nSTATUS=2 listeners, 5 keys installed");
        assert_int_equal(notify_reloading("SIGHUP"), 0);
        expect_message(fd, "RELOADING=1\nSTATUS=reloading keys after SIGHUP\nMONOTONIC_USEC=");
        notify_set_keys(1, 1);
        notify_set_reload("SIGHUP", true);
        assert_int_equal(notify_ready(), 0);
        expect_message(fd, "READY=1\nSTATUS=1 listener, 1 key installed; reload after SIGHUP failed, old keys kept");
        assert_int_equal(notify_status(), 0);
        expect_message(fd, "STATUS=1 listener, 1 key installed; reload after SIGHUP failed, old keys kept");
        close(fd);
        unlink(path);
        rmdir(dir);
}

/* A later message repeats what earlier ones said, with the part that changed. */
static void test_status_keeps_every_part(void **state) {
        (void) state;
        char buf[512];
        notify_set_keys(2, 6);
        notify_set_activity(NULL);
        notify_set_connections(0);
        notify_set_reload("/etc/k.key changed", false);
        notify_status_format(buf, sizeof buf);
        assert_string_equal(buf, "2 listeners, 6 keys installed; 0 connections; reloaded after /etc/k.key changed");
        notify_set_connections(1);
        notify_status_format(buf, sizeof buf);
        assert_string_equal(buf, "2 listeners, 6 keys installed; 1 connection; reloaded after /etc/k.key changed");
        notify_set_activity("waiting");
        notify_set_reload("SIGHUP", false);
        notify_status_format(buf, sizeof buf);
        assert_string_equal(buf, "2 listeners, 6 keys installed; waiting; 1 connection; reloaded after SIGHUP");
        /* A long trigger is cut, never overruns. */
        char long_path[600];
        memset(long_path, 'a', sizeof long_path - 1);
        long_path[sizeof long_path - 1] = 0;
        notify_set_reload(long_path, false);
        assert_true(notify_status_format(buf, 64) < 64);
}

static void test_status_names_unprotected_ports_until_gone(void **state) {
        (void) state;
        char buf[512];
        notify_set_keys(1, 2);
        notify_set_activity(NULL);
        notify_set_reload("SIGHUP", false);
        notify_set_unprotected("not protected: 127.0.0.1:8083 (pid 12 lighttpd)");
        /* Last, after the other parts (connections may linger from the
         * tests before: no call clears them). */
        static const char tail[] = "; reloaded after SIGHUP; not protected: 127.0.0.1:8083 (pid 12 lighttpd)";
        size_t n = notify_status_format(buf, sizeof buf);
        assert_true(n > sizeof tail);
        assert_string_equal(buf + n - (sizeof tail - 1), tail);
        notify_set_unprotected("");
        n = notify_status_format(buf, sizeof buf);
        assert_null(strstr(buf, "not protected"));
        assert_string_equal(buf + n - strlen("; reloaded after SIGHUP"), "; reloaded after SIGHUP");
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
                cmocka_unit_test(test_status_keeps_every_part),
                cmocka_unit_test(test_status_names_unprotected_ports_until_gone),
                cmocka_unit_test(test_abstract_socket),
                cmocka_unit_test(test_unset_and_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
