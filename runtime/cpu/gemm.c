/* runtime/cpu/gemm.c -- matrix-product launches (ir_kgemm) through CBLAS
 * sgemm. The storage order and transpositions come from each operand's
 * strides; a plain product loops over batch[0] x batch[1], a grouped one
 * over its non-empty groups (rows, or k with split_k, at the running sum of
 * group_rows). With RT_GEMM_POOL the pool cuts every C into tiles that
 * threads take one by one, each a single-threaded sgemm; doc/kernels.md says why. */
#include <cblas.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/cpu/launch.h"

enum {
    RT_GEMM_MIN_EDGE = 64,      /* a tile is not cut below this many rows or columns */
    RT_GEMM_EDGE_ALIGN = 16,    /* tile edges are multiples of this (the sgemm kernels' blocking) */
};
#define RT_GEMM_TILE_MACS ((int64_t)1 << 22)   /* multiply-adds below which a tile is not cut further */

/* How CBLAS sees the operands: one storage order (C's) and a transposition
 * and leading dimension for A and B. */
typedef struct layout {
    CBLAS_ORDER order;
    CBLAS_TRANSPOSE ta, tb;
    int64_t lda, ldb, ldc;
} layout;

/* The leading dimension of x (rows x cols) read as a row-major matrix, or -1. */
static int64_t ld_row_major(const ir_kmat *x, int64_t rows, int64_t cols)
{
    if (cols > 1 && x->col_stride != 1) return -1;
    int64_t ld = rows == 1 ? cols : x->row_stride;
    return ld >= cols ? ld : -1;
}

/* The same read as a column-major matrix. */
static int64_t ld_col_major(const ir_kmat *x, int64_t rows, int64_t cols)
{
    if (rows > 1 && x->row_stride != 1) return -1;
    int64_t ld = cols == 1 ? rows : x->col_stride;
    return ld >= rows ? ld : -1;
}

/* A or B in storage order `row_major`: as stored, or transposed. */
static int operand(const ir_kmat *x, int64_t rows, int64_t cols, bool row_major, CBLAS_TRANSPOSE *t, int64_t *ld)
{
    int64_t same = row_major ? ld_row_major(x, rows, cols) : ld_col_major(x, rows, cols);
    int64_t other = row_major ? ld_col_major(x, rows, cols) : ld_row_major(x, rows, cols);
    *t = same >= 0 ? CblasNoTrans : CblasTrans;
    *ld = same >= 0 ? same : other;
    return *ld >= 0 ? 0 : -1;
}

static int plan_layout(const rt_env *env, const ir_kgemm *g, layout *L)
{
    L->ldc = ld_row_major(&g->c, g->m, g->n);
    bool row_major = L->ldc >= 0;
    if (!row_major) L->ldc = ld_col_major(&g->c, g->m, g->n);
    L->order = row_major ? CblasRowMajor : CblasColMajor;
    const char *bad = L->ldc < 0 ? "C" : operand(&g->a, g->m, g->k, row_major, &L->ta, &L->lda) < 0 ? "A"
                    : operand(&g->b, g->k, g->n, row_major, &L->tb, &L->ldb) < 0 ? "B" : NULL;
    if (bad) return rt_launch_error(env, "operand %s's strides are no BLAS layout (one of them 1, the other >= the extent)", bad);
    return 0;
}

int rt_gemm_check(const rt_env *env, const ir_kgemm *g)
{
    const ir_kbuf *bufs = env->p->bufs;
    if (bufs[g->a.buf].dtype != IR_F32 || bufs[g->b.buf].dtype != IR_F32 || bufs[g->c.buf].dtype != IR_F32)
        return rt_launch_error(env, "products run as sgemm: A, B and C must be f32");
    layout L;
    if (plan_layout(env, g, &L) < 0) return -1;
    int64_t most = g->m > g->n ? g->m : g->n;
    if (g->k > most) most = g->k;
    if (L.lda > most) most = L.lda;
    if (L.ldb > most) most = L.ldb;
    if (L.ldc > most) most = L.ldc;
    if (most > INT_MAX) return rt_launch_error(env, "a size or leading dimension above CBLAS's int range");
    return 0;
}

/* One matrix product of a launch: a batch pair, or a group. */
typedef struct part {
    int64_t rows, k;          /* its m (a group of rows) and k (a group of k) */
    int64_t a, b, c;          /* element offsets of its A, B and C in their buffers */
} part;

