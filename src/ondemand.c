/* Waiting for the first signed connection before exec. */
#include "ondemand.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "reloader.h"
#include "sigfd.h"
#include "util.h"

typedef struct Waiting {
        Runtime *rt;
        Reloader reloader;
        bool connected;        /* a connection is queued: the daemon starts once a reload under way is over */
} Waiting;

/* The reload child is our only child: nothing else to reap here. */
static void reap(Waiting *w) {
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                (void) reloader_reaped(&w->reloader, p, st);
}

/* 1 when told to stop, 0 to go on; -errno. */
static int on_signals(Waiting *w, int sigfd) {
        int sig;
        while ((sig = sigfd_read(sigfd)) > 0) {
                if (sig == SIGCHLD)
                        reap(w);
                else if (sig == SIGHUP)
                        reloader_request(&w->reloader, "SIGHUP", true);
                else
                        return 1;
        }
        return sig;
}

static int wait_loop(Waiting *w, struct pollfd *pfd, int sigfd) {
        const ListenerSet *set = &w->rt->listeners;
        size_t n = 1 + set->n; /* then the reloader's */
        pfd[0] = (struct pollfd) { .fd = sigfd, .events = POLLIN };
        for (;;) {
                for (size_t i = 0; i < set->n; i++) /* once one has a connection, left to the daemon */
                        pfd[1 + i] = (struct pollfd) { .fd = w->connected ? -1 : set->v[i].fd, .events = POLLIN };
                reloader_pollfds(&w->reloader, &pfd[n]);
                if (poll(pfd, n + RELOADER_POLLFDS, reloader_timeout(&w->reloader, -1)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (!w->connected)
                        reloader_event(&w->reloader, &pfd[n]);
                else if (w->reloader.child) /* only the one under way */
                        reload_child_event(w->reloader.child, &pfd[n + 1]);
                int r = pfd[0].revents ? on_signals(w, sigfd) : 0;
                if (r != 0)
                        return r;
                for (size_t i = 1; i < 1 + set->n; i++)
                        w->connected |= pfd[i].revents != 0; /* POLLERR too: let the daemon see it */
                if (w->connected)
                        w->reloader.hup_waiting = w->reloader.watch_waiting = false;
                reloader_tick(&w->reloader);
                if (w->connected && !w->reloader.child)
                        return 0;
        }
}

int ondemand_wait(Runtime *rt, bool watch) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
        _cleanup_free_ struct pollfd *pfd = calloc(1 + rt->listeners.n + RELOADER_POLLFDS, sizeof *pfd);
        if (!pfd)
                return -ENOMEM;
        _cleanup_close_ int sigfd = sigfd_open(sigs, ELEMENTSOF(sigs));
        if (sigfd < 0)
                return sigfd;
        /* The mask stays blocked until process_exec() clears it: a
         * SIGTERM that arrives in between is then delivered and ends us, as
         * it should. The signalfd itself is close-on-exec. */
        Waiting w = { .rt = rt };
        reloader_init(&w.reloader, rt, watch, NULL, NULL);
        int r = wait_loop(&w, pfd, sigfd);
        reloader_done(&w.reloader);
        return r;
}
