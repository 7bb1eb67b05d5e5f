/* The wire format is this build's structs as they lie in memory: both
 * ends are the same program, forked from one another. */
#include "resident.h"

#include <errno.h>
#include <string.h>
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

/* The header, with the listeners' fds attached when with_fds. */
static int send_header(int fd, const Header *h, const ListenerSet *set, bool with_fds) {
        struct iovec iov = { .iov_base = (void *) h, .iov_len = sizeof *h };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        size_t n = with_fds ? set->n : 0;
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

int resident_send(int fd, const Runtime *rt, bool with_fds) {
        const ListenerSet *set = &rt->listeners;
        Header h = { .n_listeners = set->n, .source_size = rt->source.size, .catch_all = set->catch_all };
        /* The count first: the receiver sizes its buffer for the fds by it. */
        int r = write_all(fd, &set->n, sizeof set->n);
        if (r >= 0)
                r = send_header(fd, &h, set, with_fds);
        explicit_bzero(&h, sizeof h);
        for (size_t i = 0; r >= 0 && i < set->n; i++) {
                const Listener *l = &set->v[i];
                ListenerHeader lh = { l->address, l->shape, l->n_keys };
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

/* n entries into *keys: in place when it holds that many already (a key
 * rotation), so that the heap does not grow from one reload to the next. */
static int receive_keys(int fd, KeyEntry **keys, size_t *n_keys, size_t n) {
        if (n > SIZE_MAX / sizeof(KeyEntry) / 2)
                return -EBADMSG;
        if (!*keys || *n_keys != n) {
                KeyEntry *v = malloc((n ? n : 1) * sizeof *v);
                if (!v)
                        return -ENOMEM;
                key_table_free(*keys, *n_keys);
                *keys = v;
                *n_keys = n;
        }
        int r = read_all(fd, *keys, n * sizeof **keys);
        return r == -ENODATA ? -EPIPE : r;
}

/* The same for the source. */
static int receive_source(int fd, ConfigSource *s, size_t size) {
        if (!s->data || s->size != size) {
                char *d = malloc(size ? size : 1);
                if (!d)
                        return -ENOMEM;
                config_source_done(s);
                *s = (ConfigSource) { d, size };
        }
        int r = read_all(fd, s->data, size);
        return r == -ENODATA ? (size ? -EPIPE : 0) : r;
}

/* Start-up: a new listener set, with the sockets. */
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
                        r = receive_keys(fd, &v[i].keys, &v[i].n_keys, lh.n_keys);
                }
        }
        if (r >= 0)
                r = receive_source(fd, source, h.source_size);
        if (r < 0 || h.n_listeners != n) {
                tables_free(v, n);
                explicit_bzero(&h, sizeof h);
                return r < 0 ? (r == -ENODATA ? -EPIPE : r) : -EBADMSG;
        }
        *ret = (ListenerSet) { .v = v, .n = n, .catch_all = h.catch_all };
        explicit_bzero(&h, sizeof h);
        return 0;
}

/* A reload: the tables of the listeners we have, which must be the ones
 * the child had. */
static int receive_tables(int fd, Runtime *rt) {
        Header h;
        int r = read_all(fd, &h, sizeof h);
        explicit_bzero(&h.catch_all, sizeof h.catch_all);
        if (r < 0)
                return r == -ENODATA ? -EPIPE : r;
        for (size_t i = 0; i < rt->listeners.n; i++) {
                Listener *l = &rt->listeners.v[i];
                ListenerHeader lh;
                if ((r = read_all(fd, &lh, sizeof lh)) < 0)
                        return r == -ENODATA ? -EPIPE : r;
                if (memcmp(&lh.address, &l->address, sizeof lh.address) != 0 ||
                    memcmp(&lh.shape, &l->shape, sizeof lh.shape) != 0)
                        return -EBADMSG;
                if ((r = receive_keys(fd, &l->keys, &l->n_keys, lh.n_keys)) < 0)
                        return r;
        }
        return receive_source(fd, &rt->source, h.source_size);
}

int resident_receive(int fd, Runtime *rt, bool with_fds) {
        size_t n;
        int r = read_all(fd, &n, sizeof n);
        if (r < 0)
                return r;
        if (with_fds)
                return n > 65536 ? -EBADMSG : receive_listeners(fd, &rt->listeners, &rt->source, n);
        return n != rt->listeners.n ? -EBADMSG : receive_tables(fd, rt);
}
