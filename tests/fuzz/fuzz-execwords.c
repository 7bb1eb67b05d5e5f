/* Fuzz target: ExecStart= word splitting. Whatever parses is quoted back
 * (every byte but letters and digits as \xHH inside "...") and must parse
 * to the same words; what is refused must say why. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "execwords.h"
#include "fuzz.h"
#include "util.h"

static char *quote_words(char *const *w) {
        size_t len = 1;
        for (size_t i = 0; w[i]; i++)
                len += strlen(w[i]) * 4 + 3;
        char *s = malloc(len), *p = s;
        if (!s)
                abort();
        for (size_t i = 0; w[i]; i++) {
                *p++ = '"';
                for (const char *c = w[i]; *c; c++)
                        if (isalnum((unsigned char) *c))
                                *p++ = *c;
                        else
                                p += sprintf(p, "\\x%02x", (unsigned char) *c);
                *p++ = '"';
                *p++ = ' ';
        }
        *p = 0;
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_string(data, size);
        char **words = NULL, **again = NULL;
        const char *why = NULL;
        if (!s)
                return 0;
        int r = exec_words_parse(s, &words, &why);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENODATA || r == -ENOMEM);
        if (r < 0) {
                FUZZ_ASSERT(r == -ENOMEM || why);
                free(s);
                return 0;
        }
        FUZZ_ASSERT(words && words[0] && words[0][0] && !strchr("-@+!:", words[0][0]));
        char *quoted = quote_words(words);
        FUZZ_ASSERT(exec_words_parse(quoted, &again, &why) == 0);
        FUZZ_ASSERT(strv_length(words) == strv_length(again));
        for (size_t i = 0; words[i]; i++)
                FUZZ_ASSERT(strcmp(words[i], again[i]) == 0);
        strv_free(words);
        strv_free(again);
        free(quoted);
        free(s);
        return 0;
}
