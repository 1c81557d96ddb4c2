/* tests/data/test_shard.c -- llm.c shards: write/read round trip, and each bad
 * file (bad magic, bad version, short header, short tokens, trailing bytes,
 * token >= vocabulary) refused with a clear message; atomic writes leave no
 * temporary file and replace or keep the destination whole. */
#include <dirent.h>
#include <stdint.h>

#include "support/atomic.h"
#include "runtime/data/shard.h"
#include "tests/data/helpers.h"
#include "tests/sink.h"
#include "tests/tap.h"

static void test_round_trip(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/ok.bin", dir);
    for (size_t n = 0; n <= 1000; n += 500) {
        uint16_t *t = malloc((n + 1) * sizeof *t);
        for (size_t i = 0; i < n; i++) t[i] = (uint16_t)(i * 97 % 50257);
        moec_diag *err = sink();
        rt_shard s;
        int ok = rt_shard_write(p, t, n, err) == 0 && rt_shard_read(p, 50257, &s, err) == 0;
        ok = ok && s.n_tokens == n && (n == 0 || memcmp(s.tokens, t, n * sizeof *t) == 0);
        tap_ok(ok, "round trip of %zu tokens (%s)", n, sink_text(err));
        size_t len;
        char *raw = read_all(p, &len);
        int32_t h[3];
        memcpy(h, raw, sizeof h);
        tap_ok(len == 1024 + 2 * n && h[0] == 20240520 && h[1] == 1 && h[2] == (int32_t)n,
               "llm.c layout: 1024-byte header (magic, version, count), then uint16 tokens");
        free(raw);
        rt_shard_free(&s);
        free(t);
    }
}

/* Writes a file of `len` bytes: header h0,h1,h2 then `ntok` tokens of value tok. */
static void write_raw(const char *p, int32_t h0, int32_t h1, int32_t h2, size_t ntok, uint16_t tok, size_t len)
{
    size_t full = 1024 + 2 * ntok;
    unsigned char *buf = calloc(full > len ? full : len, 1);
    memcpy(buf, &h0, 4);
    memcpy(buf + 4, &h1, 4);
    memcpy(buf + 8, &h2, 4);
    for (size_t i = 0; i < ntok; i++) memcpy(buf + 1024 + 2 * i, &tok, 2);
    write_file(p, buf, len);
    free(buf);
}

static void expect_bad(const char *p, const char *what, const char *want)
{
    rt_shard s;
    moec_diag *err = sink();
    int rc = rt_shard_read(p, 50257, &s, err);
    tap_ok(rc != 0 && strstr(sink_text(err), want) && !s.tokens, "%s is refused mentioning '%s': %s", what, want, sink_text(err));
}

static void test_bad(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/bad.bin", dir);
    write_raw(p, 20240521, 1, 4, 4, 1, 1032);
    expect_bad(p, "bad magic", "not a token shard");
    write_raw(p, 20240520, 2, 4, 4, 1, 1032);
    expect_bad(p, "version 2", "version 2");
    write_raw(p, 20240520, 1, 4, 0, 1, 100);
    expect_bad(p, "a short header", "short file");
    write_raw(p, 20240520, 1, 4, 4, 1, 1030);
    expect_bad(p, "missing tokens", "short file");
    write_raw(p, 20240520, 1, 4, 4, 1, 1034);
    expect_bad(p, "trailing bytes", "after the 4 tokens");
    write_raw(p, 20240520, 1, -4, 0, 1, 1024);
    expect_bad(p, "a negative count", "negative");
    write_raw(p, 20240520, 1, 4, 4, 50257, 1032);
    expect_bad(p, "token 50257 with a vocabulary of 50257", "outside the vocabulary");
    write_raw(p, 20240520, 1, 4, 4, 50256, 1032);
    rt_shard s;
    moec_diag *err = sink();
    tap_ok(rt_shard_read(p, 50257, &s, err) == 0 && s.n_tokens == 4, "token 50256 is inside the vocabulary");
    rt_shard_free(&s);
    snprintf(p, sizeof p, "%s/missing.bin", dir);
    expect_bad(p, "a missing file", "No such file");
    expect_bad(dir, "a directory", "not a regular file");
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_atomic(const char *root)
{
    char dir[1024], p[1100];
    snprintf(dir, sizeof dir, "%s/atomic", root);
    mkdir(dir, 0777);
    snprintf(p, sizeof p, "%s/f.txt", dir);
    moec_diag *err = sink();
    tap_ok(moec_atomic_write(p, "old", 3, err) == 0, "atomic write");
    moec_atomic_file af;
    tap_ok(moec_atomic_open(&af, p, err) == 0, "atomic open");
    fputs("half-written", af.f);
    fflush(af.f);
    char *now = read_all(p, NULL);
    tap_ok(now && strcmp(now, "old") == 0 && count_entries(dir) == 2,
           "while writing, the destination is the old file and the new one is a temporary beside it");
    free(now);
    moec_atomic_abort(&af);
    now = read_all(p, NULL);
    tap_ok(now && strcmp(now, "old") == 0 && count_entries(dir) == 1, "abort keeps the old file, removes the temporary");
    free(now);
    tap_ok(moec_atomic_write(p, "new", 3, err) == 0, "atomic replace");
    now = read_all(p, NULL);
    tap_ok(now && strcmp(now, "new") == 0 && count_entries(dir) == 1, "commit replaces it whole, nothing left over");
    free(now);
    snprintf(p, sizeof p, "%s/no/such/dir/f.txt", dir);
    tap_ok(moec_atomic_write(p, "x", 1, err) != 0 && strstr(sink_text(err), "temporary"),
           "an unwritable place is an error: %s", sink_text(err));
}

int main(void)
{
    char *dir = scratch_dir();
    if (!tap_ok(dir != NULL, "scratch directory")) return tap_done();
    test_round_trip(dir);
    test_bad(dir);
    test_atomic(dir);
    rm_rf(dir);
    sink_close();
    return tap_done();
}
