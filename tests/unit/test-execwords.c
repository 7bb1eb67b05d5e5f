/* Unit tests for ExecStart= word splitting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "execwords.h"
#include "util.h"

static void words(const char *in, const char *const *want) {
        char **w;
        const char *why;
        int r = exec_words_parse(in, &w, &why);
        if (r < 0)
                fail_msg("'%s': %s", in, why);
        size_t i = 0;
        for (; want[i]; i++) {
                assert_non_null(w[i]);
                assert_string_equal(w[i], want[i]);
        }
        assert_null(w[i]);
        strv_free(w);
}

static void splitting(void **state) {
        (void) state;
        words("/usr/sbin/sshd -i", (const char *const[]) { "/usr/sbin/sshd", "-i", NULL });
        words("  a\tb  ", (const char *const[]) { "a", "b", NULL });
        words("a 'b c' \"d e\"", (const char *const[]) { "a", "b c", "d e", NULL });
        words("a b'c d'e", (const char *const[]) { "a", "bc de", NULL });
        words("a \"it's\" 'say \"hi\"'", (const char *const[]) { "a", "it's", "say \"hi\"", NULL });
        words("a \\n\\t\\\\ \\x41 \\101 x\\sy", (const char *const[]) { "a", "\n\t\\", "A", "A", "x y", NULL });
        words("a '' b", (const char *const[]) { "a", "", "b", NULL });
        words("a \\;", (const char *const[]) { "a", ";", NULL });
        words("a $HOME", (const char *const[]) { "a", "$HOME", NULL });
}

static void errors(void **state) {
        (void) state;
        static const char *const bad[] = { "a 'b", "a \"b", "a \\", "a \\q", "a \\x4", "a \\x00", "a \\400",
                                           "-/bin/true", "@/bin/true x", "+/bin/true", "!/bin/true", ":/x",
                                           "/bin/a ; /bin/b", "'' x" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **w;
                const char *why = NULL;
                if (exec_words_parse(bad[i], &w, &why) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);
                assert_non_null(why);
        }
        char **w;
        const char *why;
        assert_int_equal(exec_words_parse("   ", &w, &why), -ENODATA);
}

static void quoted(const char *w, const char *want) {
        char *q = shell_quote(w);
        assert_non_null(q);
        assert_string_equal(q, want);
        free(q);
}

/* --check prints the command so that a shell reads back the same words. */
static void shell_quoting(void **state) {
        (void) state;
        quoted("/usr/sbin/sshd", "/usr/sbin/sshd");
        quoted("-o", "-o");
        quoted("a=b,c:d@e%f+g", "a=b,c:d@e%f+g");
        quoted("", "''");
        quoted("Banner none", "'Banner none'");
        quoted("it's", "'it'\\''s'");
        quoted("$HOME", "'$HOME'");
        quoted("a;b", "'a;b'");
        quoted("~", "'~'");
        quoted("a\tb", "$'a\\x09b'");
        quoted("it's\n", "$'it\\'s\\x0a'");
        quoted("back\\slash\n", "$'back\\\\slash\\x0a'");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(splitting),
                cmocka_unit_test(errors),
                cmocka_unit_test(shell_quoting),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
