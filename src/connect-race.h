/* The client's racing connect: one socket per key to the same peer, all
 * keyed before any SYN, the first handshake to complete wins. */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#define RACE_MAX 8 /* keys offered at once: a rollover needs two */

/* Starts connect() to sa on each of the n non-blocking sockets fds[], in
 * that order, and waits at most timeout_ms for the first to complete. On
 * success *ret_winner is its index, fds[*ret_winner] its socket, and every
 * other socket is closed (-1). A loser whose SYN was dropped never
 * completes; closing it sends nothing. On failure every socket is closed:
 * -ETIMEDOUT when one was still waiting at the deadline, else the error of
 * the last to fail (ECONNREFUSED, ENETUNREACH, ...). */
int race_connect(int fds[], size_t n, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms,
                 size_t *ret_winner);
