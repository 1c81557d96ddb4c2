/* runtime/data/vocab.h -- a byte-level BPE vocabulary: token bytes by id and
 * the ranked merge table. Loads GPT-2's files (encoder.json + vocab.bpe), the
 * same pair under Hugging Face's names (vocab.json + merges.txt) or one
 * Hugging Face tokenizer.json; every field is bounds-checked, and a missing or
 * corrupt file is an error naming the file, the line or id, and the fix. */
#ifndef MOEC_RUNTIME_DATA_VOCAB_H
#define MOEC_RUNTIME_DATA_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

#define RT_VOCAB_NONE UINT32_MAX
/* Named limits: ids beyond this are a corrupt file, not a big vocabulary. */
enum { RT_VOCAB_MAX_IDS = 1 << 22, RT_VOCAB_MAX_TOKEN_BYTES = 1024 };

typedef struct rt_vocab {
    uint32_t n_ids;        /* ids are 0 .. n_ids-1, every one a token */
    uint32_t *tok_off;     /* [n_ids+1]: token i is bytes[tok_off[i] .. tok_off[i+1]) */
    unsigned char *bytes;  /* every token's raw bytes, concatenated */
    uint32_t byte_id[256]; /* the token of each single byte (all 256 exist) */
    uint32_t eos;          /* id of "<|endoftext|>", or RT_VOCAB_NONE */
    uint32_t n_merges;     /* merge ranks are 0 .. n_merges-1 */
    uint64_t *mkey;        /* [mcap] merge table keys: left << 32 | right; UINT64_MAX empty */
    uint32_t *mval;        /* [mcap*2] rank, merged id */
    uint32_t mshift;       /* 64 - log2(mcap), for the multiplicative hash */
    uint32_t *sslot;       /* [scap] string table: id+1, 0 empty */
    uint32_t sshift;       /* 64 - log2(scap) */
    char *files[2];        /* the file(s) it was loaded from (files[1] may be NULL) */
} rt_vocab;

/* Loads from PATH: a directory holding encoder.json + vocab.bpe, or
 * vocab.json + merges.txt, or tokenizer.json; or a tokenizer.json itself. */
int rt_vocab_load(rt_vocab *v, const char *path, moec_diag *diag);
/* Loads a JSON object token->id plus a merges file ("a b" a line, ranked by order). */
int rt_vocab_load_pair(rt_vocab *v, const char *vocab_json, const char *merges_txt, moec_diag *diag);
/* Loads a Hugging Face tokenizer.json (model.type BPE, model.vocab, model.merges,
 * added_tokens). */
int rt_vocab_load_hf(rt_vocab *v, const char *tokenizer_json, moec_diag *diag);
void rt_vocab_free(rt_vocab *v);

/* The id of the token with these bytes, or RT_VOCAB_NONE. */
uint32_t rt_vocab_find(const rt_vocab *v, const void *bytes, size_t len);

/* GPT-2's byte -> code point map (printable Latin-1 bytes stand for
 * themselves, the rest for 256 + n), so tokens are printable in JSON files. */
uint32_t rt_byte_to_unicode(unsigned b);

/* Token id's bytes and length (id < n_ids). */
static inline const unsigned char *rt_vocab_token(const rt_vocab *v, uint32_t id, size_t *len)
{
    *len = v->tok_off[id + 1] - v->tok_off[id];
    return v->bytes + v->tok_off[id];
}

static inline uint64_t rt_vocab_hash64(uint64_t k)
{
    k ^= k >> 29;
    return k * 0x9E3779B97F4A7C15u;
}

/* Looks up the merge of (left, right): returns 1 and its rank and result, or 0. */
static inline int rt_vocab_merge(const rt_vocab *v, uint32_t left, uint32_t right, uint32_t *rank,
                                 uint32_t *merged)
{
    uint64_t key = (uint64_t)left << 32 | right;
    uint64_t mask = (UINT64_C(1) << (64 - v->mshift)) - 1;
    for (uint64_t i = rt_vocab_hash64(key) >> v->mshift;; i = (i + 1) & mask) {
        if (v->mkey[i] == key) {
            *rank = v->mval[2 * i];
            *merged = v->mval[2 * i + 1];
            return 1;
        }
        if (v->mkey[i] == UINT64_MAX) return 0;
    }
}

#endif
