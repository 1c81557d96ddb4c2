/* runtime/data/corpus.c -- reads a domain's files into texts (corpus.h).
 * Reads files and directories, keeps each file whole in memory with its
 * sha256; texts are slices of it. Also the eval-split formula, the seeded
 * shuffle and the sha256 helpers. */
#include "runtime/data/corpus.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/file.h"

int rt_domain_init(rt_domain *d, const char *name, moec_diag *diag)
{
    memset(d, 0, sizeof *d);
    d->name = strdup(name);
    return d->name ? 0 : moec_error(diag, "out of memory");
}

void rt_domain_free(rt_domain *d)
{
    for (size_t i = 0; i < d->n_src; i++) {
        free(d->src[i].path);
        free(d->src[i].data);
    }
    free(d->src);
    free(d->texts);
    free(d->name);
    memset(d, 0, sizeof *d);
}

int rt_split_texts(const char *buf, size_t len, const char *sep,
                   int (*fn)(void *ctx, const char *p, size_t n), void *ctx)
{
    if (!sep) return len ? fn(ctx, buf, len) : 0;
    size_t seplen = strlen(sep), start = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len; /* the line is buf[i..end) */
        size_t next = nl ? end + 1 : len;
        if (end - i == seplen && memcmp(buf + i, sep, seplen) == 0) {
            if (i > start && fn(ctx, buf + start, i - start) != 0) return -1;
            start = next;
        }
        i = next;
    }
    if (len > start) return fn(ctx, buf + start, len - start);
    return 0;
}

static int add_text(void *ctx, const char *p, size_t n)
{
    rt_domain *d = ctx;
    if (d->n_texts == d->cap_texts) {
        size_t cap = d->cap_texts ? d->cap_texts * 2 : 256;
        rt_text *t = realloc(d->texts, cap * sizeof *t);
        if (!t) return -1;
        d->texts = t;
        d->cap_texts = cap;
    }
    d->texts[d->n_texts++] = (rt_text){p, n};
    d->bytes += n;
    d->src[d->n_src - 1].n_texts++;
    return 0;
}

static char *read_file(const char *path, size_t *len, moec_diag *diag)
{
    char *buf;
    return moec_file_read_all(path, MOEC_FILE_NO_LIMIT, NULL, &buf, len, diag) == 0 ? buf : NULL;
}

static int add_file(rt_domain *d, const char *path, const char *sep, moec_diag *diag)
{
    if (d->n_src == d->cap_src) {
        size_t cap = d->cap_src ? d->cap_src * 2 : 64;
        rt_source *s = realloc(d->src, cap * sizeof *s);
        if (!s) return moec_error(diag, "out of memory");
        d->src = s;
        d->cap_src = cap;
    }
    rt_source *s = &d->src[d->n_src];
    memset(s, 0, sizeof *s);
    if (!(s->path = strdup(path))) return moec_error(diag, "out of memory");
    if (!(s->data = read_file(path, &s->bytes, diag))) return free(s->path), -1;
    d->n_src++;
    if (rt_sha256_hex(s->data, s->bytes, s->sha256, diag) != 0) return -1;
    if (rt_split_texts(s->data, s->bytes, sep, add_text, d) != 0) return moec_error(diag, "out of memory");
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name); /* bytes, not the locale: the same order everywhere */
}

static int add_dir(rt_domain *d, const char *dir, const char *sep, int depth, moec_diag *diag)
{
    if (depth > RT_CORPUS_MAX_DEPTH)
        return moec_error(diag, "%s: directories nested deeper than %d (RT_CORPUS_MAX_DEPTH)", dir,
                          RT_CORPUS_MAX_DEPTH);
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    if (n < 0) return moec_error(diag, "%s: %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (rc == 0 && ents[i]->d_name[0] != '.') {
            if (snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) >= (int)sizeof path)
                rc = moec_error(diag, "%s/%s: path too long", dir, ents[i]->d_name);
            else if (lstat(path, &st) != 0)
                rc = moec_error(diag, "%s: %s", path, strerror(errno));
            else if (S_ISDIR(st.st_mode))
                rc = add_dir(d, path, sep, depth + 1, diag);
            else if (S_ISREG(st.st_mode))
                rc = add_file(d, path, sep, diag);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int rt_domain_add_path(rt_domain *d, const char *path, const char *sep, moec_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0) return moec_error(diag, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return add_dir(d, path, sep, 0, diag);
    return add_file(d, path, sep, diag);
}

size_t rt_eval_count(size_t n, double f)
{
    double cap_frac = f > 0.10 ? f : 0.10;
    size_t want = (size_t)((double)n * f), cap = (size_t)((double)n * cap_frac);
    if (want < 10) want = 10;
    return want < cap ? want : cap;
}

uint64_t rt_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

void rt_shuffle_u32(uint32_t *idx, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = n; i > 1; i--) {
        /* rejection sampling keeps every permutation equally likely */
        uint64_t bound = (uint64_t)i, limit = UINT64_MAX - UINT64_MAX % bound, r;
        do r = rt_rng_next(&st); while (r >= limit);
        size_t j = (size_t)(r % bound);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

int rt_sha256_hex(const void *data, size_t len, char out[65], moec_diag *diag)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return moec_error(diag, "sha256 failed (libcrypto)");
    for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int rt_sha256_file(const char *path, char out[65], uint64_t *bytes, moec_diag *diag)
{
    size_t len;
    char *buf = read_file(path, &len, diag);
    if (!buf) return -1;
    int rc = rt_sha256_hex(buf, len, out, diag);
    free(buf);
    if (bytes) *bytes = len;
    return rc;
}
