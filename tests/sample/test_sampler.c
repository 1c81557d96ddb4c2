/* tests/sample/test_sampler.c -- the sampling rule (runtime/sample/sampler.h):
 * hand cases for temperature, top-k, top-p and greedy on fixed logits; fresh
 * random logits against a reference written straight from the definitions
 * (a token's rank by counting, the mass before it by summing: O(V^2), no
 * sorting); the draws follow the distribution and are a pure function of
 * (seed, index); bad rules and non-finite logits are refused. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/philox.h"
#include "runtime/sample/sampler.h"
#include "tests/tap.h"

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* A sampler over n tokens with the given rule; aborts the test on failure. */
static bool make(rt_sampler *s, rt_sample_rule r, int64_t n, uint64_t seed)
{
    return rt_sampler_init(s, &r, seed, n, NULL) == 0;
}

static rt_sample_rule rule(double t, int64_t k, double p)
{
    return (rt_sample_rule){ .greedy = false, .temperature = t, .top_k = k, .top_p = p };
}

static void hand_cases(void)
{
    rt_sampler s;
    /* Temperature 2 on logits (0, ln 4): weights 1 and 2. */
    float two[2] = { 0.0f, (float)log(4.0) };
    if (make(&s, rule(2.0, 0, 1.0), 2, 1)) {
        int64_t n = rt_sampler_probs(&s, two, NULL);
        tap_ok(n == 2 && near(s.probs[0], 1.0 / 3, 1e-7) && near(s.probs[1], 2.0 / 3, 1e-7),
               "temperature 2 on (0, ln 4) gives (1/3, 2/3): got (%g, %g)", s.probs[0], s.probs[1]);
        rt_sampler_free(&s);
    }
    /* Temperature 0.5 sharpens: (0, ln 2) -> weights 1 and 4. */
    float sharp[2] = { 0.0f, (float)log(2.0) };
    if (make(&s, rule(0.5, 0, 1.0), 2, 1)) {
        rt_sampler_probs(&s, sharp, NULL);
        tap_ok(near(s.probs[0], 0.2, 1e-7) && near(s.probs[1], 0.8, 1e-7), "temperature 0.5 on (0, ln 2) gives (0.2, 0.8)");
        rt_sampler_free(&s);
    }
    /* top-k 2 of (1, 4, 2, 3): ids 1 and 3, softmax of (4, 3). */
    float four[4] = { 1, 4, 2, 3 };
    if (make(&s, rule(1.0, 2, 1.0), 4, 1)) {
        int64_t n = rt_sampler_probs(&s, four, NULL);
        double e = exp(-1.0);
        tap_ok(n == 2 && s.probs[0] == 0 && s.probs[2] == 0 && near(s.probs[1], 1 / (1 + e), 1e-12) &&
                   near(s.probs[3], e / (1 + e), 1e-12),
               "top-k 2 keeps the two largest logits, renormalised");
        rt_sampler_free(&s);
    }
    /* top-k ties: (5, 5, 5, 1) with k 2 keeps the lower ids 0 and 1. */
    float ties[4] = { 5, 5, 5, 1 };
    if (make(&s, rule(1.0, 2, 1.0), 4, 1)) {
        rt_sampler_probs(&s, ties, NULL);
        tap_ok(s.probs[0] == 0.5 && s.probs[1] == 0.5 && s.probs[2] == 0 && s.probs[3] == 0,
               "top-k among equal logits keeps the lower ids");
        rt_sampler_free(&s);
    }
    /* top-k >= V is no cut. */
    if (make(&s, rule(1.0, 9, 1.0), 4, 1)) {
        tap_ok(rt_sampler_probs(&s, four, NULL) == 4, "top-k larger than the vocabulary keeps every token");
        rt_sampler_free(&s);
    }
    /* top-p on probabilities (0.1, 0.2, 0.3, 0.4): 0.35 keeps {3}, 0.45 keeps {3, 2},
     * 0.75 keeps {3, 2, 1}, 1 keeps all. */
    float pl[4];
    for (int i = 0; i < 4; i++) pl[i] = (float)log(0.1 * (i + 1));
    const double ps[4] = { 0.35, 0.45, 0.75, 1.0 };
    for (int c = 0; c < 4; c++) {
        if (!make(&s, rule(1.0, 0, ps[c]), 4, 1)) continue;
        int64_t n = rt_sampler_probs(&s, pl, NULL);
        double kept = 0;
        for (int i = 3; i > 3 - (c + 1); i--) kept += 0.1 * (i + 1);
        bool ok = n == c + 1;
        for (int i = 0; i < 4; i++) {
            double want = i > 3 - (c + 1) ? 0.1 * (i + 1) / kept : 0.0;
            ok = ok && near(s.probs[i], want, 1e-6);
        }
        tap_ok(ok, "top-p %.2f on (0.1, 0.2, 0.3, 0.4) keeps the %d most likely, renormalised (kept %lld)", ps[c], c + 1,
               (long long)n);
        rt_sampler_free(&s);
    }
    /* top-k then top-p: k 3 of (0.1 .. 0.4) leaves (0.2, 0.3, 0.4)/0.9; p 0.5 needs 0.4/0.9 + 0.3/0.9. */
    if (make(&s, rule(1.0, 3, 0.5), 4, 1)) {
        int64_t n = rt_sampler_probs(&s, pl, NULL);
        tap_ok(n == 2 && s.probs[0] == 0 && s.probs[1] == 0 && near(s.probs[2], 3.0 / 7, 1e-6) && near(s.probs[3], 4.0 / 7, 1e-6),
               "top-k 3 then top-p 0.5: the mass is measured after the top-k cut");
        rt_sampler_free(&s);
    }
    /* A tiny top-p still keeps the most likely token. */
    if (make(&s, rule(1.0, 0, 1e-9), 4, 1)) {
        tap_ok(rt_sampler_probs(&s, pl, NULL) == 1 && s.probs[3] == 1.0, "a tiny top-p keeps the most likely token");
        rt_sampler_free(&s);
    }
    /* Greedy: the largest logit, the lowest id among equal ones, whatever the seed. */
    rt_sample_rule g = { .greedy = true };
    float gl[5] = { -1, 7, 3, 7, 2 };
    bool all = true;
    for (uint64_t seed = 0; seed < 5; seed++) {
        if (!make(&s, g, 5, seed)) continue;
        for (uint64_t i = 0; i < 20; i++) all = all && rt_sampler_pick(&s, gl, i, NULL) == 1;
        rt_sampler_free(&s);
    }
    tap_ok(all, "greedy picks the largest logit, the lowest id among ties, for every seed and index");
    /* One kept token is always the one picked. */
    if (make(&s, rule(1.0, 1, 1.0), 4, 3)) {
        bool one = true;
        for (uint64_t i = 0; i < 50; i++) one = one && rt_sampler_pick(&s, four, i, NULL) == 1;
        tap_ok(one, "top-k 1 always picks the largest logit");
        rt_sampler_free(&s);
    }
}

