/* A resident copy of a Config in one block. The supervisor keeps its config
 * for the next reload's diff, for as long as the daemon runs. Built by the
 * parser, a Config is some fifty small allocations made among the parser's
 * temporaries; after a reload the new one lies among the holes the old one
 * and the parse left, so a 2 kB config kept three or four heap pages dirty.
 * One block instead, in static storage when it fits: the heap then trims
 * back to the page it started with, after start-up and after every reload. */
#include "config-pack.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for a few dozen keys. It sits in .bss, beside the binary's other
 * static data: a page that is dirty anyway, so the common small config
 * costs no page of its own. Larger configs take one heap block. */
static alignas(max_align_t) char resident[2048];
static bool resident_used;

typedef struct Packer {
        char *base; /* NULL: only count */
        size_t used;
        const Config *from;
        char **files; /* the copy's file names, for Origin.file */
} Packer;

static void *take(Packer *p, const void *src, size_t size) {
        size_t at = (p->used + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
        p->used = at + size;
        if (!p->base || !src)
                return NULL;
        return memcpy(p->base + at, src, size);
}

static char *take_str(Packer *p, const char *s) {
        return s ? take(p, s, strlen(s) + 1) : NULL;
}

static char **take_strv(Packer *p, char **v) {
        size_t n = 0;
        if (!v)
                return NULL;
        while (v[n])
                n++;
        char **d = take(p, v, (n + 1) * sizeof *v);
        for (size_t i = 0; i < n; i++) {
                char *s = take_str(p, v[i]);
                if (d)
                        d[i] = s;
        }
        return d;
}

/* Origins point into Config.files (or at static text: "(command line)"). */
static void origin_move(const Packer *p, Origin *o) {
        for (size_t i = 0; p->files && o->file && i < p->from->n_files; i++)
                if (o->file == p->from->files[i]) {
                        o->file = p->files[i];
                        return;
                }
}

static void key_pack(Packer *p, const KeyConfig *k, KeyConfig *d) {
        PeerEntry *peers = take(p, k->peers, k->n_peers * sizeof *k->peers);
        char *name = take_str(p, k->name), *arg = take_str(p, k->source_arg), *ifname = take_str(p, k->interface);
        if (!d)
                return;
        d->name = name;
        d->source_arg = arg;
        d->interface = ifname;
        d->peers = peers;
        d->cap_peers = k->n_peers;
        origin_move(p, &d->origin);
        origin_move(p, &d->secret_origin);
        origin_move(p, &d->interface_origin);
        for (size_t i = 0; peers && i < k->n_peers; i++)
                origin_move(p, &peers[i].origin);
}

/* Copies c into p->base (or only counts, without a base). */
static Config *pack(Packer *p, const Config *c) {
        Config *d = take(p, c, sizeof *c);
        p->from = c;
        p->files = take_strv(p, c->files);
        ListenEntry *listen = take(p, c->listen, c->n_listen * sizeof *c->listen);
        KeyConfig *keys = take(p, c->keys, c->n_keys * sizeof *c->keys);
        for (size_t i = 0; i < c->n_keys; i++)
                key_pack(p, &c->keys[i], keys ? &keys[i] : NULL);
        char *name = take_str(p, c->name), *device = take_str(p, c->bind_to_device), *fdname = take_str(p, c->fdname);
        char **exec_start = take_strv(p, c->exec_start);
        if (!d)
                return NULL;
        /* d is a copy of *c: every scalar is in place, the pointers move. */
        d->name = name;
        d->files = p->files;
        d->cap_files = c->n_files;
        d->listen = listen;
        d->cap_listen = c->n_listen;
        d->bind_to_device = device;
        d->fdname = fdname;
        d->exec_start = exec_start;
        d->keys = keys;
        d->cap_keys = c->n_keys;
        /* Nothing merges into a packed config: the name index, a quarter
         * of a small config, stays behind. */
        d->key_index = NULL;
        d->key_index_size = 0;
        d->packed_size = p->used;
        for (size_t i = 0; i < _SETTING_MAX; i++)
                origin_move(p, &d->origin[i]);
        for (size_t i = 0; i < c->n_listen; i++)
                origin_move(p, &listen[i].origin);
        return d;
}

int config_pack(Config **c) {
        Packer count = { 0 };
        if ((*c)->packed_size)
                return 0;
        (void) pack(&count, *c);
        Packer p = { .base = !resident_used && count.used <= sizeof resident ? resident : malloc(count.used) };
        if (!p.base)
                return -ENOMEM;
        resident_used |= p.base == resident;
        Config *d = pack(&p, *c);
        config_free(*c);
        *c = d;
        return 0;
}

void config_packed_free(Config *c) {
        bool in_resident = (char *) c == resident;
        explicit_bzero(c, c->packed_size); /* the secrets are in there */
        if (in_resident)
                resident_used = false;
        else
                free(c);
}

bool config_is_resident(const Config *c) {
        return (const char *) c == resident;
}

bool config_pack_fits_resident(const Config *c) {
        Packer count = { 0 };
        (void) pack(&count, c);
        return count.used <= sizeof resident;
}

/* The block holds absolute pointers into itself, so it only means something
 * at the same address: in a process forked from ours, at resident. */
int config_pack_send(int fd, const Config *c) {
        if ((const char *) c != resident)
                return -EINVAL;
        for (size_t done = 0; done < c->packed_size;) {
                ssize_t n = write(fd, resident + done, c->packed_size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }
        return 0;
}

static int read_full(int fd, char *buf, size_t size) {
        for (size_t done = 0; done < size;) {
                ssize_t n = read(fd, buf + done, size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                done += (size_t) n;
        }
        return 0;
}

int config_pack_receive(int fd, Config **ret) {
        Config *c = (Config *) resident;
        if (resident_used)
                return -EBUSY;
        int r = read_full(fd, resident, sizeof *c);
        if (r >= 0 && (c->packed_size < sizeof *c || c->packed_size > sizeof resident))
                r = -EBADMSG;
        if (r >= 0)
                r = read_full(fd, resident + sizeof *c, c->packed_size - sizeof *c);
        if (r < 0) {
                explicit_bzero(resident, sizeof resident);
                return r;
        }
        resident_used = true;
        *ret = c;
        return 0;
}
