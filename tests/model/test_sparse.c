/* tests/model/test_sparse.c -- the sparse MoE lowering (ir/moe_sparse.h;
 * doc/model-semantics.md#mixture-of-experts-the-sparse-lowering) against
 * the dense oracle.
 * Whole training steps of tiny models, for every router kind, capacity,
 * routing unit, expert block and dropout, built in both forms and evaluated
 * in float64 on the same leaf values, give every named value (losses,
 * router statistics, gradients, the AdamW update) to 1e-12 relative; an
 * expert no token reaches gets exactly zero gradients; finite differences
 * of the sparse layer alone, also for settings no model file reaches
 * (expert choice per sequence, k = 3 with a capacity, hash); the float work
 * of the products does not grow with E; a layer the plan cannot hold
 * falls back to the dense form and says why. TAP through tests/tap.h. */
#include <stdio.h>
#include <string.h>

#include "ir/moe_sparse.h"
#include "ir/step_values.h"
#include "tests/compile/step_case.h"
#include "tests/model/fd.h"
#include "tests/tap.h"

#define SPARSE_MOE "../tests/model/sparse_moe.moe"

/* Float64 evaluations of one graph in two forms: the products are the same
 * sums in the same order, so the values agree to the last bit except where
 * a sum of k >= 3 slots is taken in slot order instead of expert order, or
 * an expert-choice weight gradient sums its rows in another order: a few
 * ulps. 1e-12 leaves room for those and fails on any real difference. */
#define SAME 1e-12
/* Finite differences in float64 (fd.h) are accurate to ~1e-10 relative. */
#define FD_TOL 1e-6

typedef struct pair_model {
    step_model m;
    bool drops;    /* a capacity drops assignments here: checked */
    bool unused;   /* some expert gets no token here: checked */
} pair_model;

/* Beyond STEP_MODELS: capacity at k = 2, dropout inside the experts, and
 * the test model's router kinds, expert blocks and units. */
static const pair_model PAIRS[] = {
    {{"chimera-tiny.moe", {STEP_TINY, "experts=3", "top_k=2"}}, true, false},
    {{"chimera-tiny.moe", {STEP_TINY, "experts=3", "dropout=0.1"}}, true, false},
    {{SPARSE_MOE, {STEP_TINY, "top_k=2"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "expert_block=swiglu"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "expert_block=mix"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "top_k=3", "dropout=0.2"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "top_k=2", "capacity=0.5"}}, true, false},
    {{SPARSE_MOE, {STEP_TINY, "kind=noisy", "capacity=0.75"}}, true, false},
    {{SPARSE_MOE, {STEP_TINY, "unit=sequence", "top_k=1", "capacity=1.0"}}, true, false},
    {{SPARSE_MOE, {STEP_TINY, "kind=ec"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "kind=ec", "ec_capacity=0.5", "expert_block=mix"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "kind=hash", "experts=6"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "kind=label", "experts=5"}}, false, true},
    {{SPARSE_MOE, {STEP_TINY, "kind=random", "top_k=1"}}, false, false},
    {{SPARSE_MOE, {STEP_TINY, "frozen=true", "dropout=0.1"}}, false, false},
};
#define N_PAIRS ((int)(sizeof PAIRS / sizeof PAIRS[0]))

/* ---- whole steps, both forms ---- */

static ir_interp *evaluate(const step_case *c)
{
    ir_interp *it = ir_interp_new(&c->g, IR_PREC_F64);
    if (!it || step_bind_all(it, &c->g, c->fe.model.vocab) < 0 || ir_interp_run(it, -1, c->g.diag) < 0) {
        tap_diag("interpreter: %s", it ? "failed (the error is above)" : "out of memory");
        ir_interp_free(it);
        return NULL;
    }
    return it;
}

/* Nodes of op in g, those whose scope names an expert (".experts") only
 * when in_experts. */
