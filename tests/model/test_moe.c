/* tests/model/test_moe.c -- the MoE family of ir/moe.h on the interpreter:
 * finite-difference gradients (float64, central, relative error <= 1e-6)
 * for every router and setting with fixed draws and tie-free inputs (the
 * gap between the k-th and (k+1)-th ranked value is checked and the inputs
 * redrawn when it is small), exact zeros for experts that get no token and
 * for frozen gates, capacity dropping, and the router statistics
 * (doc/model-semantics.md#router-statistics) recomputed
 * here in C from the router's probabilities; noisy top-k's smooth load loss
 * (threshold under STOP_GRAD) through a fixed-threshold surrogate and its
 * value recomputed in C from the draws. TAP through tests/tap.h. */
#include <math.h>
#include <stdio.h>

#include "ir/moe.h"
#include "tests/model/fd.h"
#include "tests/tap.h"

/* Finite differences in float64 (fd.h: h = 1e-6) are accurate to ~1e-10
 * relative; 1e-6 leaves 10^4 and still catches a wrong VJP (off by O(1)). */
#define TOL 1e-6
enum { B = 2, T = 3, D = 4, N = B * T, MAX_E = 4 };

static ir_shape sh(int rank, int64_t a, int64_t b, int64_t c)
{
    int64_t d[3] = {a, b, c};
    return ir_shape_of(rank, d);
}

/* One MoE layer under test and the leaves it was built from. */
typedef struct moe_case {
    fd_case c;
    ir_routing rt;
    int out;                 /* [B,T,D] */
    int64_t e;
    int gate_leaf;           /* index of the gate in c.leaf[], or -1 */
    int expert_leaf[MAX_E];  /* index of expert e's weight in c.leaf[] */
    uint64_t seed;           /* the draws build_tie_free settled on */
} moe_case;

typedef enum loss_kind { LOSS_OUT, LOSS_LB, LOSS_Z, LOSS_IMPORTANCE, LOSS_ALL, LOSS_LOAD } loss_kind;

static fe_router router(fe_router_kind kind, int k)
{
    fe_router r = {.name = "r", .kind = kind, .k = k, .renormalize = true, .init_std = 0.02, .unit = FE_UNIT_TOKEN};
    return r;
}

/* Straight-through top-1 is not the derivative of its forward (weight 1),
 * so finite differences check it through a surrogate: the same router
 * without straight-through (weight p_sel) combined with
 * W_p - P0 + M, where P0 = W_p and M = (W_p != 0) are fixed at the base
 * point. Forward: exactly the straight-through weights; derivative: d p_sel,
 * which is what p - stop_grad(p) + 1 must give. */
static int surrogate_weights(moe_case *m, int w, const double *p0)
{
    fd_case *c = &m->c;
    ir_shape s = ir_node_at(&c->g, w)->shape;
    int64_t n = ir_shape_numel(&s);
    double mask[N * MAX_E];
    for (int64_t i = 0; i < n; i++) mask[i] = p0[i] != 0;
    int fp = ir_param(&c->g, 900, "p0", s), fm = ir_param(&c->g, 901, "mask", s);
    fd_fix(c, fp, p0);
    fd_fix(c, fm, mask);
    return ir_binary(&c->g, IR_ADD, ir_binary(&c->g, IR_SUB, w, fp), fm);
}

/* Builds x -> moe -> loss. x_offset > 0 makes x positive, so that a gate row
 * of negative weights (gate_bias < 0 on expert e-1) never wins. With p0,
 * the combine uses surrogate_weights. */
