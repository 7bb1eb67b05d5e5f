/* Unit tests for config discovery: the search path, drop-in union and
 * masking, and the permission checks on files. Uses a private temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config-files.h"
#include "util.h"

static char root[64];

static void put(const char *rel, const char *text, mode_t mode) {
        char path[512], dir[600];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
        assert_int_equal(system(dir), 0);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        fchmod(fd, mode);
        close(fd);
}

static int setup(void **state) {
        capture_logs(state);
        strcpy(root, "/tmp/tcpmd5-unit.XXXXXX");
        return mkdtemp(root) ? 0 : -1;
}
static int teardown(void **state) {
        (void) state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        return system(cmd);
}

static Config *load_unit(const char *name, int *ret) {
        char d1[128], d2[128], d3[128];
        snprintf(d1, sizeof d1, "%s/etc", root);
        snprintf(d2, sizeof d2, "%s/run", root);
        snprintf(d3, sizeof d3, "%s/lib", root);
        char *dirs[] = { d1, d2, d3, NULL };
        Config *c = config_new(name);
        *ret = config_load(c, NULL, name, dirs, NULL);
        return c;
}

static void search_path_and_masking(void **state) {
        (void) state;
        put("run/svc.conf", "[Socket]\nBacklog=2\n", 0644);
        put("lib/svc.conf", "[Socket]\nBacklog=3\n", 0644);           /* shadowed by run/ */
        put("lib/svc.conf.d/a.conf", "[Socket]\nListenStream=3\n", 0644); /* masked by etc/a.conf */
        put("etc/svc.conf.d/a.conf", "[Socket]\nListenStream=1\n", 0644);
        put("lib/svc.conf.d/b.conf", "[Socket]\nListenStream=2\n", 0644);
        put("lib/svc.conf.d/c.conf", "[Socket]\nListenStream=9\n", 0644);
        put("etc/svc.conf.d/notes.txt", "not a drop-in\n", 0644);
        char link[512];
        snprintf(link, sizeof link, "%s/run/svc.conf.d", root);
        mkdir(link, 0755);
        snprintf(link, sizeof link, "%s/run/svc.conf.d/c.conf", root);
        assert_int_equal(symlink("/dev/null", link), 0);

        int r;
        Config *c = load_unit("svc", &r);
        assert_int_equal(r, 0);
        assert_int_equal(c->backlog, 2);
        /* a.conf from etc (masks lib's), b.conf from lib, c.conf masked: in that order */
        assert_int_equal(c->n_listen, 2);
        assert_int_equal(c->listen[0].address.port, 1);
        assert_int_equal(c->listen[1].address.port, 2);
        assert_int_equal(c->n_files, 3);
        assert_non_null(strstr(c->files[0], "/run/svc.conf"));
        assert_non_null(strstr(c->files[1], "/etc/svc.conf.d/a.conf"));
        assert_non_null(strstr(c->files[2], "/lib/svc.conf.d/b.conf"));
        config_free(c);
}

static void missing_unit(void **state) {
        (void) state;
        int r;
        Config *c = load_unit("nothere", &r);
        assert_int_equal(r, -ENOENT);
        config_free(c);
}

static void writable_config_refused(void **state) {
        (void) state;
        put("etc/w.conf", "[Socket]\nBacklog=2\n", 0666);
        int r;
        Config *c = load_unit("w", &r);
        assert_int_equal(r, -EACCES);
        assert_log_contains("go-w");
        config_free(c);
}

static void config_file_and_dropins(void **state) {
        (void) state;
        char main_path[256];
        put("x/app.conf", "[Socket]\nListenStream=1\n", 0644);
        put("x/app.conf.d/20-b.conf", "[Socket]\nListenStream=3\n", 0644);
        put("x/app.conf.d/10-a.conf", "[Socket]\nListenStream=2\n", 0644);
        snprintf(main_path, sizeof main_path, "%s/x/app.conf", root);
        Config *c = config_new("app");
        assert_int_equal(config_load(c, main_path, NULL, NULL, NULL), 0);
        assert_int_equal(c->n_listen, 3);
        assert_int_equal(c->listen[1].address.port, 2);
        assert_int_equal(c->listen[2].address.port, 3);
        config_free(c);
        char *name = config_name_from_path(main_path);
        assert_string_equal(name, "app");
        free(name);
}

/* A supervisor keeps what its config was read from, and a reload reads the
 * config in force back from it: the same settings and file:line origins,
 * whatever the files say by now. */
