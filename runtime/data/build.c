/* runtime/data/build.c -- the `moec data` pipeline (build.h).
 * Reads domains (corpus.h), encodes (bpe.h), writes shards (shard.h) and the
 * two side files: domains.json (which domain every block and token range
 * belongs to) and manifest.json (sources, tokenizer and outputs with sha256),
 * the manifest last so that its presence means the build finished. */
#include "runtime/data/build.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "support/atomic.h"
#include "runtime/data/bpe.h"
#include "runtime/data/shard.h"

enum { TRAIN = 0, EVAL = 1, N_SPLITS = 2 };
static const char *const SPLIT_NAME[N_SPLITS] = {"train", "eval"};
/* Block order differs per split but both follow from the seed. */
static const uint64_t SPLIT_SALT[N_SPLITS] = {0x747261696eu, 0x6576616cu};

typedef struct tokvec {
    uint16_t *t;
    size_t n, cap;
} tokvec;

/* One block of one domain, in the order it is written. */
typedef struct block_ref {
    uint32_t dom, blk;
} block_ref;

/* The state of one build. */
typedef struct build {
    const rt_vocab *v;
    rt_domain *doms;
    size_t n;
    const rt_data_opts *o;
    tokvec (*tok)[N_SPLITS]; /* [n][split] encoded tokens */
    rt_data_summary *sum;
    json_t *outputs;         /* manifest "outputs" */
    json_t *shards[N_SPLITS];
    uint64_t done, total;    /* progress, in text bytes */
} build;

static int tokvec_append(tokvec *tv, const uint32_t *ids, size_t m, uint32_t eos)
{
    if (tv->n + m + 1 > tv->cap) {
        size_t cap = tv->cap ? tv->cap : 1 << 16;
        while (cap < tv->n + m + 1) cap *= 2;
        uint16_t *p = realloc(tv->t, cap * sizeof *p);
        if (!p) return -1;
        tv->t = p;
        tv->cap = cap;
    }
    for (size_t i = 0; i < m; i++) tv->t[tv->n++] = (uint16_t)ids[i]; /* n_ids <= 65536 was checked */
    tv->t[tv->n++] = (uint16_t)eos;
    return 0;
}

static void progress(build *b, size_t add)
{
    uint64_t before = b->done;
    b->done += add;
    /* about every MiB, and at the end */
    if (b->o->progress && (b->done >> 20 != before >> 20 || b->done == b->total))
        b->o->progress(b->o->progress_ctx, b->done, b->total);
}

/* Shuffles domain d's texts by the seed, holds the first rt_eval_count out
 * for eval, and encodes every text followed by EOS into its split. */
static int encode_domain(build *b, rt_bpe *bpe, size_t d, moec_diag *diag)
{
    const rt_domain *dom = &b->doms[d];
    uint32_t *order = malloc((dom->n_texts ? dom->n_texts : 1) * sizeof *order);
    if (!order) return moec_error(diag, "out of memory");
    for (size_t i = 0; i < dom->n_texts; i++) order[i] = (uint32_t)i;
    rt_shuffle_u32(order, dom->n_texts, b->o->seed);
    size_t n_eval = rt_eval_count(dom->n_texts, b->o->eval_fraction);
    rt_tokens ids = {0};
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < dom->n_texts; k++) {
        const rt_text *t = &dom->texts[order[k]];
        int s = k < n_eval ? EVAL : TRAIN;
        ids.n = 0;
        rc = rt_bpe_encode(bpe, t->p, t->len, &ids, diag);
        if (rc == 0 && tokvec_append(&b->tok[d][s], ids.ids, ids.n, b->v->eos) != 0)
            rc = moec_error(diag, "out of memory for the tokens of domain '%s'", dom->name);
        if (s == EVAL) b->sum->eval[d].texts++; else b->sum->train[d].texts++;
        progress(b, t->len);
    }
    rt_tokens_free(&ids);
    free(order);
    return rc;
}