static void bad_rules(void)
{
    const rt_sample_rule bad[] = { rule(0.0, 0, 1.0), rule(-1.0, 0, 1.0), rule(NAN, 0, 1.0), rule(INFINITY, 0, 1.0),
                                   rule(1.0, -1, 1.0), rule(1.0, 0, 0.0), rule(1.0, 0, 1.5), rule(1.0, 0, NAN) };
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rt_sampler s;
        if (rt_sample_rule_invalid(&bad[i]) && rt_sampler_init(&s, &bad[i], 0, 4, NULL) < 0) refused++;
    }
    tap_ok(refused == (int)(sizeof bad / sizeof bad[0]), "bad temperatures, top-k and top-p are refused (%d)", refused);
    rt_sample_rule d = rt_sample_rule_default();
    tap_ok(!rt_sample_rule_invalid(&d) && d.temperature == 1.0 && d.top_k == 0 && d.top_p == 1.0 && !d.greedy,
           "the default rule: temperature 1, no top-k, no top-p");
    rt_sampler s;
    tap_ok(rt_sampler_init(&s, &d, 0, 0, NULL) < 0, "an empty vocabulary is refused");
    if (make(&s, d, 3, 0)) {
        float nanl[3] = { 0, NAN, 1 }, infl[3] = { 0, 1, INFINITY };
        moec_diag diag;
        bool said = moec_diag_collect(&diag, 0) == 0 && rt_sampler_pick(&s, nanl, 0, &diag) == -1 &&
                    strstr(moec_diag_text(&diag), "token 1") != NULL;
        moec_diag_free(&diag);
        tap_ok(said, "a NaN logit is an error naming the token");
        tap_ok(rt_sampler_pick(&s, infl, 0, NULL) == -1, "an infinite logit is an error");
        rt_sampler_free(&s);
    }
}

