/* --watch: reload when a config file, a drop-in or a key file changes,
 * without waiting for SIGHUP (key files rotated by a deployment tool). */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "config-files.h"

typedef struct Watch Watch;

int watch_new(Watch **ret);
/* Watches the directories holding s's files, the first one's drop-in
 * directory (or where that would be created), the key files, and each
 * directory's parent for the directory's own name; forgets the names of
 * the previous config. s was read at since (watch_clock()): a change made
 * after that but before its directory was watched sent no event, so it
 * schedules a reload. Call it after every reload, failed or not, with the
 * config in force: a directory made again is watched from then on.
 * Returns -errno. */
int watch_set(Watch *w, const ConfigSource *s, struct timespec since);
Watch *watch_free(Watch *w);
int watch_fd(const Watch *w);
/* Reads every pending event; true if one concerned a file we read (or
 * could read: a drop-in .conf), which schedules a reload. */
bool watch_drain(Watch *w);
/* The poll() timeout until a scheduled reload is due, in ms; -1: none. */
int watch_timeout(const Watch *w);
/* Whether the scheduled reload is due now: the files were quiet for a
 * moment, or the first change is 2 s old however busy they stayed. Once
 * true, the reload is no longer scheduled. */
bool watch_due(Watch *w);
/* The time files are stamped with now: take it before reading the files
 * that watch_set() is then given. */
struct timespec watch_clock(void);
/* What changed since watch_set(), for messages: "FILE changed", "FILE and
 * other files changed". Valid until the next call or watch_set(). */
const char *watch_changed(Watch *w);
