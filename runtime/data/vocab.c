/* runtime/data/vocab.c -- loads byte-level BPE vocabularies (vocab.h).
 * Reads encoder.json/vocab.json (token -> id), vocab.bpe/merges.txt (ranked
 * merges) or a tokenizer.json; token text is GPT-2's byte-to-unicode spelling,
 * turned back into raw bytes here. Builds the id -> bytes table, a bytes -> id
 * hash and a (left, right) -> (rank, merged) hash. */
#include "runtime/data/vocab.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "support/file.h"

/* A merges file bigger than this is not a vocabulary (GPT-2's is 456 KB). */
enum { MERGES_MAX_BYTES = 256 << 20, BYTE_ALPHABET = 324 };

typedef struct entry {
    uint32_t id;  /* token id */
    uint32_t off; /* bytes in loader.pool */
    uint32_t len;
} entry;

typedef struct loader {
    int16_t cp_byte[BYTE_ALPHABET]; /* inverse of rt_byte_to_unicode; -1 none */
    unsigned char *pool;            /* raw bytes of every token read */
    size_t pool_len, pool_cap;
    entry *ent;
    size_t n_ent, cap_ent;
    const char *file; /* for messages */
} loader;

uint32_t rt_byte_to_unicode(unsigned b)
{
    /* GPT-2 keeps '!'..'~', '¡'..'¬' and '®'..'ÿ' as themselves and gives every
     * other byte the next code point from 256 on, in byte order. */
    int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (keep) return b;
    uint32_t n = 0;
    for (unsigned c = 0; c < b; c++)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))) n++;
    return 256 + n;
}

static void loader_init(loader *ld, const char *file)
{
    memset(ld, 0, sizeof *ld);
    for (int i = 0; i < BYTE_ALPHABET; i++) ld->cp_byte[i] = -1;
    for (unsigned b = 0; b < 256; b++) ld->cp_byte[rt_byte_to_unicode(b)] = (int16_t)b;
    ld->file = file;
}

static void loader_free(loader *ld)
{
    free(ld->pool);
    free(ld->ent);
}

/* Decodes GPT-2's spelling `s` (UTF-8, `n` bytes) into raw bytes appended to
 * the pool; *off and *len say where. */
static int unbyte(loader *ld, const char *s, size_t n, uint32_t *off, uint32_t *len, moec_diag *diag)
{
    if (n == 0) return moec_error(diag, "%s: an empty token", ld->file);
    if (n > 4 * RT_VOCAB_MAX_TOKEN_BYTES)
        return moec_error(diag, "%s: a token longer than %d bytes (RT_VOCAB_MAX_TOKEN_BYTES)", ld->file,
                          RT_VOCAB_MAX_TOKEN_BYTES);
    if (ld->pool_len + n > ld->pool_cap) {
        size_t cap = ld->pool_cap ? ld->pool_cap * 2 : 1 << 20;
        while (cap < ld->pool_len + n) cap *= 2;
        unsigned char *p = realloc(ld->pool, cap);
        if (!p) return moec_error(diag, "%s: out of memory", ld->file);
        ld->pool = p;
        ld->pool_cap = cap;
    }
    *off = (uint32_t)ld->pool_len;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return moec_error(diag, "%s: a token is not valid UTF-8", ld->file);
        if (cp >= BYTE_ALPHABET || ld->cp_byte[cp] < 0)
            return moec_error(diag, "%s: token '%.*s' has character U+%04X, outside GPT-2's byte alphabet",
                              ld->file, (int)n, s, (unsigned)cp);
        ld->pool[ld->pool_len++] = (unsigned char)ld->cp_byte[cp];
        i += (size_t)k;
    }
    *len = (uint32_t)(ld->pool_len - *off);
    return 0;
}