static int build(moe_case *m, const fe_router *r, int64_t e, uint64_t seed, bool training, loss_kind lk,
                 double x_offset, double last_gate_offset, const double *p0)
{
    memset(m, 0, sizeof *m);
    fd_case *c = &m->c;
    fd_init(c, seed);
    m->e = e;
    int x = fd_leaf(c, "x", sh(3, B, T, D), x_offset, 1);
    int gate = -1, noise = -1;
    m->gate_leaf = -1;
    bool learned = r->kind == FE_ROUTER_TOPK || r->kind == FE_ROUTER_NOISY_TOPK || r->kind == FE_ROUTER_EXPERT_CHOICE;
    if (learned) {
        m->gate_leaf = c->n_leaves;
        gate = fd_leaf(c, "gate", sh(2, e, D, 0), 0, 1);
        c->no_fd[m->gate_leaf] = r->frozen;
        for (int j = 0; last_gate_offset != 0 && j < D; j++)
            c->value[m->gate_leaf][(e - 1) * D + j] = last_gate_offset - fabs(c->value[m->gate_leaf][(e - 1) * D + j]);
    }
    if (r->kind == FE_ROUTER_NOISY_TOPK) noise = fd_leaf(c, "noise", sh(2, e, D, 0), 0, 0.5);
    ir_moe_ctx ctx = fd_router_ctx(c, B, T, training);
    if (ir_route(&c->g, r, x, gate, noise, e, &ctx, &m->rt) < 0) return -1;
    int y[MAX_E];
    for (int i = 0; i < e; i++) {
        m->expert_leaf[i] = c->n_leaves;
        int w = fd_leaf(c, "w", sh(2, D, D, 0), 0, 0.7);
        int b = fd_leaf(c, "b", sh(1, D, 0, 0), 0, 0.3);
        y[i] = ir_gelu(&c->g, ir_linear(&c->g, x, w, b));
    }
    int w = p0 ? surrogate_weights(m, m->rt.weights, p0) : m->rt.weights;
    m->out = ir_moe_combine(&c->g, w, y, e);
    int parts[4] = {fd_project(c, m->out), m->rt.lb, m->rt.z, m->rt.importance};
    c->loss = lk == LOSS_LOAD ? m->rt.load : lk == LOSS_ALL ? parts[0] : parts[lk];
    for (int i = 1; lk == LOSS_ALL && i < 4; i++) c->loss = ir_binary(&c->g, IR_ADD, c->loss, parts[i]);
    return c->loss < 0 ? -1 : 0;
}

/* The smallest gap between the k-th and (k+1)-th value of `ranked` along
 * rows (along columns, with k = C, for expert choice). */
static double rank_gap(moe_case *m, const fe_router *r, ir_interp *it)
{
    if (m->rt.ranked < 0) return INFINITY;
    const ir_shape *s = &ir_node_at(&m->c.g, m->rt.ranked)->shape;
    int64_t rows = s->dim[0], cols = s->dim[1];
    bool by_col = r->kind == FE_ROUTER_EXPERT_CHOICE;
    int64_t k = by_col ? (int64_t)floor((double)rows * r->capacity_factor / (double)cols) : r->k;
    return fd_rank_gap(ir_interp_value(it, m->rt.ranked), rows, cols, k, by_col);
}

/* Builds with seeds from `seed` on until the ranking has a clear gap. */
static int build_tie_free(moe_case *m, const fe_router *r, int64_t e, uint64_t seed, bool training,
                          loss_kind lk, double x_offset, double last_gate_offset)
{
    for (uint64_t s = seed; s < seed + 50; s++) {
        if (build(m, r, e, s, training, lk, x_offset, last_gate_offset, NULL) < 0) return -1;
        m->seed = s;
        ir_interp *it = fd_run(&m->c, -1);
        double gap = it ? rank_gap(m, r, it) : 0;
        ir_interp_free(it);
        if (gap > 1e-4) return 0;   /* FD probes move a ranked value by ~1e-6 |x|: no rank flips */
        fd_free(&m->c);
    }
    return -1;
}

/* Straight-through: the surrogate's finite differences (against its own
 * analytic gradient), then the straight-through gradients against the
 * surrogate's, leaf by leaf. m holds the straight-through case built. */