static int count_ops(const ir_graph *g, ir_op op, bool in_experts)
{
    int n = 0;
    for (int id = 0; id < g->n_nodes; id++)
        n += g->nodes[id].op == op && (!in_experts || (g->nodes[id].scope && strstr(g->nodes[id].scope, ".experts")));
    return n;
}

/* Every MoE layer of the sparse build took the sparse form, none of the
 * dense build did, and the sparse graph runs no expert as a dense product. */
static bool forms_as_asked(const step_case *dense, const step_case *sparse, int *grouped)
{
    bool ok = dense->s.fwd.n_moe == sparse->s.fwd.n_moe;
    for (int i = 0; ok && i < sparse->s.fwd.n_moe; i++) {
        const ir_moe_layer *a = &dense->s.fwd.moe[i], *b = &sparse->s.fwd.moe[i];
        ok = !a->sparse && !a->dense_why && b->sparse && !b->dense_why;
    }
    *grouped = count_ops(&sparse->g, IR_GROUPED_MATMUL, false);
    return ok && count_ops(&sparse->g, IR_MATMUL, true) == 0 && (sparse->s.fwd.n_moe == 0 || *grouped > 0);
}

/* max |a - b| / max |b| over n values (b the dense form's): the error
 * relative to the tensor's scale. Elementwise it would be swamped by
 * entries that are sums cancelling to far below their terms (a gradient
 * summed over the consumers of a value in another order). */
static double tensor_err(const double *a, const double *b, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= diff)) diff = d;   /* NaN sticks */
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return diff == 0 ? 0 : diff / (scale > 1e-300 ? scale : 1e-300);
}

/* The worst relative error between the named values of the two steps. */
static double named_values_err(step_case *dense, step_case *sparse, ir_interp *a, ir_interp *b, int *count)
{
    int *ra, *rb, na = ir_step_roots(&dense->s, &dense->g.arena, &ra), nb = ir_step_roots(&sparse->s, &sparse->g.arena, &rb);
    double worst = na == nb && na > 0 ? 0 : INFINITY;
    *count = na;
    for (int i = 0; worst <= SAME && i < na && na == nb; i++) {
        if (ra[i] < 0 || rb[i] < 0) {
            if (ra[i] != rb[i]) worst = INFINITY;
            continue;
        }
        int64_t n = ir_shape_numel(&dense->g.nodes[ra[i]].shape);
        double e = tensor_err(ir_interp_value(b, rb[i]), ir_interp_value(a, ra[i]), n);
        if (!(e <= worst)) worst = e;
        if (!(e <= SAME)) tap_diag("  named value %d (node %d / %d): relative error %.3g", i, ra[i], rb[i], e);
    }
    return worst;
}

static double dropped_of(const step_case *c, ir_interp *it)
{
    double sum = 0;
    for (int i = 0; i < c->s.fwd.n_moe; i++) sum += ir_interp_value(it, c->s.fwd.moe[i].routing.dropped)[0];
    return sum;
}

/* Expert e of the layer a parameter belongs to ("SCOPE.experts.E."), or -1. */
static int expert_of(const ir_lowered *l, const char *name, int *layer)
{
    for (int i = 0; i < l->n_moe; i++) {
        size_t k = strlen(l->moe[i].scope);
        if (strncmp(name, l->moe[i].scope, k) || strncmp(name + k, ".experts.", 9)) continue;
        *layer = i;
        return atoi(name + k + 9);
    }
    return -1;
}

/* Every parameter of an expert with f_e = 0 (no token chose it) has a
 * gradient of exactly 0 in the sparse step. Returns how many experts were
 * checked, or -1 when one had a nonzero gradient. */
static int unused_experts_zero(const step_case *c, ir_interp *it)
{
    int checked = 0;
    const ir_lowered *l = &c->s.fwd;
    for (int p = 0; p < c->fe.model.n_params; p++) {
        int layer, e = expert_of(l, c->fe.model.params[p].name, &layer);
        if (e < 0 || ir_interp_value(it, l->moe[layer].routing.frac)[e] != 0) continue;
        const double *gv = ir_interp_value(it, c->s.grad[p]);
        for (int64_t i = 0; i < ir_shape_numel(&c->g.nodes[c->s.grad[p]].shape); i++)
            if (gv[i] != 0) return tap_diag("  %s: gradient %g at %lld", c->fe.model.params[p].name, gv[i], (long long)i), -1;
        checked++;
    }
    return checked;
}

