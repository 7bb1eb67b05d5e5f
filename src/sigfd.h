/* Signals as fd events: blocked, then read from a signalfd in the same
 * poll() as the sockets, so no work happens in a signal handler. */
#pragma once

#include <stddef.h>

/* Blocks sigs[0..n) and returns a non-blocking, close-on-exec signalfd for
 * them (or -errno). A started program gets an empty mask (handoff.h). */
int sigfd_open(const int *sigs, size_t n);
/* The next pending signal's number, 0 when none is pending, or -errno. */
int sigfd_read(int fd);