/* Counts blocks per domain and split; balancing cuts train to the smallest. */
static void count_blocks(build *b)
{
    uint64_t min_train = UINT64_MAX;
    for (size_t d = 0; d < b->n; d++) {
        rt_split_stat *st[N_SPLITS] = {&b->sum->train[d], &b->sum->eval[d]};
        for (int s = 0; s < N_SPLITS; s++) {
            st[s]->tokens = b->tok[d][s].n;
            st[s]->blocks = b->tok[d][s].n / b->o->seq;
        }
        if (st[TRAIN]->blocks < min_train) min_train = st[TRAIN]->blocks;
    }
    for (size_t d = 0; d < b->n; d++) {
        if (b->o->balance) b->sum->train[d].blocks = min_train;
        b->sum->train[d].dropped = b->sum->train[d].tokens - b->sum->train[d].blocks * b->o->seq;
        b->sum->eval[d].dropped = b->sum->eval[d].tokens - b->sum->eval[d].blocks * b->o->seq;
    }
}

/* Every block of split s, domain by domain, then shuffled by the seed. */
static block_ref *block_order(build *b, int s, uint64_t *n_out)
{
    uint64_t n = 0;
    for (size_t d = 0; d < b->n; d++) n += s == TRAIN ? b->sum->train[d].blocks : b->sum->eval[d].blocks;
    block_ref *refs = malloc((n ? n : 1) * sizeof *refs);
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!refs || !idx || n > UINT32_MAX) {
        free(refs);
        free(idx);
        return NULL;
    }
    uint64_t k = 0;
    for (size_t d = 0; d < b->n; d++) {
        uint64_t nb = s == TRAIN ? b->sum->train[d].blocks : b->sum->eval[d].blocks;
        for (uint64_t i = 0; i < nb; i++, k++) idx[k] = (uint32_t)k, refs[k] = (block_ref){(uint32_t)d, (uint32_t)i};
    }
    rt_shuffle_u32(idx, n, b->o->seed ^ SPLIT_SALT[s]);
    block_ref *out = malloc((n ? n : 1) * sizeof *out);
    if (out)
        for (uint64_t i = 0; i < n; i++) out[i] = refs[idx[i]];
    free(refs);
    free(idx);
    *n_out = n;
    return out;
}

static int join_path(char *out, size_t cap, const char *dir, const char *name, moec_diag *diag)
{
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap) return moec_error(diag, "%s/%s: path too long", dir, name);
    return 0;
}

/* Records a written file in the manifest's outputs, with its sha256. */
static int note_output(build *b, const char *name, uint64_t tokens, moec_diag *diag)
{
    char path[4096], hex[65];
    uint64_t bytes;
    if (join_path(path, sizeof path, b->o->out_dir, name, diag) != 0) return -1;
    if (rt_sha256_file(path, hex, &bytes, diag) != 0) return -1;
    json_t *o = json_pack("{s:s, s:I, s:s}", "path", name, "bytes", (json_int_t)bytes, "sha256", hex);
    if (!o) return moec_error(diag, "out of memory");
    if (tokens != UINT64_MAX) json_object_set_new(o, "tokens", json_integer((json_int_t)tokens));
    json_array_append_new(b->outputs, o);
    return 0;
}

/* Writes split s's blocks in `order` as shards of at most shard_tokens tokens
 * (whole blocks; an empty split still gets one empty shard). */
