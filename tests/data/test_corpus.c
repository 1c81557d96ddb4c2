/* tests/data/test_corpus.c -- domains and `moec data`'s build on the toy
 * vocabulary: the eval-split formula, separator splitting, the seeded shuffle,
 * sha256, and a build's shards, domains.json and manifest.json (block domains,
 * ranges, balancing, source and output hashes, stale shards removed). */
#include <jansson.h>

#include "runtime/data/build.h"
#include "runtime/data/corpus.h"
#include "runtime/data/dataset.h"
#include "runtime/data/shard.h"
#include "tests/data/helpers.h"
#include "tests/sink.h"
#include "tests/tap.h"

static void test_eval_count(void)
{
    static const size_t n[] = {0, 5, 9, 10, 50, 99, 100, 199, 200, 300, 1000, 10000};
    static const size_t want[] = {0, 0, 0, 1, 5, 9, 10, 10, 10, 15, 50, 500};
    for (size_t i = 0; i < sizeof n / sizeof *n; i++)
        tap_ok(rt_eval_count(n[i], 0.05) == want[i], "eval texts of %zu = min(max(10, 5%%), 10%%) = %zu (got %zu)",
               n[i], want[i], rt_eval_count(n[i], 0.05));
    tap_ok(rt_eval_count(100, 0.2) == 20, "a fraction above 10%% raises the cap with it");
    tap_ok(rt_eval_count(1000, 0) == 10 && rt_eval_count(50, 0) == 5, "fraction 0 still holds out 10, capped at 10%%");
}

typedef struct collected {
    char texts[8][32];
    int n;
} collected;

static int collect(void *ctx, const char *p, size_t n)
{
    collected *c = ctx;
    if (c->n < 8 && n < 32) memcpy(c->texts[c->n], p, n), c->texts[c->n][n] = '\0';
    c->n++;
    return 0;
}

static void expect_split(const char *buf, const char *sep, int n, const char *first, const char *last)
{
    collected c = {0};
    rt_split_texts(buf, strlen(buf), sep, collect, &c);
    int ok = c.n == n && (n == 0 || (strcmp(c.texts[0], first) == 0 && strcmp(c.texts[n - 1], last) == 0));
    tap_ok(ok, "split at '%s' gives %d texts (got %d)", sep ? sep : "(none)", n, c.n);
}

static void test_split(void)
{
    expect_split("a\n%\nb\n", "%", 2, "a\n", "b\n");
    expect_split("a\n%\nb", "%", 2, "a\n", "b");
    expect_split("%\n%\n%\n", "%", 0, "", "");
    expect_split("%\na\n%%\n% \nb\n%", "%", 1, "a\n%%\n% \nb\n", "a\n%%\n% \nb\n");
    expect_split("one\n%\n", NULL, 1, "one\n%\n", "one\n%\n");
    expect_split("", NULL, 0, "", "");
    expect_split("x\n@@\ny\n@@\nz\n", "@@", 3, "x\n", "z\n");
}

static void test_shuffle_sha(void)
{
    uint32_t a[100], b[100], seen[100] = {0};
    for (uint32_t i = 0; i < 100; i++) a[i] = b[i] = i;
    rt_shuffle_u32(a, 100, 42);
    rt_shuffle_u32(b, 100, 42);
    int same = memcmp(a, b, sizeof a) == 0, perm = 1, moved = 0;
    for (int i = 0; i < 100; i++) seen[a[i]]++, moved += a[i] != (uint32_t)i;
    for (int i = 0; i < 100; i++) perm &= seen[i] == 1;
    tap_ok(same && perm && moved > 50, "the shuffle is a seeded permutation");
    for (uint32_t i = 0; i < 100; i++) b[i] = i;
    rt_shuffle_u32(b, 100, 43);
    tap_ok(memcmp(a, b, sizeof a) != 0, "another seed, another order");
    char hex[65];
    moec_diag *err = sink();
    rt_sha256_hex("abc", 3, hex, err);
    tap_ok(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256('abc')");
}

/* Writes n texts of one letter each (domain d's letter), '%'-separated. */
static void write_domain(const char *path, char letter, int n)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 5 + i % 7; k++) fputc(letter, f);
        fputs("\n%\n", f);
    }
    fclose(f);
}

typedef struct fixture {
    char root[600], vocab[700], out[700], src[3][700];
    rt_vocab v;
} fixture;

static int build(fixture *fx, int balance, uint64_t shard_tokens, rt_data_summary *sum)
{
    static const char *names[] = {"code", "math", "prose"};
    rt_domain doms[3];
    moec_diag *err = sink();
    for (int d = 0; d < 3; d++)
        if (rt_domain_init(&doms[d], names[d], err) != 0 || rt_domain_add_path(&doms[d], fx->src[d], "%", err) != 0)
            return tap_diag("%s", sink_text(err)), -1;
    rt_data_opts o = {.out_dir = fx->out, .eval_fraction = 0.05, .seq = 8, .balance = balance, .seed = 7,
                      .shard_tokens = shard_tokens, .separator = "%"};
    int rc = rt_data_build(&fx->v, doms, 3, &o, sum, err);
    if (rc) tap_diag("build: %s", sink_text(err));
    for (int d = 0; d < 3; d++) rt_domain_free(&doms[d]);
    return rc;
}

