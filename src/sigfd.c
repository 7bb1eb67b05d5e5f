/* signalfd wrappers shared by the modes that stay around. */
#include "sigfd.h"

#include <errno.h>
#include <unistd.h>

int sigfd_open_set(const sigset_t *mask) {
        if (sigprocmask(SIG_BLOCK, mask, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int sigfd_open(const int *sigs, size_t n) {
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < n; i++)
                sigaddset(&mask, sigs[i]);
        return sigfd_open_set(&mask);
}

int sigfd_read_info(int fd, struct signalfd_siginfo *ret) {
        ssize_t k = read(fd, ret, sizeof *ret);
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        return k == (ssize_t) sizeof *ret ? 1 : -EIO;
}

int sigfd_read(int fd) {
        struct signalfd_siginfo si;
        int r = sigfd_read_info(fd, &si);
        return r > 0 ? (int) si.ssi_signo : r;
}