/* A launch cut into tiles: part i has tiles tile0[i] .. tile0[i+1]-1 of
 * mb x nb elements of its C (smaller at the edges), row block by row block. */
typedef struct gemm_job {
    const ir_kgemm *g;
    layout L;
    const float *a, *b;
    float *c;
    int64_t n_parts;
    part *parts;              /* n_parts */
    int64_t *tile0;           /* n_parts + 1 */
    int64_t mb, nb;
    atomic_llong next;        /* the next tile a thread takes */
} gemm_job;

/* The part holding tile t: the last i with tile0[i] <= t. */
static int64_t part_of(const gemm_job *j, int64_t t)
{
    int64_t lo = 0, hi = j->n_parts - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (j->tile0[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static void run_tile(const gemm_job *j, int64_t t)
{
    const ir_kgemm *g = j->g;
    const part *pt = &j->parts[part_of(j, t)];
    int64_t local = t - j->tile0[pt - j->parts], col_blocks = (g->n + j->nb - 1) / j->nb;
    int64_t r0 = local / col_blocks * j->mb, c0 = local % col_blocks * j->nb;
    int64_t rows = pt->rows - r0 < j->mb ? pt->rows - r0 : j->mb, cols = g->n - c0 < j->nb ? g->n - c0 : j->nb;
    cblas_sgemm(j->L.order, j->L.ta, j->L.tb, (blasint)rows, (blasint)cols, (blasint)pt->k, (float)g->alpha,
                j->a + pt->a + r0 * g->a.row_stride, (blasint)j->L.lda, j->b + pt->b + c0 * g->b.col_stride,
                (blasint)j->L.ldb, (float)g->beta, j->c + pt->c + r0 * g->c.row_stride + c0 * g->c.col_stride,
                (blasint)j->L.ldc);
}

static void gemm_worker(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)begin, (void)end, (void)worker;
    gemm_job *j = ctx;
    for (int64_t t; (t = atomic_fetch_add(&j->next, 1)) < j->tile0[j->n_parts];) run_tile(j, t);
}

/* Part i of a plain product: batch pair (i / batch[1], i % batch[1]). */
static part batch_part(const ir_kgemm *g, int64_t i)
{
    int64_t b0 = i / g->batch[1], b1 = i % g->batch[1];
    return (part){ .rows = g->m, .k = g->k,
                   .a = g->a.offset + b0 * g->a.batch_stride[0] + b1 * g->a.batch_stride[1],
                   .b = g->b.offset + b0 * g->b.batch_stride[0] + b1 * g->b.batch_stride[1],
                   .c = g->c.offset + b0 * g->c.batch_stride[0] + b1 * g->c.batch_stride[1] };
}

/* Part g of a grouped product whose earlier groups took `at` rows (or k). */
static part group_part(const ir_kgemm *g, int64_t i, int64_t size, int64_t at)
{
    if (g->split_k)   /* A's columns and B's rows at..at+size, into C's batch i */
        return (part){ .rows = g->m, .k = size, .a = g->a.offset + at * g->a.col_stride,
                       .b = g->b.offset + at * g->b.row_stride, .c = g->c.offset + i * g->c.batch_stride[0] };
    return (part){ .rows = size, .k = g->k, .a = g->a.offset + at * g->a.row_stride,
                   .b = g->b.offset + i * g->b.batch_stride[0], .c = g->c.offset + at * g->c.row_stride };
}

/* The parts of a launch; a grouped one's from its i32 sizes, checked: none
 * negative, all together at most m (or k, split_k). *used: their sum. */
static int make_parts(const rt_env *env, gemm_job *j, int64_t *used)
{
    const ir_kgemm *g = j->g;
    const int32_t *sizes = g->groups ? env->bufs[g->group_rows] : NULL;
    int64_t limit = g->split_k ? g->k : g->m;
    *used = 0;
    for (int64_t i = 0; i < j->n_parts; i++) {
        if (!sizes) {
            j->parts[i] = batch_part(g, i);
            continue;
        }
        if (sizes[i] < 0 || *used + sizes[i] > limit)
            return rt_launch_error(env, "group %lld has size %d: sizes must be >= 0 and sum to at most %s = %lld",
                                   (long long)i, sizes[i], g->split_k ? "k" : "m", (long long)limit);
        j->parts[i] = group_part(g, i, sizes[i], *used);
        *used += sizes[i];
    }
    return 0;
}

/* What an empty group leaves in C: rows r0..r1 of the C at `c` become beta
 * times themselves (zero when beta = 0, whatever they held, as in BLAS). */
static void scale_rows(const gemm_job *j, int64_t c, int64_t r0, int64_t r1)
{
    const ir_kgemm *g = j->g;
    if (g->beta == 1) return;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t col = 0; col < g->n; col++) {
            float *x = j->c + c + r * g->c.row_stride + col * g->c.col_stride;
            *x = g->beta == 0 ? 0.0f : (float)g->beta * *x;
        }
}

static void scale_uncovered(const gemm_job *j, int64_t used)
{
    const ir_kgemm *g = j->g;
    if (g->groups && !g->split_k) scale_rows(j, g->c.offset, used, g->m);
    for (int64_t i = 0; g->split_k && i < j->n_parts; i++)
        if (j->parts[i].k == 0) scale_rows(j, j->parts[i].c, 0, g->m);
}

/* The tile edges: whole parts on one thread; with more, halve the longer
 * edge until a tile is at most a quarter thread's share of the work (so
 * threads taking tiles in turn end together) or RT_GEMM_TILE_MACS. */
static void plan_tiles(gemm_job *j, int threads)
{
    int64_t work = 0, most_rows = 1, most_k = 1;
    for (int64_t i = 0; i < j->n_parts; i++) {
        work += j->parts[i].rows * j->g->n * j->parts[i].k;
        if (j->parts[i].rows > most_rows) most_rows = j->parts[i].rows;
        if (j->parts[i].k > most_k) most_k = j->parts[i].k;
    }
    j->mb = most_rows;
    j->nb = j->g->n;
    int64_t target = work / (4 * threads) > RT_GEMM_TILE_MACS ? work / (4 * threads) : RT_GEMM_TILE_MACS;
    while (threads > 1 && j->mb * j->nb * most_k > target) {
        int64_t *edge = j->mb >= j->nb ? &j->mb : &j->nb;
        if (*edge <= RT_GEMM_MIN_EDGE) edge = edge == &j->mb ? &j->nb : &j->mb;
        if (*edge <= RT_GEMM_MIN_EDGE) break;
        *edge = ((*edge + 1) / 2 + RT_GEMM_EDGE_ALIGN - 1) / RT_GEMM_EDGE_ALIGN * RT_GEMM_EDGE_ALIGN;
    }
    j->tile0[0] = 0;
    for (int64_t i = 0; i < j->n_parts; i++) {
        const part *pt = &j->parts[i];
        int64_t tiles = pt->k ? (pt->rows + j->mb - 1) / j->mb * ((j->g->n + j->nb - 1) / j->nb) : 0;
        j->tile0[i + 1] = j->tile0[i] + tiles;
    }
}

/* OpenBLAS's own thread count, changed only when it differs. */
static void blas_threads(int n)
{
    if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

static void run_tiles(const rt_env *env, gemm_job *j, rt_gemm_split how)
{
    int threads = rt_pool_threads(env->pool);
    plan_tiles(j, how == RT_GEMM_POOL ? threads : 1);
    atomic_init(&j->next, 0);
    int64_t tiles = j->tile0[j->n_parts];
    blas_threads(how == RT_GEMM_POOL ? 1 : threads);
    if (how == RT_GEMM_POOL) rt_pool_run(env->pool, tiles < threads ? tiles : threads, gemm_worker, j);
    else gemm_worker(j, 0, 1, 0);
}

int rt_gemm_run(const rt_env *env, const ir_kgemm *g, rt_gemm_split how)
{
    gemm_job j = { .g = g, .a = env->bufs[g->a.buf], .b = env->bufs[g->b.buf], .c = env->bufs[g->c.buf],
                   .n_parts = g->groups ? g->groups : g->batch[0] * g->batch[1] };
    if (plan_layout(env, g, &j.L) < 0) return -1;
    j.parts = malloc(sizeof *j.parts * (size_t)j.n_parts);
    j.tile0 = malloc(sizeof *j.tile0 * (size_t)(j.n_parts + 1));
    int64_t used = 0;
    int rc = !j.parts || !j.tile0 ? rt_launch_error(env, "out of memory") : make_parts(env, &j, &used);
    if (rc == 0) {
        run_tiles(env, &j, how);
        scale_uncovered(&j, used);
    }
    free(j.parts);
    free(j.tile0);
    return rc;
}
