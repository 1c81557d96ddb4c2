/* tests/codegen/gen_kernels.h -- random loop kernels from a seed: rank 0-3
 * parallel spaces, with or without a reduce axis of 1-33 terms walked in
 * 1-3 passes; loads with random strides (permuted layouts, broadcasts),
 * gathers, constants, axes, random draws, every elementwise op and cast,
 * i32 arithmetic, sum and max reductions, stores of point and pass values;
 * a third of the reduce kernels index their passes like column sums.
 * Values stay finite: math functions get arguments inside their domains
 * (log(x^2 + 1), a / (b^2 + 1/2), exp(tanh x), ...), and never only
 * constants (LLVM would fold those with other roundings than libm's).
 * Each kernel has its own buffers; kt_random_kernel adds one to a kt_prog
 * (tests/codegen/harness.h). Used by the tests and by bench/. */
#ifndef MOEC_TESTS_CODEGEN_GEN_KERNELS_H
#define MOEC_TESTS_CODEGEN_GEN_KERNELS_H

#include <stdio.h>

#include "tests/codegen/harness.h"

enum { KG_MAX_VALUES = 256, KG_IDX_ROWS = 5 };

typedef struct kgen {
    kt_prog *t;
    ir_launch *l;
    uint64_t rng;
    int64_t len[IR_K_AXES];       /* length of every axis (1 where absent) */
    int64_t full;                 /* product of all lengths */
    int in[3], idx, div, table, out_point, out_int, out_pass;   /* buffers */
    int pool[KG_MAX_VALUES], n_pool;   /* values usable where instructions go now */
    bool is_const[KG_MAX_VALUES];
    int pass;                     /* where instructions go: a pass or IR_KPASS_POINT */
    bool columns;                 /* pass indices unit-stride in the last axis, never in r */
} kgen;

