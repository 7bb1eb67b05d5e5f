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
#include "config-files.h"
#include "config.h"
#include "execwords.h"
#include "handoff.h"
#include "listener.h"
#include "log.h"
#include "mode.h"
#include "notify.h"
#include "ondemand.h"
#include "plan.h"
#include "runtime.h"
#include "secret.h"
#include "sockdiag.h"
#include "status.h"
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
static ReloadForward arg_forward_reload = RELOAD_FORWARD_AUTO;
static bool arg_watch;
static bool arg_status;
static const char *arg_fingerprint;

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
               "      --status           show the keys the kernel holds on every listening socket,\n"
               "                         compared with the config when one is given (needs root)\n"
               "      --fingerprint=FILE print the fingerprint of the key in FILE, as --check does\n"
               "      --accept           one COMMAND per connection, on fd 3 (Accept=yes)\n"
               "      --inetd            with the connection on stdin/stdout (Inetd=yes;\n"
               "                         implies --accept)\n"
               "      --on-demand        exec COMMAND at the first signed connection (OnDemand=yes)\n"
               "      --supervise        stay as the parent (automatic as PID 1): forward signals,\n"
               "                         reap children, change keys in place on SIGHUP\n"
               "      --process-group    send forwarded signals to the child's process group\n"
               "      --no-forward-reload  do not pass SIGHUP on to the daemon after a reload\n"
               "                         (by default it goes on only if the daemon handles it)\n"
               "      --always-forward-reload  pass SIGHUP on even to a daemon it kills\n"
               "      --watch            also reload when a config, drop-in or key file changes\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n"
               "\n"
               "Exit status: 64 usage, 78 config, 77 permissions, 71 OS error,\n"
               "69 no TCP MD5 (or, for TCP-AO keys, no TCP-AO) in the kernel,\n"
               "126/127 command not executable/found;\n"
               "--status: 1 when a listener is not in sync or a port is unprotected.\n"
               "\n"
               "Search path:");
        for (char **d = default_dirs; *d; d++)
                printf(" %s", *d);
        printf("\n");
}

enum { ARG_CONFIG_DIR = 0x100, ARG_CHECK, ARG_VERSION, ARG_ACCEPT, ARG_INETD, ARG_ON_DEMAND, ARG_SUPERVISE,
       ARG_PROCESS_GROUP, ARG_NO_FORWARD_RELOAD, ARG_ALWAYS_FORWARD_RELOAD, ARG_WATCH, ARG_STATUS, ARG_FINGERPRINT };

