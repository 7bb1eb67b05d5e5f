/* tcpmd5-activate: create listening sockets that only signed peers can
 * reach, then hand them to a daemon. main() reads as the list of steps. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "accept.h"
#include "child-load.h"
#include "config-files.h"
#include "config-pack.h"
#include "config.h"
#include "execwords.h"
#include "handoff.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "ondemand.h"
#include "plan.h"
#include "supervise.h"
#include "util.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "0"
#endif

static const char *arg_config;
static const char *arg_unit;
static char **arg_dirs;
static size_t arg_n_dirs;
static bool arg_check;
static bool arg_quiet;
static char **arg_command;
static int arg_accept = -1, arg_inetd = -1, arg_on_demand = -1; /* -1: as the config says */
static bool arg_supervise;
static bool arg_process_group;
static bool arg_forward_reload = true;
static bool arg_watch;

static char *default_dirs[] = CONFIG_SEARCH_PATH;

static void help(void) {
        printf("Usage: tcpmd5-activate [OPTIONS] [--] [COMMAND [ARG]...]\n"
               "\n"
               "Create TCP listening sockets that only peers holding a TCP MD5 key\n"
               "(RFC 2385) can reach, and hand them to COMMAND (or ExecStart=) with\n"
               "the systemd LISTEN_FDS protocol.\n"
               "\n"
               "  -c, --config=FILE      read FILE and FILE.d/*.conf\n"
               "  -u, --unit=NAME        read NAME.conf and NAME.conf.d/*.conf from the\n"
               "                         search path (below)\n"
               "      --config-dir=DIR   search DIR instead (repeatable, in order)\n"
               "      --check            validate everything and print the plan; open nothing\n"
               "  -q, --quiet            with --check: print nothing unless something is wrong\n"
               "      --accept           one COMMAND per connection, on fd 3 (Accept=yes)\n"
               "      --inetd            with the connection on stdin/stdout (Inetd=yes;\n"
               "                         implies --accept)\n"
               "      --on-demand        exec COMMAND at the first signed connection (OnDemand=yes)\n"
               "      --supervise        stay as the parent (automatic as PID 1): forward signals,\n"
               "                         reap children, change keys in place on SIGHUP\n"
               "      --process-group    send forwarded signals to the child's process group\n"
               "      --no-forward-reload  do not pass SIGHUP on to the daemon after a reload\n"
               "      --watch            also reload when a config, drop-in or key file changes\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n"
               "\n"
               "Exit status: 64 usage, 78 config, 77 permissions, 71 OS error,\n"
               "69 no TCP MD5 in the kernel, 126/127 command not executable/found.\n"
               "\n"
               "Search path:");
        for (char **d = default_dirs; *d; d++)
                printf(" %s", *d);
        printf("\n");
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_CONFIG_DIR = 0x100, ARG_CHECK, ARG_VERSION, ARG_ACCEPT, ARG_INETD, ARG_ON_DEMAND, ARG_SUPERVISE,
               ARG_PROCESS_GROUP, ARG_NO_FORWARD_RELOAD, ARG_WATCH };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "unit", required_argument, NULL, 'u' },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "check", no_argument, NULL, ARG_CHECK },
                { "quiet", no_argument, NULL, 'q' },
                { "accept", no_argument, NULL, ARG_ACCEPT },
                { "inetd", no_argument, NULL, ARG_INETD },
                { "on-demand", no_argument, NULL, ARG_ON_DEMAND },
                { "supervise", no_argument, NULL, ARG_SUPERVISE },
                { "process-group", no_argument, NULL, ARG_PROCESS_GROUP },
                { "no-forward-reload", no_argument, NULL, ARG_NO_FORWARD_RELOAD },
                { "watch", no_argument, NULL, ARG_WATCH },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+c:u:hq", options, NULL)) >= 0)
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
                case 'q':
                        arg_quiet = true;
                        break;
                case ARG_ACCEPT:
                        arg_accept = true;
                        break;
                case ARG_INETD:
                        arg_accept = arg_inetd = true;
                        break;
                case ARG_ON_DEMAND:
                        arg_on_demand = true;
                        break;
                case ARG_SUPERVISE:
                        arg_supervise = true;
                        break;
                case ARG_PROCESS_GROUP:
                        arg_process_group = true;
                        break;
                case ARG_NO_FORWARD_RELOAD:
                        arg_forward_reload = false;
                        break;
                case ARG_WATCH:
                        arg_watch = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("tcpmd5-activate %s\n", PROJECT_VERSION);
                        return 0;
                default: /* getopt said what */
                        fprintf(stderr, "Try 'tcpmd5-activate --help' for more information.\n");
                        return -EINVAL;
                }
        if (!!arg_config == !!arg_unit)
                return log_errno(-EINVAL, "give exactly one of --config=FILE and --unit=NAME (see --help)");
        if (arg_quiet && !arg_check)
                return log_errno(-EINVAL, "--quiet only applies to --check");
        if (arg_dirs && !arg_unit)
                return log_errno(-EINVAL, "--config-dir only applies to --unit");
        if (arg_accept > 0 && arg_on_demand > 0)
                return log_errno(-EINVAL, "--on-demand and --accept exclude each other");
        if (arg_supervise && arg_accept > 0)
                return log_errno(-EINVAL, "--supervise and --accept exclude each other (accept mode stays and "
                                 "reloads on SIGHUP anyway)");
        if ((arg_process_group || !arg_forward_reload || arg_watch) && !arg_supervise && getpid() != 1)
                return log_errno(-EINVAL, "--process-group, --no-forward-reload and --watch only apply to --supervise");
        if (optind < argc)
                arg_command = argv + optind;
        return 1;
}

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