/* ---- random logits against the reference ---- */

/* The reference: probabilities straight from the definitions. */
static void reference(const float *logits, int64_t v, rt_sample_rule r, double *p, bool *unsure)
{
    double *z = malloc(sizeof *z * (size_t)v), *w = malloc(sizeof *w * (size_t)v);
    bool *keep = malloc(sizeof *keep * (size_t)v);
    if (!z || !w || !keep) abort();
    *unsure = false;
    for (int64_t i = 0; i < v; i++) z[i] = (double)logits[i] / r.temperature;
    /* top-k: i is kept when fewer than k tokens come before it. */
    for (int64_t i = 0; i < v; i++) {
        int64_t rank = 0;
        for (int64_t j = 0; j < v; j++) rank += z[j] > z[i] || (z[j] == z[i] && j < i);
        keep[i] = r.top_k == 0 || rank < r.top_k;
    }
    double max = -INFINITY, sum = 0;
    for (int64_t i = 0; i < v; i++)
        if (keep[i] && z[i] > max) max = z[i];
    for (int64_t i = 0; i < v; i++) sum += w[i] = keep[i] ? exp(z[i] - max) : 0;
    /* top-p: i is kept when the mass of the tokens before it is below p. */
    bool *nucleus = malloc(sizeof *nucleus * (size_t)v);
    if (!nucleus) abort();
    for (int64_t i = 0; i < v; i++) {
        double before = 0;
        for (int64_t j = 0; j < v; j++)
            if (keep[j] && (z[j] > z[i] || (z[j] == z[i] && j < i))) before += w[j] / sum;
        nucleus[i] = keep[i] && before < r.top_p;
        if (keep[i] && fabs(before - r.top_p) < 1e-9) *unsure = true;   /* on the boundary: rounding decides */
    }
    double kept = 0;
    for (int64_t i = 0; i < v; i++) kept += nucleus[i] ? w[i] : 0;
    for (int64_t i = 0; i < v; i++) p[i] = nucleus[i] ? w[i] / kept : 0;
    free(nucleus);
    free(z);
    free(w);
    free(keep);
}

static void random_cases(void)
{
    enum { V = 300, CASES = 60 };
    float logits[V];
    double ref[V];
    int agree = 0, done = 0;
    for (int c = 0; c < CASES; c++) {
        /* Logits from Philox normals, scaled per case; some cases have many ties. */
        double scale = 0.5 + 4.0 * ir_philox_uniform(7, 0, 1, (uint64_t)c);
        for (int i = 0; i < V; i++) {
            double x = scale * ir_philox_normal(7, 1, 2, (uint64_t)(c * V + i));
            logits[i] = c % 5 == 4 ? (float)round(x) : (float)x;
        }
        rt_sample_rule r = rule(0.3 + 2.0 * ir_philox_uniform(7, 0, 3, (uint64_t)c),
                                c % 3 == 0 ? 0 : 1 + (int64_t)(ir_philox_uniform(7, 0, 4, (uint64_t)c) * V * 1.2),
                                c % 4 == 0 ? 1.0 : 0.05 + 0.95 * ir_philox_uniform(7, 0, 5, (uint64_t)c));
        bool unsure;
        reference(logits, V, r, ref, &unsure);
        if (unsure) continue;
        rt_sampler s;
        if (!make(&s, r, V, 1)) continue;
        done++;
        int64_t n = rt_sampler_probs(&s, logits, NULL);
        bool same = n > 0;
        int64_t nref = 0;
        for (int i = 0; i < V; i++) {
            nref += ref[i] > 0;
            same = same && near(s.probs[i], ref[i], 1e-9) && (s.probs[i] > 0) == (ref[i] > 0);
        }
        same = same && nref == n;
        if (!same)
            tap_diag("case %d: T %g k %lld p %g: kept %lld, reference %lld", c, r.temperature, (long long)r.top_k, r.top_p,
                     (long long)n, (long long)nref);
        agree += same;
        rt_sampler_free(&s);
    }
    tap_ok(done >= CASES - 3 && agree == done, "%d of %d random cases (V %d) match the reference", agree, done, V);
}

