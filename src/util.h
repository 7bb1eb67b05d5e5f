/* Small helpers shared by every module: cleanup attributes, bounded number
 * parsing, growable arrays and exit codes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* sysexits.h values: the exit codes --help and the man pages promise. */
enum {
        EXIT_USAGE = 64,
        EXIT_UNAVAILABLE = 69, /* kernel lacks TCP MD5 */
        EXIT_OSERR = 71,
        EXIT_NOPERM = 77,
        EXIT_CONFIG = 78,
        EXIT_EXEC_NOT_EXECUTABLE = 126,
        EXIT_EXEC_NOT_FOUND = 127,
};

static inline void freep(void *p) { free(*(void **) p); }
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership of a resource out of a cleanup-managed variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* "/proc/PID" and tail ("/stat", at most 16 bytes) into buf, by hand:
 * snprintf()'s stack is deeper than anything else the supervisor does
 * between reloads, and stays resident (bench/supervise-memory). */
#define PROC_PATH_MAX 40
void proc_path(pid_t pid, const char *tail, char buf[static PROC_PATH_MAX]);

/* Parses a decimal number in [min, max]; -EINVAL for junk, -ERANGE outside. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* yes/no/true/false/on/off/1/0 */
int parse_bool(const char *s, bool *ret);

/* calloc() for what a resident process frees again soon (a reload's
 * scratch): glibc's calloc() never takes a chunk from the per-thread
 * cache that free() fills, so each calloc/free round climbs the heap and
 * leaves pages dirty; malloc() reuses them. NULL on overflow too. */
void *malloc0(size_t n, size_t size);

/* Grows *array (of elem_size elements, capacity *cap) to hold at least need. */
int grow_array(void **array, size_t *cap, size_t need, size_t elem_size);
/* The same for arrays that hold secrets: realloc() would free the old block
 * with every byte in it; this copies, then wipes the old block. */
int grow_array_wiped(void **array, size_t *cap, size_t need, size_t elem_size);

bool str_empty(const char *s);
/* 0..15 for a hex digit (either case), else -1. */
int unhexchar(char c);
/* The edit distance (Levenshtein) of a and b, ignoring ASCII case; SIZE_MAX
 * when either is longer than 63 characters. For "did you mean" hints. */
size_t str_distance(const char *a, const char *b);
bool str_endswith(const char *s, const char *suffix);
char *str_join_path(const char *dir, const char *name);

/* Maps a negative errno from a step to those exit codes. */
int exit_code_from_error(int r);

/* 0-terminated string arrays. */
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }
size_t strv_length(char *const *v);
char **strv_copy(char *const *v);
/* NULL and empty are equal. */
bool strv_equal(char *const *a, char *const *b);
