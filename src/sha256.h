/* SHA-256 (FIPS 180-4), for key fingerprints: small and self-contained, as
 * none of the libraries we link exports one. Not for bulk data. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

typedef struct Sha256 {
        uint32_t h[8];
        uint64_t length;   /* bytes hashed so far */
        uint8_t block[64]; /* a partial block waiting for more input */
        size_t used;
} Sha256;

void sha256_init(Sha256 *c);
void sha256_update(Sha256 *c, const void *data, size_t len);
/* Writes the digest and wipes the context (it may have held key bytes). */
void sha256_final(Sha256 *c, uint8_t ret[static SHA256_DIGEST_SIZE]);
