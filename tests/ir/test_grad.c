/* tests/ir/test_grad.c -- ir_grad against central finite differences, in
 * float64, for every differentiable primitive op (broadcasting variants,
 * every axis) and for composites (softmax, layernorm, a tanh MLP, a top-k
 * router), on fresh Philox inputs that are never zero. The loss is
 * sum(out * R) with R random, so every output element matters. Also: exact
 * zeros (unreachable wrt, masked WHERE branch, STOP_GRAD) and accumulation.
 * Ends with the coverage of every op of ops.def by a case whose output is
 * that op, or its place in the "no gradient" list below. */
#include <stdarg.h>
#include <stdio.h>

#include "ir/autodiff.h"
#include "ir/ops.h"   /* the VJP rules, to check the no-gradient list against */
#include "tests/ir/helpers.h"

static op_cover fd = {.what = "finite-difference case"};

/* Ops through which no gradient passes (ir_vjp_none), so there is nothing
 * for finite differences to check; the list is checked against the ops
 * table. Every other op needs a finite-difference case. */
static const op_exempt no_gradient[] = {
    {IR_INPUT, "a leaf bound to data"},
    {IR_PARAM, "a leaf: ir_grad's wrt, never an operand's gradient"},
    {IR_CONST, "a constant"},
    {IR_IOTA, "a constant"},
    {IR_RANDOM, "draws depend on the step only as a key"},
    {IR_STOP_GRAD, "zero by definition (exact-zero cases)"},
    {IR_CMP, "piecewise constant"},
    {IR_TOPK, "indices, piecewise constant"},
    {IR_ONE_HOT, "a function of indices"},
};

enum { MAX_LEAVES = 12, MAX_WRT = 6 };

/* Central differences: step H, relative tolerance RTOL (with ATOL for
 * gradients near zero). Truncation error ~H^2 f''' and rounding ~1e-16 L/H
 * are both ~1e-10 here, far inside 1e-6. ATOL is the same ~1e-10 error bound
 * with a 100x margin, for entries whose exact gradient is ~0. */
static const double H = 1e-5, RTOL = 1e-6, ATOL = 1e-8;
/* A kink closer than this to a probe value is skipped, not tested: FD would
 * straddle it (max/reduce_max choose a different side). */
static const double KINK_GAP = 1e-4;   /* 10 H */

typedef struct fd_case {
    ir_graph g;
    int wrt[MAX_WRT], n_wrt;
    int leaf[MAX_LEAVES], n_leaves;
    double *val[MAX_LEAVES];
    uint32_t stream;
    int probe;   /* node whose values must stay away from kinks, or -1 */
} fd_case;

static void fd_begin(fd_case *c)
{
    memset(c, 0, sizeof *c);
    graph_init(&c->g);
    c->probe = -1;
}

static int add_leaf(fd_case *c, int node, double *values)
{
    c->leaf[c->n_leaves] = node;
    c->val[c->n_leaves++] = values;
    return node;
}

/* A wrt parameter with fresh random values; positive ones in [0.5, 1.5). */
static int P(fd_case *c, ir_shape s, bool positive)
{
    int node = ir_param(&c->g, c->n_leaves, "p", s);
    int64_t n = ir_shape_numel(&s);
    double *v = malloc((size_t)n * sizeof *v);
    fill_random(v, n, 2024, c->stream++);
    for (int64_t i = 0; positive && i < n; i++) v[i] = fabs(v[i]);
    c->wrt[c->n_wrt++] = node;
    return add_leaf(c, node, v);
}

/* An i32 [r, k] index input bound to the given values. */
static int IDX(fd_case *c, int64_t r, int64_t k, const double *values)
{
    int node = ir_input(&c->g, IR_INPUT_TOKENS, SH(r, k));
    double *v = malloc((size_t)(r * k) * sizeof *v);
    memcpy(v, values, (size_t)(r * k) * sizeof *v);
    return add_leaf(c, node, v);
}

static double *dup(const double *v, int64_t n)
{
    double *d = malloc((size_t)n * sizeof *d);
    memcpy(d, v, (size_t)n * sizeof *d);
    return d;
}

