/* tests/model/test_composite.c -- finite-difference gradient checks (float64,
 * central, relative error <= 1e-6) of every composite of ir/composite.h on
 * random inputs, plus forward values checked against closed forms (GELU,
 * softmax rows summing to 1, the causal mask, sin/cos, the lr schedule).
 * TAP through tests/tap.h. */
#include <math.h>
#include <stdio.h>

#include "ir/step.h"
#include "tests/model/fd.h"
#include "tests/tap.h"

/* Finite differences in float64 (fd.h: h = 1e-6) are accurate to ~1e-10
 * relative; 1e-6 leaves 10^4 for ill-conditioned entries and still catches a
 * wrong VJP (a wrong rule is off by O(1)). */
#define TOL 1e-6

static ir_shape sh(int rank, int64_t a, int64_t b, int64_t c)
{
    int64_t d[3] = {a, b, c};
    return ir_shape_of(rank, d);
}

typedef int (*unary_builder)(ir_graph *g, int x);

static void check_unary(const char *name, unary_builder f, double offset, double scale)
{
    fd_case c;
    fd_init(&c, 11);
    int x = fd_leaf(&c, "x", sh(2, 3, 5, 0), offset, scale);
    c.loss = fd_project(&c, f(&c.g, x));
    double err = fd_check(&c, 1000, NULL);
    tap_ok(err >= 0 && err <= TOL, "%s: finite differences (rel err %.2e)", name, err);
    fd_free(&c);
}

static int log_softmax_b(ir_graph *g, int x) { return ir_log_softmax(g, x); }
static int logsumexp_b(ir_graph *g, int x) { return ir_logsumexp(g, x, false); }
static int sin_b(ir_graph *g, int x) { return ir_sin(g, x); }

static void check_linear(void)
{
    fd_case c;
    fd_init(&c, 12);
    int x = fd_leaf(&c, "x", sh(3, 2, 3, 4), 0, 1);
    int w = fd_leaf(&c, "w", sh(2, 4, 5, 0), 0, 0.5);
    int b = fd_leaf(&c, "b", sh(1, 5, 0, 0), 0, 0.5);
    c.loss = fd_project(&c, ir_linear(&c.g, x, w, b));
    double err = fd_check(&c, 1000, NULL);
    tap_ok(err >= 0 && err <= TOL, "linear: finite differences (rel err %.2e)", err);
    fd_free(&c);
}

static void check_layernorm(void)
{
    fd_case c;
    fd_init(&c, 13);
    int x = fd_leaf(&c, "x", sh(2, 3, 6, 0), 0.3, 1);
    int w = fd_leaf(&c, "w", sh(1, 6, 0, 0), 1, 0.2);
    int b = fd_leaf(&c, "b", sh(1, 6, 0, 0), 0, 0.2);
    c.loss = fd_project(&c, ir_layernorm(&c.g, x, w, b, 1e-5));
    double err = fd_check(&c, 1000, NULL);
    tap_ok(err >= 0 && err <= TOL, "layernorm: finite differences (rel err %.2e)", err);
    fd_free(&c);
}

static void check_attention(double dropout)
{
    fd_case c;
    fd_init(&c, 14);
    int x = fd_leaf(&c, "x", sh(3, 2, 4, 8), 0, 1);
    ir_attn_params p = {fd_leaf(&c, "c_attn.w", sh(2, 8, 24, 0), 0, 0.4), fd_leaf(&c, "c_attn.b", sh(1, 24, 0, 0), 0, 0.1),
                        fd_leaf(&c, "c_proj.w", sh(2, 8, 8, 0), 0, 0.4), fd_leaf(&c, "c_proj.b", sh(1, 8, 0, 0), 0, 0.1)};
    int step = ir_input(&c.g, IR_INPUT_STEP, ir_shape_of(0, NULL));
    double zero = 0;
    fd_fix(&c, step, &zero);
    ir_rng rng = {step, 5, 77};
    c.loss = fd_project(&c, ir_attention(&c.g, x, &p, 2, dropout, &rng));
    double err = fd_check(&c, 64, NULL);
    tap_ok(err >= 0 && err <= TOL, "attention (dropout %g, fixed draws): finite differences (rel err %.2e)",
           dropout, err);
    fd_free(&c);
}

