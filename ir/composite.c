/* ir/composite.c -- GPT-2's layers (linear, layernorm, activations, softmax,
 * attention, dropout, cross-entropy) decomposed into primitive graph-IR ops.
 * Reads operand node ids, appends nodes; never evaluates anything. Row
 * reductions subtract a STOP_GRAD'ed row max so that exp never overflows and
 * the max's (sub)gradient never enters the result. */
#include "ir/composite.h"

#include <math.h>

/* The shape of node id, or a rank-0 shape for a failed (-1) id. */
static ir_shape shape_of(const ir_graph *g, int id)
{
    if (id < 0) return ir_shape_of(0, NULL);
    return ir_node_at(g, id)->shape;
}

int ir_add_scalar(ir_graph *g, int x, double c)
{
    return ir_binary(g, IR_ADD, x, ir_scalar(g, c));
}

int ir_mul_scalar(ir_graph *g, int x, double c)
{
    return ir_binary(g, IR_MUL, x, ir_scalar(g, c));
}

/* min(a, b) = -max(-a, -b): gradient to the smaller, ties to a. */
int ir_min(ir_graph *g, int a, int b)
{
    int na = ir_unary(g, IR_NEG, a);
    int nb = ir_unary(g, IR_NEG, b);
    return ir_unary(g, IR_NEG, ir_binary(g, IR_MAX, na, nb));
}

int ir_mean(ir_graph *g, int x, int axis, bool keepdim)
{
    ir_shape s = shape_of(g, x);
    int a = axis < 0 ? axis + s.rank : axis;
    int64_t n = (x >= 0 && a >= 0 && a < s.rank) ? s.dim[a] : 1;
    return ir_mul_scalar(g, ir_sum(g, x, axis, keepdim), 1.0 / (double)n);
}

/* [...] -> [] by flattening first, so one reduction covers every axis. */
int ir_sum_all(ir_graph *g, int x)
{
    ir_shape s = shape_of(g, x);
    int64_t n = ir_shape_numel(&s);
    int flat = ir_reshape(g, x, ir_shape_of(1, &n));
    return ir_sum(g, flat, 0, false);
}

int ir_mean_all(ir_graph *g, int x)
{
    ir_shape s = shape_of(g, x);
    return ir_mul_scalar(g, ir_sum_all(g, x), 1.0 / (double)ir_shape_numel(&s));
}

/* floor through i32 truncation, corrected by one below zero. */
int ir_floor(ir_graph *g, int x)
{
    int t = ir_cast(g, ir_cast(g, x, IR_I32), IR_F32);
    return ir_binary(g, IR_SUB, t, ir_compare(g, IR_CMP_GT, t, x));
}

/* sin by range reduction to [-pi/2, pi/2] and the Taylor series to degree
 * 23, whose remainder there is below 1e-19: exact to double rounding. The
 * graph IR has no trigonometric op; sinusoidal positions and the cosine
 * schedule are the only users. */
int ir_sin(ir_graph *g, int x)
{
    const double two_pi = 2.0 * M_PI;
    int k = ir_floor(g, ir_add_scalar(g, ir_mul_scalar(g, x, 1.0 / two_pi), 0.5));
    int r = ir_binary(g, IR_SUB, x, ir_mul_scalar(g, k, two_pi));            /* [-pi, pi] */
    int hi = ir_compare(g, IR_CMP_GT, r, ir_scalar(g, M_PI / 2));
    int lo = ir_compare(g, IR_CMP_LT, r, ir_scalar(g, -M_PI / 2));
    int pi_r = ir_binary(g, IR_SUB, ir_scalar(g, M_PI), r);                  /* sin(pi - r) = sin r */
    int mpi_r = ir_binary(g, IR_SUB, ir_scalar(g, -M_PI), r);
    r = ir_where(g, hi, pi_r, ir_where(g, lo, mpi_r, r));
    int r2 = ir_binary(g, IR_MUL, r, r);
    int acc = ir_scalar(g, 1.0);
    for (int n = 11; n >= 1; n--) {                    /* 1 - r^2/((2n)(2n+1)) * acc */
        double c = -1.0 / ((2.0 * n) * (2.0 * n + 1.0));
        acc = ir_add_scalar(g, ir_mul_scalar(g, ir_binary(g, IR_MUL, r2, acc), c), 1.0);
    }
    return ir_binary(g, IR_MUL, r, acc);
}

int ir_cos(ir_graph *g, int x)
{
    return ir_sin(g, ir_add_scalar(g, x, M_PI / 2));
}

/* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
int ir_gelu(ir_graph *g, int x)
{
    int x3 = ir_binary(g, IR_MUL, ir_binary(g, IR_MUL, x, x), x);
    int inner = ir_binary(g, IR_ADD, x, ir_mul_scalar(g, x3, 0.044715));
    int t = ir_unary(g, IR_TANH, ir_mul_scalar(g, inner, sqrt(2.0 / M_PI)));
    int half_x = ir_mul_scalar(g, x, 0.5);
    return ir_binary(g, IR_MUL, half_x, ir_add_scalar(g, t, 1.0));
}

int ir_relu(ir_graph *g, int x)
{
    return ir_binary(g, IR_MAX, x, ir_scalar(g, 0.0));
}

int ir_sigmoid(ir_graph *g, int x)
{
    int t = ir_unary(g, IR_TANH, ir_mul_scalar(g, x, 0.5));
    return ir_mul_scalar(g, ir_add_scalar(g, t, 1.0), 0.5);
}

int ir_silu(ir_graph *g, int x)
{
    return ir_binary(g, IR_MUL, x, ir_sigmoid(g, x));
}

/* |x| = max(x, -x) ties to x, so at 0 both halves' kinks cancel: the
 * derivative there is 1 - 0.5 = 0.5 = sigmoid(0), as it should be. */
int ir_softplus(ir_graph *g, int x)
{
    int ax = ir_binary(g, IR_MAX, x, ir_unary(g, IR_NEG, x));
    int tail = ir_unary(g, IR_LOG, ir_add_scalar(g, ir_unary(g, IR_EXP, ir_unary(g, IR_NEG, ax)), 1.0));
    return ir_binary(g, IR_ADD, ir_relu(g, x), tail);
}

/* x - stop_grad(rowmax(x)): [...,n] -> [...,n], every row's max at 0. */
static int shift_by_row_max(ir_graph *g, int x, int *max_out)
{
    int m = ir_unary(g, IR_STOP_GRAD, ir_reduce_max(g, x, -1, true));
    if (max_out) *max_out = m;
    return ir_binary(g, IR_SUB, x, m);
}

int ir_softmax(ir_graph *g, int x)
{
    int e = ir_unary(g, IR_EXP, shift_by_row_max(g, x, NULL));
    return ir_binary(g, IR_DIV, e, ir_sum(g, e, -1, true));
}

int ir_log_softmax(ir_graph *g, int x)
{
    int xm = shift_by_row_max(g, x, NULL);
    int lse = ir_unary(g, IR_LOG, ir_sum(g, ir_unary(g, IR_EXP, xm), -1, true));
    return ir_binary(g, IR_SUB, xm, lse);
}

int ir_logsumexp(ir_graph *g, int x, bool keepdim)
{
    int m;
    int xm = shift_by_row_max(g, x, &m);
    int lse = ir_binary(g, IR_ADD, m, ir_unary(g, IR_LOG, ir_sum(g, ir_unary(g, IR_EXP, xm), -1, true)));
    if (keepdim || lse < 0) return lse;
    ir_shape s = shape_of(g, x);
    s.rank--;
    return ir_reshape(g, lse, s);
}

/* Flattened to [rows, in] @ [in, out] so that every backend sees a plain GEMM. */
int ir_linear(ir_graph *g, int x, int w, int b)
{
    ir_shape xs = shape_of(g, x), ws = shape_of(g, w);
    if (x < 0 || w < 0 || xs.rank < 1 || ws.rank != 2) return ir_matmul(g, x, w); /* records the error */
    int64_t in = xs.dim[xs.rank - 1];
    int64_t rows2[2] = {ir_shape_numel(&xs) / in, in};
    int y = ir_matmul(g, ir_reshape(g, x, ir_shape_of(2, rows2)), w);
    ir_shape ys = xs;
    ys.dim[ys.rank - 1] = ws.dim[1];
    y = ir_reshape(g, y, ys);
    return b >= 0 ? ir_binary(g, IR_ADD, y, b) : y;
}

int ir_layernorm(ir_graph *g, int x, int w, int b, double eps)
{
    int xc = ir_binary(g, IR_SUB, x, ir_mean(g, x, -1, true));
    int var = ir_mean(g, ir_binary(g, IR_MUL, xc, xc), -1, true);
    int y = ir_binary(g, IR_MUL, xc, ir_unary(g, IR_RSQRT, ir_add_scalar(g, var, eps)));
    return ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, y, w), b);
}

int ir_dropout(ir_graph *g, int x, double p, const ir_rng *rng)
{
    if (p <= 0.0 || x < 0) return x;
    int u = ir_random(g, rng->step, IR_RANDOM_UNIFORM, rng->stream, rng->seed, shape_of(g, x));
    return ir_dropout_mask(g, x, u, p);
}

int ir_dropout_mask(ir_graph *g, int x, int u, double p)
{
    int keep = ir_compare(g, IR_CMP_GE, u, ir_scalar(g, p));
    return ir_mul_scalar(g, ir_binary(g, IR_MUL, x, keep), 1.0 / (1.0 - p));
}

/* [B,T,d] slice j of c_attn's output -> [B,H,T,hd] */
static int split_heads(ir_graph *g, int qkv, int j, int64_t b, int64_t t, int64_t d, int64_t h)
{
    int part = ir_slice(g, qkv, 2, j * d, d);
    int64_t dims[4] = {b, t, h, d / h};
    static const int perm[4] = {0, 2, 1, 3};
    return ir_permute(g, ir_reshape(g, part, ir_shape_of(4, dims)), perm);
}