static double check_straight_through(moe_case *m, const fe_router *r, bool training, loss_kind lk,
                                     double xo, double go, int *grad)
{
    if (fd_check(&m->c, 1000, grad) < 0) return -1;            /* analytic only; FD is meaningless here */
    ir_interp *a = fd_run(&m->c, -1);
    fe_router plain = *r;
    plain.straight_through = false;
    moe_case s;
    double p0[N * MAX_E], worst = -1;
    if (a && build(&s, &plain, m->e, m->seed, training, lk, xo, go, NULL) == 0) {
        ir_interp *it = fd_run(&s.c, m->rt.weights >= 0 ? s.rt.weights : -1);
        if (it) memcpy(p0, ir_interp_value(it, s.rt.weights), sizeof(double) * (size_t)(N * m->e));
        ir_interp_free(it);
        fd_free(&s.c);
        int sg[FD_MAX_LEAVES];
        if (it && build(&s, &plain, m->e, m->seed, training, lk, xo, go, p0) == 0 &&
            (worst = fd_check(&s.c, 1000, sg)) >= 0) {
            ir_interp *b = fd_run(&s.c, -1);
            for (int l = 0; b && l < m->c.n_leaves; l++) {
                const double *ga = ir_interp_value(a, grad[l]), *gb = ir_interp_value(b, sg[l]);
                double d2 = 0, n2 = 1e-300;
                for (int64_t i = 0; i < fd_numel(&m->c, m->c.leaf[l]); i++)
                    d2 += (ga[i] - gb[i]) * (ga[i] - gb[i]), n2 += gb[i] * gb[i];
                worst = fmax(worst, sqrt(d2 / n2));
            }
            ir_interp_free(b);
        }
        fd_free(&s.c);
    }
    ir_interp_free(a);
    return worst;
}

/* FD check of one configuration; returns the case (still built) for more checks. */
static bool fd_moe_at(moe_case *m, const char *name, const fe_router *r, int64_t e, bool training, loss_kind lk,
                      int *grad, uint64_t seed, double xo, double go)
{
    int g[FD_MAX_LEAVES];
    if (build_tie_free(m, r, e, seed, training, lk, xo, go) < 0) {
        tap_ok(false, "%s: graph built (%s)", name, sink_text(m->c.g.diag));
        return false;
    }
    bool st = r->k == 1 && r->straight_through;
    double err = st ? check_straight_through(m, r, training, lk, xo, go, grad ? grad : g)
                    : fd_check(&m->c, 1000, grad);
    return tap_ok(err >= 0 && err <= TOL, "%s: finite differences%s (rel err %.2e)", name,
                  st ? " of the straight-through surrogate" : "", err);
}

static bool fd_moe(moe_case *m, const char *name, const fe_router *r, int64_t e, bool training, loss_kind lk,
                   int *grad)
{
    return fd_moe_at(m, name, r, e, training, lk, grad, 100, 0, 0);
}

static double norm_of(ir_interp *it, int node, int64_t n)
{
    const double *v = ir_interp_value(it, node);
    double s = 0;
    for (int64_t i = 0; v && i < n; i++) s += v[i] * v[i];
    return v ? sqrt(s) : NAN;
}

static void check_topk(void)
{
    moe_case m;
    int grad[FD_MAX_LEAVES];
    fe_router r = router(FE_ROUTER_TOPK, 1);
    r.straight_through = true;
    if (fd_moe(&m, "topk k=1 straight-through", &r, 3, true, LOSS_OUT, grad)) {
        ir_interp *it = fd_run(&m.c, -1);
        double gn = it ? norm_of(it, grad[m.gate_leaf], 3 * D) : 0;
        const double *w = it ? ir_interp_value(it, m.rt.weights) : NULL;
        int ones = 0;
        for (int i = 0; w && i < N * 3; i++) ones += w[i] == 1.0;
        tap_ok(gn > 1e-3, "topk k=1 straight-through: the gate gets a non-zero gradient from the output (%.3g)", gn);
        tap_ok(ones == N, "topk k=1 straight-through: every token's weight is exactly 1");
        ir_interp_free(it);
    }
    fd_free(&m.c);
    r = router(FE_ROUTER_TOPK, 1);
    fd_moe(&m, "topk k=1 weight p", &r, 3, true, LOSS_OUT, NULL);
    fd_free(&m.c);
    r = router(FE_ROUTER_TOPK, 2);
    fd_moe(&m, "topk k=2 renormalised", &r, 4, true, LOSS_OUT, NULL);
    fd_free(&m.c);
    r.renormalize = false;
    fd_moe(&m, "topk k=2 raw p", &r, 4, true, LOSS_OUT, NULL);
    fd_free(&m.c);
    r = router(FE_ROUTER_TOPK, 2);
    r.noise_std = 0.5;
    r.noise_anneal = 0.5;
    fd_moe(&m, "topk k=2 annealed noise, fixed draws", &r, 4, true, LOSS_OUT, NULL);
    fd_free(&m.c);
}