/* Records token `s` with `id`. */
static int add_entry(loader *ld, const char *s, size_t n, json_int_t id, moec_diag *diag)
{
    if (id < 0 || id >= RT_VOCAB_MAX_IDS)
        return moec_error(diag, "%s: token '%.*s' has id %lld, outside 0..%d", ld->file, (int)n, s,
                          (long long)id, RT_VOCAB_MAX_IDS - 1);
    if (ld->n_ent == ld->cap_ent) {
        size_t cap = ld->cap_ent ? ld->cap_ent * 2 : 1 << 16;
        entry *e = realloc(ld->ent, cap * sizeof *e);
        if (!e) return moec_error(diag, "%s: out of memory", ld->file);
        ld->ent = e;
        ld->cap_ent = cap;
    }
    entry *e = &ld->ent[ld->n_ent];
    e->id = (uint32_t)id;
    if (unbyte(ld, s, n, &e->off, &e->len, diag) != 0) return -1;
    ld->n_ent++;
    return 0;
}

/* Reads a JSON object token -> id into the loader. */
static int add_object(loader *ld, json_t *obj, moec_diag *diag)
{
    if (!json_is_object(obj))
        return moec_error(diag, "%s: expected a JSON object mapping tokens to ids", ld->file);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!json_is_integer(val))
            return moec_error(diag, "%s: token '%s' has a non-integer id", ld->file, key);
        if (add_entry(ld, key, strlen(key), json_integer_value(val), diag) != 0) return -1;
    }
    return 0;
}

static uint32_t log2_cap(size_t need)
{
    uint32_t lg = 4;
    while ((UINT64_C(1) << lg) < 2 * (uint64_t)need) lg++;
    return lg;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
    return rt_vocab_hash64(h);
}

uint32_t rt_vocab_find(const rt_vocab *v, const void *bytes, size_t len)
{
    uint64_t mask = (UINT64_C(1) << (64 - v->sshift)) - 1;
    for (uint64_t i = hash_bytes(bytes, len) >> v->sshift;; i = (i + 1) & mask) {
        uint32_t s = v->sslot[i];
        if (s == 0) return RT_VOCAB_NONE;
        size_t n;
        const unsigned char *t = rt_vocab_token(v, s - 1, &n);
        if (n == len && memcmp(t, bytes, len) == 0) return s - 1;
    }
}

/* Inserts id into the string table; two ids with the same bytes are an error. */
static int sinsert(rt_vocab *v, uint32_t id, moec_diag *diag)
{
    size_t n;
    const unsigned char *t = rt_vocab_token(v, id, &n);
    uint64_t mask = (UINT64_C(1) << (64 - v->sshift)) - 1;
    for (uint64_t i = hash_bytes(t, n) >> v->sshift;; i = (i + 1) & mask) {
        uint32_t s = v->sslot[i];
        if (s == 0) {
            v->sslot[i] = id + 1;
            return 0;
        }
        size_t m;
        const unsigned char *u = rt_vocab_token(v, s - 1, &m);
        if (m == n && memcmp(u, t, n) == 0)
            return moec_error(diag, "%s: ids %u and %u are the same token", v->files[0], s - 1, id);
    }
}

/* Lays the loader's entries out by id: every id 0..max present exactly once. */
static int build_tokens(rt_vocab *v, loader *ld, moec_diag *diag)
{
    if (ld->n_ent == 0) return moec_error(diag, "%s: no tokens", ld->file);
    uint32_t max = 0;
    for (size_t i = 0; i < ld->n_ent; i++) max = ld->ent[i].id > max ? ld->ent[i].id : max;
    v->n_ids = max + 1;
    uint32_t *which = malloc((size_t)v->n_ids * sizeof *which);
    v->tok_off = malloc(((size_t)v->n_ids + 1) * sizeof *v->tok_off);
    v->bytes = malloc(ld->pool_len ? ld->pool_len : 1);
    if (!which || !v->tok_off || !v->bytes) {
        free(which);
        return moec_error(diag, "%s: out of memory", ld->file);
    }
    memset(which, 0xff, (size_t)v->n_ids * sizeof *which);
    for (size_t i = 0; i < ld->n_ent; i++) {
        uint32_t id = ld->ent[i].id;
        if (which[id] != UINT32_MAX) {
            entry *a = &ld->ent[which[id]], *b = &ld->ent[i];
            int same = a->len == b->len && memcmp(ld->pool + a->off, ld->pool + b->off, a->len) == 0;
            if (same) continue; /* an added token repeating its vocabulary entry */
            free(which);
            return moec_error(diag, "%s: id %u is given to two tokens", ld->file, id);
        }
        which[id] = (uint32_t)i;
    }
    uint32_t off = 0;
    for (uint32_t id = 0; id < v->n_ids; id++) {
        if (which[id] == UINT32_MAX) {
            free(which);
            return moec_error(diag, "%s: id %u has no token (ids must run 0..%u without gaps)", ld->file, id,
                              max);
        }
        entry *e = &ld->ent[which[id]];
        v->tok_off[id] = off;
        memcpy(v->bytes + off, ld->pool + e->off, e->len);
        off += e->len;
    }
    v->tok_off[v->n_ids] = off;
    free(which);
    return 0;
}

