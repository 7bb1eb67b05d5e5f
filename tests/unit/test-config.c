/* Unit tests for the config language: settings, merge rules across files,
 * and every error naming its file:line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common.h"
#include "config.h"
#include "util.h"

static Config *c;

static int setup(void **state) {
        capture_logs(state);
        c = config_new("unit");
        return c ? 0 : -1;
}
static int teardown(void **state) {
        (void) state;
        config_free(c);
        c = NULL;
        return 0;
}

static int parse(const char *path, const char *text) {
        return config_parse_text(c, path, text, strlen(text), NULL);
}

/* Parses text as a fresh single file and expects an error naming where. */
static void expect_error(const char *text, const char *where, const char *what) {
        Config *saved = c;
        c = config_new("err");
        last_log[0] = 0;
        int r = parse("f.conf", text);
        if (r >= 0)
                r = config_validate(c, false);
        if (r >= 0)
                fail_msg("accepted: %s", text);
        assert_log_contains(where);
        assert_log_contains(what);
        config_free(c);
        c = saved;
}

static const char base[] = "[Socket]\n"
                           "ListenStream = 2222\n"
                           "ListenStream = 127.0.0.1:2223\n"
                           "Backlog = 16\n"
                           "[Service]\n"
                           "ExecStart = /usr/sbin/sshd -i -o 'Banner none'\n"
                           "[Key office]\n"
                           "Peer = 192.0.2.0/24\n"
                           "Peer = 2001:db8:100::/48\n"
                           "SecretHex = 68656c6c6f\n";

static void settings_basic(void **state) {
        (void) state;
        assert_int_equal(parse("main.conf", base), 0);
        assert_int_equal(config_validate(c, false), 0);
        assert_int_equal(c->n_listen, 2);
        assert_int_equal(c->backlog, 16);
        assert_string_equal(c->exec_start[0], "/usr/sbin/sshd");
        assert_string_equal(c->exec_start[3], "Banner none");
        assert_null(c->exec_start[4]);
        KeyConfig *k = config_find_key(c, "office");
        assert_non_null(k);
        assert_int_equal(k->n_peers, 2);
        assert_int_equal(k->source, SECRET_SOURCE_HEX);
        assert_int_equal(k->secret.len, 5);
        assert_memory_equal(k->secret.bytes, "hello", 5);
        assert_int_equal(k->peers[1].origin.line, 9);
        assert_string_equal(k->peers[1].origin.file, "main.conf");
}

static void merge_rules(void **state) {
        (void) state;
        assert_int_equal(parse("main.conf", base), 0);
        /* Later scalar wins, lists append, empty resets, keys merge by name. */
        assert_int_equal(parse("10-drop.conf", "[Socket]\n"
                                               "Backlog = 32\n"
                                               "ListenStream = 3333\n"
                                               "[Key office]\n"
                                               "Secret = replaced\n"
                                               "[Key lab]\n"
                                               "Peer = 198.51.100.7\n"
                                               "SecretHex = 00ff\n"),
                         0);
        assert_int_equal(c->backlog, 32);
        assert_int_equal(c->n_listen, 3);
        KeyConfig *office = config_find_key(c, "office");
        assert_int_equal(office->source, SECRET_SOURCE_LITERAL);
        assert_memory_equal(office->secret.bytes, "replaced", 8);
        assert_int_equal(office->n_peers, 2);
        assert_int_equal(c->n_keys, 2);

        assert_int_equal(parse("20-reset.conf", "[Socket]\n"
                                                "ListenStream =\n"
                                                "ListenStream = 4444\n"
                                                "Backlog =\n"
                                                "[Key office]\n"
                                                "Peer =\n"
                                                "Peer = 203.0.113.0/24\n"
                                                "[Service]\n"
                                                "ExecStart = /bin/true\n"),
                         0);
        assert_int_equal(c->n_listen, 1);
        assert_int_equal(c->listen[0].address.port, 4444);
        assert_int_equal(c->backlog, CONFIG_BACKLOG_DEFAULT);
        assert_int_equal(config_find_key(c, "office")->n_peers, 1);
        assert_string_equal(c->exec_start[0], "/bin/true");
        assert_int_equal(config_validate(c, false), 0);
}

