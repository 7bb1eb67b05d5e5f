/* ExecStart= word splitting. */
#include "execwords.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int octal(char c) { return c >= '0' && c <= '7' ? c - '0' : -1; }

/* Decodes the escape at *p (just after the backslash); advances *p. */
static int unescape(const char **p, char *ret) {
        static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''s ;;";
        char c = **p;
        if (c == 0)
                return -EINVAL;
        for (size_t i = 0; simple[i]; i += 2)
                if (simple[i] == c) {
                        *ret = simple[i + 1];
                        (*p)++;
                        return 0;
                }
        if (c == 'x') {
                int a = unhexchar((*p)[1]), b = a < 0 ? -1 : unhexchar((*p)[2]);
                if (a < 0 || b < 0 || (a == 0 && b == 0))
                        return -EINVAL;
                *ret = (char) (a << 4 | b);
                *p += 3;
                return 0;
        }
        int a = octal(c), b = a < 0 ? -1 : octal((*p)[1]), d = b < 0 ? -1 : octal((*p)[2]);
        if (a < 0 || b < 0 || d < 0 || a > 3 || (a | b | d) == 0)
                return -EINVAL;
        *ret = (char) (a << 6 | b << 3 | d);
        *p += 3;
        return 0;
}

/* Reads one word starting at *p (not whitespace) into buf. */
static int next_word(const char **p, char *buf, const char **ret_error) {
        size_t n = 0;
        char quote = 0;
        const char *s = *p;
        while (*s && (quote || !isspace((unsigned char) *s))) {
                char c = *s;
                if (c == '\\') {
                        s++;
                        if (unescape(&s, &c) < 0) {
                                *ret_error = "invalid escape sequence";
                                return -EINVAL;
                        }
                        buf[n++] = c;
                        continue;
                }
                s++;
                if (quote && c == quote)
                        quote = 0;
                else if (!quote && (c == '"' || c == '\''))
                        quote = c;
                else
                        buf[n++] = c;
        }
        if (quote) {
                *ret_error = "unterminated quote";
                return -EINVAL;
        }
        buf[n] = 0;
        *p = s;
        return 0;
}

int exec_words_parse(const char *s, char ***ret, const char **ret_error) {
        size_t len = strlen(s), n = 0, cap = 0;
        char **words = NULL;
        _cleanup_free_ char *buf = malloc(len + 1);
        int r;
        *ret_error = NULL;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                bool unquoted_semicolon = s[0] == ';' && (s[1] == 0 || isspace((unsigned char) s[1]));
                if ((r = next_word(&s, buf, ret_error)) < 0)
                        goto fail;
                if (unquoted_semicolon) {
                        *ret_error = "';' separating several commands is not supported";
                        r = -EINVAL;
                        goto fail;
                }
                if ((r = grow_array((void **) &words, &cap, n + 2, sizeof(char *))) < 0)
                        goto fail;
                if (!(words[n++] = strdup(buf))) {
                        r = -ENOMEM;
                        goto fail;
                }
                words[n] = NULL;
        }
        if (n == 0) {
                *ret_error = "no command";
                return -ENODATA;
        }
        if (strchr("-@+!:", words[0][0]) || words[0][0] == 0) {
                *ret_error = "command prefixes (-, @, +, !, :) are not supported; give the program path first";
                r = -EINVAL;
                goto fail;
        }
        *ret = words;
        return 0;
fail:
        strv_free(words);
        return r;
}

/* Characters a POSIX shell takes literally anywhere in a word. */
static bool shell_safe(const char *w) {
        if (!*w)
                return false;
        for (; *w; w++)
                if (!isalnum((unsigned char) *w) && !strchr("_@%+=:,./-", *w))
                        return false;
        return true;
}

char *shell_quote(const char *w) {
        bool control = false;
        for (const char *p = w; *p; p++)
                control = control || (unsigned char) *p < ' ' || *p == 0x7f;
        if (shell_safe(w))
                return strdup(w);
        /* At most four characters a byte, and four for $'' and the NUL. */
        char *q = malloc(strlen(w) * 4 + 4), *o = q;
        if (!q)
                return NULL;
        if (control)
                *o++ = '$';
        *o++ = '\'';
        for (const char *p = w; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c == '\'' && !control)
                        o = stpcpy(o, "'\\''");
                else if (control && (c == '\'' || c == '\\'))
                        o += sprintf(o, "\\%c", c);
                else if (control && (c < ' ' || c == 0x7f))
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char) c;
        }
        *o++ = '\'';
        *o = 0;
        return q;
}
