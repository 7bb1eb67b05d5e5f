/* Fuzz target: the config loader on a main file plus drop-ins. The input is
 * split at lines reading exactly "--" into a main file and drop-ins, parsed
 * in order as config_load() does (stopping at the first error), then
 * validated and planned for every listener shape. Files alternate between
 * mode 0600 and 0644, so Secret= is both accepted and refused. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "fuzz.h"
#include "plan.h"

#define SEPARATOR "\n--\n"

/* The plan is pure: every entry must carry a secret of a legal length (file
 * and credential secrets are not read here, so those stay empty) and a
 * prefix length that fits its family (IPv4 length even when v4-mapped). */
static void check_plan(const Config *c, ListenerShape shape) {
        Secret catch_all = { .len = SECRET_MAX };
        KeyEntry *e;
        size_t n;
        if (plan_keys(c, shape, &catch_all, &e, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char buf[ADDR_STRLEN];
                const KeyConfig *k = e[i].name[0] ? config_find_key(c, e[i].name) : NULL;
                FUZZ_ASSERT(!e[i].name[0] || k);
                bool inline_secret = !k || k->source == SECRET_SOURCE_LITERAL || k->source == SECRET_SOURCE_HEX;
                FUZZ_ASSERT(e[i].secret.len <= SECRET_MAX);
                FUZZ_ASSERT(!inline_secret || e[i].secret.len >= 1);
                FUZZ_ASSERT(e[i].family == shape.family);
                FUZZ_ASSERT(e[i].prefixlen <= (e[i].family == AF_INET6 ? 128 : 32));
                key_entry_format(&e[i], buf);
        }
        key_table_free(e, n);
}

static int parse_part(Config *c, unsigned i, const uint8_t *text, size_t size) {
        char path[64];
        struct stat st = { .st_mode = S_IFREG | (i % 2 ? 0644 : 0600), .st_uid = 0 };
        if (i == 0)
                snprintf(path, sizeof path, "/fuzz/main.conf");
        else
                snprintf(path, sizeof path, "/fuzz/main.conf.d/%02u.conf", i);
        /* An exact-size copy: the parser must not need a terminator. */
        char *copy = malloc(size ? size : 1);
        if (!copy)
                abort();
        memcpy(copy, text, size);
        int r = config_parse_text(c, path, copy, size, &st);
        free(copy);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = config_new("fuzz");
        if (!c)
                abort();
        const uint8_t *p = data, *end = data + size;
        int r = 0;
        for (unsigned i = 0; r >= 0; i++) {
                const uint8_t *sep = memmem(p, (size_t) (end - p), SEPARATOR, strlen(SEPARATOR));
                size_t len = sep ? (size_t) (sep - p) + 1 : (size_t) (end - p);
                r = parse_part(c, i, p, len);
                FUZZ_ASSERT(r >= 0 || r == -EBADMSG || r == -EACCES || r == -ENOMEM);
                if (!sep)
                        break;
                p = sep + strlen(SEPARATOR);
        }
        if (r >= 0 && config_validate(c, size % 2) >= 0) {
                for (size_t i = 0; i < c->n_keys; i++) {
                        FUZZ_ASSERT(c->keys[i].n_peers > 0);
                        FUZZ_ASSERT(c->keys[i].source != SECRET_SOURCE_NONE);
                }
                check_plan(c, (ListenerShape) { .family = AF_INET, .ipv4 = true });
                check_plan(c, (ListenerShape) { .family = AF_INET6, .ipv6 = true });
                check_plan(c, (ListenerShape) { .family = AF_INET6, .ipv4 = true, .ipv6 = true });
                check_plan(c, (ListenerShape) { .family = AF_INET6, .ipv4 = true });
        }
        config_free(c);
        return 0;
}
