/* Unit tests for starting a program (src/handoff.c): what a spawned child
 * gets, what the parent keeps, and how a failed start is reported. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "handoff.h"
#include "util.h"

/* Runs spec with its output on a pipe (fd 3, or stdout inetd style);
 * returns what it wrote and its exit status. */
static void run(ProcessSpec *spec, bool inetd, char *out, size_t size, int *ret_status) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        if (inetd)
                spec->stdio_fd = p[1];
        else
                spec->fds = &p[1];
        pid_t pid;
        assert_int_equal(process_spawn(spec, &pid), 0);
        assert_true(pid > 0);
        close(p[1]);
        size_t n = 0;
        ssize_t k;
        while (n + 1 < size && (k = read(p[0], out + n, size - 1 - n)) > 0)
                n += (size_t) k;
        out[n] = 0;
        close(p[0]);
        assert_int_equal(waitpid(pid, ret_status, 0), pid);
        char pidbuf[32];
        snprintf(pidbuf, sizeof pidbuf, "%ld", (long) pid);
        if (!inetd) /* the shell's $$ is the child we were told of */
                assert_true(strncmp(out, pidbuf, strlen(pidbuf)) == 0);
}

static void test_fd3_environment(void **state) {
        (void) state;
        static const char *const names[] = { "conn" };
        char *argv[] = { "sh", "-c",
                         "printf '%s %s %s %s %s:%s %s' \"$$\" \"$LISTEN_PID\" \"$LISTEN_FDS\" \"$LISTEN_FDNAMES\" "
                         "\"$REMOTE_ADDR\" \"$REMOTE_PORT\" \"${NOTIFY_SOCKET-unset}\" >&3", NULL };
        setenv("LISTEN_PID", "1", 1);
        setenv("REMOTE_ADDR", "old", 1);
        setenv("NOTIFY_SOCKET", "/run/x", 1);
        ProcessSpec spec = { .path = "/bin/sh", .argv = argv, .names = names, .n_fds = 1, .stdio_fd = -1,
                             .remote_addr = "192.0.2.1", .remote_port = "4242", .drop_notify = true };
        char out[256], want[256];
        int status;
        run(&spec, false, out, sizeof out, &status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        long pid = strtol(out, NULL, 10);
        snprintf(want, sizeof want, "%ld %ld 1 conn 192.0.2.1:4242 unset", pid, pid);
        assert_string_equal(out, want);
        /* Ours unchanged. */
        assert_string_equal(getenv("LISTEN_PID"), "1");
        assert_string_equal(getenv("REMOTE_ADDR"), "old");
        assert_string_equal(getenv("NOTIFY_SOCKET"), "/run/x");
}

static void test_inetd_no_listen_vars(void **state) {
        (void) state;
        char *argv[] = { "sh", "-c", "printf '%s %s' \"${LISTEN_FDS-none}\" \"${NOTIFY_SOCKET-unset}\"", NULL };
        setenv("LISTEN_FDS", "7", 1);
        setenv("NOTIFY_SOCKET", "/run/x", 1);
        ProcessSpec spec = { .path = "/bin/sh", .argv = argv };
        char out[256];
        int status;
        run(&spec, true, out, sizeof out, &status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_string_equal(out, "none /run/x"); /* NOTIFY_SOCKET stays unless dropped */
        assert_string_equal(getenv("LISTEN_FDS"), "7");
}

/* Blocked and ignored here; a clean slate there. */
static void test_signal_state_clean(void **state) {
        (void) state;
        char *argv[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
        sigset_t usr1, old;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, &old);
        struct sigaction ign = { .sa_handler = SIG_IGN }, was;
        sigaction(SIGTERM, &ign, &was);
        ProcessSpec spec = { .path = "/bin/grep", .argv = argv };
        char out[256];
        int status;
        run(&spec, true, out, sizeof out, &status);
        assert_string_equal(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        /* And ours as it was. */
        sigset_t now;
        sigprocmask(SIG_SETMASK, NULL, &now);
        assert_true(sigismember(&now, SIGUSR1));
        struct sigaction cur;
        sigaction(SIGTERM, NULL, &cur);
        assert_true(cur.sa_handler == SIG_IGN);
        sigaction(SIGTERM, &was, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The parent learns why; the child exits as a shell would. */
static void expect_failed_start(const char *path, int want_errno, int want_exit) {
        char *argv[] = { (char *) path, NULL };
        ProcessSpec spec = { .path = path, .argv = argv, .stdio_fd = -1 };
        pid_t pid;
        int status;
        assert_int_equal(process_spawn(&spec, &pid), -want_errno);
        assert_true(pid > 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), want_exit);
}

static void test_missing_program(void **state) {
        (void) state;
        expect_failed_start("/nonexistent/program", ENOENT, EXIT_EXEC_NOT_FOUND);
}

static void test_not_executable(void **state) {
        (void) state;
        char path[] = "/tmp/test-handoff.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd); /* mode 0600: no x bit, which even root needs */
        expect_failed_start(path, EACCES, EXIT_EXEC_NOT_EXECUTABLE);
        unlink(path);
}

static void test_exit_codes(void **state) {
        (void) state;
        assert_int_equal(exec_exit_code(-ENOENT), 127);
        assert_int_equal(exec_exit_code(-ENOTDIR), 127);
        assert_int_equal(exec_exit_code(-EACCES), 126);
        assert_int_equal(exec_exit_code(-ENOEXEC), 126);
        assert_int_equal(exec_exit_code(-E2BIG), 71);
        assert_int_equal(exec_exit_code(-EBADF), 71);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fd3_environment),
                cmocka_unit_test(test_inetd_no_listen_vars),
                cmocka_unit_test(test_signal_state_clean),
                cmocka_unit_test(test_missing_program),
                cmocka_unit_test(test_not_executable),
                cmocka_unit_test(test_exit_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
