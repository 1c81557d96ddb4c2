/* tests/data/test_vocab.c -- vocabulary loading and BPE merge order, on the toy
 * vocabulary of helpers.h (so every expected id is worked out by hand), and
 * every kind of corrupt vocabulary file: each must be a clear error. */
#include "runtime/data/bpe.h"
#include "runtime/data/vocab.h"
#include "tests/data/helpers.h"
#include "tests/sink.h"
#include "tests/tap.h"

/* Encodes text with v and compares with the expected ids. */
static void expect_ids(const rt_vocab *v, const char *text, const uint32_t *want, size_t n)
{
    rt_bpe b;
    rt_tokens t = {0};
    moec_diag *err = sink();
    int ok = rt_bpe_init(&b, v, err) == 0 && rt_bpe_encode(&b, text, strlen(text), &t, err) == 0 && t.n == n;
    for (size_t i = 0; ok && i < n; i++) ok = t.ids[i] == want[i];
    tap_ok(ok, "toy encode '%s'", text);
    if (!ok)
        for (size_t i = 0; i < t.n; i++) tap_diag("got id %u", t.ids[i]);
    rt_tokens_free(&t);
    rt_bpe_free(&b);
}

static void test_toy(const char *dir)
{
    rt_vocab v;
    moec_diag *err = sink();
    if (!tap_ok(rt_vocab_load(&v, dir, err) == 0, "toy vocabulary loads (%s)", sink_text(err))) return;
    tap_ok(v.n_ids == TOY_N && v.n_merges == 6 && v.eos == TOY_EOS, "toy: %u ids, %u merges, eos %u", v.n_ids,
           v.n_merges, v.eos);
    tap_ok(v.byte_id['a'] == 'a' && v.byte_id[0] == 0 && v.byte_id[255] == 255, "toy: byte tokens");
    tap_ok(rt_vocab_find(&v, " a", 2) == TOY_SPACE_A, "toy: 'Ġa' is the bytes ' a'");
    expect_ids(&v, "abc", (uint32_t[]){TOY_ABC}, 1);                  /* a b (0), then ab c (1) */
    expect_ids(&v, "bcab", (uint32_t[]){TOY_BC, TOY_AB}, 2);          /* a b (0) before b c (2) */
    expect_ids(&v, "aaa", (uint32_t[]){TOY_AA, 'a'}, 2);              /* left to right, no overlap */
    expect_ids(&v, "aaaa", (uint32_t[]){TOY_AAAA}, 1);
    expect_ids(&v, "x abc", (uint32_t[]){'x', ' ', TOY_ABC}, 3); /* a b (0) before Ġ a (5) */
    expect_ids(&v, "x a", (uint32_t[]){'x', TOY_SPACE_A}, 2);
    expect_ids(&v, "<|endoftext|>", (uint32_t[]){'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'}, 13);
    char *out;
    size_t len;
    uint32_t ids[] = {TOY_ABC, ' ', TOY_AAAA, 0xff};
    tap_ok(rt_bpe_decode(&v, ids, 4, &out, &len, err) == 0 && len == 9 && memcmp(out, "abc aaaa\xff", 9) == 0,
           "toy decode");
    if (len) free(out);
    uint32_t bad[] = {TOY_N};
    tap_ok(rt_bpe_decode(&v, bad, 1, &out, &len, err) != 0 && strstr(sink_text(err), "outside the vocabulary"),
           "decoding an id past the vocabulary is an error: %s", sink_text(err));
    rt_vocab_free(&v);
}

/* Writes encoder.json and vocab.bpe into dir and expects loading to fail with `want` in the message. */
static void expect_bad(const char *dir, const char *what, const char *json, const char *merges, const char *want)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/encoder.json", dir);
    write_file(p, json, strlen(json));
    snprintf(p, sizeof p, "%s/vocab.bpe", dir);
    write_file(p, merges, strlen(merges));
    rt_vocab v;
    moec_diag *err = sink();
    int rc = rt_vocab_load(&v, dir, err);
    tap_ok(rc != 0 && strstr(sink_text(err), want), "%s is an error mentioning '%s': %s", what, want, sink_text(err));
    if (rc == 0) rt_vocab_free(&v);
}

