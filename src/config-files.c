/* Config file discovery and reading, and resolution of key sources. */
#include "config-files.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "trusted-path.h"
#include "util.h"

/* ---- ConfigSource ---- */

/* A record: kind, path NUL, and for a config file the text's size
 * (size_t) and the text. */
static int source_add(ConfigSource *s, SourceKind kind, const char *path, const char *text, size_t size) {
        size_t plen = strlen(path) + 1, need = 1 + plen + (text ? sizeof size + size : 0);
        char *d = malloc(s->size + need);
        if (!d)
                return -ENOMEM;
        /* Not realloc: the old block is wiped (paths of key files). */
        if (s->size)
                memcpy(d, s->data, s->size);
        char *p = d + s->size;
        *p++ = (char) kind;
        memcpy(p, path, plen);
        p += plen;
        if (text) {
                memcpy(p, &size, sizeof size);
                memcpy(p + sizeof size, text, size);
                config_text_redact_secrets(p + sizeof size, size);
        }
        size_t old = s->size;
        config_source_done(s);
        s->data = d;
        s->size = old + need;
        return 0;
}

bool config_source_next(const ConfigSource *s, size_t *pos, SourceKind *ret_kind, const char **ret_path,
                        const char **ret_text, size_t *ret_size) {
        if (*pos >= s->size)
                return false;
        const char *p = s->data + *pos;
        *ret_kind = (SourceKind) *p++;
        *ret_path = p;
        p += strlen(p) + 1;
        *ret_text = NULL;
        *ret_size = 0;
        if (*ret_kind == SOURCE_CONFIG) {
                memcpy(ret_size, p, sizeof *ret_size);
                *ret_text = p + sizeof *ret_size;
                p += sizeof *ret_size + *ret_size;
        }
        *pos = (size_t) (p - s->data);
        return true;
}

void config_source_done(ConfigSource *s) {
        if (s->data)
                explicit_bzero(s->data, s->size);
        free(s->data);
        *s = (ConfigSource) { 0 };
}

