/* Status messages to the service manager (sd_notify(3)) for the modes in
 * which the activator stays: supervise, accept, and on demand while it
 * waits. Each call is a no-op returning 0 when $NOTIFY_SOCKET is unset. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One datagram with the given text, e.g. "READY=1\nSTATUS=...". -errno. */
int notify_send(const char *text);

/* The parts of STATUS=, kept until changed: every message carries them all. */
void notify_set_keys(size_t n_listeners, size_t n_keys);
/* A static phrase ("waiting for the first connection"), or NULL. */
void notify_set_activity(const char *what);
/* Accept mode: from now on STATUS= counts the running connections. */
void notify_set_connections(size_t n);
/* After a reload: what triggered it ("SIGHUP", "FILE changed"), and whether
 * it failed (the old keys stay then). */
void notify_set_reload(const char *trigger, bool failed);
/* Supervise mode: "not protected: ADDR:PORT (pid N comm), ...", or "" (unkeyed.c). */
void notify_set_unprotected(const char *text);
/* The STATUS= text into buf; its length. */
size_t notify_status_format(char *buf, size_t size);

/* READY=1 with STATUS=. */
int notify_ready(void);
/* STATUS= alone, after a part changed. */
int notify_status(void);
/* RELOADING=1 and MONOTONIC_USEC=now, as Type=notify-reload wants, with
 * STATUS= naming the trigger. */
int notify_reloading(const char *trigger);
int notify_stopping(void);
