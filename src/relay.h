/* Moves bytes both ways between a local pair of fds (stdin/stdout for
 * tcpmd5-connect) and a connected socket, as netcat and an ssh ProxyCommand
 * need: each direction ends on its own, and the end of one side's data
 * becomes a half-close on the other. */
#pragma once

#include <stdint.h>

typedef struct RelayStats {
        uint64_t sent;       /* input -> socket */
        uint64_t received;   /* socket -> output */
        const char *failed;  /* on error: the step, e.g. "writing the output" */
} RelayStats;

/* Runs until both directions are done (0) or one fails (-errno, and
 * ret->failed says which step). in and out may be the same fd.
 *
 * Data moves with splice() through a pipe (no copy into user space), or
 * through a buffer for an fd that cannot splice. sock is set non-blocking;
 * in and out keep their flags (they may be a terminal shared with a shell),
 * so an fd that can block is only touched after poll() says it is ready.
 *
 * EOF on in: shutdown(sock, SHUT_WR) once everything is sent. EOF on sock:
 * out is shut down (socket) or replaced by /dev/null (anything else), so its
 * reader sees EOF while the fd number stays taken. Call with SIGPIPE
 * ignored, so a vanished reader is an EPIPE error rather than death. */
int relay_run(int in, int out, int sock, RelayStats *ret);