/* Builds the string table, the byte ids and the end-of-text id. */
static int build_index(rt_vocab *v, moec_diag *diag)
{
    uint32_t lg = log2_cap(v->n_ids);
    v->sshift = 64 - lg;
    v->sslot = calloc((size_t)1 << lg, sizeof *v->sslot);
    if (!v->sslot) return moec_error(diag, "%s: out of memory", v->files[0]);
    for (uint32_t id = 0; id < v->n_ids; id++)
        if (sinsert(v, id, diag) != 0) return -1;
    for (unsigned b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        v->byte_id[b] = rt_vocab_find(v, &c, 1);
        if (v->byte_id[b] == RT_VOCAB_NONE)
            return moec_error(diag, "%s: no token for byte 0x%02x (a byte-level vocabulary has all 256)",
                              v->files[0], b);
    }
    v->eos = rt_vocab_find(v, "<|endoftext|>", 13);
    return 0;
}

/* The merges, as read: spellings of left and right, and where they came from. */
typedef struct merge_src {
    const char *a, *b;
    size_t na, nb;
    size_t line; /* 1-based line in a merges file; 0 for tokenizer.json */
} merge_src;

static int merges_alloc(rt_vocab *v, size_t n, moec_diag *diag)
{
    uint32_t lg = log2_cap(n ? n : 1);
    v->mshift = 64 - lg;
    v->mkey = malloc(((size_t)1 << lg) * sizeof *v->mkey);
    v->mval = malloc(((size_t)1 << lg) * 2 * sizeof *v->mval);
    if (!v->mkey || !v->mval) return moec_error(diag, "out of memory for %zu merges", n);
    memset(v->mkey, 0xff, ((size_t)1 << lg) * sizeof *v->mkey);
    return 0;
}

/* Adds merge `m` with rank `rank`. A pair seen before keeps its first (lower) rank. */
static int add_merge(rt_vocab *v, loader *ld, const merge_src *m, uint32_t rank, moec_diag *diag)
{
    uint32_t oa, la, ob, lb;
    size_t mark = ld->pool_len;
    const char *where = v->files[1] ? v->files[1] : v->files[0];
    if (unbyte(ld, m->a, m->na, &oa, &la, diag) != 0 || unbyte(ld, m->b, m->nb, &ob, &lb, diag) != 0)
        return -1; /* unbyte named the file and the token */
    uint32_t left = rt_vocab_find(v, ld->pool + oa, la), right = rt_vocab_find(v, ld->pool + ob, lb);
    uint32_t merged = rt_vocab_find(v, ld->pool + oa, (size_t)la + lb); /* a and b are adjacent */
    ld->pool_len = mark;
    if (left == RT_VOCAB_NONE || right == RT_VOCAB_NONE || merged == RT_VOCAB_NONE)
        return moec_error(diag, "%s:%zu: merge '%.*s %.*s' names a token that is not in the vocabulary",
                          where, m->line, (int)m->na, m->a, (int)m->nb, m->b);
    uint64_t key = (uint64_t)left << 32 | right;
    uint64_t mask = (UINT64_C(1) << (64 - v->mshift)) - 1;
    uint64_t i = rt_vocab_hash64(key) >> v->mshift;
    while (v->mkey[i] != UINT64_MAX && v->mkey[i] != key) i = (i + 1) & mask;
    if (v->mkey[i] == key) return 0;
    v->mkey[i] = key;
    v->mval[2 * i] = rank;
    v->mval[2 * i + 1] = merged;
    return 0;
}

