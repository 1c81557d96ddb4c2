/* tests/compile/test_random_fusion.c -- random graphs through the fuser, the
 * memory plan and the CPU backend, against the float32 interpreter. Each
 * graph (seeded, so a failure names its seed) grows from random PARAM
 * leaves by random elementwise ops with broadcasting, comparisons and
 * selects, reductions over a random axis, permutes, reshapes (splits and
 * merges), slices, matrix products and row chains (softmax, layernorm, a
 * softmax backward) that the fuser turns into row kernels of several passes;
 * several of its nodes are kept as outputs, so values are both inlined and
 * stored (and row kernels keep some members and epilogues in buffers). Leaves get fresh Philox
 * values in ±[0.5, 1.5), never zero. Every output must agree within 1e-5 of
 * its largest magnitude (float32 sums in another order: a few ulps), fused
 * and with every node its own launch. */
#include "codegen/cpu.h"
#include "ir/fuse.h"
#include "ir/interp.h"
#include "ir/memplan.h"
#include "ir/philox.h"
#include "runtime/cpu/exec.h"
#include "tests/sink.h"
#include "tests/tap.h"

#include <math.h>

enum { GRAPHS = 40, MAX_NODES = 48, MAX_OUT = 6 };
static const double TOL = 1e-5;

typedef struct gen {
    ir_graph g;
    uint64_t seed, draw;
    int pool[MAX_NODES];
    int n;
} gen;

static uint32_t pick(gen *q, uint32_t n)
{
    return (uint32_t)(ir_philox_uniform(q->seed, 7, 0, q->draw++) * n) % n;
}

static void push(gen *q, int id)
{
    if (id >= 0 && q->n < MAX_NODES) q->pool[q->n++] = id;
}

static const ir_shape *shape(gen *q, int id) { return &q->g.nodes[id].shape; }

/* An operand for x's broadcast partner: x itself, a keepdim reduction of it, or a scalar. */
static int partner(gen *q, int x)
{
    for (int tries = 0; tries < 8; tries++) {
        int y = q->pool[pick(q, (uint32_t)q->n)];
        const ir_shape *a = shape(q, x), *b = shape(q, y);
        if (a->rank == b->rank && !memcmp(a->dim, b->dim, sizeof(int64_t) * (size_t)a->rank)) return y;
    }
    if (shape(q, x)->rank > 0 && pick(q, 2)) return ir_sum(&q->g, x, (int)pick(q, (uint32_t)shape(q, x)->rank), true);
    return ir_scalar(&q->g, 0.25 + 0.5 * pick(q, 4));
}

static int grow_elementwise(gen *q, int x)
{
    static const ir_op unary[] = { IR_NEG, IR_TANH, IR_ERF, IR_EXP };
    static const ir_op binary[] = { IR_ADD, IR_SUB, IR_MUL, IR_MAX };
    switch (pick(q, 4)) {
    case 0: {
        ir_op op = unary[pick(q, 4)];
        return ir_unary(&q->g, op, op == IR_EXP ? ir_unary(&q->g, IR_TANH, x) : x);   /* exp stays bounded */
    }
    case 1: return ir_binary(&q->g, binary[pick(q, 4)], x, partner(q, x));
    case 2: {
        int y = partner(q, x);
        return ir_where(&q->g, ir_compare(&q->g, (ir_cmp)pick(q, IR_CMP_COUNT), x, y), x, y);
    }
    default: {   /* division by something kept away from zero */
        int y = partner(q, x);
        return ir_binary(&q->g, IR_DIV, x, ir_binary(&q->g, IR_ADD, ir_binary(&q->g, IR_MUL, y, y), ir_scalar(&q->g, 1.0)));
    }
    }
}

