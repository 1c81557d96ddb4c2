/* tests/codegen/harness.h -- running kernel programs in tests: a program
 * with a fill rule per buffer (random, never zero), host buffers filled
 * from a seed, every loop launch run by the reference evaluator
 * (ir/kinterp.h) or by the CPU backend (codegen/cpu.h), and buffers
 * compared with the first mismatches, their count and the largest
 * difference in the log. Included by one test file each. */
#ifndef MOEC_TESTS_CODEGEN_HARNESS_H
#define MOEC_TESTS_CODEGEN_HARNESS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/kinterp.h"
#include "ir/philox.h"
#include "tests/tap.h"

enum { KT_MAX_BUFS = 4096, KT_MAX_ARGS = 64 };   /* buffers in a test program; of one test kernel */

/* How a buffer is filled: f32 values with |x| in [lo, hi) (a random sign
 * when `sign`), i32 integers in [lo, hi) (negated at random when `sign`). */
typedef struct kt_fill {
    double lo, hi;
    bool sign;
} kt_fill;

typedef struct kt_prog {
    ir_kprogram p;
    kt_fill fill[KT_MAX_BUFS];
} kt_prog;

static inline void kt_init(kt_prog *t, const char *source)
{
    ir_kprogram_init(&t->p, source);
}

static inline int kt_buf(kt_prog *t, const char *name, ir_dtype dtype, int64_t numel, double lo, double hi, bool sign)
{
    int b = ir_kbuf_add(&t->p, name, dtype, numel, IR_BUF_ACTIVATION, -1);
    if (b >= 0 && b < KT_MAX_BUFS) t->fill[b] = (kt_fill){ lo, hi, sign };
    return b;
}

/* Host buffers of every buffer of t, filled by its rule from `seed`. */
static inline void **kt_alloc(const kt_prog *t, uint64_t seed)
{
    void **bufs = calloc((size_t)t->p.n_bufs + 1, sizeof *bufs);
    for (int b = 0; bufs && b < t->p.n_bufs; b++) {
        const kt_fill *f = &t->fill[b];
        int64_t n = t->p.bufs[b].numel;
        bufs[b] = malloc((size_t)n * 4);
        if (!bufs[b]) return NULL;
        for (int64_t i = 0; i < n; i++) {
            double u = ir_philox_uniform(seed, (uint64_t)b, 17, (uint64_t)i);
            bool neg = f->sign && ir_philox_uniform(seed, (uint64_t)b, 18, (uint64_t)i) < 0.5;
            double v = f->lo + (f->hi - f->lo) * u;
            if (t->p.bufs[b].dtype == IR_I32) ((int32_t *)bufs[b])[i] = (int32_t)floor(v) * (neg ? -1 : 1);
            else ((float *)bufs[b])[i] = (float)(neg ? -v : v);
        }
    }
    return bufs;
}

static inline void kt_free_bufs(const kt_prog *t, void **bufs)
{
    for (int b = 0; bufs && b < t->p.n_bufs; b++) free(bufs[b]);
    free(bufs);
}

/* Every loop launch of t by the reference evaluator, reductions in the
 * order of `lanes` (KT_CPU_ORDER: the CPU backend's order of each launch);
 * 0 or -1 (the error in err). */
enum { KT_CPU_ORDER = 0 };
static inline int kt_run_ref(const kt_prog *t, void **bufs, int lanes, char *err, size_t err_size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    moec_diag d;
    moec_diag_init(&d, f, 5);
    int rc = 0;
    for (int i = 0; i < t->p.n_launches && rc == 0; i++) {
        const ir_launch *l = &t->p.launches[i];
        int order = lanes == KT_CPU_ORDER ? cg_cpu_reduce_lanes(&t->p, i) : lanes;
        if (l->kind == IR_LAUNCH_LOOP) rc = ir_kloop_run_ref(&t->p, l, bufs, 0, ir_kloop_points(&l->loop), order, &d);
    }
    fclose(f);
    snprintf(err, err_size, "%s", text ? text : "");
    err[strcspn(err, "\n")] = '\0';
    free(text);
    return rc;
}

/* Every loop launch by compiled code, each over its points in `chunks`
 * pieces (as a thread pool would split them); returns the fault count. */
static inline int64_t kt_run_cpu(const kt_prog *t, const cg_cpu_program *c, void **bufs, int chunks)
{
    int64_t faults = 0;
    for (int i = 0; i < t->p.n_launches; i++) {
        const ir_launch *l = &t->p.launches[i];
        if (l->kind != IR_LAUNCH_LOOP) continue;
        cg_kernel_fn *fn = cg_cpu_kernel(c, i);
        void *args[KT_MAX_ARGS];
        cg_cpu_args(c, i, bufs, args);
        int64_t n = ir_kloop_points(&l->loop);
        for (int k = 0; k < chunks; k++) faults += fn(args, n * k / chunks, n * (k + 1) / chunks);
    }
    return faults;
}

/* Compiles t without the disk cache; NULL after logging the errors. */
static inline cg_cpu_program *kt_compile(const kt_prog *t, cg_cpu_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    moec_diag d;
    moec_diag_init(&d, f, 5);
    cg_cpu_program *c = NULL;
    cg_cpu_options o = { .no_cache = true };
    int rc = cg_cpu_compile(&t->p, &o, &c, st, &d);
    fclose(f);
    if (rc < 0) tap_diag("compile failed: %s", text ? text : "");
    free(text);
    return rc < 0 ? NULL : c;
}

/* |got - want| <= atol + rtol |want| for every element of buffer b, NaN
 * equal to NaN; logs the first mismatches, their count, the largest diff. */
static inline bool kt_close_buf(const kt_prog *t, int b, void *got, void *want, double rtol, double atol)
{
    int64_t n = t->p.bufs[b].numel, bad = 0;
    double maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        double g, w;
        if (t->p.bufs[b].dtype == IR_I32) g = ((int32_t *)got)[i], w = ((int32_t *)want)[i];
        else g = ((float *)got)[i], w = ((float *)want)[i];
        if (isnan(g) && isnan(w)) continue;
        double d = fabs(g - w);
        if (g == w) d = 0;   /* inf == inf */
        if (!(d <= atol + rtol * fabs(w))) {
            if (bad < 4) tap_diag("  %s[%lld]: got %.9g want %.9g (diff %.3g)", t->p.bufs[b].name, (long long)i, g, w, d);
            bad++;
        }
        if (d > maxd || isnan(d)) maxd = d;
    }
    if (bad) tap_diag("  %s: %lld of %lld differ, max diff %.3g (rtol %.1e, atol %.1e)", t->p.bufs[b].name,
                      (long long)bad, (long long)n, maxd, rtol, atol);
    return bad == 0;
}

static inline bool kt_close(const kt_prog *t, void **got, void **want, double rtol, double atol)
{
    bool ok = true;
    for (int b = 0; b < t->p.n_bufs; b++) ok &= kt_close_buf(t, b, got[b], want[b], rtol, atol);
    return ok;
}

/* The seed of a test run: MOEC_TEST_SEED, or `fallback`; logged either way. */
static inline uint64_t kt_seed(uint64_t fallback)
{
    const char *s = getenv("MOEC_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 0) : fallback;
    tap_diag("seed %llu (set MOEC_TEST_SEED to change)", (unsigned long long)seed);
    return seed;
}

#endif
