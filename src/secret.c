/* Secrets and the trust checks on the files that hold them. */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sha256.h"
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

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int secret_from_hex(const char *s, Secret *ret) {
        size_t n = strlen(s);
        if (n == 0)
                return -ENODATA;
        if (n % 2)
                return -EINVAL;
        if (n / 2 > SECRET_MAX)
                return -E2BIG;
        Secret tmp = { 0 };
        for (size_t i = 0; i < n; i += 2) {
                int hi = hexval(s[i]), lo = hexval(s[i + 1]);
                if (hi < 0 || lo < 0) {
                        secret_wipe(&tmp);
                        return -EINVAL;
                }
                tmp.bytes[i / 2] = (uint8_t) (hi << 4 | lo);
        }
        tmp.len = n / 2;
        *ret = tmp;
        secret_wipe(&tmp);
        return 0;
}

/* O_NONBLOCK: a FIFO put in a key file's place must not hang a reload (and
 * with it the supervisor, perhaps PID 1) until a writer appears. */
int file_open_regular(const char *path, int *ret_fd, struct stat *ret_st) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return -EISDIR;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

const char *file_permission_problem(const struct stat *st, uid_t euid, int holds_secret) {
        if (st->st_uid != 0 && st->st_uid != euid)
                return "it is owned by another user (chown it to root)";
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return "group or other can write it (chmod go-w)";
        if (holds_secret && (st->st_mode & (S_IRGRP | S_IROTH)))
                return "it holds a secret and group or other can read it (chmod 600)";
        return NULL;
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

int secret_load_file(const char *path, Secret *ret, const char **ret_problem) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        *ret_problem = NULL;
        int r = file_open_regular(path, &fd, &st);
        if (r < 0)
                return r;
        const char *problem = file_permission_problem(&st, geteuid(), 1);
        if (problem) {
                *ret_problem = problem;
                return -EACCES;
        }
        return secret_read_fd(fd, ret);
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
        for (size_t i = 0; i < (SECRET_FINGERPRINT_STRLEN - 1) / 2; i++)
                snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        explicit_bzero(digest, sizeof digest);
}
