/* The configuration model: what the files say, merged with systemd's rules
 * (later scalar wins, lists append, empty assignment resets, [Key NAME]
 * sections merge by name). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "addr.h"
#include "secret.h"

typedef struct Origin {
        const char *file; /* owned by Config.files */
        unsigned line;
} Origin;

typedef enum BindIPv6Only {
        BIND_IPV6_ONLY_DEFAULT,
        BIND_IPV6_ONLY_BOTH,
        BIND_IPV6_ONLY_IPV6_ONLY,
        _BIND_IPV6_ONLY_MAX,
} BindIPv6Only;

typedef enum UnmatchedPeers {
        UNMATCHED_PEERS_DROP,
        UNMATCHED_PEERS_ALLOW_UNSIGNED,
        _UNMATCHED_PEERS_MAX,
} UnmatchedPeers;

typedef enum SecretSource {
        SECRET_SOURCE_NONE,
        SECRET_SOURCE_FILE,
        SECRET_SOURCE_LITERAL,
        SECRET_SOURCE_HEX,
        SECRET_SOURCE_CREDENTIAL,
        _SECRET_SOURCE_MAX,
} SecretSource;

/* What a reload does with a setting. Each row of the settings table
 * (config.c) declares one; the zero value is no decision, which the unit
 * tests refuse, so a new setting cannot be forgotten. */
typedef enum ReloadPolicy {
        RELOAD_UNDECLARED,
        RELOAD_LIVE,         /* a reload applies it: keys, limits, options of new connections */
        RELOAD_NEXT_COMMAND, /* applies to every command started after a reload (accept mode: each
                              * connection; on demand: the daemon, until it starts); a daemon that
                              * already runs (supervise mode) needs a restart for it */
        RELOAD_RESTART,      /* shapes the sockets or the mode: only a restart applies it, and a
                              * reload names it in a warning */
        _RELOAD_POLICY_MAX,
} ReloadPolicy;

/* The [Socket] and [Service] settings, to index Config.origin. */
typedef enum SettingId {
        SETTING_LISTEN_STREAM,
        SETTING_BIND_IPV6_ONLY,
        SETTING_BACKLOG,
        SETTING_FREE_BIND,
        SETTING_REUSE_PORT,
        SETTING_BIND_TO_DEVICE,
        SETTING_FDNAME,
        SETTING_UNMATCHED_PEERS,
        SETTING_ACCEPT,
        SETTING_INETD,
        SETTING_ON_DEMAND,
        SETTING_MAX_CONNECTIONS,
        SETTING_MAX_PER_SOURCE,
        SETTING_KEEP_ALIVE,
        SETTING_NO_DELAY,
        SETTING_EXEC_START,
        _SETTING_MAX,
} SettingId;

typedef struct ListenEntry {
        ListenAddress address;
        Origin origin;
} ListenEntry;

typedef struct PeerEntry {
        Prefix prefix;
        Origin origin;
} PeerEntry;

typedef struct KeyConfig {
        char *name;
        Origin origin; /* where the section first appeared */
        PeerEntry *peers;
        size_t n_peers, cap_peers;
        SecretSource source;
        char *source_arg;   /* path or credential name */
        Secret secret;      /* literal/hex at parse time, files when resolved */
        Origin secret_origin;
        char *interface;
        Origin interface_origin;
        int ifindex;        /* resolved from interface, 0 = none */
        /* TCP-AO (RFC 5925): a key that names its MAC algorithm. */
        char *algorithm;    /* the kernel's crypto name, "hmac(sha1)"; NULL: a TCP MD5 key */
        Origin algorithm_origin;
        unsigned send_id, recv_id, mac_length; /* mac_length 0: the algorithm's default */
        Origin send_id_origin, recv_id_origin, mac_length_origin; /* file NULL: not set */
} KeyConfig;

#define CONFIG_AO_ALGORITHM_MAX 63 /* tcp_ao_add.alg_name holds 64 bytes, NUL included */
#define CONFIG_AO_MAC_DEFAULT 12   /* RFC 5926: both mandatory MACs are cut to 96 bits */

static inline bool key_is_ao(const KeyConfig *k) { return k->algorithm != NULL; }

typedef struct Config {
        char *name;         /* default FileDescriptorName */
        char **files;       /* every file read, in order */
        size_t n_files, cap_files;

        ListenEntry *listen;
        size_t n_listen, cap_listen;
        BindIPv6Only bind_ipv6_only;
        unsigned backlog;
        bool free_bind, reuse_port;
        char *bind_to_device;
        char *fdname;
        UnmatchedPeers unmatched_peers;
        bool accept, inetd, on_demand, keep_alive, no_delay;
        unsigned max_connections, max_connections_per_source;

        char **exec_start;
        Origin origin[_SETTING_MAX]; /* where each was last assigned; file NULL: never */

        KeyConfig *keys;
        size_t n_keys, cap_keys;
        size_t *key_index;  /* open-addressing hash of key names, SIZE_MAX = free */
        size_t key_index_size;
} Config;