static bool run(ir_interp *it, const fd_case *c, int node)
{
    for (int i = 0; i < c->n_leaves; i++)
        if (ir_interp_bind(it, c->leaf[i], c->val[i])) return false;
    return ir_interp_run(it, node, c->g.diag) == 0;
}

/* Every probe value is exactly 0 (the chosen element itself) or at least
 * KINK_GAP from 0. */
static bool near_kink(ir_interp *it, const fd_case *c)
{
    if (c->probe < 0 || !run(it, c, c->probe)) return false;
    const double *v = ir_interp_value(it, c->probe);
    for (int64_t i = 0, n = ir_shape_numel(&c->g.nodes[c->probe].shape); i < n; i++)
        if (v[i] != 0 && fabs(v[i]) < KINK_GAP) return true;
    return false;
}

/* d loss / d wrt[w] by central differences, element by element. */
static bool numeric_grad(ir_interp *it, fd_case *c, int loss, int w, double *num)
{
    double *v = c->val[w];   /* wrt[w] is leaf w: P adds wrt params as leaves in order */
    for (int64_t i = 0, n = ir_shape_numel(&c->g.nodes[c->wrt[w]].shape); i < n; i++) {
        double x = v[i], lp, lm;
        v[i] = x + H;
        if (!run(it, c, loss)) return false;
        lp = ir_interp_value(it, loss)[0];
        v[i] = x - H;
        if (!run(it, c, loss)) return false;
        lm = ir_interp_value(it, loss)[0];
        v[i] = x;
        num[i] = (lp - lm) / (2 * H);
    }
    return true;
}

/* sum(out * R) with R a random leaf of out's shape: a scalar loss in which
 * every output element has its own weight. */
static int random_weighted_sum(fd_case *c, int out)
{
    if (out < 0) return -1;
    ir_shape s = c->g.nodes[out].shape;
    int64_t n = ir_shape_numel(&s);
    double *r = malloc((size_t)n * sizeof *r);
    fill_random(r, n, 99, 1000);
    int weights = add_leaf(c, ir_param(&c->g, 100, "R", s), r);
    return ir_sum(&c->g, ir_reshape(&c->g, ir_binary(&c->g, IR_MUL, out, weights), SH(n)), 0, false);
}

