/* ir/interp_kernels.c -- the interpreter's kernels, one per op family, as
 * plain loops over row-major buffers of doubles. Broadcasting is done with
 * strides (0 on a stretched axis); indices are bounds-checked and a bad one
 * becomes a run error. Reads operand values, writes the node's value; the
 * driver (interp.c) allocates, orders and rounds. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ir/ops.h"
#include "ir/philox.h"

static const ir_shape *shape_of(const ir_kctx *c, const ir_node *n, int i) { return &c->g->nodes[n->in[i]].shape; }

static int run_error(const ir_kctx *c, const ir_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_error(const ir_kctx *c, const ir_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return moec_error_node(c->diag, (moec_loc){0}, (int)(n - c->g->nodes), "%s: %s", ir_op_name(n->op), msg);
}

/* Strides of `in` when indexed by `out`'s multi-index: shapes aligned on the
 * right, stride 0 on axes `in` lacks or has as 1 (numpy broadcasting). */
static void bstrides(const ir_shape *out, const ir_shape *in, int64_t st[IR_MAX_RANK])
{
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int j = i - (out->rank - in->rank);
        st[i] = (j < 0 || in->dim[j] == 1) ? 0 : s;
        if (j >= 0) s *= in->dim[j];
    }
}

/* Advances a row-major multi-index by one; the last axis moves fastest. */
static void next_index(const ir_shape *s, int64_t idx[IR_MAX_RANK])
{
    for (int i = s->rank - 1; i >= 0; i--) {
        if (++idx[i] < s->dim[i]) return;
        idx[i] = 0;
    }
}

static int64_t dot(const int64_t idx[IR_MAX_RANK], const int64_t st[IR_MAX_RANK], int rank)
{
    int64_t o = 0;
    for (int i = 0; i < rank; i++) o += idx[i] * st[i];
    return o;
}

/* A shape seen as [outer, dim(axis), inner] around one axis. */
static void split(const ir_shape *s, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= s->dim[i];
    for (int i = axis + 1; i < s->rank; i++) *inner *= s->dim[i];
    *len = s->dim[axis];
}

/* An index value as a row number in [0, limit), or -1. */
static int64_t index_in(double v, int64_t limit)
{
    if (!(v >= 0 && v < (double)limit) || v != floor(v)) return -1;
    return (int64_t)v;
}

/* ---- leaves ---- */

int ir_kern_leaf(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    (void)in;
    (void)out;
    return run_error(c, n, "a leaf is bound, not computed");   /* interp.c copies bound values */
}

int ir_kern_const(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    (void)c;
    (void)in;
    double value = ir_attr_value(n);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++) out[i] = value;
    return 0;
}

int ir_kern_iota(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    (void)c;
    (void)in;
    int64_t outer, len, inner;
    split(&n->shape, (int)ir_attr_axis(n), &outer, &len, &inner);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++) out[i] = (double)((i / inner) % len);
    return 0;
}

int ir_kern_random(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    double s = nearbyint(in[0][0]);
    if (!(s >= 0 && s < 0x1p63)) return run_error(c, n, "step %g is not a non-negative integer", in[0][0]);
    uint64_t step = (uint64_t)s, seed = (uint64_t)ir_attr_seed(n);
    uint32_t stream = (uint32_t)ir_attr_stream(n);
    double (*draw)(uint64_t, uint64_t, uint32_t, uint64_t);
    switch ((ir_random_dist)ir_attr_dist(n)) {
    case IR_RANDOM_NORMAL: draw = ir_philox_normal; break;
    case IR_RANDOM_UNIFORM: draw = ir_philox_uniform; break;
    default: MOEC_UNREACHABLE();   /* the shape rule checked the distribution */
    }
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++) out[i] = draw(seed, step, stream, (uint64_t)i);
    return 0;
}

/* ---- elementwise ---- */

double ir_eval_unary(ir_op op, double x)
{
    switch (op) {
    case IR_NEG: return -x;
    case IR_EXP: return exp(x);
    case IR_LOG: return log(x);
    case IR_TANH: return tanh(x);
    case IR_SQRT: return sqrt(x);
    case IR_RSQRT: return 1.0 / sqrt(x);
    case IR_ERF: return erf(x);
    case IR_STOP_GRAD: return x;
    default: MOEC_UNREACHABLE();   /* CAST has its own kernel */
    }
}

int ir_kern_unary(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    (void)c;
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++) out[i] = ir_eval_unary(n->op, in[0][i]);
    return 0;
}