#define CONFIG_BACKLOG_DEFAULT 4096
#define CONFIG_MAX_CONNECTIONS_DEFAULT 64
/* inih 55 reads 200-byte lines (newline and NUL included): a longer line
 * goes to it in a short form that means the same (config-parse.c). */
#define INIH_LINE_MAX 198
#define CONFIG_LINE_MAX 16384
#define CONFIG_NAME_MAX 49    /* inih 55 cuts longer section names */
#define CONFIG_FILE_MAX (64u << 20)

Config *config_new(const char *name);
void config_free(Config *c);
static inline void config_freep(Config **c) { config_free(*c); }

/* Parses one file's text into c. st (may be NULL in tests) is the file's
 * stat, used to refuse Secret= in a file others can read. Logs
 * "path:line: ..." and returns -EBADMSG, or -EACCES for permissions. */
int config_parse_text(Config *c, const char *path, const char *text, size_t size, const struct stat *st);

/* Overwrites the value of every Secret= and SecretHex= in a text that
 * config_parse_text() accepted with as many '0's: it parses to the same
 * settings, and keys of the same length, without the secrets. */
void config_text_redact_secrets(char *text, size_t size);

/* For the parser: applies one Name=Value of [section] at origin. Logs.
 * secret_problem: why this file may not hold Secret=/SecretHex=, or NULL. */
int config_assign(Config *c, const char *section, const char *name, const char *value, Origin origin,
                  unsigned section_line, const char *secret_problem, KeyConfig **key_cache);

/* Checks the merged result: listeners, keys with peers and a secret, no
 * prefix claimed twice. Logs and returns -EBADMSG. */
int config_validate(const Config *c, bool have_command);

/* Just the [Key] sections: each has Peer= and a secret source, no prefix
 * claimed twice. For tcpmd5-connect's keys-only files. Logs; -EBADMSG. */
int config_validate_keys(const Config *c);
/* The same without the prefix check: tcpmd5-connect offers every key of a
 * prefix during a rollover (tcpmd5-connect(1)). */
int config_validate_key_sections(const Config *c);

/* Reads SecretFile=/Credential= and resolves Interface=. Logs. With
 * check_only and no $CREDENTIALS_DIRECTORY, Credential= keys stay unread
 * (secret.len 0, which a read key never has): see config_key_deferred(). */
int config_resolve(Config *c, bool check_only);
/* The same for one key: a client needs only the key it uses. */
int config_resolve_key(KeyConfig *k);

/* A Credential= key that config_resolve(c, true) left for systemd to supply. */
static inline bool config_key_deferred(const KeyConfig *k) {
        return k->source == SECRET_SOURCE_CREDENTIAL && k->secret.len == 0;
}

/* A [Socket] or [Service] setting whose value differs between two configs. */
typedef struct SettingChange {
        const char *name;      /* without '=' */
        ReloadPolicy reload;
        Origin origin;         /* the line that gives the new value... */
        bool unset;            /* ...or, when the new config no longer sets it, the old one's */
} SettingChange;

/* A [Socket] setting that lives on the listeners as a socket option, which
 * connections accepted later copy (KeepAlive=, NoDelay=): its row in the
 * settings table names the option, and start-up (listener.c) and a reload
 * (reload.c) set it from there, with no code of its own. */
typedef struct SocketOption {
        int level, name;
        const char *label;     /* for messages: "SO_KEEPALIVE" */
} SocketOption;

/* The i-th of them, in the table's order: false past the last. */
bool config_socket_option(size_t i, SocketOption *ret);
/* c's values: bit i for the i-th (c NULL: all off). */
unsigned config_socket_option_values(const Config *c);

/* Pure. The [Socket] and [Service] settings that differ from old to new,
 * in the settings table's order. [Key] settings are left to the key plan.
 * Returns how many (at most _SETTING_MAX). */
size_t config_changes(const Config *old, const Config *new, SettingChange ret[static _SETTING_MAX]);

/* Row i of the settings table, or false past its end: for tests that walk
 * every setting. ret_id is _SETTING_MAX for a [Key] setting. */
bool config_setting(size_t i, const char **ret_section, const char **ret_name, ReloadPolicy *ret_reload,
                    SettingId *ret_id);

KeyConfig *config_find_key(const Config *c, const char *name);
const char *bind_ipv6_only_to_string(BindIPv6Only b);
const char *secret_source_to_string(SecretSource s);
