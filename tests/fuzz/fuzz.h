/* Shared by the fuzz targets: the libFuzzer entry point, and (without
 * libFuzzer) a main() in replay.c that feeds it every corpus file. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks broke: report and abort, so libFuzzer saves
 * the input and the replay test fails. */
#define FUZZ_ASSERT(cond)                                                                       \
        do {                                                                                    \
                if (!(cond)) {                                                                  \
                        fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                                \
                }                                                                               \
        } while (0)

/* A NUL-terminated copy of the input, or NULL if it holds a NUL (config
 * values and command lines cannot). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        for (size_t i = 0; i < size; i++)
                if (data[i] == 0)
                        return NULL;
        char *s = malloc(size + 1);
        if (!s)
                abort();
        for (size_t i = 0; i < size; i++)
                s[i] = (char) data[i];
        s[size] = 0;
        return s;
}