static int grow_movement(gen *q, int x)
{
    const ir_shape *s = shape(q, x);
    int r = s->rank;
    if (r < 2) return ir_unary(&q->g, IR_TANH, x);
    switch (pick(q, 4)) {
    case 0: {
        int perm[IR_MAX_RANK];
        for (int i = 0; i < r; i++) perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)pick(q, (uint32_t)i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return ir_permute(&q->g, x, perm);
    }
    case 1: {   /* merge the last two dims */
        ir_shape t = *s;
        t.dim[r - 2] *= t.dim[r - 1];
        t.rank--;
        return ir_reshape(&q->g, x, t);
    }
    case 2: {   /* split a dim of even size */
        for (int d = 0; d < r && r < 4; d++) {
            if (s->dim[d] % 2) continue;
            ir_shape t = { .rank = r + 1 };
            for (int i = 0, k = 0; i < r; i++) {
                if (i == d) t.dim[k++] = 2, t.dim[k++] = s->dim[i] / 2;
                else t.dim[k++] = s->dim[i];
            }
            return ir_reshape(&q->g, x, t);
        }
        return ir_unary(&q->g, IR_NEG, x);
    }
    default: {
        int axis = (int)pick(q, (uint32_t)r);
        int64_t len = s->dim[axis];
        if (len < 2) return ir_unary(&q->g, IR_NEG, x);
        int64_t start = pick(q, (uint32_t)(len / 2));
        return ir_slice(&q->g, x, axis, start, len - start - (int64_t)pick(q, 2) * (len - start > 1));
    }
    }
}

static int grow_reduce_or_product(gen *q, int x)
{
    const ir_shape *s = shape(q, x);
    if (pick(q, 3) == 0 && s->rank == 2) {      /* x [m,k] @ w [k,n] */
        int64_t d[2] = { s->dim[1], 2 + pick(q, 5) };
        int w = ir_param(&q->g, 100 + q->n, "w", ir_shape_of(2, d));
        return ir_matmul(&q->g, x, w);
    }
    if (s->rank == 0) return ir_unary(&q->g, IR_TANH, x);
    int axis = (int)pick(q, (uint32_t)s->rank);
    bool keep = pick(q, 2);
    return pick(q, 2) ? ir_sum(&q->g, x, axis, keep) : ir_reduce_max(&q->g, x, axis, keep);
}

/* A chain of reductions over x's last axis and their epilogues, as the
 * fuser forms row kernels of several passes from them: softmax (max, sum of
 * exponentials, normalise), layernorm (mean, variance, normalise), or a
 * softmax backward (a row sum of g * y, then y * (g - s)), offset from 0
 * where their rows could sum to nothing but rounding. */
static int grow_row(gen *q, int x)
{
    const ir_shape *s = shape(q, x);
    if (s->rank == 0) return ir_unary(&q->g, IR_TANH, x);
    int last = s->rank - 1;
    ir_graph *g = &q->g;
    switch (pick(q, 3)) {
    case 0: {
        int e = ir_unary(g, IR_EXP, ir_binary(g, IR_SUB, x, ir_reduce_max(g, x, last, true)));
        return ir_binary(g, IR_DIV, e, ir_sum(g, e, last, true));
    }
    case 1: {   /* scaled by a fresh weight along the row first: a row of equal values would cancel to rounding noise */
        int64_t len = s->dim[last];
        x = ir_binary(g, IR_MUL, x, ir_param(g, 200 + q->n, "ln", ir_shape_of(1, &len)));
        int n = ir_scalar(g, 1.0 / (double)len);
        int dev = ir_binary(g, IR_SUB, x, ir_binary(g, IR_MUL, ir_sum(g, x, last, true), n));
        int var = ir_binary(g, IR_MUL, ir_sum(g, ir_binary(g, IR_MUL, dev, dev), last, true), n);
        int y = ir_binary(g, IR_MUL, dev, ir_unary(g, IR_RSQRT, ir_binary(g, IR_ADD, var, ir_scalar(g, 0.5))));
        return ir_binary(g, IR_ADD, y, ir_scalar(g, 2.0));   /* a row of mean 0 would sum to rounding noise */
    }
    default: {
        int y = ir_unary(g, IR_TANH, x), d = partner(q, x);
        int dot = ir_sum(g, ir_binary(g, IR_MUL, d, y), last, pick(q, 2));
        if (g->nodes[dot].shape.rank < s->rank) {   /* a row sum without its kept axis, broadcast back */
            ir_shape k = *s;
            k.dim[last] = 1;
            dot = ir_reshape(g, dot, k);
        }
        return ir_binary(g, IR_ADD, ir_binary(g, IR_MUL, y, ir_binary(g, IR_SUB, d, dot)), ir_scalar(g, 2.0));
    }
    }
}