static inline uint64_t kg_next(kgen *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline int kg_int(kgen *g, int n) { return (int)(kg_next(g) % (uint64_t)n); }

/* A value of the pool with dtype t (f32: non-constant when `live`), or -1. */
static inline int kg_pick(kgen *g, ir_dtype t, bool live)
{
    int cand[KG_MAX_VALUES], n = 0;
    for (int i = 0; i < g->n_pool; i++) {
        const ir_kinstr *in = &g->l->loop.ins[g->pool[i]];
        if (in->dtype == t && !(live && g->is_const[i])) cand[n++] = i;
    }
    return n ? g->pool[cand[kg_int(g, n)]] : -1;
}

static inline bool kg_const_of(const kgen *g, int v)
{
    for (int i = 0; i < g->n_pool; i++)
        if (g->pool[i] == v) return g->is_const[i];
    return false;
}

static inline int kg_add(kgen *g, int v, bool is_const)
{
    if (v >= 0 && g->n_pool < KG_MAX_VALUES) {
        g->is_const[g->n_pool] = is_const;
        g->pool[g->n_pool++] = v;
    }
    return v;
}

/* An index over the axes the current place may use: a random permutation
 * of them laid out row-major, some broadcast (stride 0). */
static inline ir_kindex kg_index(kgen *g)
{
    ir_kindex ix = { .gather = -1 };
    int axes[IR_K_AXES], n = 0;
    for (int a = 0; a < IR_K_AXES; a++)
        if (g->len[a] > 1 && (a != IR_K_REDUCE_AXIS || g->pass != IR_KPASS_POINT)) axes[n++] = a;
    for (int i = n - 1; i > 0; i--) {
        int j = kg_int(g, i + 1), s = axes[i];
        axes[i] = axes[j];
        axes[j] = s;
    }
    int last = g->l->loop.rank - 1;
    bool columns = g->columns && g->pass != IR_KPASS_POINT;
    for (int i = 0; columns && i < n; i++) {   /* the last axis first, r last */
        int want = axes[i] == last ? 0 : axes[i] == IR_K_REDUCE_AXIS ? n - 1 : -1;
        if (want < 0 || want == i) continue;
        int s = axes[want];
        axes[want] = axes[i];
        axes[i] = s;
        i = -1;
    }
    int64_t stride = 1;
    for (int i = 0; i < n; i++) {
        if (kg_int(g, 4) == 0 && !(columns && axes[i] == last)) continue;   /* broadcast */
        ix.stride[axes[i]] = stride;
        stride *= g->len[axes[i]];
    }
    return ix;
}

#define KG_P(g) (&(g)->t->p)
#define KG_ALU(g, op, attr, a, b, c) ir_k_alu(KG_P(g), (g)->l, (g)->pass, op, attr, a, b, c)
#define KG_CONST(g, v) ir_k_const(KG_P(g), (g)->l, (g)->pass, IR_F32, v)

static inline double kg_coef(kgen *g) { return (kg_int(g, 2) ? 1 : -1) * (0.5 + kg_int(g, 1000) / 1000.0 * 1.5); }

/* a^2 + c with c > 0: positive, away from zero. */
static inline int kg_square_plus(kgen *g, int a, double c)
{
    return KG_ALU(g, IR_ADD, 0, KG_ALU(g, IR_MUL, 0, a, a, -1), KG_CONST(g, c), -1);
}

/* A math function of a live f32 value, inside its domain. */
static inline int kg_math(kgen *g, int a)
{
    switch (kg_int(g, 7)) {
    case 0: return KG_ALU(g, IR_EXP, 0, KG_ALU(g, IR_TANH, 0, a, -1, -1), -1, -1);
    case 1: return KG_ALU(g, IR_LOG, 0, kg_square_plus(g, a, 1), -1, -1);
    case 2: return KG_ALU(g, IR_SQRT, 0, kg_square_plus(g, a, 0.5), -1, -1);
    case 3: return KG_ALU(g, IR_RSQRT, 0, kg_square_plus(g, a, 0.5), -1, -1);
    case 4: return KG_ALU(g, IR_ERF, 0, a, -1, -1);
    case 5: return KG_ALU(g, IR_TANH, 0, a, -1, -1);
    default: return KG_ALU(g, IR_NEG, 0, a, -1, -1);
    }
}

/* An f32 from two f32 values. */
static inline int kg_binary(kgen *g, int a, int b)
{
    switch (kg_int(g, 7)) {
    case 0: return KG_ALU(g, IR_ADD, 0, a, b, -1);
    case 1: return KG_ALU(g, IR_SUB, 0, a, b, -1);
    case 2: return KG_ALU(g, IR_MUL, 0, a, b, -1);
    case 3: return KG_ALU(g, IR_DIV, 0, a, kg_square_plus(g, b, 0.5), -1);
    case 4: return KG_ALU(g, IR_MAX, 0, a, b, -1);
    case 5: return KG_ALU(g, IR_CMP, kg_int(g, 6), a, b, -1);
    default: return KG_ALU(g, IR_WHERE, 0, KG_ALU(g, IR_CMP, kg_int(g, 6), a, b, -1), a, b);
    }
}

/* An i32 value: loaded, computed from others, or an f32 cast (bounded by tanh). */
static inline int kg_int_value(kgen *g)
{
    int a = kg_pick(g, IR_I32, false), f = kg_pick(g, IR_F32, true);
    switch (a < 0 ? kg_int(g, 2) : kg_int(g, 6)) {
    case 0: return ir_k_load(KG_P(g), g->l, g->pass, g->idx, kg_index(g));
    case 1:
        if (f < 0) return ir_k_load(KG_P(g), g->l, g->pass, g->div, kg_index(g));
        return KG_ALU(g, IR_CAST, IR_I32, KG_ALU(g, IR_MUL, 0, KG_ALU(g, IR_TANH, 0, f, -1, -1), KG_CONST(g, 1000), -1), -1, -1);
    case 2: return KG_ALU(g, IR_DIV, 0, a, ir_k_load(KG_P(g), g->l, g->pass, g->div, kg_index(g)), -1);
    case 3: return KG_ALU(g, kg_int(g, 2) ? IR_MAX : IR_SUB, 0, a, kg_pick(g, IR_I32, false), -1);
    case 4: return KG_ALU(g, kg_int(g, 2) ? IR_MUL : IR_ADD, 0, a, kg_pick(g, IR_I32, false), -1);
    default: return KG_ALU(g, IR_NEG, 0, a, -1, -1);
    }
}

/* A gathered load: table[affine + S v], v an i32 in [0, KG_IDX_ROWS). */
static inline int kg_gather(kgen *g)
{
    ir_kindex ix = kg_index(g);
    ix.gather = ir_k_load(KG_P(g), g->l, g->pass, g->idx, kg_index(g));
    kg_add(g, ix.gather, false);
    ix.gather_stride = g->full;
    return ir_k_load(KG_P(g), g->l, g->pass, g->table, ix);
}

/* One new value where instructions go now. */
static inline void kg_step(kgen *g)
{
    int a = kg_pick(g, IR_F32, true), b = kg_pick(g, IR_F32, false);
    int choice = a < 0 ? 0 : kg_int(g, 20);
    int v;
    bool is_const = false;
    if (choice < 4) v = ir_k_load(KG_P(g), g->l, g->pass, g->in[kg_int(g, 3)], kg_index(g));
    else if (choice < 5) v = KG_CONST(g, kg_coef(g)), is_const = true;
    else if (choice < 6) {
        int axes[IR_K_AXES], n = 0;
        for (int a = 0; a < IR_K_AXES; a++)
            if (g->len[a] > 1 && (a != IR_K_REDUCE_AXIS || g->pass != IR_KPASS_POINT)) axes[n++] = a;
        v = n ? ir_k_axis(KG_P(g), g->l, g->pass, axes[kg_int(g, n)])
              : ir_k_load(KG_P(g), g->l, g->pass, g->in[0], kg_index(g));
    } else if (choice < 7) {
        int step = ir_k_const(KG_P(g), g->l, g->pass, IR_I32, kg_int(g, 5));
        v = ir_k_random(KG_P(g), g->l, g->pass, kg_int(g, 2) ? IR_RANDOM_NORMAL : IR_RANDOM_UNIFORM,
                        kg_next(g), (uint32_t)kg_int(g, 1000), step, kg_index(g));
    } else if (choice < 8) v = kg_gather(g);
    else if (choice < 10) {
        int i = kg_add(g, kg_int_value(g), false);
        v = kg_int(g, 2) ? KG_ALU(g, IR_CAST, IR_F32, i, -1, -1) : KG_ALU(g, IR_CMP, kg_int(g, 6), i, kg_pick(g, IR_I32, false), -1);
    } else if (choice < 14) v = kg_math(g, a);
    else v = kg_binary(g, a, b);
    kg_add(g, v, is_const && kg_const_of(g, v));
}

/* The pool of values usable at stage s (point values of stage <= s and
 * reductions of earlier passes), then in pass p when p >= 0. */
static inline void kg_enter(kgen *g, int stage, int pass, const int *stages)
{
    g->n_pool = 0;
    for (int i = 0; i < g->l->loop.n_ins; i++) {
        const ir_kinstr *in = &g->l->loop.ins[i];
        if (in->kind == IR_KI_STORE) continue;
        bool point = in->pass == IR_KPASS_POINT || in->kind == IR_KI_REDUCE;
        if (point && stages[i] <= stage) kg_add(g, i, in->kind == IR_KI_CONST);
    }
    g->pass = pass;
}

static inline void kg_buffers(kgen *g, int id, int64_t points, int64_t R)
{
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "k%d.in%d", id, i);
        g->in[i] = kt_buf(g->t, name, IR_F32, g->full, 0.25, 2, true);
    }
    snprintf(name, sizeof name, "k%d.idx", id);
    g->idx = kt_buf(g->t, name, IR_I32, g->full, 0, KG_IDX_ROWS, false);
    snprintf(name, sizeof name, "k%d.div", id);
    g->div = kt_buf(g->t, name, IR_I32, g->full, 1, 7, true);
    snprintf(name, sizeof name, "k%d.table", id);
    g->table = kt_buf(g->t, name, IR_F32, g->full * KG_IDX_ROWS, 0.25, 2, true);
    snprintf(name, sizeof name, "k%d.out", id);
    g->out_point = kt_buf(g->t, name, IR_F32, 3 * points, 0.5, 1.5, true);
    snprintf(name, sizeof name, "k%d.iout", id);
    g->out_int = kt_buf(g->t, name, IR_I32, points, 1, 9, true);
    snprintf(name, sizeof name, "k%d.rout", id);
    g->out_pass = kt_buf(g->t, name, IR_F32, points * (R ? R : 1), 0.5, 1.5, true);
}

