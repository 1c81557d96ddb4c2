/* tests/codegen/kernels.h -- hand-built loop kernels of the shapes the fuser
 * makes: an elementwise chain with broadcasts and every math function, a
 * softmax (3 passes), a layernorm (3 passes, point stores), column
 * reductions, an embedding gather, random draws with dropout, comparisons,
 * where, max and casts, i32 arithmetic and reductions, iota, a rank-0
 * loss, a rank-3 reduction over a strided axis, an in-place AdamW update.
 * Each builder adds its buffers and launches to a kt_prog
 * (tests/codegen/harness.h). */
#ifndef MOEC_TESTS_CODEGEN_KERNELS_H
#define MOEC_TESTS_CODEGEN_KERNELS_H

#include "tests/codegen/harness.h"

/* Index with the given base and strides of i0, i1, i2 and r. */
static inline ir_kindex kx(int64_t base, int64_t s0, int64_t s1, int64_t s2, int64_t sr)
{
    return (ir_kindex){ .base = base, .stride = { s0, s1, s2, [IR_K_REDUCE_AXIS] = sr }, .gather = -1 };
}

static inline ir_launch *kt_loop(kt_prog *t, const char *name, int rank, const int64_t *dim, int64_t reduce, int passes)
{
    ir_launch *l = ir_launch_add(&t->p, IR_LAUNCH_LOOP, name);
    l->loop = (ir_kloop){ .rank = rank, .reduce = reduce, .n_passes = passes };
    for (int d = 0; d < rank; d++) l->loop.dim[d] = dim[d];
    ir_launch_add_line(l, 7);
    return l;
}

#define K_ALU(pass, op, a, b) ir_k_alu(&t->p, l, pass, op, 0, a, b, -1)
#define K_ALU1(pass, op, a) ir_k_alu(&t->p, l, pass, op, 0, a, -1, -1)
#define K_CONST(pass, v) ir_k_const(&t->p, l, pass, IR_F32, v)
#define K_ICONST(pass, v) ir_k_const(&t->p, l, pass, IR_I32, v)
#define K_CMP(pass, c, a, b) ir_k_alu(&t->p, l, pass, IR_CMP, c, a, b, -1)
#define K_CAST(pass, to, a) ir_k_alu(&t->p, l, pass, IR_CAST, to, a, -1, -1)
#define K_WHERE(pass, c, a, b) ir_k_alu(&t->p, l, pass, IR_WHERE, 0, c, a, b)

/* y = gelu_tanh(x + b) * s[i0] and z = a mix of every math function, over [3, 5, 37]. */
static inline void kt_elementwise(kt_prog *t)
{
    enum { A = 3, B = 5, C = 37 };
    int x = kt_buf(t, "x", IR_F32, A * B * C, 0.1, 2.5, true), b = kt_buf(t, "b", IR_F32, C, 0.5, 1.5, true);
    int s = kt_buf(t, "s", IR_F32, A, 0.5, 1.5, true);
    int y = kt_buf(t, "y", IR_F32, A * B * C, 0.5, 1.5, true), zo = kt_buf(t, "z", IR_F32, A * B * C, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "gelu_fwd_test", 3, (int64_t[]){ A, B, C }, 0, 0);
    int P = IR_KPASS_POINT;
    int z = K_ALU(P, IR_ADD, ir_k_load(&t->p, l, P, x, kx(0, B * C, C, 1, 0)), ir_k_load(&t->p, l, P, b, kx(0, 0, 0, 1, 0)));
    int z3 = K_ALU(P, IR_MUL, K_ALU(P, IR_MUL, z, z), z);
    int inner = K_ALU(P, IR_MUL, K_CONST(P, 0.7978845608028654), K_ALU(P, IR_ADD, z, K_ALU(P, IR_MUL, K_CONST(P, 0.044715), z3)));
    int g = K_ALU(P, IR_MUL, K_ALU(P, IR_MUL, K_CONST(P, 0.5), z), K_ALU(P, IR_ADD, K_CONST(P, 1), K_ALU1(P, IR_TANH, inner)));
    ir_k_store(&t->p, l, P, y, kx(0, B * C, C, 1, 0), K_ALU(P, IR_MUL, g, ir_k_load(&t->p, l, P, s, kx(0, 1, 0, 0, 0))));
    int zz1 = K_ALU(P, IR_ADD, K_ALU(P, IR_MUL, z, z), K_CONST(P, 1));
    int m = K_ALU(P, IR_MUL, K_ALU1(P, IR_EXP, K_ALU1(P, IR_NEG, z)), K_ALU1(P, IR_ERF, z));
    m = K_ALU(P, IR_ADD, m, K_ALU(P, IR_DIV, K_ALU1(P, IR_LOG, zz1), K_ALU1(P, IR_SQRT, zz1)));
    m = K_ALU(P, IR_SUB, m, K_ALU1(P, IR_RSQRT, zz1));
    ir_k_store(&t->p, l, P, zo, kx(0, B * C, C, 1, 0), K_ALU1(P, IR_STOP_GRAD, m));
}

