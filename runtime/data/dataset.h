/* runtime/data/dataset.h -- one split of a `moec data` directory, loaded for
 * training or evaluation: reads DIR/domains.json and the split's shards
 * (shard.h, every token checked against the vocabulary), and checks that they
 * agree (token counts, whole blocks, a known domain for every block). */
#ifndef MOEC_RUNTIME_DATA_DATASET_H
#define MOEC_RUNTIME_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

enum { RT_DATASET_MAX_DOMAINS = 256 };

typedef struct rt_split_data {
    uint16_t *tokens;       /* [n_blocks * seq]: the split's shards, in order */
    size_t n_tokens;
    uint32_t seq;           /* tokens per block */
    size_t n_blocks;
    uint8_t *block_domain;  /* [n_blocks] index into domains */
    char **domains;         /* [n_domains] names */
    size_t n_domains;
} rt_split_data;

/* Loads split "train" or "eval" of DIR; tokens must be < vocab_size. */
int rt_split_load(const char *dir, const char *split, uint32_t vocab_size, rt_split_data *out, moec_diag *diag);
void rt_split_free(rt_split_data *s);

#endif
