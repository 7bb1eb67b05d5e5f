/* The runtime state's start-up and the command of the next process. */
#include "runtime.h"

#include <errno.h>
#include <string.h>

#include "handoff.h"
#include "log.h"
#include "util.h"

int runtime_load(Runtime *rt) {
        int r = rt->load(NULL, &rt->source, &rt->config);
        if (r < 0)
                return r;
        if ((r = config_source_add_keys(&rt->source, rt->config)) < 0)
                return log_errno(r, "out of memory");
        return 0;
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

int command_find(const Config *c, char **ret_path) {
        const Origin *o = &c->origin[SETTING_EXEC_START];
        int r = exec_resolve(c->exec_start[0], ret_path);
        if (r >= 0)
                return 0;
        if (o->line) /* not from the command line */
                log_error("%s:%u: ExecStart=%s: %s", o->file, o->line, c->exec_start[0], exec_problem(r));
        else
                log_error("%s: %s", c->exec_start[0], exec_problem(r));
        return r;
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
        *rt = (Runtime) { .load = rt->load };
}
