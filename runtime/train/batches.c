/* runtime/train/batches.c -- batches from a split at a saved position
 * (runtime/train/batches.h). */
#include "runtime/train/batches.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int rt_batch_alloc(rt_batch *b, int64_t batch, int64_t seq, moec_diag *diag)
{
    memset(b, 0, sizeof *b);
    size_t n = (size_t)(batch * seq);
    b->batch = batch;
    b->seq = seq;
    b->tokens = calloc(n, sizeof *b->tokens);
    b->targets = calloc(n, sizeof *b->targets);
    b->domain = calloc((size_t)batch, sizeof *b->domain);
    b->token_domain = calloc(n, 1);
    b->token_valid = calloc(n, 1);
    if (!b->tokens || !b->targets || !b->domain || !b->token_domain || !b->token_valid) {
        rt_batch_free(b);
        return moec_error(diag, "out of memory for a batch of %lld x %lld tokens", (long long)batch, (long long)seq);
    }
    return 0;
}

void rt_batch_free(rt_batch *b)
{
    free(b->tokens);
    free(b->targets);
    free(b->domain);
    free(b->token_domain);
    free(b->token_valid);
    memset(b, 0, sizeof *b);
}

int64_t rt_batcher_start(uint64_t seed, size_t n_blocks)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return n_blocks ? (int64_t)(z % n_blocks) : 0;
}

void rt_batcher_init(rt_batcher *r, const rt_split_data *split, int64_t start, int64_t position)
{
    r->split = split;
    r->start = start;
    r->position = position;
}

void rt_batcher_next(rt_batcher *r, rt_batch *b)
{
    const rt_split_data *s = r->split;
    size_t n_blocks = s->n_blocks;
    for (int64_t q = 0; q < b->batch; q++) {
        size_t block = (size_t)((uint64_t)(r->start + r->position + q) % n_blocks);
        size_t at = block * s->seq;
        uint8_t dom = s->block_domain[block];
        b->domain[q] = dom;
        for (int64_t t = 0; t < b->seq; t++) {
            size_t i = (size_t)(q * b->seq + t);
            b->tokens[i] = s->tokens[at + (size_t)t];
            bool inside = (size_t)t + 1 < s->seq;   /* the next token is in this block */
            b->targets[i] = inside ? s->tokens[at + (size_t)t + 1] : -1.0;
            b->token_valid[i] = inside;
            b->token_domain[i] = dom;
        }
    }
    r->position += b->batch;
}

void rt_batcher_skip(rt_batcher *r, int64_t n)
{
    r->position += n;
}