/* Output position t must not depend on inputs at positions > t. */
static void check_causality(void)
{
    fd_case c;
    fd_init(&c, 15);
    int x = fd_leaf(&c, "x", sh(3, 1, 4, 8), 0, 1);
    ir_attn_params p = {fd_leaf(&c, "w", sh(2, 8, 24, 0), 0, 0.4), -1, fd_leaf(&c, "pw", sh(2, 8, 8, 0), 0, 0.4), -1};
    int y = ir_attention(&c.g, x, &p, 2, 0, NULL);
    c.loss = ir_sum_all(&c.g, ir_slice(&c.g, y, 1, 0, 2));     /* positions 0 and 1 */
    int grad[FD_MAX_LEAVES];
    bool ok = ir_grad(&c.g, c.loss, c.leaf, c.n_leaves, grad) == 0;
    ir_interp *it = ok ? fd_run(&c, -1) : NULL;
    const double *gx = it ? ir_interp_value(it, grad[0]) : NULL;
    double later = 0, earlier = 0;
    for (int i = 0; gx && i < 32; i++) *(i >= 16 ? &later : &earlier) += fabs(gx[i]);
    tap_ok(gx && later == 0 && earlier > 0, "attention is causal: positions 2, 3 get exactly zero gradient");
    ir_interp_free(it);
    fd_free(&c);
}

/* Cross-entropy of [2,3,7] logits against targets t (a -1 predicts
 * nothing): finite differences, and the value against a direct computation
 * of the mean over the counted positions. */
static void check_cross_entropy(const double t[6], const char *what)
{
    fd_case c;
    fd_init(&c, 16);
    int logits = fd_leaf(&c, "logits", sh(3, 2, 3, 7), 0, 2);
    int targets = ir_input(&c.g, IR_INPUT_TARGETS, sh(2, 2, 3, 0));
    fd_fix(&c, targets, t);
    c.loss = ir_cross_entropy(&c.g, logits, targets);
    double err = fd_check(&c, 1000, NULL);
    tap_ok(err >= 0 && err <= TOL, "cross-entropy%s: finite differences (rel err %.2e)", what, err);
    ir_interp *it = fd_run(&c, c.loss);
    double sum = 0;
    int counted = 0;
    for (int r = 0; r < 6; r++) {
        if (t[r] < 0) continue;
        const double *z = c.value[0] + 7 * r;
        double m = z[0], s = 0;
        for (int v = 1; v < 7; v++) m = z[v] > m ? z[v] : m;
        for (int v = 0; v < 7; v++) s += exp(z[v] - m);
        sum += m + log(s) - z[(int)t[r]];
        counted++;
    }
    double want = sum / counted, got = it ? ir_interp_value(it, c.loss)[0] : NAN;
    /* 1e-12: both are float64 sums of 42 terms in different orders (~1e-15) */
    tap_ok(fabs(got - want) <= 1e-12 * fabs(want), "cross-entropy%s: value %.15g = %.15g", what, got, want);
    ir_interp_free(it);
    fd_free(&c);
}

/* Dropout keeps u >= p, scales by 1/(1-p), and is the identity at p = 0. */
static void check_dropout(void)
{
    fd_case c;
    fd_init(&c, 17);
    int x = fd_leaf(&c, "x", sh(1, 4096, 0, 0), 2, 0.1);
    int step = ir_input(&c.g, IR_INPUT_STEP, ir_shape_of(0, NULL));
    double s = 3;
    fd_fix(&c, step, &s);
    ir_rng rng = {step, 9, 5};
    int y = ir_dropout(&c.g, x, 0.25, &rng);
    ir_interp *it = fd_run(&c, y);
    const double *v = it ? ir_interp_value(it, y) : NULL;
    int kept = 0, exact = 1;
    for (int i = 0; v && i < 4096; i++) {
        double u = ir_philox_uniform(9, 3, 5, (uint64_t)i);
        bool keep = u >= 0.25;
        kept += keep;
        /* 1e-15: x / 0.75 against the graph's x * (1 / 0.75), a few ulps apart */
        exact &= v[i] == (keep ? c.value[0][i] / 0.75 : 0.0) || fabs(v[i] - c.value[0][i] / 0.75) < 1e-15;
    }
    tap_ok(v && exact, "dropout: keep where Philox u >= p, scale 1/(1-p)");
    /* 4096 fixed draws keep 3072 +- 27.7 (binomial sd): the range is ~6 sd */
    tap_ok(kept > 2900 && kept < 3250, "dropout p = 0.25 keeps %d of 4096", kept);
    tap_ok(ir_dropout(&c.g, x, 0.0, &rng) == x, "dropout p = 0 is the identity");
    ir_interp_free(it);
    fd_free(&c);
}

