/* Helpers with no project knowledge: numbers, booleans, arrays, strings. */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        uint64_t v = 0;
        for (const char *p = s; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

void proc_path(pid_t pid, const char *tail, char buf[static PROC_PATH_MAX]) {
        char digits[16];
        size_t n = 0;
        for (unsigned long v = (unsigned long) pid; n == 0 || v > 0; v /= 10)
                digits[n++] = (char) ('0' + v % 10);
        char *p = stpcpy(buf, "/proc/");
        while (n > 0)
                *p++ = digits[--n];
        size_t len = strnlen(tail, 16);
        memcpy(p, tail, len);
        p[len] = 0;
}

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* The capacity grow_array() moves to: doubling from 4. */
static int grow_capacity(size_t cap, size_t need, size_t elem_size, size_t *ret) {
        size_t n = cap ? cap : 4;
        while (n < need) {
                if (n > SIZE_MAX / 2 / elem_size)
                        return -ENOMEM;
                n *= 2;
        }
        *ret = n;
        return 0;
}

int grow_array(void **array, size_t *cap, size_t need, size_t elem_size) {
        size_t n;
        if (need <= *cap)
                return 0;
        if (grow_capacity(*cap, need, elem_size, &n) < 0)
                return -ENOMEM;
        void *p = realloc(*array, n * elem_size);
        if (!p)
                return -ENOMEM;
        memset((char *) p + *cap * elem_size, 0, (n - *cap) * elem_size);
        *array = p;
        *cap = n;
        return 0;
}

int grow_array_wiped(void **array, size_t *cap, size_t need, size_t elem_size) {
        size_t n;
        if (need <= *cap)
                return 0;
        if (grow_capacity(*cap, need, elem_size, &n) < 0)
                return -ENOMEM;
        void *p = calloc(n, elem_size);
        if (!p)
                return -ENOMEM;
        if (*array) {
                memcpy(p, *array, *cap * elem_size);
                explicit_bzero(*array, *cap * elem_size);
                free(*array);
        }
        *array = p;
        *cap = n;
        return 0;
}

bool str_empty(const char *s) { return !s || !*s; }

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t str_distance(const char *a, const char *b) {
        size_t row[64], m = strlen(a), n = strlen(b);
        if (m >= ELEMENTSOF(row) || n >= ELEMENTSOF(row))
                return SIZE_MAX;
        for (size_t j = 0; j <= n; j++)
                row[j] = j;
        for (size_t i = 1; i <= m; i++) {
                size_t diagonal = row[0];
                row[0] = i;
                for (size_t j = 1; j <= n; j++) {
                        size_t above = row[j];
                        bool same = tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 1]);
                        size_t best = diagonal + !same;
                        if (above + 1 < best)
                                best = above + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diagonal = above;
                }
        }
        return row[n];
}

bool str_endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *str_join_path(const char *dir, const char *name) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return p;
}

int exit_code_from_error(int r) {
        switch (-r) {
        case EPERM:
        case EACCES:
                return EXIT_NOPERM;
        case ENOPROTOOPT:
                return EXIT_UNAVAILABLE;
        case EBADMSG:
        case ENOENT:
        case ERANGE:
        case E2BIG:
        case ENAMETOOLONG:
        case ELOOP:
                return EXIT_CONFIG;
        default:
                return EXIT_OSERR;
        }
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return true;
}

void *malloc0(size_t n, size_t size) {
        if (size && n > SIZE_MAX / size)
                return NULL;
        size_t bytes = n * size;
        void *p = malloc(bytes > 0 ? bytes : 1);
        if (p)
                memset(p, 0, bytes);
        return p;
}
