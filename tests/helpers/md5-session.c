/* Test client for long-lived connections: connects to HOST PORT signed
 * with the key from -k FILE, then for each line on stdin sends it and
 * prints the echo (one line per line, flushed), so a test can talk over the
 * same connection before and after a reload. Prints "connected" first.
 * Exit 0 at end of input, 1 when the connection fails or goes silent. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "md5sig.h"
#include "secret.h"

static int connect_signed(const char *host, const char *port, const char *keyfile) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        Secret s;
        const char *problem;
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                return -1;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int ok = fd >= 0 && secret_load_file(keyfile, &s, &problem) == 0 &&
                 md5sig_add_peer(fd, ai->ai_addr, ai->ai_addrlen, &s) == 0;
        secret_wipe(&s);
        /* Linux bounds a blocking connect() by SO_SNDTIMEO: a dropped SYN fails in 3 s. */
        struct timeval tv = { .tv_sec = 3 };
        ok = ok && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
        ok = ok && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        freeaddrinfo(ai);
        return ok ? fd : -1;
}

int main(int argc, char **argv) {
        if (argc != 5 || strcmp(argv[1], "-k") != 0) {
                fprintf(stderr, "usage: md5-session -k KEYFILE HOST PORT\n");
                return 64;
        }
        int fd = connect_signed(argv[3], argv[4], argv[2]);
        if (fd < 0) {
                perror("md5-session: connect");
                return 1;
        }
        printf("connected\n");
        fflush(stdout);
        char line[1024], echo[1024];
        while (fgets(line, sizeof line, stdin)) {
                size_t n = strlen(line), got = 0;
                if (write(fd, line, n) != (ssize_t) n)
                        return 1;
                while (got < n) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        ssize_t k;
                        if (poll(&p, 1, 3000) <= 0 || (k = read(fd, echo + got, n - got)) <= 0) {
                                printf("no echo\n");
                                return 1;
                        }
                        got += (size_t) k;
                }
                fwrite(echo, 1, n, stdout);
                fflush(stdout);
        }
        return 0;
}
