/* tests/cpu/test_gemm.c -- matrix-product launches on the CPU executor
 * (runtime/cpu/gemm.c) against a triple loop in double: A, B and C each
 * row- or column-major with padded leading dimensions and offsets, batches
 * (one broadcast), alpha and beta = 1 accumulation, degenerate sizes,
 * products big enough to be cut into tiles, grouped products (by rows and
 * by k) with empty groups and padding rows that become beta C; on 1 and 3 threads and
 * with OpenBLAS's own threads. Bad group sizes and operands that are not
 * f32 are reported. */
#include <float.h>
#include <math.h>

#include "ir/philox.h"
#include "tests/cpu/helpers.h"

typedef struct gcase {
    const char *name;
    int64_t m, n, k, batch[2];
    bool col[3];              /* A, B, C column-major */
    int64_t pad;              /* added to each leading dimension */
    double alpha, beta;
    bool broadcast_b;         /* B's batch_stride[0] = 0: one B for every batch[0] */
    const int32_t *groups;    /* grouped: rows (or k) per group, n_groups of them */
    int n_groups;
    bool split_k;             /* grouped: the groups split k; C has a batch per group */
} gcase;

/* Strides of one operand (rows x cols) laid out after `offset`, and the elements its buffer needs. */
static int64_t lay_out(ir_kmat *x, int buf, int64_t rows, int64_t cols, bool col, int64_t pad, const int64_t batch[2],
                       bool broadcast0)
{
    *x = (ir_kmat){ .buf = buf, .offset = 3, .row_stride = col ? 1 : cols + pad, .col_stride = col ? rows + pad : 1 };
    int64_t span = (rows - 1) * x->row_stride + (cols - 1) * x->col_stride + 1;
    x->batch_stride[1] = span + 2;
    x->batch_stride[0] = broadcast0 ? 0 : x->batch_stride[1] * batch[1] + 5;
    return x->offset + (batch[0] - 1) * x->batch_stride[0] + (batch[1] - 1) * x->batch_stride[1] + span + 4;
}

static double at(const float *v, const ir_kmat *x, int64_t b0, int64_t b1, int64_t i, int64_t j)
{
    return v[x->offset + b0 * x->batch_stride[0] + b1 * x->batch_stride[1] + i * x->row_stride + j * x->col_stride];
}

/* Element (row0 + i, j) of C's matrix bt[4], bt[5] as the triple loop makes
 * it: alpha times the sum over l in [l0, l1) of A's matrix bt[0], bt[1] at
 * (row0 + i, l) times B's bt[2], bt[3] at (l, j), plus beta C; with its
 * error bound in tol. */
typedef struct ref_ctx {
    const ir_kgemm *g;
    const float *a, *b, *c;
    double *want, *tol;
} ref_ctx;

static void ref_element(const ref_ctx *r, const int64_t bt[6], int64_t row0, int64_t i, int64_t j, int64_t l0, int64_t l1)
{
    const ir_kgemm *g = r->g;
    double sum = 0, scale = 0;
    for (int64_t l = l0; l < l1; l++) {
        double p = at(r->a, &g->a, bt[0], bt[1], row0 + i, l) * at(r->b, &g->b, bt[2], bt[3], l, j);
        sum += p;
        scale += fabs(p);
    }
    int64_t e = g->c.offset + bt[4] * g->c.batch_stride[0] + bt[5] * g->c.batch_stride[1] + (row0 + i) * g->c.row_stride +
                j * g->c.col_stride;
    r->want[e] = g->alpha * sum + g->beta * r->c[e];
    r->tol[e] = 4 * FLT_EPSILON * ((double)(l1 - l0) * fabs(g->alpha) * scale + fabs(g->beta * r->c[e]) + fabs(r->want[e]));
}

/* C as the triple loop makes it. Grouped by rows: group t's rows times B's
 * batch t, rows past the groups beta C. Grouped by k: C's batch t is A's
 * columns and B's rows of group t (beta C when empty). */
