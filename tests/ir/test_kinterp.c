/* tests/ir/test_kinterp.c -- the reference evaluator of loop kernels
 * (ir/kinterp.h) against the graph interpreter in float32 mode: the same
 * computation built once as a graph and once as a hand-written kernel, on
 * random inputs (never zero). The interpreter computes libm functions in
 * double and rounds, the evaluator calls the float functions (expf, ...):
 * they differ by at most an ulp per call, so after a few operations rtol
 * 1e-6; random draws and reductions over the same order are identical.
 * Also: the lane order of reductions against a hand computation, point
 * ranges in pieces, and every run error reported instead of a crash. */
#include <string.h>

#include "ir/kinterp.h"
#include "tests/ir/helpers.h"

/* A kernel program and the graph it mirrors, with the data of both. */
typedef struct pair {
    ir_graph g;
    ir_kprogram p;
    float *buf[8];
    int leaf[8];          /* graph leaf of buffer b, or -1 */
    int n_bufs;
} pair;

static void pair_init(pair *q)
{
    memset(q, 0, sizeof *q);
    ir_graph_init(&q->g);
    ir_kprogram_init(&q->p, "t.moe");
}

static void pair_free(pair *q)
{
    for (int b = 0; b < q->n_bufs; b++) free(q->buf[b]);
    ir_graph_free(&q->g);
    ir_kprogram_free(&q->p);
}

/* A buffer of n values (random ±[0.5, 1.5), or integers in [0, ints) when
 * ints > 0), bound to graph leaf `leaf` (-1: none). */
static int buffer(pair *q, const char *name, int64_t n, int leaf, int ints, uint32_t stream)
{
    int b = ir_kbuf_add(&q->p, name, ints ? IR_I32 : IR_F32, n, IR_BUF_INPUT, -1);
    q->buf[b] = calloc((size_t)n, 4);
    double v[512];
    fill_random(v, n, 7, stream);
    for (int64_t i = 0; i < n; i++) {
        if (ints) ((int32_t *)q->buf[b])[i] = (int32_t)((v[i] + 1.5) * 1000) % ints;
        else q->buf[b][i] = (float)v[i];
    }
    q->leaf[b] = leaf;
    q->n_bufs = b + 1;
    return b;
}

/* Runs the graph (f32) for node `out` and launch 0 of the program, then
 * compares buffer `res` with the node's value. */
static bool agree(pair *q, int out, int res, double rtol)
{
    ir_interp *it = ir_interp_new(&q->g, IR_PREC_F32);
    double vals[512], want[512], got[512];
    for (int b = 0; b < q->n_bufs; b++) {
        if (q->leaf[b] < 0) continue;
        for (int64_t i = 0; i < q->p.bufs[b].numel; i++)
            vals[i] = q->p.bufs[b].dtype == IR_I32 ? ((int32_t *)q->buf[b])[i] : q->buf[b][i];
        ir_interp_bind(it, q->leaf[b], vals);
    }
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    bool ok = ir_interp_run(it, out, &d) == 0;
    int64_t n = ir_shape_numel(&q->g.nodes[out].shape);
    if (ok) memcpy(want, ir_interp_value(it, out), (size_t)n * sizeof *want);
    ir_interp_free(it);
    const ir_launch *l = &q->p.launches[0];
    ok = ok && ir_kloop_run_ref(&q->p, l, (void *const *)q->buf, 0, ir_kloop_points(&l->loop), 1, &d) == 0;
    for (int64_t i = 0; i < n; i++) got[i] = q->buf[res][i];
    if (!ok) tap_diag("  run failed (the error is above)");
    return ok && n == q->p.bufs[res].numel && close_arrays(got, want, n, rtol, 0);
}

static ir_kindex ix(int64_t base, int64_t s0, int64_t s1, int64_t s2, int64_t sr)
{
    return (ir_kindex){ .base = base, .stride = { s0, s1, s2, [IR_K_REDUCE_AXIS] = sr }, .gather = -1 };
}

