/* The reloads of a resident mode's poll loop (supervise, accept, on
 * demand): asked for by SIGHUP or, with --watch, by a changed config or key
 * file; one at a time, each in a reload child (reload-child.h); a request
 * that comes meanwhile runs once after it. The mode's loop polls the
 * entries reloader_pollfds() gives, passes the results to
 * reloader_event(), reaped pids to reloader_reaped(), and calls
 * reloader_tick() once its signals are read. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "reload-child.h"
#include "runtime.h"
#include "watch.h"

/* After each reload, whichever way it ended: pass_on when SIGHUP asked
 * for it (a supervisor passes it on to its daemon). */
typedef void (*ReloaderOver)(void *userdata, bool pass_on);

typedef struct Reloader {
        Runtime *rt;
        ReloadChild *child;     /* the reload under way */
        Watch *watch;           /* with --watch */
        struct timespec read_at; /* when the reload under way started reading */
        bool pass_on;           /* the reload under way came from SIGHUP */
        bool hup_waiting;       /* a SIGHUP came meanwhile: one more reload after it */
        bool watch_waiting;     /* a watched file changed meanwhile: one more reload after it */
        ReloaderOver over;
        void *userdata;
} Reloader;

#define RELOADER_POLLFDS 3

/* With watch, watches the files rt's config was read from at rt->read_at
 * (a failure to is logged: SIGHUP still works). */
void reloader_init(Reloader *r, Runtime *rt, bool watch, ReloaderOver over, void *userdata);
void reloader_request(Reloader *r, const char *trigger, bool pass_on);
void reloader_pollfds(const Reloader *r, struct pollfd ret[static RELOADER_POLLFDS]);
/* timeout (ms, -1: none) shortened to when a scheduled reload is due. */
int reloader_timeout(const Reloader *r, int timeout);
/* After poll(), with those entries: reads the watch and the child, and
 * starts a reload that a file change made due. */
void reloader_event(Reloader *r, const struct pollfd p[static RELOADER_POLLFDS]);
/* For the loop's waitpid(-1): true when pid was the reload child. */
bool reloader_reaped(Reloader *r, pid_t pid, int status);
/* Once the signals are read: ends a reload that is over, and starts the
 * one asked for meanwhile. */
void reloader_tick(Reloader *r);
/* Ends the reload under way now, keys unchanged, and forgets requests. */
void reloader_cancel(Reloader *r, const char *why);
/* Cancels, and stops watching. */
void reloader_done(Reloader *r);
