/* unwiped-secret FILE READY: the control for the tests that look for
 * secrets in memory. It reads FILE into a heap buffer and frees it without
 * wiping it, as a key reader that forgot explicit_bzero() would, creates
 * READY and waits to be killed. A memory scan must find the secret here;
 * with MALLOC_PERTURB_ set, glibc's free() overwrites the buffer itself and
 * the scan finds nothing, so this also proves the scan runs without it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { BUF = 4096, AT = 64 }; /* past the free-list pointers free() writes */

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: unwiped-secret FILE READY\n");
                return 64;
        }
        char *buf = malloc(BUF);
        int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (!buf || fd < 0) {
                perror(argv[1]);
                return 71;
        }
        ssize_t n = read(fd, buf + AT, BUF - AT);
        close(fd);
        if (n <= 0) {
                fprintf(stderr, "%s: nothing read\n", argv[1]);
                return 71;
        }
        free(buf);
        fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror(argv[2]);
                return 71;
        }
        close(fd);
        for (;;)
                pause();
}