/* loss = sum(out * R); checks d loss / d each wrt against FD; frees c. */
static void fd_check(fd_case *c, int out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fd_check(fd_case *c, int out, const char *fmt, ...)
{
    char name[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int grad[MAX_WRT], loss = random_weighted_sum(c, out);
    bool ok = loss >= 0 && ir_grad(&c->g, loss, c->wrt, c->n_wrt, grad) == 0 && ir_verify(&c->g) == 0;
    if (!ok) tap_diag("  build: %s", graph_error(&c->g));
    ir_interp *it = ok ? ir_interp_new(&c->g, IR_PREC_F64) : NULL;
    if (it && near_kink(it, c)) {
        printf("ok %d - grad %s # SKIP inputs within %g of a kink\n", ++tap_count_, name, KINK_GAP);
        goto done;
    }
    for (int w = 0; ok && w < c->n_wrt; w++) {
        int64_t n = ir_shape_numel(&c->g.nodes[c->wrt[w]].shape);
        double *num = malloc((size_t)n * sizeof *num), *ana;
        ok = run(it, c, -1) && (ana = dup(ir_interp_value(it, grad[w]), n)) != NULL;
        if (ok) {
            ok = numeric_grad(it, c, loss, w, num);
            if (ok && !close_arrays(ana, num, n, RTOL, ATOL)) {
                tap_diag("  wrt operand %d (analytic vs numeric)", w);
                ok = false;
            }
            free(ana);
        }
        free(num);
    }
    if (moec_diag_errors(c->g.diag)) tap_diag("  %s", graph_error(&c->g));
    if (ok) cover(&fd, &c->g, out);
    tap_ok(ok, "grad %s", name);
done:
    ir_interp_free(it);
    for (int i = 0; i < c->n_leaves; i++) free(c->val[i]);
    ir_graph_free(&c->g);
}

/* ---- primitive ops ---- */

static void unary_cases(void)
{
    static const struct { ir_op op; bool positive; } ops[] = {
        {IR_NEG, false}, {IR_EXP, false}, {IR_LOG, true}, {IR_TANH, false}, {IR_SQRT, true}, {IR_RSQRT, true},
        {IR_ERF, false}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        fd_case c;
        fd_begin(&c);
        int x = P(&c, SH(2, 3), ops[k].positive);
        fd_check(&c, ir_unary(&c.g, ops[k].op, x), "%s x[2,3]%s", ir_op_name(ops[k].op), ops[k].positive ? " > 0" : "");
    }
    fd_case c;
    fd_begin(&c);
    fd_check(&c, ir_cast(&c.g, P(&c, SH(4), false), IR_F32), "cast f32 -> f32 x[4]");
}

static void binary_cases(void)
{
    static const ir_op ops[] = {IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MAX};
    static const struct { ir_shape a, b; const char *name; } shapes[] = {
        {{3, {2, 3, 4}}, {1, {4}}, "[2,3,4] . [4]"},
        {{3, {2, 1, 4}}, {2, {3, 1}}, "[2,1,4] . [3,1]"},
        {{1, {3}}, {2, {2, 3}}, "[3] . [2,3]"},
        {{0, {0}}, {2, {2, 3}}, "[] . [2,3]"},
        {{2, {2, 3}}, {2, {2, 3}}, "[2,3] . [2,3]"},
        {{2, {2, 3}}, {2, {1, 1}}, "[2,3] . [1,1]"},
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            fd_case c;
            fd_begin(&c);
            int a = P(&c, shapes[s].a, false), b = P(&c, shapes[s].b, false);
            if (ops[k] == IR_MAX) c.probe = ir_binary(&c.g, IR_SUB, a, b);   /* a tie is a kink */
            fd_check(&c, ir_binary(&c.g, ops[k], a, b), "%s %s", ir_op_name(ops[k]), shapes[s].name);
        }
}

static void where_cases(void)
{
    for (int variant = 0; variant < 2; variant++) {
        fd_case c;
        fd_begin(&c);
        int a = P(&c, SH(2, 3), false), b = P(&c, variant ? SH(2, 1) : SH(3), false);
        int m = variant ? ir_iota(&c.g, SH(2, 1), 0) : ir_compare(&c.g, IR_CMP_GT, ir_iota(&c.g, SH(2, 3), 1), ir_scalar(&c.g, 0.5));
        fd_check(&c, ir_where(&c.g, m, a, b), "where cond%s a[2,3] b%s", variant ? "[2,1]" : "[2,3]", variant ? "[2,1]" : "[3]");
    }
}

static void reduce_cases(void)
{
    for (int op = 0; op < 3; op++)
        for (int axis = -1; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++) {
                if (op == 2 && keep) continue;   /* cumsum has no keepdim */
                fd_case c;
                fd_begin(&c);
                int x = P(&c, SH(2, 3, 4), false), y;
                if (op == 0) y = ir_sum(&c.g, x, axis, keep);
                else if (op == 1) {
                    y = ir_reduce_max(&c.g, x, axis, keep);
                    c.probe = ir_binary(&c.g, IR_SUB, x, ir_reduce_max(&c.g, x, axis, true));
                } else y = ir_cumsum(&c.g, x, axis);
                fd_check(&c, y, "%s x[2,3,4] axis %d%s", op == 0 ? "sum" : op == 1 ? "reduce_max" : "cumsum", axis,
                         keep ? " keepdim" : "");
            }
}

static void movement_cases(void)
{
    static const int perms[][3] = {{0, 1, 2}, {2, 0, 1}, {1, 0, 2}, {0, 2, 1}, {1, 2, 0}, {2, 1, 0}};
    fd_case c;
    for (size_t k = 0; k < 6; k++) {
        fd_begin(&c);
        fd_check(&c, ir_permute(&c.g, P(&c, SH(2, 3, 4), false), perms[k]), "permute x[2,3,4] (%d,%d,%d)",
                 perms[k][0], perms[k][1], perms[k][2]);
    }
    for (int axis = 0; axis < 3; axis++)
        for (int start = 0; start < 2; start++) {
            fd_begin(&c);
            int x = P(&c, SH(3, 4, 5), false);
            int64_t len = 2;
            fd_check(&c, ir_slice(&c.g, x, axis, start, len), "slice x[3,4,5] axis %d [%d,%lld)", axis, start,
                     (long long)(start + len));
            fd_begin(&c);
            ir_shape sb = SH(2, 3, 4);
            sb.dim[axis] = start + 1;
            int a = P(&c, SH(2, 3, 4), false), b = P(&c, sb, false);
            fd_check(&c, ir_concat(&c.g, a, b, axis), "concat axis %d [2,3,4] and %d along it", axis, start + 1);
        }
    fd_begin(&c);
    fd_check(&c, ir_slice(&c.g, P(&c, SH(2, 5), false), 1, 3, 2), "slice x[2,5] axis 1 at the end");
    fd_begin(&c);
    fd_check(&c, ir_reshape(&c.g, P(&c, SH(2, 3, 4), false), SH(4, 6)), "reshape [2,3,4] -> [4,6]");
    fd_begin(&c);
    fd_check(&c, ir_broadcast(&c.g, P(&c, SH(3, 1), false), SH(2, 3, 4)), "broadcast [3,1] -> [2,3,4]");
    fd_begin(&c);
    fd_check(&c, ir_broadcast(&c.g, P(&c, SCALAR, false), SH(2, 2)), "broadcast [] -> [2,2]");
}

static void matmul_cases(void)
{
    static const struct { ir_shape a, b; const char *name; } shapes[] = {
        {{2, {2, 3}}, {2, {3, 4}}, "[2,3] x [3,4]"},
        {{3, {2, 3, 4}}, {2, {4, 5}}, "[2,3,4] x [4,5]"},
        {{2, {3, 4}}, {3, {2, 4, 2}}, "[3,4] x [2,4,2]"},
        {{4, {2, 1, 3, 4}}, {3, {3, 4, 2}}, "[2,1,3,4] x [3,4,2]"},
        {{3, {1, 3, 4}}, {3, {2, 4, 2}}, "[1,3,4] x [2,4,2]"},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        fd_case c;
        fd_begin(&c);
        int a = P(&c, shapes[s].a, false), b = P(&c, shapes[s].b, false);
        fd_check(&c, ir_matmul(&c.g, a, b), "matmul %s", shapes[s].name);
    }
}

static void index_cases(void)
{
    static const double rows[8] = {4, 1, 1, 0, 4, 4, 2, 1};        /* repeats: scatter-add accumulates */
    static const double cols[6] = {2, 0, 2, 4, 4, 1};
    fd_case c;
    fd_begin(&c);
    int t = P(&c, SH(5, 3), false);
    fd_check(&c, ir_gather(&c.g, t, IDX(&c, 2, 4, rows)), "gather table[5,3] idx[2,4] with repeats");
    fd_begin(&c);
    int src = P(&c, SH(2, 4, 3), false);
    fd_check(&c, ir_scatter_add(&c.g, src, IDX(&c, 2, 4, rows), 5), "scatter_add src[2,4,3] idx[2,4] -> [5,3]");
    fd_begin(&c);
    int x = P(&c, SH(2, 5), false);
    fd_check(&c, ir_take(&c.g, x, IDX(&c, 2, 3, cols)), "take x[2,5] idx[2,3] with repeats");
    fd_begin(&c);
    int s = P(&c, SH(2, 3), false);
    fd_check(&c, ir_put(&c.g, s, IDX(&c, 2, 3, cols), 5), "put src[2,3] idx[2,3] -> [2,5] with repeats");
}

/* An i32 [e] counts input bound to the given values. */
static int COUNTS(fd_case *c, int64_t e, const double *values)
{
    int node = ir_input(&c->g, IR_INPUT_DOMAIN, SH(e));
    return add_leaf(c, node, dup(values, e));
}

/* Groups of 2, 0 and 3 rows of 6 (an empty group, a row past the groups)
 * and of 3, 1 and 2 (every row in a group). */
static void grouped_cases(void)
{
    static const double counts[2][3] = {{2, 0, 3}, {3, 1, 2}};
    for (int k = 0; k < 2; k++) {
        fd_case c;
        fd_begin(&c);
        int x = P(&c, SH(6, 3), false), w = P(&c, SH(3, 3, 2), false);
        fd_check(&c, ir_grouped_matmul(&c.g, x, w, COUNTS(&c, 3, counts[k])),
                 "grouped_matmul x[6,3] w[3,3,2] counts {%g,%g,%g}", counts[k][0], counts[k][1], counts[k][2]);
        fd_begin(&c);
        x = P(&c, SH(6, 3), false);
        int dy = P(&c, SH(6, 2), false);
        fd_check(&c, ir_grouped_outer(&c.g, x, dy, COUNTS(&c, 3, counts[k])),
                 "grouped_outer x[6,3] dy[6,2] counts {%g,%g,%g}", counts[k][0], counts[k][1], counts[k][2]);
    }
}

/* ---- composites ---- */

/* softmax along axis: exp(x - max) / sum. The max's gradient cancels
 * (softmax is shift-invariant), so there is no kink to skip. */
static int softmax(ir_graph *g, int x, int axis)
{
    int e = ir_unary(g, IR_EXP, ir_binary(g, IR_SUB, x, ir_reduce_max(g, x, axis, true)));
    return ir_binary(g, IR_DIV, e, ir_sum(g, e, axis, true));
}

/* mean over the last axis, kept. */
static int mean_last(ir_graph *g, int x)
{
    int64_t n = g->nodes[x].shape.dim[g->nodes[x].shape.rank - 1];
    return ir_binary(g, IR_DIV, ir_sum(g, x, -1, true), ir_scalar(g, (double)n));
}

static int layernorm(ir_graph *g, int x, int gamma, int beta)
{
    int xc = ir_binary(g, IR_SUB, x, mean_last(g, x));
    int var = mean_last(g, ir_binary(g, IR_MUL, xc, xc));
    /* 1e-5: GPT-2's layernorm epsilon, a model constant (not a tolerance) */
    int rstd = ir_unary(g, IR_RSQRT, ir_binary(g, IR_ADD, var, ir_scalar(g, 1e-5)));
    return ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, ir_binary(g, IR_MUL, xc, rstd), gamma), beta);
}

