/* Finding and reading config files: --config FILE (+ FILE.d/), or --unit
 * NAME over a search path with systemd's drop-in masking; then reading the
 * key files and interfaces the config names. */
#pragma once

#include "config.h"

#ifdef CONFIG_PREFIX_DIR /* installed under a prefix other than /usr */
#define CONFIG_SEARCH_PATH \
        { "/etc/tcpmd5-activate", "/run/tcpmd5-activate", CONFIG_PREFIX_DIR, "/usr/lib/tcpmd5-activate", NULL }
#else
#define CONFIG_SEARCH_PATH { "/etc/tcpmd5-activate", "/run/tcpmd5-activate", "/usr/lib/tcpmd5-activate", NULL }
#endif

/* What a config was read from, in one block of plain bytes: each config
 * file's path and text in the order read (Secret= values redacted), and
 * each key file's path. A
 * supervisor keeps this rather than the Config: a reload re-reads the
 * config in force from it (the files may have changed), --watch watches
 * its files, and a child can hand it over as it is. */
typedef struct ConfigSource {
        char *data;
        size_t size;
} ConfigSource;

typedef enum SourceKind {
        SOURCE_CONFIG = 'C', /* a config file: path and text */
        SOURCE_KEY = 'K',    /* a key file: path */
} SourceKind;

/* Exactly one of file and unit is set. With record, each file's text is
 * added to it. Logs; returns -errno. */
int config_load(Config *c, const char *file, const char *unit, char *const *dirs, ConfigSource *record);
/* Parses the config files recorded in s into c, as config_load() did. */
int config_replay(Config *c, const ConfigSource *s);
/* Adds the key files c reads (SecretFile=, Credential= under
 * $CREDENTIALS_DIRECTORY) to s. */
int config_source_add_keys(ConfigSource *s, const Config *c);
/* The record after *pos (start with 0): false at the end. For a key file,
 * *ret_text is NULL. */
bool config_source_next(const ConfigSource *s, size_t *pos, SourceKind *ret_kind, const char **ret_path,
                        const char **ret_text, size_t *ret_size);
/* Wipes (a text may hold Secret= lines) and frees. */
void config_source_done(ConfigSource *s);
/* "NAME" from "/path/NAME.conf", for the default FileDescriptorName. */
char *config_name_from_path(const char *path);
bool unit_name_valid(const char *name);
