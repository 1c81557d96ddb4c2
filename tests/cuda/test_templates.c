/* tests/cuda/test_templates.c -- the CUDA templates (codegen/cuda_templates.h)
 * without a GPU. Their translation unit compiles with NVRTC for sm_80 and
 * sm_90 (where configure found the toolkit) and holds every kernel; then it
 * is compiled as host C++ behind tests/cuda/shim.h (blocks of 256 real
 * threads, __syncthreads and warp shuffles as barriers) and each template
 * is run on fresh random inputs (never zero; ties, NaNs, -0 and colliding
 * indices where they matter) against the CPU, every output bit for bit:
 *   TOPK (k <= 8 warp form, any-k block form incl. expert choice's large k),
 *   CUMSUM f32/i32, SCATTER_ADD, PUT: the CPU backend's templates
 *   (runtime/cpu/templates.c, through rt_exec) on a one-launch program, the
 *   launch's geometry and arguments from cg_cuda_template_call;
 *   the dispatch plan: ir/moe_sparse.c's formula (one-hot, cumulative sums,
 *   exclusive scan, ranks) computed here in plain C, with and without drops;
 *   the combine: the sparse combine's order (slots in order, from 0);
 *   Philox: ir_philox_draw's words, ir_philox_uniform and _normal's draws.
 * The grid is capped at 3 blocks so that every grid-stride loop strides.
 * C++ compiler: $MOEC_TEST_CXX or c++ (skipped without one). MOEC_TEST_SEED=S
 * reruns a seed. With MOEC_TEST_DEVICE=1 (`make check-cuda`) the same checks
 * run on the GPU instead of the shim (uncapped grids; the normal draws
 * within one ulp, CUDA's log and cos), skipped where the driver does not open. */
#include "config.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cuda_templates.h"
#include "ir/philox.h"
#include "runtime/cpu/exec.h"
#include "tests/cpu/helpers.h"
#include "tests/cuda/shim_lib.h"
#include "tests/ir/helpers.h"
#include "tests/tap.h"
#ifdef HAVE_CUDA
#include "codegen/nvrtc.h"
#include "runtime/cuda/driver.h"
#endif

#ifndef SHIM_H
#error "SHIM_H: the absolute path of tests/cuda/shim.h"
#endif

enum { GRID_CAP = 3 };

/* The kernels, each called through a wrapper moec_call_NAME(a) generated
 * from its signature (tests/cuda/shim_lib.h): a[i] points at parameter i. */
static const char *const KERNELS[] = { "moec_topk_warp", "moec_topk_block", "moec_cumsum_f32", "moec_cumsum_i32",
                                       "moec_scatter_add", "moec_put", "moec_moe_dispatch", "moec_moe_combine",
                                       "moec_philox_words", "moec_philox_fill" };

static void *lib;
static shim_launch_fn *launch;
static uint64_t seed;
static uint64_t draws;   /* a fresh Philox stream per fill */

/* Uniform in [0, 1) from the test's seed. */
static double unif(uint64_t i) { return ir_philox_uniform(seed, 77, (uint32_t)draws, i); }

static int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(ir_philox_uniform(seed, 78, 0, draws++) * (double)(hi - lo + 1)); }

typedef enum fill_kind { F_RANDOM, F_TIES, F_INDEX } fill_kind;

/* n floats: ±[0.5, 1.5); or ±{1, 2, 3} with every seventh a NaN and some -0
 * and +0 (ties); F_INDEX fills ints in [0, limit) instead. Never all zeros. */
static void *fill(int64_t n, fill_kind kind, int64_t limit)
{
    void *v = malloc(4 * (size_t)(n ? n : 1));
    if (!v) exit(1);
    draws++;
    for (int64_t i = 0; i < n; i++) {
        double u = unif((uint64_t)i), s = unif((uint64_t)(i + n)) < 0.5 ? -1.0 : 1.0;
        if (kind == F_INDEX) ((int32_t *)v)[i] = (int32_t)floor(u * (double)limit);
        else if (kind == F_RANDOM) ((float *)v)[i] = (float)(s * (0.5 + u));
        else ((float *)v)[i] = i % 7 == 3 ? NAN : i % 11 == 5 ? (float)(s * 0.0) : (float)(s * (1 + floor(u * 3)));
    }
    return v;
}

