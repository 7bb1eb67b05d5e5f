/* A resident process's state crossing from a child to it, as plain bytes.
 * At start-up (a supervisor): each listener's address, shape and key table,
 * the catch-all secret, the ConfigSource, and the listening sockets
 * (SCM_RIGHTS). On a reload (every resident mode): the new key tables and
 * options (a ReloadTarget), the new ConfigSource, and what the next process
 * started gets (ReloadNext). The resident process lets children read
 * configs (supervise.c at a supervisor's start-up, reload-child.c on every
 * reload) and only ever receives their result, so no parse of a reload
 * touches its heap, and a reader that crashes fails the reload only. */
#pragma once

#include <stdbool.h>

#include "reload.h"
#include "runtime.h"

/* Start-up: writes rt's listeners (the sockets too) and source to fd, a
 * stream socket. -errno. */
int resident_send(int fd, const Runtime *rt);
/* Reads what resident_send() wrote into rt's empty listener set and
 * source, all or nothing. -errno; -ENODATA: the sender wrote nothing. */
int resident_receive(int fd, Runtime *rt);

/* What a reload gives the processes started after it, beside the keys:
 * the accept loop's settings and, while there is a command to start (accept
 * mode's per connection, on-demand mode's daemon), the command as the
 * reload child found it: "PATH\0ARGV0\0ARGV1\0...". Plain data: the
 * resident process reads no config after start-up to learn it. */
typedef struct ReloadNext {
        AcceptSettings accept;
        const char *command;   /* NULL, size 0: the daemon runs, the command stays */
        size_t command_size;
} ReloadNext;

/* The command block for path and argv (a NULL-terminated list). -ENOMEM. */
int reload_next_command(const char *path, char *const *argv, char **ret, size_t *ret_size);
/* The command block as a path and an argv, newly allocated. -ENOMEM. */
int reload_next_words(const ReloadNext *n, char **ret_path, char ***ret_argv);

/* A reload's result: t (one table per listener of live, whose addresses
 * and shapes go along to be checked), the new source and next, preceded by
 * the size of the rest, in several writes. -errno. */
int resident_send_reload(int fd, const ListenerSet *live, const ReloadTarget *t, const ConfigSource *source,
                         const ReloadNext *next);

/* The largest reload message taken: far above 10 000 keys on each of a
 * few listeners plus their config texts. */
#define RESIDENT_RELOAD_MAX (256u << 20)

/* What has arrived of a reload message, read as it comes from a
 * non-blocking socket. */
typedef struct ResidentInbox {
        uint64_t size;        /* announced: the bytes after the size itself */
        size_t got_size;      /* bytes of the size read so far */
        char *buf;            /* size bytes, wiped when done */
        size_t got;
} ResidentInbox;

/* Reads what fd has. 1 at the sender's end after a whole message, 0 while
 * more may come; -EPIPE at an end before the whole message, -EBADMSG when
 * the announced size is out of bounds or more bytes follow the message,
 * -errno. */
int resident_inbox_read(ResidentInbox *in, int fd);
/* Wipes (the tables hold secrets) and frees. */
void resident_inbox_done(ResidentInbox *in);

/* Parses a whole message (the bytes after the size, as the inbox holds
 * them) after checking all of it against live: the listener count, each
 * listener's address and shape, every count and size within what arrived,
 * every entry well formed (reload_target_valid()), the accept settings in
 * range, the command block a path and at least one word, and the end of the
 * message reached exactly. *ret's tables, *ret_source and ret_next's
 * command point into buf (ret->borrowed): valid while it is. live is only read. -EBADMSG,
 * -ENOMEM; nothing allocated then. */
int resident_parse_reload(const void *buf, size_t size, const ListenerSet *live, ReloadTarget *ret,
                          ConfigSource *ret_source, ReloadNext *ret_next);
