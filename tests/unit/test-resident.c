/* resident.c's reload message, as the supervisor receives it from a
 * reload child that may die half-way: a whole message is taken; one cut at
 * any byte, one with a byte too many, garbage counts or a malformed entry
 * are refused; and the live tables are only ever read. The messages are
 * real: written by resident_send_reload() into a socket pair and read back
 * with resident_inbox_read(), as the supervisor does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "plan.h"
#include "reload.h"
#include "resident.h"
#include "util.h"

static const char old_text[] = "[Socket]\nListenStream=2222\nListenStream=127.0.0.1:2223\n"
                               "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office\n";
static const char new_text[] = "[Socket]\nListenStream=2222\nListenStream=127.0.0.1:2223\nKeepAlive=yes\n"
                               "[Key office]\nPeer=192.0.2.0/24\nPeer=2001:db8::/32\nSecret=office2\n"
                               "[Key lab]\nPeer=198.51.100.7\nSecret=lab\n";
static const Secret catch_all = { .bytes = "random", .len = 6 };

/* What the tests share: the live set (as a supervisor holds it), a copy
 * of it to compare with, and a whole message for the new config. */
static Listener live_v[2];
static ListenerSet live;
static Listener snapshot_v[2];
static KeyEntry *snapshot_keys[2];
static ReloadTarget target;
static ConfigSource source;
static const char command_block[] = "/bin/cat\0cat\0-u"; /* and its last NUL */
static const ReloadNext next_process = { .accept = { 7, 2, true }, .command = command_block,
                                         .command_size = sizeof command_block };
static char *message;          /* as sent: the size, then the rest */
static size_t message_size;

static Config *parse(const char *text) {
        Config *c = config_new("t");
        assert_non_null(c);
        assert_int_equal(config_parse_text(c, "t.conf", text, strlen(text), NULL), 0);
        assert_int_equal(config_validate(c, true), 0);
        return c;
}

/* The bytes the sender writes for t and s, read back from a socket pair. */
static char *send_to_bytes(const ReloadTarget *t, const ConfigSource *s, size_t *ret_size) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(resident_send_reload(sv[1], &live, t, s, &next_process), 0);
        close(sv[1]);
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        ssize_t k;
        while ((k = read(sv[0], buf + n, cap - n)) > 0)
                n += (size_t) k;
        assert_true(n < cap);
        close(sv[0]);
        *ret_size = n;
        return buf;
}

static int setup(void **state) {
        capture_logs(state);
        Config *old = parse(old_text), *next = parse(new_text);
        live_v[0] = (Listener) { .fd = -1, .address = old->listen[0].address,
                                 .shape = { .family = AF_INET6, .ipv4 = true, .ipv6 = true } };
        live_v[1] = (Listener) { .fd = -1, .address = old->listen[1].address, .shape = { .family = AF_INET, .ipv4 = true } };
        live = (ListenerSet) { .v = live_v, .n = 2, .catch_all = catch_all };
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(plan_keys(old, live_v[i].shape, &catch_all, &live_v[i].keys, &live_v[i].n_keys), 0);
                snapshot_v[i] = live_v[i];
                snapshot_keys[i] = malloc(live_v[i].n_keys * sizeof(KeyEntry));
                memcpy(snapshot_keys[i], live_v[i].keys, live_v[i].n_keys * sizeof(KeyEntry));
        }
        assert_int_equal(reload_plan(&live, old, next, &target), 0);
        static const char text[] = "C/etc/t.conf\0the text"; /* a record as config-files.c writes it */
        source = (ConfigSource) { malloc(sizeof text - 1), sizeof text - 1 };
        memcpy(source.data, text, source.size);
        message = send_to_bytes(&target, &source, &message_size);
        config_free(old);
        config_free(next);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        for (size_t i = 0; i < 2; i++) {
                key_table_free(live_v[i].keys, live_v[i].n_keys);
                free(snapshot_keys[i]);
        }
        reload_target_done(&target);
        config_source_done(&source);
        free(message);
        return 0;
}

/* The live set is exactly as it was: the same tables, the same bytes. */
static void assert_live_untouched(void) {
        for (size_t i = 0; i < 2; i++) {
                assert_ptr_equal(live_v[i].keys, snapshot_v[i].keys);
                assert_int_equal(live_v[i].n_keys, snapshot_v[i].n_keys);
                assert_memory_equal(live_v[i].keys, snapshot_keys[i], live_v[i].n_keys * sizeof(KeyEntry));
        }
}

/* What the inbox makes of bytes buf[0..n), the sender then gone. */
static int inbox_verdict(const char *buf, size_t n, ResidentInbox *in) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        if (n)
                assert_int_equal(write(sv[1], buf, n), (ssize_t) n);
        close(sv[1]);
        *in = (ResidentInbox) { 0 };
        int r;
        while ((r = resident_inbox_read(in, sv[0])) == 0)
                ;
        close(sv[0]);
        return r;
}

