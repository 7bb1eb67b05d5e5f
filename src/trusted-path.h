/* Opening the files the programs trust (key files, configs, drop-in
 * directories) so that nobody but root and us chooses what is read: the
 * path is walked one component at a time from a directory fd, each
 * directory, symbolic link and the file itself judged on fstat() of what is
 * held, links followed by hand, and the file opened relative to the
 * directory it was judged in. No name is resolved twice, so a link or
 * directory swapped meanwhile cannot change what was judged. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum TrustFlags {
        TRUST_SECRET = 1 << 0,   /* the file holds a secret: no group/other read either */
        TRUST_MASKABLE = 1 << 1, /* a link to /dev/null masks it: TRUSTED_MASKED, nothing opened */
} TrustFlags;

#define TRUSTED_MASKED 1

/* Opens path (absolute, or relative to the working directory, whose
 * directories are judged too) for reading. Every directory passed through:
 * owner root or euid, no group/other write unless sticky; every symbolic
 * link: owner root or euid (its directory was judged); the file: regular
 * (-EISDIR for anything else, which is never opened), and as
 * file_permission_problem() says. A trust problem is -EACCES with
 * *ret_problem saying what is wrong, naming the directory, link or file and
 * what to do (static text, valid until the next problem). Other errors are
 * -errno with *ret_problem NULL (-ELOOP past 40 links). */
int trusted_open(const char *path, TrustFlags flags, int *ret_fd, struct stat *ret_st, const char **ret_problem);

/* A directory reached that way, kept with the directories above it, so
 * that its entries are opened relative to it and their links may lead back
 * up along the same walk. */
typedef struct TrustedDir TrustedDir;
int trusted_dir_open(const char *path, TrustedDir **ret, const char **ret_problem);
/* trusted_open() of name in d. */
int trusted_dir_openat(const TrustedDir *d, const char *name, TrustFlags flags, int *ret_fd, struct stat *ret_st,
                       const char **ret_problem);
/* d's entries; NULL with errno on failure. */
DIR *trusted_dir_list(const TrustedDir *d);
void trusted_dir_free(TrustedDir *d);

/* NULL if a file with this stat may be trusted, else what is wrong and
 * what to do. Every file: no group/other write, owner root or euid;
 * secrets: no group/other read either. */
const char *file_permission_problem(const struct stat *st, uid_t euid, bool holds_secret);