int ir_kern_cast(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    ir_dtype to = (ir_dtype)ir_attr_to(n);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++) {
        double v = in[0][i];
        switch (to) {
        case IR_F32: break;
        case IR_I32:
            v = trunc(v);   /* C's float -> int conversion: toward zero */
            if (!(v >= INT32_MIN && v <= INT32_MAX)) return run_error(c, n, "%g does not fit in i32", in[0][i]);
            break;
        case IR_BF16:
        case IR_F16:
        case IR_F64:
        default: MOEC_UNREACHABLE();   /* the shape rule casts to computed dtypes only */
        }
        out[i] = v;
    }
    return 0;
}

bool ir_eval_compare(ir_cmp cmp, double a, double b)
{
    switch (cmp) {
    case IR_CMP_LT: return a < b;
    case IR_CMP_LE: return a <= b;
    case IR_CMP_GT: return a > b;
    case IR_CMP_GE: return a >= b;
    case IR_CMP_EQ: return a == b;
    case IR_CMP_NE: return a != b;
    default: MOEC_UNREACHABLE();   /* the shape rule checked the comparison */
    }
}

static int binary(const ir_kctx *c, const ir_node *n, double a, double b, double *out)
{
    bool i32 = n->dtype == IR_I32;
    switch (n->op) {
    case IR_ADD: *out = a + b; break;
    case IR_SUB: *out = a - b; break;
    case IR_MUL: *out = a * b; break;
    case IR_DIV:
        if (i32 && b == 0) return run_error(c, n, "i32 division by zero");
        *out = i32 ? trunc(a / b) : a / b;
        break;
    case IR_MAX: *out = a >= b ? a : b; break;   /* ties: the first operand, as the gradient */
    case IR_CMP: *out = ir_eval_compare((ir_cmp)ir_attr_cmp(n), a, b) ? 1.0 : 0.0; break;
    default: MOEC_UNREACHABLE();
    }
    return 0;
}

int ir_kern_binary(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    int r = n->shape.rank;
    bstrides(&n->shape, shape_of(c, n, 0), sa);
    bstrides(&n->shape, shape_of(c, n, 1), sb);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++, next_index(&n->shape, idx))
        if (binary(c, n, in[0][dot(idx, sa, r)], in[1][dot(idx, sb, r)], &out[i])) return -1;
    return 0;
}

int ir_kern_where(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t st[3][IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    int r = n->shape.rank;
    for (int k = 0; k < 3; k++) bstrides(&n->shape, shape_of(c, n, k), st[k]);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++, next_index(&n->shape, idx))
        out[i] = in[0][dot(idx, st[0], r)] != 0 ? in[1][dot(idx, st[1], r)] : in[2][dot(idx, st[2], r)];
    return 0;
}

/* ---- reductions, scans: x seen as [outer, len, inner] ---- */

/* One reduced value: x[0], x[inner], ... x[(len-1) inner] in order, so f32
 * mode rounds as a serial device. */
static double reduce_row(const ir_kctx *c, const ir_node *n, const double *x, int64_t len, int64_t inner)
{
    double acc;
    switch (n->op) {
    case IR_SUM:
        acc = 0.0;
        for (int64_t k = 0; k < len; k++) acc = ir_kround(c, n, acc + x[k * inner]);
        return acc;
    case IR_REDUCE_MAX:
        acc = x[0];
        for (int64_t k = 1; k < len; k++)   /* a NaN anywhere makes the maximum NaN, as compiled code */
            if (isnan(x[k * inner]) || x[k * inner] > acc) acc = x[k * inner];
        return acc;
    default: MOEC_UNREACHABLE();
    }
}

int ir_kern_reduce(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t outer, len, inner;
    split(shape_of(c, n, 0), (int)ir_attr_axis(n), &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++)
            out[o * inner + j] = reduce_row(c, n, in[0] + o * len * inner + j, len, inner);
    return 0;
}

int ir_kern_cumsum(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t outer, len, inner;
    split(&n->shape, (int)ir_attr_axis(n), &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * len * inner + j;
            double acc = 0.0;
            for (int64_t k = 0; k < len; k++) out[base + k * inner] = acc = ir_kround(c, n, acc + in[0][base + k * inner]);
        }
    return 0;
}

/* ---- movement ---- */

int ir_kern_copy(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    (void)c;
    memcpy(out, in[0], (size_t)ir_shape_numel(&n->shape) * sizeof *out);
    return 0;
}

int ir_kern_permute(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *xs = shape_of(c, n, 0);
    int64_t xst[IR_MAX_RANK], st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, s = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        xst[i] = s;
        s *= xs->dim[i];
    }
    for (int i = 0; i < n->shape.rank; i++) st[i] = xst[ir_attr_perm(n, i)];   /* output axis i walks input axis perm[i] */
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++, next_index(&n->shape, idx))
        out[i] = in[0][dot(idx, st, n->shape.rank)];
    return 0;
}