static ir_launch *loop(pair *q, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t reduce, int passes)
{
    ir_launch *l = ir_launch_add(&q->p, IR_LAUNCH_LOOP, "k");
    l->loop = (ir_kloop){ .rank = rank, .dim = { d0, d1, d2 }, .reduce = reduce, .n_passes = passes };
    return l;
}

#define ALU(pass, op, a, b) ir_k_alu(&q.p, l, pass, op, 0, a, b, -1)
#define P IR_KPASS_POINT

static void test_softmax(void)
{
    pair q;
    pair_init(&q);
    int gx = ir_param(&q.g, 0, "x", SH(4, 13));
    int e = ir_unary(&q.g, IR_EXP, ir_binary(&q.g, IR_SUB, gx, ir_reduce_max(&q.g, gx, -1, true)));
    int out = ir_binary(&q.g, IR_DIV, e, ir_sum(&q.g, e, -1, true));
    int x = buffer(&q, "x", 52, gx, 0, 1), y = buffer(&q, "y", 52, -1, 0, 2);
    ir_launch *l = loop(&q, 1, 4, 0, 0, 13, 3);
    ir_kindex at = ix(0, 13, 0, 0, 1);
    int mx = ir_k_reduce(&q.p, l, 0, IR_REDUCE_MAX, ir_k_load(&q.p, l, 0, x, at));
    int sum = ir_k_reduce(&q.p, l, 1, IR_SUM, ALU(1, IR_EXP, ALU(1, IR_SUB, ir_k_load(&q.p, l, 1, x, at), mx), -1));
    ir_k_store(&q.p, l, 2, y, at, ALU(2, IR_DIV, ALU(2, IR_EXP, ALU(2, IR_SUB, ir_k_load(&q.p, l, 2, x, at), mx), -1), sum));
    tap_ok(agree(&q, out, y, 1e-6), "kinterp: softmax as the graph interpreter computes it");
    pair_free(&q);
}

static void test_elementwise(void)
{
    pair q;
    pair_init(&q);
    int gx = ir_param(&q.g, 0, "x", SH(3, 10)), gb = ir_param(&q.g, 1, "b", SH(10));
    int gz = ir_binary(&q.g, IR_ADD, gx, gb);
    int out = ir_binary(&q.g, IR_MUL, ir_unary(&q.g, IR_TANH, gz), ir_unary(&q.g, IR_ERF, gx));
    out = ir_binary(&q.g, IR_ADD, out, ir_unary(&q.g, IR_RSQRT, ir_binary(&q.g, IR_MUL, gz, gz)));
    out = ir_binary(&q.g, IR_SUB, out, ir_unary(&q.g, IR_LOG, ir_unary(&q.g, IR_SQRT, ir_binary(&q.g, IR_MUL, gx, gx))));
    int x = buffer(&q, "x", 30, gx, 0, 3), b = buffer(&q, "b", 10, gb, 0, 4), y = buffer(&q, "y", 30, -1, 0, 5);
    ir_launch *l = loop(&q, 2, 3, 10, 0, 0, 0);
    int vx = ir_k_load(&q.p, l, P, x, ix(0, 10, 1, 0, 0)), z = ALU(P, IR_ADD, vx, ir_k_load(&q.p, l, P, b, ix(0, 0, 1, 0, 0)));
    int o = ALU(P, IR_MUL, ALU(P, IR_TANH, z, -1), ALU(P, IR_ERF, vx, -1));
    o = ALU(P, IR_ADD, o, ALU(P, IR_RSQRT, ALU(P, IR_MUL, z, z), -1));
    o = ALU(P, IR_SUB, o, ALU(P, IR_LOG, ALU(P, IR_SQRT, ALU(P, IR_MUL, vx, vx), -1), -1));
    ir_k_store(&q.p, l, P, y, ix(0, 10, 1, 0, 0), o);
    tap_ok(agree(&q, out, y, 1e-6), "kinterp: broadcast add, tanh, erf, rsqrt, log, sqrt");
    pair_free(&q);
}

