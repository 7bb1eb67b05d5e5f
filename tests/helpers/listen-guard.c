/* LD_PRELOAD guard for the integration tests: a TCP socket of the activator
 * must hold a TCP MD5 key before it listens. A socket that listens first
 * answers unsigned SYNs until its keys arrive, and no test that only
 * connects afterwards can see that window; this guard makes the ordering
 * itself fail loudly. It remembers every socket (by inode, so dup() and
 * fd reuse cannot fool it) that accepted a setsockopt TCP_MD5SIG_EXT or
 * TCP_MD5SIG with tcpm_keylen > 0, or a TCP-AO key (TCP_AO_ADD_KEY, which
 * the kernel takes only with a key), and abort()s on a listen() of an
 * AF_INET/AF_INET6 TCP socket that has none.
 *
 *   LISTEN_GUARD_TARGET=PATH   only the process running this program is
 *                              judged; elsewhere the guard stays inert (so
 *                              valgrind's launcher or a shell passes it on)
 *   LISTEN_GUARD_UNSIGNED=PORT[,PORT...]  ports that may listen without a
 *                              key (UnmatchedPeers=allow-unsigned with no
 *                              [Key]: the kernel has nothing to install)
 *   LISTEN_GUARD_LOG=FILE      the abort message is appended here too, so
 *                              the test's verdict sees it whatever it checks
 *
 * The table is a shared mapping: a key set before fork() counts in the
 * child. execve() runs the new program without the guard and its variables,
 * so the daemon the activator starts is never judged or disturbed. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TCP_AO_ADD_KEY
#define TCP_AO_ADD_KEY 38 /* Linux >= 6.7; Debian 12's headers lack it */
#endif

enum { MAX_KEYED = 8192 };

typedef struct Shared {
        unsigned n;
        ino_t keyed[MAX_KEYED];
} Shared;

static Shared *shared;
static bool inert = true;

#define REAL(name) ((__typeof__(&name)) dlsym(RTLD_NEXT, #name))

static bool is_target(void) {
        const char *target = getenv("LISTEN_GUARD_TARGET");
        char want[4096], self[4096];
        if (!target)
                return false;
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0 || !realpath(target, want))
                return false;
        self[n] = 0;
        return strcmp(self, want) == 0;
}

/* The message goes to stderr and to LISTEN_GUARD_LOG, then the process dies. */
static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (n < 0 || n >= (int) sizeof msg)
                n = (int) sizeof msg - 1;
        msg[n] = '\n';
        if (write(STDERR_FILENO, msg, (size_t) n + 1) < 0) {
        }
        const char *log = getenv("LISTEN_GUARD_LOG");
        int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666) : -1;
        if (fd >= 0) {
                if (write(fd, msg, (size_t) n + 1) < 0) {
                }
                close(fd);
        }
        abort();
}

/* Looked up once, here: dlsym() on every call would run the dynamic
 * linker under the activator's key changes, and it saves the vector
 * registers (still holding bytes of the key just copied) on the
 * activator's stack, where secrets-reload.sh would find them. */
static __typeof__(&setsockopt) real_setsockopt;

__attribute__((constructor)) static void init(void) {
        real_setsockopt = REAL(setsockopt);
        if (!is_target())
                return;
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                die("listen-guard: cannot map its table: %s", strerror(errno));
        inert = false;
}

static bool socket_inode(int fd, ino_t *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
                return false;
        *ret = st.st_ino;
        return true;
}

static bool is_keyed(ino_t ino) {
        unsigned n = __atomic_load_n(&shared->n, __ATOMIC_SEQ_CST);
        for (unsigned i = 0; i < n && i < MAX_KEYED; i++)
                if (shared->keyed[i] == ino)
                        return true;
        return false;
}

static void remember_key(int fd) {
        ino_t ino;
        if (!socket_inode(fd, &ino) || is_keyed(ino))
                return;
        unsigned i = __atomic_fetch_add(&shared->n, 1, __ATOMIC_SEQ_CST);
        if (i >= MAX_KEYED)
                die("listen-guard: more than %d keyed sockets; raise MAX_KEYED", MAX_KEYED);
        shared->keyed[i] = ino;
}