static void test_corrupt(const char *good, const char *dir)
{
    char p[1024];
    size_t len;
    snprintf(p, sizeof p, "%s/encoder.json", good);
    char *json = read_all(p, &len);
    char *cut = strndup(json, len / 2);
    expect_bad(dir, "truncated encoder.json", cut, TOY_MERGES, "not valid JSON");
    expect_bad(dir, "a merges line with three fields", json, "#version: 0.2\na b c\n", "vocab.bpe:2: expected two");
    expect_bad(dir, "a merges line with two spaces", json, "a  b\n", "vocab.bpe:1: expected two");
    expect_bad(dir, "a merges line of one token", json, "a b\nabc\n", "vocab.bpe:2: expected two");
    expect_bad(dir, "a merge whose result is not a token", json, "a z\n", "not in the vocabulary");
    expect_bad(dir, "a merge of an unknown token", json, "a b\nq zz\n", "not in the vocabulary");
    expect_bad(dir, "an id out of range", "{\"a\": -1}", "", "outside");
    expect_bad(dir, "a non-integer id", "{\"a\": \"1\"}", "", "non-integer id");
    expect_bad(dir, "a JSON array", "[1, 2]", "", "expected a JSON object");
    expect_bad(dir, "a gap in the ids", "{\"a\": 0, \"b\": 2}", "", "id 1 has no token");
    expect_bad(dir, "two tokens with one id", "{\"a\": 0, \"b\": 0}", "", "two tokens");
    expect_bad(dir, "a missing byte token", "{\"a\": 0, \"b\": 1}", "", "no token for byte");
    expect_bad(dir, "a character outside the byte alphabet", "{\"\xe4\xbd\xa0\": 0}", "", "outside GPT-2's byte alphabet");
    expect_bad(dir, "duplicate keys", "{\"a\": 0, \"a\": 1}", "", "duplicate");
    expect_bad(dir, "an empty file", "", "", "not valid JSON");
    free(cut);
    free(json);
    rt_vocab v;
    moec_diag *err = sink();
    snprintf(p, sizeof p, "%s/nowhere", dir);
    tap_ok(rt_vocab_load(&v, p, err) != 0 && strstr(sink_text(err), "No such file"), "a missing path: %s", sink_text(err));
    snprintf(p, sizeof p, "%s/empty", dir);
    mkdir(p, 0777);
    tap_ok(rt_vocab_load(&v, p, err) != 0 && strstr(sink_text(err), "no encoder.json"), "an empty directory: %s", sink_text(err));
}

/* The same toy vocabulary as a Hugging Face tokenizer.json and as vocab.json + merges.txt. */
static void test_hf(const char *good, const char *dir)
{
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/encoder.json", good);
    char *json = read_all(p, NULL);
    size_t n = strlen(json) + 4096;
    char *tj = malloc(n);
    json[strlen(json) - 2] = '\0'; /* drop "}\n": the vocabulary object stays open */
    snprintf(tj, n, "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": %d, \"content\": \"<|endoftext|>\"}],"
                    " \"model\": {\"type\": \"BPE\", \"vocab\": %s}, \"merges\": [\"a b\", [\"ab\", \"c\"], \"b c\","
                    " \"a a\", \"aa aa\", \"\xc4\xa0 a\"]}}\n", TOY_EOS, json);
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    write_file(p, tj, strlen(tj));
    rt_vocab v;
    moec_diag *err = sink();
    int ok = rt_vocab_load(&v, p, err) == 0;
    tap_ok(ok && v.n_ids == TOY_N && v.n_merges == 6 && v.eos == TOY_EOS, "tokenizer.json loads (%s)", sink_text(err));
    if (ok) {
        expect_ids(&v, "bcab", (uint32_t[]){TOY_BC, TOY_AB}, 2);
        rt_vocab_free(&v);
    }
    char *wp = strstr(tj, "\"BPE\"");
    memcpy(wp, "\"WPC\"", 5);
    write_file(p, tj, strlen(tj));
    tap_ok(rt_vocab_load(&v, p, err) != 0 && strstr(sink_text(err), "model.type"), "a non-BPE tokenizer.json: %s", sink_text(err));
    unlink(p);
    snprintf(p, sizeof p, "%s/encoder.json", good);
    snprintf(q, sizeof q, "%s/vocab.json", dir);
    char *enc = read_all(p, &n);
    write_file(q, enc, n);
    snprintf(q, sizeof q, "%s/merges.txt", dir);
    write_file(q, TOY_MERGES, strlen(TOY_MERGES));
    ok = rt_vocab_load(&v, dir, err) == 0;
    tap_ok(ok && v.n_merges == 6 && strstr(v.files[1], "merges.txt"), "vocab.json + merges.txt load (%s)", sink_text(err));
    if (ok) rt_vocab_free(&v);
    free(enc);
    free(tj);
    free(json);
}

int main(void)
{
    char *root = scratch_dir(), good[600], bad[600], hf[600];
    if (!tap_ok(root != NULL, "scratch directory")) return tap_done();
    snprintf(good, sizeof good, "%s/good", root);
    snprintf(bad, sizeof bad, "%s/bad", root);
    snprintf(hf, sizeof hf, "%s/hf", root);
    mkdir(good, 0777);
    mkdir(bad, 0777);
    mkdir(hf, 0777);
    tap_ok(write_toy_vocab(good) == 0, "toy vocabulary written");
    test_toy(good);
    test_corrupt(good, bad);
    test_hf(good, hf);
    rm_rf(root);
    sink_close();
    return tap_done();
}