int ir_kern_slice(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int axis = (int)ir_attr_axis(n);
    int64_t outer, len, inner, xlen = shape_of(c, n, 0)->dim[axis], start = ir_attr_start(n);
    split(&n->shape, axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        memcpy(out + o * len * inner, in[0] + (o * xlen + start) * inner, (size_t)(len * inner) * sizeof *out);
    return 0;
}

int ir_kern_concat(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int axis = (int)ir_attr_axis(n);
    int64_t outer, len, inner, la = shape_of(c, n, 0)->dim[axis], lb = shape_of(c, n, 1)->dim[axis];
    split(&n->shape, axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++) {
        memcpy(out + o * len * inner, in[0] + o * la * inner, (size_t)(la * inner) * sizeof *out);
        memcpy(out + (o * len + la) * inner, in[1] + o * lb * inner, (size_t)(lb * inner) * sizeof *out);
    }
    return 0;
}

int ir_kern_broadcast(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    bstrides(&n->shape, shape_of(c, n, 0), st);
    for (int64_t i = 0, e = ir_shape_numel(&n->shape); i < e; i++, next_index(&n->shape, idx))
        out[i] = in[0][dot(idx, st, n->shape.rank)];
    return 0;
}

/* ---- contractions ---- */

/* [..., m, k] x [..., k, n]: the batch dims broadcast, each batch is a plain
 * triple loop accumulating over k in order. */
int ir_kern_matmul(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *as = shape_of(c, n, 0), *bs = shape_of(c, n, 1);
    int64_t m = as->dim[as->rank - 2], k = as->dim[as->rank - 1], p = bs->dim[bs->rank - 1];
    ir_shape batch = n->shape, ab = *as, bb = *bs;
    batch.rank -= 2;
    ab.rank -= 2;
    bb.rank -= 2;
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    bstrides(&batch, &ab, sa);   /* in matrices, not elements */
    bstrides(&batch, &bb, sb);
    for (int64_t t = 0, e = ir_shape_numel(&batch); t < e; t++, next_index(&batch, idx)) {
        const double *a = in[0] + dot(idx, sa, batch.rank) * m * k, *b = in[1] + dot(idx, sb, batch.rank) * k * p;
        double *o = out + t * m * p;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < p; j++) {
                double acc = 0.0;
                for (int64_t l = 0; l < k; l++) acc = ir_kround(c, n, acc + a[i * k + l] * b[l * p + j]);
                o[i * p + j] = acc;
            }
    }
    return 0;
}

/* The group sizes of a grouped op (operand 2, counts [E]) as integers into
 * cnt: each a non-negative integer, all together at most the R rows of
 * operand 0. Anything else is a run error naming the count. */
static int group_counts(const ir_kctx *c, const ir_node *n, const double *counts, int64_t *cnt)
{
    int64_t e = shape_of(c, n, 2)->dim[0], rows = shape_of(c, n, 0)->dim[0], total = 0;
    for (int64_t i = 0; i < e; i++) {
        cnt[i] = index_in(counts[i], rows + 1);
        if (cnt[i] < 0) return run_error(c, n, "count %g of group %lld is not an integer in 0..%lld", counts[i], (long long)i, (long long)rows);
        total += cnt[i];
        if (total > rows) return run_error(c, n, "the counts of groups 0..%lld sum to %lld, past the %lld rows", (long long)i, (long long)total, (long long)rows);
    }
    return 0;
}

/* Checks and copies the counts of n into a fresh array (E entries); NULL
 * after a run error. The caller frees it. */
static int64_t *grouped_counts(const ir_kctx *c, const ir_node *n, const double *counts)
{
    int64_t e = shape_of(c, n, 2)->dim[0];
    int64_t *cnt = malloc((size_t)e * sizeof *cnt);
    if (!cnt) return run_error(c, n, "out of memory"), NULL;
    if (group_counts(c, n, counts, cnt) < 0) return free(cnt), NULL;
    return cnt;
}

/* x [R,K] by w [E,K,N]: row r of group e is x[r] w[e], accumulated over K in
 * order; rows past the groups are 0. */
int ir_kern_grouped_matmul(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *ws = shape_of(c, n, 1);
    int64_t k = ws->dim[1], p = ws->dim[2], e = ws->dim[0], row = 0;
    int64_t *cnt = grouped_counts(c, n, in[2]);
    if (!cnt) return -1;
    memset(out, 0, (size_t)ir_shape_numel(&n->shape) * sizeof *out);
    for (int64_t grp = 0; grp < e; grp++) {
        const double *w = in[1] + grp * k * p;
        for (int64_t end = row + cnt[grp]; row < end; row++)
            for (int64_t j = 0; j < p; j++) {
                double acc = 0.0;
                for (int64_t l = 0; l < k; l++) acc = ir_kround(c, n, acc + in[0][row * k + l] * w[l * p + j]);
                out[row * p + j] = acc;
            }
    }
    free(cnt);
    return 0;
}