static void check_noisy_and_ec(void)
{
    moe_case m;
    fe_router r = router(FE_ROUTER_NOISY_TOPK, 2);
    fd_moe(&m, "noisy_topk k=2, fixed noise draws", &r, 4, true, LOSS_ALL, NULL);
    fd_free(&m.c);
    fd_moe(&m, "noisy_topk k=2, evaluation", &r, 4, false, LOSS_ALL, NULL);
    fd_free(&m.c);
    r = router(FE_ROUTER_EXPERT_CHOICE, 1);
    r.capacity_factor = 1.0;
    fd_moe(&m, "expert choice cf 1", &r, 3, true, LOSS_ALL, NULL);
    fd_free(&m.c);
    r.capacity_factor = 2.0;
    r.unit = FE_UNIT_SEQUENCE;
    fd_moe(&m, "expert choice cf 2 per sequence", &r, 2, true, LOSS_OUT, NULL);
    fd_free(&m.c);
}

static void check_capacity(void)
{
    moe_case m;
    fe_router r = router(FE_ROUTER_TOPK, 1);
    r.straight_through = true;
    r.capacity_factor = 0.5;           /* ceil(0.5 * 6 / 3) = 1 slot per expert: 3 of 6 kept */
    if (fd_moe(&m, "capacity 0.5, top-1: dropping", &r, 3, true, LOSS_ALL, NULL)) {
        ir_interp *it = fd_run(&m.c, -1);
        double dropped = it ? ir_interp_value(it, m.rt.dropped)[0] : -1;
        const double *w = it ? ir_interp_value(it, m.rt.weights) : NULL;
        int routed = 0;
        for (int i = 0; w && i < N; i++) {
            double s = 0;
            for (int e = 0; e < 3; e++) s += w[i * 3 + e];
            routed += s != 0;
        }
        tap_ok(dropped == N - routed && dropped >= 3, "capacity: %g assignments dropped, %d tokens routed", dropped, routed);
        ir_interp_free(it);
    }
    fd_free(&m.c);
    r = router(FE_ROUTER_TOPK, 2);
    r.capacity_factor = 0.75;          /* ceil(0.75 * 6 * 2 / 4) = 3 */
    fd_moe(&m, "capacity 0.75, top-2 renormalised: dropping", &r, 4, true, LOSS_OUT, NULL);
    fd_free(&m.c);
}

/* Expert E-1 has a negative gate on positive inputs: never chosen. */
static void check_unused_expert(void)
{
    moe_case m;
    int grad[FD_MAX_LEAVES];
    fe_router r = router(FE_ROUTER_TOPK, 1);
    r.straight_through = true;
    if (!fd_moe_at(&m, "unused expert", &r, 3, true, LOSS_OUT, grad, 300, 2.0, -3.0)) {
        fd_free(&m.c);
        return;
    }
    ir_interp *it = fd_run(&m.c, -1);
    const double *f = it ? ir_interp_value(it, m.rt.frac) : NULL;
    int wl = m.expert_leaf[2];
    const double *gw = it ? ir_interp_value(it, grad[wl]) : NULL, *gb = it ? ir_interp_value(it, grad[wl + 1]) : NULL;
    bool zero = gw && gb;
    for (int i = 0; zero && i < D * D; i++) zero = gw[i] == 0.0;
    for (int i = 0; zero && i < D; i++) zero = gb[i] == 0.0;
    tap_ok(f && f[2] == 0.0, "unused expert: f_e = 0");
    tap_ok(zero, "unused expert: its weight and bias gradients are exactly 0");
    tap_ok(it && norm_of(it, grad[m.expert_leaf[0]], D * D) + norm_of(it, grad[m.expert_leaf[1]], D * D) > 0,
           "used experts get gradients");
    ir_interp_free(it);
    fd_free(&m.c);
}

