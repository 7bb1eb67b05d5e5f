/* --status: what the kernel holds, read-only. Every keyed listening socket
 * of this network namespace with its prefixes, key names and fingerprints
 * (never a secret), compared with the config when one is given (its
 * listeners' TCP-AO keys and counters too, read on a copy of the socket
 * taken from its holder), the unprotected ports of the service's
 * processes, and the kernel's TCP MD5 and TCP-AO drop counters. */
#pragma once

#include "config.h"

/* c: the config as on disk now (a reload would install it), or NULL for
 * none (not given, or it did not load: the kernel's keys are still shown,
 * unnamed). Prints to stdout; returns the exit code: 0 in sync, 1 when a
 * listener differs, is missing, or a process of the service listens
 * unprotected, or its TCP-AO keys cannot be read; 77 without CAP_NET_ADMIN; 71 when the kernel cannot be
 * asked. */
int status_show(const Config *c);
