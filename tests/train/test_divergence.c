/* tests/train/test_divergence.c -- the weight divergence between experts
 * (runtime/train/divergence.h) on hand-made weights of gpt2-moe-tiny with
 * one MoE layer of three experts: equal experts give 0, experts pointing the
 * same way at another scale 0, orthogonal ones 1, x, x and -x give
 * (0 + 2 + 2) / 3, and an expert of zeros or a single expert gives NaN.
 * The value a training run writes is checked against an independent Python
 * reference by tests/train/divergence.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli_args.h"
#include "runtime/train/divergence.h"
#include "tests/tap.h"

static int elaborate(rt_frontend *fe, const char *const *sets, int n_sets)
{
    char path[512];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/gpt2-moe-tiny.moe", top ? top : ".");
    return rt_frontend_elaborate_sets(fe, path, sets, n_sets);
}

/* Parameter `rest` of expert e of layer h.0.mlp ("c_fc.weight", ...), or NULL. */
static float *expert(rt_weights *w, int e, const char *rest, int64_t *n)
{
    char name[128];
    snprintf(name, sizeof name, "h.0.mlp.experts.%d.%s", e, rest);
    int i = rt_weights_find(w, name);
    if (i < 0) return NULL;
    *n = w->numel[i];
    return w->data[i];
}

static const char *const PARTS[4] = { "c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias" };

/* Expert e := scale * (a fixed pseudo-random vector), every part. */
static void fill(rt_weights *w, int e, double scale)
{
    unsigned s = 12345;
    for (int p = 0; p < 4; p++) {
        int64_t n = 0;
        float *x = expert(w, e, PARTS[p], &n);
        for (int64_t i = 0; x && i < n; i++) {
            s = s * 1103515245u + 12345u;
            x[i] = (float)(scale * (((double)(s >> 8) / (double)(1u << 24)) - 0.5));
        }
    }
}

static void zero(rt_weights *w, int e)
{
    for (int p = 0; p < 4; p++) {
        int64_t n = 0;
        float *x = expert(w, e, PARTS[p], &n);
        if (x) memset(x, 0, sizeof *x * (size_t)n);
    }
}

static double divergence(rt_frontend *fe, rt_weights *w)
{
    double d = -1;
    if (rt_divergence_layer(&fe->model, w, 0, &d, &fe->diag) < 0) return -1;
    return d;
}

int main(void)
{
    const char *sets[] = { "d=8", "layers=1", "moe_from=0", "experts=3" };
    rt_frontend fe;
    rt_weights w = { 0 };
    bool ok = elaborate(&fe, sets, 4) == 0 && rt_weights_alloc(&w, &fe.model, &fe.diag) == 0;
    tap_ok(ok, "gpt2-moe-tiny with one MoE layer of 3 experts elaborates");
    tap_ok(ok && rt_divergence_layers(&fe.model) == 1, "one MoE layer");
    if (ok) {
        int64_t n;
        tap_ok(expert(&w, 2, "c_proj.bias", &n) != NULL, "expert 2's parameters are found by name");
        for (int e = 0; e < 3; e++) fill(&w, e, 1.0);
        double d = divergence(&fe, &w);
        tap_ok(fabs(d) < 1e-12, "identical experts: %g, 0", d);
        fill(&w, 1, 3.0);
        fill(&w, 2, 0.25);
        d = divergence(&fe, &w);
        tap_ok(fabs(d) < 1e-12, "the same direction at other scales: %g, 0", d);
        fill(&w, 2, -1.0);
        d = divergence(&fe, &w);
        tap_ok(fabs(d - 4.0 / 3.0) < 1e-12, "x, 3x and -x: %.15g, (0 + 2 + 2) / 3", d);
        /* orthogonal: expert e is zero but one element, in a different part each */
        for (int e = 0; e < 3; e++) zero(&w, e);
        for (int e = 0; e < 3; e++) expert(&w, e, PARTS[e], &n)[e] = (float)(e + 1);
        d = divergence(&fe, &w);
        tap_ok(d == 1.0, "orthogonal experts: %.17g, 1", d);
        /* the biases count: experts equal but for their biases are not equal */
        for (int e = 0; e < 3; e++) zero(&w, e);
        for (int e = 0; e < 3; e++) expert(&w, e, "c_fc.weight", &n)[0] = 1.0f;
        expert(&w, 1, "c_proj.bias", &n)[0] = 1.0f;
        d = divergence(&fe, &w);
        double want = 2.0 * (1.0 - 1.0 / sqrt(2.0)) / 3.0;
        tap_ok(fabs(d - want) < 1e-12, "experts differing in a bias: %.15g, %.15g", d, want);
        zero(&w, 1);
        d = divergence(&fe, &w);
        tap_ok(isnan(d), "an expert of zeros has no direction: NaN (%g)", d);
        d = 0;
        tap_ok(rt_divergence_layer(&fe.model, &w, 1, &d, &fe.diag) == 0 && isnan(d), "a layer out of range: NaN");
    }
    rt_weights_free(&w);
    rt_frontend_free(&fe);

    const char *one[] = { "d=8", "layers=1", "moe_from=0", "experts=1" };
    ok = elaborate(&fe, one, 4) == 0 && rt_weights_alloc(&w, &fe.model, &fe.diag) == 0;
    if (ok) fill(&w, 0, 1.0);
    tap_ok(ok && isnan(divergence(&fe, &w)), "a single expert: no pairs, NaN");
    rt_weights_free(&w);
    rt_frontend_free(&fe);
    return tap_done();
}