static void check_sequence_unit(void)
{
    moe_case m;
    fe_router r = router(FE_ROUTER_TOPK, 1);
    r.straight_through = true;
    r.unit = FE_UNIT_SEQUENCE;
    if (fd_moe(&m, "sequence routing top-1 straight-through", &r, 3, true, LOSS_ALL, NULL)) {
        ir_interp *it = fd_run(&m.c, -1);
        const double *w = it ? ir_interp_value(it, m.rt.weights) : NULL;
        bool same = w != NULL;
        for (int b = 0; same && b < B; b++)
            for (int t = 1; t < T; t++)
                for (int e = 0; e < 3; e++) same &= w[(b * T + t) * 3 + e] == w[(b * T) * 3 + e];
        tap_ok(same, "sequence routing: one decision for all positions of a sequence");
        ir_interp_free(it);
    }
    fd_free(&m.c);
    r = router(FE_ROUTER_TOPK, 2);
    r.unit = FE_UNIT_SEQUENCE;
    fd_moe(&m, "sequence routing top-2", &r, 3, true, LOSS_OUT, NULL);
    fd_free(&m.c);
}

/* LB, z and importance alone, then their values against their definitions
 * (doc/names-and-metrics.md#definitions). */
static void check_aux(void)
{
    static const char *names[3] = {"load balance", "z-loss", "importance"};
    fe_router r = router(FE_ROUTER_TOPK, 2);
    for (int i = 0; i < 3; i++) {
        moe_case m;
        char name[64];
        snprintf(name, sizeof name, "%s term, top-2", names[i]);
        fd_moe(&m, name, &r, 4, true, (loss_kind)(LOSS_LB + i), NULL);
        fd_free(&m.c);
    }
    moe_case m;
    if (build_tie_free(&m, &r, 4, 400, false, LOSS_ALL, 0, 0) < 0) return;
    ir_interp *it = fd_run(&m.c, -1);
    const double *p = ir_interp_value(it, m.rt.probs), *w = ir_interp_value(it, m.rt.weights);
    double f[4] = {0}, P[4] = {0}, imp[4] = {0}, z2 = 0;
    const double *x = m.c.value[0], *gate = m.c.value[1];
    for (int n = 0; n < N; n++) {
        double z[4], mx = -INFINITY, s = 0;
        for (int e = 0; e < 4; e++) {
            z[e] = 0;
            for (int j = 0; j < D; j++) z[e] += x[n * D + j] * gate[e * D + j];
            mx = fmax(mx, z[e]);
        }
        for (int e = 0; e < 4; e++) s += exp(z[e] - mx);
        z2 += pow(mx + log(s), 2) / N;
        for (int e = 0; e < 4; e++) {
            f[e] += (w[n * 4 + e] != 0) / (double)(N * 2);
            P[e] += p[n * 4 + e] / N;
            imp[e] += p[n * 4 + e];
        }
    }
    double lb = 0, mu = 0, var = 0;
    for (int e = 0; e < 4; e++) lb += 4 * f[e] * P[e], mu += imp[e] / 4;
    for (int e = 0; e < 4; e++) var += (imp[e] - mu) * (imp[e] - mu) / 4;
    double got_lb = ir_interp_value(it, m.rt.lb)[0], got_z = ir_interp_value(it, m.rt.z)[0];
    double got_i = ir_interp_value(it, m.rt.importance)[0];
    /* float64 sums of 6 x 4 terms in two orders: LB and importance are <= ~1
     * (1e-14 is ~45 ulps of 1); the z-loss (~4 here) squares a logsumexp
     * (1e-12 absolute) */
    tap_ok(fabs(got_lb - lb) < 1e-14 && fabs(got_z - z2) < 1e-12 && fabs(got_i - var / (mu * mu)) < 1e-14,
           "statistics as defined: LB %.12g (%.12g), z %.12g (%.12g), importance %.12g (%.12g)",
           got_lb, lb, got_z, z2, got_i, var / (mu * mu));
    ir_interp_free(it);
    fd_free(&m.c);
}