static void check_pair(const step_model *sm, bool drops, bool unused)
{
    step_case d, s;
    int rd = step_case_build_form(&d, sm, IR_MOE_DENSE, true), rs = step_case_build_form(&s, sm, IR_MOE_SPARSE, true);
    int grouped = 0, count = 0;
    bool built = rd == 0 && rs == 0 && ir_verify(&s.g) == 0;
    if (!built) tap_diag("  a build failed (the error is above)");
    bool forms = built && forms_as_asked(&d, &s, &grouped);
    tap_ok(forms, "%s: %d MoE layers in the sparse form (%d grouped products, no expert as a dense product)", s.name,
           s.s.fwd.n_moe, grouped);
    ir_interp *a = built ? evaluate(&d) : NULL, *b = built ? evaluate(&s) : NULL;
    double worst = a && b ? named_values_err(&d, &s, a, b, &count) : INFINITY;
    double dropped = a && b ? dropped_of(&s, b) : 0;
    tap_ok(worst <= SAME && (!drops || dropped > 0), "%s: %d named values agree with the dense form (max relative "
           "error %.2g; %g assignments dropped)", s.name, count, worst, dropped);
    int zeros = b ? unused_experts_zero(&s, b) : -1;
    if (unused || zeros > 0)
        tap_ok(zeros > 0, "%s: the %d parameters of experts no token chose have gradient exactly 0", s.name, zeros);
    ir_interp_free(a);
    ir_interp_free(b);
    step_case_free(&d);
    step_case_free(&s);
}

/* ---- one layer, finite differences ---- */

enum { LB = 2, LT = 3, LD = 4, LH = 6, LN = LB * LT, LMAX_E = 4 };

static ir_shape sh(int rank, int64_t a, int64_t b, int64_t c) { return ir_shape_of(rank, (int64_t[]){a, b, c}); }

typedef struct layer_case {
    fd_case c;
    ir_routing rt;
    int out;
} layer_case;

/* The expert MLP gelu(x w1 + b1) w2 + b2 of every expert on every token. */
static int dense_layer(layer_case *l, int x, const int *w1, const int *b1, const int *w2, const int *b2, int64_t e)
{
    ir_graph *g = &l->c.g;
    int y[LMAX_E];
    for (int64_t i = 0; i < e; i++) {
        int h = ir_gelu(g, ir_linear(g, x, w1[i], b1[i]));
        y[i] = ir_linear(g, h, w2[i], b2[i]);
    }
    return ir_moe_combine(g, l->rt.weights, y, e);
}

/* The same on the dispatched rows. */
static int sparse_layer(layer_case *l, int x, const int *w1, const int *b1, const int *w2, const int *b2, int64_t e)
{
    ir_graph *g = &l->c.g;
    ir_moe_plan p;
    if (ir_moe_plan_build(g, &l->rt, x, e, &p) < 0) return -1;
    int h = ir_gelu(g, ir_moe_grouped_linear(g, &p, p.x_rows, w1, b1));
    return ir_moe_sparse_combine(g, &p, ir_moe_grouped_linear(g, &p, h, w2, b2));
}

/* x [LB,LT,LD] -> router r over e experts -> the layer in `form` -> loss =
 * sum(out R). The leaves (x, gate, then per expert w1 b1 w2 b2) come in the
 * same order with the same draws in both forms. */