static int transpose_last(ir_graph *g, int x)
{
    return ir_permute(g, x, (int[]){0, 2, 1});
}

static void composite_cases(void)
{
    fd_case c;
    fd_begin(&c);
    fd_check(&c, softmax(&c.g, P(&c, SH(3, 5), false), -1), "softmax x[3,5] axis -1");
    fd_begin(&c);
    fd_check(&c, softmax(&c.g, P(&c, SH(3, 5), false), 0), "softmax x[3,5] axis 0");
    fd_begin(&c);
    int x = P(&c, SH(4, 6), false), gm = P(&c, SH(6), false), bt = P(&c, SH(6), false);
    fd_check(&c, layernorm(&c.g, x, gm, bt), "layernorm x[4,6] gamma[6] beta[6]");

    fd_begin(&c);
    x = P(&c, SH(4, 3), false);
    int w1 = P(&c, SH(3, 5), false), b1 = P(&c, SH(5), false), w2 = P(&c, SH(5, 2), false), b2 = P(&c, SH(2), false);
    int h = ir_unary(&c.g, IR_TANH, ir_binary(&c.g, IR_ADD, ir_matmul(&c.g, x, w1), b1));
    fd_check(&c, ir_binary(&c.g, IR_ADD, ir_matmul(&c.g, h, w2), b2), "mlp tanh x[4,3] w1[3,5] w2[5,2]");

}