static void many_keys_linear(void **state) {
        (void) state;
        /* 20 000 sections: the name index keeps this instant. */
        size_t n = 20000, size = n * 80 + 64;
        char *text = malloc(size), *p = text;
        p += sprintf(p, "[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n");
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "[Key k%zu]\nPeer=10.%zu.%zu.%zu\nSecretHex=0102\n", i, i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(parse("big.conf", text), 0);
        assert_int_equal(c->n_keys, n);
        assert_non_null(config_find_key(c, "k19999"));
        assert_null(config_find_key(c, "k20000"));
        assert_int_equal(config_validate(c, false), 0);
        free(text);
}

static void secret_needs_private_file(void **state) {
        (void) state;
        struct stat st = { .st_mode = S_IFREG | 0644, .st_uid = 0 };
        const char *t = "[Key a]\nPeer=any\nSecret = x\n";
        assert_int_equal(config_parse_text(c, "open.conf", t, strlen(t), &st), -EACCES);
        assert_log_contains("open.conf:3");
        assert_log_contains("chmod 600");
        st.st_mode = S_IFREG | 0600;
        assert_int_equal(config_parse_text(c, "closed.conf", t, strlen(t), &st), 0);
}

/* A line too long for inih's buffer is read whole, and means what it would
 * mean if inih could read it: a 1000-character command, a value cut at a
 * " ;" comment and trimmed, a long comment, a header with a long comment. */
static void long_lines_read_whole(void **state) {
        (void) state;
        char text[4096], words[1024] = "";
        for (int i = 0; i < 99; i++) /* 99 words of 9 characters and a space */
                snprintf(words + strlen(words), sizeof words - strlen(words), "word%05d ", i);
        snprintf(text, sizeof text,
                 "# %0300d\n"
                 "[Socket] ; %0300d\n"
                 "Backlog    =   16   ; %0300d\n"
                 "[Service]\n"
                 "ExecStart = /bin/echo %s  \r\n"
                 "[Key k]\nPeer = any\nSecretHex = 6162\n", 0, 0, 0, words);
        assert_int_equal(parse("long.conf", text), 0);
        assert_int_equal(c->backlog, 16);
        assert_int_equal(strv_length(c->exec_start), 100);
        assert_string_equal(c->exec_start[0], "/bin/echo");
        assert_string_equal(c->exec_start[99], "word00098");
        assert_int_equal(c->origin[SETTING_EXEC_START].line, 5);
        /* The rules of short lines hold for long ones. */
        snprintf(text, sizeof text, "[Service]\nExecStart = /bin/echo %s ; x\n", words);
        expect_error(text, "f.conf:2", "' ;' starts a comment");
        snprintf(text, sizeof text, "[Socket]\n  Backlog = 1 %0300d\n", 0);
        expect_error(text, "f.conf:2", "indented");
        snprintf(text, sizeof text, "[Service]\nExecStart = /bin/echo %s\\\n", words);
        expect_error(text, "f.conf:2", "no line continuation");
}