/* x [R,K], dy [R,N] -> [E,K,N]: out[e] = sum over group e's rows, in order,
 * of x[r]^T dy[r]; 0 for an empty group. */
int ir_kern_grouped_outer(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t e = n->shape.dim[0], k = n->shape.dim[1], p = n->shape.dim[2], row = 0;
    int64_t *cnt = grouped_counts(c, n, in[2]);
    if (!cnt) return -1;
    for (int64_t grp = 0; grp < e; grp++) {
        double *o = out + grp * k * p;
        for (int64_t l = 0; l < k; l++)
            for (int64_t j = 0; j < p; j++) {
                double acc = 0.0;
                for (int64_t r = row; r < row + cnt[grp]; r++) acc = ir_kround(c, n, acc + in[0][r * k + l] * in[1][r * p + j]);
                o[l * p + j] = acc;
            }
        row += cnt[grp];
    }
    free(cnt);
    return 0;
}

/* ---- indexing ---- */

int ir_kern_gather(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *ts = shape_of(c, n, 0);
    int64_t rows = ir_shape_numel(shape_of(c, n, 1)), d = ts->dim[1];
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = index_in(in[1][r], ts->dim[0]);
        if (v < 0) return run_error(c, n, "index %g at %lld outside 0..%lld", in[1][r], (long long)r, (long long)ts->dim[0] - 1);
        memcpy(out + r * d, in[0] + v * d, (size_t)d * sizeof *out);
    }
    return 0;
}

int ir_kern_scatter_add(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t rows = ir_shape_numel(shape_of(c, n, 1)), d = n->shape.dim[1];
    memset(out, 0, (size_t)ir_shape_numel(&n->shape) * sizeof *out);
    for (int64_t r = 0; r < rows; r++) {   /* rows in order: a deterministic sum */
        int64_t v = index_in(in[1][r], n->shape.dim[0]);
        if (v < 0) return run_error(c, n, "index %g at %lld outside 0..%lld", in[1][r], (long long)r, (long long)n->shape.dim[0] - 1);
        for (int64_t j = 0; j < d; j++) out[v * d + j] = ir_kround(c, n, out[v * d + j] + in[0][r * d + j]);
    }
    return 0;
}

/* The k largest of each row, descending; ties to the lower index (strict >
 * keeps the first seen). NaN is never chosen over a number. */
int ir_kern_topk(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *xs = shape_of(c, n, 0);
    int64_t len = xs->dim[xs->rank - 1], k = ir_attr_k(n), rows = ir_shape_numel(xs) / len;
    (void)c;
    for (int64_t r = 0; r < rows; r++) {
        const double *x = in[0] + r * len;
        double *o = out + r * k;
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t i = 0; i < len; i++) {
                bool taken = false;
                for (int64_t t = 0; t < j && !taken; t++) taken = o[t] == (double)i;
                if (!taken && (best < 0 || x[i] > x[best] || (isnan(x[best]) && !isnan(x[i])))) best = i;
            }
            o[j] = (double)best;
        }
    }
    return 0;
}

int ir_kern_take(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *xs = shape_of(c, n, 0);
    int64_t len = xs->dim[xs->rank - 1], k = n->shape.dim[n->shape.rank - 1], rows = ir_shape_numel(&n->shape) / k;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++) {
            int64_t v = index_in(in[1][r * k + j], len);
            if (v < 0) return run_error(c, n, "index %g outside 0..%lld", in[1][r * k + j], (long long)len - 1);
            out[r * k + j] = in[0][r * len + v];
        }
    return 0;
}

int ir_kern_put(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    const ir_shape *ss = shape_of(c, n, 0);
    int64_t len = ir_attr_size(n), k = ss->dim[ss->rank - 1], rows = ir_shape_numel(ss) / k;
    memset(out, 0, (size_t)ir_shape_numel(&n->shape) * sizeof *out);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++) {
            int64_t v = index_in(in[1][r * k + j], len);
            if (v < 0) return run_error(c, n, "index %g outside 0..%lld", in[1][r * k + j], (long long)len - 1);
            out[r * len + v] = ir_kround(c, n, out[r * len + v] + in[0][r * k + j]);
        }
    return 0;
}

int ir_kern_one_hot(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out)
{
    int64_t len = ir_attr_size(n), rows = ir_shape_numel(&n->shape) / len;
    memset(out, 0, (size_t)ir_shape_numel(&n->shape) * sizeof *out);
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = index_in(in[0][r], len);
        if (v < 0) return run_error(c, n, "index %g outside 0..%lld", in[0][r], (long long)len - 1);
        out[r * len + v] = 1.0;
    }
    return 0;
}
