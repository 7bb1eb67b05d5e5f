/* Secrets and the trust checks on the files that hold them. */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "sha256.h"
#include "trusted-path.h"
#include "util.h"

void secret_wipe(Secret *s) {
        if (s)
                explicit_bzero(s, sizeof *s);
}

static int secret_set(const void *data, size_t len, Secret *ret) {
        if (len == 0)
                return -ENODATA;
        if (len > SECRET_MAX)
                return -E2BIG;
        memcpy(ret->bytes, data, len);
        ret->len = len;
        return 0;
}

int secret_from_string(const char *s, Secret *ret) {
        return secret_set(s, strlen(s), ret);
}

int secret_from_hex(const char *s, Secret *ret) {
        size_t n = strlen(s);
        if (n == 0)
                return -ENODATA;
        for (size_t i = 0; i < n; i++)
                if (unhexchar(s[i]) < 0)
                        return -EILSEQ;
        if (n % 2)
                return -EINVAL;
        if (n / 2 > SECRET_MAX)
                return -E2BIG;
        Secret tmp = { 0 };
        for (size_t i = 0; i < n; i += 2)
                tmp.bytes[i / 2] = (uint8_t) (unhexchar(s[i]) << 4 | unhexchar(s[i + 1]));
        tmp.len = n / 2;
        *ret = tmp;
        secret_wipe(&tmp);
        return 0;
}

int file_read_all(int fd, size_t max, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t cap = 0, size = 0;
        int r = 0;
        for (;;) {
                /* Always room for one more byte and the NUL; growing wipes the old block. */
                if (size + 1 >= cap && (r = grow_array_wiped((void **) &buf, &cap, size + 4096, 1)) < 0)
                        break;
                ssize_t k = read(fd, buf + size, cap - size - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : 0;
                        break;
                }
                size += (size_t) k;
                if (size > max) {
                        r = -EFBIG;
                        break;
                }
        }
        if (r < 0) {
                if (buf)
                        explicit_bzero(buf, cap);
                free(buf);
                return r;
        }
        buf[size] = 0;
        *ret = buf;
        *ret_size = size;
        return 0;
}

int secret_read_fd(int fd, Secret *ret) {
        char *data;
        size_t size;
        int r = file_read_all(fd, SECRET_MAX + 1, &data, &size);
        if (r == -EFBIG)
                return -E2BIG;
        if (r < 0)
                return r;
        if (size > 0 && data[size - 1] == '\n')
                size--;
        r = secret_set(data, size, ret);
        explicit_bzero(data, size + 1);
        free(data);
        return r;
}

/* *ret_size: the file's size, for a message about a key too long. */
static int load_file(const char *path, Secret *ret, const char **ret_problem, off_t *ret_size) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        *ret_size = -1;
        int r = trusted_open(path, TRUST_SECRET, &fd, &st, ret_problem);
        if (r < 0)
                return r;
        *ret_size = st.st_size;
        return secret_read_fd(fd, ret);
}

int secret_load_file(const char *path, Secret *ret, const char **ret_problem) {
        off_t size;
        return load_file(path, ret, ret_problem, &size);
}

int secret_random(Secret *ret) {
        ssize_t n = getrandom(ret->bytes, SECRET_MAX, 0);
        if (n < 0)
                return -errno;
        if (n != SECRET_MAX)
                return -EIO;
        ret->len = SECRET_MAX;
        return 0;
}

void secret_fingerprint(const Secret *s, char ret[static SECRET_FINGERPRINT_STRLEN]) {
        /* The label keeps the value apart from any other hash of the same
         * bytes, such as a sha256sum of the key file. */
        static const char label[] = "tcpmd5 key fingerprint v1";
        uint8_t digest[SHA256_DIGEST_SIZE];
        Sha256 c;
        sha256_init(&c);
        sha256_update(&c, label, sizeof label); /* with its NUL */
        sha256_update(&c, s->bytes, s->len);
        sha256_final(&c, digest);
        /* Hex by hand: the supervisor fingerprints the kernel's keys at
         * each look for unprotected ports, and snprintf()'s stack is the
         * deepest it would go (bench/supervise-memory). */
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < (SECRET_FINGERPRINT_STRLEN - 1) / 2; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 15];
        }
        ret[SECRET_FINGERPRINT_STRLEN - 1] = 0;
        explicit_bzero(digest, sizeof digest);
}

/* ---- the messages both programs give about a key file ---- */

#define KEY_RECIPE "(umask 077; head -c 32 /dev/urandom | base64 -w0 > %s)"

int secret_report(int r, const char *what, const char *path, const char *problem, off_t size) {
        const char *p = path ? path : "it";
        if (problem)
                return log_errno(-EACCES, "%s: refusing %s: %s", what, p, problem);
        switch (r) {
        case -E2BIG:
                if (path && size > SECRET_MAX)
                        return log_errno(-EBADMSG, "%s: %s holds %lld bytes, more than the %d a key can have "
                                         "(TCP_MD5SIG_MAXKEYLEN; keys are never cut); make a new one: " KEY_RECIPE,
                                         what, p, (long long) size, SECRET_MAX, p);
                return log_errno(-EBADMSG, "%s: %s holds more than %d bytes (TCP_MD5SIG_MAXKEYLEN); keys are never cut",
                                 what, p, SECRET_MAX);
        case -ENOENT:
                if (path)
                        return log_errno(r, "%s: cannot read %s: %s; to make a new key: " KEY_RECIPE
                                         " (the peers need the same key)", what, p, strerror(-r), p);
                return log_errno(r, "%s: cannot read %s: %s", what, p, strerror(-r));
        case -ENODATA:
                return log_errno(-EBADMSG, "%s: %s is empty", what, p);
        case -EISDIR:
                return log_errno(-EBADMSG, "%s: %s is not a regular file (name a file holding the key)", what, p);
        default:
                return log_errno(r, "%s: cannot read %s: %s", what, p, strerror(-r));
        }
}

/* Only one '\n' is dropped, so a key file saved with CRLF line ends keeps
 * its '\r' as the last key byte: the key differs from the peer's, and
 * nothing but a silent timeout would tell. */
void secret_warn_line_end(const char *what, const char *path, const Secret *s) {
        if (s->len > 0 && s->bytes[s->len - 1] == '\r')
                log_warning("%s: %s ends in a carriage return (\\r), which is used as part of the key: a file with "
                            "CRLF line ends? Unless the peer's key ends in \\r too, rewrite it with a plain \\n line "
                            "end", what, path ? path : "it");
}

int secret_load_reported(const char *what, const char *path, Secret *ret) {
        const char *problem = NULL;
        off_t size;
        int r = load_file(path, ret, &problem, &size);
        if (r < 0)
                return secret_report(r, what, path, problem, size);
        secret_warn_line_end(what, path, ret);
        return 0;
}

/* systemd's rule: a file name in $CREDENTIALS_DIRECTORY, and a name
 * LISTEN_FDNAMES could carry. */
bool credential_name_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > 255 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *p = name; *p; p++)
                if (*p < ' ' || *p > '~' || *p == '/' || *p == ':')
                        return false;
        return true;
}

int credential_path(const char *name, char **ret) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (str_empty(dir))
                return -ENXIO;
        char *p = str_join_path(dir, name);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}