/* softmax over the rows of x [R0, C]: max, sum of exponentials, normalise. */
static inline void kt_softmax(kt_prog *t, int64_t rows, int64_t cols)
{
    int x = kt_buf(t, "x", IR_F32, rows * cols, 0.1, 4, true), y = kt_buf(t, "y", IR_F32, rows * cols, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "softmax_fwd_test", 1, (int64_t[]){ rows }, cols, 3);
    ir_kindex at = kx(0, cols, 0, 0, 1);
    int mx = ir_k_reduce(&t->p, l, 0, IR_REDUCE_MAX, ir_k_load(&t->p, l, 0, x, at));
    int e1 = K_ALU1(1, IR_EXP, K_ALU(1, IR_SUB, ir_k_load(&t->p, l, 1, x, at), mx));
    int sum = ir_k_reduce(&t->p, l, 1, IR_SUM, e1);
    int e2 = K_ALU1(2, IR_EXP, K_ALU(2, IR_SUB, ir_k_load(&t->p, l, 2, x, at), mx));
    ir_k_store(&t->p, l, 2, y, at, K_ALU(2, IR_DIV, e2, sum));
}

/* layernorm of x [rows, C] with weight and bias; mean and rstd stored per row. */
static inline void kt_layernorm(kt_prog *t, int64_t rows, int64_t C)
{
    int x = kt_buf(t, "x", IR_F32, rows * C, 0.1, 3, true), w = kt_buf(t, "w", IR_F32, C, 0.5, 1.5, true);
    int b = kt_buf(t, "b", IR_F32, C, 0.5, 1.5, true), y = kt_buf(t, "y", IR_F32, rows * C, 0.5, 1.5, true);
    int mo = kt_buf(t, "mean", IR_F32, rows, 0.5, 1.5, true), ro = kt_buf(t, "rstd", IR_F32, rows, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "layernorm_fwd_test", 1, (int64_t[]){ rows }, C, 3);
    ir_kindex at = kx(0, C, 0, 0, 1), row = kx(0, 1, 0, 0, 0), col = kx(0, 0, 0, 0, 1);
    int P = IR_KPASS_POINT;
    int sum = ir_k_reduce(&t->p, l, 0, IR_SUM, ir_k_load(&t->p, l, 0, x, at));
    int mean = K_ALU(P, IR_MUL, sum, K_CONST(P, 1.0 / (double)C));
    int d = K_ALU(1, IR_SUB, ir_k_load(&t->p, l, 1, x, at), mean);
    int var = K_ALU(P, IR_DIV, ir_k_reduce(&t->p, l, 1, IR_SUM, K_ALU(1, IR_MUL, d, d)), K_CONST(P, (double)C));
    int rstd = K_ALU1(P, IR_RSQRT, K_ALU(P, IR_ADD, var, K_CONST(P, 1e-5)));
    ir_k_store(&t->p, l, P, mo, row, mean);
    ir_k_store(&t->p, l, P, ro, row, rstd);
    int n = K_ALU(2, IR_MUL, K_ALU(2, IR_SUB, ir_k_load(&t->p, l, 2, x, at), mean), rstd);
    int o = K_ALU(2, IR_ADD, K_ALU(2, IR_MUL, n, ir_k_load(&t->p, l, 2, w, col)), ir_k_load(&t->p, l, 2, b, col));
    ir_k_store(&t->p, l, 2, y, at, o);
}

/* Sum and max of the columns of x [rows, cols] (reduce axis strided by cols). */
static inline void kt_colsum(kt_prog *t, int64_t rows, int64_t cols)
{
    int x = kt_buf(t, "x", IR_F32, rows * cols, 0.1, 2, true);
    int s = kt_buf(t, "colsum", IR_F32, cols, 0.5, 1.5, true), m = kt_buf(t, "colmax", IR_F32, cols, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "bias_grad_test", 1, (int64_t[]){ cols }, rows, 1);
    int v = ir_k_load(&t->p, l, 0, x, kx(0, 1, 0, 0, cols));
    ir_k_store(&t->p, l, IR_KPASS_POINT, s, kx(0, 1, 0, 0, 0), ir_k_reduce(&t->p, l, 0, IR_SUM, v));
    ir_k_store(&t->p, l, IR_KPASS_POINT, m, kx(0, 1, 0, 0, 0), ir_k_reduce(&t->p, l, 0, IR_REDUCE_MAX, v));
}

