/* runtime/data/corpus.h -- a domain's texts: read from files and directories,
 * split into texts (one per file, or at separator lines), hashed (sha256, for
 * the manifest), and divided into train and eval by text, before any packing.
 * Also the seeded generator that every shuffle of the data pipeline uses. */
#ifndef MOEC_RUNTIME_DATA_CORPUS_H
#define MOEC_RUNTIME_DATA_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

enum { RT_CORPUS_MAX_DEPTH = 32 }; /* directory nesting followed at most */

typedef struct rt_source {
    char *path;        /* as found (the argument, or argument/relative/path) */
    char *data;        /* the whole file; texts point into it */
    size_t bytes;
    char sha256[65];   /* lower-case hex of the file's bytes */
    uint32_t n_texts;  /* texts this file gave */
} rt_source;

typedef struct rt_text {
    const char *p; /* into a source's data */
    size_t len;    /* > 0 */
} rt_text;

typedef struct rt_domain {
    char *name;
    rt_source *src;
    size_t n_src, cap_src;
    rt_text *texts;
    size_t n_texts, cap_texts;
    uint64_t bytes; /* of all texts */
} rt_domain;

int rt_domain_init(rt_domain *d, const char *name, moec_diag *diag);
/* Adds a file, or every regular file under a directory (sorted by name, hidden
 * names and symbolic links inside directories skipped). With `separator`
 * non-NULL, a line equal to it ends a text (fortune files use "%"); without,
 * each file is one text. Empty texts are dropped. */
int rt_domain_add_path(rt_domain *d, const char *path, const char *separator, moec_diag *diag);
void rt_domain_free(rt_domain *d);

/* Splits buf into texts at lines equal to sep, calling fn for each non-empty
 * text (lines keep their newlines; the separator line is dropped). */
int rt_split_texts(const char *buf, size_t len, const char *sep,
                   int (*fn)(void *ctx, const char *p, size_t n), void *ctx);

/* Texts held out for evaluation, as moe-emergence does (doc/data.md):
 * min(max(10, ⌊f·n⌋), ⌊c·n⌋) with the cap c = max(0.10, f), so the default
 * f = 0.05 gives exactly min(max(10, 5%), 10%). Small domains (n < 10) hold
 * out ⌊c·n⌋, often 0. */
size_t rt_eval_count(size_t n_texts, double fraction);

/* splitmix64: the pipeline's one generator; state is the caller's. */
uint64_t rt_rng_next(uint64_t *state);
/* Fisher-Yates shuffle of idx[0..n) with a generator seeded by `seed`. */
void rt_shuffle_u32(uint32_t *idx, size_t n, uint64_t seed);

/* sha256 of data as 64 lower-case hex digits plus NUL (libcrypto). */
int rt_sha256_hex(const void *data, size_t len, char out[65], moec_diag *diag);
/* sha256 of a file's content. */
int rt_sha256_file(const char *path, char out[65], uint64_t *bytes, moec_diag *diag);

#endif
