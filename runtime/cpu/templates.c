/* runtime/cpu/templates.c -- the CPU templates: float32 C versions of the
 * graph ops TOPK, CUMSUM, SCATTER_ADD and PUT (ir/ops.def), computing what
 * the reference interpreter (ir/interp_kernels.c) computes in float32 mode,
 * bit for bit: the same tie and NaN order, sums in the same order. Shapes
 * and attributes come from ir_ktemplate.node and in_shape; indices are
 * checked before anything is written. Rows or columns are split over the pool. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ir/ops.h"
#include "runtime/cpu/launch.h"

enum {
    RT_TEMPLATE_GRAIN = 1 << 14,   /* elements touched per chunk below which no thread is woken */
    RT_COL_BLOCK = 16,             /* columns per item of column-split templates (one cache line) */
};

static int64_t numel(const ir_shape *s) { return ir_shape_numel(s); }
static int64_t last_dim(const ir_shape *s) { return s->rank ? s->dim[s->rank - 1] : 1; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Items per chunk so that a chunk touches about RT_TEMPLATE_GRAIN elements. */
static int64_t grain(int64_t per_item) { return max64(1, RT_TEMPLATE_GRAIN / max64(1, per_item)); }

/* The shape as [outer, len, inner] around `axis`. */
static void split_axis(const ir_shape *s, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= s->dim[i];
    for (int i = axis + 1; i < s->rank; i++) *inner *= s->dim[i];
    *len = s->dim[axis];
}

/* ---- checks ---- */

static int need(const rt_env *env, int buf, ir_dtype dtype, int64_t n, const char *what)
{
    if (buf < 0) return rt_launch_error(env, "template has no %s buffer", what);
    const ir_kbuf *b = &env->p->bufs[buf];
    if (b->dtype != dtype) return rt_launch_error(env, "%s buffer b%d (%s) has the wrong dtype", what, buf, b->name);
    if (b->numel < n)
        return rt_launch_error(env, "%s buffer b%d (%s) holds %lld elements, the template needs %lld", what, buf,
                               b->name, (long long)b->numel, (long long)n);
    return 0;
}

static int check_topk(const rt_env *env, const ir_ktemplate *t)
{
    const ir_shape *xs = &t->in_shape[0];
    int64_t len = last_dim(xs), k = ir_attr_k(&t->node);
    if (xs->rank < 1 || k < 1 || k > len || len > INT32_MAX || last_dim(&t->node.shape) != k ||
        numel(&t->node.shape) / k != numel(xs) / len)
        return rt_launch_error(env, "topk: shapes do not agree with k = %lld", (long long)k);
    return need(env, t->in[0], IR_F32, numel(xs), "input") || need(env, t->out, IR_I32, numel(&t->node.shape), "output") ? -1 : 0;
}

static int check_cumsum(const rt_env *env, const ir_ktemplate *t)
{
    const ir_shape *s = &t->node.shape;
    int64_t axis = ir_attr_axis(&t->node);
    if (axis < 0 || axis >= s->rank || !ir_shape_eq(s, &t->in_shape[0]))
        return rt_launch_error(env, "cumsum: bad axis or shapes");
    if (t->node.dtype != IR_F32 && t->node.dtype != IR_I32) return rt_launch_error(env, "cumsum: f32 or i32 only");
    return need(env, t->in[0], t->node.dtype, numel(s), "input") || need(env, t->out, t->node.dtype, numel(s), "output") ? -1 : 0;
}

static int check_scatter_add(const rt_env *env, const ir_ktemplate *t)
{
    const ir_shape *out = &t->node.shape;
    if (out->rank != 2 || out->dim[0] != ir_attr_rows(&t->node) || numel(&t->in_shape[1]) * out->dim[1] != numel(&t->in_shape[0]) ||
        last_dim(&t->in_shape[0]) != out->dim[1])
        return rt_launch_error(env, "scatter_add: source, indices and output shapes do not agree");
    return need(env, t->in[0], IR_F32, numel(&t->in_shape[0]), "source") ||
           need(env, t->in[1], IR_I32, numel(&t->in_shape[1]), "index") || need(env, t->out, IR_F32, numel(out), "output") ? -1 : 0;
}

static int check_put(const rt_env *env, const ir_ktemplate *t)
{
    const ir_shape *src = &t->in_shape[0], *out = &t->node.shape;
    if (!ir_shape_eq(src, &t->in_shape[1]) || src->rank < 1 || last_dim(out) != ir_attr_size(&t->node) ||
        numel(out) / last_dim(out) != numel(src) / last_dim(src))
        return rt_launch_error(env, "put: source, indices and output shapes do not agree");
    return need(env, t->in[0], IR_F32, numel(src), "source") || need(env, t->in[1], IR_I32, numel(src), "index") ||
           need(env, t->out, IR_F32, numel(out), "output") ? -1 : 0;
}

int rt_template_check(const rt_env *env, const ir_ktemplate *t)
{
    switch (t->node.op) {
    case IR_TOPK: return check_topk(env, t);
    case IR_CUMSUM: return check_cumsum(env, t);
    case IR_SCATTER_ADD: return check_scatter_add(env, t);
    case IR_PUT: return check_put(env, t);
    default: return rt_launch_error(env, "no CPU template for op %s", ir_op_name(t->node.op));
    }
}

/* ---- top-k: each row's k largest, descending, ties to the lower index, NaN last ---- */

/* One template's run, shared by its chunks. */
typedef struct tjob {
    const void *x;           /* input, or source */
    const int32_t *idx;      /* indices (scatter_add, put) */
    void *out;
    int64_t len;             /* topk, put: row length of x, out; cumsum: scan length; scatter_add: d */
    int64_t k;               /* topk: selected per row; put: indices per row; scatter_add: source rows */
    int64_t inner;           /* cumsum: extent after the axis; scatter_add: V, the output rows */
    ir_dtype dtype;          /* cumsum: f32 or i32 */
} tjob;

/* Whether a ranks before b when a's index is higher: larger, or a number against a NaN. */
static bool beats(float a, float b) { return a > b || (isnan(b) && !isnan(a)); }

/* Keeps o[0..k) sorted by rank while walking the row in index order: a
 * newcomer passes only those it beats strictly, so ties keep index order. */
static void topk_row(const float *x, int64_t len, int64_t k, int32_t *o)
{
    int64_t filled = 0;
    for (int64_t i = 0; i < len; i++) {
        if (filled == k && !beats(x[i], x[o[k - 1]])) continue;
        int64_t at = filled < k ? filled++ : k - 1;
        for (; at > 0 && beats(x[i], x[o[at - 1]]); at--) o[at] = o[at - 1];
        o[at] = (int32_t)i;
    }
}

static void topk_rows(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const tjob *j = ctx;
    for (int64_t r = begin; r < end; r++) topk_row((const float *)j->x + r * j->len, j->len, j->k, (int32_t *)j->out + r * j->k);
}

static int run_topk(const rt_env *env, const ir_ktemplate *t)
{
    tjob j = { .x = env->bufs[t->in[0]], .out = env->bufs[t->out], .len = last_dim(&t->in_shape[0]), .k = ir_attr_k(&t->node) };
    rt_pool_run_grain(env->pool, numel(&t->in_shape[0]) / j.len, grain(j.len * j.k), topk_rows, &j);
    return 0;
}

/* ---- cumsum along an axis: items are (outer index, block of inner columns) ---- */

static void cumsum_items(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const tjob *j = ctx;
    int64_t blocks = (j->inner + RT_COL_BLOCK - 1) / RT_COL_BLOCK;
    for (int64_t it = begin; it < end; it++) {
        int64_t base = it / blocks * j->len * j->inner, c0 = it % blocks * RT_COL_BLOCK;
        int64_t c1 = c0 + RT_COL_BLOCK < j->inner ? c0 + RT_COL_BLOCK : j->inner;
        for (int64_t c = c0; c < c1; c++) {
            if (j->dtype == IR_I32) {   /* i32 sums wrap (as uint32) rather than overflow */
                const int32_t *x = (const int32_t *)j->x + base + c;
                int32_t *o = (int32_t *)j->out + base + c;
                uint32_t acc = 0;
                for (int64_t s = 0; s < j->len; s++) o[s * j->inner] = (int32_t)(acc += (uint32_t)x[s * j->inner]);
            } else {
                const float *x = (const float *)j->x + base + c;
                float *o = (float *)j->out + base + c, acc = 0.0f;
                for (int64_t s = 0; s < j->len; s++) o[s * j->inner] = acc += x[s * j->inner];
            }
        }
    }
}

static int run_cumsum(const rt_env *env, const ir_ktemplate *t)
{
    int64_t outer;
    tjob j = { .x = env->bufs[t->in[0]], .out = env->bufs[t->out], .dtype = t->node.dtype };
    split_axis(&t->node.shape, (int)ir_attr_axis(&t->node), &outer, &j.len, &j.inner);
    int64_t items = outer * ((j.inner + RT_COL_BLOCK - 1) / RT_COL_BLOCK);
    rt_pool_run_grain(env->pool, items, grain(j.len * (j.inner < RT_COL_BLOCK ? j.inner : RT_COL_BLOCK)), cumsum_items, &j);
    return 0;
}

/* ---- index checks: every index before any write ---- */

static int check_indices(const rt_env *env, const ir_ktemplate *t, int64_t n, int64_t limit)
{
    const int32_t *idx = env->bufs[t->in[1]];
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= limit)
            return rt_launch_error(env, "%s: index %d at element %lld outside 0..%lld", ir_op_name(t->node.op), idx[i],
                                   (long long)i, (long long)limit - 1);
    return 0;
}

