/* Waiting for the first signed connection before exec. */
#include "ondemand.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "sigfd.h"
#include "util.h"

typedef struct Reload {
        void (*fn)(ListenerSet *set, void *userdata);
        void *userdata;
} Reload;

static int wait_loop(ListenerSet *set, struct pollfd *pfd, int sigfd, const Reload *reload) {
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
                        reload->fn(set, reload->userdata);
                }
                if (sig < 0)
                        return sig;
                for (size_t i = 1; i < n; i++)
                        if (pfd[i].revents)
                                return 0; /* POLLERR too: let the daemon see it */
        }
}

int ondemand_wait(ListenerSet *set, void (*on_reload)(ListenerSet *set, void *userdata), void *userdata) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        _cleanup_free_ struct pollfd *pfd = calloc(1 + set->n, sizeof *pfd);
        if (!pfd)
                return -ENOMEM;
        _cleanup_close_ int sigfd = sigfd_open(sigs, ELEMENTSOF(sigs));
        if (sigfd < 0)
                return sigfd;
        /* The mask stays blocked until process_exec() clears it: a
         * SIGTERM that arrives in between is then delivered and ends us, as
         * it should. The signalfd itself is close-on-exec. */
        return wait_loop(set, pfd, sigfd, &(Reload) { on_reload, userdata });
}
