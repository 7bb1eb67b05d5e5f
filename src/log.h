/* Messages on stderr as "PROGRAM: text", with journald priority prefixes
 * when stderr is connected to the journal. Never pass key bytes here. */
#pragma once

#include <stdarg.h>

void log_init(const char *program);
/* Tests and fuzzers take messages instead of stderr; NULL restores it. */
void log_set_sink(void (*sink)(int priority, const char *message));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and returns r, for "return log_errno(r, ...)" at boundaries. */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