/* An IPv4 prefix as written, with the v4-mapped address a dual-stack
 * socket holds it under (the kernel takes the IPv4 length with it). */
static void format_key_prefix(const KeyEntry *e, char buf[static ADDR_STRLEN * 2]) {
        char v4[ADDR_STRLEN], mapped[INET6_ADDRSTRLEN];
        if (e->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&e->addr.in6)) {
                key_entry_format(e, buf);
                return;
        }
        Prefix p = { .family = AF_INET, .len = e->prefixlen };
        memcpy(&p.addr.in, &e->addr.in6.s6_addr[12], sizeof p.addr.in);
        prefix_format(&p, v4);
        inet_ntop(AF_INET6, &e->addr.in6, mapped, sizeof mapped);
        snprintf(buf, ADDR_STRLEN * 2, "%s [v4-mapped %s]", v4, mapped);
}

static void print_key_line(const KeyEntry *e) {
        char pfx[ADDR_STRLEN * 2];
        format_key_prefix(e, pfx);
        if (!e->key) {
                printf("  %-43s catch-all (%zu random bytes)\n", pfx, e->secret->len);
                return;
        }
        const KeyConfig *k = e->key;
        if (config_key_deferred(k)) {
                printf("  %-43s [Key %s] Credential %s: supplied by systemd at start (not checked here)\n", pfx,
                       k->name, k->source_arg);
                return;
        }
        printf("  %-43s [Key %s] %s%s%s (%zu %s", pfx, k->name, secret_source_to_string(k->source),
               k->source_arg ? " " : "", k->source_arg ? k->source_arg : "", k->secret.len,
               plural(k->secret.len, "byte", "bytes"));
        if (k->secret.len > 0) { /* tcpmd5-connect -v prints the same */
                char fp[SECRET_FINGERPRINT_STRLEN];
                secret_fingerprint(&k->secret, fp);
                printf(", fingerprint %s", fp);
        }
        printf(")");
        if (k->interface)
                printf(" Interface=%s", k->interface);
        printf("\n");
}

/* The words as a shell would take them back. */
static int print_command(char *const *command) {
        printf("command");
        for (char *const *w = command; *w; w++) {
                _cleanup_free_ char *q = shell_quote(*w);
                if (!q)
                        return -ENOMEM;
                printf(" %s", q);
        }
        printf("\n");
        return 0;
}

