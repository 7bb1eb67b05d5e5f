/* The runtime state's start-up and the command of the next process. */
#include "runtime.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"
#include "util.h"
#include "watch.h"

int runtime_load(Runtime *rt) {
        rt->read_at = watch_clock();
        int r = rt->load(NULL, &rt->source, &rt->config);
        if (r < 0)
                return r;
        if ((r = config_source_add_keys(&rt->source, rt->config)) < 0)
                return log_errno(r, "out of memory");
        rt->accept = accept_settings(rt->config);
        return rt->decide ? rt->decide(rt->config, &rt->mode) : 0;
}

int runtime_find_command(Runtime *rt) {
        char *path = NULL;
        int r = command_find(rt->config, &path);
        return r < 0 ? r : runtime_set_command(rt, rt->config, path);
}

static const char *exec_problem(int r) {
        return exec_exit_code(r) == EXIT_EXEC_NOT_FOUND ? "command not found"
               : r == -EACCES                            ? "not executable"
                                                         : strerror(-r);
}

#define NO_INTERPRETER "neither a program nor a script with a #! line: add one (#!/bin/sh) or name the " \
                       "interpreter (ExecStart = /bin/sh %s)"

/* A text file without "#!" fails execve() with ENOEXEC: say so before any
 * socket exists. Whatever starts with a byte that is no text (an ELF
 * program, or a format binfmt_misc may know) is left to execve(). */
static bool text_without_interpreter(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        unsigned char head[2];
        if (fd < 0 || read(fd, head, sizeof head) != (ssize_t) sizeof head)
                return false;
        return !(head[0] == '#' && head[1] == '!') && (isprint(head[0]) || isspace(head[0])) &&
               (isprint(head[1]) || isspace(head[1]));
}

static void log_command_problem(const Config *c, const char *problem) {
        const Origin *o = &c->origin[SETTING_EXEC_START];
        if (o->line) /* not from the command line */
                log_error("%s:%u: ExecStart=%s: %s", o->file, o->line, c->exec_start[0], problem);
        else
                log_error("%s: %s", c->exec_start[0], problem);
}

int command_find(const Config *c, char **ret_path) {
        int r = exec_resolve(c->exec_start[0], ret_path);
        if (r < 0) {
                log_command_problem(c, exec_problem(r));
                return r;
        }
        if (text_without_interpreter(*ret_path)) {
                char problem[PATH_MAX + 160];
                snprintf(problem, sizeof problem, NO_INTERPRETER, *ret_path);
                log_command_problem(c, problem);
                free(*ret_path);
                *ret_path = NULL;
                return -ENOEXEC;
        }
        return 0;
}

void runtime_log_exec_error(const Runtime *rt, int r) {
        char problem[PATH_MAX + 200];
        if (r == -ENOEXEC)
                snprintf(problem, sizeof problem, "cannot execute %s: " NO_INTERPRETER, rt->path, rt->path);
        else
                snprintf(problem, sizeof problem, "cannot execute %s: %s", rt->path, strerror(-r));
        log_command_problem(rt->config, problem);
}

int runtime_set_command(Runtime *rt, const Config *c, char *path) {
        char **argv = strv_copy(c->exec_start);
        if (!argv) {
                free(path);
                return log_errno(-ENOMEM, "out of memory");
        }
        free(rt->path);
        strv_free(rt->argv);
        rt->path = path;
        rt->argv = argv;
        return 0;
}

const char *runtime_fdname(const Runtime *rt) {
        return rt->config->fdname ? rt->config->fdname : rt->config->name;
}

void runtime_done(Runtime *rt) {
        listener_set_close(&rt->listeners);
        config_free(rt->config);
        config_source_done(&rt->source);
        free(rt->path);
        strv_free(rt->argv);
        *rt = (Runtime) { .load = rt->load, .decide = rt->decide };
}
