/* Waiting for the first signed connection before exec. */
#include "ondemand.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "reload.h"
#include "sigfd.h"
#include "util.h"

static int wait_loop(Runtime *rt, struct pollfd *pfd, int sigfd) {
        const ListenerSet *set = &rt->listeners;
        size_t n = 1 + set->n;
        pfd[0] = (struct pollfd) { .fd = sigfd, .events = POLLIN };
        for (size_t i = 0; i < set->n; i++)
                pfd[1 + i] = (struct pollfd) { .fd = set->v[i].fd, .events = POLLIN };
        for (;;) {
                if (poll(pfd, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                int sig;
                while ((sig = sigfd_read(sigfd)) > 0) {
                        if (sig != SIGHUP)
                                return 1;
                        (void) reload(rt, "SIGHUP");
                }
                if (sig < 0)
                        return sig;
                for (size_t i = 1; i < n; i++)
                        if (pfd[i].revents)
                                return 0; /* POLLERR too: let the daemon see it */
        }
}

int ondemand_wait(Runtime *rt) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        _cleanup_free_ struct pollfd *pfd = calloc(1 + rt->listeners.n, sizeof *pfd);
        if (!pfd)
                return -ENOMEM;
        _cleanup_close_ int sigfd = sigfd_open(sigs, ELEMENTSOF(sigs));
        if (sigfd < 0)
                return sigfd;
        /* The mask stays blocked until process_exec() clears it: a
         * SIGTERM that arrives in between is then delivered and ends us, as
         * it should. The signalfd itself is close-on-exec. */
        return wait_loop(rt, pfd, sigfd);
}
