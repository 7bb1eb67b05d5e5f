/* The attacker of tests/integration/secrets-race.sh: exchanges two names
 * (links or directories) with renameat2(RENAME_EXCHANGE) in a tight loop,
 * so that each name flips between its two targets, both directions, as
 * fast as the kernel allows.
 *
 *   path-swap A B SECONDS [PAUSE_MS]
 *       swap until SECONDS passed or SIGTERM, with PAUSE_MS between swaps
 *       (none by default); print the number of swaps on stdout. SECONDS 0:
 *       one swap, to put back what an odd number of swaps left exchanged
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) {
        (void) sig;
        stop = 1;
}

int main(int argc, char **argv) {
        if (argc != 4 && argc != 5) {
                fprintf(stderr, "usage: path-swap A B SECONDS [PAUSE_MS]\n");
                return 64;
        }
        struct sigaction sa = { .sa_handler = on_term };
        sigaction(SIGTERM, &sa, NULL);
        time_t start = time(NULL), end = start + atoi(argv[3]);
        long pause_ms = argc == 5 ? atol(argv[4]) : 0;
        struct timespec pause = { .tv_sec = pause_ms / 1000, .tv_nsec = pause_ms % 1000 * 1000000 };
        unsigned long swaps = 0;
        while (!stop) {
                if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) {
                        perror("path-swap: renameat2");
                        return 1;
                }
                swaps++;
                if (end == start)
                        break;
                if (pause_ms)
                        nanosleep(&pause, NULL);
                /* Checking the clock every swap would slow the loop down. */
                if ((pause_ms || swaps % 1024 == 0) && time(NULL) >= end)
                        break;
        }
        printf("%lu\n", swaps);
        return 0;
}
