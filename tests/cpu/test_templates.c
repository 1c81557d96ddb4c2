/* tests/cpu/test_templates.c -- the CPU templates (runtime/cpu/templates.c)
 * against the reference interpreter in float32: for each of TOPK, CUMSUM,
 * SCATTER_ADD and PUT a one-op graph on fresh random inputs (never zero;
 * small integers for top-k ties, NaNs too; colliding indices), run as a
 * one-launch kernel program on 1 and 3 threads, must give the
 * interpreter's values bit for bit. Indices out of range and ops without a
 * template are reported, never run. */
#include "ir/interp.h"
#include "tests/cpu/helpers.h"
#include "tests/ir/helpers.h"

enum { MAX_LEAVES = 3 };

typedef enum fill_kind { F_RANDOM, F_SMALL_INTS, F_WITH_NANS, F_INDEX } fill_kind;

/* A graph and the values of its parameter leaves. */
typedef struct tgraph {
    ir_graph g;
    int leaf[MAX_LEAVES];
    double *val[MAX_LEAVES];
    int n_leaves;
    uint64_t seed;
} tgraph;

/* n values of a kind: random ±[0.5, 1.5); integers in ±{1, 2, 3} (many
 * ties); random with every fifth a NaN; integers in [0, limit). */
static void fill(double *v, int64_t n, fill_kind kind, int64_t limit, uint64_t seed)
{
    fill_random(v, n, seed, 7);
    for (int64_t i = 0; i < n; i++) {
        double u = ir_philox_uniform(seed, 2, 7, (uint64_t)i);
        if (kind == F_SMALL_INTS) v[i] = (v[i] < 0 ? -1 : 1) * (1 + floor(u * 3));
        if (kind == F_WITH_NANS && i % 5 == 2) v[i] = NAN;
        if (kind == F_INDEX) v[i] = floor(u * (double)limit);
    }
}

/* A parameter leaf of shape s filled by kind; F_INDEX leaves are cast to i32. */
static int leaf(tgraph *t, ir_shape s, fill_kind kind, int64_t limit)
{
    int id = ir_param(&t->g, t->n_leaves, "p", s);
    double *v = malloc(sizeof *v * (size_t)ir_shape_numel(&s));
    if (id < 0 || !v || t->n_leaves == MAX_LEAVES) exit(1);
    fill(v, ir_shape_numel(&s), kind, limit, t->seed + (uint64_t)t->n_leaves);
    t->leaf[t->n_leaves] = id;
    t->val[t->n_leaves++] = v;
    return kind == F_INDEX ? ir_cast(&t->g, id, IR_I32) : id;
}

static void tgraph_init(tgraph *t, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    if (graph_init(&t->g) < 0) exit(1);
    t->seed = seed;
}

static void tgraph_free(tgraph *t)
{
    for (int i = 0; i < t->n_leaves; i++) free(t->val[i]);
    ir_graph_free(&t->g);
}

/* Copies n doubles into a buffer of dtype (floats or int32s). */
static void *to_buffer(const double *v, int64_t n, ir_dtype dtype)
{
    void *out = malloc(4 * (size_t)n);
    if (!out) exit(1);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == IR_F32) ((float *)out)[i] = (float)v[i];
        else ((int32_t *)out)[i] = (int32_t)v[i];
    }
    return out;
}

/* Runs node op's template with operand values `in` on `pool`; the result as doubles, or NULL. */
static double *run_template(const ir_graph *g, int op, const double *const *in, rt_pool *pool, moec_diag *sd)
{
    ir_kprogram p;
    test_one_launch(&p, g, op);
    const ir_node *n = &g->nodes[op];
    rt_exec *ex = rt_exec_new(&p, pool, sd);
    double *out = NULL;
    for (int i = 0; ex && i < n->n_in; i++) {
        const ir_node *x = &g->nodes[n->in[i]];
        void *buf = to_buffer(in[i], ir_shape_numel(&x->shape), x->dtype);
        rt_exec_write(ex, i, buf, ir_shape_numel(&x->shape));
        free(buf);
    }
    int64_t count = ir_shape_numel(&n->shape);
    void *raw = malloc(4 * (size_t)count);
    if (ex && raw && rt_exec_run(ex) == 0 && rt_exec_read(ex, n->n_in, raw, count) == 0 && (out = malloc(sizeof *out * (size_t)count)))
        for (int64_t i = 0; i < count; i++) out[i] = n->dtype == IR_F32 ? ((float *)raw)[i] : ((int32_t *)raw)[i];
    free(raw);
    rt_exec_free(ex);
    ir_kprogram_free(&p);
    return out;
}

