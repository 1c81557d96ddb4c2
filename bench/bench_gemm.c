/* bench/bench_gemm.c -- the CPU executor's matrix products against raw
 * cblas_sgemm, in wall GFLOP/s and GFLOP per CPU-second (best of N runs):
 * a 1024 x 768 x 3072 product (GPT-2 small's first MLP layer over 1024
 * tokens), and a grouped product of 8 experts over 4096 dispatched rows,
 * balanced and skewed, against a loop of sgemm over the groups and one
 * dense sgemm of as many rows; and the cost of an empty rt_pool_run.
 * doc/kernels.md records the figures. Usage: bench_gemm [--threads N] [--runs N] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/cpu/exec.h"

enum { GROUPS = 8, M = 1024, K = 768, N = 3072, ROWS = 4096 };

static double clock_s(clockid_t which)
{
    struct timespec t;
    clock_gettime(which, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* Best wall-clock and best process CPU seconds of a set of runs: on a
 * shared machine the CPU time shows the work a path adds, the wall time
 * how well it keeps the threads busy. */
typedef struct timing {
    double wall, cpu;
} timing;

static void timing_start(timing *t, double *w0, double *c0)
{
    if (t->wall == 0) t->wall = t->cpu = 1e30;
    *w0 = now();
    *c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void timing_stop(timing *t, double w0, double c0)
{
    double w = now() - w0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (w < t->wall) t->wall = w;
    if (c < t->cpu) t->cpu = c;
}

typedef struct bench {
    rt_pool *pool;
    moec_diag *d;
    int threads, runs;
} bench;

/* One product launch C[m, n] = A[m, k] B[(groups,) k, n], row-major; grouped when groups > 0. */
static void build(ir_kprogram *p, int64_t m, int groups)
{
    ir_kprogram_init(p, "bench");
    int64_t mats = groups ? groups : 1;
    ir_kbuf_add(p, "a", IR_F32, m * K, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "b", IR_F32, mats * K * N, IR_BUF_PARAM, -1);
    ir_kbuf_add(p, "c", IR_F32, m * N, IR_BUF_OUTPUT, -1);
    int rows = groups ? ir_kbuf_add(p, "rows", IR_I32, groups, IR_BUF_INPUT, -1) : -1;
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_GEMM, "bench_gemm");
    l->gemm = (ir_kgemm){ .batch = { mats, 1 }, .m = m, .n = N, .k = K, .alpha = 1, .groups = groups, .group_rows = rows,
                          .a = { .buf = 0, .row_stride = K, .col_stride = 1 },
                          .b = { .buf = 1, .row_stride = N, .col_stride = 1, .batch_stride = { K * N, 0 } },
                          .c = { .buf = 2, .row_stride = N, .col_stride = 1 } };
}

static void fill(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = (float)((i * 7919 % 1000) - 500) / 1000.0f;
}

static timing time_exec(const bench *b, rt_exec *ex, rt_gemm_split how)
{
    rt_exec_set_gemm_split(ex, how);
    timing t = { 0 };
    for (int r = 0; r < b->runs; r++) {
        double w0, c0;
        timing_start(&t, &w0, &c0);
        if (rt_exec_run(ex) < 0) exit(1);
        timing_stop(&t, w0, c0);
    }
    return t;
}

/* Raw sgemm calls (OpenBLAS threaded): one per group of `rows`, or one of m rows. */
static timing time_raw(const bench *b, rt_exec *ex, int64_t m, const int32_t *rows, int groups)
{
    const float *A = rt_exec_data(ex, 0), *B = rt_exec_data(ex, 1);
    float *C = rt_exec_data(ex, 2);
    openblas_set_num_threads(b->threads);
    timing t = { 0 };
    for (int r = 0; r < b->runs; r++) {
        double w0, c0;
        timing_start(&t, &w0, &c0);
        if (!groups) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, N, K, 1, A, K, B, N, 0, C, N);
        for (int g = 0, at = 0; g < groups; at += rows[g++])
            if (rows[g])
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows[g], N, K, 1, A + (int64_t)at * K, K,
                            B + (int64_t)g * K * N, N, 0, C + (int64_t)at * N, N);
        timing_stop(&t, w0, c0);
    }
    return t;
}

