/* Listening TCP sockets that a service's own processes opened beside the
 * ones the activator handed over, and that carry no key: ports a peer
 * reaches unsigned (a daemon told to listen on 8083 as well as fd 3).
 * Found by matching sock_diag's socket inodes against the links
 * "socket:[INODE]" in /proc/PID/fd of each process in the tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "listener.h"
#include "sockdiag.h"

typedef struct UnkeyedPort {
        int family;
        InAddr addr;
        uint16_t port;
        uint64_t inode;
        pid_t pid;             /* one process holding it */
        char comm[16];
} UnkeyedPort;

/* "0.0.0.0:8083 (pid 123 lighttpd)" */
#define UNKEYED_STRLEN (ADDR_STRLEN + 48)
void unkeyed_format(const UnkeyedPort *u, char buf[static UNKEYED_STRLEN]);

/* The processes with any of the socket inodes open. -errno. */
int proc_socket_holders(const uint64_t *inodes, size_t n, pid_t **ret, size_t *ret_n);
/* A copy (pidfd_getfd(2), Linux >= 5.6) of socket ino, taken from a
 * process holding it: for the getsockopts only the holder can make
 * (TCP_AO_GET_KEYS). Needs ptrace rights over the holder: root's
 * CAP_SYS_PTRACE, unless Yama's ptrace_scope is 3. -ESRCH when no process
 * holds it, -EPERM without those rights, another -errno. */
int proc_socket_take(uint64_t ino, int *ret_fd);
/* The listening sockets of t without keys that roots (when include_roots)
 * or their descendants hold, except the inodes in skip. -errno. */
int unkeyed_find(const DiagTable *t, const pid_t *roots, size_t n_roots, bool include_roots, const uint64_t *skip,
                 size_t n_skip, UnkeyedPort **ret, size_t *ret_n);

/* For the supervisor, whose children are the service: after start-up and
 * after each reload, schedule a look (the daemon binds its own ports after
 * it starts: one second later, and again ten seconds later). */
void unkeyed_schedule(void);
/* The poll timeout in ms until the next look is due, or timeout when that
 * is sooner (-1: none). */
int unkeyed_poll_timeout(int timeout);
/* Looks if one is due: logs one warning per unprotected port found for the
 * first time, and puts the list into STATUS=. */
void unkeyed_tick(const ListenerSet *s);