static void test_gather_and_colsum(void)
{
    pair q;
    pair_init(&q);
    int gt = ir_param(&q.g, 0, "wte", SH(7, 5)), gi = ir_input(&q.g, IR_INPUT_TOKENS, SH(2, 3));
    int out = ir_gather(&q.g, gt, gi);
    int t = buffer(&q, "wte", 35, gt, 0, 6), idx = buffer(&q, "tokens", 6, gi, 7, 7), y = buffer(&q, "y", 30, -1, 0, 8);
    ir_launch *l = loop(&q, 3, 2, 3, 5, 0, 0);
    ir_kindex row = ix(0, 0, 0, 1, 0);
    row.gather = ir_k_load(&q.p, l, P, idx, ix(0, 3, 1, 0, 0));
    row.gather_stride = 5;
    ir_k_store(&q.p, l, P, y, ix(0, 15, 5, 1, 0), ir_k_load(&q.p, l, P, t, row));
    tap_ok(agree(&q, out, y, 0), "kinterp: gather (embedding rows), identical");
    pair_free(&q);
    pair_init(&q);
    int gx = ir_param(&q.g, 0, "x", SH(9, 5));
    out = ir_sum(&q.g, gx, 0, false);
    int x = buffer(&q, "x", 45, gx, 0, 9), s = buffer(&q, "s", 5, -1, 0, 10);
    l = loop(&q, 1, 5, 0, 0, 9, 1);
    ir_k_store(&q.p, l, P, s, ix(0, 1, 0, 0, 0), ir_k_reduce(&q.p, l, 0, IR_SUM, ir_k_load(&q.p, l, 0, x, ix(0, 1, 0, 0, 5))));
    tap_ok(agree(&q, out, s, 0), "kinterp: column sum in the interpreter's order, identical");
    pair_free(&q);
}

static void test_random_and_iota(void)
{
    pair q;
    pair_init(&q);
    int gs = ir_input(&q.g, IR_INPUT_STEP, SCALAR);
    int gn = ir_random(&q.g, gs, IR_RANDOM_NORMAL, 5, 1234, SH(3, 7));
    int out = ir_binary(&q.g, IR_ADD, gn, ir_random(&q.g, gs, IR_RANDOM_UNIFORM, 6, 99, SH(3, 7)));
    out = ir_binary(&q.g, IR_ADD, out, ir_iota(&q.g, SH(3, 7), 0));
    int st = buffer(&q, "step", 1, gs, 0, 11), y = buffer(&q, "y", 21, -1, 0, 12);
    q.buf[st][0] = 4.0f;
    ir_launch *l = loop(&q, 2, 3, 7, 0, 0, 0);
    int step = ir_k_load(&q.p, l, P, st, ix(0, 0, 0, 0, 0));
    int rn = ir_k_random(&q.p, l, P, IR_RANDOM_NORMAL, 1234, 5, step, ix(0, 7, 1, 0, 0));
    int ru = ir_k_random(&q.p, l, P, IR_RANDOM_UNIFORM, 99, 6, step, ix(0, 7, 1, 0, 0));
    ir_k_store(&q.p, l, P, y, ix(0, 7, 1, 0, 0), ALU(P, IR_ADD, ALU(P, IR_ADD, rn, ru), ir_k_axis(&q.p, l, P, 0)));
    tap_ok(agree(&q, out, y, 0), "kinterp: Philox normal and uniform draws and iota, identical");
    pair_free(&q);
}