/* The GPU of a device run (MOEC_TEST_DEVICE=1, `make check-cuda`), else NULL:
 * the templates then run on it instead of the shim. */
static rt_cuda *dev;
static rt_cuda_module *dev_mod;

/* Runs kernel moec_NAME on the GPU: every buffer (size[i] bytes at args[i];
 * a NULL one passed as a null pointer) copied there, the launch, every
 * buffer copied back; size[i] < 0: args[i] points at a long long scalar. */
static bool run_device(const char *name, void **args, const long long *size, int n, int64_t grid, int64_t block)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    rt_cuda_ptr ptr[16] = { 0 };
    void *params[16];
    char sym[64];
    snprintf(sym, sizeof sym, "moec_%s", name);
    bool ok = n <= 16;
    for (int i = 0; ok && i < n; i++) {
        params[i] = size[i] < 0 ? args[i] : &ptr[i];
        if (size[i] < 0 || !args[i]) continue;
        ok = rt_cuda_alloc(dev, (size_t)size[i], &ptr[i], &d) == 0 && rt_cuda_upload(dev, ptr[i], args[i], (size_t)size[i], &d) == 0;
    }
    ok = ok && rt_cuda_launch(dev, dev_mod, sym, (uint64_t)grid, (uint64_t)block, params, &d) == 0 && rt_cuda_sync(dev, &d) == 0;
    for (int i = 0; ok && i < n; i++)
        if (size[i] > 0 && args[i]) ok = rt_cuda_download(dev, args[i], ptr[i], (size_t)size[i], &d) == 0;
    for (int i = 0; i < n && i < 16; i++) rt_cuda_free(dev, ptr[i]);
    moec_diag_free(&d);
    return ok;
}

/* Runs kernel `name` with args on grid x block threads: in the shim (the
 * grid capped), or on the GPU of a device run. */
static bool run(const char *name, void **args, const long long *size, int n, int64_t grid, int64_t block)
{
    if (dev) return run_device(name, args, size, n, grid, block);
    char sym[64];
    snprintf(sym, sizeof sym, "moec_call_%s", name);
    void (*fn)(void **);
    *(void **)&fn = dlsym(lib, sym);
    void *params[16];
    if (!fn || n > 16) return false;
    for (int i = 0; i < n; i++) params[i] = size[i] < 0 ? args[i] : &args[i];   /* as cuLaunchKernel takes them */
    return launch(fn, params, (unsigned)(grid > GRID_CAP ? GRID_CAP : grid), (unsigned)block) == 0;
}

/* ---- the kernel-IR templates against the CPU backend ---- */

/* Node op of g on operand buffers in[] by the CPU backend and by the CUDA
 * template in the shim: the same bits? */
