/* The reload of every resident mode (supervise, accept, on demand), with
 * the config read in a child: the child parses the config files, plans
 * every listener's new key table and what the next process gets, and sends
 * it (resident.h), touching no key; the resident process installs it only
 * when the whole message arrived and the child exited 0. A child killed,
 * crashed, hung or cut short at any point therefore leaves the kernel's
 * keys and the resident process's record of them as they were: there is
 * nothing to rebuild. The wait is part of each mode's poll loop (the
 * child's socket and a deadline timer), so signals, connections and
 * reaping go on meanwhile. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime.h"

/* How long a child that reads the config may take (DESIGN.md: a helper
 * process has a deadline; man/tcpmd5-activate.8.scd): a reload child,
 * from its start to its whole message and exit, and the supervisor's
 * start-up child, until it says which mode the config asks for. Past it,
 * it is killed (SIGKILL): the reload fails, the start exits 78. */
#define CHILD_DEADLINE_S 10

/* The one deadline timer of both: a timerfd (non-blocking, close-on-exec)
 * that becomes readable CHILD_DEADLINE_S from now, to poll() beside the
 * child's socket. The fd, or -errno. */
int child_deadline_start(void);

typedef struct ReloadChild ReloadChild;

/* Tells the service manager RELOADING=1 and starts the child. On failure
 * (logged, the service manager told) the reload is over: -errno, *ret
 * NULL. */
int reload_child_start(Runtime *rt, const char *trigger, ReloadChild **ret);
/* What the supervisor's poll() watches for it: its socket (fd -1 once at
 * its end) and its deadline. */
void reload_child_pollfds(const ReloadChild *c, struct pollfd ret[static 2]);
/* After poll(), with those two entries: reads what came, and kills the
 * child at its deadline or when what it sends cannot be right. */
void reload_child_event(ReloadChild *c, const struct pollfd p[static 2]);
/* For the supervisor's waitpid(-1) loop: true when pid was this child,
 * whose status it keeps. */
bool reload_child_reaped(ReloadChild *c, pid_t pid, int status);
/* True once there is nothing more to wait for: the message ended and the
 * child exited, or it was killed. */
bool reload_child_over(const ReloadChild *c);
/* Ends it: installs the new keys when the message arrived whole and well
 * formed and the child exited 0; otherwise logs, in one line, what
 * happened (killed by signal N, exited N, timed out, short message), and
 * the old keys stay. Tells the service manager; frees c. -errno when the
 * reload failed. */
int reload_child_finish(ReloadChild *c, Runtime *rt);
/* Ends it early (the supervisor stops): kills the child, logs why; frees
 * c. */
void reload_child_cancel(ReloadChild *c, const char *why);
