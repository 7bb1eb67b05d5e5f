/* --watch: reload when a config file, a drop-in or a key file changes,
 * without waiting for SIGHUP (key files rotated by a deployment tool). */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "config-files.h"

typedef struct Watch Watch;

int watch_new(Watch **ret);
/* Watches the directories holding s's files, the first one's drop-in
 * directory (or where that would be created) and the key files; forgets
 * the names of the previous config. Returns -errno. */
int watch_set(Watch *w, const ConfigSource *s);
Watch *watch_free(Watch *w);
int watch_fd(const Watch *w);
/* Reads every pending event; true if one concerned a file we read (or
 * could read: a drop-in .conf). */
bool watch_drain(Watch *w);
/* The time files are stamped with now: take it before reading the files
 * that watch_set() is then given. */
struct timespec watch_clock(void);
/* Whether a watched file, or the drop-in directory, changed at or after
 * since: a change made before watch_set() watched its directory sends no
 * event, so the caller reloads once more. */
bool watch_missed(const Watch *w, struct timespec since);
/* What changed since watch_set(), for messages: "FILE changed", "FILE and
 * other files changed". Valid until the next call or watch_set(). */
const char *watch_changed(Watch *w);
