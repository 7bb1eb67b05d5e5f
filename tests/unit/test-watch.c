/* watch.c, --watch's watcher, on real files in a private temp dir: a key
 * file replaced by a rename schedules one reload, due once the files were
 * quiet for a moment and naming the file; a file the config does not use
 * changes nothing; a new drop-in counts; a change made after the files
 * were read but before they were watched is caught by its time stamp. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "config-files.h"
#include "config.h"
#include "util.h"
#include "watch.h"

static char root[64], conf[128], keyfile[128];

static void put(const char *path, const char *text) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        assert_int_equal(rename(tmp, path), 0); /* as a deployment tool replaces a file */
}

static void sleep_ms(long ms) {
        struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
        nanosleep(&t, NULL);
}

static int setup(void **state) {
        capture_logs(state);
        char text[512], dir[160];
        strcpy(root, "/tmp/tcpmd5-watch.XXXXXX");
        if (!mkdtemp(root))
                return -1;
        snprintf(dir, sizeof dir, "%s/keys", root);
        mkdir(dir, 0700);
        snprintf(keyfile, sizeof keyfile, "%s/keys/k.key", root);
        snprintf(conf, sizeof conf, "%s/app.conf", root);
        put(keyfile, "watch-secret\n");
        snprintf(text, sizeof text, "[Socket]\nListenStream=2222\n[Key k]\nPeer=any\nSecretFile=%s\n", keyfile);
        put(conf, text);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        return system(cmd);
}

/* The config read as a reload reads it, and its files watched since then. */
static Watch *watch_config(ConfigSource *src) {
        Watch *w;
        struct timespec since = watch_clock();
        Config *c = config_new("app");
        assert_int_equal(config_load(c, conf, NULL, NULL, src), 0);
        assert_int_equal(config_source_add_keys(src, c), 0);
        config_free(c);
        assert_int_equal(watch_new(&w), 0);
        assert_int_equal(watch_set(w, src, since), 0);
        return w;
}

/* Whether the watch fd has events within ms, and if so whether they concern us. */
static bool changed_within(Watch *w, int ms) {
        struct pollfd p = { .fd = watch_fd(w), .events = POLLIN };
        return poll(&p, 1, ms) == 1 && watch_drain(w);
}

static bool due_within(Watch *w, int ms) {
        for (int waited = 0; waited <= ms; waited += 10) {
                if (watch_due(w))
                        return true;
                sleep_ms(10);
        }
        return false;
}

static void renamed_key_file_schedules_one_reload(void **state) {
        (void) state;
        ConfigSource src = { 0 };
        sleep_ms(20); /* past the clock tick the files were written in */
        Watch *w = watch_config(&src);
        assert_false(changed_within(w, 50)); /* nothing happened */
        assert_int_equal(watch_timeout(w), -1);
        assert_false(watch_due(w));
        put(keyfile, "watch-rotated\n");
        assert_true(changed_within(w, 2000));
        int t = watch_timeout(w);
        assert_true(t >= 0 && t <= 2000);
        assert_true(due_within(w, 3000));
        assert_non_null(strstr(watch_changed(w), "k.key changed"));
        assert_false(watch_due(w)); /* once: no longer scheduled */
        assert_int_equal(watch_timeout(w), -1);
        watch_free(w);
        config_source_done(&src);
}

static void unused_file_changes_nothing_a_drop_in_does(void **state) {
        (void) state;
        ConfigSource src = { 0 };
        char other[160], dropin_dir[160], dropin[200];
        sleep_ms(20);
        Watch *w = watch_config(&src);
        snprintf(other, sizeof other, "%s/keys/other.key", root);
        put(other, "not ours\n");
        assert_false(changed_within(w, 300)); /* events, maybe, but none of ours */
        assert_false(watch_due(w));
        snprintf(dropin_dir, sizeof dropin_dir, "%s/app.conf.d", root);
        assert_int_equal(mkdir(dropin_dir, 0700), 0);
        snprintf(dropin, sizeof dropin, "%s/10-x.conf", dropin_dir);
        put(dropin, "[Socket]\nBacklog=5\n");
        bool seen = false;
        for (int i = 0; i < 10 && !seen; i++) /* the directory first, then its watch, then the file */
                seen = changed_within(w, 300);
        assert_true(seen);
        assert_true(due_within(w, 3000));
        watch_free(w);
        config_source_done(&src);
}

/* Changed after the files were read, before their directories were
 * watched: no event, but the time stamp tells. */
static void change_before_the_watch_is_caught(void **state) {
        (void) state;
        ConfigSource src = { 0 };
        Watch *w;
        sleep_ms(20);
        struct timespec since = watch_clock();
        Config *c = config_new("app");
        assert_int_equal(config_load(c, conf, NULL, NULL, &src), 0);
        assert_int_equal(config_source_add_keys(&src, c), 0);
        config_free(c);
        sleep_ms(20);
        put(keyfile, "watch-rotated-again\n");
        assert_int_equal(watch_new(&w), 0);
        assert_int_equal(watch_set(w, &src, since), 0);
        assert_true(due_within(w, 3000));
        watch_free(w);
        config_source_done(&src);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(renamed_key_file_schedules_one_reload),
                cmocka_unit_test(unused_file_changes_nothing_a_drop_in_does),
                cmocka_unit_test(change_before_the_watch_is_caught),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
