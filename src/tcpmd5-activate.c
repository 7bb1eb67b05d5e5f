/* tcpmd5-activate: create listening sockets that only signed peers can
 * reach, then hand them to a daemon. main() reads as the list of steps. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config-files.h"
#include "config.h"
#include "handoff.h"
#include "listener.h"
#include "log.h"
#include "plan.h"
#include "util.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "0"
#endif

static const char *arg_config;
static const char *arg_unit;
static char **arg_dirs;
static size_t arg_n_dirs;
static bool arg_check;
static char **arg_command;

static void help(void) {
        printf("Usage: tcpmd5-activate [OPTIONS] [--] [COMMAND [ARG]...]\n"
               "\n"
               "Create TCP listening sockets that only peers holding a TCP MD5 key\n"
               "(RFC 2385) can reach, and hand them to COMMAND (or ExecStart=) with\n"
               "the systemd LISTEN_FDS protocol.\n"
               "\n"
               "  -c, --config=FILE      read FILE and FILE.d/*.conf\n"
               "  -u, --unit=NAME        read NAME.conf and NAME.conf.d/*.conf from the\n"
               "                         search path (/etc, /run, /usr/lib/tcpmd5-activate)\n"
               "      --config-dir=DIR   search DIR instead (repeatable, in order)\n"
               "      --check            validate everything and print the plan; open nothing\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n"
               "\n"
               "Exit status: 64 usage, 78 config, 77 permissions, 71 OS error,\n"
               "69 no TCP MD5 in the kernel, 126/127 command not executable/found.\n");
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_CONFIG_DIR = 0x100, ARG_CHECK, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "unit", required_argument, NULL, 'u' },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "check", no_argument, NULL, ARG_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+c:u:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'u':
                        if (!unit_name_valid(optarg))
                                return log_errno(-EINVAL, "--unit=%s: not a valid name (letters, digits, _.@:-)", optarg);
                        arg_unit = optarg;
                        break;
                case ARG_CONFIG_DIR:
                        arg_dirs = realloc(arg_dirs, (arg_n_dirs + 2) * sizeof(char *));
                        if (!arg_dirs)
                                return -ENOMEM;
                        arg_dirs[arg_n_dirs++] = optarg;
                        arg_dirs[arg_n_dirs] = NULL;
                        break;
                case ARG_CHECK:
                        arg_check = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("tcpmd5-activate %s\n", PROJECT_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (!!arg_config == !!arg_unit)
                return log_errno(-EINVAL, "give exactly one of --config=FILE and --unit=NAME (see --help)");
        if (arg_dirs && !arg_unit)
                return log_errno(-EINVAL, "--config-dir only applies to --unit");
        if (optind < argc)
                arg_command = argv + optind;
        return 1;
}

static void print_key_line(const KeyEntry *e) {
        char pfx[ADDR_STRLEN];
        key_entry_format(e, pfx);
        if (!e->key) {
                printf("  %-43s catch-all (%zu random bytes)\n", pfx, e->secret->len);
                return;
        }
        const KeyConfig *k = e->key;
        printf("  %-43s [Key %s] %s%s%s (%zu bytes)", pfx, k->name, secret_source_to_string(k->source),
               k->source_arg ? " " : "", k->source_arg ? k->source_arg : "", k->secret.len);
        if (k->interface)
                printf(" Interface=%s", k->interface);
        printf("\n");
}

/* --check: the resolved plan, without opening anything. No secret bytes. */
static int print_plan(const Config *c, char *const *command) {
        Secret placeholder = { .len = SECRET_MAX };
        for (size_t i = 0; i < c->n_files; i++)
                printf("config %s\n", c->files[i]);
        printf("command");
        for (char *const *w = command; *w; w++)
                printf(" %s", *w);
        printf("\nfd names %s\n", c->fdname ? c->fdname : c->name);
        for (size_t i = 0; i < c->n_listen; i++) {
                char addr[ADDR_STRLEN];
                ListenerShape shape = listener_expected_shape(c, &c->listen[i].address);
                KeyEntry *e;
                size_t n;
                listen_address_format(&c->listen[i].address, addr);
                if (plan_keys(c, shape, &placeholder, &e, &n) < 0)
                        return -ENOMEM;
                printf("listen %s%s backlog %u, %zu keys\n", addr, shape.dual_stack ? " (dual-stack)" : "",
                       c->backlog, n);
                for (size_t j = 0; j < n; j++)
                        print_key_line(&e[j]);
                free(e);
        }
        return 0;
}

static int load(Config **ret) {
        static char *default_dirs[] = CONFIG_SEARCH_PATH;
        _cleanup_free_ char *name = arg_unit ? strdup(arg_unit) : config_name_from_path(arg_config);
        if (!name)
                return -ENOMEM;
        _cleanup_(config_freep) Config *c = config_new(name);
        if (!c)
                return -ENOMEM;
        int r = config_load(c, arg_config, arg_unit, arg_dirs ? arg_dirs : default_dirs);
        if (r < 0)
                return r;
        if ((r = config_validate(c, arg_command != NULL)) < 0)
                return r;
        if ((r = config_resolve(c)) < 0)
                return r;
        if (c->accept || c->on_demand)
                return log_errno(-EBADMSG, "%s:%u: %s=yes is not supported by this version",
                                 c->accept ? c->accept_origin.file : c->on_demand_origin.file,
                                 c->accept ? c->accept_origin.line : c->on_demand_origin.line,
                                 c->accept ? "Accept" : "OnDemand");
        *ret = TAKE_PTR(c);
        return 0;
}

static int run(void) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *path = NULL;
        ListenerSet set;
        int r = load(&c);
        if (r < 0)
                return exit_code_from_error(r);
        char *const *command = arg_command ? arg_command : c->exec_start;
        if (arg_check)
                return print_plan(c, command) < 0 ? EXIT_OSERR : 0;

        /* Before any socket exists, so a typo in the command opens nothing. */
        if ((r = exec_resolve(command[0], &path)) < 0) {
                log_error("%s: %s", command[0], r == -EACCES ? "not executable" : "command not found");
                return exec_exit_code(r);
        }
        if ((r = listener_set_open(c, &set)) < 0)
                return exit_code_from_error(r);

        size_t n = set.n;
        _cleanup_free_ int *fds = calloc(n, sizeof(int));
        _cleanup_free_ const char **names = calloc(n, sizeof(char *));
        if (!fds || !names) {
                listener_set_close(&set);
                log_error("out of memory");
                return EXIT_OSERR;
        }
        for (size_t i = 0; i < n; i++) {
                fds[i] = TAKE_FD(set.v[i].fd);
                names[i] = c->fdname ? c->fdname : c->name;
        }
        /* fds[] owns the sockets now: this frees the rest and wipes the
         * catch-all key. */
        listener_set_close(&set);
        for (size_t i = 0; i < c->n_keys; i++)
                secret_wipe(&c->keys[i].secret);
        r = handoff_exec(path, command, fds, n, names);
        /* Close every listener (all fds from 3) before reporting, so nothing
         * listens while we exit. */
        (void) fds_move_to(NULL, 0, 3);
        log_error("cannot execute %s: %s", path, strerror(-r));
        return r == -ENOENT || r == -EACCES ? exec_exit_code(r) : EXIT_OSERR;
}

int main(int argc, char **argv) {
        log_init("tcpmd5-activate");
        if (stdio_ensure_open() < 0)
                return EXIT_OSERR;
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        return run();
}
