/* tests/ir/test_interp.c -- the reference interpreter on small hand-checked
 * cases for every op, run errors (bad indices, unbound leaves, a dtype it
 * does not compute) instead of crashes, float32 mode rounding and its
 * agreement with float64 on a small composite, bit-for-bit determinism, and
 * RANDOM against ir_philox_*. Ends with the coverage of every op of ops.def
 * by a hand-checked value. */
#include <math.h>
#include <stdio.h>

#include "tests/ir/helpers.h"

static op_cover checked = {.what = "hand-checked interpreter value"};

/* Evaluates node `out` of g with leaves bound from `vals` (one array per
 * leaf id in `leaves`, n_leaves of them); copies the result into res. */
static bool eval(const ir_graph *g, int out, ir_precision prec, const int *leaves, const double *const *vals,
                 int n_leaves, double *res, moec_diag *err)
{
    ir_interp *it = ir_interp_new(g, prec);
    bool ok = it != NULL;
    for (int i = 0; ok && i < n_leaves; i++) ok = ir_interp_bind(it, leaves[i], vals[i]) == 0;
    ok = ok && ir_interp_run(it, out, err) == 0;
    if (ok) memcpy(res, ir_interp_value(it, out), (size_t)ir_shape_numel(&g->nodes[out].shape) * sizeof *res);
    ir_interp_free(it);
    return ok;
}

static ir_graph G;
static int A, B, I;   /* f32 [2,3] a = 1..6, f32 [3] b = 10,20,30, i32 [2,3] tokens */
static const double a_vals[6] = {1, 2, 3, 4, 5, 6}, b_vals[3] = {10, 20, 30}, i_vals[6] = {2, 0, 2, 1, 1, 0};

/* Evaluates x of G in f64 and compares with want exactly (rtol 1e-15): the
 * hand-checked values are small integers and short sums (exact in float64),
 * the same libm call (exp, log, tanh) or erf's 18-digit tabled values (within
 * an ulp, 2.2e-16), so 1e-15 (~4 ulps) only absorbs a decimal constant. */
static bool value_is(int x, const double *want, int64_t n)
{
    double got[64];
    int leaves[] = {A, B, I};
    const double *vals[] = {a_vals, b_vals, i_vals};
    if (x < 0) {
        tap_diag("  build failed: %s", graph_error(&G));
        return false;
    }
    moec_diag *err = sink();
    if (ir_shape_numel(&G.nodes[x].shape) != n) {
        tap_diag("  %lld elements, want %lld", (long long)ir_shape_numel(&G.nodes[x].shape), (long long)n);
        return false;
    }
    if (!eval(&G, x, IR_PREC_F64, leaves, vals, 3, got, err)) {
        tap_diag("  run failed: %s", sink_text(err));
        return false;
    }
    cover(&checked, &G, x);
    return close_arrays(got, want, n, 1e-15, 0);
}
#define VALUE_IS(x, ...) value_is(x, (double[]){__VA_ARGS__}, sizeof((double[]){__VA_ARGS__}) / sizeof(double))

/* log(2 - A) = [[0, -inf, NaN], [NaN, NaN, NaN]]: the first row's NaN comes
 * last, after a larger term, and must still make the maximum NaN. */
static bool max_is_nan(void)
{
    double got[2];
    int leaves[] = {A, B, I};
    const double *vals[] = {a_vals, b_vals, i_vals};
    int x = ir_unary(&G, IR_LOG, ir_binary(&G, IR_SUB, ir_scalar(&G, 2), A));
    int m = ir_reduce_max(&G, x, 1, false);
    if (m < 0 || !eval(&G, m, IR_PREC_F64, leaves, vals, 3, got, sink())) return false;
    cover(&checked, &G, m);
    return isnan(got[0]) && isnan(got[1]);
}