int config_replay(Config *c, const ConfigSource *s) {
        SourceKind kind;
        const char *path, *text;
        size_t pos = 0, size;
        while (config_source_next(s, &pos, &kind, &path, &text, &size))
                if (kind == SOURCE_CONFIG) {
                        int r = config_parse_text(c, path, text, size, NULL);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int config_source_add_keys(ConfigSource *s, const Config *c) {
        for (size_t i = 0; i < c->n_keys; i++) {
                const KeyConfig *k = &c->keys[i];
                _cleanup_free_ char *p = NULL;
                int r = 0;
                if (k->source == SECRET_SOURCE_FILE)
                        r = source_add(s, SOURCE_KEY, k->source_arg, NULL, 0);
                else if (k->source == SECRET_SOURCE_CREDENTIAL) {
                        r = credential_path(k->source_arg, &p); /* -ENXIO: no credentials here */
                        r = r == -ENXIO ? 0 : r < 0 ? r : source_add(s, SOURCE_KEY, p, NULL, 0);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- reading ---- */

/* Reads and parses the config file open on fd (named path). */
static int config_read(Config *c, const char *path, int fd, const struct stat *st, ConfigSource *record) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = file_read_all(fd, CONFIG_FILE_MAX, &text, &size);
        if (r < 0)
                return log_errno(r == -EFBIG ? -EBADMSG : r, "%s: cannot read: %s", path,
                                 r == -EFBIG ? "larger than 64 MiB" : strerror(-r));
        r = config_parse_text(c, path, text, size, st);
        if (r >= 0 && record)
                r = source_add(record, SOURCE_CONFIG, path, text, size);
        explicit_bzero(text, size); /* it may hold Secret= lines */
        return r;
}

/* What trusted_open() said about the config file path, for the log. */
static int config_open_report(int r, const char *path, const char *problem) {
        if (r == TRUSTED_MASKED)
                return log_errno(-EBADMSG, "%s: masked (a symbolic link to /dev/null); remove the link to use this "
                                 "config", path);
        if (problem)
                return log_errno(-EACCES, "%s: refusing this config: %s", path, problem);
        if (r == -EISDIR)
                return log_errno(-EBADMSG, "%s: not a regular file (name a file)", path);
        return log_errno(r, "%s: cannot open: %s", path, strerror(-r));
}

/* The main file. A masked one stops the unit, as systemd refuses a masked
 * unit. -ENOENT unlogged, for the search path to go on. */
static int config_load_main(Config *c, const char *path, ConfigSource *record) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        const char *problem;
        int r = trusted_open(path, TRUST_MASKABLE, &fd, &st, &problem);
        if (r == -ENOENT)
                return r;
        if (r != 0)
                return config_open_report(r, path, problem);
        return config_read(c, path, fd, &st, record);
}

typedef struct DropIn {
        char *name;
        char *path;
        const TrustedDir *dir;
} DropIn;

static int cmp_dropin(const void *a, const void *b) {
        return strcmp(((const DropIn *) a)->name, ((const DropIn *) b)->name);
}

/* Adds dir's *.conf not already known by name (an earlier dir masks).
 * Whoever can add to the directory can mask a drop-in of a later one, so
 * it is judged, and its entries are opened from what was judged. */
static int collect_dropins(const char *dir, TrustedDir **ret_dir, DropIn **list, size_t *n, size_t *cap) {
        const char *problem;
        int r = trusted_dir_open(dir, ret_dir, &problem);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (problem)
                return log_errno(-EACCES, "%s: refusing these drop-ins: %s", dir, problem);
        if (r < 0)
                return log_errno(r, "%s: cannot open: %s", dir, strerror(-r));
        DIR *d = trusted_dir_list(*ret_dir);
        if (!d)
                return log_errno(-errno, "%s: cannot list: %m", dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !str_endswith(de->d_name, ".conf"))
                        continue;
                bool known = false;
                for (size_t i = 0; i < *n && !known; i++)
                        known = strcmp((*list)[i].name, de->d_name) == 0;
                if (known)
                        continue;
                if ((r = grow_array((void **) list, cap, *n + 1, sizeof(DropIn))) < 0)
                        break;
                DropIn *e = &(*list)[*n];
                e->name = strdup(de->d_name);
                e->path = str_join_path(dir, de->d_name);
                e->dir = *ret_dir;
                (*n)++;
                if (!e->name || !e->path) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        return r;
}

/* A drop-in linked to /dev/null is masked, as in systemd. */
static int load_dropin(Config *c, const DropIn *e, ConfigSource *record) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        const char *problem;
        int r = trusted_dir_openat(e->dir, e->name, TRUST_MASKABLE, &fd, &st, &problem);
        if (r == TRUSTED_MASKED)
                return 0;
        if (r != 0)
                return config_open_report(r, e->path, problem);
        return config_read(c, e->path, fd, &st, record);
}

static int load_dropins(Config *c, char *const *dirs, ConfigSource *record) {
        size_t n_dirs = strv_length(dirs);
        TrustedDir **opened = calloc(n_dirs, sizeof *opened);
        DropIn *list = NULL;
        size_t n = 0, cap = 0;
        int r = opened ? 0 : -ENOMEM;
        for (size_t i = 0; i < n_dirs && r >= 0; i++)
                r = collect_dropins(dirs[i], &opened[i], &list, &n, &cap);
        if (r >= 0 && n > 1)
                qsort(list, n, sizeof *list, cmp_dropin);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = load_dropin(c, &list[i], record);
        for (size_t i = 0; i < n; i++) {
                free(list[i].name);
                free(list[i].path);
        }
        free(list);
        for (size_t i = 0; opened && i < n_dirs; i++)
                trusted_dir_free(opened[i]);
        free(opened);
        return r;
}

static int load_unit(Config *c, const char *unit, char *const *dirs, ConfigSource *record) {
        _cleanup_free_ char *main_name = NULL, *dropin_name = NULL;
        if (asprintf(&main_name, "%s.conf", unit) < 0 || asprintf(&dropin_name, "%s.conf.d", unit) < 0)
                return -ENOMEM;
        int r = -ENOENT;
        for (size_t i = 0; dirs[i] && r == -ENOENT; i++) {
                _cleanup_free_ char *p = str_join_path(dirs[i], main_name);
                if (!p)
                        return -ENOMEM;
                r = config_load_main(c, p, record);
        }
        if (r == -ENOENT) {
                log_error("no %s in the search path; looked in:", main_name);
                for (size_t i = 0; dirs[i]; i++)
                        log_error("  %s", dirs[i]);
                return r;
        }
        if (r < 0)
                return r;
        size_t n = strv_length(dirs);
        char **dd = calloc(n + 1, sizeof(char *));
        if (!dd)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                if (!(dd[i] = str_join_path(dirs[i], dropin_name)))
                        r = -ENOMEM;
        if (r >= 0)
                r = load_dropins(c, dd, record);
        strv_free(dd);
        return r;
}

int config_load(Config *c, const char *file, const char *unit, char *const *dirs, ConfigSource *record) {
        if (unit)
                return load_unit(c, unit, dirs, record);
        int r = config_load_main(c, file, record);
        if (r == -ENOENT)
                return log_errno(r, "%s: cannot open: %s", file, strerror(-r));
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s.d", file) < 0)
                return -ENOMEM;
        char *const d[] = { dir, NULL };
        return load_dropins(c, d, record);
}

char *config_name_from_path(const char *path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (str_endswith(base, ".conf") && n > 5)
                n -= 5;
        return strndup(base, n);
}

bool unit_name_valid(const char *name) {
        if (!*name || name[0] == '.' || strlen(name) > 200)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("_.@:-", *p)))
                        return false;
        return true;
}