/* One option: 1 to go on, 0 when done (--help, --version), -errno. */
static int parse_option(int c) {
        switch (c) {
        case 'c':
                arg_config = optarg;
                return 1;
        case 'u':
                if (str_endswith(optarg, ".conf") && strlen(optarg) > 5)
                        return log_errno(-EINVAL, "--unit takes the name without .conf: --unit %.*s (or --config FILE "
                                         "for a file by its path)", (int) strlen(optarg) - 5, optarg);
                if (strchr(optarg, '/'))
                        return log_errno(-EINVAL, "--unit=%s: --unit takes a name from the search path; for a file by "
                                         "its path, use --config %s", optarg, optarg);
                if (!unit_name_valid(optarg))
                        return log_errno(-EINVAL, "--unit=%s: not a valid name (letters, digits, _.@:-)", optarg);
                arg_unit = optarg;
                return 1;
        case ARG_CONFIG_DIR: {
                char **dirs = realloc(arg_dirs, (arg_n_dirs + 2) * sizeof(char *));
                if (!dirs)
                        return -ENOMEM;
                arg_dirs = dirs;
                arg_dirs[arg_n_dirs++] = optarg;
                arg_dirs[arg_n_dirs] = NULL;
                return 1;
        }
        case ARG_CHECK:
                arg_check = true;
                return 1;
        case 'q':
                arg_quiet = true;
                return 1;
        case ARG_ACCEPT:
                arg_accept = true;
                return 1;
        case ARG_INETD:
                arg_accept = arg_inetd = true;
                return 1;
        case ARG_ON_DEMAND:
                arg_on_demand = true;
                return 1;
        case ARG_SUPERVISE:
                arg_supervise = true;
                return 1;
        case ARG_PROCESS_GROUP:
                arg_process_group = true;
                return 1;
        case ARG_NO_FORWARD_RELOAD:
        case ARG_ALWAYS_FORWARD_RELOAD: {
                ReloadForward f = c == ARG_NO_FORWARD_RELOAD ? RELOAD_FORWARD_NEVER : RELOAD_FORWARD_ALWAYS;
                if (arg_forward_reload != RELOAD_FORWARD_AUTO && arg_forward_reload != f)
                        return log_errno(-EINVAL, "--no-forward-reload and --always-forward-reload exclude each other");
                arg_forward_reload = f;
                return 1;
        }
        case ARG_WATCH:
                arg_watch = true;
                return 1;
        case ARG_STATUS:
                arg_status = true;
                return 1;
        case ARG_FINGERPRINT:
                arg_fingerprint = optarg;
                return 1;
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
}

/* Taken in main(), before any fork: the supervisor's config-reading child
 * is not PID 1, yet must decide the mode its parent will run. */
static bool started_as_pid1;

/* What the command line says about the mode (mode.h). */
static ModeArgs mode_args(void) {
        return (ModeArgs) {
                .accept = arg_accept > 0,
                .on_demand = arg_on_demand > 0,
                .supervise = arg_supervise,
                .pid1 = started_as_pid1,
                .daemon_options = arg_process_group || arg_forward_reload != RELOAD_FORWARD_AUTO,
                .watch = arg_watch,
        };
}

/* --status and --fingerprint: views, which run nothing. */
static int check_view_options(int argc) {
        bool others = arg_check || arg_quiet || arg_accept > 0 || arg_on_demand > 0 || arg_supervise ||
                      arg_process_group || arg_forward_reload != RELOAD_FORWARD_AUTO || arg_watch || optind < argc;
        if (arg_fingerprint && (arg_status || others || arg_config || arg_unit || arg_dirs))
                return log_errno(-EINVAL, "--fingerprint=FILE takes no other option or command");
        if (arg_status && others)
                return log_errno(-EINVAL, "--status takes only --config=FILE or --unit=NAME (and --config-dir), "
                                 "and no command");
        if (arg_status && arg_config && arg_unit)
                return log_errno(-EINVAL, "give at most one of --config=FILE and --unit=NAME with --status");
        if (arg_dirs && !arg_unit)
                return log_errno(-EINVAL, "--config-dir only applies to --unit");
        return 0;
}

/* The options that only make sense together, or not at all. */
static int check_options(int argc) {
        if (arg_status || arg_fingerprint)
                return check_view_options(argc);
        if (!!arg_config == !!arg_unit)
                return log_errno(-EINVAL, "give exactly one of --config=FILE and --unit=NAME (see --help)");
        if (arg_quiet && !arg_check)
                return log_errno(-EINVAL, "--quiet only applies to --check");
        if (arg_dirs && !arg_unit)
                return log_errno(-EINVAL, "--config-dir only applies to --unit");
        ModeArgs a = mode_args();
        ModeDecision d;
        mode_decide(&a, NULL, &d);
        return d.exit ? log_errno(-EINVAL, "%s", d.message) : 0;
}

static int parse_argv(int argc, char **argv) {
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
                { "always-forward-reload", no_argument, NULL, ARG_ALWAYS_FORWARD_RELOAD },
                { "watch", no_argument, NULL, ARG_WATCH },
                { "status", no_argument, NULL, ARG_STATUS },
                { "fingerprint", required_argument, NULL, ARG_FINGERPRINT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r;
        while ((c = getopt_long(argc, argv, "+c:u:hq", options, NULL)) >= 0)
                if ((r = parse_option(c)) <= 0)
                        return r;
        if ((r = check_options(argc)) < 0)
                return r;
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

static void print_key_line(const Config *c, const KeyEntry *e) {
        char pfx[ADDR_STRLEN * 2];
        format_key_prefix(e, pfx);
        if (!e->name[0]) {
                printf("  %-43s catch-all (%zu random bytes)\n", pfx, e->secret.len);
                return;
        }
        const KeyConfig *k = config_find_key(c, e->name);
        printf("  %-43s [Key %s] ", pfx, k->name);
        if (key_entry_is_ao(e))
                printf("TCP-AO %s SendID %u RecvID %u MAC %u bytes, ", e->algorithm, e->send_id, e->recv_id,
                       e->mac_length ? e->mac_length : CONFIG_AO_MAC_DEFAULT);
        if (config_key_deferred(k)) {
                printf("Credential %s: supplied by systemd at start (not checked here; "
                       "tcpmd5-activate --fingerprint FILE prints its fingerprint)\n", k->source_arg);
                return;
        }
        printf("%s%s%s (%zu %s", secret_source_to_string(k->source),
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
                        print_key_line(c, &e[j]);
                if (plan_ao_required(c, shape))
                        printf("  %-43s ao_required: TCP-AO drops every peer that matches no key\n", "(others)");
                key_table_free(e, n);
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

/* The RuntimeLoad of this program: the files (or the recorded texts), then
 * the command line. */
static int load(const ConfigSource *replay, ConfigSource *record, Config **ret) {
        _cleanup_free_ char *name = arg_unit ? strdup(arg_unit) : config_name_from_path(arg_config);
        if (!name)
                return -ENOMEM;
        _cleanup_(config_freep) Config *c = config_new(name);
        if (!c)
                return -ENOMEM;
        int r = replay ? config_replay(c, replay)
                       : config_load(c, arg_config, arg_unit, arg_dirs ? arg_dirs : default_dirs, record);
        if (r < 0)
                return r;
        if ((r = apply_command_line(c)) < 0)
                return r;
        if (!replay && (r = config_validate(c, arg_command != NULL)) < 0)
                return r;
        if (!replay && (r = config_resolve(c, arg_check || arg_status)) < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Waits for the first signed connection. Ready already: the sockets
 * listen, and whoever connects is queued for the daemon. 1 once one came;
 * 0 when told to stop first (the listeners closed); -errno. */
static int run_ondemand(Runtime *rt) {
        notify_set_keys(rt->listeners.n, listener_set_keys(&rt->listeners));
        notify_set_activity("waiting for the first connection");
        (void) notify_ready();
        int r = ondemand_wait(rt, arg_watch);
        if (r != 0) {
                listener_set_close(&rt->listeners);
                return r < 0 ? log_errno(r, "waiting for a connection: %s", strerror(-r)) : 0;
        }
        notify_set_activity("started at the first connection");
        (void) notify_status();
        return 1;
}

/* Exec mode: the daemon becomes this process, with every listener. */
static int exec_daemon(Runtime *rt) {
        ListenerSet *set = &rt->listeners;
        size_t n = set->n;
        _cleanup_free_ int *fds = calloc(n ? n : 1, sizeof(int));
        _cleanup_free_ const char **names = calloc(n ? n : 1, sizeof(char *));
        if (!fds || !names)
                return log_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                names[i] = runtime_fdname(rt);
                fds[i] = TAKE_FD(set->v[i].fd);
        }
        /* fds[] owns the sockets now: this wipes the key tables and the
         * source's secrets before the daemon gets our memory (the config's
         * are gone since the listeners opened). */
        listener_set_close(set);
        config_source_done(&rt->source);
        ProcessSpec spec = { .path = rt->path, .argv = rt->argv, .fds = fds, .names = names, .n_fds = n,
                             .stdio_fd = -1 };
        int r = process_exec(&spec);
        /* Close every listener (all fds from 3) before reporting, so nothing
         * listens while we exit. */
        (void) fds_close_from(3);
        runtime_log_exec_error(rt, r);
        return r;
}

/* The RuntimeDecide of this program: the command line with c. */
static int decide(const Config *c, Mode *ret) {
        ModeArgs a = mode_args();
        ModeConfig mc = mode_config_of(c);
        ModeDecision d;
        mode_decide(&a, &mc, &d);
        if (d.exit)
                return log_errno(d.exit == EXIT_USAGE ? -EINVAL : -EBADMSG, "%s", d.message);
        *ret = d.mode;
        return 0;
}

/* Waits on demand; 1 when the first signed connection came. An exit code
 * when not (0 when told to stop first). */
static int wait_on_demand(Runtime *rt, int *ret_exit) {
        int r = run_ondemand(rt);
        *ret_exit = r < 0 ? exit_code_from_error(r) : 0;
        return r > 0;
}

/* Every mode with the config read here (a supervisor that reads it in its
 * child is supervise.c's), acted on as runtime_load() decided it. Returns
 * an exit code. */
static int run_here(Runtime *rt) {
        const SuperviseOptions so = { arg_process_group, arg_forward_reload, arg_watch };
        bool other;
        int r = runtime_load(rt), code;
        if (r < 0)
                return exit_code_from_error(r);
        if ((r = runtime_find_command(rt)) < 0)
                return exec_exit_code(r);
        if (arg_check && (r = listener_check_bind_permission(rt->config)) < 0)
                return exit_code_from_error(r);
        if (arg_check && (r = listener_check_layouts(rt->config)) < 0)
                return exit_code_from_error(r);
        if (arg_check && !arg_quiet && print_plan(rt->config, rt->config->exec_start) < 0)
                return EXIT_OSERR;
        /* After the plan, which shows the TCP-AO keys a kernel without it cannot take. */
        if (arg_check && (r = listener_check_kernel(rt->config)) < 0)
                return exit_code_from_error(r);
        if (arg_check)
                return 0;
        if ((r = listener_set_open(rt->config, &rt->listeners)) < 0)
                return exit_code_from_error(r);
        /* The listeners hold the keys now, and a reload reads the config in
         * a child: what stays of the config here needs no secret. */
        for (size_t i = 0; i < rt->config->n_keys; i++)
                secret_wipe(&rt->config->keys[i].secret);
        switch (rt->mode) {
        case MODE_ACCEPT: /* reads only rt's plain settings from now on */
                config_free(TAKE_PTR(rt->config));
                r = accept_run(rt, arg_watch);
                break;
        case MODE_ON_DEMAND:
                if (!wait_on_demand(rt, &code))
                        return code;
                return exec_exit_code(exec_daemon(rt));
        case MODE_EXEC:
                return exec_exit_code(exec_daemon(rt));
        case MODE_ON_DEMAND_SUPERVISE:
                if (!wait_on_demand(rt, &code))
                        return code;
                r = supervise_run(rt, &so, &other);
                break;
        case MODE_SUPERVISE: /* the config changed to it since the child read it: the listeners are ours */
                r = supervise_run(rt, &so, &other);
                break;
        case _MODE_MAX:
                return EXIT_OSERR;
        }
        return r < 0 ? exit_code_from_error(r) : r;
}

/* --fingerprint: what --check and tcpmd5-connect -v print for this key
 * file (a Credential='s source, say), under SecretFile='s rules. */
static int print_fingerprint(void) {
        Secret s;
        char fp[SECRET_FINGERPRINT_STRLEN];
        int r = secret_load_reported("--fingerprint", arg_fingerprint, &s);
        if (r < 0)
                return exit_code_from_error(r);
        secret_fingerprint(&s, fp);
        secret_wipe(&s);
        printf("%s\n", fp);
        return 0;
}

/* --status: the kernel's view, compared with the config as on disk. A
 * config that does not load (a reload would fail too) leaves the keys
 * shown unnamed, and the config's exit code. */
static int show_status(void) {
        _cleanup_(config_freep) Config *c = NULL;
        if (!sockdiag_can_read_keys()) /* before the config: its key files are root's too */
                return status_show(NULL);
        int r = arg_config || arg_unit ? load(NULL, NULL, &c) : 0;
        if (r < 0) {
                printf("the config does not load (see the error above): a reload would fail and keep the keys "
                       "below\n");
                (void) status_show(NULL);
                return exit_code_from_error(r);
        }
        return status_show(c);
}

/* A supervisor lets its child read the config and decide the mode
 * (supervise.c); when the config asks for another one, it is run here, from
 * a fresh read, with nothing of the supervisor's set up. */
static int run(void) {
        _cleanup_(runtime_done) Runtime rt = { .load = load, .decide = decide };
        const SuperviseOptions so = { arg_process_group, arg_forward_reload, arg_watch };
        ModeArgs a = mode_args();
        ModeDecision d;
        bool other = false;
        if (arg_fingerprint)
                return print_fingerprint();
        if (arg_status)
                return show_status();
        mode_decide(&a, NULL, &d); /* the command line alone, checked at parse time */
        if (!arg_check && d.mode == MODE_SUPERVISE) {
                int r = supervise_run(&rt, &so, &other);
                if (!other)
                        return r < 0 ? exit_code_from_error(r) : r;
        }
        return run_here(&rt);
}

int main(int argc, char **argv) {
        started_as_pid1 = getpid() == 1;
        log_init("tcpmd5-activate");
        /* Before any secret is read: every mode but exec keeps secrets for
         * long (supervise and accept mode for life, on-demand until the
         * first connection), and none may land in a core file or be read by
         * another process of our user through /proc/PID/mem or ptrace. The
         * programs we exec are dumpable again (execve resets it). */
        if (prctl(PR_SET_DUMPABLE, 0) < 0) {
                log_error("cannot make this process non-dumpable: %m");
                return EXIT_OSERR;
        }
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
