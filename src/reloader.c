/* A resident mode's reloads (reloader.h). */
#include "reloader.h"

#include <malloc.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* Watches the files of the config in force, read at read_at; a change
 * since then may have come before the watch on its directory. */
static void rewatch(Reloader *r, struct timespec read_at) {
        int k = r->watch ? 0 : watch_new(&r->watch);
        if (k >= 0)
                k = watch_set(r->watch, &r->rt->source, read_at);
        if (k < 0)
                log_warning("cannot watch the config and key files (%s); reload with SIGHUP", strerror(-k));
}

void reloader_init(Reloader *r, Runtime *rt, bool watch, ReloaderOver over, void *userdata) {
        *r = (Reloader) { .rt = rt, .over = over, .userdata = userdata };
        if (watch)
                rewatch(r, rt->read_at);
}

/* After a reload, whichever way it ended. */
static void reload_over(Reloader *r, struct timespec read_at, bool pass_on) {
        r->rt->read_at = read_at;
        if (r->watch)
                rewatch(r, read_at);
        if (r->over)
                r->over(r->userdata, pass_on);
        (void) malloc_trim(0); /* what the reload left freed: we stay resident for long */
        if (r->hup_waiting || r->watch_waiting) {
                bool hup = r->hup_waiting;
                r->hup_waiting = r->watch_waiting = false;
                reloader_request(r, hup ? "SIGHUP" : watch_changed(r->watch), hup);
        }
}

void reloader_request(Reloader *r, const char *trigger, bool pass_on) {
        struct timespec read_at = watch_clock();
        if (r->child) {
                r->hup_waiting |= pass_on;
                r->watch_waiting |= !pass_on;
                return;
        }
        if (reload_child_start(r->rt, trigger, &r->child) < 0) {
                reload_over(r, read_at, pass_on);
                return;
        }
        r->read_at = read_at;
        r->pass_on = pass_on;
}

void reloader_pollfds(const Reloader *r, struct pollfd ret[static RELOADER_POLLFDS]) {
        ret[0] = (struct pollfd) { .fd = r->watch ? watch_fd(r->watch) : -1, .events = POLLIN };
        if (r->child)
                reload_child_pollfds(r->child, &ret[1]);
        else
                ret[1] = ret[2] = (struct pollfd) { .fd = -1 };
}

int reloader_timeout(const Reloader *r, int timeout) {
        int w = r->watch ? watch_timeout(r->watch) : -1;
        return w < 0 ? timeout : timeout < 0 || w < timeout ? w : timeout;
}

void reloader_event(Reloader *r, const struct pollfd p[static RELOADER_POLLFDS]) {
        if (p[0].fd >= 0 && p[0].revents)
                (void) watch_drain(r->watch);
        if (r->watch && watch_due(r->watch))
                reloader_request(r, watch_changed(r->watch), false);
        if (r->child)
                reload_child_event(r->child, &p[1]);
}

bool reloader_reaped(Reloader *r, pid_t pid, int status) {
        return r->child && reload_child_reaped(r->child, pid, status);
}

void reloader_tick(Reloader *r) {
        if (!r->child || !reload_child_over(r->child))
                return;
        (void) reload_child_finish(TAKE_PTR(r->child), r->rt);
        reload_over(r, r->read_at, r->pass_on);
}

void reloader_cancel(Reloader *r, const char *why) {
        if (r->child)
                reload_child_cancel(TAKE_PTR(r->child), why);
        r->hup_waiting = r->watch_waiting = false;
}

void reloader_done(Reloader *r) {
        reloader_cancel(r, "the activator stops");
        r->watch = watch_free(r->watch);
}
