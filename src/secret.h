/* Key material: parsing, loading from files, wiping. A Secret goes only
 * into setsockopt() and, as key tables, from a child of ours to its
 * supervisor over a socket pair only the two hold (resident.c, at start-up
 * and from a reload child); never into argv, the environment or a log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SECRET_MAX 80 /* TCP_MD5SIG_MAXKEYLEN */

typedef struct Secret {
        uint8_t bytes[SECRET_MAX];
        size_t len;
} Secret;

void secret_wipe(Secret *s);
/* 1..80 bytes taken as they are; -ENODATA empty, -E2BIG too long. */
int secret_from_string(const char *s, Secret *ret);
/* Bare hex digits, two per byte, 1..80 bytes: -EILSEQ for anything but a
 * hex digit (0x, ':', spaces), -EINVAL for an odd count, -ENODATA, -E2BIG. */
int secret_from_hex(const char *s, Secret *ret);
/* Same rules as --key-file and SecretFile=: one trailing newline dropped,
 * then 1..80 bytes; opened by trusted_open() as a secret, which says what
 * -EACCES (*ret_problem says why, for messages) and -EISDIR (not a regular
 * file) mean. */
int secret_load_file(const char *path, Secret *ret, const char **ret_problem);
/* The same rules for a secret read from an open fd up to EOF (--key-fd); no
 * permission checks: whoever handed us the fd chose it. */
int secret_read_fd(int fd, Secret *ret);
/* Random bytes nobody knows, for catch-all keys. */
int secret_random(Secret *ret);

/* A short name for a key, to compare both ends without showing it: the
 * first 8 bytes of SHA-256("tcpmd5 key fingerprint v1" NUL, secret), in hex.
 * It tells a guesser no more than one captured signed segment does. */
#define SECRET_FINGERPRINT_STRLEN 17
void secret_fingerprint(const Secret *s, char ret[static SECRET_FINGERPRINT_STRLEN]);

/* Reads at most max bytes (-EFBIG beyond), NUL-terminated. */
int file_read_all(int fd, size_t max, char **ret, size_t *ret_size);

/* Logs why a key file (path, or NULL for "it": an fd) could not be used,
 * after what ("FILE:LINE: SecretFile=", "--key-file"), as both programs
 * word it, with size, the file's size when known (else -1); returns r as
 * the exit code rule wants it (-EACCES, -EBADMSG). */
int secret_report(int r, const char *what, const char *path, const char *problem, off_t size);
/* Warns when the secret ends in '\r': a key file with CRLF line ends. */
void secret_warn_line_end(const char *what, const char *path, const Secret *s);
/* secret_load_file(), then secret_report() or secret_warn_line_end(). */
int secret_load_reported(const char *what, const char *path, Secret *ret);

/* A name for Credential= and --credential: 1..255 printable ASCII
 * characters, no '/' or ':', not "." or "..". */
bool credential_name_valid(const char *name);
/* $CREDENTIALS_DIRECTORY/name; -ENXIO when the variable is unset or empty
 * (outside a service that has LoadCredential=). */
int credential_path(const char *name, char **ret);