static void test_elementwise(void)
{
    tap_ok(VALUE_IS(A, 1, 2, 3, 4, 5, 6), "interp: param is its bound value");
    tap_ok(VALUE_IS(I, 2, 0, 2, 1, 1, 0), "interp: input is its bound value");
    tap_ok(VALUE_IS(ir_const(&G, -0.25, SH(2, 2)), -0.25, -0.25, -0.25, -0.25), "interp: const");
    tap_ok(VALUE_IS(ir_unary(&G, IR_NEG, A), -1, -2, -3, -4, -5, -6), "interp: neg");
    tap_ok(VALUE_IS(ir_binary(&G, IR_ADD, A, B), 11, 22, 33, 14, 25, 36), "interp: add [2,3] + [3]");
    tap_ok(VALUE_IS(ir_binary(&G, IR_SUB, B, A), 9, 18, 27, 6, 15, 24), "interp: sub [3] - [2,3]");
    int col = ir_reshape(&G, ir_slice(&G, B, 0, 0, 2), SH(2, 1));
    tap_ok(VALUE_IS(ir_binary(&G, IR_MUL, A, col), 10, 20, 30, 80, 100, 120), "interp: mul [2,3] * [2,1]");
    tap_ok(VALUE_IS(ir_binary(&G, IR_DIV, A, ir_scalar(&G, 4)), .25, .5, .75, 1, 1.25, 1.5), "interp: div by scalar");
    int c = ir_const(&G, 3.5, SH(3));
    tap_ok(VALUE_IS(ir_binary(&G, IR_MAX, A, c), 3.5, 3.5, 3.5, 4, 5, 6), "interp: max");
    tap_ok(VALUE_IS(ir_compare(&G, IR_CMP_LE, A, ir_scalar(&G, 3)), 1, 1, 1, 0, 0, 0), "interp: cmp le");
    tap_ok(VALUE_IS(ir_compare(&G, IR_CMP_NE, I, ir_cast(&G, ir_scalar(&G, 2), IR_I32)), 0, 1, 0, 1, 1, 1),
           "interp: cmp ne on i32");
    tap_ok(VALUE_IS(ir_where(&G, ir_compare(&G, IR_CMP_GT, A, ir_scalar(&G, 2.5)), A, ir_unary(&G, IR_NEG, B)),
                    -10, -20, 3, 4, 5, 6), "interp: where with broadcast branches");
    int x = ir_slice(&G, ir_reshape(&G, A, SH(6)), 0, 3, 2);   /* 4, 5 */
    tap_ok(VALUE_IS(ir_unary(&G, IR_EXP, x), exp(4), exp(5)), "interp: exp");
    tap_ok(VALUE_IS(ir_unary(&G, IR_LOG, x), log(4), log(5)), "interp: log");
    tap_ok(VALUE_IS(ir_unary(&G, IR_TANH, x), tanh(4), tanh(5)), "interp: tanh");
    tap_ok(VALUE_IS(ir_unary(&G, IR_SQRT, x), 2, sqrt(5)), "interp: sqrt");
    tap_ok(VALUE_IS(ir_unary(&G, IR_RSQRT, x), .5, 1 / sqrt(5)), "interp: rsqrt");
    tap_ok(VALUE_IS(ir_unary(&G, IR_STOP_GRAD, x), 4, 5), "interp: stop_grad is identity");
    /* erf at (a - 2)/2 = -0.5, 0, 0.5, 1, 1.5, 2 against tabulated values
     * (30 digits, rounded to double): odd, erf(0) = 0 exactly. */
    int h = ir_binary(&G, IR_MUL, ir_binary(&G, IR_SUB, A, ir_scalar(&G, 2)), ir_scalar(&G, 0.5));
    tap_ok(VALUE_IS(ir_unary(&G, IR_ERF, h), -0.520499877813046538, 0, 0.520499877813046538, 0.842700792949714869,
                    0.966105146475310727, 0.995322265018952734), "interp: erf");
    int neg = ir_binary(&G, IR_SUB, ir_scalar(&G, 0), ir_binary(&G, IR_DIV, A, ir_scalar(&G, 1.5)));
    tap_ok(VALUE_IS(ir_cast(&G, neg, IR_I32), 0, -1, -2, -2, -3, -4), "interp: cast f32 -> i32 truncates toward 0");
    int seven = ir_cast(&G, ir_const(&G, -7, SH(3)), IR_I32), two = ir_cast(&G, ir_scalar(&G, 2), IR_I32);
    tap_ok(VALUE_IS(ir_binary(&G, IR_DIV, seven, two), -3, -3, -3), "interp: i32 div truncates");
}

