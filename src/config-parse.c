/* Feeds one file's text to inih 55 through our own line reader. The reader
 * counts lines, so every message names file:line, and it refuses what inih
 * would silently misread: long section names (cut), indented lines (taken
 * as continuations), NUL bytes, and secrets that inih would trim or cut at
 * a " ;" comment. A line too long for inih's buffer (which would split it
 * in two) is read whole here and handed on in a short form. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "trusted-path.h"
#include "util.h"

typedef struct Reader {
        Config *config;
        const char *path;
        const char *text;
        size_t size, pos;
        unsigned line;
        unsigned section_line; /* of the last [Section] header */
        const char *secret_problem; /* checked once per file, not per Secret= */
        KeyConfig *key_cache;
        char *long_value;      /* the value of a line too long for inih, for handler() */
        int error;
} Reader;

static void reader_drop_long_value(Reader *rd) {
        if (rd->long_value)
                explicit_bzero(rd->long_value, strlen(rd->long_value)); /* perhaps a Secret= */
        free(rd->long_value);
        rd->long_value = NULL;
}

/* inih's find_chars_or_comment(): the first of chars, or a ';' after
 * whitespace, or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;
        for (; *s; s++) {
                if (chars && strchr(chars, *s))
                        break;
                if (was_space && *s == ';')
                        break;
                was_space = isspace((unsigned char) *s);
        }
        return s;
}

static bool is_secret_setting(const char *name, size_t n) {
        return (n == 6 && memcmp(name, "Secret", 6) == 0) || (n == 9 && memcmp(name, "SecretHex", 9) == 0);
}

/* What a systemd admin may write that inih reads otherwise: ExecStart=
 * with " ;" (systemd reads the whole line), a value ending in '\' (a
 * continuation in systemd, none here). */
static int check_value(Reader *rd, const char *name, size_t n, const char *v) {
        while (isspace((unsigned char) *v)) /* as inih: a ';' that starts the value is no comment */
                v++;
        const char *end = find_chars_or_comment(v, NULL);
        if (*end == ';' && n == 9 && memcmp(name, "ExecStart", 9) == 0)
                return log_errno(-EBADMSG, "%s:%u: ExecStart=: ' ;' starts a comment in this file format, so the "
                                 "command would end before it; write the ';' as '\\;' (or with no space before "
                                 "it), and put comments on lines of their own", rd->path, rd->line);
        size_t backslashes = 0;
        while (end > v && isspace((unsigned char) end[-1]))
                end--;
        for (; end > v && end[-1] == '\\'; end--)
                backslashes++;
        if (backslashes % 2)
                return log_errno(-EBADMSG, "%s:%u: %.*s=: a '\\' at the end of a line continues it in systemd unit "
                                 "files, but this file format has no line continuation: write the whole value on "
                                 "one line (up to %d characters)", rd->path, rd->line, (int) n, name,
                                 CONFIG_LINE_MAX);
        return 0;
}