/* A random graph; out gets up to MAX_OUT distinct outputs. */
static int build(gen *q, uint64_t seed, int *out)
{
    memset(q, 0, sizeof *q);
    q->seed = seed;
    ir_graph_init(&q->g);
    q->g.diag = sink();
    for (int i = 0; i < 2; i++) {
        int64_t d[3] = { 2 + pick(q, 5), 2 + pick(q, 6), 2 + pick(q, 4) };
        push(q, ir_param(&q->g, i, i ? "b" : "a", ir_shape_of(2 + (int)pick(q, 2), d)));
    }
    for (int step = 0; step < 14; step++) {
        int x = q->pool[pick(q, (uint32_t)q->n)];
        uint32_t kind = pick(q, 8);
        push(q, kind < 3 ? grow_elementwise(q, x) : kind < 5 ? grow_movement(q, x) : kind < 6 ? grow_reduce_or_product(q, x)
                : grow_row(q, x));
    }
    int n_out = 0;
    for (int i = q->n - 1; i >= 2 && n_out < MAX_OUT; i -= 1 + (int)pick(q, 3)) {
        bool seen = false;
        for (int k = 0; k < n_out; k++) seen |= out[k] == q->pool[i];
        if (!seen && q->g.nodes[q->pool[i]].op != IR_PARAM) out[n_out++] = q->pool[i];
    }
    return q->g.failed ? -1 : n_out;
}

static void fill(float *v, double *dv, int64_t n, uint32_t stream)
{
    for (int64_t i = 0; i < n; i++) {
        double u = ir_philox_uniform(99, 0, stream, (uint64_t)i), s = ir_philox_uniform(99, 1, stream, (uint64_t)i);
        dv[i] = (s < 0.5 ? -1 : 1) * (0.5 + u);
        v[i] = (float)dv[i];
    }
}