static void test_reductions_movement(void)
{
    tap_ok(VALUE_IS(ir_sum(&G, A, 0, false), 5, 7, 9), "interp: sum axis 0");
    tap_ok(VALUE_IS(ir_reshape(&G, A, SH(3, 2)), 1, 2, 3, 4, 5, 6), "interp: reshape keeps row-major order");
    tap_ok(VALUE_IS(ir_sum(&G, A, -1, true), 6, 15), "interp: sum axis -1 keepdim");
    int m = ir_binary(&G, IR_MUL, A, ir_const(&G, 1, SH(3)));
    int mix = ir_binary(&G, IR_SUB, ir_scalar(&G, 0), ir_binary(&G, IR_MUL, m, m));   /* -a^2 */
    tap_ok(VALUE_IS(ir_reduce_max(&G, mix, 1, false), -1, -16), "interp: reduce_max axis 1");
    tap_ok(VALUE_IS(ir_reduce_max(&G, A, 0, false), 4, 5, 6), "interp: reduce_max axis 0");
    tap_ok(max_is_nan(), "interp: reduce_max of a row with a NaN after its first term is NaN");
    tap_ok(VALUE_IS(ir_cumsum(&G, A, 1), 1, 3, 6, 4, 9, 15), "interp: cumsum axis 1");
    tap_ok(VALUE_IS(ir_cumsum(&G, A, 0), 1, 2, 3, 5, 7, 9), "interp: cumsum axis 0");
    tap_ok(VALUE_IS(ir_permute(&G, A, (int[]){1, 0}), 1, 4, 2, 5, 3, 6), "interp: permute transposes");
    int a3 = ir_reshape(&G, A, SH(1, 2, 3));
    tap_ok(VALUE_IS(ir_permute(&G, a3, (int[]){2, 0, 1}), 1, 4, 2, 5, 3, 6), "interp: permute (2,0,1)");
    tap_ok(VALUE_IS(ir_slice(&G, A, 1, 1, 2), 2, 3, 5, 6), "interp: slice axis 1");
    tap_ok(VALUE_IS(ir_concat(&G, A, ir_reshape(&G, B, SH(1, 3)), 0), 1, 2, 3, 4, 5, 6, 10, 20, 30),
           "interp: concat axis 0");
    tap_ok(VALUE_IS(ir_concat(&G, ir_slice(&G, A, 1, 2, 1), ir_slice(&G, A, 1, 0, 1), 1), 3, 1, 6, 4),
           "interp: concat axis 1");
    tap_ok(VALUE_IS(ir_broadcast(&G, ir_reshape(&G, ir_slice(&G, B, 0, 0, 2), SH(2, 1)), SH(2, 2)), 10, 10, 20, 20),
           "interp: broadcast [2,1] -> [2,2]");
    tap_ok(VALUE_IS(ir_iota(&G, SH(2, 3), 0), 0, 0, 0, 1, 1, 1), "interp: iota axis 0");
    tap_ok(VALUE_IS(ir_iota(&G, SH(2, 3), 1), 0, 1, 2, 0, 1, 2), "interp: iota axis 1");
}

static void test_matmul_indexing(void)
{
    int bt = ir_reshape(&G, ir_concat(&G, B, ir_const(&G, 1, SH(3)), 0), SH(3, 2));
    /* bt = [[10,20],[30,1],[1,1]]: [1,2,3;4,5,6] x bt = [73,25; 196,91] */
    tap_ok(VALUE_IS(ir_matmul(&G, A, bt), 73, 25, 196, 91), "interp: matmul [2,3] x [3,2]");
    int a2 = ir_reshape(&G, A, SH(3, 1, 2)), v = ir_reshape(&G, ir_slice(&G, B, 0, 0, 2), SH(2, 1));
    tap_ok(VALUE_IS(ir_matmul(&G, a2, v), 50, 110, 170), "interp: matmul [3,1,2] x [2,1] (batch broadcast)");
    int table = ir_reshape(&G, A, SH(3, 2));
    tap_ok(VALUE_IS(ir_gather(&G, table, ir_slice(&G, I, 1, 0, 2)), 5, 6, 1, 2, 3, 4, 3, 4),
           "interp: gather rows [2,0;1,1]");
    int src = ir_const(&G, 1, SH(2, 3, 1));
    tap_ok(VALUE_IS(ir_scatter_add(&G, src, I, 4), 2, 2, 2, 0), "interp: scatter_add counts repeated indices");
    int x = ir_reshape(&G, ir_concat(&G, ir_const(&G, 3, SH(2)), ir_reshape(&G, A, SH(6)), 0), SH(2, 4));   /* [3,3,1,2; 3,4,5,6] */
    int top = ir_topk(&G, x, 3);
    tap_ok(VALUE_IS(top, 0, 1, 3, 3, 2, 1), "interp: topk descending, ties to the lower index");
    tap_ok(VALUE_IS(ir_take(&G, x, top), 3, 3, 2, 6, 5, 4), "interp: take along the last axis");
    tap_ok(VALUE_IS(ir_put(&G, ir_take(&G, x, top), top, 4), 3, 3, 0, 2, 0, 4, 5, 6), "interp: put is take's adjoint");
    tap_ok(VALUE_IS(ir_one_hot(&G, ir_slice(&G, I, 0, 1, 1), 3), 0, 1, 0, 0, 1, 0, 1, 0, 0), "interp: one_hot");
}

