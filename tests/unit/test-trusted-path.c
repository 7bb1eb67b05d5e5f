/* Unit tests for the trusted walk: links followed by hand (relative,
 * absolute, "..", loops, the 40-link bound), what is never opened, the
 * judgement of links and directories, and drop-in style opens relative to
 * a walked directory. Uses a private temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "trusted-path.h"
#include "util.h"

static char root[64];

static void put(const char *rel, const char *text) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}
static void dir(const char *rel) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}
static void link_to(const char *target, const char *rel) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        assert_int_equal(symlink(target, path), 0);
}
static char *at(const char *rel) {
        static char path[512];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        return path;
}

/* Opens rel under root; 0 with its first bytes in ret_text, or the error. */
static int open_read(const char *rel, TrustFlags flags, char ret_text[static 32], const char **ret_problem) {
        int fd = -1;
        struct stat st;
        int r = trusted_open(rel[0] == '/' ? rel : at(rel), flags, &fd, &st, ret_problem);
        if (r != 0)
                return r;
        ssize_t n = read(fd, ret_text, 31);
        close(fd);
        assert_true(n >= 0);
        ret_text[n] = 0;
        assert_true(S_ISREG(st.st_mode));
        return 0;
}

static int setup(void **state) {
        capture_logs(state);
        strcpy(root, "/tmp/tcpmd5-unit.XXXXXX");
        if (!mkdtemp(root))
                return -1;
        return chmod(root, 0755);
}
static int teardown(void **state) {
        (void) state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        return system(cmd);
}

/* "x/../k" after x -> a/b is a/k, as the walk went, not k beside x. */
static void dotdot_goes_back_along_the_walk(void **state) {
        (void) state;
        char text[32];
        const char *problem;
        dir("a");
        dir("a/b");
        put("a/k", "walked");
        put("k", "lexical");
        link_to("a/b", "x");
        assert_int_equal(open_read("x/../k", 0, text, &problem), 0);
        assert_string_equal(text, "walked");
        /* ".." of "/" is "/". */
        char up[600];
        snprintf(up, sizeof up, "/../../..%s/k", root);
        assert_int_equal(open_read(up, 0, text, &problem), 0);
        assert_string_equal(text, "lexical");
}

static void absolute_and_chained_links(void **state) {
        (void) state;
        char text[32];
        const char *problem;
        dir("keys");
        put("keys/k1", "key-one");
        link_to(at("keys"), "abs");          /* absolute, to a directory */
        link_to("abs/k1", "rel");            /* relative, through it */
        link_to("../rel", "keys/back");      /* back up and through both */
        assert_int_equal(open_read("abs/k1", 0, text, &problem), 0);
        assert_string_equal(text, "key-one");
        assert_int_equal(open_read("rel", 0, text, &problem), 0);
        assert_string_equal(text, "key-one");
        assert_int_equal(open_read("keys/back", 0, text, &problem), 0);
        assert_string_equal(text, "key-one");
}

/* 40 links are followed, as the kernel does; the 41st is -ELOOP, and so
 * is a loop. */
static void links_are_bounded(void **state) {
        (void) state;
        char text[32], name[32], target[32];
        const char *problem;
        put("end", "end");
        for (int i = 1; i <= 41; i++) {
                snprintf(name, sizeof name, "l%d", i);
                snprintf(target, sizeof target, i == 1 ? "end" : "l%d", i - 1);
                link_to(target, name);
        }
        assert_int_equal(open_read("l40", 0, text, &problem), 0);
        assert_string_equal(text, "end");
        assert_int_equal(open_read("l41", 0, text, &problem), -ELOOP);
        link_to("loop-b", "loop-a");
        link_to("loop-a", "loop-b");
        assert_int_equal(open_read("loop-a", 0, text, &problem), -ELOOP);
        assert_null(problem);
}

/* Never opened: a FIFO (it would wait for a writer), a device (opening
 * some has side effects), a directory; a link to /dev/null is a mask only
 * when the caller allows masks. */
static void only_regular_files_are_opened(void **state) {
        (void) state;
        char text[32];
        const char *problem;
        assert_int_equal(mkfifo(at("fifo"), 0600), 0);
        assert_int_equal(open_read("fifo", 0, text, &problem), -EISDIR);
        assert_int_equal(open_read("/dev/null", 0, text, &problem), -EISDIR);
        assert_int_equal(open_read("/dev/null", TRUST_MASKABLE, text, &problem), -EISDIR); /* not through a link */
        link_to("/dev/null", "masked");
        assert_int_equal(open_read("masked", TRUST_MASKABLE, text, &problem), TRUSTED_MASKED);
        assert_int_equal(open_read("masked", 0, text, &problem), -EISDIR);
        dir("d");
        assert_int_equal(open_read("d", 0, text, &problem), -EISDIR);
        assert_int_equal(open_read("d/.", 0, text, &problem), -EISDIR);
        put("f", "x");
        assert_int_equal(open_read("f/g", 0, text, &problem), -ENOTDIR);
        link_to("nowhere", "dangling");
        assert_int_equal(open_read("dangling", 0, text, &problem), -ENOENT);
}