static void line_errors(void **state) {
        (void) state;
        char *longline = malloc(CONFIG_LINE_MAX + 30);
        assert_non_null(longline);
        memset(longline, 'x', CONFIG_LINE_MAX + 29);
        memcpy(longline, "[Socket]\nBacklog=", 17);
        longline[CONFIG_LINE_MAX + 29] = 0; /* line 2: CONFIG_LINE_MAX + 21 characters */
        expect_error(longline, "f.conf:2", "longer than 16384 characters");
        free(longline);
        expect_error("[Socket]\n[Key abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij]\n", "f.conf:2",
                     "section name is longer");
        expect_error("[Socket]\nListenStream=1\n  Backlog=3\n", "f.conf:3", "indented");
        expect_error("[Socket\n", "f.conf:1", "without ']'");
        expect_error("[Socket]\njunk\n", "f.conf:2", "expected [Section]");
        expect_error("Backlog=1\n", "f.conf:1", "before any [Section]");
        expect_error("[Sockets]\nBacklog=1\n", "f.conf:1", "unknown section [Sockets]");
        expect_error("[Socket]\n\n# c\nBaclog=1\n", "f.conf:4", "unknown setting Baclog=");
        expect_error("[Socket]\nFreeBind=maybe\n", "f.conf:2", "not a boolean");
        expect_error("[Socket]\nBacklog=0\n", "f.conf:2", "out of range");
        expect_error("[Socket]\nBacklog=70000\n", "f.conf:2", "out of range");
        expect_error("[Socket]\nBacklog=12a\n", "f.conf:2", "not a number");
        expect_error("[Socket]\nBindIPv6Only=sometimes\n", "f.conf:2", "not one of");
        expect_error("[Socket]\nListenStream=1.2.3.4\n", "f.conf:2", "ListenStream=");
        expect_error("[Socket]\nListenStream=70000\n", "f.conf:2", "out of range");
        expect_error("[Socket]\nFileDescriptorName=a:b\n", "f.conf:2", "not allowed");
        expect_error("[Service]\nExecStart=/bin/echo 'open\n", "f.conf:2", "unterminated quote");
        expect_error("[Service]\nExecStart=-/bin/true\n", "f.conf:2", "prefixes");
        expect_error("[Key off ice]\nPeer=any\n", "f.conf:2", "key name");
        expect_error("[Key a]\nPeer=192.0.2.1/24\n", "f.conf:2", "did you mean 192.0.2.0/24");
        expect_error("[Key a]\nPeer=::ffff:1.2.3.4\n", "f.conf:2", "IPv4-mapped");
        expect_error("[Key a]\nPeer=10.0.0.0/40\n", "f.conf:2", "out of range");
        expect_error("[Key a]\nSecretHex=abc\n", "f.conf:2", "hex");
        expect_error("[Key a]\nSecretHex=zz\n", "f.conf:2", "hex");
        expect_error("[Key a]\nSecretFile=relative.key\n", "f.conf:2", "absolute");
        expect_error("[Key a]\nCredential=../x\n", "f.conf:2", "credential name");
        expect_error("[Key a]\nSecret = abc ;comment\n", "f.conf:2", "' ;'");
        expect_error("[Key a]\nSecret = abc \n", "f.conf:2", "whitespace");
        char big[200];
        snprintf(big, sizeof big, "[Key a]\nSecret=%081d\n", 0);
        expect_error(big, "f.conf:2", "longer than 80 bytes");
        snprintf(big, sizeof big, "[Key a]\nSecretHex=%0162d\n", 0);
        expect_error(big, "f.conf:2", "longer than 80 bytes");
}

/* Each message says what to do: the nearest known name, the accepted
 * values, why a systemd habit does not work here. */
static void messages_say_what_to_do(void **state) {
        (void) state;
        expect_error("[Socket]\nListenStrem=1\n", "f.conf:2", "unknown setting ListenStrem= in [Socket] (did you "
                     "mean ListenStream=?)");
        expect_error("[Socket]\nlistenstream=1\n", "f.conf:2", "(did you mean ListenStream=?)");
        expect_error("[Key a]\nPer=any\n", "f.conf:2", "unknown setting Per= in [Key a] (did you mean Peer=?)");
        expect_error("[Socket]\nExecStart=/bin/true\n", "f.conf:2", "ExecStart= belongs in [Service]");
        expect_error("[Service]\nPeer=any\n", "f.conf:2", "Peer= belongs in [Key NAME]");
        expect_error("[Socket]\nFrobnicate=1\n", "f.conf:2", "unknown setting Frobnicate= in [Socket]");
        if (strstr(last_log, "did you mean") || strstr(last_log, "belongs"))
                fail_msg("a far name got a hint: %s", last_log);
        expect_error("[key office]\nPeer=any\n", "f.conf:1", "unknown section [key office] (did you mean [Key office]?)");
        expect_error("[Keys office]\nPeer=any\n", "f.conf:1", "(did you mean [Key office]?)");
        expect_error("[Sokcet]\nBacklog=1\n", "f.conf:1", "(did you mean [Socket]?)");
        expect_error("[service]\nExecStart=/bin/true\n", "f.conf:1", "(did you mean [Service]?)");
        expect_error("[Key]\nPeer=any\n", "f.conf:1", "[Key] needs a name: [Key NAME]");
        expect_error("[Unit]\nDescription=x\n", "f.conf:1", "(expected [Socket], [Service] or [Key NAME])");
        expect_error("[Socket]\nBindIPv6Only=true\n", "f.conf:2", "accepted values: default, both, ipv6-only");
        expect_error("[Socket]\nUnmatchedPeers=deny\n", "f.conf:2", "accepted values: drop, allow-unsigned");
        expect_error("[Socket]\nListenStream=/run/foo.sock\n", "f.conf:2", "a unix socket path, which is not "
                     "supported: TCP MD5 needs TCP");
        expect_error("[Socket]\nListenStream=@foo\n", "f.conf:2", "an abstract unix socket, which is not supported");
        expect_error("[Socket]\nListenStream=vsock:2:22\n", "f.conf:2", "a vsock address, which is not supported");
        expect_error("[Socket]\nListenStream=localhost:22\n", "f.conf:2", "names a host");
        expect_error("[Key a]\nPeer=router.example.org\n", "f.conf:2", "is a host name: Peer= takes addresses and "
                     "prefixes");
        expect_error("[Key a]\nPeer=router/24\n", "f.conf:2", "is a host name");
        expect_error("[Key a]\nPeer=fe80::g\n", "f.conf:2", "is not an address");
        expect_error("[Service]\nExecStart=/bin/sh -c 'a ; b'\n", "f.conf:2", "' ;' starts a comment in this file "
                     "format");
        expect_error("[Service]\nExecStart=/bin/a ; /bin/b\n", "f.conf:2", "write the ';' as '\\;'");
        expect_error("[Service]\nExecStart=/bin/a \\\n", "f.conf:2", "ExecStart=: a '\\' at the end of a line");
        expect_error("[Socket]\nListenStream=22\\ ; a comment\n", "f.conf:2", "no line continuation");
        expect_error("[Key a]\nSecretHex=0xdeadbeef\n", "f.conf:2", "bare hex digits, two per byte");
        expect_error("[Key a]\nSecretHex=de:ad:be:ef\n", "f.conf:2", "without '0x', ':' or spaces");
        if (strstr(last_log, "ad"))
                fail_msg("the secret is in the message: %s", last_log);
        expect_error("[Key a]\nSecretHex=abc\n", "f.conf:2", "an odd number of hex digits");
        expect_error("[Key a]\nCredential=a:b\n", "f.conf:2", "not a credential name");
}