static bool run_fails(const ir_graph *g, int x, const int *leaves, const double *const *vals, int n, const char *frag)
{
    double out[64];
    moec_diag *err = sink();
    bool failed = !eval(g, x, IR_PREC_F64, leaves, vals, n, out, err);
    if (!failed || !strstr(sink_text(err), frag)) tap_diag("  failed %d, error '%s'", failed, sink_text(err));
    return failed && strstr(sink_text(err), frag);
}

/* Grouped products of x = [1,2; 3,4; 5,6] (R 3, K 2) by w[0] = [1,2; 3,4],
 * w[1] = [5,6; 1,2], w[2] = [3,4; 5,6], with counts from the i32 input:
 * {1,1,0} (row 2 past the groups, group 2 empty) and {0,2,1} (group 0
 * empty); then counts that are negative or sum past R are run errors. */
static void test_grouped(void)
{
    int x = ir_reshape(&G, A, SH(3, 2)), w = ir_reshape(&G, ir_concat(&G, A, A, 0), SH(3, 2, 2));
    int flat = ir_reshape(&G, I, SH(6));
    int c110 = ir_slice(&G, flat, 0, 3, 3), c021 = ir_slice(&G, flat, 0, 1, 3), c202 = ir_slice(&G, flat, 0, 0, 3);
    tap_ok(VALUE_IS(ir_grouped_matmul(&G, x, w, c110), 7, 10, 19, 26, 0, 0),
           "interp: grouped_matmul counts {1,1,0}: rows past the groups are 0");
    tap_ok(VALUE_IS(ir_grouped_matmul(&G, x, w, c021), 7, 10, 19, 26, 45, 56), "interp: grouped_matmul counts {0,2,1}");
    tap_ok(VALUE_IS(ir_grouped_outer(&G, x, x, c110), 1, 2, 2, 4, 9, 12, 12, 16, 0, 0, 0, 0),
           "interp: grouped_outer counts {1,1,0}: an empty group gives 0");
    tap_ok(VALUE_IS(ir_grouped_outer(&G, x, x, c021), 0, 0, 0, 0, 10, 14, 14, 20, 25, 30, 30, 36),
           "interp: grouped_outer counts {0,2,1} sums a group's rows");
    int leaves[] = {A, B, I};
    const double *vals[] = {a_vals, b_vals, i_vals};
    int neg = ir_unary(&G, IR_NEG, c110);
    tap_ok(run_fails(&G, ir_grouped_matmul(&G, x, w, neg), leaves, vals, 3, "count -1 of group 0"),
           "run error: grouped_matmul with a negative count");
    tap_ok(run_fails(&G, ir_grouped_outer(&G, x, x, c202), leaves, vals, 3, "sum to 4, past the 3 rows"),
           "run error: grouped_outer counts past the rows");
}

