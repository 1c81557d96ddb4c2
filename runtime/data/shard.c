/* runtime/data/shard.c -- llm.c token shard writer and checked reader (shard.h).
 * Writes through atomic.h; reads the whole file and validates it before handing
 * any token out, so the training loop never sees a token it cannot embed. */
#include "runtime/data/shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/data/atomic.h"

int rt_shard_write(const char *path, const uint16_t *tokens, size_t n, rt_data_err *err)
{
    if (n > RT_SHARD_MAX_TOKENS)
        return rt_data_errf(err, "%s: %zu tokens do not fit one shard (at most %d)", path, n, INT32_MAX);
    int32_t header[RT_SHARD_HEADER_INTS] = {0};
    header[0] = RT_SHARD_MAGIC;
    header[1] = RT_SHARD_VERSION;
    header[2] = (int32_t)n;
    rt_atomic_file af;
    if (rt_atomic_open(&af, path, err) != 0) return -1;
    if (fwrite(header, sizeof header, 1, af.f) != 1 || (n && fwrite(tokens, sizeof *tokens, n, af.f) != n)) {
        int e = errno;
        rt_atomic_abort(&af);
        return rt_data_errf(err, "%s: write failed: %s", path, strerror(e));
    }
    return rt_atomic_commit(&af, err);
}

/* Checks the header against the file's size; sets *n to the token count. */
static int check_header(const char *path, const int32_t *h, long long size, size_t *n, rt_data_err *err)
{
    if (h[0] != RT_SHARD_MAGIC)
        return rt_data_errf(err, "%s: not a token shard (magic %d, expected %d): build shards with 'moec data'",
                            path, h[0], RT_SHARD_MAGIC);
    if (h[1] != RT_SHARD_VERSION)
        return rt_data_errf(err, "%s: shard version %d, this moec reads version %d", path, h[1],
                            RT_SHARD_VERSION);
    if (h[2] < 0) return rt_data_errf(err, "%s: negative token count %d in the header", path, h[2]);
    long long want = RT_SHARD_HEADER_BYTES + 2LL * h[2];
    if (size < want)
        return rt_data_errf(err, "%s: short file: the header promises %d tokens (%lld bytes), the file has %lld",
                            path, h[2], want, size);
    if (size > want)
        return rt_data_errf(err, "%s: %lld bytes after the %d tokens the header promises", path, size - want,
                            h[2]);
    *n = (size_t)h[2];
    return 0;
}

static int check_tokens(const char *path, const uint16_t *t, size_t n, uint32_t vocab_size, rt_data_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= vocab_size)
            return rt_data_errf(err, "%s: token %zu is %u, outside the vocabulary of %u", path, i, t[i],
                                vocab_size);
    return 0;
}

int rt_shard_read(const char *path, uint32_t vocab_size, rt_shard *out, rt_data_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return rt_data_errf(err, "%s: %s", path, strerror(errno));
    struct stat st;
    int32_t h[RT_SHARD_HEADER_INTS];
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        rc = rt_data_errf(err, "%s: not a regular file", path);
    else if (st.st_size < RT_SHARD_HEADER_BYTES || fread(h, sizeof h, 1, f) != 1)
        rc = rt_data_errf(err, "%s: short file: %lld bytes, a shard's header alone is %d", path,
                          (long long)st.st_size, RT_SHARD_HEADER_BYTES);
    size_t n = 0;
    if (rc == 0) rc = check_header(path, h, (long long)st.st_size, &n, err);
    if (rc == 0 && !(out->tokens = malloc(n ? n * sizeof *out->tokens : 1)))
        rc = rt_data_errf(err, "%s: out of memory for %zu tokens", path, n);
    if (rc == 0 && n && fread(out->tokens, sizeof *out->tokens, n, f) != n)
        rc = rt_data_errf(err, "%s: short read", path);
    if (rc == 0) rc = check_tokens(path, out->tokens, n, vocab_size, err);
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
