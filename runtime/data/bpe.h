/* runtime/data/bpe.h -- GPT-2's byte-level BPE: text bytes -> token ids and back.
 * Encoding splits text with GPT-2's pre-tokenisation rule (contractions, runs of
 * letters, of digits, of other characters, each optionally after one space;
 * whitespace runs), then merges each piece's bytes by rank (vocab.h). Unicode
 * classes come from utf8proc; bytes that are not valid UTF-8 count one by one as
 * "other" characters, so any input encodes and decodes back to the same bytes. */
#ifndef MOEC_RUNTIME_DATA_BPE_H
#define MOEC_RUNTIME_DATA_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"
#include "runtime/data/vocab.h"

/* A growable list of token ids. */
typedef struct rt_tokens {
    uint32_t *ids;
    size_t n, cap;
} rt_tokens;

int rt_tokens_push(rt_tokens *t, uint32_t id);
void rt_tokens_free(rt_tokens *t);

/* Character classes of the pre-tokenisation rule. */
enum rt_char_class {
    RT_CC_LETTER, /* \p{L}: categories Lu Ll Lt Lm Lo */
    RT_CC_NUMBER, /* \p{N}: Nd Nl No */
    RT_CC_SPACE,  /* \s: White_Space, i.e. Zs Zl Zp and TAB LF VT FF CR NEL */
    RT_CC_OTHER   /* everything else, and each byte of invalid UTF-8 */
};

/* Cache of pieces already merged: most words repeat, and merging is the slow part. */
typedef struct rt_bpe_cache {
    uint32_t *slot;        /* [RT_BPE_CACHE_SLOTS] entry index + 1; 0 empty */
    uint64_t *hash;        /* [RT_BPE_CACHE_ENTRIES] each entry's key hash */
    uint32_t *key_off;     /* [entries] key bytes in keys */
    uint32_t *ids_off;     /* [entries + 1] ids in ids; entry i has ids_off[i+1]-ids_off[i] */
    uint8_t *key_len;      /* [entries] */
    unsigned char *keys;   /* [RT_BPE_CACHE_KEY_BYTES] */
    uint32_t *ids;         /* [RT_BPE_CACHE_IDS] */
    uint32_t n, key_used;  /* entries and key bytes in use; ids in use is ids_off[n] */
} rt_bpe_cache;

enum {
    RT_BPE_CACHE_SLOTS = 1 << 17,
    RT_BPE_CACHE_ENTRIES = 1 << 16,
    RT_BPE_CACHE_KEY_BYTES = 1 << 20,
    RT_BPE_CACHE_IDS = 1 << 19,
    RT_BPE_CACHE_MAX_KEY = 64 /* longer pieces are merged every time */
};

/* An encoder: the vocabulary (borrowed), class cache for ASCII, and the merge
 * cache. One per thread: encoding writes to the cache. */
typedef struct rt_bpe {
    const rt_vocab *v;
    uint8_t ascii_class[128]; /* enum rt_char_class of each ASCII code, from utf8proc */
    rt_bpe_cache cache;
    uint32_t *work;           /* scratch ids for one piece */
    size_t work_cap;
} rt_bpe;

int rt_bpe_init(rt_bpe *b, const rt_vocab *v, moec_diag *diag);
void rt_bpe_free(rt_bpe *b);

/* Appends the tokens of `text` (len bytes, any bytes) to *out. */
int rt_bpe_encode(rt_bpe *b, const void *text, size_t len, rt_tokens *out, moec_diag *diag);

/* The end of the pre-token that starts at `pos` (< len): the rule alone, for tests. */
size_t rt_bpe_piece_end(const rt_bpe *b, const unsigned char *s, size_t len, size_t pos);

/* The class of code point cp (see enum rt_char_class). */
enum rt_char_class rt_char_class_of(int32_t cp);

/* Decodes ids into a new buffer (*out, *len; NUL-terminated for convenience). */
int rt_bpe_decode(const rt_vocab *v, const uint32_t *ids, size_t n, char **out, size_t *len, moec_diag *diag);

#endif