/* y[i0, i1] = wte[C*tok[i0] + i1] + wpe[C*i0 + i1], tokens in [0, max_token). */
static inline void kt_gather(kt_prog *t, int64_t n, int64_t V, int64_t C, int64_t max_token)
{
    int tok = kt_buf(t, "tokens", IR_I32, n, 0, (double)max_token, false);
    int wte = kt_buf(t, "wte", IR_F32, V * C, 0.5, 1.5, true), wpe = kt_buf(t, "wpe", IR_F32, n * C, 0.5, 1.5, true);
    int y = kt_buf(t, "emb", IR_F32, n * C, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "embed_test", 2, (int64_t[]){ n, C }, 0, 0);
    int P = IR_KPASS_POINT;
    int v = ir_k_load(&t->p, l, P, tok, kx(0, 1, 0, 0, 0));
    ir_kindex row = kx(0, 0, 1, 0, 0);
    row.gather = v;
    row.gather_stride = C;
    int e = K_ALU(P, IR_ADD, ir_k_load(&t->p, l, P, wte, row), ir_k_load(&t->p, l, P, wpe, kx(0, C, 1, 0, 0)));
    ir_k_store(&t->p, l, P, y, kx(0, C, 1, 0, 0), e);
}

/* Uniform and normal draws over [4, 33] keyed by an i32 and an f32 step,
 * and dropout of x at rate 1/4. */
static inline void kt_random(kt_prog *t)
{
    enum { A = 4, B = 33 };
    int si = kt_buf(t, "step_i", IR_I32, 1, 3, 4, false), sf = kt_buf(t, "step_f", IR_F32, 1, 6.6, 6.7, false);
    int x = kt_buf(t, "x", IR_F32, A * B, 0.5, 1.5, true);
    int u = kt_buf(t, "u", IR_F32, A * B, 0.5, 1.5, true), nrm = kt_buf(t, "n", IR_F32, A * B, 0.5, 1.5, true);
    int y = kt_buf(t, "dropped", IR_F32, A * B, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "dropout_test", 2, (int64_t[]){ A, B }, 0, 0);
    int P = IR_KPASS_POINT;
    ir_kindex at = kx(0, B, 1, 0, 0);
    int stepi = ir_k_load(&t->p, l, P, si, kx(0, 0, 0, 0, 0)), stepf = ir_k_load(&t->p, l, P, sf, kx(0, 0, 0, 0, 0));
    int ru = ir_k_random(&t->p, l, P, IR_RANDOM_UNIFORM, 0x123456789abcdefull, 5, stepi, at);
    int rn = ir_k_random(&t->p, l, P, IR_RANDOM_NORMAL, 42, 7, stepf, kx(1000, B, 1, 0, 0));
    ir_k_store(&t->p, l, P, u, at, ru);
    ir_k_store(&t->p, l, P, nrm, at, rn);
    int keep = K_CMP(P, IR_CMP_GE, ru, K_CONST(P, 0.25));
    int xs = K_ALU(P, IR_DIV, ir_k_load(&t->p, l, P, x, at), K_CONST(P, 0.75));
    ir_k_store(&t->p, l, P, y, at, K_WHERE(P, keep, xs, K_CONST(P, 0)));
}