static void reference(const ref_ctx *r, const int32_t *sizes, int64_t c_numel)
{
    const ir_kgemm *g = r->g;
    for (int64_t e = 0; e < c_numel; e++) r->want[e] = r->c[e], r->tol[e] = 0;
    int64_t mats = g->groups ? g->groups : g->batch[0] * g->batch[1], at_ = 0;
    for (int64_t t = 0; t < mats; t++) {
        int64_t size = g->groups ? sizes[t] : 0;
        int64_t b0 = t / g->batch[1], b1 = t % g->batch[1];
        int64_t bt[6] = { b0, b1, b0, b1, b0, b1 };
        if (g->groups) memset(bt, 0, sizeof bt), bt[g->split_k ? 4 : 2] = t;   /* only B's batch t, or C's (split_k) */
        int64_t rows = g->groups && !g->split_k ? size : g->m, row0 = g->groups && !g->split_k ? at_ : 0;
        int64_t l0 = g->split_k ? at_ : 0, l1 = g->split_k ? at_ + size : g->k;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < g->n; j++) ref_element(r, bt, row0, i, j, l0, l1);
        at_ += size;
    }
    const int64_t none[6] = { 0 };
    for (int64_t i = at_; g->groups && !g->split_k && i < g->m; i++)   /* padding rows: an empty sum */
        for (int64_t j = 0; j < g->n; j++) ref_element(r, none, 0, i, j, 0, 0);
}

static void fill(float *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)((ir_philox_uniform(seed, 1, 3, (uint64_t)i) < 0.5 ? -1 : 1) * (0.5 + ir_philox_uniform(seed, 0, 3, (uint64_t)i)));
}

/* The program of one product launch; buffers a, b, c (and rows). */
static void build(ir_kprogram *p, const gcase *gc, int64_t numel[4])
{
    ir_kprogram_init(p, "test.moe");
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_GEMM, "gemm_test");
    if (!l) exit(1);
    ir_kgemm *g = &l->gemm;
    *g = (ir_kgemm){ .batch = { gc->batch[0], gc->batch[1] }, .m = gc->m, .n = gc->n, .k = gc->k, .alpha = gc->alpha,
                     .beta = gc->beta, .groups = gc->n_groups, .split_k = gc->split_k, .group_rows = -1 };
    const int64_t one[2] = { 1, 1 };
    const int64_t *b_batch = gc->split_k ? one : gc->batch, *ac_batch = gc->groups ? one : gc->batch;
    numel[0] = lay_out(&g->a, 0, gc->m, gc->k, gc->col[0], gc->pad, ac_batch, false);
    numel[1] = lay_out(&g->b, 1, gc->k, gc->n, gc->col[1], gc->pad, b_batch, gc->broadcast_b);
    numel[2] = lay_out(&g->c, 2, gc->m, gc->n, gc->col[2], gc->pad, gc->split_k ? gc->batch : ac_batch, false);
    ir_kbuf_add(p, "a", IR_F32, numel[0], IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "b", IR_F32, numel[1], IR_BUF_PARAM, -1);
    ir_kbuf_add(p, "c", IR_F32, numel[2], IR_BUF_OUTPUT, -1);
    if (gc->groups) g->group_rows = ir_kbuf_add(p, "rows", IR_I32, gc->n_groups, IR_BUF_INPUT, -1);
}

static bool compare(const float *got, const double *want, const double *tol, int64_t n)
{
    int64_t bad = 0;
    for (int64_t e = 0; e < n; e++)
        if (!(fabs(got[e] - want[e]) <= tol[e])) {
            if (bad++ < 4) tap_diag("  c[%lld] got %.9g want %.9g (tol %.3g)", (long long)e, got[e], want[e], tol[e]);
        }
    if (bad) tap_diag("  %lld of %lld differ", (long long)bad, (long long)n);
    return bad == 0;
}