/* What the hints above are made of; controls for what must stay quiet. */
static void distances_and_names(void **state) {
        (void) state;
        assert_int_equal(str_distance("ListenStrem", "ListenStream"), 1);
        assert_int_equal(str_distance("key", "Key"), 0);
        assert_int_equal(str_distance("Sokcet", "Socket"), 2);
        assert_int_equal(str_distance("", "abc"), 3);
        assert_int_equal(str_distance("kitten", "sitting"), 3);
        assert_true(credential_name_valid("office.key"));
        assert_true(credential_name_valid(".hidden"));
        assert_false(credential_name_valid(""));
        assert_false(credential_name_valid(".."));
        assert_false(credential_name_valid("a/b"));
        assert_false(credential_name_valid("a:b"));
        assert_false(credential_name_valid("a\tb"));
        /* Accepted: an escaped backslash at the end, a ';' that starts no comment. */
        assert_int_equal(parse("ok.conf", "[Service]\nExecStart=/bin/sh -c 'a \\; b' x\\\\\n"), 0);
        assert_string_equal(c->exec_start[2], "a ; b");
        assert_string_equal(c->exec_start[3], "x\\");
        assert_int_equal(parse("ok.conf", "[Socket]\nListenStream=22 ; other settings keep inline comments\n"), 0);
        assert_int_equal(c->n_listen, 1);
}

static void nul_byte(void **state) {
        (void) state;
        static const char t[] = "[Socket]\nBacklog=1\0 2\n";
        assert_int_equal(config_parse_text(c, "nul.conf", t, sizeof t - 1, NULL), -EBADMSG);
        assert_log_contains("nul.conf:2");
        assert_log_contains("NUL");
}

static void validate_errors(void **state) {
        (void) state;
        expect_error("[Service]\nExecStart=/bin/true\n[Key a]\nPeer=any\nSecret=x\n", "f.conf", "no ListenStream=");
        expect_error("[Socket]\nListenStream=1\n[Key a]\nPeer=any\nSecret=x\n", "f.conf", "no command");
        expect_error("[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n", "f.conf", "no [Key NAME]");
        expect_error("[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n[Key a]\nSecret=x\n", "f.conf:5",
                     "[Key a] has no Peer=");
        expect_error("[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n[Key a]\nPeer=any\n", "f.conf:5",
                     "[Key a] has no secret");
        expect_error("[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n"
                     "[Key a]\nPeer=192.0.2.0/24\nSecret=x\n[Key b]\nPeer=192.0.2.0/24\nSecret=y\n",
                     "f.conf:9", "already claimed by [Key a] at f.conf:6");
        expect_error("[Socket]\nListenStream=1\nInetd=yes\n[Service]\nExecStart=/bin/true\n[Key a]\nPeer=any\nSecret=x\n",
                     "f.conf:3", "Inetd=yes needs Accept=yes");
        expect_error("[Socket]\nListenStream=1\nReusePort=yes\n[Service]\nExecStart=/bin/true\n[Key a]\nPeer=any\nSecret=x\n",
                     "f.conf:3", "could join the port without keys");
}

