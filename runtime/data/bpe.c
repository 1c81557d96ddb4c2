/* runtime/data/bpe.c -- GPT-2 byte-level BPE encoding and decoding (bpe.h).
 * Reads text bytes and a loaded vocabulary; writes token ids. The splitting
 * rule is GPT-2's regular expression
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * evaluated by hand (piece_end below), which is what makes it fast. */
#include "runtime/data/bpe.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int rt_tokens_push(rt_tokens *t, uint32_t id)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        uint32_t *p = realloc(t->ids, cap * sizeof *p);
        if (!p) return -1;
        t->ids = p;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return 0;
}

void rt_tokens_free(rt_tokens *t)
{
    free(t->ids);
    memset(t, 0, sizeof *t);
}

enum rt_char_class rt_char_class_of(int32_t cp)
{
    /* White_Space holds the C0/C1 controls TAB..CR and NEL besides the Z* categories. */
    if ((cp >= 0x09 && cp <= 0x0d) || cp == 0x85) return RT_CC_SPACE;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return RT_CC_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return RT_CC_NUMBER;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return RT_CC_SPACE;
    default:
        return RT_CC_OTHER;
    }
}

/* The character at s[i]: returns its length in bytes (>= 1) and sets *cls.
 * A byte that does not start valid UTF-8 is one "other" character. */
static inline size_t char_at(const rt_bpe *b, const unsigned char *s, size_t len, size_t i, int *cls)
{
    if (s[i] < 0x80) {
        *cls = b->ascii_class[s[i]];
        return 1;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i < 4 ? len - i : 4), &cp);
    if (k <= 0) {
        *cls = RT_CC_OTHER;
        return 1;
    }
    *cls = rt_char_class_of(cp);
    return (size_t)k;
}

/* The end of the run of class `cls` characters starting at j. */
static size_t run_end(const rt_bpe *b, const unsigned char *s, size_t len, size_t j, int cls)
{
    while (j < len) {
        int c;
        size_t k = char_at(b, s, len, j, &c);
        if (c != cls) break;
        j += k;
    }
    return j;
}

/* 's 't 're 've 'm 'll 'd (lower case only, as in GPT-2): their length, or 0. */
static size_t contraction(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] != '\'' || i + 1 >= len) return 0;
    unsigned char c = s[i + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
    if (i + 2 < len && ((c == 'r' && s[i + 2] == 'e') || (c == 'v' && s[i + 2] == 'e') ||
                        (c == 'l' && s[i + 2] == 'l')))
        return 3;
    return 0;
}

size_t rt_bpe_piece_end(const rt_bpe *b, const unsigned char *s, size_t len, size_t i)
{
    size_t k = contraction(s, len, i);
    if (k) return i + k;
    int cls;
    size_t j = i + char_at(b, s, len, i, &cls);
    if (s[i] == ' ' && j < len) { /* " ?X+": one space joins a following non-space run */
        int next;
        size_t k2 = char_at(b, s, len, j, &next);
        if (next != RT_CC_SPACE) return run_end(b, s, len, j + k2, next);
    }
    if (cls != RT_CC_SPACE) return run_end(b, s, len, j, cls);
    /* \s+(?!\S) then \s+: a whitespace run leaves its last character to the
     * word after it, unless the run ends the text or is one character long. */
    size_t last = i;
    while (j < len) {
        int c;
        size_t kk = char_at(b, s, len, j, &c);
        if (c != RT_CC_SPACE) break;
        last = j;
        j += kk;
    }
    if (j == len || last == i) return j;
    return last;
}

static int cache_init(rt_bpe_cache *c)
{
    memset(c, 0, sizeof *c);
    c->slot = calloc(RT_BPE_CACHE_SLOTS, sizeof *c->slot);
    c->hash = malloc(RT_BPE_CACHE_ENTRIES * sizeof *c->hash);
    c->key_off = malloc(RT_BPE_CACHE_ENTRIES * sizeof *c->key_off);
    c->ids_off = calloc(RT_BPE_CACHE_ENTRIES + 1, sizeof *c->ids_off);
    c->key_len = malloc(RT_BPE_CACHE_ENTRIES);
    c->keys = malloc(RT_BPE_CACHE_KEY_BYTES);
    c->ids = malloc(RT_BPE_CACHE_IDS * sizeof *c->ids);
    return c->slot && c->hash && c->key_off && c->ids_off && c->key_len && c->keys && c->ids ? 0 : -1;
}