static void model_cases(void)
{
    fd_case c;
    int x;
    /* attention: softmax(q k^T / sqrt(d)) v over a batch of 2. */
    fd_begin(&c);
    int q = P(&c, SH(2, 3, 4), false), k = P(&c, SH(2, 3, 4), false), v = P(&c, SH(2, 3, 4), false);
    int s = ir_binary(&c.g, IR_MUL, ir_matmul(&c.g, q, transpose_last(&c.g, k)), ir_scalar(&c.g, 0.5));
    fd_check(&c, ir_matmul(&c.g, softmax(&c.g, s, -1), v), "attention q,k,v[2,3,4]");

    /* cross-entropy: logsumexp(logits) - logits[target], per row. */
    static const double targets[4] = {2, 0, 4, 2};
    fd_begin(&c);
    int lg = P(&c, SH(4, 5), false);
    int m = ir_unary(&c.g, IR_STOP_GRAD, ir_reduce_max(&c.g, lg, -1, true));
    int lse = ir_binary(&c.g, IR_ADD, m, ir_unary(&c.g, IR_LOG, ir_sum(&c.g, ir_unary(&c.g, IR_EXP, ir_binary(&c.g, IR_SUB, lg, m)), -1, true)));
    fd_check(&c, ir_binary(&c.g, IR_SUB, lse, ir_take(&c.g, lg, IDX(&c, 4, 1, targets))), "cross-entropy logits[4,5]");

    /* top-2 router: renormalised top-k softmax weights mixing expert rows. */
    fd_begin(&c);
    x = P(&c, SH(4, 3), false);
    int wr = P(&c, SH(3, 4), false), ex = P(&c, SH(4, 3), false);
    int logits = ir_matmul(&c.g, x, wr), top = ir_topk(&c.g, logits, 2);
    int wt = ir_take(&c.g, softmax(&c.g, logits, -1), top);
    wt = ir_binary(&c.g, IR_DIV, wt, ir_sum(&c.g, wt, -1, true));
    fd_check(&c, ir_matmul(&c.g, ir_put(&c.g, wt, top, 4), ex), "top-2 router x[4,3] wr[3,4] experts[4,3]");

    /* one node feeding several consumers: gradients add. */
    fd_begin(&c);
    x = P(&c, SH(5), false);
    int sq = ir_binary(&c.g, IR_MUL, x, x);
    fd_check(&c, ir_binary(&c.g, IR_ADD, ir_binary(&c.g, IR_MUL, sq, ir_unary(&c.g, IR_EXP, x)), ir_cumsum(&c.g, sq, 0)),
             "x used four times: x*x*exp(x) + cumsum(x*x)");
}