static void allow_unsigned_without_keys(void **state) {
        (void) state;
        assert_int_equal(parse("p.conf", "[Socket]\nListenStream=1\nUnmatchedPeers=allow-unsigned\n"), 0);
        assert_int_equal(config_validate(c, true), 0);
        assert_int_equal(c->unmatched_peers, UNMATCHED_PEERS_ALLOW_UNSIGNED);
}


/* ---- TCP-AO keys ---- */

#define AO_HEAD "[Socket]\nListenStream=1\n[Service]\nExecStart=/bin/true\n"

static void ao_keys_parse(void **state) {
        (void) state;
        assert_int_equal(parse("ao.conf", AO_HEAD
                               "[Key old]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=2\nSecret=a\n"
                               "[Key new]\nPeer=192.0.2.0/24\nAlgorithm=cmac(aes128)\nSendID=3\nRecvID=4\n"
                               "MACLength=16\nSecret=b\n"
                               "[Key strong]\nPeer=2001:db8::/32\nAlgorithm=hmac(sha512)\nSendID=0\nRecvID=255\n"
                               "Secret=c\n"
                               "[Key md5]\nPeer=198.51.100.0/24\nSecret=d\n"), 0);
        assert_int_equal(config_validate(c, false), 0);
        const KeyConfig *o = config_find_key(c, "old"), *n = config_find_key(c, "new"), *m = config_find_key(c, "md5");
        assert_true(key_is_ao(o));
        assert_string_equal(o->algorithm, "hmac(sha1)");
        assert_int_equal(o->send_id, 1);
        assert_int_equal(o->recv_id, 2);
        assert_int_equal(o->mac_length, 0);
        assert_string_equal(n->algorithm, "cmac(aes128)");
        assert_int_equal(n->mac_length, 16);
        assert_int_equal(config_find_key(c, "strong")->recv_id, 255);
        assert_false(key_is_ao(m));
        /* A drop-in turns a TCP-AO key back into MD5 by emptying its settings. */
        assert_int_equal(parse("50-md5.conf", "[Key strong]\nAlgorithm=\nSendID=\nRecvID=\n"), 0);
        assert_false(key_is_ao(config_find_key(c, "strong")));
        assert_int_equal(config_validate(c, false), 0);
        /* ...which then may not share a prefix with a TCP-AO key. */
        assert_int_equal(parse("60-md5.conf", "[Key old]\nAlgorithm=\nSendID=\nRecvID=\n"), 0);
        assert_int_equal(config_validate(c, false), -EBADMSG);
        assert_log_contains("[Key new] Peer=192.0.2.0/24: TCP-AO key for peers that TCP MD5 [Key old]");
}

