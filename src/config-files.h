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

/* Exactly one of file and unit is set. Logs; returns -errno. */
int config_load(Config *c, const char *file, const char *unit, char *const *dirs);
/* "NAME" from "/path/NAME.conf", for the default FileDescriptorName. */
char *config_name_from_path(const char *path);
bool unit_name_valid(const char *name);