/* ---- exact zeros ---- */

static bool all_zero(const double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (v[i] != 0.0 || signbit(v[i])) return false;
    return true;
}

/* where(mask, a, exp(b)) with mask all true: b's gradient is exactly 0.
 * The where node routes with WHERE, not a multiply by the mask, so even an
 * infinite branch value gets exactly 0 (asked for directly: wrt `inf`).
 * Further up, exp's VJP would give 0 * inf = NaN there, as in any
 * framework: mask before exp when that matters. */
static void exact_zero_cases(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3)), b = ir_param(&g, 1, "b", SH(2, 3)), u = ir_param(&g, 2, "unused", SH(4));
    int s = ir_param(&g, 3, "stopped", SH(3)), c = ir_param(&g, 4, "c", SH(3));
    int mask = ir_compare(&g, IR_CMP_GT, ir_iota(&g, SH(2, 3), 0), ir_scalar(&g, -1));   /* all true */
    int inf = ir_unary(&g, IR_EXP, ir_binary(&g, IR_MUL, ir_unary(&g, IR_NEG, ir_binary(&g, IR_MUL, c, c)), ir_scalar(&g, -1e4)));
    int y = ir_binary(&g, IR_ADD, ir_where(&g, mask, a, ir_unary(&g, IR_EXP, b)), ir_unary(&g, IR_STOP_GRAD, s));
    y = ir_binary(&g, IR_ADD, y, ir_where(&g, mask, a, inf));
    int loss = ir_sum(&g, ir_reshape(&g, y, SH(6)), 0, false);
    int wrt[5] = {a, b, u, s, inf}, grad[5];
    bool ok = ir_grad(&g, loss, wrt, 5, grad) == 0 && ir_verify(&g) == 0;
    tap_ok(ok && g.nodes[grad[2]].op == IR_CONST && ir_attr_value(&g.nodes[grad[2]]) == 0.0,
           "unreachable wrt gets a CONST 0 node of its shape");
    ir_interp *it = ir_interp_new(&g, IR_PREC_F64);
    double av[6], bv[6], uv[4], sv[3], cv[3];
    fill_random(av, 6, 5, 0);
    fill_random(bv, 6, 5, 1);
    fill_random(uv, 4, 5, 2);
    fill_random(sv, 3, 5, 3);
    fill_random(cv, 3, 5, 4);
    ok = ok && ir_interp_bind(it, a, av) == 0 && ir_interp_bind(it, b, bv) == 0 && ir_interp_bind(it, u, uv) == 0 &&
         ir_interp_bind(it, s, sv) == 0 && ir_interp_bind(it, c, cv) == 0 && ir_interp_run(it, -1, g.diag) == 0;
    if (moec_diag_errors(g.diag)) tap_diag("  %s", graph_error(&g));
    tap_ok(ok && isinf(ir_interp_value(it, inf)[0]), "the masked branch value is inf");
    tap_ok(ok && all_zero(ir_interp_value(it, grad[2]), 4), "unreachable wrt: gradient exactly +0.0");
    tap_ok(ok && all_zero(ir_interp_value(it, grad[1]), 6), "where-masked branch exp(b): d b exactly +0.0");
    tap_ok(ok && all_zero(ir_interp_value(it, grad[4]), 3), "where-masked branch at inf: gradient exactly +0.0");
    tap_ok(ok && all_zero(ir_interp_value(it, grad[3]), 3), "stop_grad: gradient exactly +0.0");
    const double twos[6] = {2, 2, 2, 2, 2, 2};
    tap_ok(ok && equal_values(ir_interp_value(it, grad[0]), twos, 6), "where-chosen branch used twice: gradient exactly 2");
    ir_interp_free(it);
    ir_graph_free(&g);
}