static void print_mode(const Config *c) {
        char per_source[16] = "unlimited";
        if (!c->accept) {
                printf("fd names %s\n", c->fdname ? c->fdname : c->name);
                printf("mode %s\n", c->on_demand ? "on demand" : "exec");
                return;
        }
        if (!c->inetd) /* what the accept loop passes with fd 3 */
                printf("fd names connection\n");
        if (c->max_connections_per_source > 0)
                snprintf(per_source, sizeof per_source, "%u", c->max_connections_per_source);
        printf("mode accept (%s), MaxConnections=%u, MaxConnectionsPerSource=%s\n",
               c->inetd ? "inetd: stdin/stdout" : "fd 3", c->max_connections, per_source);
}

/* --check: the resolved plan, without opening anything. No secret bytes. */
static int print_plan(const Config *c, char *const *command) {
        Secret placeholder = { .len = SECRET_MAX };
        for (size_t i = 0; i < c->n_files; i++)
                printf("config %s\n", c->files[i]);
        if (print_command(command) < 0)
                return -ENOMEM;
        print_mode(c);
        for (size_t i = 0; i < c->n_listen; i++) {
                char addr[ADDR_STRLEN];
                ListenerShape shape = listener_expected_shape(c, &c->listen[i].address);
                KeyEntry *e;
                size_t n;
                listen_address_format(&c->listen[i].address, addr);
                if (plan_keys(c, shape, &placeholder, &e, &n) < 0)
                        return -ENOMEM;
                printf("listen %s%s backlog %u, %zu %s\n", addr, shape.ipv4 && shape.ipv6 ? " (dual-stack)" : "",
                       c->backlog, n, plural(n, "key", "keys"));
                for (size_t j = 0; j < n; j++)
                        print_key_line(&e[j]);
                free(e);
        }
        return 0;
}

/* The command line picks the mode over the config: --accept/--inetd turn
 * OnDemand= off, --on-demand turns Accept=/Inetd= off. A COMMAND takes
 * ExecStart='s place, so a reload compares the command that runs. */
static int apply_command_line(Config *c) {
        static const Origin cmdline = { .file = "(command line)" };
        if (arg_accept > 0) {
                c->accept = true;
                c->origin[SETTING_ACCEPT] = cmdline;
                c->on_demand = false;
        }
        if (arg_inetd > 0) {
                c->inetd = true;
                c->origin[SETTING_INETD] = cmdline;
        }
        if (arg_on_demand > 0) {
                c->on_demand = true;
                c->origin[SETTING_ON_DEMAND] = cmdline;
                c->accept = c->inetd = false;
        }
        if (arg_command) {
                char **words = strv_copy(arg_command);
                if (!words)
                        return -ENOMEM;
                strv_free(c->exec_start);
                c->exec_start = words;
                c->origin[SETTING_EXEC_START] = cmdline;
        }
        return 0;
}