static void ao_refusals(void **state) {
        (void) state;
        /* Each says what to write. */
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac-sha1\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:7",
                     "did you mean hmac(sha1)?");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac sha256\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:7",
                     "did you mean hmac(sha256)?");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=aes-128-cmac\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:7",
                     "did you mean cmac(aes128)?");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=md5\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:7",
                     "write hmac(sha1) or cmac(aes128)");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=256\nRecvID=1\nSecret=x\n", "f.conf:8",
                     "256 is out of range (0..255)");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=-1\nSecret=x\n", "f.conf:9",
                     "RecvID=");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:7",
                     "SendID= makes a TCP-AO key, which needs Algorithm=");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nMACLength=12\nSecret=x\n", "f.conf:7", "needs Algorithm=");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=1\nSecret=x\n", "f.conf:7",
                     "Algorithm=hmac(sha1) needs SendID= and RecvID=");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=cmac(aes128)\nSendID=1\nRecvID=1\nMACLength=20\n"
                     "Secret=x\n", "f.conf:10", "cmac(aes128) takes 12..16 bytes");
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nMACLength=4\n"
                     "Secret=x\n", "f.conf:10", "hmac(sha1) takes 12..20 bytes");
        /* Same prefix: the IDs must differ, both of them. */
        expect_error(AO_HEAD "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n"
                     "[Key b]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=2\nSecret=y\n", "f.conf:12",
                     "SendID=1 is also [Key a]'s (f.conf:6");
        expect_error(AO_HEAD "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n"
                     "[Key b]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=2\nRecvID=1\nSecret=y\n", "f.conf:12",
                     "RecvID=1 is also [Key a]'s");
        /* An overlapping prefix is the same peer to the kernel. */
        expect_error(AO_HEAD "[Key a]\nPeer=192.0.0.0/16\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n"
                     "[Key b]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=2\nRecvID=1\nSecret=y\n", "f.conf:12",
                     "for a rollover, give the new key new IDs");
        /* TCP-AO and MD5 for the same or overlapping peers, in either order. */
        expect_error(AO_HEAD "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n"
                     "[Key m]\nPeer=192.0.2.0/24\nSecret=y\n", "f.conf:6",
                     "TCP-AO key for peers that TCP MD5 [Key m] (f.conf:12, Peer=192.0.2.0/24) covers too");
        expect_error(AO_HEAD "[Key m]\nPeer=192.0.0.0/16\nSecret=y\n"
                     "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:9",
                     "give the two keys prefixes that do not overlap");
        expect_error(AO_HEAD "[Key a]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n"
                     "[Key m]\nPeer=any\nSecret=y\n", "f.conf:6", "[Key m]");
        /* The kernel refuses a TCP-AO prefix at the all-zeros address but 'any'. */
        expect_error(AO_HEAD "[Key a]\nPeer=0.0.0.0/8\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:6",
                     "no TCP-AO key for a prefix at the all-zeros address other than 'any'");
        expect_error(AO_HEAD "[Key a]\nPeer=::/16\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=x\n", "f.conf:6",
                     "all-zeros address");
        /* The secret limit is TCP-AO's too: 80 bytes. */
        expect_error(AO_HEAD "[Key a]\nPeer=any\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\n"
                     "SecretHex=" "00112233445566778899001122334455667788990011223344556677889900112233445566778899"
                     "00112233445566778899001122334455667788990011223344556677889900112233445566778899" "00\n",
                     "f.conf:10", "longer than 80 bytes");
}

static void ao_disjoint_and_distinct_ids_pass(void **state) {
        (void) state;
        /* Rollover (same prefix, other IDs), a disjoint AO prefix reusing
         * IDs, and an MD5 key beside them on a prefix of its own. */
        assert_int_equal(parse("ok.conf", AO_HEAD
                               "[Key k1]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=a\n"
                               "[Key k2]\nPeer=192.0.2.0/24\nAlgorithm=hmac(sha1)\nSendID=2\nRecvID=2\nSecret=b\n"
                               "[Key far]\nPeer=203.0.113.0/24\nAlgorithm=hmac(sha1)\nSendID=1\nRecvID=1\nSecret=c\n"
                               "[Key md5]\nPeer=198.51.100.0/24\nSecret=d\n"), 0);
        assert_int_equal(config_validate(c, false), 0);
}

/* 20 000 TCP-AO keys inside one wide TCP-AO key: the overlap check walks
 * nested prefixes (each pair met once), not every pair (4e8 of them would
 * make this test crawl), and still finds the one clash planted last. */
static void many_ao_keys(void **state) {
        (void) state;
        size_t n = 20000, size = n * 110 + 512;
        char *text = malloc(size), *p = text;
        p += sprintf(p, AO_HEAD "[Key wide]\nPeer=10.0.0.0/8\nAlgorithm=hmac(sha1)\nSendID=255\nRecvID=255\nSecret=w\n");
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "[Key k%zu]\nPeer=10.%zu.%zu.%zu\nAlgorithm=hmac(sha1)\nSendID=%zu\nRecvID=%zu\nSecret=k\n", i,
                             i >> 16, (i >> 8) & 255, i & 255, i % 255, i % 255);
        assert_int_equal(parse("big.conf", text), 0);
        assert_int_equal(config_validate(c, false), 0);
        assert_int_equal(parse("clash.conf", "[Key last]\nPeer=10.0.78.31\nAlgorithm=hmac(sha1)\nSendID=254\nRecvID=255\n"
                               "Secret=x\n"), 0);
        assert_int_equal(config_validate(c, false), -EBADMSG);
        assert_log_contains("clash.conf:2: [Key last] Peer=10.0.78.31/32: RecvID=255 is also [Key wide]'s");
        free(text);
}