static int write_shards(build *b, int s, const block_ref *order, uint64_t n, moec_diag *diag)
{
    uint64_t seq = b->o->seq, per = b->o->shard_tokens / seq;
    if (per == 0) per = 1;
    if (per * seq > RT_SHARD_MAX_TOKENS) per = RT_SHARD_MAX_TOKENS / seq;
    uint64_t n_shards = n ? (n + per - 1) / per : 1;
    uint16_t *buf = malloc((size_t)((n < per ? n : per) * seq + 1) * sizeof *buf);
    if (!buf) return moec_error(diag, "out of memory");
    int rc = 0;
    for (uint64_t shard = 0; rc == 0 && shard < n_shards; shard++) {
        uint64_t first = shard * per, last = first + per < n ? first + per : n;
        for (uint64_t i = first; i < last; i++)
            memcpy(buf + (i - first) * seq, b->tok[order[i].dom][s].t + (uint64_t)order[i].blk * seq,
                   seq * sizeof *buf);
        char name[64], path[4096];
        snprintf(name, sizeof name, "%s_%06u.bin", SPLIT_NAME[s], (unsigned)shard);
        uint64_t ntok = (last - first) * seq;
        rc = join_path(path, sizeof path, b->o->out_dir, name, diag);
        if (rc == 0) rc = rt_shard_write(path, buf, (size_t)ntok, diag);
        if (rc == 0) rc = note_output(b, name, ntok, diag);
        if (rc == 0)
            json_array_append_new(b->shards[s], json_pack("{s:s, s:I}", "path", name, "tokens", (json_int_t)ntok));
    }
    free(buf);
    if (s == TRAIN) b->sum->train_shards = (size_t)n_shards; else b->sum->eval_shards = (size_t)n_shards;
    return rc;
}

/* Removes shards of an earlier build that this one did not write. */
static void remove_stale(build *b)
{
    DIR *dir = opendir(b->o->out_dir);
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        for (int s = 0; s < N_SPLITS; s++) {
            char want[64];
            unsigned idx;
            size_t have = s == TRAIN ? b->sum->train_shards : b->sum->eval_shards;
            if (sscanf(e->d_name, s == TRAIN ? "train_%6u.bin" : "eval_%6u.bin", &idx) != 1 || idx < have) continue;
            snprintf(want, sizeof want, "%s_%06u.bin", SPLIT_NAME[s], idx);
            char path[4096];
            if (strcmp(want, e->d_name) == 0 && snprintf(path, sizeof path, "%s/%s", b->o->out_dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
    }
    closedir(dir);
}

/* [start, end, domain] token ranges over the split, adjacent blocks of one
 * domain joined, and the domain of every block. */
static json_t *split_json(build *b, int s, const block_ref *order, uint64_t n)
{
    json_t *ranges = json_array(), *blocks = json_array();
    uint64_t seq = b->o->seq;
    for (uint64_t i = 0; i < n; i++) {
        json_array_append_new(blocks, json_integer(order[i].dom));
        size_t nr = json_array_size(ranges);
        json_t *last = nr ? json_array_get(ranges, nr - 1) : NULL;
        if (last && (uint32_t)json_integer_value(json_array_get(last, 2)) == order[i].dom)
            json_array_set_new(last, 1, json_integer((json_int_t)((i + 1) * seq)));
        else
            json_array_append_new(ranges, json_pack("[I, I, i]", (json_int_t)(i * seq), (json_int_t)((i + 1) * seq),
                                                    (int)order[i].dom));
    }
    return json_pack("{s:O, s:I, s:I, s:o, s:o}", "shards", b->shards[s], "tokens", (json_int_t)(n * seq),
                     "blocks", (json_int_t)n, "block_domains", blocks, "ranges", ranges);
}

static json_t *stat_json(const rt_split_stat *st)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "texts", (json_int_t)st->texts, "tokens", (json_int_t)st->tokens,
                     "blocks", (json_int_t)st->blocks, "dropped_tokens", (json_int_t)st->dropped);
}