static void test_compare_cast(void)
{
    pair q;
    pair_init(&q);
    int ga = ir_param(&q.g, 0, "a", SH(4, 6)), gb = ir_param(&q.g, 1, "b", SH(4, 6));
    int g3 = ir_cast(&q.g, ir_cast(&q.g, ir_binary(&q.g, IR_MUL, ga, ir_scalar(&q.g, 3)), IR_I32), IR_F32);
    int gm = ir_binary(&q.g, IR_MAX, ga, ir_binary(&q.g, IR_MUL, gb, ir_scalar(&q.g, 2)));
    int out = ir_where(&q.g, ir_compare(&q.g, IR_CMP_GT, ga, gb), gm, g3);
    out = ir_binary(&q.g, IR_ADD, out, ir_compare(&q.g, IR_CMP_NE, ga, ir_unary(&q.g, IR_NEG, gb)));
    int a = buffer(&q, "a", 24, ga, 0, 13), b = buffer(&q, "b", 24, gb, 0, 14), y = buffer(&q, "y", 24, -1, 0, 15);
    ir_launch *l = loop(&q, 2, 4, 6, 0, 0, 0);
    ir_kindex at = ix(0, 6, 1, 0, 0);
    int va = ir_k_load(&q.p, l, P, a, at), vb = ir_k_load(&q.p, l, P, b, at);
    int three = ir_k_alu(&q.p, l, P, IR_CAST, IR_I32, ALU(P, IR_MUL, va, ir_k_const(&q.p, l, P, IR_F32, 3)), -1, -1);
    int v3 = ir_k_alu(&q.p, l, P, IR_CAST, IR_F32, three, -1, -1);
    int vm = ALU(P, IR_MAX, va, ALU(P, IR_MUL, vb, ir_k_const(&q.p, l, P, IR_F32, 2)));
    int o = ir_k_alu(&q.p, l, P, IR_WHERE, 0, ir_k_alu(&q.p, l, P, IR_CMP, IR_CMP_GT, va, vb, -1), vm, v3);
    o = ALU(P, IR_ADD, o, ir_k_alu(&q.p, l, P, IR_CMP, IR_CMP_NE, va, ALU(P, IR_NEG, vb, -1), -1));
    ir_k_store(&q.p, l, P, y, at, o);
    tap_ok(agree(&q, out, y, 0), "kinterp: cmp, where, max, casts, identical");
    pair_free(&q);
}

/* Sum of x[0..20] into 8 lanes (r mod 8), folded j + 4, j + 2, j + 1. */
static void test_lane_order(void)
{
    enum { R = 21 };
    ir_kprogram p;
    ir_kprogram_init(&p, "t.moe");
    int x = ir_kbuf_add(&p, "x", IR_F32, R, IR_BUF_INPUT, -1), s = ir_kbuf_add(&p, "s", IR_F32, 1, IR_BUF_OUTPUT, -1);
    ir_launch *l = ir_launch_add(&p, IR_LAUNCH_LOOP, "sum");
    l->loop = (ir_kloop){ .rank = 0, .reduce = R, .n_passes = 1 };
    ir_k_store(&p, l, P, s, ix(0, 0, 0, 0, 0), ir_k_reduce(&p, l, 0, IR_SUM, ir_k_load(&p, l, 0, x, ix(0, 0, 0, 0, 1))));
    float xs[R], out = 0, lane[8] = { 0 }, seq = 0;
    for (int i = 0; i < R; i++) xs[i] = (float)(1.0 + i * 0.1) * (i % 3 ? 1e-3f : 1e4f);
    for (int i = 0; i < R; i++) lane[i % 8] += xs[i], seq += xs[i];
    for (int w = 4; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) lane[j] += lane[j + w];
    void *bufs[2] = { xs, &out };
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    tap_ok(ir_kloop_run_ref(&p, l, bufs, 0, 1, 8, &d) == 0 && out == lane[0], "kinterp: 8 lanes sum in the documented order");
    tap_ok(ir_kloop_run_ref(&p, l, bufs, 0, 1, 1, &d) == 0 && out == seq, "kinterp: 1 lane sums term by term");
    tap_ok(lane[0] != seq, "  (and the two orders differ on these terms: %.9g vs %.9g)", (double)lane[0], (double)seq);
    ir_kprogram_free(&p);
}