static void test_run_errors(void)
{
    ir_graph g;
    graph_init(&g);
    int t = ir_param(&g, 0, "wte", SH(3, 2)), idx = ir_input(&g, IR_INPUT_TOKENS, SH(1, 2));
    int rows = ir_gather(&g, t, idx);
    double tv[6] = {1, 2, 3, 4, 5, 6}, bad[2] = {1, 3}, neg[2] = {-1, 0}, good[2] = {0, 2};
    int leaves[] = {t, idx};
    tap_ok(run_fails(&g, rows, leaves, (const double *[]){tv, bad}, 2, "index 3"), "run error: gather index = V");
    char want[96];
    snprintf(want, sizeof want, "moec: error: %%%d gather: index 3 at 1 outside 0..2", rows);
    tap_ok(!strcmp(sink_text(g.diag), want), "a run error names the node and its op: %s", sink_text(g.diag));
    tap_ok(run_fails(&g, rows, leaves, (const double *[]){tv, neg}, 2, "index -1"), "run error: gather index -1");
    int sc = ir_scatter_add(&g, ir_const(&g, 1, SH(1, 2, 2)), idx, 3);
    tap_ok(run_fails(&g, sc, leaves, (const double *[]){tv, bad}, 2, "index 3"), "run error: scatter_add index = V");
    int oh = ir_one_hot(&g, idx, 2);
    tap_ok(run_fails(&g, oh, leaves, (const double *[]){tv, good}, 2, "index 2"), "run error: one_hot index = n");
    tap_ok(run_fails(&g, rows, leaves, (const double *[]){tv}, 1, "not bound"), "run error: unbound input named");
    int x = ir_param(&g, 1, "x", SH(1, 3));
    int tk = ir_take(&g, x, idx);
    tap_ok(run_fails(&g, tk, (int[]){x, idx}, (const double *[]){tv, bad}, 2, "index 3"), "run error: take index");
    g.nodes[rows].dtype = IR_F16;   /* as if built by a later IR: refused, not computed as f32 */
    tap_ok(run_fails(&g, rows, leaves, (const double *[]){tv, good}, 2, "not f16"), "run error: an f16 node");
    ir_graph_free(&g);
}

/* softmax(x W + b) . v, a small composite for f32 vs f64. */
static void test_precision_and_determinism(void)
{
    ir_graph g;
    graph_init(&g);
    int x = ir_param(&g, 0, "x", SH(4, 8)), w = ir_param(&g, 1, "w", SH(8, 5)), b = ir_param(&g, 2, "b", SH(5));
    int h = ir_binary(&g, IR_ADD, ir_matmul(&g, x, w), b);
    int e = ir_unary(&g, IR_EXP, ir_binary(&g, IR_SUB, h, ir_reduce_max(&g, h, -1, true)));
    int p = ir_binary(&g, IR_DIV, e, ir_sum(&g, e, -1, true));
    int out = ir_unary(&g, IR_TANH, ir_cumsum(&g, p, 0));
    double xv[32], wv[40], bv[5], r64[20], r32[20], again[20];
    fill_random(xv, 32, 7, 0);
    fill_random(wv, 40, 7, 1);
    fill_random(bv, 5, 7, 2);
    int leaves[] = {x, w, b};
    const double *vals[] = {xv, wv, bv};
    moec_diag *err = sink();
    bool ok = eval(&g, out, IR_PREC_F64, leaves, vals, 3, r64, err) &&
              eval(&g, out, IR_PREC_F32, leaves, vals, 3, r32, err);
    /* rtol 1e-5: float32 rounds each step by up to 6e-8 (2^-24); the chain
     * (an 8-term matmul, softmax, a 4-row cumsum, tanh) is ~20 roundings deep,
     * ~1.2e-6, so 1e-5 leaves ~10x; atol 1e-6 for outputs near 0. */
    tap_ok(ok && close_arrays(r32, r64, 20, 1e-5, 1e-6), "f32 vs f64 interpreter agree to 1e-5 (softmax composite [4,8]x[8,5])");
    bool rounded = true;
    for (int i = 0; i < 20; i++) rounded = rounded && r32[i] == (double)(float)r32[i];
    tap_ok(rounded, "f32 mode results are float32 values");
    ok = eval(&g, out, IR_PREC_F64, leaves, vals, 3, again, err);
    tap_ok(ok && memcmp(again, r64, sizeof again) == 0, "determinism: two f64 runs give identical bits");
    ok = eval(&g, out, IR_PREC_F32, leaves, vals, 3, again, err);
    tap_ok(ok && memcmp(again, r32, sizeof again) == 0, "determinism: two f32 runs give identical bits");
    ir_graph_free(&g);
}