static int build_layer(layer_case *l, const fe_router *r, int64_t e, ir_moe_form form, uint64_t seed)
{
    memset(l, 0, sizeof *l);
    fd_case *c = &l->c;
    fd_init(c, seed);
    int x = fd_leaf(c, "x", sh(3, LB, LT, LD), 0, 1);
    bool learned = r->kind == FE_ROUTER_TOPK || r->kind == FE_ROUTER_EXPERT_CHOICE;
    int gate = learned ? fd_leaf(c, "gate", sh(2, e, LD, 0), 0, 1) : -1;
    ir_moe_ctx ctx = fd_router_ctx(c, LB, LT, true);
    if (ir_route(&c->g, r, x, gate, -1, e, &ctx, &l->rt) < 0) return -1;
    int w1[LMAX_E], b1[LMAX_E], w2[LMAX_E], b2[LMAX_E];
    for (int64_t i = 0; i < e; i++) {
        w1[i] = fd_leaf(c, "w1", sh(2, LD, LH, 0), 0, 0.7);
        b1[i] = fd_leaf(c, "b1", sh(1, LH, 0, 0), 0, 0.3);
        w2[i] = fd_leaf(c, "w2", sh(2, LH, LD, 0), 0, 0.7);
        b2[i] = fd_leaf(c, "b2", sh(1, LD, 0, 0), 0, 0.3);
    }
    l->out = form == IR_MOE_SPARSE ? sparse_layer(l, x, w1, b1, w2, b2, e) : dense_layer(l, x, w1, b1, w2, b2, e);
    c->loss = fd_project(c, l->out);
    return c->loss < 0 ? -1 : 0;
}

/* The ranking's distance from a tie (fd_rank_gap) for router r. */
static double layer_gap(layer_case *l, const fe_router *r)
{
    ir_interp *it = l->rt.ranked >= 0 ? fd_run(&l->c, l->rt.ranked) : NULL;
    if (!it) return l->rt.ranked < 0 ? INFINITY : 0;
    const ir_shape *s = &ir_node_at(&l->c.g, l->rt.ranked)->shape;
    bool by_col = r->kind == FE_ROUTER_EXPERT_CHOICE;
    double gap = fd_rank_gap(ir_interp_value(it, l->rt.ranked), s->dim[0], s->dim[1], by_col ? l->rt.capacity : r->k, by_col);
    ir_interp_free(it);
    return gap;
}

/* Loss and every leaf's gradient of the two forms, worst relative error. */
static double layer_forms_err(layer_case *s, const int *sg, layer_case *d)
{
    int dg[FD_MAX_LEAVES];
    if (ir_grad(&d->c.g, d->c.loss, d->c.leaf, d->c.n_leaves, dg) < 0) return INFINITY;
    ir_interp *a = fd_run(&d->c, -1), *b = fd_run(&s->c, -1);
    double worst = a && b ? tensor_err(ir_interp_value(b, s->c.loss), ir_interp_value(a, d->c.loss), 1) : INFINITY;
    for (int i = 0; a && b && i < s->c.n_leaves; i++) {
        double e = tensor_err(ir_interp_value(b, sg[i]), ir_interp_value(a, dg[i]), fd_numel(&s->c, s->c.leaf[i]));
        if (!(e <= worst)) worst = e;
    }
    ir_interp_free(a);
    ir_interp_free(b);
    return worst;
}

static void check_layer(const char *name, const fe_router *r, int64_t e)
{
    layer_case s, d;
    uint64_t seed = 300;
    for (;; seed++) {   /* draws whose ranking is clear of ties: FD moves values by ~1e-6 */
        int rc = build_layer(&s, r, e, IR_MOE_SPARSE, seed);
        if (rc < 0 || layer_gap(&s, r) > 1e-4 || seed == 339) break;
        fd_free(&s.c);
    }
    int sg[FD_MAX_LEAVES];
    double fd = s.c.loss >= 0 ? fd_check(&s.c, 1000, sg) : -1;
    tap_ok(fd >= 0 && fd <= FD_TOL, "layer %s: finite differences of the sparse form w.r.t. x, gate and experts "
           "(rel err %.2e, seed %llu)", name, fd, (unsigned long long)seed);
    double same = INFINITY;
    if (fd >= 0 && build_layer(&d, r, e, IR_MOE_DENSE, seed) == 0) same = layer_forms_err(&s, sg, &d);
    if (fd >= 0) fd_free(&d.c);
    tap_ok(same <= SAME, "layer %s: loss and every gradient as the dense form (max relative error %.2g)", name, same);
    fd_free(&s.c);
}

