/* A supervisor's state crossing from a child to it, as plain bytes: each
 * listener's address, shape and key table, the catch-all secret, and the
 * ConfigSource; at start-up the listening sockets too (SCM_RIGHTS). The
 * supervisor lets children read configs (supervise.c at start-up, reload.c
 * on a reload) and only ever receives their result, so no parse touches
 * its heap. */
#pragma once

#include <stdbool.h>

#include "runtime.h"

/* Writes rt's listeners and source to fd, a stream socket (with the
 * sockets themselves when with_fds) or a pipe. -errno. */
int resident_send(int fd, const Runtime *rt, bool with_fds);

/* Reads what resident_send() wrote. With with_fds, into rt's empty
 * listener set and source, all or nothing. Else the key tables and source
 * of a reload, over rt's: read in place where they fit (a rotation
 * changes no size), so the heap does not grow from one reload to the
 * next; after a failure past the first byte they are in doubt. -errno;
 * -ENODATA: the sender wrote nothing. */
int resident_receive(int fd, Runtime *rt, bool with_fds);
