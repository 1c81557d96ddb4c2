/* runtime/data/build.h -- `moec data`: domains of text -> llm.c token shards.
 * Reads each domain's texts (corpus.h), splits train/eval by text, encodes with
 * EOS after every text, packs fixed blocks of `seq` tokens, optionally balances
 * train blocks across domains, shuffles blocks, and writes DIR/train_NNNNNN.bin,
 * DIR/eval_NNNNNN.bin, DIR/domains.json and DIR/manifest.json, each atomically. */
#ifndef MOEC_RUNTIME_DATA_BUILD_H
#define MOEC_RUNTIME_DATA_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/data/corpus.h"
#include "support/diag.h"
#include "runtime/data/vocab.h"

typedef struct rt_data_opts {
    const char *out_dir;
    double eval_fraction;   /* 0.05: see rt_eval_count */
    uint32_t seq;           /* tokens per block (the model's context), >= 2 */
    int balance;            /* truncate train to the smallest domain's block count */
    uint64_t seed;          /* text split and block order */
    uint64_t shard_tokens;  /* at most this many tokens a shard (rounded down to blocks) */
    const char *separator;  /* recorded in the manifest (the domains were read with it) */
    const char *command;    /* the command line, recorded in the manifest; may be NULL */
    /* called now and then while encoding: bytes done of total; may be NULL */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
} rt_data_opts;

/* What one domain gave to one split. */
typedef struct rt_split_stat {
    size_t texts;
    uint64_t tokens;  /* encoded, EOS included */
    uint64_t blocks;  /* blocks written (after balancing) */
    uint64_t dropped; /* tokens not written: the last partial block, and balancing */
} rt_split_stat;

typedef struct rt_data_summary {
    size_t n_domains;
    rt_split_stat *train, *eval;     /* [n_domains] */
    uint64_t train_blocks, eval_blocks;
    size_t train_shards, eval_shards;
} rt_data_summary;

int rt_data_build(const rt_vocab *v, rt_domain *doms, size_t n_doms, const rt_data_opts *o,
                  rt_data_summary *sum, moec_diag *diag);
void rt_data_summary_free(rt_data_summary *s);

#endif