static void check_template(const ir_graph *g, int op, void *const *in, rt_pool *pool, const char *what)
{
    if (!tap_ok(op >= 0 && !g->failed, "%s: the graph builds", what)) return;
    ir_kprogram p;
    test_one_launch(&p, g, op);
    const ir_launch *l = &p.launches[0];
    const ir_node *n = &g->nodes[op];
    int64_t count = ir_shape_numel(&n->shape);
    void *want = calloc((size_t)count + 1, 4), *got = malloc(4 * (size_t)count + 4);
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    rt_exec *ex = rt_exec_new(&p, pool, &d);
    bool ref = ex && want && got;
    for (int i = 0; ref && i < n->n_in; i++) ref = rt_exec_write(ex, i, in[i], ir_shape_numel(&l->tmpl.in_shape[i])) == 0;
    ref = ref && rt_exec_run(ex) == 0 && rt_exec_read(ex, n->n_in, want, count) == 0;
    cg_cuda_tcall c;
    const char *why = "";
    bool mapped = cg_cuda_template_call(&l->tmpl, &c, &why) == 0;
    if (tap_ok(ref && mapped, "%s: the CPU ran it and a template covers it%s%s", what, mapped ? "" : ": ", why)) {
        void *args[8];
        long long sc[4], size[8];
        memset(got, 0xA5, 4 * (size_t)count);   /* not zeros: every element must be written */
        for (int i = 0; i < c.n_bufs; i++) {
            bool out = c.bufs[i] == l->tmpl.out;
            args[i] = out ? got : in[c.bufs[i]];
            size[i] = 4 * (out ? count : ir_shape_numel(&l->tmpl.in_shape[c.bufs[i]]));
        }
        for (int i = 0; i < c.n_scalars; i++) {
            sc[i] = c.scalars[i];
            args[c.n_bufs + i] = &sc[i];
            size[c.n_bufs + i] = -1;
        }
        bool ran = run(c.symbol + 5, args, size, c.n_bufs + c.n_scalars, c.grid, c.block);
        tap_ok(ran && memcmp(want, got, 4 * (size_t)count) == 0, "%s: %s (grid %lld, block %lld) as the CPU, bit for bit", what,
               c.symbol, (long long)c.grid, (long long)c.block);
    }
    rt_exec_free(ex);
    moec_diag_free(&d);
    free(want);
    free(got);
    ir_kprogram_free(&p);
}

static int param(ir_graph *g, int i, ir_shape s, bool index)
{
    int id = ir_param(g, i, "p", s);
    return index ? ir_cast(g, id, IR_I32) : id;
}

static void check_topk(rt_pool *pool, int64_t rows, int64_t len, int64_t k, fill_kind kind)
{
    ir_graph g;
    graph_init(&g);
    int x = param(&g, 0, ir_shape_of(2, (int64_t[]){ rows, len }), false);
    void *in[1] = { fill(rows * len, kind, 0) };
    char what[128];
    snprintf(what, sizeof what, "topk [%lld,%lld] k %lld%s", (long long)rows, (long long)len, (long long)k,
             kind == F_TIES ? " (ties, NaN, -0)" : "");
    check_template(&g, ir_topk(&g, x, (int)k), in, pool, what);
    free(in[0]);
    ir_graph_free(&g);
}

static void check_cumsum(rt_pool *pool, bool i32)
{
    ir_graph g;
    graph_init(&g);
    int64_t dims[3] = { pick(1, 5), pick(1, 40), pick(1, 300) };
    int axis = (int)pick(0, 2);
    int x = param(&g, 0, ir_shape_of(3, dims), i32);
    void *in[1] = { fill(dims[0] * dims[1] * dims[2], i32 ? F_INDEX : F_RANDOM, INT32_MAX) };
    char what[128];
    snprintf(what, sizeof what, "cumsum %s [%lld,%lld,%lld] axis %d", i32 ? "i32" : "f32", (long long)dims[0],
             (long long)dims[1], (long long)dims[2], axis);
    check_template(&g, ir_cumsum(&g, x, axis), in, pool, what);
    free(in[0]);
    ir_graph_free(&g);
}

static void check_scatter_add(rt_pool *pool)
{
    ir_graph g;
    graph_init(&g);
    int64_t rows = pick(1, 60), v = pick(1, 12), d = pick(1, 700);
    int src = param(&g, 0, ir_shape_of(2, (int64_t[]){ rows, d }), false);
    int idx = param(&g, 1, ir_shape_of(1, &rows), true);
    void *in[2] = { fill(rows * d, F_RANDOM, 0), fill(rows, F_INDEX, v) };
    char what[128];
    snprintf(what, sizeof what, "scatter_add [%lld,%lld] -> [%lld,%lld]", (long long)rows, (long long)d, (long long)v,
             (long long)d);
    check_template(&g, ir_scatter_add(&g, src, idx, v), in, pool, what);
    free(in[0]);
    free(in[1]);
    ir_graph_free(&g);
}