/* [T,T] 1.0 where key position <= query position (the causal mask). */
static int causal_mask(ir_graph *g, int64_t t)
{
    int64_t dims[2] = {t, t};
    ir_shape s = ir_shape_of(2, dims);
    int col = ir_iota(g, s, 1);
    int row = ir_iota(g, s, 0);
    return ir_compare(g, IR_CMP_LE, col, row);
}

int ir_attention(ir_graph *g, int x, const ir_attn_params *p, int64_t heads,
                 double dropout, const ir_rng *rng)
{
    ir_shape xs = shape_of(g, x);
    if (x < 0 || xs.rank != 3 || heads < 1 || xs.dim[2] % heads)
        return ir_graph_fail(g, "attention: input must be [B,T,d] with d divisible by heads");
    int64_t b = xs.dim[0], t = xs.dim[1], d = xs.dim[2];
    int qkv = ir_linear(g, x, p->c_attn_w, p->c_attn_b);                     /* [B,T,3d] */
    int q = split_heads(g, qkv, 0, b, t, d, heads);                          /* [B,H,T,hd] */
    int k = split_heads(g, qkv, 1, b, t, d, heads);
    int v = split_heads(g, qkv, 2, b, t, d, heads);
    static const int kt_perm[4] = {0, 1, 3, 2};
    int scores = ir_matmul(g, q, ir_permute(g, k, kt_perm));                 /* [B,H,T,T] */
    scores = ir_mul_scalar(g, scores, 1.0 / sqrt((double)(d / heads)));
    int mask = causal_mask(g, t);
    scores = ir_where(g, mask, scores, ir_scalar(g, -INFINITY));
    int att = ir_softmax(g, scores);
    ir_rng r1 = rng ? *rng : (ir_rng){-1, 0, 0};
    att = ir_dropout(g, att, dropout, &r1);
    int y = ir_matmul(g, att, v);                                            /* [B,H,T,hd] */
    static const int merge_perm[4] = {0, 2, 1, 3};
    y = ir_reshape(g, ir_permute(g, y, merge_perm), xs);                     /* [B,T,d] */
    y = ir_linear(g, y, p->c_proj_w, p->c_proj_b);
    ir_rng r2 = r1;
    r2.stream++;
    return ir_dropout(g, y, dropout, &r2);
}

/* Cross-entropy of logits [...,V] against targets i32 [...]: the mean over
 * predicted positions of -log softmax(logits)[target]. A negative target marks
 * a position with nothing to predict (the last of a sequence whose next token
 * lies outside it, doc/model-semantics.md): it adds 0 to the sum and is not
 * counted. per_token (if not NULL) gets each position's term, 0 where
 * ignored: [n]. */
int ir_cross_entropy_tokens(ir_graph *g, int logits, int targets, int *per_token)
{
    ir_shape ts = shape_of(g, targets);
    int64_t n = ir_shape_numel(&ts);
    int zero = ir_cast(g, ir_scalar(g, 0.0), IR_I32);
    int valid = ir_reshape(g, ir_compare(g, IR_CMP_GE, targets, zero), ir_shape_of(1, &n));   /* f32 [n]: 1 or 0 */
    int safe = ir_binary(g, IR_MAX, targets, zero);                                       /* a row index either way */
    if (safe >= 0 && ts.rank < IR_MAX_RANK) ts.dim[ts.rank++] = 1;
    int logp = ir_log_softmax(g, logits);
    int picked = ir_take(g, logp, ir_reshape(g, safe, ts));                               /* [...,1] */
    int counted = ir_binary(g, IR_MUL, ir_reshape(g, picked, ir_shape_of(1, &n)), valid); /* [n] */
    if (per_token) *per_token = ir_unary(g, IR_NEG, counted);
    int n_valid = ir_sum_all(g, valid);
    int count = ir_binary(g, IR_MAX, n_valid, ir_scalar(g, 1.0));                         /* no division by 0 */
    return ir_unary(g, IR_NEG, ir_binary(g, IR_DIV, ir_sum_all(g, counted), count));
}

int ir_cross_entropy(ir_graph *g, int logits, int targets)
{
    return ir_cross_entropy_tokens(g, logits, targets, NULL);
}

int ir_sinusoidal(ir_graph *g, int64_t t, int64_t d)
{
    if (d % 2) return ir_graph_fail(g, "sinusoidal positions need an even width, got %lld", (long long)d);
    int64_t half[2] = {t, d / 2}, split[3] = {t, d / 2, 1}, full[2] = {t, d};
    ir_shape hs = ir_shape_of(2, half), ss = ir_shape_of(3, split);
    int w = ir_unary(g, IR_EXP, ir_mul_scalar(g, ir_iota(g, hs, 1), -2.0 * log(10000.0) / (double)d));
    int angle = ir_binary(g, IR_MUL, ir_iota(g, hs, 0), w);                   /* [T, d/2] */
    int s = ir_reshape(g, ir_sin(g, angle), ss), c = ir_reshape(g, ir_cos(g, angle), ss);
    return ir_reshape(g, ir_concat(g, s, c, 2), ir_shape_of(2, full));       /* interleaved */
}