/* Comparisons (with ties), max, where, casts both ways over [7, 19]. */
static inline void kt_compare(kt_prog *t)
{
    enum { A = 7, B = 19 };
    int a = kt_buf(t, "a", IR_F32, A * B, 0.1, 3, true), b = kt_buf(t, "b", IR_F32, A * B, 0.1, 3, true);
    int o = kt_buf(t, "cmp_out", IR_F32, 8 * A * B, 0.5, 1.5, true), oi = kt_buf(t, "cast_out", IR_I32, A * B, 1, 9, true);
    ir_launch *l = kt_loop(t, "compare_test", 2, (int64_t[]){ A, B }, 0, 0);
    int P = IR_KPASS_POINT;
    ir_kindex at = kx(0, B, 1, 0, 0);
    int va = ir_k_load(&t->p, l, P, a, at), vb = ir_k_load(&t->p, l, P, b, at);
    /* small integers as floats: many ties */
    int ta = K_CAST(P, IR_F32, K_CAST(P, IR_I32, K_ALU(P, IR_MUL, va, K_CONST(P, 2)))),
        tb = K_CAST(P, IR_F32, K_CAST(P, IR_I32, K_ALU(P, IR_MUL, vb, K_CONST(P, 2))));
    for (int c = IR_CMP_LT; c <= IR_CMP_NE; c++) {
        int w = K_WHERE(P, K_CMP(P, c, ta, tb), va, vb);
        ir_k_store(&t->p, l, P, o, kx(c * A * B, B, 1, 0, 0), K_ALU(P, IR_ADD, w, K_CMP(P, c, ta, tb)));
    }
    ir_k_store(&t->p, l, P, o, kx(6 * A * B, B, 1, 0, 0), K_ALU(P, IR_MAX, ta, tb));
    ir_k_store(&t->p, l, P, o, kx(7 * A * B, B, 1, 0, 0), K_ALU(P, IR_MAX, va, K_ALU1(P, IR_NEG, vb)));
    ir_k_store(&t->p, l, P, oi, at, K_CAST(P, IR_I32, K_ALU(P, IR_MUL, va, K_CONST(P, -1000.5))));
}

/* i32 arithmetic: add, sub, mul, div (toward zero), max, neg, cmp, where,
 * and i32 sum and max reductions over [3, 4] x reduce [29]. */
static inline void kt_int(kt_prog *t)
{
    enum { A = 3, B = 4, R = 29 };
    int a = kt_buf(t, "ia", IR_I32, A * B * R, 0, 2000, true), b = kt_buf(t, "ib", IR_I32, A * B * R, 1, 13, true);
    int o = kt_buf(t, "int_out", IR_I32, 6 * A * B * R, 1, 9, true), s = kt_buf(t, "int_red", IR_I32, 2 * A * B, 1, 9, true);
    int f = kt_buf(t, "int_cmp", IR_F32, A * B * R, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "int_test", 2, (int64_t[]){ A, B }, R, 2);
    ir_kindex at = kx(0, B * R, R, 0, 1);
    int va = ir_k_load(&t->p, l, 0, a, at), vb = ir_k_load(&t->p, l, 0, b, at);
    int prod = K_ALU(0, IR_MUL, va, vb);
    int sum = ir_k_reduce(&t->p, l, 0, IR_SUM, prod), mx = ir_k_reduce(&t->p, l, 0, IR_REDUCE_MAX, K_ALU1(0, IR_NEG, va));
    ir_k_store(&t->p, l, IR_KPASS_POINT, s, kx(0, B, 1, 0, 0), sum);
    ir_k_store(&t->p, l, IR_KPASS_POINT, s, kx(A * B, B, 1, 0, 0), mx);
    int ua = ir_k_load(&t->p, l, 1, a, at), ub = ir_k_load(&t->p, l, 1, b, at);
    static const ir_op ops[5] = { IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MAX };
    for (int k = 0; k < 5; k++)
        ir_k_store(&t->p, l, 1, o, kx(k * A * B * R, B * R, R, 0, 1), K_ALU(1, ops[k], ua, ub));
    int w = K_WHERE(1, K_CMP(1, IR_CMP_GT, ua, K_ICONST(1, 0)), K_ALU(1, IR_SUB, ua, sum), mx);
    ir_k_store(&t->p, l, 1, o, kx(5 * A * B * R, B * R, R, 0, 1), w);
    ir_k_store(&t->p, l, 1, f, at, K_ALU(1, IR_ADD, K_CMP(1, IR_CMP_LE, ua, ub), K_CAST(1, IR_F32, ua)));
}

/* iota: y[i0, i1] = 10 i0 + i1; and per row sum over r of r * x[i0, r]. */
static inline void kt_iota(kt_prog *t)
{
    enum { A = 5, B = 23 };
    int x = kt_buf(t, "x", IR_F32, A * B, 0.5, 1.5, true);
    int y = kt_buf(t, "iota", IR_F32, A * B, 0.5, 1.5, true), s = kt_buf(t, "rsum", IR_F32, A, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "iota_test", 2, (int64_t[]){ A, B }, 0, 0);
    int P = IR_KPASS_POINT;
    ir_k_store(&t->p, l, P, y, kx(0, B, 1, 0, 0),
               K_ALU(P, IR_ADD, K_ALU(P, IR_MUL, ir_k_axis(&t->p, l, P, 0), K_CONST(P, 10)), ir_k_axis(&t->p, l, P, 1)));
    l = kt_loop(t, "weighted_sum_test", 1, (int64_t[]){ A }, B, 1);
    int v = K_ALU(0, IR_MUL, ir_k_axis(&t->p, l, 0, IR_K_REDUCE_AXIS), ir_k_load(&t->p, l, 0, x, kx(0, B, 0, 0, 1)));
    ir_k_store(&t->p, l, P, s, kx(0, 1, 0, 0, 0), ir_k_reduce(&t->p, l, 0, IR_SUM, v));
}