static void check_put(rt_pool *pool)
{
    ir_graph g;
    graph_init(&g);
    int64_t rows = pick(1, 30), k = pick(1, 9), len = pick(1, 50);
    ir_shape s = ir_shape_of(2, (int64_t[]){ rows, k });
    int src = param(&g, 0, s, false), idx = param(&g, 1, s, true);
    void *in[2] = { fill(rows * k, F_RANDOM, 0), fill(rows * k, F_INDEX, len) };
    char what[128];
    snprintf(what, sizeof what, "put [%lld,%lld] into rows of %lld", (long long)rows, (long long)k, (long long)len);
    check_template(&g, ir_put(&g, src, idx, len), in, pool, what);
    free(in[0]);
    free(in[1]);
    ir_graph_free(&g);
}

/* ---- the dispatch plan against ir/moe_sparse.c's formula ---- */

static void check_dispatch(bool capped)
{
    int64_t n = pick(1, 200), k = pick(1, 4), e = pick(2, 16), a = n * k;
    int32_t *ex = fill(a, F_INDEX, e);
    float *keep = NULL;
    int64_t r = a, cap = 0;
    if (capped) {   /* a capacity in assignment order, as ir/moe.c drops; R = E capacity */
        cap = pick(1, (a + e - 1) / e);
        keep = malloc(sizeof *keep * (size_t)a);
        int64_t *seen = calloc((size_t)e, sizeof *seen);
        if (!keep || !seen) exit(1);
        for (int64_t i = 0; i < a; i++) keep[i] = seen[ex[i]]++ < cap ? 1.0f : 0.0f;
        free(seen);
        r = e * cap < a ? e * cap : a;
    }
    /* The formula: oh [A,E] one-hot times keep; counts = its column sums;
     * start = cumsum(counts) - counts; rank = sum_e cumsum(oh, 0) * oh (1-based);
     * pos = start[e] + rank - 1, or R when dropped; ids scattered to rows. */
    int32_t *oh = calloc((size_t)(a * e), 4), *cum = calloc((size_t)(a * e), 4);
    int32_t *w_counts = calloc((size_t)e, 4), *w_start = calloc((size_t)e, 4), *w_pos = calloc((size_t)a, 4);
    int32_t *w_tok = calloc((size_t)r + 1, 4), *w_exp = calloc((size_t)r + 1, 4);
    if (!oh || !cum || !w_counts || !w_start || !w_pos || !w_tok || !w_exp) exit(1);
    for (int64_t i = 0; i < a; i++) oh[i * e + ex[i]] = keep ? (int32_t)keep[i] : 1;
    for (int64_t j = 0; j < e; j++)
        for (int64_t i = 0, s = 0; i < a; i++) w_counts[j] += oh[i * e + j], cum[i * e + j] = (int32_t)(s += oh[i * e + j]);
    for (int64_t j = 0, s = 0; j < e; j++) s += w_counts[j], w_start[j] = (int32_t)(s - w_counts[j]);
    for (int64_t i = 0; i < a; i++) {
        int32_t rank = 0;
        for (int64_t j = 0; j < e; j++) rank += cum[i * e + j] * oh[i * e + j];
        w_pos[i] = keep && keep[i] == 0 ? (int32_t)r : w_start[ex[i]] + rank - 1;
        if (w_pos[i] < r) w_tok[w_pos[i]] = (int32_t)(i / k), w_exp[w_pos[i]] = ex[i];
    }
    int32_t *counts = malloc(4 * (size_t)e), *start = malloc(4 * (size_t)e), *pos = malloc(4 * (size_t)a);
    int32_t *tok = malloc(4 * (size_t)r), *exp_ = malloc(4 * (size_t)r);
    if (!counts || !start || !pos || !tok || !exp_) exit(1);
    memset(tok, 0x5A, 4 * (size_t)r);   /* not zeros: the kernel must clear the rows no one reaches */
    memset(exp_, 0x5A, 4 * (size_t)r);
    long long sc[5] = { a, e, k, r, r };
    void *args[12] = { ex, keep, counts, start, pos, tok, exp_, &sc[0], &sc[1], &sc[2], &sc[3], &sc[4] };
    long long size[12] = { 4 * a, keep ? 4 * a : 0, 4 * e, 4 * e, 4 * a, 4 * r, 4 * r, -1, -1, -1, -1, -1 };
    bool ran = run("moe_dispatch", args, size, 12, 1, 256);
    bool same = ran && !memcmp(counts, w_counts, 4 * (size_t)e) && !memcmp(start, w_start, 4 * (size_t)e) &&
                !memcmp(pos, w_pos, 4 * (size_t)a) && !memcmp(tok, w_tok, 4 * (size_t)r) && !memcmp(exp_, w_exp, 4 * (size_t)r);
    tap_ok(same, "moe_dispatch: %lld tokens x %lld slots over %lld experts%s%.0lld: counts, scan, stable rows, row ids as the formula",
           (long long)n, (long long)k, (long long)e, capped ? ", capacity " : ", dropless", capped ? (long long)cap : 0LL);
    free(oh), free(cum), free(w_counts), free(w_start), free(w_pos), free(w_tok), free(w_exp);
    free(counts), free(start), free(pos), free(tok), free(exp_), free(ex), free(keep);
}