/* Fuses, plans, compiles and runs g; compares each output with the interpreter. */
static double run_compiled(const ir_graph *g, const int *out, int n_out, bool fuse, ir_interp *it, int *max_passes,
                           moec_diag *d)
{
    ir_fuse_value want[MAX_OUT];
    char names[MAX_OUT][16];
    for (int i = 0; i < n_out; i++) {
        snprintf(names[i], sizeof names[i], "out%d", i);
        want[i] = (ir_fuse_value){ .node = out[i], .role = IR_BUF_OUTPUT, .name = names[i], .into = -1 };
    }
    ir_kprogram p;
    ir_kprogram_init(&p, "random");
    ir_fuse_options fo = { .fuse = fuse };
    ir_memplan_stats ms;
    cg_cpu_program *code = NULL;
    rt_exec *ex = NULL;
    double worst = INFINITY;
    cg_cpu_options co = { .threads = 1 };
    if (ir_fuse(g, want, n_out, &fo, &p, d) == 0 && ir_kprogram_verify(&p, d) == 0 && ir_memplan(&p, &ms, d) == 0 &&
        cg_cpu_compile(&p, &co, &code, NULL, d) == 0 && (ex = rt_exec_new(&p, NULL, d))) {
        for (int i = 0; i < p.n_launches; i++)
            if (p.launches[i].kind == IR_LAUNCH_LOOP && p.launches[i].loop.n_passes > *max_passes)
                *max_passes = p.launches[i].loop.n_passes;
        for (int i = 0; i < p.n_launches; i++) {
            int n;
            const int *ids = cg_cpu_arg_buffers(code, i, &n);
            if (cg_cpu_kernel(code, i)) rt_exec_set_loop_args(ex, i, cg_cpu_kernel(code, i), ids, n);
        }
        for (int b = 0; b < p.n_bufs; b++) {    /* the leaves' values, as the interpreter has them */
            int node = p.bufs[b].node;
            if (node < 0 || g->nodes[node].op != IR_PARAM) continue;
            const double *v = ir_interp_value(it, node);
            float *dst = rt_exec_data(ex, b);
            for (int64_t k = 0; v && k < p.bufs[b].numel; k++) dst[k] = (float)v[k];
        }
        worst = rt_exec_run(ex) == 0 ? 0 : INFINITY;
        for (int i = 0; i < n_out && worst < INFINITY; i++) {
            int b = rt_exec_find(ex, names[i]);
            const float *got = rt_exec_data(ex, b);
            const double *ref = ir_interp_value(it, out[i]);
            double diff = 0, scale = 0;
            for (int64_t k = 0; k < p.bufs[b].numel; k++) {
                diff = fmax(diff, fabs(got[k] - ref[k]));
                scale = fmax(scale, fabs(ref[k]));
            }
            worst = fmax(worst, scale > 0 ? diff / scale : diff);
        }
    }
    rt_exec_free(ex);
    cg_cpu_free(code);
    ir_kprogram_free(&p);
    return worst;
}

/* Returns the most passes of a loop kernel in the fused program. */
static int test_graph(uint64_t seed)
{
    gen q;
    int out[MAX_OUT];
    int n_out = build(&q, seed, out);
    moec_diag *d = q.g.diag;
    ir_interp *it = n_out > 0 ? ir_interp_new(&q.g, IR_PREC_F32) : NULL;
    for (int id = 0; it && id < q.g.n_nodes; id++) {
        if (q.g.nodes[id].op != IR_PARAM) continue;
        int64_t n = ir_shape_numel(&q.g.nodes[id].shape);
        float *f = malloc(sizeof(float) * (size_t)n);
        double *v = malloc(sizeof(double) * (size_t)n);
        if (f && v) {
            fill(f, v, n, (uint32_t)(seed * 131 + (uint64_t)id));
            ir_interp_bind(it, id, v);
        }
        free(f);
        free(v);
    }
    bool ok = it && ir_interp_run(it, -1, d) == 0;
    int passes = 0, unfused_passes = 0;
    double fused = ok ? run_compiled(&q.g, out, n_out, true, it, &passes, d) : INFINITY;
    double unfused = ok ? run_compiled(&q.g, out, n_out, false, it, &unfused_passes, d) : INFINITY;
    tap_ok(fused <= TOL && unfused <= TOL,
           "random graph seed %llu: %d nodes, %d outputs, row kernels of up to %d passes; fused %.2g, unfused %.2g %s",
           (unsigned long long)seed, q.g.n_nodes, n_out, passes, fused, unfused,
           fused <= TOL && unfused <= TOL ? "" : sink_text(d));
    ir_interp_free(it);
    ir_graph_free(&q.g);
    return passes;
}

int main(void)
{
    int multi = 0, most = 0;
    for (uint64_t seed = 1; seed <= GRAPHS; seed++) {
        int passes = test_graph(seed);
        multi += passes >= 2;
        most = passes > most ? passes : most;
    }
    /* The row chains above must become kernels of several passes, so that
     * the comparisons check them: a fuser that stops forming them fails here. */
    tap_ok(multi >= GRAPHS / 4 && most >= 3, "%d of %d fused graphs hold a row kernel of 2 or more passes (most %d)", multi,
           GRAPHS, most);
    sink_close();
    return tap_done();
}