static int load(Config **ret) {
        _cleanup_free_ char *name = arg_unit ? strdup(arg_unit) : config_name_from_path(arg_config);
        if (!name)
                return -ENOMEM;
        _cleanup_(config_freep) Config *c = config_new(name);
        if (!c)
                return -ENOMEM;
        int r = config_load(c, arg_config, arg_unit, arg_dirs ? arg_dirs : default_dirs);
        if (r < 0)
                return r;
        if ((r = apply_command_line(c)) < 0)
                return r;
        if ((r = config_validate(c, arg_command != NULL)) < 0)
                return r;
        if ((r = config_resolve(c, arg_check)) < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* What stays resident (supervise mode, PID 1) is read in a child, so the
 * parse leaves no dirty heap behind (child-load.c). Returns 0 or the exit
 * code. */
static int load_resident(Config **ret) {
        bool resident = arg_supervise || getpid() == 1;
        int r = resident ? child_load(load, ret) : -E2BIG;
        if (r > 0)
                return r;
        if (r < 0 && (r = load(ret)) < 0)
                return exit_code_from_error(r);
        if (resident) /* before what else stays allocated: see config-pack.c */
                (void) config_pack(ret);
        return 0;
}

/* What the activator holds while it runs: the config, and the command for
 * the next process it starts, resolved anew when a reload changes
 * ExecStart= before that process starts. */
typedef struct Activator {
        Config *config;
        char *path;   /* from exec_resolve() */
        char **argv;  /* a copy: a reload frees the config */
} Activator;

static void activator_done(Activator *a) {
        config_free(a->config);
        free(a->path);
        strv_free(a->argv);
}

static const char *exec_problem(int r) {
        return exec_exit_code(r) == EXIT_EXEC_NOT_FOUND ? "command not found"
               : r == -EACCES                            ? "not executable"
                                                         : strerror(-r);
}

/* Resolves c's command, or logs why it cannot run: with ExecStart='s
 * file:line when the config gave it. */
static int resolve_command(const Config *c, char **ret_path) {
        int r = exec_resolve(c->exec_start[0], ret_path);
        const Origin *o = &c->origin[SETTING_EXEC_START];
        if (r >= 0)
                return 0;
        if (arg_command)
                log_error("%s: %s", c->exec_start[0], exec_problem(r));
        else
                log_error("%s:%u: ExecStart=%s: %s", o->file, o->line, c->exec_start[0], exec_problem(r));
        return r;
}

/* The command for the next process, from the current config. Logs. */
static int command_resolve(Activator *a) {
        _cleanup_free_ char *path = NULL;
        int r = resolve_command(a->config, &path);
        if (r < 0)
                return r;
        char **argv = strv_copy(a->config->exec_start);
        if (!argv)
                return log_errno(-ENOMEM, "out of memory");
        free(a->path);
        strv_free(a->argv);
        a->path = TAKE_PTR(path);
        a->argv = argv;
        return 0;
}

/* A reload before the next process starts checks its command as start-up
 * does: one that cannot run fails the reload, and nothing changes. */
static int load_checked_command(Config **ret) {
        _cleanup_free_ char *path = NULL;
        int r = load(ret);
        if (r < 0)
                return r;
        if ((r = resolve_command(*ret, &path)) < 0) {
                config_free(*ret);
                *ret = NULL;
        }
        return r;
}

/* SIGHUP in accept and on-demand modes: the same reload as supervise mode,
 * and the processes started after it run what ExecStart= says now. */
static void reload_on_sighup(ListenerSet *set, void *userdata) {
        Activator *a = userdata;
        if (supervise_reload(set, &a->config, load_checked_command, "SIGHUP", false) < 0 ||
            strv_equal(a->argv, a->config->exec_start))
                return;
        if (command_resolve(a) < 0) /* checked by the reload a moment ago: gone since */
                log_error("reload: new processes run %s as before", a->path);
}

/* What the accept loop reads for every connection. */
static void accept_options_set(AcceptOptions *o) {
        const Activator *a = o->userdata;
        o->path = a->path;
        o->argv = a->argv;
        o->inetd = a->config->inetd;
        o->max_connections = a->config->max_connections;
        o->max_per_source = a->config->max_connections_per_source;
}

static void reload_accept(ListenerSet *set, AcceptOptions *o) {
        reload_on_sighup(set, o->userdata);
        accept_options_set(o);
}

static int run_accept(Activator *a, ListenerSet *set) {
        AcceptOptions o = { .on_reload = reload_accept, .userdata = a };
        accept_options_set(&o);
        /* Listening: for Type=notify units (a no-op without NOTIFY_SOCKET). The
         * secrets stay: a SIGHUP reload diffs against them. */
        notify_set_keys(set->n, listener_set_keys(set));
        notify_set_connections(0);
        (void) notify_ready();
        return accept_run(set, &o);
}

/* Waits for the first signed connection. Ready already: the sockets
 * listen, and whoever connects is queued for the daemon. -1 once one came,
 * else the exit code to leave with (listeners closed). */
static int run_ondemand(Activator *a, ListenerSet *set) {
        notify_set_keys(set->n, listener_set_keys(set));
        notify_set_activity("waiting for the first connection");
        (void) notify_ready();
        int r = ondemand_wait(set, reload_on_sighup, a);
        if (r != 0) {
                listener_set_close(set);
                return r < 0 ? log_errno(EXIT_OSERR, "waiting for a connection: %s", strerror(-r)) : 0;
        }
        notify_set_activity("started at the first connection");
        (void) notify_status();
        return -1;
}

/* The daemon gets every listener: as our child (supervise) or as us (exec). */
static int run_daemon(Config **c, const char *path, char *const *argv, ListenerSet *set) {
        size_t n = set->n;
        _cleanup_free_ int *fds = calloc(n, sizeof(int));
        _cleanup_free_ const char **names = calloc(n, sizeof(char *));
        if (!fds || !names) {
                listener_set_close(set);
                return log_errno(EXIT_OSERR, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                names[i] = (*c)->fdname ? (*c)->fdname : (*c)->name;
        if (arg_supervise || getpid() == 1) {
                SuperviseOptions o = { arg_process_group, arg_forward_reload, arg_watch, load };
                int r = supervise_run(&o, path, argv, set, names, c);
                listener_set_close(set);
                return r;
        }
        for (size_t i = 0; i < n; i++)
                fds[i] = TAKE_FD(set->v[i].fd);
        /* fds[] owns the sockets now: this frees the rest and wipes the catch-all key. */
        listener_set_close(set);
        for (size_t i = 0; i < (*c)->n_keys; i++)
                secret_wipe(&(*c)->keys[i].secret);
        int r = handoff_exec(path, argv, fds, n, names);
        /* Close every listener (all fds from 3) before reporting, so nothing
         * listens while we exit. */
        (void) fds_move_to(NULL, 0, 3);
        log_error("cannot execute %s: %s", path, strerror(-r));
        return exec_exit_code(r);
}

/* The program to run, found as execve() will find it. Returns 0, or the
 * exit code: 127 not found, 126 not executable, 71 a system error. */
static int run(void) {
        _cleanup_(activator_done) Activator a = { 0 };
        ListenerSet set;
        int r = load_resident(&a.config);
        if (r != 0)
                return r;
        /* Before any socket exists, so a typo in the command opens nothing;
         * and in --check, which refuses what a start would refuse. */
        if ((r = command_resolve(&a)) < 0)
                return r == -ENOMEM ? EXIT_OSERR : exec_exit_code(r);
        if (arg_check && arg_quiet)
                return 0;
        if (arg_check)
                return print_plan(a.config, a.config->exec_start) < 0 ? EXIT_OSERR : 0;
        if ((r = listener_set_open(a.config, &set)) < 0)
                return exit_code_from_error(r);

        if (a.config->accept)
                return run_accept(&a, &set);
        if (a.config->on_demand && (r = run_ondemand(&a, &set)) >= 0)
                return r;
        return run_daemon(&a.config, a.path, a.argv, &set);
}

int main(int argc, char **argv) {
        log_init("tcpmd5-activate");
        /* Before any secret is read: every mode but exec keeps secrets for
         * long (supervise and accept mode for life, on-demand until the
         * first connection), and none may land in a core file or be read by
         * another process of our user through /proc/PID/mem or ptrace. The
         * programs we exec are dumpable again (execve resets it). */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                return log_errno(EXIT_OSERR, "cannot make this process non-dumpable: %m");
        /* A reload request that comes while we start up waits for the modes
         * that take it (signalfd) instead of killing us; the exec hand-off
         * clears the mask. */
        sigset_t hup;
        sigemptyset(&hup);
        sigaddset(&hup, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &hup, NULL);
        if (stdio_ensure_open() < 0)
                return EXIT_OSERR;
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        return run();
}