/* ---- the combine against the sparse combine's order ---- */

static void check_combine(void)
{
    int64_t n = pick(1, 40), k = pick(1, 4), d = pick(1, 100), r = pick(1, 60);
    float *y = fill(r * d, F_RANDOM, 0), *w = fill(n * k, F_RANDOM, 0);
    int32_t *rows = fill(n * k, F_INDEX, r + 1);   /* R itself: the zero row of a dropped slot */
    float *want = malloc(sizeof *want * (size_t)(n * d)), *got = malloc(sizeof *got * (size_t)(n * d));
    if (!want || !got) exit(1);
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < d; c++) {
            float acc = 0.0f;
            for (int64_t j = 0; j < k; j++) {
                int32_t row = rows[t * k + j];
                float picked = row == r ? 0.0f : y[row * d + c];
                acc = acc + picked * w[t * k + j];
            }
            want[t * d + c] = acc;
        }
    memset(got, 0xA5, sizeof *got * (size_t)(n * d));
    long long sc[4] = { n, k, d, r };
    void *args[8] = { y, rows, w, got, &sc[0], &sc[1], &sc[2], &sc[3] };
    long long size[8] = { 4 * r * d, 4 * n * k, 4 * n * k, 4 * n * d, -1, -1, -1, -1 };
    bool ran = run("moe_combine", args, size, 8, (n * d + 255) / 256, 256);
    tap_ok(ran && !memcmp(want, got, sizeof *got * (size_t)(n * d)),
           "moe_combine: %lld tokens x %lld slots of %lld rows (and the zero row), width %lld, bit for bit", (long long)n,
           (long long)k, (long long)r, (long long)d);
    free(y), free(w), free(rows), free(want), free(got);
}

/* ---- Philox against ir/philox.c ---- */