static fe_router router(fe_router_kind kind, int k, double capacity, fe_routing_unit unit)
{
    fe_router r = {.name = "r", .kind = kind, .k = k, .renormalize = true, .init_std = 0.02, .unit = unit,
                   .capacity_factor = capacity};
    return r;
}

static void check_layers(void)
{
    fe_router top2 = router(FE_ROUTER_TOPK, 2, 0, FE_UNIT_TOKEN), cap2 = router(FE_ROUTER_TOPK, 2, 0.5, FE_UNIT_TOKEN);
    fe_router cap3 = router(FE_ROUTER_TOPK, 3, 0.75, FE_UNIT_TOKEN), seq1 = router(FE_ROUTER_TOPK, 1, 1.0, FE_UNIT_SEQUENCE);
    fe_router ec = router(FE_ROUTER_EXPERT_CHOICE, 0, 1.0, FE_UNIT_TOKEN);
    fe_router ec_seq = router(FE_ROUTER_EXPERT_CHOICE, 0, 2.0, FE_UNIT_SEQUENCE);
    fe_router hash = router(FE_ROUTER_HASH, 1, 0.7, FE_UNIT_TOKEN), label = router(FE_ROUTER_LABEL, 1, 0, FE_UNIT_TOKEN);
    check_layer("top-2", &top2, 4);
    check_layer("top-2, capacity 0.5 (drops)", &cap2, 4);
    check_layer("top-3 of 4, capacity 0.75 (drops)", &cap3, 4);
    check_layer("top-1 per sequence, capacity 1", &seq1, 4);
    check_layer("expert choice, capacity 1", &ec, 4);
    check_layer("expert choice per sequence, capacity 2", &ec_seq, 4);
    check_layer("hash, capacity 0.7", &hash, 3);
    check_layer("label", &label, 3);
}

/* ---- float work against E ---- */

typedef struct work {
    double products;     /* 2 m k n of MATMUL and the grouped products (over their R rows) */
    double elementwise;  /* elements computed by every other op that computes (not leaves or movement) */
} work;

static work work_of(const ir_graph *g)
{
    work w = {0, 0};
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        const ir_shape *in0 = n->n_in > 0 ? &g->nodes[n->in[0]].shape : NULL;
        double out = (double)ir_shape_numel(&n->shape);
        switch (ir_op_kind(n->op)) {
        case IR_KIND_MATMUL:
            w.products += n->op == IR_GROUPED_OUTER ? 2.0 * (double)in0->dim[0] * out / (double)n->shape.dim[0]
                                                     : 2.0 * out * (double)in0->dim[in0->rank - 1];
            break;
        case IR_KIND_REDUCE: case IR_KIND_SCAN: w.elementwise += (double)ir_shape_numel(in0); break;
        case IR_KIND_UNARY: case IR_KIND_BINARY: case IR_KIND_WHERE: case IR_KIND_INDEX: w.elementwise += out; break;
        case IR_KIND_LEAF: w.elementwise += n->op == IR_RANDOM ? out : 0; break;
        case IR_KIND_MOVE: break;
        default: MOEC_UNREACHABLE();
        }
    }
    return w;
}

/* Forward and gradients (no optimizer: AdamW's work is per parameter and
 * grows with E in any form) of the test model with e experts. */
