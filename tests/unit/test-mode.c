/* Unit tests for the mode decision (mode.c): the documented cases one by
 * one, then every combination of command line and config against the
 * rules tcpmd5-activate(8) states under MODES. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "mode.h"
#include "util.h"

static const Origin at_accept = { "unit.conf", 3 }, at_on_demand = { "unit.conf", 4 };

static ModeConfig config_says(bool accept, bool on_demand) {
        return (ModeConfig) { .accept = accept, .on_demand = on_demand, .accept_origin = at_accept,
                              .on_demand_origin = at_on_demand };
}

static ModeDecision decide(ModeArgs a, const ModeConfig *c) {
        ModeDecision d;
        mode_decide(&a, c, &d);
        return d;
}

static void the_shipped_unit_with_accept_yes_runs_accept_mode(void **state) {
        (void) state;
        ModeConfig c = config_says(true, false);
        ModeDecision d = decide((ModeArgs) { .supervise = true }, &c);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ACCEPT);
        d = decide((ModeArgs) { .pid1 = true }, &c);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ACCEPT);
}

static void supervisor_options_under_accept_yes_are_refused_naming_the_line(void **state) {
        (void) state;
        ModeConfig c = config_says(true, false);
        ModeDecision d = decide((ModeArgs) { .supervise = true, .daemon_options = true }, &c);
        assert_int_equal(d.exit, EXIT_CONFIG);
        assert_non_null(strstr(d.message, "unit.conf:3: Accept=yes"));
        assert_non_null(strstr(d.message, "drop --process-group"));
}

/* --watch applies in every mode that stays, and is refused in exec mode
 * once the config shows that nothing else makes one. */
static void watch_applies_where_the_activator_stays(void **state) {
        (void) state;
        ModeConfig accept = config_says(true, false), on_demand = config_says(false, true), none = config_says(false, false);
        ModeDecision d = decide((ModeArgs) { .supervise = true, .watch = true }, &accept);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ACCEPT);
        d = decide((ModeArgs) { .watch = true }, &on_demand);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ON_DEMAND);
        d = decide((ModeArgs) { .accept = true, .watch = true }, &none);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ACCEPT);
        d = decide((ModeArgs) { .watch = true }, NULL); /* the config may still make it stay */
        assert_int_equal(d.exit, 0);
        d = decide((ModeArgs) { .watch = true }, &none);
        assert_int_equal(d.exit, EXIT_CONFIG);
        assert_non_null(strstr(d.message, "--watch only applies to a mode that stays"));
}

static void the_command_line_overrides_the_config(void **state) {
        (void) state;
        ModeConfig accept = config_says(true, false), on_demand = config_says(false, true);
        assert_int_equal(decide((ModeArgs) { .on_demand = true }, &accept).mode, MODE_ON_DEMAND);
        assert_int_equal(decide((ModeArgs) { .accept = true }, &on_demand).mode, MODE_ACCEPT);
        assert_int_equal(decide((ModeArgs) { .supervise = true, .on_demand = true }, &accept).mode,
                         MODE_ON_DEMAND_SUPERVISE);
        /* --on-demand makes --watch apply again under --supervise */
        ModeDecision d = decide((ModeArgs) { .supervise = true, .on_demand = true, .watch = true }, &accept);
        assert_int_equal(d.exit, 0);
        assert_int_equal(d.mode, MODE_ON_DEMAND_SUPERVISE);
}

static void usage_errors_need_no_config(void **state) {
        (void) state;
        static const ModeArgs refused[] = {
                { .accept = true, .on_demand = true },
                { .accept = true, .supervise = true },
                { .daemon_options = true },
                { .on_demand = true, .daemon_options = true },
                { .accept = true, .pid1 = true, .daemon_options = true },
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                ModeDecision d = decide(refused[i], NULL);
                assert_int_equal(d.exit, EXIT_USAGE);
                assert_true(d.message[0] != 0);
        }
}

