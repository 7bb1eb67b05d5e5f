/* The wire format is this build's structs as they lie in memory: both
 * ends are the same program, forked from one another. The supervisor still
 * checks every count and size it is sent: a child may die half-way. */
#include "resident.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "util.h"

typedef struct Header {
        size_t n_listeners;
        size_t source_size;
        Secret catch_all;
} Header;

typedef struct ListenerHeader {
        ListenAddress address;
        ListenerShape shape;
        bool ao_required;
        size_t n_keys;
} ListenerHeader;

static int write_all(int fd, const void *p, size_t n) {
        for (const char *c = p; n > 0;) {
                ssize_t k = write(fd, c, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                c += k;
                n -= (size_t) k;
        }
        return 0;
}

/* -ENODATA at a clean end before the first byte, -EPIPE at one later. */
static int read_all(int fd, void *p, size_t n) {
        size_t got = 0;
        while (got < n) {
                ssize_t k = read(fd, (char *) p + got, n - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return got == 0 ? -ENODATA : -EPIPE;
                got += (size_t) k;
        }
        return 0;
}

/* The header, with the listeners' fds attached. */
static int send_header(int fd, const Header *h, const ListenerSet *set) {
        struct iovec iov = { .iov_base = (void *) h, .iov_len = sizeof *h };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        size_t n = set->n;
        _cleanup_free_ char *control = n ? calloc(1, CMSG_SPACE(n * sizeof(int))) : NULL;
        if (n && !control)
                return -ENOMEM;
        if (n) {
                m.msg_control = control;
                m.msg_controllen = CMSG_SPACE(n * sizeof(int));
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                *c = (struct cmsghdr) { .cmsg_len = CMSG_LEN(n * sizeof(int)), .cmsg_level = SOL_SOCKET,
                                        .cmsg_type = SCM_RIGHTS };
                for (size_t i = 0; i < n; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &set->v[i].fd, sizeof(int));
        }
        ssize_t k = n ? sendmsg(fd, &m, MSG_NOSIGNAL) : write(fd, h, sizeof *h);
        if (k < 0)
                return -errno;
        return k == (ssize_t) sizeof *h ? 0 : -EIO;
}

int resident_send(int fd, const Runtime *rt) {
        const ListenerSet *set = &rt->listeners;
        Header h = { .n_listeners = set->n, .source_size = rt->source.size, .catch_all = set->catch_all };
        /* The count first: the receiver sizes its buffer for the fds by it. */
        int r = write_all(fd, &set->n, sizeof set->n);
        if (r >= 0)
                r = send_header(fd, &h, set);
        explicit_bzero(&h, sizeof h);
        for (size_t i = 0; r >= 0 && i < set->n; i++) {
                const Listener *l = &set->v[i];
                ListenerHeader lh;
                memset(&lh, 0, sizeof lh); /* no uninitialised padding on the wire */
                lh.address = l->address;
                lh.shape = l->shape;
                lh.ao_required = l->ao_required;
                lh.n_keys = l->n_keys;
                r = write_all(fd, &lh, sizeof lh);
                if (r >= 0)
                        r = write_all(fd, l->keys, l->n_keys * sizeof *l->keys);
        }
        return r < 0 ? r : write_all(fd, rt->source.data, rt->source.size);
}

/* The header and the n fds that come with it (close-on-exec, as ours are). */
static int receive_header(int fd, Header *h, size_t n, int *fds) {
        struct iovec iov = { .iov_base = h, .iov_len = sizeof *h };
        _cleanup_free_ char *control = calloc(1, CMSG_SPACE(n * sizeof(int)));
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
        if (!control)
                return -ENOMEM;
        ssize_t k;
        while ((k = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR)
                ;
        if (k < 0)
                return -errno;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        size_t got = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
                             ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
        for (size_t i = 0; i < got && i < n; i++)
                memcpy(&fds[i], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (got != n || (size_t) k != sizeof *h || (m.msg_flags & MSG_CTRUNC)) {
                for (size_t i = 0; i < got && i < n; i++)
                        close(fds[i]);
                return -EBADMSG;
        }
        return 0;
}

static void tables_free(Listener *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                closep(&v[i].fd);
                key_table_free(v[i].keys, v[i].n_keys);
        }
        free(v);
}

/* n entries, newly allocated. */
static int receive_keys(int fd, KeyEntry **ret, size_t n) {
        if (n > SIZE_MAX / sizeof(KeyEntry) / 2)
                return -EBADMSG;
        KeyEntry *v = malloc((n ? n : 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        int r = read_all(fd, v, n * sizeof *v);
        if (r < 0) {
                key_table_free(v, n);
                return r == -ENODATA ? -EPIPE : r;
        }
        *ret = v;
        return 0;
}

static int receive_source(int fd, ConfigSource *s, size_t size) {
        char *d = size <= CONFIG_FILE_MAX * 16 ? malloc(size ? size : 1) : NULL;
        if (!d)
                return size <= CONFIG_FILE_MAX * 16 ? -ENOMEM : -EBADMSG;
        int r = read_all(fd, d, size);
        if (r < 0 && !(r == -ENODATA && size == 0)) {
                free(d);
                return r == -ENODATA ? -EPIPE : r;
        }
        *s = (ConfigSource) { d, size };
        return 0;
}

static int receive_listeners(int fd, ListenerSet *ret, ConfigSource *source, size_t n) {
        Header h;
        _cleanup_free_ int *fds = calloc(n ? n : 1, sizeof *fds);
        Listener *v = calloc(n ? n : 1, sizeof *v);
        int r = !fds || !v ? -ENOMEM : receive_header(fd, &h, n, fds);
        if (r < 0) {
                free(v);
                return r == -ENODATA ? -EPIPE : r;
        }
        for (size_t i = 0; i < n; i++)
                v[i].fd = fds[i];
        for (size_t i = 0; r >= 0 && i < n; i++) {
                ListenerHeader lh;
                if ((r = read_all(fd, &lh, sizeof lh)) >= 0) {
                        v[i].address = lh.address;
                        v[i].shape = lh.shape;
                        v[i].ao_required = lh.ao_required;
                        if ((r = receive_keys(fd, &v[i].keys, lh.n_keys)) >= 0)
                                v[i].n_keys = lh.n_keys;
                }
        }
        if (r >= 0 && h.n_listeners != n)
                r = -EBADMSG;
        if (r >= 0)
                r = receive_source(fd, source, h.source_size);
        if (r < 0) {
                tables_free(v, n);
                explicit_bzero(&h, sizeof h);
                return r == -ENODATA ? -EPIPE : r;
        }
        *ret = (ListenerSet) { .v = v, .n = n, .catch_all = h.catch_all };
        explicit_bzero(&h, sizeof h);
        return 0;
}

int resident_receive(int fd, Runtime *rt) {
        size_t n;
        int r = read_all(fd, &n, sizeof n);
        if (r < 0)
                return r;
        return n > 65536 ? -EBADMSG : receive_listeners(fd, &rt->listeners, &rt->source, n);
}

/* ---- a reload ---- */

_Static_assert(sizeof(ListenerHeader) % _Alignof(KeyEntry) == 0, "tables must lie aligned in a message");

/* After the size: this header, then per listener a ListenerHeader and its
 * table, then the source, then the command block (ReloadNext). */
typedef struct ReloadHeader {
        uint64_t n_listeners;
        uint64_t source_size;
        uint64_t command_size;
        uint32_t max_connections, max_connections_per_source;
        uint32_t options[2]; /* old, new ConnectionOptions: bits of this build's options only */
        uint8_t inetd;        /* 0 or 1 */
} ReloadHeader;

/* word and its NUL at p; the end. */
static char *put_word(char *p, const char *word) {
        size_t n = strlen(word) + 1;
        memcpy(p, word, n);
        return p + n;
}

int reload_next_command(const char *path, char *const *argv, char **ret, size_t *ret_size) {
        size_t size = strlen(path) + 1;
        for (char *const *w = argv; *w; w++)
                size += strlen(*w) + 1;
        char *b = malloc(size), *p = b;
        if (!b)
                return -ENOMEM;
        p = put_word(p, path);
        for (char *const *w = argv; *w; w++)
                p = put_word(p, *w);
        *ret = b;
        *ret_size = size;
        return 0;
}

int reload_next_words(const ReloadNext *n, char **ret_path, char ***ret_argv) {
        size_t words = 0;
        for (size_t i = 0; i < n->command_size; i++)
                words += n->command[i] == 0;
        char *path = strdup(n->command);
        char **argv = calloc(words, sizeof *argv); /* words - 1 of them, and the NULL */
        const char *w = n->command + strlen(n->command) + 1;
        for (size_t i = 0; path && argv && i + 1 < words; i++, w += strlen(w) + 1)
                if (!(argv[i] = strdup(w))) {
                        strv_free(argv);
                        argv = NULL;
                }
        if (!path || !argv) {
                free(path);
                strv_free(argv);
                return -ENOMEM;
        }
        *ret_path = path;
        *ret_argv = argv;
        return 0;
}

int resident_send_reload(int fd, const ListenerSet *live, const ReloadTarget *t, const ConfigSource *source,
                         const ReloadNext *next) {
        if (t->n != live->n)
                return -EINVAL;
        ReloadHeader h;
        memset(&h, 0, sizeof h); /* the padding too: every byte sent is defined */
        h.n_listeners = t->n;
        h.source_size = source->size;
        h.command_size = next->command ? next->command_size : 0;
        h.max_connections = next->accept.max_connections;
        h.max_connections_per_source = next->accept.max_connections_per_source;
        h.inetd = next->accept.inetd;
        h.options[0] = t->old.on;
        h.options[1] = t->new.on;
        uint64_t size = sizeof h + source->size + h.command_size;
        for (size_t i = 0; i < t->n; i++)
                size += sizeof(ListenerHeader) + t->tables[i].n * sizeof(KeyEntry);
        int r = write_all(fd, &size, sizeof size);
        if (r >= 0)
                r = write_all(fd, &h, sizeof h);
        for (size_t i = 0; r >= 0 && i < t->n; i++) {
                ListenerHeader lh;
                memset(&lh, 0, sizeof lh);
                lh.address = live->v[i].address;
                lh.shape = live->v[i].shape;
                lh.ao_required = live->v[i].ao_required;
                lh.n_keys = t->tables[i].n;
                r = write_all(fd, &lh, sizeof lh);
                if (r >= 0)
                        r = write_all(fd, t->tables[i].v, t->tables[i].n * sizeof(KeyEntry));
        }
        if (r >= 0)
                r = write_all(fd, source->data, source->size);
        return r < 0 ? r : write_all(fd, next->command, h.command_size);
}

/* The message in a mapping of its own, not the heap: it is gone again at
 * once, and would leave the resident supervisor's heap fragmented. */
void resident_inbox_done(ResidentInbox *in) {
        if (in->buf) {
                explicit_bzero(in->buf, in->size);
                (void) munmap(in->buf, in->size ? in->size : 1);
        }
        *in = (ResidentInbox) { 0 };
}

/* Where the next bytes go: the size, the message, or (once whole) a spare
 * byte that must stay empty. */
static int inbox_space(ResidentInbox *in, void **ret, size_t *ret_n) {
        if (in->got_size < sizeof in->size) {
                *ret = (char *) &in->size + in->got_size;
                *ret_n = sizeof in->size - in->got_size;
                return 0;
        }
        if (in->size > RESIDENT_RELOAD_MAX)
                return -EBADMSG;
        if (!in->buf) {
                void *p = mmap(NULL, in->size ? in->size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                        return -ENOMEM;
                in->buf = p;
        }
        *ret = in->buf + in->got;
        *ret_n = in->size - in->got;
        return 0;
}

int resident_inbox_read(ResidentInbox *in, int fd) {
        for (;;) {
                char spare;
                void *p;
                size_t n;
                int r = inbox_space(in, &p, &n);
                if (r < 0)
                        return r;
                bool whole = in->got_size == sizeof in->size && in->got == in->size;
                if (whole) {
                        p = &spare;
                        n = 1;
                }
                ssize_t k = read(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (k == 0)
                        return whole ? 1 : -EPIPE;
                if (whole)
                        return -EBADMSG;
                if (in->got_size < sizeof in->size)
                        in->got_size += (size_t) k;
                else
                        in->got += (size_t) k;
        }
}

/* A cursor over the message: every take is checked against what is left. */
typedef struct Cursor {
        const char *p;
        size_t left;
} Cursor;

static bool take(Cursor *c, void *ret, size_t n) {
        if (n > c->left)
                return false;
        memcpy(ret, c->p, n);
        c->p += n;
        c->left -= n;
        return true;
}

/* Only bits of the options this build has (the settings table's). */
static bool options_from(uint32_t v, ConnectionOptions *ret) {
        SocketOption o;
        size_t n = 0;
        while (config_socket_option(n, &o))
                n++;
        if (n < 32 && v >> n)
                return false;
        *ret = (ConnectionOptions) { v };
        return true;
}

/* A table's entries where they lie in the message: aligned, as every part
 * before them has a size that is a multiple of the alignment. */
static int take_table(Cursor *c, uint64_t n, KeyTable *ret) {
        if (n > c->left / sizeof(KeyEntry) || (uintptr_t) c->p % _Alignof(KeyEntry) != 0)
                return -EBADMSG;
        *ret = (KeyTable) { (KeyEntry *) c->p, n };
        c->p += n * sizeof(KeyEntry);
        c->left -= n * sizeof(KeyEntry);
        return 0;
}

static int parse_tables(Cursor *c, const ListenerSet *live, ReloadTarget *t) {
        for (size_t i = 0; i < live->n; i++) {
                ListenerHeader lh;
                if (!take(c, &lh, sizeof lh) || memcmp(&lh.address, &live->v[i].address, sizeof lh.address) != 0 ||
                    memcmp(&lh.shape, &live->v[i].shape, sizeof lh.shape) != 0)
                        return -EBADMSG;
                int r = take_table(c, lh.n_keys, &t->tables[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The settings in the range config.c takes them in, the command a path
 * and at least one word, every one ended. */
static bool next_valid(const ReloadHeader *h, const char *command) {
        if (h->max_connections < 1 || h->max_connections > 1000000 || h->max_connections_per_source > 1000000 ||
            h->inetd > 1)
                return false;
        if (h->command_size == 0)
                return true;
        size_t words = 0;
        for (size_t i = 0; i < h->command_size; i++)
                words += command[i] == 0;
        return words >= 2 && command[h->command_size - 1] == 0 && command[0] != 0;
}

int resident_parse_reload(const void *buf, size_t size, const ListenerSet *live, ReloadTarget *ret,
                          ConfigSource *ret_source, ReloadNext *ret_next) {
        Cursor c = { buf, size };
        ReloadHeader h;
        ReloadTarget t = { .borrowed = true };
        if (!take(&c, &h, sizeof h) || h.n_listeners != live->n || !options_from(h.options[0], &t.old) ||
            !options_from(h.options[1], &t.new))
                return -EBADMSG;
        t.n = live->n;
        if (!(t.tables = malloc0(t.n, sizeof *t.tables)))
                return -ENOMEM;
        int r = parse_tables(&c, live, &t);
        if (r >= 0 && (h.source_size > c.left || h.command_size != c.left - h.source_size ||
                       !next_valid(&h, c.p + h.source_size) || !reload_target_valid(live, &t)))
                r = -EBADMSG;
        if (r < 0) {
                reload_target_done(&t);
                return r;
        }
        *ret_source = (ConfigSource) { (char *) c.p, h.source_size };
        *ret_next = (ReloadNext) {
                .accept = { h.max_connections, h.max_connections_per_source, h.inetd },
                .command = h.command_size ? c.p + h.source_size : NULL,
                .command_size = h.command_size,
        };
        *ret = t;
        return 0;
}
