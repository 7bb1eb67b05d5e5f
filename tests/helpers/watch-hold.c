/* LD_PRELOAD shim for tests/integration/supervise-watch.sh: holds the
 * activator's first inotify_add_watch() until a file exists, so that a
 * change the test makes lands, for certain, between the activator reading
 * its files and watching their directories (the window no event covers).
 *
 *   WATCH_HOLD_UNTIL=PATH   wait for PATH (at most 20 s) before the first
 *                           watch is added
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

int inotify_add_watch(int fd, const char *path, uint32_t mask) {
        static int (*real)(int, const char *, uint32_t);
        static int held;
        const char *until = getenv("WATCH_HOLD_UNTIL");
        if (!real)
                real = (int (*)(int, const char *, uint32_t)) dlsym(RTLD_NEXT, "inotify_add_watch");
        for (int i = 0; until && !held && i < 2000 && access(until, F_OK) < 0; i++)
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        held = 1;
        return real(fd, path, mask);
}
