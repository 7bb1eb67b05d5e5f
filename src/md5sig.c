/* TCP MD5 setsockopt wrappers. The struct is zeroed, filled, used and
 * wiped, so no copy of a key outlives the call. */
#include "md5sig.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>

static void fill_addr(struct tcp_md5sig *sig, const KeyEntry *e) {
        if (e->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &sig->tcpm_addr;
                sin->sin_family = AF_INET;
                sin->sin_addr = e->addr.in;
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &sig->tcpm_addr;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_addr = e->addr.in6;
        }
        sig->tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
        sig->tcpm_prefixlen = e->prefixlen;
        if (e->ifindex > 0) {
                sig->tcpm_flags |= TCP_MD5SIG_FLAG_IFINDEX;
                sig->tcpm_ifindex = e->ifindex;
        }
}

static int set(int fd, int opt, struct tcp_md5sig *sig) {
        int r = setsockopt(fd, IPPROTO_TCP, opt, sig, sizeof *sig) < 0 ? -errno : 0;
        explicit_bzero(sig, sizeof *sig);
        return r;
}

int md5sig_add(int fd, const KeyEntry *e) {
        struct tcp_md5sig sig = { 0 };
        if (e->secret.len == 0 || e->secret.len > TCP_MD5SIG_MAXKEYLEN)
                return -EINVAL;
        fill_addr(&sig, e);
        sig.tcpm_keylen = (unsigned short) e->secret.len;
        memcpy(sig.tcpm_key, e->secret.bytes, e->secret.len);
        return set(fd, TCP_MD5SIG_EXT, &sig);
}

int md5sig_delete(int fd, const KeyEntry *e) {
        struct tcp_md5sig sig = { 0 };
        fill_addr(&sig, e);
        int r = set(fd, TCP_MD5SIG_EXT, &sig);
        return r == -ENOENT ? 0 : r;
}

int md5sig_add_peer(int fd, const struct sockaddr *peer, socklen_t len, const Secret *s) {
        struct tcp_md5sig sig = { 0 };
        if (s->len == 0 || s->len > TCP_MD5SIG_MAXKEYLEN || len > sizeof sig.tcpm_addr)
                return -EINVAL;
        memcpy(&sig.tcpm_addr, peer, len);
        sig.tcpm_keylen = (unsigned short) s->len;
        memcpy(sig.tcpm_key, s->bytes, s->len);
        return set(fd, TCP_MD5SIG, &sig);
}
