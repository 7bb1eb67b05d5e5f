/* The resident form of a Config: one block, read-only (see config-pack.c). */
#pragma once

#include "config.h"

/* Replaces *c by a copy in one block and frees the original (wiping its
 * secrets). A packed config is only read: growing its arrays would fail,
 * and config_find_key() finds nothing (the copy has no name index).
 * config_free() frees it. -ENOMEM leaves *c as it was. */
int config_pack(Config **c);

/* For config_free(): wipes and releases a packed config. */
void config_packed_free(Config *c);

/* Handing a packed config from a forked child to its parent (child-load.c):
 * the child packs into the static buffer and sends it; the parent, whose
 * buffer is at the same address and free, receives it there. A config
 * that does not fit cannot go this way. */
bool config_pack_fits_resident(const Config *c);
bool config_is_resident(const Config *c);
int config_pack_send(int fd, const Config *c);
int config_pack_receive(int fd, Config **ret);