static void check_forward_values(void)
{
    fd_case c;
    fd_init(&c, 18);
    int x = fd_leaf(&c, "x", sh(1, 64, 0, 0), 0, 3);
    int gl = ir_gelu(&c.g, x), sn = ir_sin(&c.g, ir_mul_scalar(&c.g, x, 40.0)), cs = ir_cos(&c.g, x);
    int sm = ir_softmax(&c.g, ir_reshape(&c.g, x, sh(2, 8, 8, 0)));
    ir_interp *it = fd_run(&c, -1);
    double e_gelu = 0, e_sin = 0, e_sum = 0;
    for (int i = 0; it && i < 64; i++) {
        double v = c.value[0][i];
        double want = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        e_gelu = fmax(e_gelu, fabs(ir_interp_value(it, gl)[i] - want));
        e_sin = fmax(e_sin, fabs(ir_interp_value(it, sn)[i] - sin(40 * v)));
        e_sin = fmax(e_sin, fabs(ir_interp_value(it, cs)[i] - cos(v)));
    }
    for (int r = 0; it && r < 8; r++) {
        double s = 0;
        for (int j = 0; j < 8; j++) s += ir_interp_value(it, sm)[8 * r + j];
        e_sum = fmax(e_sum, fabs(s - 1));
    }
    /* gelu: the graph evaluates the same expression in the same order, so it
     * is bit-identical (measured 0); 1e-15 is under an ulp of the largest
     * values (|x| up to 9.4 here), so a change of order shows. sin(40x): the
     * graph's range reduction of arguments up to ~380 carries ~|arg| * 1.1e-16
     * of pi's rounding, ~4e-14 (measured 3.5e-14). A row of 8 softmax terms
     * sums to 1 within 8 roundings, ~9e-16 (measured 2.2e-16). */
    tap_ok(it && e_gelu < 1e-15, "gelu: the tanh form (max err %.1e)", e_gelu);
    tap_ok(it && e_sin < 1e-13, "sin, cos: libm agreement (max err %.1e)", e_sin);
    tap_ok(it && e_sum < 1e-15, "softmax rows sum to 1 (max err %.1e)", e_sum);
    ir_interp_free(it);
    fd_free(&c);
}

/* warmup 10 of 100 steps, lr 1e-3 -> min 1e-4, cosine. */
static void check_schedule(void)
{
    fe_train t = {.steps = 100, .warmup = 10, .lr = 1e-3, .min_lr = 1e-4, .schedule = FE_SCHEDULE_COSINE};
    static const double steps[5] = {0, 9, 10, 55, 99};
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        fd_case c;
        fd_init(&c, 19);
        int s = ir_input(&c.g, IR_INPUT_STEP, ir_shape_of(0, NULL));
        fd_fix(&c, s, &steps[i]);
        int lr = ir_lr_schedule(&c.g, s, &t);
        ir_interp *it = fd_run(&c, lr);
        double k = steps[i], want = k < 10 ? 1e-3 * (k + 1) / 10
                                           : 1e-4 + 0.5 * (1e-3 - 1e-4) * (1 + cos(M_PI * (k - 10) / 90));
        worst = fmax(worst, it ? fabs(ir_interp_value(it, lr)[0] - want) : 1);
        ir_interp_free(it);
        fd_free(&c);
    }
    /* 1e-17 absolute on rates of ~1e-3: ~50 ulps (2.2e-19 each) of the same
     * double formula (measured 0) */
    tap_ok(worst < 1e-17, "lr schedule: warmup then cosine (max err %.1e)", worst);
}

int main(void)
{
    check_linear();
    check_layernorm();
    check_unary("gelu", ir_gelu, 0, 1.5);
    check_unary("relu", ir_relu, 0, 1.5);
    check_unary("silu", ir_silu, 0, 2);
    check_unary("softplus", ir_softplus, 0, 3);
    check_unary("sigmoid", ir_sigmoid, 0, 3);
    check_unary("softmax", ir_softmax, 0, 2);
    check_unary("log-softmax", log_softmax_b, 0, 2);
    check_unary("logsumexp", logsumexp_b, 0, 2);
    check_unary("sin", sin_b, 0, 4);
    check_attention(0.0);
    check_attention(0.2);
    check_causality();
    check_cross_entropy((const double[6]){0, 6, 3, 2, 5, 1}, "");
    check_cross_entropy((const double[6]){0, -1, 3, 2, 5, -1}, " with two positions predicting nothing");
    check_dropout();
    check_forward_values();
    check_schedule();
    sink_close();
    return tap_done();
}