/* A link is judged by its owner; its own mode (always 0777) means nothing. */
static void link_owned_by_another_user(void **state) {
        (void) state;
        char text[32], want[600];
        const char *problem;
        put("k", "key");
        link_to("k", "theirs");
        assert_int_equal(open_read("theirs", 0, text, &problem), 0);
        assert_int_equal(lchown(at("theirs"), 65534, 65534), 0);
        assert_int_equal(open_read("theirs", 0, text, &problem), -EACCES);
        snprintf(want, sizeof want, "symbolic link %s/theirs is owned by ", root);
        assert_non_null(strstr(problem, want));
        assert_non_null(strstr(problem, "chown -h root"));
        /* The same in a sticky directory open to all. */
        dir("sticky");
        assert_int_equal(chmod(at("sticky"), 01777), 0);
        link_to("../k", "sticky/l");
        assert_int_equal(open_read("sticky/l", 0, text, &problem), 0);
        assert_int_equal(lchown(at("sticky/l"), 65534, 65534), 0);
        assert_int_equal(open_read("sticky/l", 0, text, &problem), -EACCES);
}

/* Each directory is judged as walked: one reached through a link is named
 * by the way the walk went, and the file's problem names where links led. */
static void problems_name_the_walked_path(void **state) {
        (void) state;
        char text[32], want[600];
        const char *problem;
        dir("open");
        dir("open/in");
        put("open/in/k", "key");
        link_to("open/in", "via");
        assert_int_equal(open_read("via/k", TRUST_SECRET, text, &problem), 0);
        assert_int_equal(chmod(at("open/in"), 0777), 0);
        assert_int_equal(open_read("via/k", TRUST_SECRET, text, &problem), -EACCES);
        snprintf(want, sizeof want, "group or other can write directory %s/open/in ", root);
        assert_non_null(strstr(problem, want));
        assert_int_equal(chmod(at("open/in"), 0755), 0);
        assert_int_equal(chmod(at("open/in/k"), 0640), 0);
        assert_int_equal(open_read("via/k", TRUST_SECRET, text, &problem), -EACCES);
        snprintf(want, sizeof want, "it leads to %s/open/in/k, and it holds a secret", root);
        assert_non_null(strstr(problem, want));
        assert_int_equal(open_read("via/k", 0, text, &problem), 0); /* not a secret: readable is fine */
}

static void relative_to_the_working_directory(void **state) {
        (void) state;
        char text[32], cwd[512];
        const char *problem;
        put("here", "here");
        assert_non_null(getcwd(cwd, sizeof cwd));
        assert_int_equal(chdir(root), 0);
        int r = open_read("./here", 0, text, &problem);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(r, 0);
        assert_string_equal(text, "here");
}

/* Entries opened relative to a walked directory, their links free to lead
 * back up through it; the directory itself judged on the way in. */
static void directory_then_entries(void **state) {
        (void) state;
        const char *problem;
        TrustedDir *d;
        int fd = -1;
        struct stat st;
        dir("shared");
        put("shared/x.conf", "x");
        dir("svc.conf.d");
        link_to("../shared/x.conf", "svc.conf.d/10-x.conf");
        link_to("/dev/null", "svc.conf.d/20-masked.conf");
        link_to("svc.conf.d", "dropins");
        assert_int_equal(trusted_dir_open(at("dropins"), &d, &problem), 0);
        DIR *list = trusted_dir_list(d);
        assert_non_null(list);
        unsigned n = 0;
        for (struct dirent *de; (de = readdir(list));)
                n += de->d_name[0] != '.';
        closedir(list);
        assert_int_equal(n, 2);
        assert_int_equal(trusted_dir_openat(d, "10-x.conf", 0, &fd, &st, &problem), 0);
        close(fd);
        assert_int_equal(trusted_dir_openat(d, "20-masked.conf", TRUST_MASKABLE, &fd, &st, &problem), TRUSTED_MASKED);
        assert_int_equal(trusted_dir_openat(d, "none.conf", 0, &fd, &st, &problem), -ENOENT);
        trusted_dir_free(d);
        assert_int_equal(trusted_dir_open(at("shared/x.conf"), &d, &problem), -ENOTDIR);
        assert_int_equal(chmod(at("svc.conf.d"), 0775), 0);
        assert_int_equal(trusted_dir_open(at("dropins"), &d, &problem), -EACCES);
        assert_non_null(strstr(problem, "chmod go-w"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(dotdot_goes_back_along_the_walk, setup, teardown),
                cmocka_unit_test_setup_teardown(absolute_and_chained_links, setup, teardown),
                cmocka_unit_test_setup_teardown(links_are_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(only_regular_files_are_opened, setup, teardown),
                cmocka_unit_test_setup_teardown(link_owned_by_another_user, setup, teardown),
                cmocka_unit_test_setup_teardown(problems_name_the_walked_path, setup, teardown),
                cmocka_unit_test_setup_teardown(relative_to_the_working_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(directory_then_entries, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
