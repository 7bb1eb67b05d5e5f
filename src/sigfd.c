/* signalfd wrappers shared by the modes that stay around (accept, on demand). */
#include "sigfd.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

int sigfd_open(const int *sigs, size_t n) {
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < n; i++)
                sigaddset(&mask, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int sigfd_read(int fd) {
        struct signalfd_siginfo si;
        ssize_t k = read(fd, &si, sizeof si);
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        return k == (ssize_t) sizeof si ? (int) si.ssi_signo : -EIO;
}