static int write_json(build *b, const char *name, json_t *root, size_t flags, moec_diag *diag)
{
    char path[4096];
    if (!root) return moec_error(diag, "out of memory building %s", name);
    char *text = json_dumps(root, flags | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return moec_error(diag, "out of memory building %s", name);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the NUL; a file ends with a newline */
    int rc = join_path(path, sizeof path, b->o->out_dir, name, diag);
    if (rc == 0) rc = moec_atomic_write(path, text, len + 1, diag);
    free(text);
    return rc;
}

static int write_domains(build *b, const block_ref *ord[N_SPLITS], const uint64_t n[N_SPLITS], moec_diag *diag)
{
    json_t *names = json_array(), *per = json_object();
    for (size_t d = 0; d < b->n; d++) {
        json_array_append_new(names, json_string(b->doms[d].name));
        json_object_set_new(per, b->doms[d].name,
                            json_pack("{s:o, s:o}", "train", stat_json(&b->sum->train[d]), "eval",
                                      stat_json(&b->sum->eval[d])));
    }
    json_t *root = json_pack("{s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:{s:o, s:o}}", "format", "moec-domains",
                             "version", 1, "seq", (int)b->o->seq, "vocab_size", (int)b->v->n_ids, "eos",
                             (int)b->v->eos, "domains", names, "per_domain", per, "splits", "train",
                             split_json(b, TRAIN, ord[TRAIN], n[TRAIN]), "eval", split_json(b, EVAL, ord[EVAL], n[EVAL]));
    /* compact: one entry per block would make thousands of indented lines */
    int rc = write_json(b, "domains.json", root, JSON_COMPACT, diag);
    return rc == 0 ? note_output(b, "domains.json", UINT64_MAX, diag) : -1;
}

static json_t *tokenizer_json(build *b, moec_diag *diag)
{
    json_t *files = json_array();
    for (int i = 0; i < 2 && b->v->files[i]; i++) {
        char hex[65];
        uint64_t bytes;
        if (rt_sha256_file(b->v->files[i], hex, &bytes, diag) != 0) return json_decref(files), NULL;
        json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", b->v->files[i], "bytes",
                                               (json_int_t)bytes, "sha256", hex));
    }
    return json_pack("{s:s, s:i, s:i, s:i, s:o}", "type", "gpt2-byte-level-bpe", "vocab_size", (int)b->v->n_ids,
                     "merges", (int)b->v->n_merges, "eos", (int)b->v->eos, "files", files);
}

static int write_manifest(build *b, moec_diag *diag)
{
    json_t *doms = json_array();
    for (size_t d = 0; d < b->n; d++) {
        json_t *srcs = json_array();
        for (size_t i = 0; i < b->doms[d].n_src; i++) {
            const rt_source *s = &b->doms[d].src[i];
            json_array_append_new(srcs, json_pack("{s:s, s:I, s:s, s:I}", "path", s->path, "bytes", (json_int_t)s->bytes,
                                                  "sha256", s->sha256, "texts", (json_int_t)s->n_texts));
        }
        json_array_append_new(doms, json_pack("{s:s, s:I, s:I, s:o}", "name", b->doms[d].name, "texts",
                                               (json_int_t)b->doms[d].n_texts, "bytes",
                                               (json_int_t)b->doms[d].bytes, "sources", srcs));
    }
    json_t *tok = tokenizer_json(b, diag);
    if (!tok) return json_decref(doms), -1;
    json_t *opts = json_pack("{s:i, s:f, s:b, s:I, s:I, s:s?}", "seq", (int)b->o->seq, "eval_fraction",
                             b->o->eval_fraction, "balance", b->o->balance, "seed", (json_int_t)b->o->seed,
                             "shard_tokens", (json_int_t)b->o->shard_tokens, "separator", b->o->separator);
    json_t *root = json_pack("{s:s, s:i, s:s, s:s?, s:o, s:o, s:o, s:O}", "format", "moec-data-manifest",
                             "version", 1, "created_by", "moec " PACKAGE_VERSION, "command", b->o->command,
                             "tokenizer", tok, "options", opts, "domains", doms, "outputs", b->outputs);
    return write_json(b, "manifest.json", root, JSON_INDENT(1), diag);
}

static int mkdir_p(const char *dir, moec_diag *diag)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return moec_error(diag, "%s: path too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return moec_error(diag, "%s: %s", path, strerror(errno));
        *p = c;
        if (c == '\0') break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return moec_error(diag, "%s: not a directory", dir);
    return 0;
}