/* ---- reload policies ---- */

static void every_setting_declares_a_reload_policy(void **state) {
        (void) state;
        const char *section, *name;
        ReloadPolicy reload;
        SettingId id;
        unsigned seen[_SETTING_MAX] = { 0 };
        size_t i = 0;
        for (; config_setting(i, &section, &name, &reload, &id); i++) {
                if (reload <= RELOAD_UNDECLARED || reload >= _RELOAD_POLICY_MAX)
                        fail_msg("%s= in [%s] declares no reload policy", name, section);
                if (strcmp(section, "Key") == 0) {
                        assert_int_equal(id, _SETTING_MAX);
                        continue;
                }
                /* Config.origin keeps one line per setting, for the reload's messages. */
                if (id >= _SETTING_MAX || seen[id]++)
                        fail_msg("%s= in [%s] has no SettingId of its own", name, section);
        }
        for (size_t k = 0; k < _SETTING_MAX; k++)
                if (!seen[k])
                        fail_msg("SettingId %zu belongs to no row of the settings table", k);
        assert_true(i > _SETTING_MAX);
}

/* Two values for every [Socket] and [Service] setting; the second is
 * never the default. A new setting needs a line here. */
static const struct {
        const char *name, *a, *b;
} change_values[] = {
        { "ListenStream", "2222", "2223" },
        { "BindIPv6Only", "both", "ipv6-only" },
        { "Backlog", "16", "17" },
        { "FreeBind", "no", "yes" },
        { "ReusePort", "no", "yes" },
        { "BindToDevice", "lo", "eth0" },
        { "FileDescriptorName", "a", "b" },
        { "UnmatchedPeers", "drop", "allow-unsigned" },
        { "Accept", "no", "yes" },
        { "Inetd", "no", "yes" },
        { "OnDemand", "no", "yes" },
        { "MaxConnections", "1", "3" },
        { "MaxConnectionsPerSource", "1", "2" },
        { "KeepAlive", "no", "yes" },
        { "NoDelay", "no", "yes" },
        { "ExecStart", "/bin/true", "/bin/true x" },
};

static Config *config_with(const char *file, const char *section, const char *name, const char *value) {
        char text[256];
        Config *x = config_new("unit");
        assert_non_null(x);
        snprintf(text, sizeof text, "[%s]\n# comment\n%s = %s\n", section, name, value);
        assert_int_equal(config_parse_text(x, file, text, strlen(text), NULL), 0);
        return x;
}

/* The live socket options come from their rows: each one's option, its
 * value from the config, and off without one. */
static void socket_options_come_from_the_table(void **state) {
        (void) state;
        SocketOption o;
        Config *x = config_with("a.conf", "Socket", "NoDelay", "yes");
        assert_true(config_socket_option(0, &o));
        assert_string_equal(o.label, "SO_KEEPALIVE");
        assert_int_equal(o.level, SOL_SOCKET);
        assert_int_equal(o.name, SO_KEEPALIVE);
        assert_true(config_socket_option(1, &o));
        assert_string_equal(o.label, "TCP_NODELAY");
        assert_int_equal(o.level, IPPROTO_TCP);
        assert_int_equal(o.name, TCP_NODELAY);
        assert_false(config_socket_option(2, &o));
        assert_int_equal(config_socket_option_values(x), 2); /* NoDelay=yes only */
        assert_int_equal(config_socket_option_values(NULL), 0);
        config_free(x);
}

static void reload_notices_every_setting(void **state) {
        (void) state;
        const char *section, *name;
        ReloadPolicy reload;
        SettingId id;
        SettingChange ch[_SETTING_MAX];
        for (size_t i = 0; config_setting(i, &section, &name, &reload, &id); i++) {
                if (strcmp(section, "Key") == 0)
                        continue; /* the key plan's diff: test-reload.c */
                size_t v = 0;
                while (v < ELEMENTSOF(change_values) && strcmp(change_values[v].name, name) != 0)
                        v++;
                if (v == ELEMENTSOF(change_values))
                        fail_msg("no test values for %s=", name);
                Config *a = config_with("a.conf", section, name, change_values[v].a);
                Config *same = config_with("same.conf", section, name, change_values[v].a);
                Config *b = config_with("b.conf", section, name, change_values[v].b);
                Config *none = config_new("unit");
                assert_int_equal(config_changes(a, same, ch), 0);
                assert_int_equal(config_changes(a, b, ch), 1);
                assert_string_equal(ch[0].name, name);
                assert_int_equal(ch[0].reload, reload);
                assert_string_equal(ch[0].origin.file, "b.conf");
                assert_int_equal(ch[0].origin.line, 3);
                assert_false(ch[0].unset);
                /* Taken out of the config: named where it was. */
                assert_int_equal(config_changes(b, none, ch), 1);
                assert_true(ch[0].unset);
                assert_string_equal(ch[0].origin.file, "b.conf");
                assert_int_equal(ch[0].origin.line, 3);
                config_free(a);
                config_free(same);
                config_free(b);
                config_free(none);
        }
}