/* MAX ties go to the first operand; REDUCE_MAX to the first maximal element. */
static void tie_cases(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(4)), b = ir_param(&g, 1, "b", SH(4));
    int loss = ir_binary(&g, IR_ADD, ir_sum(&g, ir_binary(&g, IR_MAX, a, b), 0, false), ir_reduce_max(&g, a, 0, false));
    int wrt[2] = {a, b}, grad[2];
    bool ok = ir_grad(&g, loss, wrt, 2, grad) == 0;
    ir_interp *it = ir_interp_new(&g, IR_PREC_F64);
    double av[4] = {1, 3, 3, 2}, bv[4] = {1, 0, 3, 5};
    ok = ok && ir_interp_bind(it, a, av) == 0 && ir_interp_bind(it, b, bv) == 0 && ir_interp_run(it, -1, g.diag) == 0;
    /* max: ties at 0 and 2 go to a; a wins at 1; b at 3. reduce_max: first 3 (index 1). */
    tap_ok(ok && equal_values(ir_interp_value(it, grad[0]), (double[]){1, 2, 1, 0}, 4), "ties: max to the first operand, reduce_max to the first maximum (a)");
    tap_ok(ok && equal_values(ir_interp_value(it, grad[1]), (double[]){0, 0, 0, 1}, 4), "ties: max gives b nothing on a tie");
    ir_interp_free(it);
    ir_graph_free(&g);
}

static void error_cases(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(3)), grad;
    tap_ok(ir_grad(&g, a, &a, 1, &grad) == -1 && strstr(graph_error(&g), "scalar"), "ir_grad: a non-scalar loss is refused: %s",
           graph_error(&g));
    graph_clear_error(&g);
    int l = ir_sum(&g, a, 0, false);
    tap_ok(ir_grad(&g, l, (int[]){-1}, 1, &grad) == -1 && grad == -1, "ir_grad: a poisoned wrt gives -1");
    tap_ok(ir_grad(&g, 99, &a, 1, &grad) == -1 && !strcmp(graph_error(&g), "moec: error: ir_grad: loss %99 is not a node"),
           "ir_grad: a loss that is not a node is refused, naming no node: %s", graph_error(&g));
    graph_clear_error(&g);
    tap_ok(ir_grad(&g, l, (int[]){77}, 1, &grad) == -1 && strstr(graph_error(&g), "wrt[0] = %77 is not a node"),
           "ir_grad: a wrt that is not a node is refused: %s", graph_error(&g));
    ir_graph_free(&g);
}

int main(void)
{
    unary_cases();
    binary_cases();
    where_cases();
    reduce_cases();
    movement_cases();
    matmul_cases();
    index_cases();
    grouped_cases();
    composite_cases();
    model_cases();
    exact_zero_cases();
    tie_cases();
    error_cases();
    size_t n_none = sizeof no_gradient / sizeof no_gradient[0];
    for (size_t i = 0; i < n_none; i++)
        tap_ok(ir_ops[no_gradient[i].op].vjp == ir_vjp_none, "no gradient through %s: its VJP rule is ir_vjp_none",
               ir_op_name(no_gradient[i].op));
    check_coverage(&fd, no_gradient, n_none);
    sink_close();
    return tap_done();
}