/* Each block of the train shard holds only its domain's letter and EOS. */
static void check_blocks(fixture *fx, json_t *dom)
{
    char p[800];
    snprintf(p, sizeof p, "%s/train_000000.bin", fx->out);
    rt_shard s;
    moec_diag *err = sink();
    if (!tap_ok(rt_shard_read(p, fx->v.n_ids, &s, err) == 0, "train shard reads back (%s)", sink_text(err))) return;
    json_t *train = json_object_get(json_object_get(dom, "splits"), "train");
    json_t *blocks = json_object_get(train, "block_domains"), *ranges = json_object_get(train, "ranges");
    int ok = json_array_size(blocks) * 8 == s.n_tokens, dom_ok = 1;
    for (size_t b = 0; ok && b < json_array_size(blocks); b++) {
        uint16_t letter = (uint16_t)("xyz"[json_integer_value(json_array_get(blocks, b))]);
        for (size_t i = 0; i < 8; i++) dom_ok &= s.tokens[b * 8 + i] == letter || s.tokens[b * 8 + i] == '\n' || s.tokens[b * 8 + i] == TOY_EOS;
    }
    tap_ok(ok && dom_ok, "every block holds its domain's text (block_domains agrees with the shard)");
    json_int_t at = 0;
    size_t i;
    json_t *r;
    int cover = 1;
    json_array_foreach(ranges, i, r) {
        cover &= json_integer_value(json_array_get(r, 0)) == at;
        at = json_integer_value(json_array_get(r, 1));
    }
    tap_ok(cover && at == (json_int_t)s.n_tokens, "ranges cover the split's tokens, in order, without gaps");
    rt_shard_free(&s);
}

static json_t *load(fixture *fx, const char *name)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", fx->out, name);
    return json_load_file(p, 0, NULL);
}

static void check_manifest(fixture *fx)
{
    json_t *m = load(fx, "manifest.json");
    tap_ok(m && strcmp(json_string_value(json_object_get(m, "format")), "moec-data-manifest") == 0, "manifest.json");
    json_t *src = json_array_get(json_object_get(json_array_get(json_object_get(m, "domains"), 1), "sources"), 0);
    char hex[65];
    moec_diag *err = sink();
    rt_sha256_file(fx->src[1], hex, NULL, err);
    tap_ok(src && strcmp(json_string_value(json_object_get(src, "sha256")), hex) == 0 &&
               json_integer_value(json_object_get(src, "texts")) == 120,
           "the manifest names each source with its sha256 and text count");
    json_t *out = json_array_get(json_object_get(m, "outputs"), 0);
    char p[800];
    snprintf(p, sizeof p, "%s/%s", fx->out, json_string_value(json_object_get(out, "path")));
    rt_sha256_file(p, hex, NULL, err);
    tap_ok(strcmp(json_string_value(json_object_get(out, "sha256")), hex) == 0, "and each output with its sha256");
    json_t *tok = json_object_get(m, "tokenizer");
    tap_ok(json_integer_value(json_object_get(tok, "vocab_size")) == TOY_N &&
               json_array_size(json_object_get(tok, "files")) == 2,
           "and the tokenizer's files");
    json_decref(m);
}

/* The training side: rt_split_load reads a split back and refuses a directory
 * whose domains.json and shards disagree. */
