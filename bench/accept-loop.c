/* The naive limit for accept mode: a bare C accept loop on one signed
 * listener that starts PROGRAM per connection, inetd style (the connection
 * on stdin and stdout), with fork+exec, or with posix_spawn under -s. No
 * limits, no logging, no environment of its own: what any server must do
 * at least.
 *
 *   accept-loop [-s] KEYFILE PORT PROGRAM     (listens on 127.0.0.1:PORT,
 *                                              signed for 127.0.0.0/8) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int listen_signed(const char *keyfile, int port) {
        struct tcp_md5sig sig = { .tcpm_flags = TCP_MD5SIG_FLAG_PREFIX, .tcpm_prefixlen = 8 };
        struct sockaddr_in *peer = (struct sockaddr_in *) &sig.tcpm_addr;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        FILE *f = fopen(keyfile, "re");
        if (!f)
                return -1;
        size_t n = fread(sig.tcpm_key, 1, sizeof sig.tcpm_key, f);
        fclose(f);
        while (n && (sig.tcpm_key[n - 1] == '\n' || sig.tcpm_key[n - 1] == '\r'))
                n--;
        sig.tcpm_keylen = (uint16_t) n;
        peer->sin_family = AF_INET;
        peer->sin_addr.s_addr = htonl(0x7f000000);
        a.sin_addr.s_addr = htonl(0x7f000001);
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &sig, sizeof sig) < 0 ||
            bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 4096) < 0)
                return -1;
        return fd;
}

static pid_t start_fork(int conn, char **argv) {
        pid_t pid = fork();
        if (pid == 0) {
                if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
                        _exit(71);
                execve(argv[0], argv, environ);
                _exit(127);
        }
        return pid;
}

static pid_t start_spawn(int conn, char **argv) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, conn, 0);
        posix_spawn_file_actions_adddup2(&fa, conn, 1);
        int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        return r ? -1 : pid;
}

int main(int argc, char **argv) {
        int spawn = argc > 1 && strcmp(argv[1], "-s") == 0;
        argv += spawn;
        argc -= spawn;
        if (argc != 4)
                return 64;
        int lfd = listen_signed(argv[1], atoi(argv[2]));
        if (lfd < 0) {
                perror("accept-loop: listen");
                return 71;
        }
        for (;;) {
                int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (conn < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("accept-loop: accept");
                        return 71;
                }
                if ((spawn ? start_spawn(conn, argv + 3) : start_fork(conn, argv + 3)) < 0)
                        perror("accept-loop: start");
                close(conn);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}