static void test_whole_message_is_taken(void **state) {
        (void) state;
        ResidentInbox in;
        ReloadTarget t;
        ConfigSource s;
        ReloadNext n;
        assert_int_equal(inbox_verdict(message, message_size, &in), 1);
        assert_int_equal(resident_parse_reload(in.buf, in.size, &live, &t, &s, &n), 0);
        assert_int_equal(t.n, 2);
        assert_true(t.borrowed);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(t.tables[i].n, target.tables[i].n);
                assert_memory_equal(t.tables[i].v, target.tables[i].v, t.tables[i].n * sizeof(KeyEntry));
        }
        assert_int_equal(t.new.on, 1); /* KeepAlive=yes in new_text: the first option */
        assert_int_equal(t.old.on, 0);
        assert_int_equal(s.size, source.size);
        assert_memory_equal(s.data, source.data, s.size);
        assert_int_equal(n.accept.max_connections, 7);
        assert_int_equal(n.accept.max_connections_per_source, 2);
        assert_true(n.accept.inetd);
        assert_int_equal(n.command_size, sizeof command_block);
        assert_memory_equal(n.command, command_block, sizeof command_block);
        char *path, **argv;
        assert_int_equal(reload_next_words(&n, &path, &argv), 0);
        assert_string_equal(path, "/bin/cat");
        assert_string_equal(argv[0], "cat");
        assert_string_equal(argv[1], "-u");
        assert_null(argv[2]);
        free(path);
        strv_free(argv);
        assert_live_untouched();
        reload_target_done(&t);
        resident_inbox_done(&in);
}

/* The sender killed after any byte: never a whole message, and nothing of
 * it reaches the live tables. */
static void test_cut_at_every_byte_is_refused(void **state) {
        (void) state;
        for (size_t k = 0; k < message_size; k++) {
                ResidentInbox in;
                int r = inbox_verdict(message, k, &in);
                if (r != -EPIPE)
                        fail_msg("cut after %zu of %zu bytes: %d, not -EPIPE", k, message_size, r);
                resident_inbox_done(&in);
                /* The parser alone, given what came after the size, refuses it too. */
                if (k >= sizeof(uint64_t)) {
                        ReloadTarget t;
                        ConfigSource s;
                        ReloadNext n;
                        const char *rest = message + sizeof(uint64_t);
                        if (resident_parse_reload(rest, k - sizeof(uint64_t), &live, &t, &s, &n) != -EBADMSG)
                                fail_msg("parsing %zu of %zu bytes did not fail", k - sizeof(uint64_t),
                                         message_size - sizeof(uint64_t));
                }
                assert_live_untouched();
        }
}

static void test_byte_too_many_is_refused(void **state) {
        (void) state;
        char *more = malloc(message_size + 1);
        memcpy(more, message, message_size);
        more[message_size] = 'x';
        ResidentInbox in;
        assert_int_equal(inbox_verdict(more, message_size + 1, &in), -EBADMSG);
        resident_inbox_done(&in);
        free(more);
}

static void test_announced_size_out_of_bounds_is_refused(void **state) {
        (void) state;
        uint64_t sizes[] = { (uint64_t) RESIDENT_RELOAD_MAX + 1, UINT64_MAX };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                ResidentInbox in;
                assert_int_equal(inbox_verdict((const char *) &sizes[i], sizeof sizes[i], &in), -EBADMSG);
                resident_inbox_done(&in);
        }
}

/* The message after the size, as resident.c lays it out: a header
 * (listeners, source size, command size, the accept settings, the option
 * bytes, inetd), then per listener its address, shape, ao_required and
 * count, then the entries; then the source, then the command block. The
 * options: old and new, a bit for each socket option of the settings
 * table. */
typedef struct WireHeader {
        uint64_t n_listeners, source_size, command_size;
        uint32_t max_connections, max_connections_per_source;
        uint32_t options[2];
        uint8_t inetd;
} WireHeader;
typedef struct WireListener {
        ListenAddress address;
        ListenerShape shape;
        bool ao_required;
        size_t n_keys;
} WireListener;

static char *body;
static size_t body_size;

static void body_reset(void) {
        body_size = message_size - sizeof(uint64_t);
        free(body);
        body = malloc(body_size);
        memcpy(body, message + sizeof(uint64_t), body_size);
}

static WireHeader *header(void) { return (WireHeader *) body; }
static WireListener *listener(size_t i) {
        size_t off = sizeof(WireHeader);
        for (size_t j = 0; j < i; j++)
                off += sizeof(WireListener) + target.tables[j].n * sizeof(KeyEntry);
        return (WireListener *) (body + off);
}
static KeyEntry *entry(size_t i, size_t j) { return (KeyEntry *) (listener(i) + 1) + j; }

static void assert_body_refused(const char *what) {
        ReloadTarget t;
        ConfigSource s;
        ReloadNext n;
        int r = resident_parse_reload(body, body_size, &live, &t, &s, &n);
        if (r != -EBADMSG)
                fail_msg("%s: %d, not -EBADMSG", what, r);
        assert_live_untouched();
        body_reset();
}

