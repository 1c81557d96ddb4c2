/* tests/train/test_batches.c -- the batches moec train reads
 * (runtime/train/batches.h) from a split made by hand: each sequence is one
 * block, its targets the next tokens inside that block, and the last
 * position of a sequence as long as its block has no target (-1) and is
 * left out of the losses, since the next block of a shuffled split is
 * unrelated text. */
#include <stdint.h>
#include <string.h>

#include "runtime/train/batches.h"
#include "tests/tap.h"

/* Three blocks of 4 tokens: 10 11 12 13 | 20 21 22 23 | 30 31 32 33; domains 0 1 0. */
static rt_split_data three_blocks(uint16_t *tokens, uint8_t *domain)
{
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 4; t++) tokens[b * 4 + t] = (uint16_t)(10 * (b + 1) + t);
    domain[0] = 0, domain[1] = 1, domain[2] = 0;
    return (rt_split_data){ .tokens = tokens, .n_tokens = 12, .seq = 4, .n_blocks = 3, .block_domain = domain };
}

static bool equal(const double *got, const double *want, int n)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) return false;
    return true;
}

int main(void)
{
    uint16_t tokens[12];
    uint8_t domain[3];
    rt_split_data split = three_blocks(tokens, domain);
    moec_diag diag;
    moec_diag_collect(&diag, 0);

    /* T = the block length: the last position of each sequence has no target. */
    rt_batch b;
    rt_batcher r;
    bool ok = rt_batch_alloc(&b, 2, 4, &diag) == 0;
    rt_batcher_init(&r, &split, 1, 0);
    if (ok) rt_batcher_next(&r, &b);
    const double toks[8] = { 20, 21, 22, 23, 30, 31, 32, 33 }, tgts[8] = { 21, 22, 23, -1, 31, 32, 33, -1 };
    const uint8_t valid[8] = { 1, 1, 1, 0, 1, 1, 1, 0 }, dom[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
    tap_ok(ok && equal(b.tokens, toks, 8) && equal(b.targets, tgts, 8), "T = block: blocks 1 and 2, last targets -1");
    tap_ok(ok && !memcmp(b.token_valid, valid, 8) && !memcmp(b.token_domain, dom, 8) && b.domain[0] == 1 &&
               b.domain[1] == 0,
           "T = block: the last positions predict nothing; domains per block");
    tap_ok(r.position == 2, "the position counts blocks read");
    /* The next batch wraps around the split: blocks 0 and 1. */
    if (ok) rt_batcher_next(&r, &b);
    tap_ok(ok && b.tokens[0] == 10 && b.targets[2] == 13 && b.targets[3] == -1 && b.tokens[4] == 20,
           "the reader wraps at the split's end");
    rt_batch_free(&b);

    /* T shorter than the block: every position predicts the next token of its block. */
    ok = rt_batch_alloc(&b, 1, 3, &diag) == 0;
    rt_batcher_init(&r, &split, 2, 0);
    if (ok) rt_batcher_next(&r, &b);
    const double toks3[3] = { 30, 31, 32 }, tgts3[3] = { 31, 32, 33 };
    tap_ok(ok && equal(b.tokens, toks3, 3) && equal(b.targets, tgts3, 3) && b.token_valid[0] && b.token_valid[1] &&
               b.token_valid[2],
           "T < block: targets inside the block, all positions predict");
    rt_batch_free(&b);
    moec_diag_free(&diag);
    return tap_done();
}