static void test_random(void)
{
    ir_graph g;
    graph_init(&g);
    int step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    int rn = ir_random(&g, step, IR_RANDOM_NORMAL, 5, 1234, SH(3, 4));
    int ru = ir_random(&g, step, IR_RANDOM_UNIFORM, 6, 1234, SH(7));
    ir_interp *it = ir_interp_new(&g, IR_PREC_F64);
    double s = 3.0;
    bool ok = ir_interp_bind(it, step, &s) == 0 && ir_interp_run(it, -1, sink()) == 0;
    double wn[12], wu[7];
    for (int i = 0; i < 12; i++) wn[i] = ir_philox_normal(1234, 3, 5, (uint64_t)i);
    for (int i = 0; i < 7; i++) wu[i] = ir_philox_uniform(1234, 3, 6, (uint64_t)i);
    tap_ok(ok && equal_values(ir_interp_value(it, rn), wn, 12), "random normal = ir_philox_normal(seed, step, stream, i)");
    tap_ok(ok && equal_values(ir_interp_value(it, ru), wu, 7), "random uniform = ir_philox_uniform(seed, step, stream, i)");
    if (ok) cover(&checked, &g, rn);
    ir_interp_free(it);
    ir_graph_free(&g);
}

/* Partial runs, bind refusals, RANDOM's step rounding, i32 exactness in f32 mode. */
static void test_driver(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2)), b = ir_param(&g, 1, "b", SH(2));
    int ea = ir_unary(&g, IR_EXP, a), eb = ir_unary(&g, IR_EXP, b);
    int step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    int r = ir_random(&g, step, IR_RANDOM_UNIFORM, 1, 9, SH(2));
    int big = ir_cast(&g, ir_const(&g, 16777217.0 - 1.0, SH(3)), IR_I32);   /* 2^24 */
    int cs = ir_cumsum(&g, ir_binary(&g, IR_ADD, big, ir_cast(&g, ir_scalar(&g, 1), IR_I32)), 0);
    ir_interp *it = ir_interp_new(&g, IR_PREC_F32);
    double av[2] = {0.1, 1}, s = 2.6;
    moec_diag *err = sink();
    tap_ok(ir_interp_bind(it, ea, av) == -1 && ir_interp_bind(it, 999, av) == -1, "bind refuses a non-leaf and a bad id");
    bool ok = ir_interp_bind(it, a, av) == 0 && ir_interp_bind(it, step, &s) == 0 && ir_interp_run(it, ea, err) == 0;
    tap_ok(ok && ir_interp_value(it, ea) && !ir_interp_value(it, eb), "run(wanted) evaluates only what wanted needs");
    tap_ok(ok && ir_interp_value(it, a)[0] == (double)0.1f, "f32 mode: a bound leaf is read as float32");
    ok = ir_interp_run(it, r, err) == 0;
    double want[2] = {(double)(float)ir_philox_uniform(9, 3, 1, 0), (double)(float)ir_philox_uniform(9, 3, 1, 1)};
    tap_ok(ok && equal_values(ir_interp_value(it, r), want, 2), "random: step 2.6 rounds to 3");
    ok = ir_interp_run(it, cs, err) == 0;
    double exact[3] = {16777217.0, 2 * 16777217.0, 3 * 16777217.0};
    tap_ok(ok && equal_values(ir_interp_value(it, cs), exact, 3), "f32 mode: i32 cumsum stays exact past 2^24");
    ir_interp_free(it);
    ir_graph_free(&g);
}

int main(void)
{
    test_driver();
    graph_init(&G);
    A = ir_param(&G, 0, "a", SH(2, 3));
    B = ir_param(&G, 1, "b", SH(3));
    I = ir_input(&G, IR_INPUT_TOKENS, SH(2, 3));
    test_elementwise();
    test_reductions_movement();
    test_matmul_indexing();
    test_grouped();
    tap_ok(!G.failed && ir_verify(&G) == 0, "interp graph verifies (%s)", graph_error(&G));
    ir_graph_free(&G);
    test_run_errors();
    test_precision_and_determinism();
    test_random();
    check_coverage(&checked, NULL, 0);
    sink_close();
    return tap_done();
}