/* A rank-0 loss: the mean of x [R], and a rank-3 reduction of x [2, R, 3, 4]
 * over its axis 1 with a normalising pass. */
static inline void kt_scalar_and_rank3(kt_prog *t)
{
    enum { R = 100, A = 2, B = 3, C = 4, Q = 19 };
    int x = kt_buf(t, "xs", IR_F32, R, 0.5, 1.5, true), loss = kt_buf(t, "loss", IR_F32, 1, 0.5, 1.5, true);
    ir_launch *l = kt_loop(t, "loss_test", 0, NULL, R, 1);
    int P = IR_KPASS_POINT;
    int sum = ir_k_reduce(&t->p, l, 0, IR_SUM, ir_k_load(&t->p, l, 0, x, kx(0, 0, 0, 0, 1)));
    ir_k_store(&t->p, l, P, loss, kx(0, 0, 0, 0, 0), K_ALU(P, IR_DIV, sum, K_CONST(P, R)));
    int x3 = kt_buf(t, "x3", IR_F32, A * Q * B * C, 0.1, 2, true), y3 = kt_buf(t, "y3", IR_F32, A * Q * B * C, 0.5, 1.5, true);
    int m3 = kt_buf(t, "m3", IR_F32, A * B * C, 0.5, 1.5, true);
    l = kt_loop(t, "rank3_test", 3, (int64_t[]){ A, B, C }, Q, 2);
    ir_kindex at = kx(0, Q * B * C, C, 1, B * C);
    int mx = ir_k_reduce(&t->p, l, 0, IR_REDUCE_MAX, ir_k_load(&t->p, l, 0, x3, at));
    ir_k_store(&t->p, l, P, m3, kx(0, B * C, C, 1, 0), mx);
    ir_k_store(&t->p, l, 1, y3, at, K_ALU(1, IR_SUB, ir_k_load(&t->p, l, 1, x3, at), mx));
}

/* AdamW over a flat parameter of n elements, in place: m, v and p read and
 * written at the same element (step 3, lr 1e-3, betas 0.9 / 0.999). */
static inline void kt_adamw(kt_prog *t, int64_t n)
{
    int pp = kt_buf(t, "param", IR_F32, n, 0.1, 1, true), gg = kt_buf(t, "grad", IR_F32, n, 0.1, 1, true);
    int mm = kt_buf(t, "adam.m", IR_F32, n, 0.01, 0.1, true), vv = kt_buf(t, "adam.v", IR_F32, n, 0.001, 0.01, false);
    ir_launch *l = kt_loop(t, "adamw_test", 1, (int64_t[]){ n }, 0, 0);
    int P = IR_KPASS_POINT;
    ir_kindex at = kx(0, 1, 0, 0, 0);
    int g = ir_k_load(&t->p, l, P, gg, at), p = ir_k_load(&t->p, l, P, pp, at);
    int m = K_ALU(P, IR_ADD, K_ALU(P, IR_MUL, K_CONST(P, 0.9), ir_k_load(&t->p, l, P, mm, at)), K_ALU(P, IR_MUL, K_CONST(P, 0.1), g));
    int v = K_ALU(P, IR_ADD, K_ALU(P, IR_MUL, K_CONST(P, 0.999), ir_k_load(&t->p, l, P, vv, at)),
                  K_ALU(P, IR_MUL, K_CONST(P, 0.001), K_ALU(P, IR_MUL, g, g)));
    ir_k_store(&t->p, l, P, mm, at, m);
    ir_k_store(&t->p, l, P, vv, at, v);
    int mhat = K_ALU(P, IR_DIV, m, K_CONST(P, 1 - 0.729)), vhat = K_ALU(P, IR_DIV, v, K_CONST(P, 1 - 0.997002999));
    int upd = K_ALU(P, IR_DIV, mhat, K_ALU(P, IR_ADD, K_ALU1(P, IR_SQRT, vhat), K_CONST(P, 1e-8)));
    upd = K_ALU(P, IR_ADD, upd, K_ALU(P, IR_MUL, K_CONST(P, 0.01), p));
    ir_k_store(&t->p, l, P, pp, at, K_ALU(P, IR_SUB, p, K_ALU(P, IR_MUL, K_CONST(P, 1e-3), upd)));
}

#endif
