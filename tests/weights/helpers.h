/* tests/weights/helpers.h -- files for the weights tests, built byte by byte.
 * st_raw writes a safetensors file from entries of any dtype (the library
 * writes F32 only), with offsets laid out back to back; st_bytes writes a
 * length word and an arbitrary header, for the malformed files. One test
 * program includes this; everything is static. */
#ifndef MOEC_TESTS_WEIGHTS_HELPERS_H
#define MOEC_TESTS_WEIGHTS_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sink.h"

typedef struct st_entry {
    const char *name;
    const char *dtype;      /* "F32", "I64", ... */
    const char *shape;      /* JSON array text, e.g. "[2, 3]" */
    const void *data;
    size_t bytes;
} st_entry;

/* A fresh path in the test's temporary folder. */
static const char *tmp_path(char *buf, size_t n, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/moec-weights-%d-%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
    return buf;
}

/* Writes the 8-byte length word (any value), `header`, then `data`. */
static int st_bytes(const char *path, uint64_t len_word, const char *header, size_t header_len,
                    const void *data, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(len_word >> (8 * i));
    int bad = fwrite(b, 1, 8, f) != 8 || (header_len && fwrite(header, 1, header_len, f) != header_len) ||
              (data_len && fwrite(data, 1, data_len, f) != data_len);
    return fclose(f) != 0 || bad ? -1 : 0;
}

/* Writes a well-formed file holding `entries`. */
static int st_raw(const char *path, const st_entry *e, int n)
{
    size_t cap = 256 + 256 * (size_t)n, used = 0, total = 0;
    char *h = malloc(cap);
    if (!h) return -1;
    used += (size_t)snprintf(h + used, cap - used, "{");
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(h + used, cap - used, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                                 i ? "," : "", e[i].name, e[i].dtype, e[i].shape, total, total + e[i].bytes);
        total += e[i].bytes;
    }
    used += (size_t)snprintf(h + used, cap - used, "}");
    unsigned char *data = malloc(total + 1);
    if (!data) {
        free(h);
        return -1;
    }
    for (size_t i = 0, at = 0; i < (size_t)n; at += e[i].bytes, i++)
        if (e[i].bytes) memcpy(data + at, e[i].data, e[i].bytes);
    int status = st_bytes(path, used, h, used, data, total);
    free(h);
    free(data);
    return status;
}

/* True when the sink received a message containing `needle`. */
static int err_has(moec_diag *err, const char *needle)
{
    return strstr(moec_diag_text(err), needle) != NULL;
}

#endif