static void reload_policies_as_documented(void **state) {
        (void) state;
        static const struct {
                const char *name;
                ReloadPolicy reload;
        } want[] = {
                { "ListenStream", RELOAD_RESTART },     { "Accept", RELOAD_RESTART },
                { "MaxConnections", RELOAD_LIVE },      { "MaxConnectionsPerSource", RELOAD_LIVE },
                { "KeepAlive", RELOAD_LIVE },           { "NoDelay", RELOAD_LIVE },
                { "ExecStart", RELOAD_NEXT_COMMAND },   { "SecretFile", RELOAD_LIVE },
        };
        const char *section, *name;
        ReloadPolicy reload;
        SettingId id;
        size_t found = 0;
        for (size_t i = 0; config_setting(i, &section, &name, &reload, &id); i++)
                for (size_t k = 0; k < ELEMENTSOF(want); k++)
                        if (strcmp(want[k].name, name) == 0) {
                                assert_int_equal(reload, want[k].reload);
                                found++;
                        }
        assert_int_equal(found, ELEMENTSOF(want));
}

static void changed_listener_names_its_line(void **state) {
        (void) state;
        SettingChange ch[_SETTING_MAX];
        Config *b = config_new("unit");
        assert_int_equal(parse("main.conf", base), 0);
        const char *drop = "[Socket]\nListenStream = 2222\nListenStream = 127.0.0.1:2224\nBacklog = 16\n"
                           "MaxConnections = 3\n[Service]\nExecStart = /usr/sbin/sshd -i -o 'Banner none'\n";
        assert_int_equal(config_parse_text(b, "drop.conf", drop, strlen(drop), NULL), 0);
        /* Backlog: same value from another line is no change. */
        size_t n = config_changes(c, b, ch);
        assert_int_equal(n, 2);
        assert_string_equal(ch[0].name, "ListenStream");
        assert_int_equal(ch[0].origin.line, 3);
        assert_string_equal(ch[1].name, "MaxConnections");
        /* One listener fewer: the line that had it. */
        config_free(b);
        b = config_new("unit");
        drop = "[Socket]\nListenStream = 2222\nBacklog = 16\n[Service]\nExecStart = /usr/sbin/sshd -i -o 'Banner none'\n";
        assert_int_equal(config_parse_text(b, "drop.conf", drop, strlen(drop), NULL), 0);
        assert_int_equal(config_changes(c, b, ch), 1);
        assert_true(ch[0].unset);
        assert_string_equal(ch[0].origin.file, "main.conf");
        assert_int_equal(ch[0].origin.line, 3);
        config_free(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(settings_basic, setup, teardown),
                cmocka_unit_test(socket_options_come_from_the_table),
                cmocka_unit_test_setup_teardown(merge_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(many_keys_linear, setup, teardown),
                cmocka_unit_test_setup_teardown(secret_needs_private_file, setup, teardown),
                cmocka_unit_test_setup_teardown(line_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(long_lines_read_whole, setup, teardown),
                cmocka_unit_test_setup_teardown(messages_say_what_to_do, setup, teardown),
                cmocka_unit_test_setup_teardown(distances_and_names, setup, teardown),
                cmocka_unit_test_setup_teardown(nul_byte, setup, teardown),
                cmocka_unit_test_setup_teardown(validate_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(allow_unsigned_without_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_keys_parse, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(ao_disjoint_and_distinct_ids_pass, setup, teardown),
                cmocka_unit_test_setup_teardown(many_ao_keys, setup, teardown),
                cmocka_unit_test(every_setting_declares_a_reload_policy),
                cmocka_unit_test(reload_notices_every_setting),
                cmocka_unit_test(reload_policies_as_documented),
                cmocka_unit_test_setup_teardown(changed_listener_names_its_line, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