/* Shazeer's load recomputed from the leaves: z = x gate^T, s = softplus(x
 * noise^T), h = z + N s (training: the draws of build's ctx, seed 1234,
 * step 2, stream 500) or z; threshold = k-th largest of h without e. */
static double load_in_c(const moe_case *m, int64_t k, bool training)
{
    enum { E = 4 };
    const double *x = m->c.value[0], *gate = m->c.value[1], *noise = m->c.value[2];
    double load[E] = {0}, mu = 0, var = 0;
    for (int n = 0; n < N; n++) {
        double z[E], s[E], h[E];
        for (int e = 0; e < E; e++) {
            double a = 0, b = 0;
            for (int j = 0; j < D; j++) a += x[n * D + j] * gate[e * D + j], b += x[n * D + j] * noise[e * D + j];
            z[e] = a;
            s[e] = fmax(b, 0) + log1p(exp(-fabs(b)));
            h[e] = a + (training ? ir_philox_normal(1234, 2, 500, (uint64_t)(n * E + e)) * s[e] : 0);
        }
        for (int e = 0; e < E; e++) {
            double rest[E - 1];
            int r = 0;
            for (int o = 0; o < E; o++)
                if (o != e) rest[r++] = h[o];
            for (int i = 0; i < E - 1; i++)          /* sort descending */
                for (int j = i + 1; j < E - 1; j++)
                    if (rest[j] > rest[i]) { double t = rest[i]; rest[i] = rest[j]; rest[j] = t; }
            load[e] += 0.5 * (1 + erf((z[e] - rest[k - 1]) / (s[e] * sqrt(2.0))));
        }
    }
    for (int e = 0; e < E; e++) mu += load[e] / E;
    for (int e = 0; e < E; e++) var += (load[e] - mu) * (load[e] - mu) / E;
    return var / (mu * mu);
}

/* The load with its threshold replaced by a fixed leaf holding the
 * threshold's values: forward the same, and its gradient (finite
 * differences apply: nothing in it ranks) is what STOP_GRAD must give. */
static void check_load_at(const char *name, int64_t k, bool training)
{
    moe_case m;
    fe_router r = router(FE_ROUTER_NOISY_TOPK, (int)k);
    if (build_tie_free(&m, &r, 4, 600, training, LOSS_LOAD, 0, 0) < 0) {
        tap_ok(false, "%s: graph built (%s)", name, sink_text(m.c.g.diag));
        return;
    }
    fd_case *c = &m.c;
    int real[FD_MAX_LEAVES], sur[FD_MAX_LEAVES];
    ir_interp *it = ir_grad(&c->g, m.rt.load, c->leaf, c->n_leaves, real) == 0 ? fd_run(c, -1) : NULL;
    double thr[N * 4], want = it ? ir_interp_value(it, m.rt.load)[0] : NAN;
    if (it) memcpy(thr, ir_interp_value(it, m.rt.load_threshold), sizeof thr);
    int fixed = ir_param(&c->g, 902, "thr", ir_node_at(&c->g, m.rt.load_threshold)->shape);
    fd_fix(c, fixed, thr);
    c->loss = ir_smooth_load(&c->g, m.rt.logits, m.rt.noise_scale, fixed);
    double err = it ? fd_check(c, 1000, sur) : -1;
    ir_interp *s = err >= 0 ? fd_run(c, -1) : NULL;
    double diff = s ? 0 : INFINITY, got = s ? ir_interp_value(s, c->loss)[0] : NAN;
    for (int l = 0; s && l < c->n_leaves; l++) {
        const double *ga = ir_interp_value(s, real[l]), *gb = ir_interp_value(s, sur[l]);
        for (int64_t i = 0; i < fd_numel(c, c->leaf[l]); i++) diff = fmax(diff, fabs(ga[i] - gb[i]));
    }
    tap_ok(err >= 0 && err <= TOL, "%s: finite differences of the fixed-threshold surrogate (rel err %.2e)", name, err);
    /* 1e-13: the two backward graphs differ only where STOP_GRAD cuts, so
     * their gradients agree to float64 rounding of O(1) values (measured 0) */
    tap_ok(got == want && diff <= 1e-13, "%s: load's gradient is the surrogate's, threshold constant (max diff %.1e)",
           name, diff);
    double in_c = load_in_c(&m, k, training);
    /* 1e-13 relative: the same float64 formula (erf, softplus, a CV^2 of 4
     * sums) evaluated in another order */
    tap_ok(fabs(want - in_c) <= 1e-13 * fabs(in_c) && want > 0,
           "%s: CV^2(sum P) as Shazeer's eq. 8-10 recomputed in C: %.15g (%.15g)", name, want, in_c);
    ir_interp_free(it);
    ir_interp_free(s);
    fd_free(c);
}