static void cache_free(rt_bpe_cache *c)
{
    free(c->slot);
    free(c->hash);
    free(c->key_off);
    free(c->ids_off);
    free(c->key_len);
    free(c->keys);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static uint64_t piece_hash(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3u;
    return h ^ (h >> 32);
}

/* The cache entry for piece p, or UINT32_MAX; *slot is where to insert it. */
static uint32_t cache_find(const rt_bpe_cache *c, const unsigned char *p, size_t n, uint64_t h, size_t *slot)
{
    size_t i = (size_t)(h & (RT_BPE_CACHE_SLOTS - 1));
    for (;; i = (i + 1) & (RT_BPE_CACHE_SLOTS - 1)) {
        uint32_t s = c->slot[i];
        if (s == 0) break;
        uint32_t e = s - 1;
        if (c->hash[e] == h && c->key_len[e] == n && memcmp(c->keys + c->key_off[e], p, n) == 0) return e;
    }
    *slot = i;
    return UINT32_MAX;
}

/* Remembers piece p -> ids; a full cache starts over (cheap, and rare). */
static void cache_put(rt_bpe_cache *c, const unsigned char *p, size_t n, uint64_t h, size_t slot,
                      const uint32_t *ids, size_t m)
{
    if (c->n + 1 >= RT_BPE_CACHE_ENTRIES / 4 * 3 || c->key_used + n > RT_BPE_CACHE_KEY_BYTES ||
        c->ids_off[c->n] + m > RT_BPE_CACHE_IDS) {
        memset(c->slot, 0, RT_BPE_CACHE_SLOTS * sizeof *c->slot);
        c->n = c->key_used = 0;
        size_t dummy;
        cache_find(c, p, n, h, &dummy);
        slot = dummy;
    }
    uint32_t e = c->n++;
    c->hash[e] = h;
    c->key_off[e] = c->key_used;
    c->key_len[e] = (uint8_t)n;
    memcpy(c->keys + c->key_used, p, n);
    c->key_used += (uint32_t)n;
    memcpy(c->ids + c->ids_off[e], ids, m * sizeof *ids);
    c->ids_off[e + 1] = c->ids_off[e] + (uint32_t)m;
    c->slot[slot] = e + 1;
}

/* Merges ids[0..m) in place: the lowest-ranked adjacent pair, every
 * non-overlapping occurrence left to right, until no pair has a merge.
 * Returns the new length. */
static size_t merge_piece(const rt_vocab *v, uint32_t *ids, size_t m)
{
    while (m > 1) {
        uint32_t best = UINT32_MAX, bl = 0, br = 0, bm = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            uint32_t r, mg;
            if (rt_vocab_merge(v, ids[i], ids[i + 1], &r, &mg) && r < best) {
                best = r;
                bl = ids[i];
                br = ids[i + 1];
                bm = mg;
            }
        }
        if (best == UINT32_MAX) break;
        size_t o = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && ids[i] == bl && ids[i + 1] == br) {
                ids[o++] = bm;
                i += 2;
            } else {
                ids[o++] = ids[i++];
            }
        }
        m = o;
    }
    return m;
}

static int push_all(rt_tokens *out, const uint32_t *ids, size_t m)
{
    if (out->n + m > out->cap) {
        size_t cap = out->cap ? out->cap : 1024;
        while (cap < out->n + m) cap *= 2;
        uint32_t *p = realloc(out->ids, cap * sizeof *p);
        if (!p) return -1;
        out->ids = p;
        out->cap = cap;
    }
    memcpy(out->ids + out->n, ids, m * sizeof *ids);
    out->n += m;
    return 0;
}

/* Encodes one pre-token p[0..n) and appends its ids. */
static int encode_piece(rt_bpe *b, const unsigned char *p, size_t n, rt_tokens *out)
{
    if (n == 1) return rt_tokens_push(out, b->v->byte_id[p[0]]);
    uint64_t h = 0;
    size_t slot = 0;
    if (n <= RT_BPE_CACHE_MAX_KEY) {
        h = piece_hash(p, n);
        uint32_t e = cache_find(&b->cache, p, n, h, &slot);
        if (e != UINT32_MAX) {
            const rt_bpe_cache *c = &b->cache;
            return push_all(out, c->ids + c->ids_off[e], c->ids_off[e + 1] - c->ids_off[e]);
        }
    }
    if (n > b->work_cap) {
        uint32_t *w = realloc(b->work, n * sizeof *w);
        if (!w) return -1;
        b->work = w;
        b->work_cap = n;
    }
    for (size_t i = 0; i < n; i++) b->work[i] = b->v->byte_id[p[i]];
    size_t m = merge_piece(b->v, b->work, n);
    if (n <= RT_BPE_CACHE_MAX_KEY) cache_put(&b->cache, p, n, h, slot, b->work, m);
    return push_all(out, b->work, m);
}

int rt_bpe_encode(rt_bpe *b, const void *text, size_t len, rt_tokens *out, moec_diag *diag)
{
    const unsigned char *s = text;
    for (size_t i = 0; i < len;) {
        size_t e = rt_bpe_piece_end(b, s, len, i);
        if (encode_piece(b, s + i, e - i, out) != 0) return moec_error(diag, "out of memory while encoding");
        i = e;
    }
    return 0;
}

int rt_bpe_init(rt_bpe *b, const rt_vocab *v, moec_diag *diag)
{
    memset(b, 0, sizeof *b);
    b->v = v;
    for (int c = 0; c < 128; c++) b->ascii_class[c] = (uint8_t)rt_char_class_of(c);
    if (cache_init(&b->cache) != 0) {
        rt_bpe_free(b);
        return moec_error(diag, "out of memory for the tokenizer's cache");
    }
    return 0;
}

void rt_bpe_free(rt_bpe *b)
{
    cache_free(&b->cache);
    free(b->work);
    memset(b, 0, sizeof *b);
}

int rt_bpe_decode(const rt_vocab *v, const uint32_t *ids, size_t n, char **out, size_t *len, moec_diag *diag)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= v->n_ids)
            return moec_error(diag, "token %zu: id %u is outside the vocabulary (0..%u)", i, ids[i], v->n_ids - 1);
        total += v->tok_off[ids[i] + 1] - v->tok_off[ids[i]];
    }
    char *buf = malloc(total + 1);
    if (!buf) return moec_error(diag, "out of memory decoding %zu tokens", n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k;
        const unsigned char *t = rt_vocab_token(v, ids[i], &k);
        memcpy(buf + o, t, k);
        o += k;
    }
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return 0;
}