static int check_inputs(const rt_vocab *v, rt_domain *doms, size_t n, const rt_data_opts *o, moec_diag *diag)
{
    if (n == 0) return moec_error(diag, "no domains given (NAME=PATH...)");
    if (v->n_ids > RT_SHARD_MAX_VOCAB)
        return moec_error(diag, "a vocabulary of %u tokens does not fit uint16 shards", v->n_ids);
    if (v->eos == RT_VOCAB_NONE) return moec_error(diag, "the vocabulary has no <|endoftext|> token");
    if (o->seq < 2) return moec_error(diag, "--seq %u: a block needs at least 2 tokens", o->seq);
    if (!(o->eval_fraction >= 0 && o->eval_fraction < 1))
        return moec_error(diag, "--eval-fraction %g: expected 0 <= F < 1", o->eval_fraction);
    for (size_t d = 0; d < n; d++) {
        if (doms[d].n_texts == 0) return moec_error(diag, "domain '%s' has no texts", doms[d].name);
        if (doms[d].n_texts > UINT32_MAX) return moec_error(diag, "domain '%s' has too many texts", doms[d].name);
        for (size_t e = 0; e < d; e++)
            if (strcmp(doms[d].name, doms[e].name) == 0) return moec_error(diag, "domain '%s' given twice", doms[d].name);
    }
    return 0;
}

static int run(build *b, moec_diag *diag)
{
    rt_bpe bpe;
    if (rt_bpe_init(&bpe, b->v, diag) != 0) return -1;
    int rc = 0;
    for (size_t d = 0; rc == 0 && d < b->n; d++) rc = encode_domain(b, &bpe, d, diag);
    rt_bpe_free(&bpe);
    if (rc != 0) return -1;
    count_blocks(b);
    const block_ref *ord[N_SPLITS] = {0};
    uint64_t n[N_SPLITS] = {0};
    for (int s = 0; rc == 0 && s < N_SPLITS; s++)
        if (!(ord[s] = block_order(b, s, &n[s]))) rc = moec_error(diag, "out of memory ordering blocks");
    if (rc == 0) rc = mkdir_p(b->o->out_dir, diag);
    for (int s = 0; rc == 0 && s < N_SPLITS; s++) rc = write_shards(b, s, ord[s], n[s], diag);
    if (rc == 0) remove_stale(b);
    if (rc == 0) rc = write_domains(b, ord, n, diag);
    if (rc == 0) rc = write_manifest(b, diag);
    b->sum->train_blocks = n[TRAIN];
    b->sum->eval_blocks = n[EVAL];
    free((void *)ord[TRAIN]);
    free((void *)ord[EVAL]);
    return rc;
}

int rt_data_build(const rt_vocab *v, rt_domain *doms, size_t n, const rt_data_opts *o, rt_data_summary *sum,
                  moec_diag *diag)
{
    memset(sum, 0, sizeof *sum);
    if (check_inputs(v, doms, n, o, diag) != 0) return -1;
    build b = {.v = v, .doms = doms, .n = n, .o = o, .sum = sum};
    sum->n_domains = n;
    sum->train = calloc(n, sizeof *sum->train);
    sum->eval = calloc(n, sizeof *sum->eval);
    b.tok = calloc(n, sizeof *b.tok);
    b.outputs = json_array();
    b.shards[TRAIN] = json_array();
    b.shards[EVAL] = json_array();
    for (size_t d = 0; d < n; d++) b.total += doms[d].bytes;
    int rc = sum->train && sum->eval && b.tok && b.outputs && b.shards[0] && b.shards[1]
                 ? run(&b, diag)
                 : moec_error(diag, "out of memory");
    for (size_t d = 0; b.tok && d < n; d++) free(b.tok[d][TRAIN].t), free(b.tok[d][EVAL].t);
    free(b.tok);
    json_decref(b.outputs);
    json_decref(b.shards[TRAIN]);
    json_decref(b.shards[EVAL]);
    if (rc != 0) rt_data_summary_free(sum);
    return rc;
}

void rt_data_summary_free(rt_data_summary *s)
{
    free(s->train);
    free(s->eval);
    memset(s, 0, sizeof *s);
}