static void check_load(void)
{
    check_load_at("load, noisy_topk k=2, fixed noise draws", 2, true);
    check_load_at("load, noisy_topk k=1, fixed noise draws", 1, true);
    check_load_at("load, noisy_topk k=2, evaluation (h = c)", 2, false);
    moe_case m;
    fe_router r = router(FE_ROUTER_NOISY_TOPK, 4);
    ir_interp *it = build(&m, &r, 4, 600, true, LOSS_LOAD, 0, 0, NULL) == 0 ? fd_run(&m.c, -1) : NULL;
    tap_ok(it && ir_interp_value(it, m.rt.load)[0] == 0.0, "load, k = E: every expert always selected, CV^2 = 0");
    ir_interp_free(it);
    fd_free(&m.c);
}

static void check_fixed_routers(void)
{
    moe_case m;
    int grad[FD_MAX_LEAVES];
    fe_router r = router(FE_ROUTER_TOPK, 1);
    r.straight_through = true;
    r.frozen = true;
    if (fd_moe(&m, "frozen gate", &r, 3, true, LOSS_ALL, grad)) {
        ir_interp *it = fd_run(&m.c, -1);
        tap_ok(it && norm_of(it, grad[m.gate_leaf], 3 * D) == 0.0, "frozen gate: gradient exactly 0");
        ir_interp_free(it);
    }
    fd_free(&m.c);
    r = router(FE_ROUTER_RANDOM, 2);
    fd_moe(&m, "random router k=2", &r, 4, true, LOSS_ALL, NULL);
    fd_free(&m.c);
    r = router(FE_ROUTER_HASH, 1);
    if (fd_moe(&m, "hash router", &r, 4, true, LOSS_OUT, NULL)) {
        ir_interp *it = fd_run(&m.c, -1);
        const double *w = ir_interp_value(it, m.rt.weights);
        static const int tok[N] = {3, 1, 4, 1, 5, 9};
        bool ok = true;
        for (int n = 0; n < N; n++) {
            int want = (int)floor(4 * ir_philox_uniform(IR_HASH_SEED, 0, IR_HASH_STREAM, (uint64_t)tok[n]));
            for (int e = 0; e < 4; e++) ok &= w[n * 4 + e] == (e == want);
        }
        tap_ok(ok, "hash router: expert = floor(E u(token)), weight 1");
        ir_interp_free(it);
    }
    fd_free(&m.c);
    r = router(FE_ROUTER_LABEL, 1);
    if (fd_moe(&m, "label router", &r, 4, true, LOSS_OUT, NULL)) {
        ir_interp *it = fd_run(&m.c, -1);
        const double *w = ir_interp_value(it, m.rt.weights);
        bool ok = true;
        for (int n = 0; n < N; n++)
            for (int e = 0; e < 4; e++) ok &= w[n * 4 + e] == (e == (n < T ? 5 % 4 : 2 % 4));
        tap_ok(ok, "label router: expert = domain mod E for every token of the sequence");
        ir_interp_free(it);
    }
    fd_free(&m.c);
}

int main(void)
{
    check_topk();
    check_noisy_and_ec();
    check_capacity();
    check_unused_expert();
    check_sequence_unit();
    check_aux();
    check_load();
    check_fixed_routers();
    sink_close();
    return tap_done();
}