static void check_philox(void)
{
    int64_t n = pick(300, 1500);
    long long s = (long long)(seed * 0x9E3779B97F4A7C15ull), step = pick(0, 1 << 20), stream = pick(0, 1 << 30);
    long long first = pick(0, 1 << 30) * 16;   /* past 2^32: the counter's high word counts */
    uint32_t *words = malloc(16 * (size_t)n), *want = malloc(16 * (size_t)n);
    float *u = malloc(4 * (size_t)n), *z = malloc(4 * (size_t)n), *wu = malloc(4 * (size_t)n), *wz = malloc(4 * (size_t)n);
    if (!words || !want || !u || !z || !wu || !wz) exit(1);
    for (int64_t i = 0; i < n; i++) {
        ir_philox_draw((uint64_t)s, (uint64_t)step, (uint32_t)stream, (uint64_t)(first + i), want + 4 * i);
        wu[i] = (float)ir_philox_uniform((uint64_t)s, (uint64_t)step, (uint32_t)stream, (uint64_t)(first + i));
        wz[i] = (float)ir_philox_normal((uint64_t)s, (uint64_t)step, (uint32_t)stream, (uint64_t)(first + i));
    }
    long long sc[6] = { n, s, step, stream, first, 0 }, one = 1;
    void *a1[6] = { words, &sc[0], &sc[1], &sc[2], &sc[3], &sc[4] };
    long long s1[6] = { 16 * n, -1, -1, -1, -1, -1 }, s2[7] = { 4 * n, -1, -1, -1, -1, -1, -1 };
    bool ok = run("philox_words", a1, s1, 6, (n + 255) / 256, 256);
    tap_ok(ok && !memcmp(words, want, 16 * (size_t)n), "philox_words: %lld blocks of 4 words (seed %llx, step %lld, stream %lld, "
           "from element %lld) as ir_philox_draw", (long long)n, (unsigned long long)s, step, stream, first);
    void *a2[7] = { u, &sc[0], &sc[1], &sc[2], &sc[3], &sc[4], &sc[5] };
    ok = run("philox_fill", a2, s2, 7, (n + 255) / 256, 256);
    tap_ok(ok && !memcmp(u, wu, 4 * (size_t)n), "philox_fill uniform: %lld draws as ir_philox_uniform", (long long)n);
    a2[0] = z;
    a2[6] = &one;
    ok = run("philox_fill", a2, s2, 7, (n + 255) / 256, 256);
    /* On a GPU log and cos are CUDA's: the float draw may differ by one ulp. */
    int64_t differ = 0, far = 0;
    for (int64_t i = 0; ok && i < n; i++) {
        int32_t a, b;
        memcpy(&a, &z[i], 4);
        memcpy(&b, &wz[i], 4);
        differ += a != b;
        far += a - b > 1 || b - a > 1;
    }
    if (dev) tap_diag("philox_fill normal: %lld of %lld draws differ from the CPU's (by one ulp at most: %s)", (long long)differ,
                      (long long)n, far ? "no" : "yes");
    tap_ok(ok && (dev ? far == 0 : differ == 0), "philox_fill normal: %lld draws as ir_philox_normal (%s)", (long long)n,
           dev ? "within one ulp: CUDA's log, cos" : "bit for bit: the host's log, cos");
    free(words), free(want), free(u), free(z), free(wu), free(wz);
}

/* ---- building ---- */

/* The templates and their wrappers behind the shim, built and loaded. */
static bool build(const char *src_text, const char *cxx)
{
    char *text = NULL, err[2600] = "";
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool ok = f != NULL;
    if (f) fputs(src_text, f);
    for (size_t i = 0; ok && i < sizeof KERNELS / sizeof *KERNELS; i++) {
        char wrapper[64];
        snprintf(wrapper, sizeof wrapper, "moec_call_%s", KERNELS[i] + 5);
        ok = shim_write_wrapper(f, src_text, KERNELS[i], wrapper);
    }
    if (f && fclose(f) != 0) ok = false;
    lib = ok ? shim_build(cxx, SHIM_H, text, "-O1", err, sizeof err) : NULL;
    free(text);
    tap_ok(lib != NULL, "the templates compile as host C++ behind the shim%s%s", lib ? "" : ": ", err);
    if (lib) *(void **)&launch = dlsym(lib, "moec_shim_launch");
    return tap_ok(lib && launch, "the shim library loads");
}

/* Every template on fresh random inputs (the shim, or the GPU). */
static void run_checks(rt_pool *pool)
{
    tap_diag("seed %llu (MOEC_TEST_SEED reruns it)", (unsigned long long)seed);
    for (int i = 0; i < 4; i++) {
        int64_t k = pick(1, CG_CUDA_TOPK_WARP_MAX);
        check_topk(pool, pick(1, 40), pick(k, 90), k, i % 2 ? F_TIES : F_RANDOM);
    }
    check_topk(pool, 3, 1, 1, F_RANDOM);
    for (int i = 0; i < 3; i++) {   /* expert choice: C of the tokens, several tiles */
        int64_t len = pick(9, 600);
        check_topk(pool, pick(1, 6), len, pick(9, len), i % 2 ? F_TIES : F_RANDOM);
    }
    for (int i = 0; i < 2; i++) check_cumsum(pool, i);
    check_scatter_add(pool);
    check_put(pool);
    check_dispatch(false);
    check_dispatch(true);
    check_combine();
    check_philox();
}

