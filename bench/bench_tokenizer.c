/* bench/bench_tokenizer.c -- GPT-2 encode speed on one core, in MB/s.
 * Reads text files (the demo corpus by default: make bench), encodes each one
 * whole with a fresh encoder per run (so the merge cache starts cold, as in
 * `moec data`), takes the best of N runs, and prints MB/s and tokens/s.
 * Usage: bench_tokenizer [--vocab DIR] [--runs N] FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/data/bpe.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) free(buf), buf = NULL;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Encodes buf once with a cold cache; returns seconds, sets *tokens. */
static double encode_once(const rt_vocab *v, const char *buf, size_t len, size_t *tokens)
{
    rt_bpe b;
    rt_tokens t = {0};
    moec_diag err;
    moec_diag_init(&err, stderr, 0);
    err.prefix = "bench_tokenizer: ";
    if (rt_bpe_init(&b, v, &err) != 0) return -1;
    double t0 = now();
    int rc = rt_bpe_encode(&b, buf, len, &t, &err);
    double s = now() - t0;
    *tokens = t.n;
    rt_tokens_free(&t);
    rt_bpe_free(&b);
    return rc == 0 ? s : -1;
}

int main(int argc, char **argv)
{
    const char *vocab = "data/gpt2";
    int runs = 3, first = 1;
    for (; first < argc && argv[first][0] == '-'; first += 2) {
        if (first + 1 >= argc) break;
        if (strcmp(argv[first], "--vocab") == 0) vocab = argv[first + 1];
        else if (strcmp(argv[first], "--runs") == 0) runs = atoi(argv[first + 1]);
    }
    if (first >= argc || runs < 1) {
        fprintf(stderr, "usage: bench_tokenizer [--vocab DIR] [--runs N] FILE...\n");
        return 2;
    }
    rt_vocab v;
    moec_diag err;
    moec_diag_init(&err, stderr, 0);
    err.prefix = "bench_tokenizer: ";
    if (rt_vocab_load(&v, vocab, &err) != 0) {
        fprintf(stderr, "bench_tokenizer: run scripts/setup-data to install the GPT-2 vocabulary\n");
        return 1;
    }
    double all_bytes = 0, all_s = 0, all_tok = 0;
    printf("%-36s %10s %10s %9s %12s\n", "file", "MB", "tokens", "MB/s", "tokens/s");
    for (int i = first; i < argc; i++) {
        size_t len, tokens = 0;
        char *buf = slurp(argv[i], &len);
        if (!buf) return fprintf(stderr, "bench_tokenizer: cannot read %s\n", argv[i]), 1;
        double best = 1e30;
        for (int r = 0; r < runs; r++) {
            double s = encode_once(&v, buf, len, &tokens);
            if (s >= 0 && s < best) best = s;
        }
        printf("%-36s %10.2f %10zu %9.1f %12.0f\n", argv[i], len / 1e6, tokens, len / 1e6 / best, tokens / best);
        all_bytes += (double)len, all_s += best, all_tok += (double)tokens;
        free(buf);
    }
    printf("%-36s %10.2f %10.0f %9.1f %12.0f\n", "all", all_bytes / 1e6, all_tok, all_bytes / 1e6 / all_s,
           all_tok / all_s);
    rt_vocab_free(&v);
    return 0;
}