/* Splits one merges line "a b" (no other spaces). Returns 0, or -1 if malformed. */
static int split_merge_line(const char *s, size_t n, merge_src *m)
{
    const char *sp = memchr(s, ' ', n);
    if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\t' || s[i] == '\0') return -1;
    m->a = s;
    m->na = (size_t)(sp - s);
    m->b = sp + 1;
    m->nb = (size_t)(s + n - sp - 1);
    return 0;
}

static char *read_small_file(const char *path, size_t max, size_t *len, moec_diag *diag)
{
    char *buf;
    return moec_file_read_all(path, max, NULL, &buf, len, diag) == 0 ? buf : NULL;
}

/* Reads a merges file: an optional "#version" first line, then "a b" lines. */
static int load_merges_file(rt_vocab *v, loader *ld, const char *path, moec_diag *diag)
{
    size_t len;
    char *buf = read_small_file(path, MERGES_MAX_BYTES, &len, diag);
    if (!buf) return -1;
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++) n_lines += buf[i] == '\n';
    int rc = merges_alloc(v, n_lines, diag);
    uint32_t rank = 0;
    size_t line = 0;
    for (size_t i = 0; rc == 0 && i < len;) {
        char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - i;
        line++;
        if (n && buf[i + n - 1] == '\r') n--;
        merge_src m = {0};
        m.line = line;
        if (n == 0 || (line == 1 && n >= 8 && memcmp(buf + i, "#version", 8) == 0)) {
            /* blank lines and the version line carry no merge */
        } else if (split_merge_line(buf + i, n, &m) != 0) {
            rc = moec_error(diag, "%s:%zu: expected two tokens separated by one space, got '%.*s'", path,
                            line, (int)(n > 60 ? 60 : n), buf + i);
        } else {
            rc = add_merge(v, ld, &m, rank++, diag);
        }
        i = end + 1;
    }
    v->n_merges = rank;
    free(buf);
    return rc;
}

static json_t *load_json(const char *path, moec_diag *diag)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line <= 0) return moec_error(diag, "%s: %s", path, je.text), NULL;
        return moec_error(diag, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text), NULL;
    }
    return root;
}

static int set_files(rt_vocab *v, const char *a, const char *b, moec_diag *diag)
{
    memset(v, 0, sizeof *v);
    v->files[0] = strdup(a);
    v->files[1] = b ? strdup(b) : NULL;
    if (!v->files[0] || (b && !v->files[1])) return moec_error(diag, "out of memory");
    return 0;
}

int rt_vocab_load_pair(rt_vocab *v, const char *vocab_json, const char *merges_txt, moec_diag *diag)
{
    if (set_files(v, vocab_json, merges_txt, diag) != 0) return rt_vocab_free(v), -1;
    loader ld;
    loader_init(&ld, vocab_json);
    json_t *root = load_json(vocab_json, diag);
    int rc = root ? add_object(&ld, root, diag) : -1;
    json_decref(root);
    if (rc == 0) rc = build_tokens(v, &ld, diag);
    if (rc == 0) rc = build_index(v, diag);
    ld.file = merges_txt;
    if (rc == 0) rc = load_merges_file(v, &ld, merges_txt, diag);
    loader_free(&ld);
    if (rc != 0) rt_vocab_free(v);
    return rc;
}

/* Reads tokenizer.json's added_tokens (each {"id": N, "content": S}). */
static int add_added_tokens(loader *ld, json_t *arr, moec_diag *diag)
{
    if (!arr) return 0;
    if (!json_is_array(arr)) return moec_error(diag, "%s: added_tokens is not an array", ld->file);
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t) {
        json_t *id = json_object_get(t, "id"), *content = json_object_get(t, "content");
        if (!json_is_integer(id) || !json_is_string(content))
            return moec_error(diag, "%s: added_tokens[%zu] needs an integer id and a string content",
                              ld->file, i);
        if (add_entry(ld, json_string_value(content), json_string_length(content), json_integer_value(id),
                      diag) != 0)
            return -1;
    }
    return 0;
}

