/* runtime/train/batches.h -- training and evaluation batches read from a
 * split of a `moec data` directory (runtime/data/dataset.h), with a position
 * a checkpoint saves. A batch is B sequences of T tokens; sequence b is
 * block (start + position + b) mod n_blocks of the split, its inputs the
 * block's first T tokens and its targets the tokens after them in the same
 * block (the stream shifted by one); when T is the whole block, its last
 * position has nothing of its own to predict (the next token begins another,
 * shuffled block): its target is -1, which the loss leaves out
 * (doc/model-semantics.md, "Cross-entropy"). Its domain is the block's. `start` comes from the seed (train) or is 0 (eval), so a run reads
 * its blocks in the data's shuffled order from a seeded place; the position
 * counts blocks read, so a resumed run reads exactly what the uninterrupted
 * one would have. doc/training.md, "Data". */
#ifndef MOEC_RUNTIME_TRAIN_BATCHES_H
#define MOEC_RUNTIME_TRAIN_BATCHES_H

#include <stdint.h>

#include "runtime/data/dataset.h"
#include "support/diag.h"

/* One batch as the step's inputs take it. */
typedef struct rt_batch {
    int64_t batch, seq;
    double *tokens;          /* [B*T] input token ids */
    double *targets;         /* [B*T] the next token of each position, or -1: none in the block */
    double *domain;          /* [B] each sequence's domain index (the step's "domain" input) */
    uint8_t *token_domain;   /* [B*T] each position's domain index (for per-domain metrics) */
    uint8_t *token_valid;    /* [B*T] 1 where the position predicts a token (target >= 0) */
} rt_batch;

int rt_batch_alloc(rt_batch *b, int64_t batch, int64_t seq, moec_diag *diag);
void rt_batch_free(rt_batch *b);

/* A sequential reader of one split. */
typedef struct rt_batcher {
    const rt_split_data *split;   /* borrowed */
    int64_t start;                /* first block read */
    int64_t position;             /* blocks read so far (saved in checkpoints) */
} rt_batcher;

/* The first block of a split of n_blocks read with `seed`: a splitmix64 hash
 * of the seed, mod n_blocks. */
int64_t rt_batcher_start(uint64_t seed, size_t n_blocks);

/* A reader at `position` (0 for a new run) from `start`. The split must hold
 * at least one block of at least seq tokens (checked by the caller). */
void rt_batcher_init(rt_batcher *r, const rt_split_data *split, int64_t start, int64_t position);

/* Fills b (allocated for its B, T <= split->seq) with the next B blocks and advances the position. */
void rt_batcher_next(rt_batcher *r, rt_batch *b);
/* Advances the position past n blocks that another rank reads. */
void rt_batcher_skip(rt_batcher *r, int64_t n);

#endif
