/* Listening sockets: created, optioned, keyed and bound; listen() only once
 * every listener holds every key, so a failure leaves nothing listening. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "plan.h"

typedef struct Listener {
        int fd;
        ListenAddress address;
        ListenerShape shape;
        KeyEntry *keys;       /* what the kernel holds on fd: a reload diffs against it */
        size_t n_keys;
        bool ao_required;     /* TCP-AO's ao_required is set on fd (a reload never turns it on or off) */
} Listener;

typedef struct ListenerSet {
        Listener *v;
        size_t n;
        Secret catch_all;     /* random bytes nobody knows */
} ListenerSet;

/* The shape a listener will have, for --check (reads the bindv6only sysctl
 * when BindIPv6Only=default). */
ListenerShape listener_expected_shape(const Config *c, const ListenAddress *a);

/* What --check can tell of a bind without binding: a port below
 * ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE. -EACCES, logged. */
int listener_check_bind_permission(const Config *c);

/* For --check (start-up checks each listener's actual shape): every
 * listener's layout of TCP-AO and TCP MD5 keys is one plan_keys() takes
 * (see plan_mixed_refused()). Logs; -EBADMSG. */
int listener_check_layouts(const Config *c);
/* For --check and start-up, before any socket: with TCP-AO keys, the
 * kernel has TCP-AO (-ENOPROTOOPT otherwise) and each MAC algorithm
 * (-EBADMSG). Nothing to check for TCP MD5 keys. Logs. */
int listener_check_kernel(const Config *c);

/* Creates, keys and binds every listener, then listens on all. Logs each
 * failure with the address and what to do; on error nothing is left open. */
int listener_set_open(const Config *c, ListenerSet *ret);
void listener_set_close(ListenerSet *s);
/* Keys installed on all listeners together. */
size_t listener_set_keys(const ListenerSet *s);

/* What connections accepted later copy from their listener: the socket
 * options of the settings table, bit i on for config_socket_option(i). */
typedef struct ConnectionOptions {
        unsigned on;
} ConnectionOptions;

static inline ConnectionOptions connection_options(const Config *c) {
        return (ConnectionOptions) { config_socket_option_values(c) };
}

/* Sets every option of o on an open listener, on or off. Returns how many
 * setsockopt() calls it made, or -errno with *ret_step the option that
 * failed. */
int listener_connection_options(int fd, ConnectionOptions o, const char **ret_step);

/* How many keys net.core.optmem_max must allow on one socket for n keys. */
size_t optmem_needed(size_t n_keys);
