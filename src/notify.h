/* Status messages to the service manager (sd_notify(3)) for the modes in
 * which the activator stays: supervise and accept. Each call is a no-op
 * returning 0 when $NOTIFY_SOCKET is unset. */
#pragma once

#include <stddef.h>

/* One datagram with the given text, e.g. "READY=1\nSTATUS=...". -errno. */
int notify_send(const char *text);
/* READY=1 with STATUS= giving the listener and key counts. */
int notify_ready(size_t n_listeners, size_t n_keys, const char *note);
/* RELOADING=1 and MONOTONIC_USEC=now, as Type=notify-reload wants. */
int notify_reloading(void);
int notify_stopping(void);