static void plain_modes(void **state) {
        (void) state;
        ModeConfig none = config_says(false, false), on_demand = config_says(false, true);
        assert_int_equal(decide((ModeArgs) { 0 }, &none).mode, MODE_EXEC);
        assert_int_equal(decide((ModeArgs) { 0 }, NULL).mode, MODE_EXEC);
        assert_int_equal(decide((ModeArgs) { .supervise = true }, &none).mode, MODE_SUPERVISE);
        assert_int_equal(decide((ModeArgs) { .pid1 = true }, &none).mode, MODE_SUPERVISE);
        assert_int_equal(decide((ModeArgs) { 0 }, &on_demand).mode, MODE_ON_DEMAND);
        assert_int_equal(decide((ModeArgs) { .pid1 = true }, &on_demand).mode, MODE_ON_DEMAND_SUPERVISE);
        ModeConfig both = config_says(true, true);
        ModeDecision d = decide((ModeArgs) { 0 }, &both);
        assert_int_equal(d.exit, EXIT_CONFIG);
        assert_non_null(strstr(d.message, "unit.conf:4:"));
}

/* Every combination: a mode or a refusal with a message; 64 exactly when
 * the command line alone is refused; else 78, naming the config's line
 * unless --watch met exec mode; the mode follows the precedence; a supervisor's option
 * is only ever accepted where a daemon is supervised, --watch only where
 * the activator stays. */
static void every_combination_follows_the_rules(void **state) {
        (void) state;
        unsigned n_modes[_MODE_MAX] = { 0 }, n_refused = 0;
        for (unsigned bits = 0; bits < 1u << 8; bits++) {
                ModeArgs a = { .accept = bits & 1, .on_demand = bits & 2, .supervise = bits & 4, .pid1 = bits & 8,
                               .daemon_options = bits & 16, .watch = bits & 32 };
                ModeConfig c = config_says(bits & 64, bits & 128);
                ModeDecision alone = decide(a, NULL), d = decide(a, &c);
                if (alone.exit) {
                        assert_int_equal(d.exit, EXIT_USAGE);
                        assert_string_equal(d.message, alone.message);
                        n_refused++;
                        continue;
                }
                bool accept = a.accept || (!a.on_demand && c.accept);
                bool on_demand = a.on_demand || (!a.accept && c.on_demand);
                bool supervising = a.supervise || a.pid1;
                Mode want = accept      ? MODE_ACCEPT
                            : on_demand ? (supervising ? MODE_ON_DEMAND_SUPERVISE : MODE_ON_DEMAND)
                                        : (supervising ? MODE_SUPERVISE : MODE_EXEC);
                if (d.exit && a.watch && want == MODE_EXEC) {
                        assert_int_equal(d.exit, EXIT_CONFIG);
                        n_refused++;
                        continue;
                }
                if (d.exit) {
                        assert_int_equal(d.exit, EXIT_CONFIG);
                        assert_non_null(strstr(d.message, "unit.conf:"));
                        assert_true((accept && on_demand) || (accept && a.daemon_options));
                        n_refused++;
                        continue;
                }
                n_modes[d.mode]++;
                assert_int_equal(d.mode, want);
                if (a.daemon_options)
                        assert_true(d.mode == MODE_SUPERVISE || d.mode == MODE_ON_DEMAND_SUPERVISE);
                if (a.watch)
                        assert_true(d.mode != MODE_EXEC);
                assert_string_not_equal(mode_to_string(d.mode), "?");
        }
        for (int m = 0; m < _MODE_MAX; m++)
                assert_true(n_modes[m] > 0); /* every mode reached */
        assert_true(n_refused > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_shipped_unit_with_accept_yes_runs_accept_mode),
                cmocka_unit_test(supervisor_options_under_accept_yes_are_refused_naming_the_line),
                cmocka_unit_test(watch_applies_where_the_activator_stays),
                cmocka_unit_test(the_command_line_overrides_the_config),
                cmocka_unit_test(usage_errors_need_no_config),
                cmocka_unit_test(plain_modes),
                cmocka_unit_test(every_combination_follows_the_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