static void test_layout_is_as_described(void **state) {
        (void) state;
        body_reset();
        assert_int_equal(header()->n_listeners, 2);
        assert_int_equal(listener(1)->n_keys, target.tables[1].n);
        assert_int_equal(body_size, (size_t) ((char *) entry(1, target.tables[1].n) - body) + source.size +
                                            sizeof command_block);
        assert_memory_equal(body + body_size - sizeof command_block, command_block, sizeof command_block);
        assert_int_equal(header()->max_connections, 7);
        ReloadTarget t;
        ConfigSource s;
        ReloadNext n;
        assert_int_equal(resident_parse_reload(body, body_size, &live, &t, &s, &n), 0);
        reload_target_done(&t);
}

static void test_garbage_counts_are_refused(void **state) {
        (void) state;
        body_reset();
        static const uint64_t listeners[] = { 0, 1, 3, UINT32_MAX, UINT64_MAX };
        for (size_t i = 0; i < ELEMENTSOF(listeners); i++) {
                header()->n_listeners = listeners[i];
                assert_body_refused("listener count");
        }
        static const size_t keys_delta[] = { 1, 2, 1000 };
        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < ELEMENTSOF(keys_delta); i++) {
                        listener(l)->n_keys += keys_delta[i];
                        assert_body_refused("a key count too high");
                        listener(l)->n_keys -= 1;
                        assert_body_refused("a key count too low");
                }
        static const size_t huge[] = { SIZE_MAX, SIZE_MAX / sizeof(KeyEntry) + 1, (size_t) 1 << 60 };
        for (size_t i = 0; i < ELEMENTSOF(huge); i++) {
                listener(0)->n_keys = huge[i];
                assert_body_refused("a huge key count");
        }
        header()->source_size += 1;
        assert_body_refused("a source size too high");
        header()->source_size -= 1;
        assert_body_refused("a source size too low");
        header()->source_size = UINT64_MAX;
        assert_body_refused("a huge source size");
        header()->options[1] = 4;
        assert_body_refused("an option this build does not have");
        header()->options[0] = UINT32_MAX;
        assert_body_refused("every bit set");
        header()->command_size += 1;
        assert_body_refused("a command size too high");
        header()->command_size -= 1;
        assert_body_refused("a command size too low");
        header()->max_connections = 0;
        assert_body_refused("MaxConnections=0");
        header()->max_connections_per_source = 1000001;
        assert_body_refused("MaxConnectionsPerSource= out of range");
        header()->inetd = 2;
        assert_body_refused("an inetd that is not 0 or 1");
        body[body_size - 1] = 'x';
        assert_body_refused("a command block not ended");
        body[body_size - sizeof command_block] = 0;
        assert_body_refused("an empty path");
        memcpy(body + body_size - sizeof command_block, "/bin/cat-noargv", sizeof command_block);
        assert_body_refused("a path without words"); /* one NUL: the last byte */
}

static void test_foreign_listener_is_refused(void **state) {
        (void) state;
        body_reset();
        listener(0)->address.port++;
        assert_body_refused("another port");
        listener(1)->shape.ipv6 = true;
        assert_body_refused("another shape");
}

static void test_malformed_entries_are_refused(void **state) {
        (void) state;
        body_reset();
        entry(1, 0)->prefixlen = 33;
        assert_body_refused("an IPv4 prefix of 33");
        entry(0, 0)->prefixlen = 129;
        assert_body_refused("an IPv6 prefix of 129");
        entry(1, 0)->family = AF_INET6;
        assert_body_refused("an IPv6 entry on an IPv4 listener");
        entry(0, 0)->family = AF_UNIX;
        assert_body_refused("an entry of another family");
        entry(0, 1)->secret.len = 0;
        assert_body_refused("an empty secret");
        entry(0, 1)->secret.len = SECRET_MAX + 1;
        assert_body_refused("a secret of 81 bytes");
        memset(entry(1, 1)->name, 'x', sizeof entry(1, 1)->name);
        assert_body_refused("an unterminated name");
        entry(1, 1)->ifindex = -1;
        assert_body_refused("a negative interface");
        memcpy(entry(1, 1), entry(1, 0), sizeof(KeyEntry));
        assert_body_refused("the same prefix twice");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whole_message_is_taken),
                cmocka_unit_test(test_cut_at_every_byte_is_refused),
                cmocka_unit_test(test_byte_too_many_is_refused),
                cmocka_unit_test(test_announced_size_out_of_bounds_is_refused),
                cmocka_unit_test(test_layout_is_as_described),
                cmocka_unit_test(test_garbage_counts_are_refused),
                cmocka_unit_test(test_foreign_listener_is_refused),
                cmocka_unit_test(test_malformed_entries_are_refused),
        };
        int r = cmocka_run_group_tests(tests, setup, teardown);
        free(body);
        return r;
}
