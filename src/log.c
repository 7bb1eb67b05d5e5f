/* Logging to stderr. Under journald (JOURNAL_STREAM names our stderr) each
 * line gets a "<N>" priority prefix so the journal shows the right level. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static const char *log_program = "tcpmd5";
static bool log_journal;
static bool log_direct; /* stderr buffered by lines: messages are formatted into it */
static void (*log_sink)(int priority, const char *message);

void log_set_sink(void (*sink)(int priority, const char *message)) { log_sink = sink; }

void log_init(const char *program) {
        log_program = program;
        const char *js = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
                log_journal = st.st_dev == dev && st.st_ino == ino;
}

void log_buffer_lines(char *buf, size_t size) {
        log_direct = setvbuf(stderr, buf, _IOLBF, size) == 0;
}

/* Formatted on the stack first, so that an unbuffered stderr gets the
 * whole line in one write (a message is not cut by another process's
 * output on the same stream). Not inlined into log_v(): its 2 kB buffer
 * would make every message that deep, log_buffer_lines()'s too. */
__attribute__((format(printf, 2, 0), noinline))
static void log_copy(int prio, const char *fmt, va_list ap) {
        char buf[2048];
        vsnprintf(buf, sizeof buf, fmt, ap);
        if (log_sink)
                log_sink(prio, buf);
        else if (log_journal)
                fprintf(stderr, "<%d>%s\n", prio, buf);
        else
                fprintf(stderr, "%s: %s\n", log_program, buf);
}

__attribute__((format(printf, 2, 0)))
static void log_v(int prio, const char *fmt, va_list ap) {
        if (!log_direct || log_sink) {
                log_copy(prio, fmt, ap);
                return;
        }
        /* Straight into stderr's buffer, written at the newline; errno
         * kept for a %m in fmt, whatever writing the prefix did. */
        int saved = errno;
        if (log_journal)
                fprintf(stderr, "<%d>", prio);
        else
                fprintf(stderr, "%s: ", log_program);
        errno = saved;
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

#define LOG_FN(name, prio)                      \
        void name(const char *fmt, ...) {       \
                int saved = errno;              \
                va_list ap;                     \
                va_start(ap, fmt);              \
                log_v(prio, fmt, ap);           \
                va_end(ap);                     \
                errno = saved;                  \
        }
LOG_FN(log_error, LOG_ERR)
LOG_FN(log_warning, LOG_WARNING)
LOG_FN(log_info, LOG_INFO)

int log_errno(int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_v(LOG_ERR, fmt, ap);
        va_end(ap);
        return r;
}
