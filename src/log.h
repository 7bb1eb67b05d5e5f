/* Messages on stderr as "PROGRAM: text", with journald priority prefixes
 * when stderr is connected to the journal. Never pass key bytes here. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

void log_init(const char *program);
/* For a process that stays resident: stderr buffered by lines in buf
 * (static memory, size bytes), and each message formatted straight into
 * it instead of through a 2 kB copy on the stack, which would keep that
 * much more stack resident. A line longer than size is written in parts. */
void log_buffer_lines(char *buf, size_t size);
/* Tests and fuzzers take messages instead of stderr; NULL restores it. */
void log_set_sink(void (*sink)(int priority, const char *message));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and returns r, for "return log_errno(r, ...)" at boundaries. */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