/* ---- scatter_add: out [V, d] = sum of source rows by index; items are column blocks ---- */

static void scatter_cols(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const tjob *j = ctx;
    int64_t c0 = begin * RT_COL_BLOCK, c1 = end * RT_COL_BLOCK < j->len ? end * RT_COL_BLOCK : j->len;
    const float *src = j->x;
    const int32_t *idx = j->idx;
    float *out = j->out;
    for (int64_t v = 0; v < j->inner; v++) memset(out + v * j->len + c0, 0, sizeof *out * (size_t)(c1 - c0));
    for (int64_t r = 0; r < j->k; r++)   /* rows in order: the interpreter's sum order */
        for (int64_t c = c0; c < c1; c++) out[idx[r] * j->len + c] += src[r * j->len + c];
}

static int run_scatter_add(const rt_env *env, const ir_ktemplate *t)
{
    tjob j = { .x = env->bufs[t->in[0]], .idx = env->bufs[t->in[1]], .out = env->bufs[t->out],
                   .len = t->node.shape.dim[1], .k = numel(&t->in_shape[1]), .inner = t->node.shape.dim[0] };
    if (check_indices(env, t, j.k, j.inner) < 0) return -1;
    rt_pool_run_grain(env->pool, (j.len + RT_COL_BLOCK - 1) / RT_COL_BLOCK, grain(RT_COL_BLOCK * (j.k + j.inner)),
                      scatter_cols, &j);
    return 0;
}

