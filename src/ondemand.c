/* Waiting for the first signed connection before exec. */
#include "ondemand.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "reload-child.h"
#include "sigfd.h"
#include "util.h"

typedef struct Waiting {
        Runtime *rt;
        ReloadChild *reload;   /* the reload under way (reload-child.h) */
        bool hup_waiting;      /* a SIGHUP came meanwhile: one more reload after it */
        bool connected;        /* a connection is queued: the daemon starts once the reload is over */
} Waiting;

static void reload_begin(Waiting *w) {
        if (w->reload)
                w->hup_waiting = true;
        else
                (void) reload_child_start(w->rt, "SIGHUP", &w->reload);
}

/* The reload child is our only child: nothing else to reap here. */
static void reap(Waiting *w) {
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (w->reload)
                        (void) reload_child_reaped(w->reload, p, st);
}

/* 1 when told to stop, 0 to go on; -errno. */
static int on_signals(Waiting *w, int sigfd) {
        int sig;
        while ((sig = sigfd_read(sigfd)) > 0) {
                if (sig == SIGCHLD)
                        reap(w);
                else if (sig == SIGHUP)
                        reload_begin(w);
                else
                        return 1;
        }
        return sig;
}

static int wait_loop(Waiting *w, struct pollfd *pfd, int sigfd) {
        const ListenerSet *set = &w->rt->listeners;
        size_t n = 1 + set->n; /* then the reload child's two */
        pfd[0] = (struct pollfd) { .fd = sigfd, .events = POLLIN };
        for (;;) {
                for (size_t i = 0; i < set->n; i++) /* once one has a connection, left to the daemon */
                        pfd[1 + i] = (struct pollfd) { .fd = w->connected ? -1 : set->v[i].fd, .events = POLLIN };
                if (w->reload)
                        reload_child_pollfds(w->reload, &pfd[n]);
                else
                        pfd[n].fd = pfd[n + 1].fd = -1;
                if (poll(pfd, n + 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (w->reload)
                        reload_child_event(w->reload, &pfd[n]);
                int r = pfd[0].revents ? on_signals(w, sigfd) : 0;
                if (r != 0)
                        return r;
                for (size_t i = 1; i < 1 + set->n; i++)
                        w->connected |= pfd[i].revents != 0; /* POLLERR too: let the daemon see it */
                if (w->reload && reload_child_over(w->reload)) {
                        (void) reload_child_finish(TAKE_PTR(w->reload), w->rt);
                        if (w->hup_waiting && !w->connected) {
                                w->hup_waiting = false;
                                reload_begin(w);
                        }
                }
                if (w->connected && !w->reload)
                        return 0;
        }
}

int ondemand_wait(Runtime *rt) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
        _cleanup_free_ struct pollfd *pfd = calloc(1 + rt->listeners.n + 2, sizeof *pfd);
        if (!pfd)
                return -ENOMEM;
        _cleanup_close_ int sigfd = sigfd_open(sigs, ELEMENTSOF(sigs));
        if (sigfd < 0)
                return sigfd;
        /* The mask stays blocked until process_exec() clears it: a
         * SIGTERM that arrives in between is then delivered and ends us, as
         * it should. The signalfd itself is close-on-exec. */
        Waiting w = { .rt = rt };
        int r = wait_loop(&w, pfd, sigfd);
        if (w.reload)
                reload_child_cancel(w.reload, r > 0 ? "told to stop" : "cannot wait");
        return r;
}
