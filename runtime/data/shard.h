/* runtime/data/shard.h -- llm.c token shards: write and bounds-checked read.
 * Layout (little-endian): a header of 256 int32 -- [0] magic 20240520,
 * [1] version 1, [2] token count N, the rest 0 -- then N uint16 tokens.
 * Writing is atomic (atomic.h); reading checks magic, version, the exact file
 * size and every token against the vocabulary size. */
#ifndef MOEC_RUNTIME_DATA_SHARD_H
#define MOEC_RUNTIME_DATA_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

enum {
    RT_SHARD_MAGIC = 20240520,
    RT_SHARD_VERSION = 1,
    RT_SHARD_HEADER_INTS = 256,
    RT_SHARD_HEADER_BYTES = RT_SHARD_HEADER_INTS * 4,
    RT_SHARD_MAX_VOCAB = 65536 /* tokens are uint16 */
};
#define RT_SHARD_MAX_TOKENS INT32_MAX /* the header's count is an int32 */

typedef struct rt_shard {
    uint16_t *tokens; /* [n_tokens] */
    size_t n_tokens;
} rt_shard;

/* Writes tokens[0..n) as an llm.c shard at path, atomically. */
int rt_shard_write(const char *path, const uint16_t *tokens, size_t n, moec_diag *diag);
/* Reads a shard; every token must be < vocab_size. */
int rt_shard_read(const char *path, uint32_t vocab_size, rt_shard *out, moec_diag *diag);
void rt_shard_free(rt_shard *s);

#endif
