/* The sd_notify protocol, written out: one datagram on the AF_UNIX socket
 * that $NOTIFY_SOCKET names (a path, or "@name" for the abstract
 * namespace). The protocol is stable and documented for reimplementation
 * (sd_notify(3)); linking libsystemd for it would map seven more libraries
 * into the resident supervisor and more than double its private memory
 * (measured: +140 kB Private_Dirty), where the supervisor is meant to stay
 * as small as tini (bench/supervise-memory). */
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

/* What STATUS= says, kept between messages so that each repeats the rest:
 * "2 listeners, 5 keys installed; 3 connections; reloaded after SIGHUP". */
static struct {
        size_t listeners, keys;
        const char *activity;       /* static text, or NULL */
        char connections[32];       /* accept mode: "3 connections" */
        char reload[256];           /* how the last reload went and why */
        char unprotected[256];      /* ports the daemon opened itself, without a key */
} status;

void notify_set_keys(size_t n_listeners, size_t n_keys) {
        status.listeners = n_listeners;
        status.keys = n_keys;
}

void notify_set_activity(const char *what) {
        status.activity = what;
}

void notify_set_connections(size_t n) {
        snprintf(status.connections, sizeof status.connections, "%zu connection%s", n, n == 1 ? "" : "s");
}

void notify_set_reload(const char *trigger, bool failed) {
        if (failed)
                snprintf(status.reload, sizeof status.reload, "reload after %s failed, old keys kept", trigger);
        else
                snprintf(status.reload, sizeof status.reload, "reloaded after %s", trigger);
}

void notify_set_unprotected(const char *text) {
        snprintf(status.unprotected, sizeof status.unprotected, "%s", text ? text : "");
}

/* Appends "; part", cut short where size ends. By hand, and into the one
 * buffer send_status() sends: the supervisor says STATUS= at each reload,
 * and snprintf()'s stack over a second buffer went deeper than anything
 * else it does (bench/supervise-memory). */
static void append(char *buf, size_t size, const char *part) {
        size_t n = strlen(buf);
        if (str_empty(part))
                return;
        for (const char *s = "; "; *s && n + 1 < size; s++)
                buf[n++] = *s;
        for (const char *s = part; *s && n + 1 < size; s++)
                buf[n++] = *s;
        buf[n] = 0;
}

size_t notify_status_format(char *buf, size_t size) {
        snprintf(buf, size, "%zu listener%s, %zu key%s installed", status.listeners,
                 status.listeners == 1 ? "" : "s", status.keys, status.keys == 1 ? "" : "s");
        append(buf, size, status.activity);
        append(buf, size, status.connections);
        append(buf, size, status.reload);
        append(buf, size, status.unprotected);
        return strlen(buf);
}

/* prefix: a short static line ("READY=1\n") or "". */
static int send_status(const char *prefix) {
        char buf[768];
        if (str_empty(getenv("NOTIFY_SOCKET")))
                return 0;
        char *text = stpcpy(stpcpy(buf, prefix), "STATUS=");
        notify_status_format(text, sizeof buf - (size_t) (text - buf));
        return notify_send(buf);
}

int notify_ready(void) {
        return send_status("READY=1\n");
}

int notify_status(void) {
        return send_status("");
}

int notify_reloading(const char *trigger) {
        struct timespec ts;
        char buf[384];
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(buf, sizeof buf, "RELOADING=1\nSTATUS=reloading keys after %s\nMONOTONIC_USEC=%llu", trigger,
                 (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000);
        return notify_send(buf);
}

int notify_stopping(void) {
        return notify_send("STOPPING=1");
}