static int check_line(Reader *rd, const char *line, size_t len) {
        const char *f = rd->path;
        unsigned l = rd->line;
        const char *s = line;
        if (l == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;
        while (isspace((unsigned char) *s))
                s++;
        if (!*s || *s == ';' || *s == '#')
                return 0;
        if (s != line && !(l == 1 && s == line + 3 && line[0] == '\xEF'))
                return log_errno(-EBADMSG, "%s:%u: indented line; inih reads it as a continuation of the previous "
                                 "value (remove the indentation)", f, l);
        if (*s == '[') {
                const char *end = find_chars_or_comment(s + 1, "]");
                if (*end != ']')
                        return log_errno(-EBADMSG, "%s:%u: section header without ']'", f, l);
                if ((size_t) (end - s - 1) > CONFIG_NAME_MAX)
                        return log_errno(-EBADMSG, "%s:%u: section name is longer than %d characters", f, l,
                                         CONFIG_NAME_MAX);
                rd->section_line = l;
                return 0;
        }
        const char *sep = find_chars_or_comment(s, "=:");
        if (*sep != '=' && *sep != ':')
                return log_errno(-EBADMSG, "%s:%u: expected [Section] or Name=Value", f, l);
        size_t n = (size_t) (sep - s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        if (n > CONFIG_NAME_MAX)
                return log_errno(-EBADMSG, "%s:%u: setting name is longer than %d characters", f, l, CONFIG_NAME_MAX);
        if (is_secret_setting(s, n)) {
                const char *v = sep + 1, *end = line + len;
                if (*find_chars_or_comment(v, NULL) == ';')
                        return log_errno(-EBADMSG, "%s:%u: the secret contains ' ;', which inih reads as a comment; "
                                         "use SecretHex= or SecretFile=", f, l);
                if (end > v && isspace((unsigned char) end[-1]) && end[-1] != '\n')
                        return log_errno(-EBADMSG, "%s:%u: the secret ends in whitespace, which inih would drop; "
                                         "use SecretHex= or SecretFile=", f, l);
                return 0;
        }
        return check_value(rd, s, n, sep + 1);
}

/* One line: the value of a Secret= or SecretHex= (which check_line() let
 * through: no " ;", no trailing whitespace) to '0's. */
static void redact_line(char *s, char *end) {
        if (end > s && end[-1] == '\r')
                end--;
        if (s == end || *s == ';' || *s == '#' || *s == '[')
                return;
        char saved = *end;
        *end = 0;
        char *sep = (char *) find_chars_or_comment(s, "=:");
        *end = saved;
        if (sep == end)
                return;
        size_t n = (size_t) (sep - s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        if (!is_secret_setting(s, n))
                return;
        char *v = sep + 1;
        while (v < end && isspace((unsigned char) *v))
                v++;
        memset(v, '0', (size_t) (end - v));
}

void config_text_redact_secrets(char *text, size_t size) {
        for (char *p = text, *end = text + size; p < end;) {
                char *nl = memchr(p, '\n', (size_t) (end - p));
                char *eol = nl ? nl : end;
                redact_line(p, eol);
                p = eol + 1;
        }
}

/* A checked line longer than inih's buffer, as a short line that inih
 * reads as the same thing: a blank line for a comment, the header alone for
 * a section, and "Name=" for a setting, whose value, cut as inih cuts it
 * (at a " ;" comment, then trimmed), handler() takes from rd. */
static int shorten_line(Reader *rd, const char *line, char *str, size_t num) {
        const char *s = line;
        if (rd->line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;
        while (isspace((unsigned char) *s)) /* a blank line: check_line() refused indented ones */
                s++;
        if (!*s || *s == ';' || *s == '#') {
                snprintf(str, num, "\n");
                return 0;
        }
        if (*s == '[') { /* check_line(): it has its ']', and a name of at most CONFIG_NAME_MAX */
                const char *end = find_chars_or_comment(s + 1, "]");
                snprintf(str, num, "%.*s\n", (int) (end - s + 1), s);
                return 0;
        }
        const char *sep = find_chars_or_comment(s, "=:"), *v = sep + 1, *end = find_chars_or_comment(v, NULL);
        size_t n = (size_t) (sep - s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        while (v < end && isspace((unsigned char) *v))
                v++;
        while (end > v && isspace((unsigned char) end[-1]))
                end--;
        if (!(rd->long_value = strndup(v, (size_t) (end - v))))
                return log_errno(-ENOMEM, "%s:%u: out of memory", rd->path, rd->line);
        snprintf(str, num, "%.*s=\n", (int) n, s);
        return 0;
}

static int long_line(Reader *rd, const char *start, size_t content, char *str, size_t num) {
        char *line = strndup(start, content);
        if (!line)
                return log_errno(-ENOMEM, "%s:%u: out of memory", rd->path, rd->line);
        int r = check_line(rd, line, content);
        if (r >= 0)
                r = shorten_line(rd, line, str, num);
        explicit_bzero(line, content);
        free(line);
        return r;
}

static char *reader_next(char *str, int num, void *stream) {
        Reader *rd = stream;
        reader_drop_long_value(rd); /* handler() has had it */
        /* inih's last call. Its line buffer (on its stack) still holds the
         * last line, and tails of longer ones: perhaps a Secret=. */
        if (rd->error || rd->pos >= rd->size) {
                explicit_bzero(str, (size_t) num);
                return NULL;
        }
        const char *start = rd->text + rd->pos;
        const char *nl = memchr(start, '\n', rd->size - rd->pos);
        size_t len = nl ? (size_t) (nl - start) : rd->size - rd->pos;
        rd->pos += len + (nl ? 1 : 0);
        rd->line++;
        size_t content = len;
        if (content > 0 && start[content - 1] == '\r')
                content--;
        int r = 0;
        if (content > CONFIG_LINE_MAX)
                r = log_errno(-EBADMSG, "%s:%u: line is longer than %d characters (give a longer command after "
                              "-- on the command line, or put it in a script)", rd->path, rd->line, CONFIG_LINE_MAX);
        else if (memchr(start, 0, content))
                r = log_errno(-EBADMSG, "%s:%u: line contains a NUL byte", rd->path, rd->line);
        else if (content + 2 > (size_t) num || content > INIH_LINE_MAX)
                r = long_line(rd, start, content, str, (size_t) num);
        else {
                memcpy(str, start, content);
                str[content] = 0;
                r = check_line(rd, str, content);
                str[content] = '\n';
                str[content + 1] = 0;
        }
        if (r < 0) {
                rd->error = r;
                explicit_bzero(str, (size_t) num);
                return NULL;
        }
        return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        Reader *rd = user;
        if (rd->error)
                return 0;
        Origin o = { .file = rd->config->files[rd->config->n_files - 1], .line = rd->line };
        if (rd->long_value)
                value = rd->long_value;
        int r = config_assign(rd->config, section, name, value, o, rd->section_line, rd->secret_problem, &rd->key_cache);
        if (r == -ENOMEM)
                r = log_errno(r, "%s:%u: out of memory", o.file, o.line);
        if (r < 0) {
                rd->error = r;
                return 0;
        }
        return 1;
}

int config_parse_text(Config *c, const char *path, const char *text, size_t size, const struct stat *st) {
        int r = grow_array((void **) &c->files, &c->cap_files, c->n_files + 1, sizeof(char *));
        if (r < 0)
                return r;
        if (!(c->files[c->n_files] = strdup(path)))
                return -ENOMEM;
        c->n_files++;
        Reader rd = { .config = c, .path = c->files[c->n_files - 1], .text = text, .size = size,
                    .secret_problem = st ? file_permission_problem(st, geteuid(), 1) : NULL };
        int line = ini_parse_stream(reader_next, &rd, handler, &rd);
        reader_drop_long_value(&rd);
        if (rd.error)
                return rd.error;
        if (line != 0) /* the reader screens syntax, so this is inih's own limit */
                return log_errno(-EBADMSG, "%s:%d: inih could not parse this line", path, line);
        return 0;
}
