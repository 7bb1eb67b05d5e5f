/* The kernel interface for TCP MD5 keys: one setsockopt per key. */
#pragma once

#include <sys/socket.h>

#include "plan.h"

/* TCP_MD5SIG_EXT with TCP_MD5SIG_FLAG_PREFIX (and _IFINDEX). -errno. */
int md5sig_add(int fd, const KeyEntry *e);
/* Same entry with tcpm_keylen = 0; a missing key (ENOENT) is not an error. */
int md5sig_delete(int fd, const KeyEntry *e);
/* The client's key for exactly one peer address. */
int md5sig_add_peer(int fd, const struct sockaddr *peer, socklen_t len, const Secret *s);