/* Runs launch 0 of p over [b, e) and returns the message ("" if none). */
static int run_msg(ir_kprogram *p, void **bufs, int64_t b, int64_t e, char *msg, size_t size)
{
    FILE *f = fmemopen(msg, size, "w");
    moec_diag d;
    moec_diag_init(&d, f, 5);
    int rc = ir_kloop_run_ref(p, &p->launches[0], bufs, b, e, 1, &d);
    fclose(f);
    msg[strcspn(msg, "\n")] = '\0';
    return rc;
}

static void test_errors(void)
{
    ir_kprogram p;
    ir_kprogram_init(&p, "t.moe");
    int t = ir_kbuf_add(&p, "table", IR_F32, 9, IR_BUF_PARAM, -1), i = ir_kbuf_add(&p, "idx", IR_I32, 4, IR_BUF_INPUT, -1);
    int y = ir_kbuf_add(&p, "y", IR_F32, 12, IR_BUF_ACTIVATION, -1), c = ir_kbuf_add(&p, "c", IR_I32, 4, IR_BUF_ACTIVATION, -1);
    ir_launch *l = ir_launch_add(&p, IR_LAUNCH_LOOP, "gather");
    l->loop = (ir_kloop){ .rank = 2, .dim = { 4, 3 } };
    ir_kindex row = ix(0, 0, 1, 0, 0);
    int v = ir_k_load(&p, l, P, i, ix(0, 1, 0, 0, 0));
    row.gather = v;
    row.gather_stride = 3;
    int g = ir_k_load(&p, l, P, t, row);
    ir_k_store(&p, l, P, y, ix(0, 3, 1, 0, 0), g);
    ir_k_store(&p, l, P, c, ix(0, 1, 0, 0, 0), ir_k_alu(&p, l, P, IR_DIV, 0, v, v, -1));
    ir_k_store(&p, l, P, c, ix(0, 1, 0, 0, 0), ir_k_alu(&p, l, P, IR_CAST, IR_I32, ir_k_alu(&p, l, P, IR_MUL, 0, g, g, -1), -1, -1));
    float tv[9], yv[12];
    int32_t iv[4] = { 1, 3, 2, 0 }, cv[4];
    for (int k = 0; k < 9; k++) tv[k] = (float)(k + 1);
    void *bufs[4] = { tv, iv, yv, cv };
    char msg[512];
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    tap_ok(ir_kprogram_verify(&p, &d) == 0, "kinterp errors: the kernel verifies");
    tap_ok(run_msg(&p, bufs, 0, 3, msg, sizeof msg) == 0 && yv[0] == 4 && yv[2] == 6 && cv[0] == 36, "points 0..2 run");
    tap_ok(run_msg(&p, bufs, 0, 12, msg, sizeof msg) < 0 &&
           strstr(msg, "launch k0 (gather) v1 at point 3: gathered index 9 (v0 = 3) outside b0's 9 elements"),
           "gather out of bounds reported (%s)", msg);
    iv[1] = 1;
    tap_ok(run_msg(&p, bufs, 0, 12, msg, sizeof msg) < 0 && strstr(msg, "i32 division by zero"), "division by zero reported");
    iv[3] = 1;
    tv[3] = 1e6f;
    tap_ok(run_msg(&p, bufs, 0, 12, msg, sizeof msg) < 0 && strstr(msg, "cast of 1e+12 to i32 is out of range"),
           "cast out of range reported (%s)", msg);
    tap_ok(run_msg(&p, bufs, 5, 13, msg, sizeof msg) < 0 && strstr(msg, "launch k0 (gather): points [5, 13) outside the loop's 12"),
           "a point range beyond the loop reported");
    ir_kprogram_free(&p);
}

int main(void)
{
    test_softmax();
    test_elementwise();
    test_gather_and_colsum();
    test_random_and_iota();
    test_compare_cast();
    test_lane_order();
    test_errors();
    return tap_done();
}
