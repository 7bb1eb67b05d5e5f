/* Unit tests for what the supervisor reads of its daemon in /proc: signal
 * dispositions, the SIGHUP decision and its log line, and which child
 * holds the listening sockets. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "daemon-watch.h"
#include "util.h"

/* A child with SIGHUP set to disposition (SIG_DFL, SIG_IGN, or a
 * handler), paused until killed; it closes close_fd if >= 0. (Not for a
 * run under valgrind, whose forked children catch every signal.) */
static void on_hup(int sig) { (void) sig; }
static pid_t child_with(void (*disposition)(int), int close_fd) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                signal(SIGHUP, disposition);
                if (close_fd >= 0)
                        close(close_fd);
                close(p[0]);
                close(p[1]); /* the disposition is set: tell the parent */
                for (;;)
                        pause();
        }
        close(p[1]);
        char c;
        assert_int_equal(read(p[0], &c, 1), 0);
        close(p[0]);
        return pid;
}
static void end(pid_t pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void sighup_disposition_is_read_from_proc(void **state) {
        (void) state;
        pid_t dfl = child_with(SIG_DFL, -1), ign = child_with(SIG_IGN, -1), caught = child_with(on_hup, -1);
        assert_int_equal(daemon_handles_signal(dfl, SIGHUP), 0);
        assert_int_equal(daemon_handles_signal(ign, SIGHUP), 1);
        assert_int_equal(daemon_handles_signal(caught, SIGHUP), 1);
        assert_int_equal(daemon_handles_signal(caught, SIGUSR2), 0); /* one bit, not the whole mask */
        end(dfl);
        end(ign);
        end(caught);
        assert_int_equal(daemon_handles_signal(dfl, SIGHUP), -ENOENT); /* reaped: gone */
}

static void reload_passes_sighup_only_when_handled(void **state) {
        pid_t dfl = child_with(SIG_DFL, -1), caught = child_with(on_hup, -1);
        capture_logs(state);
        assert_false(daemon_pass_reload(dfl, RELOAD_FORWARD_AUTO));
        assert_log_contains("does not handle SIGHUP, and would die of it");
        assert_true(daemon_pass_reload(caught, RELOAD_FORWARD_AUTO));
        assert_log_contains("(it handles SIGHUP)");
        assert_true(daemon_pass_reload(dfl, RELOAD_FORWARD_ALWAYS));
        assert_log_contains("--always-forward-reload");
        unsigned before = n_logs;
        assert_false(daemon_pass_reload(caught, RELOAD_FORWARD_NEVER));
        assert_int_equal(n_logs, before); /* --no-forward-reload: silent, as before */
        end(dfl);
        end(caught);
        assert_false(daemon_pass_reload(dfl, RELOAD_FORWARD_AUTO)); /* unreadable: not passed */
        assert_log_contains("cannot tell");
}

static void death_by_passed_sighup_is_explained(void **state) {
        capture_logs(state);
        daemon_explain_exit(42, 128 + SIGHUP, false, RELOAD_FORWARD_AUTO);
        assert_int_equal(n_logs, 0); /* SIGHUP from elsewhere: not ours to explain */
        daemon_explain_exit(42, 0, true, RELOAD_FORWARD_AUTO);
        assert_int_equal(n_logs, 0);
        daemon_explain_exit(42, 128 + SIGHUP, true, RELOAD_FORWARD_ALWAYS);
        assert_int_equal(n_logs, 1);
        assert_log_contains("without --always-forward-reload");
        daemon_explain_exit(42, 128 + SIGHUP, true, RELOAD_FORWARD_AUTO);
        assert_log_contains("--no-forward-reload");
}

/* Our children that hold the socket: the oldest is the successor; one
 * that closed it is not. */
static void successor_holds_our_socket(void **state) {
        (void) state;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        Listener l = { .fd = fd };
        ListenerSet set = { .v = &l, .n = 1 };
        pid_t none, r = -1;
        pid_t closed = child_with(SIG_DFL, fd);
        assert_int_equal(daemon_find_successor(&set, &none), 0);
        assert_int_equal(none, 0);
        pid_t older = child_with(SIG_DFL, -1);
        usleep(20000); /* a later start time (clock ticks) */
        pid_t younger = child_with(SIG_DFL, -1);
        assert_int_equal(daemon_find_successor(&set, &r), 0);
        assert_int_equal(r, older);
        assert_int_equal(daemon_carried_on(7, 1, &set), 0); /* a failure is no fork into the background */
        assert_int_equal(daemon_carried_on(7, 0, &set), older);
        end(closed);
        end(older);
        end(younger);
        close(fd);
}

/* The /proc paths the supervisor builds by hand, as snprintf() would
 * write them; a tail past 16 bytes is cut. */
static void proc_path_is_built_by_hand(void **state) {
        (void) state;
        char p[PROC_PATH_MAX];
        proc_path(1, "/stat", p);
        assert_string_equal(p, "/proc/1/stat");
        proc_path(0, "/fd", p);
        assert_string_equal(p, "/proc/0/fd");
        proc_path(2147483647, "/status", p);
        assert_string_equal(p, "/proc/2147483647/status");
        proc_path(42, "/0123456789abcdefXYZ", p);
        assert_string_equal(p, "/proc/42/0123456789abcde");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(proc_path_is_built_by_hand),
                cmocka_unit_test(sighup_disposition_is_read_from_proc),
                cmocka_unit_test(reload_passes_sighup_only_when_handled),
                cmocka_unit_test(death_by_passed_sighup_is_explained),
                cmocka_unit_test(successor_holds_our_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