static int resolve_secret(KeyConfig *k, bool check_only) {
        _cleanup_free_ char *path = NULL;
        const Origin *o = &k->secret_origin;
        char what[PATH_MAX + 64];
        if (k->source == SECRET_SOURCE_CREDENTIAL) {
                int r = credential_path(k->source_arg, &path);
                /* Outside the service (an admin's shell) there is nothing
                 * to read: systemd copies credentials in only at start. */
                if (r == -ENXIO && check_only)
                        return 0;
                if (r == -ENXIO)
                        return log_errno(-EBADMSG, "%s:%u: Credential=%s: $CREDENTIALS_DIRECTORY is not set "
                                         "(load it with LoadCredential= in the service unit)",
                                         o->file, o->line, k->source_arg);
                if (r < 0)
                        return r;
        } else if (k->source != SECRET_SOURCE_FILE) {
                return 0;
        }
        snprintf(what, sizeof what, "%s:%u: %s=", o->file, o->line, secret_source_to_string(k->source));
        return secret_load_reported(what, path ? path : k->source_arg, &k->secret);
}

static int resolve_key(KeyConfig *k, bool check_only) {
        int r = resolve_secret(k, check_only);
        if (r < 0)
                return r;
        k->ifindex = 0;
        if (k->interface) {
                unsigned idx = if_nametoindex(k->interface);
                if (idx == 0)
                        return log_errno(-EBADMSG, "%s:%u: Interface=%s: no such interface",
                                         k->interface_origin.file, k->interface_origin.line, k->interface);
                k->ifindex = (int) idx;
        }
        return 0;
}

int config_resolve_key(KeyConfig *k) {
        return resolve_key(k, false);
}

int config_resolve(Config *c, bool check_only) {
        for (size_t i = 0; i < c->n_keys; i++) {
                int r = resolve_key(&c->keys[i], check_only);
                if (r < 0)
                        return r;
        }
        return 0;
}