static int step_work(const char *kind, int64_t e, ir_moe_form form, work *w)
{
    char experts[32], k[32];
    snprintf(experts, sizeof experts, "experts=%lld", (long long)e);
    snprintf(k, sizeof k, "kind=%s", kind);
    step_model sm = {SPARSE_MOE, {STEP_TINY, experts, k, "top_k=2", "ec_capacity=2.0"}};
    step_case c;
    int rc = step_case_build_form(&c, &sm, form, false);
    if (rc == 0) *w = work_of(&c.g);
    step_case_free(&c);
    return rc;
}

/* From E = 4 to E = 16 at k = 2 the sparse step's products grow by the
 * router's logits alone: 2 N d E for the logits, twice that for their two
 * gradients, per layer. Everything else they do runs over the A = N k rows
 * (expert choice: E C = N cf rows, cf = 2 so that C is whole at both E). The rest of the work may grow by the plan's one-hot and scans and
 * the router's softmax, O(A E): at most BOUND elements per assignment per
 * added expert. The dense form must fail both (the test can tell). */
static void check_work(const char *kind)
{
    enum { LAYERS = 2, BOUND = 64 };
    const int64_t n = STEP_BATCH * STEP_SEQ, d = 8, a = n * 2, grow = 12;
    work s4 = {0, 0}, s16 = s4, d4 = s4, d16 = s4;
    bool ok = step_work(kind, 4, IR_MOE_SPARSE, &s4) == 0 && step_work(kind, 16, IR_MOE_SPARSE, &s16) == 0 &&
              step_work(kind, 4, IR_MOE_DENSE, &d4) == 0 && step_work(kind, 16, IR_MOE_DENSE, &d16) == 0;
    double router = (double)(LAYERS * 6 * n * d * grow), rest = (double)(LAYERS * BOUND * a * grow);
    tap_ok(ok && s16.products - s4.products == router && d16.products - d4.products > 4 * router,
           "%s, E 4 -> 16: the sparse step's products grow by the router's %g only (%g -> %g; dense %g -> %g)", kind,
           router, s4.products, s16.products, d4.products, d16.products);
    tap_ok(ok && s16.elementwise - s4.elementwise <= rest && d16.elementwise - d4.elementwise > rest,
           "%s, E 4 -> 16: the rest grows by %.1f elements per assignment per added expert (bound %d; dense %.1f)",
           kind, (s16.elementwise - s4.elementwise) / (double)(LAYERS * a * grow), BOUND,
           (d16.elementwise - d4.elementwise) / (double)(LAYERS * a * grow));
}

/* ---- the dense fallback ---- */

/* More than 2^24 tokens: the plan's f32 token ids would not be exact, so
 * every layer takes the dense form and says why. Only built, not run. */
static void check_fallback(void)
{
    rt_frontend fe;
    ir_graph g;
    ir_lowered l;
    char path[512];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/model/sparse_moe.moe", top ? top : ".");
    bool ok = ir_graph_init(&g) == 0;
    ok = rt_frontend_elaborate(&fe, path, NULL, 0, 0) == 0 && ok;
    g.diag = &fe.diag;
    ir_lower_options opt = {INT64_C(1) << 22, 8, false, IR_MOE_SPARSE, false};
    ok = ok && ir_lower(&g, &fe.model, &opt, &l) == 0 && l.n_moe == 2;
    for (int i = 0; ok && i < l.n_moe; i++) ok = !l.moe[i].sparse && l.moe[i].dense_why && strstr(l.moe[i].dense_why, "2^24");
    tap_ok(ok && count_ops(&g, IR_GROUPED_MATMUL, false) == 0, "B 2^22, T 8: both layers fall back to the dense form: %s",
           ok ? l.moe[0].dense_why : "failed (the error is above)");
    ir_graph_free(&g);
    rt_frontend_free(&fe);
}

int main(void)
{
    for (int i = 0; i < STEP_N_MODELS; i++) check_pair(&STEP_MODELS[i], false, false);
    for (int i = 0; i < N_PAIRS; i++) check_pair(&PAIRS[i].m, PAIRS[i].drops, PAIRS[i].unused);
    check_layers();
    check_work("topk");
    check_work("ec");
    check_fallback();
    return tap_done();
}