/* The interpreter's f32 values of op and its operands, then the template on 1 and 3 threads. */
static void check(tgraph *t, int op, const char *name)
{
    if (!tap_ok(op >= 0 && !t->g.failed, "%s: graph builds %s", name, graph_error(&t->g))) return;
    ir_interp *it = ir_interp_new(&t->g, IR_PREC_F32);
    for (int i = 0; it && i < t->n_leaves; i++) ir_interp_bind(it, t->leaf[i], t->val[i]);
    if (!tap_ok(it && ir_interp_run(it, op, t->g.diag) == 0, "%s: interpreter runs %s", name, sink_text(t->g.diag))) {
        ir_interp_free(it);
        return;
    }
    const ir_node *n = &t->g.nodes[op];
    const double *in[IR_MAX_INPUTS] = { NULL };
    for (int i = 0; i < n->n_in; i++) in[i] = ir_interp_value(it, n->in[i]);
    for (int threads = 1; threads <= 3; threads += 2) {
        rt_pool *pool = test_pool(threads);
        moec_diag *sd = sink();
        double *got = run_template(&t->g, op, in, pool, sd);
        bool ok = got && equal_values(got, ir_interp_value(it, op), ir_shape_numel(&n->shape));
        tap_ok(ok, "%s on %d thread%s equals the interpreter %s", name, threads, threads > 1 ? "s" : "", sink_text(sd));
        free(got);
        rt_pool_free(pool);
    }
    ir_interp_free(it);
}

