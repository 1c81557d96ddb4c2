/* ir/kinterp.c -- the reference evaluator of a loop kernel (ir/kinterp.h).
 * Walks the points one by one, each in stage order (ir_kloop_stages): the
 * point values of stage s, then reduce pass s one step of the reduce axis
 * at a time. Values are float or int32_t, computed as the graph
 * interpreter computes them in float32 mode (ir/interp_kernels.c), except
 * exp and tanh, the kernel IR's own (ir/kernel_math.h), as the compiled
 * kernels compute them. Reads
 * and writes the caller's buffers; errors go to the sink. */
#include "ir/kinterp.h"

#include "ir/interp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/kernel_math.h"
#include "ir/philox.h"

typedef union kval {
    float f;
    int32_t i;
} kval;

typedef struct kref {
    const ir_kprogram *p;
    const ir_launch *l;
    const ir_kloop *k;
    void *const *bufs;
    moec_diag *d;
    int lanes;
    int *stage;                /* ir_kloop_stages */
    kval *val;                 /* n_ins: the current value of each instruction */
    kval *acc;                 /* n_ins x lanes: partial results of reductions */
    int64_t pos[IR_K_AXES];    /* the current point, and r */
    int64_t point;
} kref;

static int run_error(const kref *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_error(const kref *c, int i, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    long id = c->l >= c->p->launches && c->l < c->p->launches + c->p->n_launches ? (long)(c->l - c->p->launches) : -1;
    if (i < 0) moec_error(c->d, "launch k%ld (%s): %s", id, c->l->name, msg);
    else moec_error(c->d, "launch k%ld (%s) v%d at point %" PRId64 ": %s", id, c->l->name, i, c->point, msg);
    return -1;
}

/* ---- scalar semantics (the graph interpreter's, in float32) ---- */

static float unary_f32(ir_op op, float x)
{
    switch (op) {
    case IR_NEG: return -x;
    case IR_EXP: return ir_kexpf(x);
    case IR_LOG: return logf(x);
    case IR_TANH: return ir_ktanhf(x);
    case IR_SQRT: return sqrtf(x);
    case IR_RSQRT: return 1.0f / sqrtf(x);
    case IR_ERF: return erff(x);
    default: return x;   /* STOP_GRAD */
    }
}

static float binary_f32(const ir_kinstr *in, float a, float b)
{
    switch (in->op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_MAX: return a >= b ? a : b;   /* ties and NaN as the interpreter: a >= b picks a */
    default: return ir_eval_compare((ir_cmp)in->attr, a, b) ? 1.0f : 0.0f;
    }
}

/* i32 arithmetic wraps around (two's complement), as the CPU backend's. */
static int binary_i32(const kref *c, int i, int32_t a, int32_t b, kval *out)
{
    const ir_kinstr *in = &c->k->ins[i];
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
    switch (in->op) {
    case IR_ADD: out->i = (int32_t)(ua + ub); return 0;
    case IR_SUB: out->i = (int32_t)(ua - ub); return 0;
    case IR_MUL: out->i = (int32_t)(ua * ub); return 0;
    case IR_DIV:
        if (b == 0) return run_error(c, i, "i32 division by zero");
        out->i = b == -1 ? (int32_t)(0u - ua) : a / b;   /* toward zero; INT32_MIN / -1 wraps */
        return 0;
    case IR_MAX: out->i = a >= b ? a : b; return 0;
    default: out->f = ir_eval_compare((ir_cmp)in->attr, a, b) ? 1.0f : 0.0f; return 0;
    }
}

/* f32 -> i32 truncates toward zero; a value outside i32 (or NaN) is an error. */
static int cast(const kref *c, int i, ir_dtype from, kval x, kval *out)
{
    const ir_kinstr *in = &c->k->ins[i];
    if (in->attr == from) *out = x;
    else if (in->attr == IR_F32) out->f = (float)x.i;
    else if (x.f >= -2147483648.0f && x.f < 2147483648.0f) out->i = (int32_t)x.f;
    else return run_error(c, i, "cast of %g to i32 is out of range", (double)x.f);
    return 0;
}

static int alu(const kref *c, int i)
{
    const ir_kinstr *in = &c->k->ins[i];
    kval a = c->val[in->src[0]], *out = &c->val[i];
    ir_dtype ta = c->k->ins[in->src[0]].dtype;
    switch (ir_op_kind(in->op)) {
    case IR_KIND_UNARY:
        if (in->op == IR_CAST) return cast(c, i, ta, a, out);
        if (ta == IR_I32) out->i = in->op == IR_NEG ? (int32_t)(0u - (uint32_t)a.i) : a.i;
        else out->f = unary_f32(in->op, a.f);
        return 0;
    case IR_KIND_BINARY: {
        kval b = c->val[in->src[1]];
        if (ta == IR_I32) return binary_i32(c, i, a.i, b.i, out);
        out->f = binary_f32(in, a.f, b.f);
        return 0;
    }
    case IR_KIND_WHERE: {
        bool cond = ta == IR_I32 ? a.i != 0 : a.f != 0;
        *out = c->val[in->src[cond ? 1 : 2]];
        return 0;
    }
    default: MOEC_UNREACHABLE();
    }
}

/* ---- reductions ---- */

static kval identity(const ir_kinstr *in)
{
    kval v;
    if (in->dtype == IR_I32) v.i = in->op == IR_SUM ? 0 : INT32_MIN;
    else v.f = in->op == IR_SUM ? 0.0f : -INFINITY;
    return v;
}

/* acc combined with x: a sum, or a maximum that propagates NaN and keeps
 * acc on ties (doc/kernels.md, "Reductions"). */
static kval combine(const ir_kinstr *in, kval acc, kval x)
{
    kval v = acc;
    if (in->dtype == IR_I32) {
        if (in->op == IR_SUM) v.i = (int32_t)((uint32_t)acc.i + (uint32_t)x.i);
        else if (x.i > acc.i) v = x;
    } else {
        if (in->op == IR_SUM) v.f = acc.f + x.f;
        else if (isnan(x.f) || x.f > acc.f) v = x;
    }
    return v;
}

/* ---- instructions ---- */

/* The element an index reaches at the current position; -1 with an error
 * when a gathered index leaves [0, limit) (limit < 0: no check). */
static int element(const kref *c, int i, const ir_kindex *ix, int64_t limit, int64_t *out)
{
    int64_t e = ix->base, g;
    for (int a = 0; a < IR_K_AXES; a++) e += ix->stride[a] * c->pos[a];
    if (ix->gather >= 0) {
        int64_t v = c->val[ix->gather].i;
        if (__builtin_mul_overflow(v, ix->gather_stride, &g) || __builtin_add_overflow(e, g, &e) ||
            (limit >= 0 && (e < 0 || e >= limit)))
            return run_error(c, i, "gathered index %" PRId64 " (v%d = %" PRId64 ") outside b%d's %" PRId64 " elements",
                             e, ix->gather, v, c->k->ins[i].buf, limit);
    }
    *out = e;
    return 0;
}

static int random_draw(const kref *c, int i)
{
    const ir_kinstr *in = &c->k->ins[i];
    const ir_kinstr *st = &c->k->ins[in->src[0]];
    kval s = c->val[in->src[0]];
    double step = st->dtype == IR_I32 ? (double)s.i : nearbyint((double)s.f);
    if (!(step >= 0 && step < 0x1p63)) return run_error(c, i, "step %g is not a non-negative integer", step);
    int64_t e;
    if (element(c, i, &in->index, -1, &e) < 0) return -1;
    double r = in->attr == IR_RANDOM_NORMAL ? ir_philox_normal(in->seed, (uint64_t)step, in->stream, (uint64_t)e)
                                            : ir_philox_uniform(in->seed, (uint64_t)step, in->stream, (uint64_t)e);
    c->val[i].f = (float)r;
    return 0;
}

static int load_store(const kref *c, int i)
{
    const ir_kinstr *in = &c->k->ins[i];
    int64_t e;
    if (element(c, i, &in->index, c->p->bufs[in->buf].numel, &e) < 0) return -1;
    kval *at = (kval *)((char *)c->bufs[in->buf] + 4 * e);   /* f32 and i32 are both 4 bytes */
    if (in->kind == IR_KI_LOAD) memcpy(&c->val[i], at, sizeof *at);
    else memcpy(at, &c->val[in->src[0]], sizeof *at);
    return 0;
}

static int eval(kref *c, int i)
{
    const ir_kinstr *in = &c->k->ins[i];
    switch (in->kind) {
    case IR_KI_LOAD:
    case IR_KI_STORE: return load_store(c, i);
    case IR_KI_CONST:
        if (in->dtype == IR_I32) c->val[i].i = (int32_t)in->value;
        else c->val[i].f = (float)in->value;
        return 0;
    case IR_KI_AXIS: c->val[i].f = (float)c->pos[in->attr]; return 0;
    case IR_KI_RANDOM: return random_draw(c, i);
    case IR_KI_ALU: return alu(c, i);
    case IR_KI_REDUCE: {
        int64_t lane = c->pos[IR_K_REDUCE_AXIS] % c->lanes;
        kval *acc = &c->acc[(size_t)i * (size_t)c->lanes + (size_t)lane];
        *acc = combine(in, *acc, c->val[in->src[0]]);
        return 0;
    }
    default: MOEC_UNREACHABLE();
    }
}

/* Reduce pass s over the whole reduce axis, then each reduction's lanes
 * folded pairwise (j with j + w, w halving) into its value. */
static int run_pass(kref *c, int s)
{
    const ir_kloop *k = c->k;
    for (int i = 0; i < k->n_ins; i++)
        if (k->ins[i].pass == s && k->ins[i].kind == IR_KI_REDUCE)
            for (int j = 0; j < c->lanes; j++) c->acc[(size_t)i * (size_t)c->lanes + (size_t)j] = identity(&k->ins[i]);
    for (int64_t r = 0; r < k->reduce; r++) {
        c->pos[IR_K_REDUCE_AXIS] = r;
        for (int i = 0; i < k->n_ins; i++)
            if (k->ins[i].pass == s && eval(c, i) < 0) return -1;
    }
    c->pos[IR_K_REDUCE_AXIS] = 0;
    for (int i = 0; i < k->n_ins; i++) {
        if (k->ins[i].pass != s || k->ins[i].kind != IR_KI_REDUCE) continue;
        kval *acc = &c->acc[(size_t)i * (size_t)c->lanes];
        for (int w = c->lanes / 2; w >= 1; w /= 2)
            for (int j = 0; j < w; j++) acc[j] = combine(&k->ins[i], acc[j], acc[j + w]);
        c->val[i] = acc[0];
    }
    return 0;
}

static int run_point(kref *c, int64_t point)
{
    const ir_kloop *k = c->k;
    c->point = point;
    for (int a = k->rank - 1; a >= 0; a--) {
        c->pos[a] = point % k->dim[a];
        point /= k->dim[a];
    }
    for (int s = 0; s <= k->n_passes; s++) {
        for (int i = 0; i < k->n_ins; i++)
            if (k->ins[i].pass == IR_KPASS_POINT && c->stage[i] == s && eval(c, i) < 0) return -1;
        if (s < k->n_passes && run_pass(c, s) < 0) return -1;
    }
    return 0;
}

int ir_kloop_run_ref(const ir_kprogram *p, const ir_launch *l, void *const *bufs, int64_t point_begin,
                     int64_t point_end, int lanes, moec_diag *d)
{
    MOEC_ASSERT(l->kind == IR_LAUNCH_LOOP && lanes >= 1 && (lanes & (lanes - 1)) == 0);
    kref c = { .p = p, .l = l, .k = &l->loop, .bufs = bufs, .d = d, .lanes = lanes };
    if (point_begin < 0 || point_end > ir_kloop_points(c.k) || point_begin > point_end)
        return run_error(&c, -1, "points [%" PRId64 ", %" PRId64 ") outside the loop's %" PRId64, point_begin,
                         point_end, ir_kloop_points(c.k));
    size_t n = (size_t)(c.k->n_ins ? c.k->n_ins : 1);
    c.stage = malloc(n * sizeof *c.stage);
    c.val = calloc(n, sizeof *c.val);
    c.acc = calloc(n * (size_t)lanes, sizeof *c.acc);
    int rc = 0;
    if (!c.stage || !c.val || !c.acc) rc = run_error(&c, -1, "out of memory");
    else ir_kloop_stages(c.k, c.stage);
    for (int64_t pt = point_begin; pt < point_end && rc == 0; pt++) rc = run_point(&c, pt);
    free(c.stage);
    free(c.val);
    free(c.acc);
    return rc;
}
