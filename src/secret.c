/* Secrets and the trust checks on the files that hold them. */
#include "secret.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
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

/* stat() first, so a device is never opened (opening some has side
 * effects); O_NONBLOCK in case a FIFO takes the file's place in between: it
 * must not hang a reload (and with it the supervisor, perhaps PID 1) until
 * a writer appears. Symlinks are followed: secret volumes are trees of
 * them. fstat() of what was opened has the last word. */
int file_open_regular(const char *path, int *ret_fd, struct stat *ret_st) {
        if (stat(path, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return -EISDIR;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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

/* The path the kernel resolved for fd: symlinks on the way followed, as
 * they were when it was opened. realpath() when /proc is not mounted. */
static int fd_resolved_path(int fd, const char *path, char ret[static PATH_MAX]) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, ret, PATH_MAX - 1);
        if (n > 0 && n < PATH_MAX - 1 && ret[0] == '/') {
                ret[n] = 0;
                return 0;
        }
        return realpath(path, ret) ? 0 : -errno;
}

/* The text of the last problem found, valid until the next one. On the
 * heap, not static: processes that never meet a problem (a resident
 * supervisor) then keep no page of it. */
__attribute__((format(printf, 1, 2))) static const char *problem_text(const char *fmt, ...) {
        static char *text;
        char *next;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&next, fmt, ap) < 0)
                next = NULL;
        va_end(ap);
        free(text);
        text = next;
        return text ? text : "(out of memory describing the problem)";
}

/* Whoever may rename or replace entries of a directory may swap the file
 * for their own: a directory must be owned by root or euid, and group and
 * other may write it only when the sticky bit keeps them to their own
 * entries. */
static const char *dir_problem(const char *dir, uid_t euid) {
        struct stat st;
        if (stat(dir, &st) < 0)
                return problem_text("cannot check directory %s: %s", dir, strerror(errno));
        if (st.st_uid != 0 && st.st_uid != euid)
                return problem_text("directory %s is owned by another user, who can replace what is in it "
                                    "(chown root %s)", dir, dir);
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
                return problem_text("group or other can write directory %s and replace what is in it "
                                    "(chmod go-w %s)", dir, dir);
        return NULL;
}

const char *file_dirs_problem(int fd, const char *path, bool self, uid_t euid) {
        char dir[PATH_MAX];
        int r = fd_resolved_path(fd, path, dir);
        if (r < 0)
                return problem_text("cannot resolve its path: %s", strerror(-r));
        for (bool first = true;; first = false) {
                char *slash = strrchr(dir, '/');
                if (!first || !self) /* from the file's directory, or from dir itself */
                        *(slash == dir ? slash + 1 : slash) = 0;
                const char *problem = dir_problem(dir, euid);
                if (problem || strcmp(dir, "/") == 0)
                        return problem;
        }
}

/* Whoever may write the directory holding a symlink may point it
 * elsewhere: judge the directories of every link on the way to the file,
 * as those of the file itself. Links in directory components are judged
 * through the resolved path of the file (they are on it). */
static const char *links_problem(const char *path, uid_t euid) {
        char cur[PATH_MAX], target[PATH_MAX];
        snprintf(cur, sizeof cur, "%s", path);
        for (int hop = 0; hop < 40; hop++) { /* the kernel's own limit */
                struct stat st;
                if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
                        return NULL;
                char dir[PATH_MAX];
                const char *slash = strrchr(cur, '/');
                snprintf(dir, sizeof dir, "%.*s", slash ? (int) (slash == cur ? 1 : slash - cur) : 1,
                         slash ? cur : ".");
                _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                const char *problem = dfd < 0 ? "cannot open the directory of a symbolic link on its way"
                                              : file_dirs_problem(dfd, dir, true, euid);
                if (problem)
                        return problem;
                ssize_t n = readlink(cur, target, sizeof target - 1);
                if (n < 0)
                        return NULL; /* replaced meanwhile: the open file was judged */
                target[n] = 0;
                if (target[0] == '/')
                        snprintf(cur, sizeof cur, "%s", target);
                else if (snprintf(cur, sizeof cur, "%s/%s", dir, target) >= (int) sizeof cur)
                        return "the path its symbolic links lead to is too long";
        }
        return NULL;
}

const char *file_trust_problem(int fd, const char *path, const struct stat *st, bool holds_secret) {
        uid_t euid = geteuid();
        const char *problem = file_permission_problem(st, euid, holds_secret);
        char resolved[PATH_MAX];
        struct stat lst;
        if (problem && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && fd_resolved_path(fd, path, resolved) == 0) {
                /* Name the file that is wrong, not the link to it. */
                return problem_text("it leads to %s, and %s", resolved, problem);
        }
        if (!problem)
                problem = file_dirs_problem(fd, path, false, euid);
        if (!problem)
                problem = links_problem(path, euid);
        return problem;
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
        const char *problem = file_trust_problem(fd, path, &st, true);
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

/* ---- the messages both programs give about a key file ---- */

int secret_report(int r, const char *what, const char *path, const char *problem) {
        const char *p = path ? path : "it";
        if (problem)
                return log_errno(-EACCES, "%s: refusing %s: %s", what, p, problem);
        switch (r) {
        case -E2BIG:
                return log_errno(-EBADMSG, "%s: %s holds more than %d bytes (TCP_MD5SIG_MAXKEYLEN); keys are never cut",
                                 what, p, SECRET_MAX);
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
        int r = secret_load_file(path, ret, &problem);
        if (r < 0)
                return secret_report(r, what, path, problem);
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