static void test_topk(void)
{
    static const struct { ir_shape s; int64_t k; fill_kind kind; const char *name; } cases[] = {
        { { 2, { 7, 9 } }, 3, F_RANDOM, "topk [7,9] k=3" },
        { { 2, { 5, 6 } }, 6, F_SMALL_INTS, "topk [5,6] k=6, ties" },
        { { 3, { 4, 3, 10 } }, 4, F_SMALL_INTS, "topk [4,3,10] k=4, ties" },
        { { 2, { 300, 64 } }, 8, F_SMALL_INTS, "topk [300,64] k=8, ties, rows split" },
        { { 2, { 6, 8 } }, 5, F_WITH_NANS, "topk [6,8] k=5 with NaNs" },
        { { 1, { 1 } }, 1, F_RANDOM, "topk [1] k=1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tgraph t;
        tgraph_init(&t, 100 + i);
        check(&t, ir_topk(&t.g, leaf(&t, cases[i].s, cases[i].kind, 0), (int)cases[i].k), cases[i].name);
        tgraph_free(&t);
    }
}

static void test_cumsum(void)
{
    static const struct { ir_shape s; int axis; fill_kind kind; const char *name; } cases[] = {
        { { 1, { 13 } }, 0, F_RANDOM, "cumsum [13] axis 0" },
        { { 3, { 3, 37, 5 } }, 1, F_RANDOM, "cumsum [3,37,5] axis 1" },
        { { 3, { 4, 6, 20 } }, 0, F_RANDOM, "cumsum [4,6,20] axis 0" },
        { { 2, { 64, 1024 } }, 1, F_RANDOM, "cumsum [64,1024] axis 1, rows split" },
        { { 2, { 1000, 40 } }, 0, F_RANDOM, "cumsum [1000,40] axis 0, columns split" },
        { { 2, { 5, 33 } }, 1, F_INDEX, "cumsum i32 [5,33] axis 1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tgraph t;
        tgraph_init(&t, 200 + i);
        check(&t, ir_cumsum(&t.g, leaf(&t, cases[i].s, cases[i].kind, 50), cases[i].axis), cases[i].name);
        tgraph_free(&t);
    }
}

static void test_scatter_add(void)
{
    static const struct { ir_shape idx; int64_t d, rows; const char *name; } cases[] = {
        { { 1, { 6 } }, 4, 5, "scatter_add [6,4] into 5 rows" },
        { { 2, { 2, 9 } }, 33, 7, "scatter_add [2,9,33] into 7 rows" },
        { { 1, { 512 } }, 96, 40, "scatter_add [512,96] into 40 rows, columns split" },
        { { 1, { 3 } }, 1, 1, "scatter_add [3,1] into 1 row" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tgraph t;
        tgraph_init(&t, 300 + i);
        ir_shape src = cases[i].idx;
        src.dim[src.rank++] = cases[i].d;
        int x = leaf(&t, src, F_RANDOM, 0);
        int idx = leaf(&t, cases[i].idx, F_INDEX, cases[i].rows);
        check(&t, ir_scatter_add(&t.g, x, idx, cases[i].rows), cases[i].name);
        tgraph_free(&t);
    }
}

static void test_put(void)
{
    static const struct { ir_shape s; int64_t n; const char *name; } cases[] = {
        { { 2, { 5, 3 } }, 7, "put [5,3] into [5,7]" },
        { { 3, { 2, 4, 2 } }, 3, "put [2,4,2] into [2,4,3]" },
        { { 2, { 4000, 8 } }, 64, "put [4000,8] into [4000,64], rows split" },
        { { 1, { 6 } }, 2, "put [6] into [2], colliding" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tgraph t;
        tgraph_init(&t, 400 + i);
        int x = leaf(&t, cases[i].s, F_RANDOM, 0);
        int idx = leaf(&t, cases[i].s, F_INDEX, cases[i].n);
        check(&t, ir_put(&t.g, x, idx, cases[i].n), cases[i].name);
        tgraph_free(&t);
    }
}

/* Index `bad` at element 3 of the indices: reported, naming the launch and the index. */
static void bad_index(ir_op op, int32_t bad, const char *name)
{
    tgraph t;
    tgraph_init(&t, 500);
    int x = leaf(&t, SH(4, 2), F_RANDOM, 0);
    int idx = leaf(&t, op == IR_PUT ? SH(4, 2) : SH(4), F_INDEX, 2);
    int op_id = op == IR_PUT ? ir_put(&t.g, x, idx, 5) : ir_scatter_add(&t.g, x, idx, 5);
    ir_kprogram p;
    test_one_launch(&p, &t.g, op_id);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, NULL, sd);
    int32_t *ix = ex ? rt_exec_data(ex, 1) : NULL;
    if (ix) ix[3] = bad;
    int rc = ex ? rt_exec_run(ex) : 0;
    char want[64];
    snprintf(want, sizeof want, "index %d at element 3 outside 0..4", bad);
    tap_ok(rc == -1 && strstr(sink_text(sd), "launch k0 (template_test)") && strstr(sink_text(sd), want),
           "%s: reported (%s)", name, sink_text(sd));
    rt_exec_free(ex);
    ir_kprogram_free(&p);
    tgraph_free(&t);
}

static void no_template(void)
{
    tgraph t;
    tgraph_init(&t, 600);
    int op = ir_unary(&t.g, IR_EXP, leaf(&t, SH(3), F_RANDOM, 0));
    ir_kprogram p;
    test_one_launch(&p, &t.g, op);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, NULL, sd);
    tap_ok(!ex && strstr(sink_text(sd), "no CPU template for op exp"), "an op without a template is refused (%s)", sink_text(sd));
    rt_exec_free(ex);
    ir_kprogram_free(&p);
    tgraph_free(&t);
}

int main(void)
{
    test_topk();
    test_cumsum();
    test_scatter_add();
    test_put();
    bad_index(IR_SCATTER_ADD, 5, "scatter_add index past the rows");
    bad_index(IR_PUT, -1, "put negative index");
    no_template();
    sink_close();
    return tap_done();
}