/* Runs the case on `pool` split `how`: C must match the reference everywhere. */
static bool run_case(const gcase *gc, rt_pool *pool, rt_gemm_split how, moec_diag *sd)
{
    ir_kprogram p;
    int64_t numel[4];
    build(&p, gc, numel);
    rt_exec *ex = rt_exec_new(&p, pool, sd);
    bool ok = false;
    if (ex) {
        rt_exec_set_gemm_split(ex, how);
        for (int b = 0; b < 3; b++) fill(rt_exec_data(ex, b), numel[b], 11 + (uint64_t)b);
        if (gc->groups) rt_exec_write(ex, 3, gc->groups, gc->n_groups);
        double *want = malloc(sizeof *want * (size_t)numel[2]), *tol = malloc(sizeof *tol * (size_t)numel[2]);
        if (!want || !tol) exit(1);
        ref_ctx r = { &p.launches[0].gemm, rt_exec_data(ex, 0), rt_exec_data(ex, 1), rt_exec_data(ex, 2), want, tol };
        reference(&r, gc->groups, numel[2]);
        ok = rt_exec_run(ex) == 0 && compare(rt_exec_data(ex, 2), want, tol, numel[2]);
        free(want);
        free(tol);
    }
    rt_exec_free(ex);
    ir_kprogram_free(&p);
    return ok;
}

/* Every case on 1 thread, 3 threads cutting tiles, and 3 OpenBLAS threads. */
static void check(const gcase *gc)
{
    static const struct { int threads; rt_gemm_split how; const char *name; } runs[] = {
        { 1, RT_GEMM_POOL, "1 thread" }, { 3, RT_GEMM_POOL, "3 threads" }, { 3, RT_GEMM_BLAS, "3 OpenBLAS threads" },
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        rt_pool *pool = test_pool(runs[r].threads);
        moec_diag *sd = sink();
        tap_ok(run_case(gc, pool, runs[r].how, sd), "%s, %s %s", gc->name, runs[r].name, sink_text(sd));
        rt_pool_free(pool);
    }
}

static void test_layouts(void)
{
    for (int bits = 0; bits < 8; bits++) {
        bool col[3] = { bits & 1, bits & 2, bits & 4 };
        char name[160];
        snprintf(name, sizeof name, "A %s, B %s, C %s", col[0] ? "col" : "row", col[1] ? "col" : "row", col[2] ? "col" : "row");
        gcase plain = { .name = name, .m = 5, .n = 7, .k = 3, .batch = { 1, 1 }, .col = { col[0], col[1], col[2] }, .pad = 2, .alpha = 1 };
        check(&plain);
        char bname[200];
        snprintf(bname, sizeof bname, "%s, batch [2,3], alpha 0.5, beta 1", name);
        gcase batched = { .name = bname, .m = 4, .n = 6, .k = 9, .batch = { 2, 3 }, .col = { col[0], col[1], col[2] }, .pad = 1,
                          .alpha = 0.5, .beta = 1 };
        check(&batched);
    }
}

