/* runtime/sample/sampler.c -- the sampling rule (runtime/sample/sampler.h).
 * Candidates are ordered "more likely first": the larger scaled logit, and
 * the lower id between equal ones, so every cut is deterministic. top-k keeps
 * the k first through a min-heap of k candidates (V log k, not a full sort);
 * top-p sorts what is left. */
#include "runtime/sample/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/philox.h"

rt_sample_rule rt_sample_rule_default(void)
{
    return (rt_sample_rule){ .greedy = false, .temperature = 1.0, .top_k = 0, .top_p = 1.0 };
}

const char *rt_sample_rule_invalid(const rt_sample_rule *r)
{
    if (r->greedy) return NULL;
    if (!(isfinite(r->temperature) && r->temperature > 0))
        return "the temperature must be a number > 0 (use --greedy for the most likely token)";
    if (r->top_k < 0) return "top-k must be 0 (no cut) or a count of tokens >= 1";
    if (!(r->top_p > 0 && r->top_p <= 1)) return "top-p must be in (0, 1] (1: no cut)";
    return NULL;
}

int rt_sampler_init(rt_sampler *s, const rt_sample_rule *rule, uint64_t seed, int64_t vocab, moec_diag *diag)
{
    memset(s, 0, sizeof *s);
    const char *why = rt_sample_rule_invalid(rule);
    if (why) return moec_error(diag, "%s", why), -1;
    if (vocab < 1 || vocab > INT32_MAX) return moec_error(diag, "cannot sample from a vocabulary of %lld tokens", (long long)vocab), -1;
    s->rule = *rule;
    s->seed = seed;
    s->vocab = vocab;
    s->probs = malloc(sizeof *s->probs * (size_t)vocab);
    s->cand = malloc(sizeof *s->cand * (size_t)vocab);
    if (!s->probs || !s->cand) {
        rt_sampler_free(s);
        return moec_error(diag, "out of memory for a sampler over %lld tokens", (long long)vocab), -1;
    }
    return 0;
}

void rt_sampler_free(rt_sampler *s)
{
    free(s->probs);
    free(s->cand);
    memset(s, 0, sizeof *s);
}

/* a comes before b: more likely, or as likely with the lower id. */
static bool before(const rt_sample_entry *a, const rt_sample_entry *b)
{
    return a->z > b->z || (a->z == b->z && a->id < b->id);
}

static int cmp_entries(const void *pa, const void *pb)
{
    const rt_sample_entry *a = pa, *b = pb;
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* heap[0..n) is a min-heap by `before` (its root comes last of all); sifts i down. */
static void sift_down(rt_sample_entry *heap, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, last = i;
        if (l < n && before(&heap[last], &heap[l])) last = l;
        if (r < n && before(&heap[last], &heap[r])) last = r;
        if (last == i) return;
        rt_sample_entry t = heap[i];
        heap[i] = heap[last];
        heap[last] = t;
        i = last;
    }
}

/* Moves the k candidates that come first among c[0..n) to c[0..k), in
 * order. The first k form a heap whose root is the one that comes last; each
 * later candidate that comes before the root replaces it. */
static void keep_top_k(rt_sample_entry *c, int64_t n, int64_t k)
{
    for (int64_t i = k / 2; i-- > 0;) sift_down(c, k, i);
    for (int64_t i = k; i < n; i++) {
        if (!before(&c[i], &c[0])) continue;
        c[0] = c[i];
        sift_down(c, k, 0);
    }
    qsort(c, (size_t)k, sizeof *c, cmp_entries);
}

/* The finite check every path makes first: 0, or -1 after reporting. */
static int check_finite(const rt_sampler *s, const float *logits, moec_diag *diag)
{
    for (int64_t i = 0; i < s->vocab; i++)
        if (!isfinite(logits[i]))
            return moec_error(diag, "the model's logit of token %lld is %g: cannot sample (are the weights finite?)",
                              (long long)i, (double)logits[i]), -1;
    return 0;
}

int64_t rt_sampler_probs(rt_sampler *s, const float *logits, moec_diag *diag)
{
    const int64_t v = s->vocab;
    if (check_finite(s, logits, diag) < 0) return -1;
    memset(s->probs, 0, sizeof *s->probs * (size_t)v);
    if (s->rule.greedy) {
        int64_t best = 0;
        for (int64_t i = 1; i < v; i++)
            if (logits[i] > logits[best]) best = i;
        s->probs[best] = 1.0;
        return 1;
    }
    rt_sample_entry *c = s->cand;
    for (int64_t i = 0; i < v; i++) c[i] = (rt_sample_entry){ (double)logits[i] / s->rule.temperature, (int32_t)i };
    int64_t n = v;
    bool sorted = false;
    if (s->rule.top_k > 0 && s->rule.top_k < v) {
        keep_top_k(c, v, s->rule.top_k);
        n = s->rule.top_k;
        sorted = true;
    }
    if (s->rule.top_p < 1 && !sorted) {
        qsort(c, (size_t)n, sizeof *c, cmp_entries);
        sorted = true;
    }
    double max = c[0].z;
    for (int64_t i = 1; !sorted && i < n; i++)
        if (c[i].z > max) max = c[i].z;
    /* Weights exp(z - max) in candidate order; c[j].z now holds the weight. */
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += c[i].z = exp(c[i].z - max);
    if (s->rule.top_p < 1) {
        /* The smallest prefix (most likely first) whose mass reaches top_p. */
        double need = s->rule.top_p * sum, cum = 0;
        int64_t m = 0;
        while (m < n && cum < need) cum += c[m++].z;
        n = m;
        sum = cum;
    }
    for (int64_t i = 0; i < n; i++) s->probs[c[i].id] = c[i].z / sum;
    return n;
}

double rt_sampler_uniform(uint64_t seed, uint64_t index)
{
    uint32_t r[4];
    ir_philox_draw(seed, 0, RT_SAMPLE_STREAM, index, r);
    uint64_t bits = ((uint64_t)r[0] << 21) ^ (uint64_t)(r[1] >> 11);   /* 53 bits */
    return (double)bits * 0x1p-53;
}

int64_t rt_sampler_pick(rt_sampler *s, const float *logits, uint64_t index, moec_diag *diag)
{
    if (rt_sampler_probs(s, logits, diag) < 0) return -1;
    double total = 0;
    int64_t last = -1;
    for (int64_t i = 0; i < s->vocab; i++)
        if (s->probs[i] > 0) total += s->probs[i], last = i;
    if (s->rule.greedy) return last;
    /* u * total rather than u: the kept probabilities sum to 1 only up to rounding. */
    double target = rt_sampler_uniform(s->seed, index) * total, cum = 0;
    for (int64_t i = 0; i < s->vocab; i++) {
        if (s->probs[i] <= 0) continue;
        cum += s->probs[i];
        if (target < cum) return i;
    }
    return last;
}
