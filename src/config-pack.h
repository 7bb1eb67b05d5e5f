/* The resident form of a Config: one block, read-only (see config-pack.c). */
#pragma once

#include "config.h"

/* Replaces *c by a copy in one block and frees the original (wiping its
 * secrets). A packed config is only read: growing its arrays would fail.
 * config_free() frees it. -ENOMEM leaves *c as it was. */
int config_pack(Config **c);

/* For config_free(): wipes and releases a packed config. */
void config_packed_free(Config *c);