static void test_shapes(void)
{
    static const gcase cases[] = {
        { .name = "B broadcast over batch[0], beta 1", .m = 6, .n = 5, .k = 4, .batch = { 3, 2 }, .alpha = 1, .beta = 1, .broadcast_b = true },
        { .name = "1 x 1 x 1", .m = 1, .n = 1, .k = 1, .batch = { 1, 1 }, .alpha = 2, .beta = 1 },
        { .name = "row vector times column-major matrix", .m = 1, .n = 9, .k = 5, .batch = { 1, 1 }, .col = { false, true, false }, .alpha = 1 },
        { .name = "column-major column vector result", .m = 8, .n = 1, .k = 3, .batch = { 2, 1 }, .col = { true, false, true }, .alpha = 1 },
        { .name = "300 x 200 x 150 cut into tiles, beta 1", .m = 300, .n = 200, .k = 150, .batch = { 1, 1 }, .pad = 3, .alpha = 1, .beta = 1 },
        { .name = "260 x 330 x 100, A and C column-major, tiles", .m = 260, .n = 330, .k = 100, .batch = { 1, 1 }, .col = { true, false, true },
          .alpha = -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

static void test_grouped(void)
{
    static const int32_t some[] = { 3, 0, 7, 0, 10 }, none[] = { 0, 0, 0 }, full[] = { 4, 4 };
    static const int32_t big[] = { 90, 0, 130, 7, 0, 200, 1, 60 }, ks[] = { 2, 0, 5, 1 };
    static const gcase cases[] = {
        { .name = "grouped 3,0,7,0,10 of 24 rows (4 padding rows zeroed)", .m = 24, .n = 6, .k = 5, .alpha = 1, .groups = some, .n_groups = 5 },
        { .name = "grouped, beta 1 (padding rows kept), B column-major", .m = 24, .n = 6, .k = 5, .col = { false, true, false }, .alpha = 1,
          .beta = 1, .groups = some, .n_groups = 5 },
        { .name = "grouped, beta 0.5, every group empty", .m = 4, .n = 3, .k = 2, .alpha = 1, .beta = 0.5, .groups = none, .n_groups = 3 },
        { .name = "grouped, exactly m rows", .m = 8, .n = 3, .k = 2, .col = { true, false, true }, .alpha = 1, .groups = full, .n_groups = 2 },
        { .name = "grouped 8 groups of 512 rows x 256 x 128, tiles", .m = 512, .n = 256, .k = 128, .alpha = 1, .groups = big, .n_groups = 8 },
        { .name = "grouped by k 2,0,5,1 of 9 (the empty one zeroed)", .m = 6, .n = 4, .k = 9, .alpha = 1, .groups = ks, .n_groups = 4,
          .split_k = true },
        { .name = "grouped by k, beta 1, A column-major", .m = 6, .n = 4, .k = 8, .col = { true, false, false }, .alpha = 2, .beta = 1,
          .groups = ks, .n_groups = 4, .split_k = true },
        { .name = "grouped by k 90,0,130,7,0,200,1,60 of 490, 300 x 200, tiles", .m = 300, .n = 200, .k = 490, .col = { true, false, true },
          .alpha = 1, .groups = big, .n_groups = 8, .split_k = true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase gc = cases[i];
        gc.batch[0] = gc.n_groups;
        gc.batch[1] = 1;
        check(&gc);
    }
}

/* A case that must fail with `expect` in the message, at creation or run. */
static void refused(const gcase *gc, const char *expect, void (*mutate)(ir_kprogram *))
{
    ir_kprogram p;
    int64_t numel[4];
    build(&p, gc, numel);
    if (mutate) mutate(&p);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, NULL, sd);
    if (ex && gc->groups) rt_exec_write(ex, 3, gc->groups, gc->n_groups);
    int rc = ex ? rt_exec_run(ex) : -1;
    tap_ok(rc == -1 && strstr(sink_text(sd), expect), "%s: refused (%s)", gc->name, sink_text(sd));
    rt_exec_free(ex);
    ir_kprogram_free(&p);
}

static void int_c(ir_kprogram *p) { p->bufs[2].dtype = IR_I32; }

static void test_refused(void)
{
    static const int32_t negative[] = { 2, -1, 3 }, too_many[] = { 3, 3, 3 };
    gcase neg = { .name = "a negative group size", .m = 8, .n = 2, .k = 2, .batch = { 3, 1 }, .alpha = 1, .groups = negative, .n_groups = 3 };
    refused(&neg, "group 1 has size -1", NULL);
    gcase many = { .name = "groups past m", .m = 8, .n = 2, .k = 2, .batch = { 3, 1 }, .alpha = 1, .groups = too_many, .n_groups = 3 };
    refused(&many, "group 2 has size 3: sizes must be >= 0 and sum to at most m = 8", NULL);
    gcase many_k = { .name = "groups past k", .m = 2, .n = 2, .k = 8, .batch = { 3, 1 }, .alpha = 1, .groups = too_many, .n_groups = 3,
                     .split_k = true };
    refused(&many_k, "group 2 has size 3: sizes must be >= 0 and sum to at most k = 8", NULL);
    gcase ints = { .name = "an i32 C", .m = 4, .n = 3, .k = 2, .batch = { 1, 1 }, .alpha = 1 };
    refused(&ints, "launch k0 (gemm_test): products run as sgemm: A, B and C must be f32", int_c);
}

int main(void)
{
    test_layouts();
    test_shapes();
    test_grouped();
    test_refused();
    sink_close();
    return tap_done();
}