static void check_loader(fixture *fx, const rt_data_summary *sum)
{
    rt_split_data sd;
    moec_diag *err = sink();
    int ok = rt_split_load(fx->out, "train", fx->v.n_ids, &sd, err) == 0;
    tap_ok(ok && sd.n_blocks == sum->train_blocks && sd.seq == 8 && sd.n_tokens == sd.n_blocks * 8 &&
               sd.n_domains == 3 && strcmp(sd.domains[1], "math") == 0,
           "rt_split_load reads the train split (%s)", sink_text(err));
    int dom_ok = ok;
    for (size_t b = 0; ok && b < sd.n_blocks; b++) dom_ok &= sd.tokens[b * 8] == "xyz"[sd.block_domain[b]] ||
                                                             sd.tokens[b * 8] == '\n' || sd.tokens[b * 8] == TOY_EOS;
    tap_ok(dom_ok, "with each block's domain");
    if (ok) rt_split_free(&sd);
    tap_ok(rt_split_load(fx->out, "eval", fx->v.n_ids, &sd, err) == 0 && sd.n_blocks == sum->eval_blocks,
           "and the eval split (%s)", sink_text(err));
    rt_split_free(&sd);
    tap_ok(rt_split_load(fx->out, "test", fx->v.n_ids, &sd, err) != 0 && strstr(sink_text(err), "no split 'test'"),
           "an unknown split is an error: %s", sink_text(err));
    tap_ok(rt_split_load(fx->out, "train", TOY_AB, &sd, err) != 0 && strstr(sink_text(err), "outside the vocabulary"),
           "a token >= the vocabulary is an error: %s", sink_text(err));
    char p[800];
    snprintf(p, sizeof p, "%s/domains.json", fx->out);
    json_t *root = json_load_file(p, 0, NULL);
    json_t *bd = json_object_get(json_object_get(json_object_get(root, "splits"), "train"), "block_domains");
    json_array_set_new(bd, 0, json_integer(9));
    json_dump_file(root, p, 0);
    tap_ok(rt_split_load(fx->out, "train", fx->v.n_ids, &sd, err) != 0 && strstr(sink_text(err), "names domain 9"),
           "a block naming an unknown domain is an error: %s", sink_text(err));
    json_array_set_new(bd, 0, json_integer(0));
    json_array_append_new(bd, json_integer(0));
    json_dump_file(root, p, 0);
    tap_ok(rt_split_load(fx->out, "train", fx->v.n_ids, &sd, err) != 0 && strstr(sink_text(err), "need"),
           "more blocks than the shards hold is an error: %s", sink_text(err));
    json_decref(root);
    snprintf(p, sizeof p, "%s/train_000000.bin", fx->out);
    unlink(p);
    tap_ok(rt_split_load(fx->out, "train", fx->v.n_ids, &sd, err) != 0 && strstr(sink_text(err), "No such file"),
           "a missing shard is an error: %s", sink_text(err));
}

static void test_build(fixture *fx)
{
    rt_data_summary sum;
    if (!tap_ok(build(fx, 1, 1000000, &sum) == 0, "balanced build")) return;
    tap_ok(sum.eval[0].texts == 4 && sum.eval[1].texts == 10 && sum.eval[2].texts == 2 &&
               sum.train[1].texts == 110,
           "eval texts per domain follow the formula (4, 10, 2 of 40, 120, 25)");
    tap_ok(sum.train[0].blocks == sum.train[1].blocks && sum.train[1].blocks == sum.train[2].blocks &&
               sum.train[0].blocks > 0,
           "balancing leaves every domain the smallest block count (%llu)", (unsigned long long)sum.train[0].blocks);
    tap_ok(sum.train[1].dropped > 0, "the larger domains' surplus is counted as dropped");
    json_t *dom = load(fx, "domains.json");
    tap_ok(dom && json_integer_value(json_object_get(dom, "seq")) == 8 &&
               json_array_size(json_object_get(dom, "domains")) == 3 &&
               strcmp(json_string_value(json_array_get(json_object_get(dom, "domains"), 2)), "prose") == 0,
           "domains.json names the domains in order");
    check_blocks(fx, dom);
    json_decref(dom);
    check_manifest(fx);
    check_loader(fx, &sum);
    rt_data_summary_free(&sum);
    tap_ok(build(fx, 0, 1000000, &sum) == 0 && sum.train[1].blocks > sum.train[0].blocks,
           "without --balance every domain keeps its blocks");
    rt_data_summary_free(&sum);
    tap_ok(build(fx, 0, 16, &sum) == 0 && sum.train_shards > 2, "a small --shard-tokens gives several shards");
    size_t many = sum.train_shards;
    rt_data_summary_free(&sum);
    char p[800];
    snprintf(p, sizeof p, "%s/train_%06zu.bin", fx->out, many - 1);
    tap_ok(access(p, F_OK) == 0, "the last of them exists");
    tap_ok(build(fx, 0, 1000000, &sum) == 0 && sum.train_shards == 1 && access(p, F_OK) != 0,
           "a rebuild removes shards it no longer writes");
    rt_data_summary_free(&sum);
}

int main(void)
{
    test_eval_count();
    test_split();
    test_shuffle_sha();
    fixture fx;
    char *root = scratch_dir();
    if (!tap_ok(root != NULL, "scratch directory")) return tap_done();
    snprintf(fx.root, sizeof fx.root, "%s", root);
    snprintf(fx.vocab, sizeof fx.vocab, "%s/vocab", root);
    snprintf(fx.out, sizeof fx.out, "%s/out/shards", root);
    mkdir(fx.vocab, 0777);
    write_toy_vocab(fx.vocab);
    static const int counts[3] = {40, 120, 25};
    for (int d = 0; d < 3; d++) {
        snprintf(fx.src[d], sizeof fx.src[d], "%s/%c.txt", root, "xyz"[d]);
        write_domain(fx.src[d], "xyz"[d], counts[d]);
    }
    moec_diag *err = sink();
    if (tap_ok(rt_vocab_load(&fx.v, fx.vocab, err) == 0, "toy vocabulary (%s)", sink_text(err))) {
        test_build(&fx);
        rt_vocab_free(&fx.v);
    }
    rm_rf(root);
    sink_close();
    return tap_done();
}
