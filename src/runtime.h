/* What a running activator owns: the listeners with the keys they hold,
 * what the config was read from, and what its next process runs. One per
 * process; every mode's loop works on it, and a reload in a reload child
 * (reload-child.c) is the one way it changes after start-up, in every
 * mode. */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "config-files.h"
#include "config.h"
#include "listener.h"
#include "mode.h"

typedef struct Runtime Runtime;

/* What the accept loop reads for every connection: taken from the config
 * at start-up and from a reload's message after (reload-child.c), so the
 * loop never reads a Config a reload left behind. */
typedef struct AcceptSettings {
        unsigned max_connections;
        unsigned max_connections_per_source; /* 0: unlimited */
        bool inetd;
} AcceptSettings;

static inline AcceptSettings accept_settings(const Config *c) {
        return (AcceptSettings) { c->max_connections, c->max_connections_per_source, c->inetd };
}

/* Reads the config anew, the command line applied. With replay: parsed
 * from those texts alone (the config in force, to compare a reload with).
 * Else from the files, checked and resolved (key files read), their text
 * added to record when given. Logs; returns -errno. */
typedef int (*RuntimeLoad)(const ConfigSource *replay, ConfigSource *record, Config **ret);
/* The mode the config loaded at start-up asks for, the command line
 * applied (mode_decide()). Logs why not; returns -errno. */
typedef int (*RuntimeDecide)(const Config *c, Mode *ret);

struct Runtime {
        ListenerSet listeners;
        /* The config read at start-up, when it was read here (accept and
         * on-demand mode): the settings only a restart changes, and the
         * secrets to wipe before exec. A reload leaves it as it is: what a
         * reload changes is in the listeners, source, accept, path and
         * argv. A supervisor that started its daemon from a child has only
         * the source, so that no parse ever touches its heap and it stays
         * as small as tini. */
        Config *config;
        ConfigSource source;
        char *path;           /* the next process's program, from exec_resolve() */
        char **argv;
        AcceptSettings accept; /* in force for the next connection */
        struct timespec read_at; /* when the files in source were read (watch_clock()), for --watch */
        bool daemon_runs;     /* the command already runs: a reload cannot change it */
        RuntimeLoad load;
        RuntimeDecide decide;
        Mode mode;            /* decided by runtime_load(), once */
};

/* Start-up: loads the config, recording what it was read from, and
 * decides the mode. Logs; returns -errno. */
int runtime_load(Runtime *rt);
/* Then finds its command (before any socket exists: a typo opens
 * nothing). Logs; returns -errno, for exec_exit_code(). */
int runtime_find_command(Runtime *rt);
/* Finds c's command as execve() will; logs why it cannot run, with
 * ExecStart='s file:line. -errno. */
int command_find(const Config *c, char **ret_path);
/* Logs why execve() of the command failed, with ExecStart='s file:line. */
void runtime_log_exec_error(const Runtime *rt, int r);
/* Keeps path (taken over) and c's words for the next process. -errno. */
int runtime_set_command(Runtime *rt, const Config *c, char *path);
/* The FileDescriptorName= of every listener. */
const char *runtime_fdname(const Runtime *rt);
void runtime_done(Runtime *rt);
