/* Shared by the cmocka unit tests: captures log messages so tests can
 * assert on the exact file:line an error names. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char last_log[2048];
static unsigned n_logs;

static inline void capture_sink(int priority, const char *message) {
        (void) priority;
        snprintf(last_log, sizeof last_log, "%s", message);
        n_logs++;
}

static inline int capture_logs(void **state) {
        (void) state;
        last_log[0] = 0;
        n_logs = 0;
        log_set_sink(capture_sink);
        return 0;
}

#define assert_log_contains(s)                                                   \
        do {                                                                     \
                if (!strstr(last_log, (s)))                                      \
                        fail_msg("log '%s' lacks '%s'", last_log, (s));          \
        } while (0)