#ifdef HAVE_CUDA
/* MOEC_TEST_DEVICE=1: the templates on the GPU (`make check-cuda`), compiled
 * for its architecture; skipped, saying why, where there is none. */
static int device_run(const char *src)
{
    moec_diag d;
    char said[1024] = "";
    FILE *f = fmemopen(said, sizeof said, "w");
    moec_diag_init(&d, f, 5);
    int rc = rt_cuda_open(&dev, 0, &d);
    fclose(f);
    if (rc < 0) {
        said[strcspn(said, "\n")] = '\0';
        printf("1..0 # SKIP no GPU here: %s\n", said);
        moec_diag_free(&d);
        return 0;
    }
    moec_diag_free(&d);
    moec_diag_init(&d, stderr, 5);
    char nv[64];
    tap_diag("on %s (%s), a driver for CUDA %d.%d, %s", rt_cuda_name(dev), rt_cuda_arch(dev),
             rt_cuda_driver_version(dev) / 1000, rt_cuda_driver_version(dev) % 1000 / 10, cg_nvrtc_version(nv, sizeof nv));
    char *ptx = NULL;
    cg_nvrtc_from from;
    bool ok = tap_ok(cg_nvrtc_compile_cached(src, "templates", rt_cuda_arch(dev), NULL, &ptx, &from, &d) == 0,
                     "the templates compile with NVRTC for %s", rt_cuda_arch(dev));
    ok = ok && tap_ok(rt_cuda_module_load(dev, ptx, "the templates", &dev_mod, &d) == 0, "the driver loads their PTX");
    rt_pool *pool = ok ? rt_pool_new(1, &d) : NULL;
    if (pool) run_checks(pool);
    rt_pool_free(pool);
    rt_cuda_module_unload(dev, dev_mod);
    rt_cuda_close(dev);
    free(ptx);
    moec_diag_free(&d);
    return tap_done();
}
#endif

int main(void)
{
    const char *env_seed = getenv("MOEC_TEST_SEED");
    seed = env_seed && *env_seed ? strtoull(env_seed, NULL, 10) : (uint64_t)time(NULL);
    char *src = cg_cuda_templates_source();
#ifdef HAVE_CUDA
    const char *device = getenv("MOEC_TEST_DEVICE");
    if (src && device && !strcmp(device, "1")) {
        int rc = device_run(src);
        free(src);
        return rc;
    }
#endif
    if (!tap_ok(src != NULL, "the templates' translation unit")) return tap_done();
#ifdef HAVE_CUDA
    const char *const *kernels = KERNELS;
    for (int i = 0; i < 2; i++) {
        const char *arch = i ? "sm_90" : "sm_80";
        moec_diag d;
        moec_diag_init(&d, stderr, 5);
        char *ptx = NULL;
        bool ok = cg_nvrtc_compile(src, "templates", arch, &ptx, &d) == 0;
        int entries = 0;
        for (const char *p = ptx; ok && (p = strstr(p, ".entry ")); p++) entries++;
        bool all = ok;
        for (size_t j = 0; ok && j < sizeof KERNELS / sizeof *KERNELS; j++) all &= strstr(ptx, kernels[j]) != NULL;
        tap_ok(ok && all && entries == (int)(sizeof KERNELS / sizeof *KERNELS),
               "the templates compile with NVRTC for %s: %d kernels", arch, entries);
        free(ptx);
        moec_diag_free(&d);
    }
#else
    tap_diag("no CUDA toolkit at configure time: the NVRTC compile is not checked");
#endif
    const char *cxx = getenv("MOEC_TEST_CXX");
    if (!cxx || !*cxx) cxx = "c++";
    if (!shim_have_cxx(cxx)) {
        tap_diag("SKIP the shim runs: no C++ compiler (%s)", cxx);
    } else if (build(src, cxx)) {
        moec_diag d;
        moec_diag_init(&d, stderr, 5);
        rt_pool *pool = rt_pool_new(1, &d);
        if (!pool) return 1;
        run_checks(pool);
        rt_pool_free(pool);
        moec_diag_free(&d);
        dlclose(lib);
    }
    free(src);
    return tap_done();
}
