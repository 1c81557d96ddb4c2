/* runtime/sample/sampler.h -- the sampling rule of `moec sample`: from one
 * position's logits [V] to the next token. Greedy takes the largest logit;
 * otherwise the logits are divided by the temperature, cut to the top-k
 * largest, turned into probabilities (softmax), cut to the smallest set of
 * most likely tokens whose probability reaches top-p (nucleus sampling), and
 * one token is drawn from what is left. The draw is a Philox number (ir/philox.h)
 * of (seed, the token's index in the generation): the same seed and logits
 * give the same tokens on every machine and run. doc/sampling.md has the rule
 * with its tie-breaking and the numbers it draws. No printing: errors go to
 * the sink. */
#ifndef MOEC_RUNTIME_SAMPLE_SAMPLER_H
#define MOEC_RUNTIME_SAMPLE_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

/* The Philox stream of sampling draws (other draws use the op or parameter
 * index as their stream; this one is far from those). */
enum { RT_SAMPLE_STREAM = 0x53414d50u /* "SAMP" */ };

/* The rule. Defaults (rt_sample_rule_default): temperature 1, top_k 0 (every
 * token), top_p 1 (no cut), not greedy. */
typedef struct rt_sample_rule {
    bool greedy;           /* argmax; the other fields are then unused */
    double temperature;    /* > 0, finite */
    int64_t top_k;         /* 0: no cut; else keep the k largest logits */
    double top_p;          /* in (0, 1]: keep the smallest most-likely set reaching it; 1: no cut */
} rt_sample_rule;

rt_sample_rule rt_sample_rule_default(void);

/* Checks the rule's values. Returns NULL when valid, else a sentence saying
 * which value is wrong and what is accepted (a literal). */
const char *rt_sample_rule_invalid(const rt_sample_rule *r);

/* One candidate token while the rule cuts: its scaled logit and id. */
typedef struct rt_sample_entry {
    double z;              /* logit / temperature */
    int32_t id;
} rt_sample_entry;

/* A sampler for vocabularies of `vocab` tokens: the rule, the seed and
 * scratch space (one per generation; not shared between threads). */
typedef struct rt_sampler {
    rt_sample_rule rule;
    uint64_t seed;
    int64_t vocab;
    double *probs;         /* [vocab] the last distribution rt_sampler_probs computed */
    rt_sample_entry *cand; /* [vocab] candidates, most likely first once sorted (scratch) */
} rt_sampler;

/* Returns 0, or -1 after reporting (an invalid rule, vocab < 1, out of memory). */
int rt_sampler_init(rt_sampler *s, const rt_sample_rule *rule, uint64_t seed, int64_t vocab, moec_diag *diag);
void rt_sampler_free(rt_sampler *s);

/* The distribution the rule makes of logits[vocab]: s->probs[i] is token i's
 * probability (0 outside the kept set; the kept ones sum to 1). Greedy gives
 * 1 at the largest logit (the lowest id among equal ones). Returns the number
 * of kept tokens, or -1 after reporting a logit that is not finite. */
int64_t rt_sampler_probs(rt_sampler *s, const float *logits, moec_diag *diag);

/* The uniform number in [0, 1) (53 random bits) that draws token number
 * `index` of a generation with `seed`. */
double rt_sampler_uniform(uint64_t seed, uint64_t index);

/* The token the rule picks from logits[vocab] as token number `index` of the
 * generation: greedy's argmax, or the first kept token i (in id order) whose
 * cumulative probability exceeds rt_sampler_uniform(seed, index). Returns the
 * id, or -1 after reporting (a non-finite logit). */
int64_t rt_sampler_pick(rt_sampler *s, const float *logits, uint64_t index, moec_diag *diag);

#endif
