/* Signals as fd events: blocked, then read from a signalfd in the same
 * poll() as the sockets, so no work happens in a signal handler. Every
 * mode that stays around (accept, on demand, supervise) reads them here. */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <sys/signalfd.h>

/* Blocks mask and returns a non-blocking, close-on-exec signalfd for it
 * (or -errno). A started program gets an empty mask (handoff.h). */
int sigfd_open_set(const sigset_t *mask);
/* The same for sigs[0..n). */
int sigfd_open(const int *sigs, size_t n);
/* The next pending signal into *ret: 1, 0 when none is pending, -errno. */
int sigfd_read_info(int fd, struct signalfd_siginfo *ret);
/* The next pending signal's number, 0 when none is pending, or -errno. */
int sigfd_read(int fd);