int setsockopt(int fd, int level, int opt, const void *v, socklen_t len) {
        int r = real_setsockopt(fd, level, opt, v, len);
        if (r == 0 && !inert && level == IPPROTO_TCP && (opt == TCP_MD5SIG_EXT || opt == TCP_MD5SIG) &&
            v && len >= sizeof(struct tcp_md5sig) && ((const struct tcp_md5sig *) v)->tcpm_keylen > 0)
                remember_key(fd);
        if (r == 0 && !inert && level == IPPROTO_TCP && opt == TCP_AO_ADD_KEY)
                remember_key(fd);
        return r;
}

static int sock_int(int fd, int opt) {
        int v = -1;
        socklen_t len = sizeof v;
        return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

/* The bound port, 0 when unknown. */
static unsigned local_port(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return 0;
        if (ss.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *) &ss)->sin_port);
        if (ss.ss_family == AF_INET6)
                return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
        return 0;
}

static bool port_may_be_unsigned(unsigned port) {
        const char *list = getenv("LISTEN_GUARD_UNSIGNED");
        for (const char *p = list; p && *p;) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p)
                        die("listen-guard: LISTEN_GUARD_UNSIGNED=%s: not a list of ports", list);
                if (port && v == port)
                        return true;
                p = *end == ',' ? end + 1 : end;
        }
        return false;
}

int listen(int fd, int backlog) {
        ino_t ino;
        if (inert || !socket_inode(fd, &ino))
                return REAL(listen)(fd, backlog);
        int domain = sock_int(fd, SO_DOMAIN);
        if ((domain != AF_INET && domain != AF_INET6) || sock_int(fd, SO_PROTOCOL) != IPPROTO_TCP)
                return REAL(listen)(fd, backlog);
        unsigned port = local_port(fd);
        if (!is_keyed(ino) && !port_may_be_unsigned(port))
                die("listen-guard: pid %d: listen() on TCP socket fd %d (port %u) that holds no TCP MD5 or TCP-AO key: "
                    "keys must be installed before listen(), or unsigned SYNs are answered meanwhile "
                    "(a test that means a keyless listener sets LISTEN_GUARD_UNSIGNED=%u)",
                    (int) getpid(), fd, port, port);
        return REAL(listen)(fd, backlog);
}

static bool is_ours(const char *var) {
        return strncmp(var, "LISTEN_GUARD_", 13) == 0;
}

/* LD_PRELOAD without this library: "a b c" minus the entry naming us. */
static char *preload_without_us(const char *var) {
        Dl_info info;
        if (!dladdr((void *) init, &info) || !info.dli_fname)
                return NULL;
        size_t n = strlen(var);
        char *copy = strdup(var + strlen("LD_PRELOAD=")), *out = calloc(1, n + 1), *save = NULL;
        if (!copy || !out) {
                free(copy);
                free(out);
                return NULL;
        }
        strcpy(out, "LD_PRELOAD=");
        bool first = true;
        for (char *t = strtok_r(copy, ": ", &save); t; t = strtok_r(NULL, ": ", &save)) {
                if (strcmp(t, info.dli_fname) == 0)
                        continue;
                if (!first)
                        strcat(out, " ");
                strcat(out, t);
                first = false;
        }
        free(copy);
        return out;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
        if (inert)
                return REAL(execve)(path, argv, envp);
        size_t n = 0, k = 0;
        while (envp[n])
                n++;
        char **clean = calloc(n + 1, sizeof(char *)), *preload = NULL;
        if (!clean)
                return errno = ENOMEM, -1;
        for (size_t i = 0; i < n; i++) {
                if (is_ours(envp[i]))
                        continue;
                if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && !preload) {
                        preload = preload_without_us(envp[i]);
                        if (preload && strcmp(preload, "LD_PRELOAD=") != 0)
                                clean[k++] = preload;
                        continue;
                }
                clean[k++] = envp[i];
        }
        int r = REAL(execve)(path, argv, clean);
        int saved = errno;
        free(preload);
        free(clean);
        errno = saved;
        return r;
}
