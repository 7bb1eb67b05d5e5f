/* The sd_notify protocol, written out: one datagram on the AF_UNIX socket
 * that $NOTIFY_SOCKET names (a path, or "@name" for the abstract
 * namespace). The protocol is stable and documented for reimplementation
 * (sd_notify(3)); linking libsystemd for it would map seven more libraries
 * into the resident supervisor and more than double its private memory
 * (measured: +140 kB Private_Dirty), which the supervise issue forbids. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "util.h"

static int notify_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len) {
        size_t n = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof ret->sun_path)
                return -EINVAL;
        *ret = (struct sockaddr_un) { .sun_family = AF_UNIX };
        memcpy(ret->sun_path, path, n);
        if (path[0] == '@')
                ret->sun_path[0] = 0; /* abstract: no trailing NUL counted */
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
        return 0;
}

int notify_send(const char *text) {
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa;
        socklen_t len;
        if (str_empty(path))
                return 0;
        int r = notify_address(path, &sa, &len);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *) &sa, len) < 0)
                return -errno;
        return 0;
}

int notify_ready(size_t n_listeners, size_t n_keys, const char *note) {
        char buf[256];
        snprintf(buf, sizeof buf, "READY=1\nSTATUS=%zu listener%s, %zu key%s installed%s%s", n_listeners,
                 n_listeners == 1 ? "" : "s", n_keys, n_keys == 1 ? "" : "s", note ? "; " : "", note ? note : "");
        return notify_send(buf);
}

int notify_reloading(void) {
        struct timespec ts;
        char buf[96];
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(buf, sizeof buf, "RELOADING=1\nSTATUS=reloading keys\nMONOTONIC_USEC=%llu",
                 (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000);
        return notify_send(buf);
}

int notify_stopping(void) {
        return notify_send("STOPPING=1");
}
