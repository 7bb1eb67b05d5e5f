/* Splits an ExecStart= line into words with systemd's quoting rules, no
 * shell: whitespace separates, '...' and "..." group, C escapes (\n, \t,
 * \\, \", \', \s, \xHH, \NNN) work inside and outside quotes. Pure. */
#pragma once

/* -EINVAL: unterminated quote, bad escape, or a systemd prefix (-@+!:) we
 * do not support; -ENODATA: no words. *ret_error names the problem. */
int exec_words_parse(const char *s, char ***ret, const char **ret_error);

/* w as a shell would read it back as one word: as it is when that is safe,
 * else in '...', or in $'...' with \xHH for control characters. NULL when
 * out of memory. */
char *shell_quote(const char *w);