/* Drawn tokens follow the probabilities: N draws, each count within 5 sigma. */
static void draws(void)
{
    enum { V = 6, N = 60000 };
    float logits[V] = { 0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -3.0f };
    rt_sampler s;
    if (!make(&s, rule(1.3, 4, 0.95), V, 42)) return;
    int64_t kept = rt_sampler_probs(&s, logits, NULL);
    double p[V];
    memcpy(p, s.probs, sizeof p);
    int64_t count[V] = { 0 };
    bool outside = false;
    for (uint64_t i = 0; i < N; i++) {
        int64_t t = rt_sampler_pick(&s, logits, i, NULL);
        if (t < 0 || t >= V || p[t] == 0) outside = true;
        else count[t]++;
    }
    tap_ok(!outside && kept == 4, "every draw is a kept token (%lld kept)", (long long)kept);
    bool fits = true;
    for (int i = 0; i < V; i++) {
        double mean = N * p[i], sd = sqrt(N * p[i] * (1 - p[i]));
        if (fabs((double)count[i] - mean) > 5 * sd + 1e-9) fits = false;
        tap_diag("token %d: p %.4f, drawn %lld of %d", i, p[i], (long long)count[i], N);
    }
    tap_ok(fits, "draw counts are within 5 sigma of the probabilities");
    /* The same (seed, index) draws the same token; another seed draws another sequence. */
    rt_sampler s2, s3;
    if (make(&s2, rule(1.3, 4, 0.95), V, 42) && make(&s3, rule(1.3, 4, 0.95), V, 43)) {
        bool same = true, differ = false;
        for (uint64_t i = 0; i < 200; i++) {
            int64_t a = rt_sampler_pick(&s, logits, i, NULL), b = rt_sampler_pick(&s2, logits, i, NULL);
            same = same && a == b;
            differ = differ || a != rt_sampler_pick(&s3, logits, i, NULL);
        }
        tap_ok(same, "the same seed and index draw the same token");
        tap_ok(differ, "another seed draws a different sequence");
    }
    rt_sampler_free(&s2);
    rt_sampler_free(&s3);
    rt_sampler_free(&s);
    double lo = 1, hi = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        double u = rt_sampler_uniform(5, i);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    tap_ok(lo >= 0 && lo < 0.001 && hi < 1 && hi > 0.999, "the uniform numbers lie in [0, 1) and cover it (%g .. %g)", lo, hi);
}

/* The full GPT-2 vocabulary: top-k 40 through the heap matches a rank count
 * on the kept set's edge. */
static void big_vocab(void)
{
    enum { V = 50257 };
    float *logits = malloc(sizeof *logits * V);
    rt_sampler s;
    if (!logits || !make(&s, rule(0.8, 40, 0.9), V, 9)) {
        tap_ok(false, "setting up the big-vocabulary case");
        free(logits);
        return;
    }
    for (int i = 0; i < V; i++) logits[i] = (float)(3.0 * ir_philox_normal(11, 0, 0, (uint64_t)i));
    int64_t n = rt_sampler_probs(&s, logits, NULL);
    /* Every kept token's logit is at least every dropped one's. */
    float min_kept = INFINITY, max_dropped = -INFINITY;
    double sum = 0;
    for (int i = 0; i < V; i++) {
        if (s.probs[i] > 0) min_kept = fminf(min_kept, logits[i]), sum += s.probs[i];
        else max_dropped = fmaxf(max_dropped, logits[i]);
    }
    tap_ok(n >= 1 && n <= 40 && min_kept >= max_dropped && near(sum, 1.0, 1e-12),
           "V 50257, top-k 40, top-p 0.9: %lld kept, all above the dropped, summing to 1", (long long)n);
    rt_sampler_free(&s);
    free(logits);
}

int main(void)
{
    hand_cases();
    bad_rules();
    random_cases();
    draws();
    big_vocab();
    return tap_done();
}
