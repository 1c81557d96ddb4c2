/* runtime/data/shard.c -- llm.c token shard writer and checked reader (shard.h).
 * Writes through atomic.h; reads the whole file and validates it before handing
 * any token out, so the training loop never sees a token it cannot embed. */
#include "runtime/data/shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/atomic.h"
#include "support/file.h"

int rt_shard_write(const char *path, const uint16_t *tokens, size_t n, moec_diag *diag)
{
    if (n > RT_SHARD_MAX_TOKENS)
        return moec_error(diag, "%s: %zu tokens do not fit one shard (at most %d)", path, n, INT32_MAX);
    int32_t header[RT_SHARD_HEADER_INTS] = {0};
    header[0] = RT_SHARD_MAGIC;
    header[1] = RT_SHARD_VERSION;
    header[2] = (int32_t)n;
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, diag) != 0) return -1;
    if (fwrite(header, sizeof header, 1, af.f) != 1 || (n && fwrite(tokens, sizeof *tokens, n, af.f) != n)) {
        int e = errno;
        moec_atomic_abort(&af);
        return moec_error(diag, "%s: write failed: %s", path, strerror(e));
    }
    return moec_atomic_commit(&af, diag);
}

/* Checks the header against the file's size; sets *n to the token count. */
static int check_header(const char *path, const int32_t *h, long long size, size_t *n, moec_diag *diag)
{
    if (h[0] != RT_SHARD_MAGIC)
        return moec_error(diag, "%s: not a token shard (magic %d, expected %d): build shards with 'moec data'",
                          path, h[0], RT_SHARD_MAGIC);
    if (h[1] != RT_SHARD_VERSION)
        return moec_error(diag, "%s: shard version %d, this moec reads version %d", path, h[1],
                          RT_SHARD_VERSION);
    if (h[2] < 0) return moec_error(diag, "%s: negative token count %d in the header", path, h[2]);
    long long want = RT_SHARD_HEADER_BYTES + 2LL * h[2];
    if (size < want)
        return moec_error(diag, "%s: short file: the header promises %d tokens (%lld bytes), the file has %lld",
                          path, h[2], want, size);
    if (size > want)
        return moec_error(diag, "%s: %lld bytes after the %d tokens the header promises", path, size - want,
                          h[2]);
    *n = (size_t)h[2];
    return 0;
}

static int check_tokens(const char *path, const uint16_t *t, size_t n, uint32_t vocab_size, moec_diag *diag)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= vocab_size)
            return moec_error(diag, "%s: token %zu is %u, outside the vocabulary of %u", path, i, t[i],
                              vocab_size);
    return 0;
}

int rt_shard_read(const char *path, uint32_t vocab_size, rt_shard *out, moec_diag *diag)
{
    memset(out, 0, sizeof *out);
    FILE *f = moec_file_open(path, "rb", "build token shards with 'moec data'", diag);
    if (!f) return -1;
    struct stat st;
    int32_t h[RT_SHARD_HEADER_INTS];
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        rc = moec_error(diag, "%s: not a regular file", path);
    else if (st.st_size < RT_SHARD_HEADER_BYTES || fread(h, sizeof h, 1, f) != 1)
        rc = moec_error(diag, "%s: short file: %lld bytes, a shard's header alone is %d", path,
                        (long long)st.st_size, RT_SHARD_HEADER_BYTES);
    size_t n = 0;
    if (rc == 0) rc = check_header(path, h, (long long)st.st_size, &n, diag);
    if (rc == 0 && !(out->tokens = malloc(n ? n * sizeof *out->tokens : 1)))
        rc = moec_error(diag, "%s: out of memory for %zu tokens", path, n);
    if (rc == 0 && n && fread(out->tokens, sizeof *out->tokens, n, f) != n)
        rc = moec_error(diag, "%s: short read", path);
    if (rc == 0) rc = check_tokens(path, out->tokens, n, vocab_size, diag);
    fclose(f);
    if (rc != 0) {
        rt_shard_free(out);
        return -1;
    }
    out->n_tokens = n;
    return 0;
}

void rt_shard_free(rt_shard *s)
{
    free(s->tokens);
    memset(s, 0, sizeof *s);
}