/* Reads tokenizer.json's model.merges: "a b" strings or ["a", "b"] pairs. */
static int add_hf_merges(rt_vocab *v, loader *ld, json_t *arr, moec_diag *diag)
{
    if (!json_is_array(arr)) return moec_error(diag, "%s: model.merges is not an array", ld->file);
    if (merges_alloc(v, json_array_size(arr), diag) != 0) return -1;
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        merge_src ms = {0};
        ms.line = i + 1;
        int ok = 0;
        if (json_is_string(m)) {
            ok = split_merge_line(json_string_value(m), json_string_length(m), &ms) == 0;
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            ms.a = json_string_value(json_array_get(m, 0));
            ms.na = json_string_length(json_array_get(m, 0));
            ms.b = json_string_value(json_array_get(m, 1));
            ms.nb = json_string_length(json_array_get(m, 1));
            ok = ms.na > 0 && ms.nb > 0;
        }
        if (!ok) return moec_error(diag, "%s: model.merges[%zu] is not \"a b\" or [\"a\", \"b\"]", ld->file, i);
        if (add_merge(v, ld, &ms, (uint32_t)i, diag) != 0) return -1;
    }
    v->n_merges = (uint32_t)json_array_size(arr);
    return 0;
}

int rt_vocab_load_hf(rt_vocab *v, const char *path, moec_diag *diag)
{
    if (set_files(v, path, NULL, diag) != 0) return rt_vocab_free(v), -1;
    loader ld;
    loader_init(&ld, path);
    json_t *root = load_json(path, diag);
    json_t *model = root ? json_object_get(root, "model") : NULL;
    int rc = root ? 0 : -1;
    if (rc == 0 && (!json_is_object(model) || !json_is_string(json_object_get(model, "type")) ||
                    strcmp(json_string_value(json_object_get(model, "type")), "BPE") != 0))
        rc = moec_error(diag, "%s: expected a tokenizer.json whose model.type is \"BPE\"", path);
    if (rc == 0) rc = add_object(&ld, json_object_get(model, "vocab"), diag);
    if (rc == 0) rc = add_added_tokens(&ld, json_object_get(root, "added_tokens"), diag);
    if (rc == 0) rc = build_tokens(v, &ld, diag);
    if (rc == 0) rc = build_index(v, diag);
    if (rc == 0) rc = add_hf_merges(v, &ld, json_object_get(model, "merges"), diag);
    json_decref(root);
    loader_free(&ld);
    if (rc != 0) rt_vocab_free(v);
    return rc;
}

static int exists(const char *dir, const char *name, char *out, size_t cap)
{
    struct stat st;
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap && stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

int rt_vocab_load(rt_vocab *v, const char *path, moec_diag *diag)
{
    struct stat st;
    memset(v, 0, sizeof *v);
    if (stat(path, &st) != 0) return moec_error(diag, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return rt_vocab_load_hf(v, path, diag);
    char a[4096], b[4096];
    if (exists(path, "encoder.json", a, sizeof a) && exists(path, "vocab.bpe", b, sizeof b))
        return rt_vocab_load_pair(v, a, b, diag);
    if (exists(path, "vocab.json", a, sizeof a) && exists(path, "merges.txt", b, sizeof b))
        return rt_vocab_load_pair(v, a, b, diag);
    if (exists(path, "tokenizer.json", a, sizeof a)) return rt_vocab_load_hf(v, a, diag);
    return moec_error(diag, "%s: no encoder.json + vocab.bpe, vocab.json + merges.txt or tokenizer.json there",
                      path);
}

void rt_vocab_free(rt_vocab *v)
{
    free(v->tok_off);
    free(v->bytes);
    free(v->mkey);
    free(v->mval);
    free(v->sslot);
    free(v->files[0]);
    free(v->files[1]);
    memset(v, 0, sizeof *v);
}