/* "wall GFLOP/s (GFLOP per CPU-second)" */
static const char *rate(double flop, timing t, char *buf)
{
    sprintf(buf, "%6.1f (%5.1f)", flop / t.wall * 1e-9, flop / t.cpu * 1e-9);
    return buf;
}

static rt_exec *make(const bench *b, ir_kprogram *p, int64_t m, const int32_t *rows, int groups)
{
    build(p, m, groups);
    rt_exec *ex = rt_exec_new(p, b->pool, b->d);
    if (!ex) exit(1);
    fill(rt_exec_data(ex, 0), m * K);
    fill(rt_exec_data(ex, 1), (groups ? groups : 1) * (int64_t)K * N);
    if (groups) rt_exec_write(ex, 3, rows, groups);
    return ex;
}

static void dense(const bench *b)
{
    ir_kprogram p;
    rt_exec *ex = make(b, &p, M, NULL, 0);
    double flop = 2.0 * M * N * K;
    char r1[32], r2[32], r3[32];
    time_exec(b, ex, RT_GEMM_POOL);   /* warm-up: pages, OpenBLAS buffers */
    timing raw = time_raw(b, ex, M, NULL, 0), pool = time_exec(b, ex, RT_GEMM_POOL), blas = time_exec(b, ex, RT_GEMM_BLAS);
    printf("dense %dx%dx%d: raw sgemm %s  pool tiles %s  OpenBLAS threads %s\n", M, K, N, rate(flop, raw, r1),
           rate(flop, pool, r2), rate(flop, blas, r3));
    rt_exec_free(ex);
    ir_kprogram_free(&p);
}

static void grouped(const bench *b, const int32_t *rows, const char *name)
{
    ir_kprogram p, q;
    rt_exec *ex = make(b, &p, ROWS, rows, GROUPS), *one = make(b, &q, ROWS, NULL, 0);
    double flop = 2.0 * ROWS * N * K;
    char r1[32], r2[32], r3[32], r4[32];
    time_exec(b, ex, RT_GEMM_POOL);
    timing loop = time_raw(b, ex, ROWS, rows, GROUPS), pool = time_exec(b, ex, RT_GEMM_POOL);
    timing blas = time_exec(b, ex, RT_GEMM_BLAS), whole = time_raw(b, one, ROWS, NULL, 0);
    printf("grouped %s:\n  raw loop of sgemm %s  pool tiles %s  OpenBLAS threads %s  one dense %dx%dx%d sgemm %s\n",
           name, rate(flop, loop, r1), rate(flop, pool, r2), rate(flop, blas, r3), ROWS, K, N, rate(flop, whole, r4));
    rt_exec_free(ex);
    rt_exec_free(one);
    ir_kprogram_free(&p);
    ir_kprogram_free(&q);
}

static void nothing(void *ctx, int64_t begin, int64_t end, int worker) { (void)ctx, (void)begin, (void)end, (void)worker; }

static void pool_cost(const bench *b)
{
    enum { CALLS = 2000 };
    double t0 = now();
    for (int i = 0; i < CALLS; i++) rt_pool_run(b->pool, b->threads, nothing, NULL);
    printf("rt_pool_run of an empty job on %d threads: %.1f us\n", b->threads, (now() - t0) / CALLS * 1e6);
}

int main(int argc, char **argv)
{
    bench b = { .threads = 0, .runs = 5 };
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) b.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) b.runs = atoi(argv[i + 1]);
    }
    moec_diag d;
    moec_diag_init(&d, stderr, 20);
    b.d = &d;
    if (!(b.pool = rt_pool_new(b.threads, &d))) return 1;
    b.threads = rt_pool_threads(b.pool);
    printf("%d threads, best of %d runs; wall GFLOP/s (GFLOP per CPU-second)\n", b.threads, b.runs);
    pool_cost(&b);
    dense(&b);
    static const int32_t even[GROUPS] = { 512, 512, 512, 512, 512, 512, 512, 512 };
    static const int32_t skewed[GROUPS] = { 1400, 0, 900, 600, 500, 400, 200, 96 };
    grouped(&b, even, "8 x 512 rows");
    grouped(&b, skewed, "1400,0,900,600,500,400,200,96 rows");
    rt_pool_free(b.pool);
    return 0;
}