/* The row-major index of the current point (times `scale`, plus `base`). */
static inline ir_kindex kg_point_index(const kgen *g, int64_t scale, int64_t base)
{
    ir_kindex ix = { .base = base, .gather = -1 };
    int64_t s = scale;
    for (int a = g->l->loop.rank - 1; a >= 0; a--) {
        ix.stride[a] = s;
        s *= g->l->loop.dim[a];
    }
    return ix;
}

/* Reduce pass p: a few values, one to three reductions, and in the last
 * pass a store of a pass value at (point, r). */
static inline void kg_pass(kgen *g, int p, int *stages, int64_t points)
{
    kg_enter(g, p, p, stages);
    for (int n = 2 + kg_int(g, 6); n > 0; n--) kg_step(g);
    for (int n = 1 + kg_int(g, 3); n > 0; n--) {
        ir_dtype t = kg_int(g, 5) == 0 && kg_pick(g, IR_I32, false) >= 0 ? IR_I32 : IR_F32;
        int x = kg_pick(g, t, false);
        ir_k_reduce(KG_P(g), g->l, p, kg_int(g, 2) ? IR_SUM : IR_REDUCE_MAX, x < 0 ? kg_pick(g, IR_F32, false) : x);
    }
    if (p == g->l->loop.n_passes - 1) {   /* [points, R], or [R, points] in a column kernel */
        ir_kindex at = kg_point_index(g, g->columns ? 1 : g->l->loop.reduce, 0);
        at.stride[IR_K_REDUCE_AXIS] = g->columns ? points : 1;
        ir_k_store(KG_P(g), g->l, p, g->out_pass, at, kg_pick(g, IR_F32, false));
    }
    ir_kloop_stages(&g->l->loop, stages);
}