static void replay_gives_the_config_read(void **state) {
        (void) state;
        char main_path[256], key_path[256];
        ConfigSource src = { 0 };
        SettingChange ch[_SETTING_MAX];
        put("r/app.conf", "[Socket]\nListenStream=1\n\nBacklog=7\n[Key k]\nPeer=any\nSecretFile=/k.key\n", 0600);
        put("r/app.conf.d/10-a.conf", "[Socket]\nListenStream=2\n[Key j]\nPeer=10.0.0.0/8\nSecret = xyzzy\r\n"
            "[Key h]\nPeer=10.1.0.0/16\nSecretHex=abcdef\n", 0600);
        snprintf(main_path, sizeof main_path, "%s/r/app.conf", root);
        Config *c = config_new("app"), *again = config_new("app");
        assert_int_equal(config_load(c, main_path, NULL, NULL, &src), 0);
        assert_int_equal(config_source_add_keys(&src, c), 0);
        put("r/app.conf", "[Socket]\nBacklog=9\n", 0600); /* changed since */
        assert_int_equal(config_replay(again, &src), 0);
        /* Kept without the secrets, which parse to keys of the same length. */
        assert_null(memmem(src.data, src.size, "xyzzy", 5));
        assert_null(memmem(src.data, src.size, "abcdef", 6));
        assert_non_null(memmem(src.data, src.size, "Secret = 00000\r\n", 16));
        assert_int_equal(config_find_key(again, "j")->secret.len, 5);
        assert_int_equal(config_find_key(again, "h")->secret.len, 3);
        assert_int_equal(config_changes(c, again, ch), 0);
        assert_int_equal(again->backlog, 7);
        assert_int_equal(again->n_listen, 2);
        assert_string_equal(again->origin[SETTING_BACKLOG].file, main_path);
        assert_int_equal(again->origin[SETTING_BACKLOG].line, 4);
        /* The records in order: both config files, then the key file. */
        size_t pos = 0, size, n = 0;
        SourceKind kind;
        const char *path, *text;
        while (config_source_next(&src, &pos, &kind, &path, &text, &size))
                n++;
        assert_int_equal(n, 3);
        assert_int_equal(kind, SOURCE_KEY);
        snprintf(key_path, sizeof key_path, "/k.key");
        assert_string_equal(path, key_path);
        config_source_done(&src);
        assert_null(src.data);
        config_free(c);
        config_free(again);
}

static void key_file_rules(void **state) {
        (void) state;
        char path[256];
        Secret s;
        const char *problem;
        snprintf(path, sizeof path, "%s/k/good.key", root);
        put("k/good.key", "secret\n", 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), 0);
        assert_int_equal(s.len, 6); /* one trailing newline dropped */
        put("k/good.key", "secret\n\n", 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), 0);
        assert_int_equal(s.len, 7);
        put("k/good.key", "secret", 0640);
        assert_int_equal(secret_load_file(path, &s, &problem), -EACCES);
        assert_non_null(strstr(problem, "chmod 600"));
        char big[83];
        /* 81 bytes, no newline: read whole, then refused by the 80-byte
         * limit itself (not cut to 80). */
        memset(big, 'k', 81);
        big[81] = 0;
        put("k/good.key", big, 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), -E2BIG);
        /* 82 bytes: refused while reading, before that check. */
        big[81] = '\n';
        big[82] = 0;
        put("k/good.key", big, 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), -E2BIG);
        big[80] = '\n';
        big[81] = 0;
        put("k/good.key", big, 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), 0);
        assert_int_equal(s.len, 80);
        put("k/good.key", "\n", 0600);
        assert_int_equal(secret_load_file(path, &s, &problem), -ENODATA);
        char link[256];
        snprintf(link, sizeof link, "%s/k/link.key", root);
        assert_int_equal(symlink(path, link), 0);
        put("k/good.key", "linked\n", 0600);
        assert_int_equal(secret_load_file(link, &s, &problem), 0); /* followed */
        assert_memory_equal(s.bytes, "linked", 6);
        chmod(path, 0640);
        assert_int_equal(secret_load_file(link, &s, &problem), -EACCES);
        assert_non_null(strstr(problem, "it leads to "));
        assert_non_null(strstr(problem, "/k/good.key"));
        secret_wipe(&s);
}

/* The directories above a key file or config: no group/other write unless
 * sticky, owner root or us; the message names the directory and the fix. */
static void directory_chain(void **state) {
        (void) state;
        char path[512], dir[128], want[300];
        Secret s;
        const char *problem;
        put("open/k.key", "secret\n", 0600);
        snprintf(dir, sizeof dir, "%s/open", root);
        snprintf(path, sizeof path, "%s/k.key", dir);
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), -EACCES);
        snprintf(want, sizeof want, "chmod go-w %s)", dir);
        assert_non_null(strstr(problem, want));
        assert_int_equal(chmod(dir, 01777), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), 0);
        assert_int_equal(chmod(dir, 0770), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), -EACCES);
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), -EACCES);
        snprintf(want, sizeof want, "chown root %s)", dir);
        assert_non_null(strstr(problem, want));
        assert_int_equal(chmod(root, 0777), 0); /* above the file's own directory */
        assert_int_equal(chown(dir, 0, 0), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), -EACCES);
        snprintf(want, sizeof want, "chmod go-w %s)", root);
        assert_non_null(strstr(problem, want));
        assert_int_equal(chmod(root, 0700), 0);
        put("open/app.conf", "[Socket]\nListenStream=1\n", 0644);
        snprintf(path, sizeof path, "%s/app.conf", dir);
        Config *c = config_new("app");
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(config_load(c, path, NULL, NULL, NULL), -EACCES);
        assert_log_contains("chmod go-w");
        config_free(c);
        secret_wipe(&s);
}

/* Anything but a regular file is refused without reading (or waiting on) it. */
static void not_regular(void **state) {
        (void) state;
        char path[256];
        Secret s;
        const char *problem;
        snprintf(path, sizeof path, "%s/fifo.key", root);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(secret_load_file(path, &s, &problem), -EISDIR);
        assert_int_equal(secret_load_file("/dev/null", &s, &problem), -EISDIR);
        assert_int_equal(secret_load_file(root, &s, &problem), -EISDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(search_path_and_masking, setup, teardown),
                cmocka_unit_test_setup_teardown(missing_unit, setup, teardown),
                cmocka_unit_test_setup_teardown(writable_config_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(config_file_and_dropins, setup, teardown),
                cmocka_unit_test_setup_teardown(replay_gives_the_config_read, setup, teardown),
                cmocka_unit_test_setup_teardown(key_file_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(directory_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(not_regular, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