/* ---- put: row r of out [.., n] = zeros plus src added at idx; items are rows ---- */

static void put_rows(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const tjob *j = ctx;
    for (int64_t r = begin; r < end; r++) {
        const float *src = (const float *)j->x + r * j->k;
        const int32_t *idx = j->idx + r * j->k;
        float *o = (float *)j->out + r * j->len;
        memset(o, 0, sizeof *o * (size_t)j->len);
        for (int64_t i = 0; i < j->k; i++) o[idx[i]] += src[i];
    }
}

static int run_put(const rt_env *env, const ir_ktemplate *t)
{
    tjob j = { .x = env->bufs[t->in[0]], .idx = env->bufs[t->in[1]], .out = env->bufs[t->out],
                   .len = ir_attr_size(&t->node), .k = last_dim(&t->in_shape[0]) };
    int64_t rows = numel(&t->in_shape[0]) / j.k;
    if (check_indices(env, t, rows * j.k, j.len) < 0) return -1;
    rt_pool_run_grain(env->pool, rows, grain(j.len + j.k), put_rows, &j);
    return 0;
}

int rt_template_run(const rt_env *env, const ir_ktemplate *t)
{
    switch (t->node.op) {
    case IR_TOPK: return run_topk(env, t);
    case IR_CUMSUM: return run_cumsum(env, t);
    case IR_SCATTER_ADD: return run_scatter_add(env, t);
    case IR_PUT: return run_put(env, t);
    default: MOEC_UNREACHABLE();   /* rt_template_check refused it */
    }
}