/* Adds random kernel number `id` (from `seed`) to t. */
static inline void kt_random_kernel(kt_prog *t, uint64_t seed, int id)
{
    kgen g = { .t = t, .rng = seed * 0x2545F4914F6CDD1Dull + (uint64_t)id };
    int rank = kg_int(&g, 10) == 0 ? 0 : 1 + kg_int(&g, 3);
    int64_t dim[IR_MAX_RANK], points = 1, R = kg_int(&g, 2) ? 0 : 1 + kg_int(&g, 33);
    for (int a = 0; a < IR_K_AXES; a++) g.len[a] = 1;
    for (int d = 0; d < rank; d++) points *= g.len[d] = dim[d] = 1 + kg_int(&g, d == rank - 1 ? 17 : 4);
    g.len[IR_K_REDUCE_AXIS] = R ? R : 1;
    g.full = points * g.len[IR_K_REDUCE_AXIS];
    kg_buffers(&g, id, points, R);
    char name[64];
    snprintf(name, sizeof name, "random_kernel_%d", id);
    g.l = ir_launch_add(&t->p, IR_LAUNCH_LOOP, name);
    g.l->loop = (ir_kloop){ .rank = rank, .reduce = R, .n_passes = R ? 1 + kg_int(&g, 3) : 0 };
    for (int d = 0; d < rank; d++) g.l->loop.dim[d] = dim[d];
    g.columns = R && rank && dim[rank - 1] > 1 && kg_int(&g, 3) == 0;
    int stages[4096] = { 0 };
    for (int s = 0; s <= g.l->loop.n_passes; s++) {
        kg_enter(&g, s, IR_KPASS_POINT, stages);
        for (int n = 2 + kg_int(&g, 6); n > 0; n--) kg_step(&g);
        ir_kloop_stages(&g.l->loop, stages);
        if (s < g.l->loop.n_passes) kg_pass(&g, s, stages, points);
    }
    kg_enter(&g, g.l->loop.n_passes, IR_KPASS_POINT, stages);
    for (int k = 0; k < 3; k++) ir_k_store(&t->p, g.l, IR_KPASS_POINT, g.out_point, kg_point_index(&g, 1, k * points),
                                           kg_pick(&g, IR_F32, false));
    int iv = kg_pick(&g, IR_I32, false);
    ir_k_store(&t->p, g.l, IR_KPASS_POINT, g.out_int, kg_point_index(&g, 1, 0), iv >= 0 ? iv : kg_int_value(&g));
}

#endif
