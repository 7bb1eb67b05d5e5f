/* Test command for accept mode: finds its connection (fd 3 when LISTEN_FDS
 * is set, else stdin/stdout), writes what it was given onto it, then echoes
 * until the peer half-closes. With -d DIR it also drops DIR/started.PID and,
 * on SIGTERM, SIGINT or SIGHUP, DIR/term.PID, DIR/int.PID or DIR/hup.PID,
 * then exits; -i keeps it running after such a signal. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *dir;
static int ignore_term;

static void mark(const char *what) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.%ld", dir, what, (long) getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
}

static void on_term(int sig) {
        mark(sig == SIGTERM ? "term" : sig == SIGINT ? "int" : "hup"); /* open/close/snprintf: fine for a test */
        if (!ignore_term)
                _exit(0);
}

static int sockopt(int fd, int level, int opt) {
        int v = -1;
        socklen_t l = sizeof v;
        return getsockopt(fd, level, opt, &v, &l) < 0 ? -1 : v;
}

static void report(FILE *f, int conn, const char *fds) {
        const char *lpid = getenv("LISTEN_PID");
        fprintf(f, "pid=%ld\n", (long) getpid());
        fprintf(f, "REMOTE_ADDR=%s\nREMOTE_PORT=%s\n", getenv("REMOTE_ADDR") ?: "", getenv("REMOTE_PORT") ?: "");
        fprintf(f, "LISTEN_FDS=%s\nLISTEN_FDNAMES=%s\n", getenv("LISTEN_FDS") ?: "", getenv("LISTEN_FDNAMES") ?: "");
        fprintf(f, "PARENT_VAR=%s\n", getenv("PARENT_VAR") ?: "");
        fprintf(f, "LISTEN_PID_is_me=%d\n", lpid && atol(lpid) == (long) getpid());
        fprintf(f, "fds=%s", fds);
        sigset_t mask;
        sigprocmask(SIG_SETMASK, NULL, &mask);
        int dfl = 1;
        static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD };
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
                struct sigaction sa;
                sigaction(sigs[i], NULL, &sa);
                dfl &= sa.sa_handler == SIG_DFL;
        }
        fprintf(f, "\nsigmask_empty=%d\nsignals_default=%d\n", sigisemptyset(&mask), dfl);
        fprintf(f, "keepalive=%d\nnodelay=%d\n", sockopt(conn, SOL_SOCKET, SO_KEEPALIVE),
                sockopt(conn, IPPROTO_TCP, TCP_NODELAY));
        fflush(f);
}

int main(int argc, char **argv) {
        int c;
        while ((c = getopt(argc, argv, "d:i")) >= 0)
                switch (c) {
                case 'd': dir = optarg; break;
                case 'i': ignore_term = 1; break;
                default: return 64;
                }
        int in = getenv("LISTEN_FDS") ? 3 : 0, out = getenv("LISTEN_FDS") ? 3 : 1;
        /* Before anything of ours is open. */
        char fds[4096] = "";
        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        snprintf(fds + strlen(fds), sizeof fds - strlen(fds), "%s%d", fds[0] ? "," : "", fd);
        FILE *f = fdopen(dup(out), "w");
        if (!f)
                return 1;
        report(f, in, fds);
        fprintf(stderr, "conn-report %ld: this is stderr\n", (long) getpid());
        fclose(f);
        if (dir) {
                struct sigaction sa = { .sa_handler = on_term };
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGHUP, &sa, NULL);
                mark("started");
        }
        char buf[4096];
        ssize_t k;
        while ((k = read(in, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
                if (k > 0 && write(out, buf, (size_t) k) != k)
                        return 1;
        return 0;
}
