/* tests/cuda/emu_device.c -- the emulated device (tests/cuda/emu_device.h). */
#include "tests/cuda/emu_device.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/shim_lib.h"

typedef struct emu_alloc {
    char *base;
    size_t bytes;
} emu_alloc;

typedef struct emu_kernel {
    char *symbol;
    void (*fn)(void **);
} emu_kernel;

typedef struct emu {
    rt_device dev;
    emu_options o;
    emu_alloc *allocs;
    int n_allocs, cap_allocs;
    void *lib;
    shim_launch_fn *launcher;
    emu_kernel *kernels;
    int n_kernels;
    emu_counts counts;
} emu;

/* Whether [p, p + bytes) lies inside one allocation. */
static bool inside(const emu *e, rt_dev_ptr p, size_t bytes)
{
    const char *a = (const char *)(uintptr_t)p;
    for (int i = 0; i < e->n_allocs; i++)
        if (a >= e->allocs[i].base && a + bytes <= e->allocs[i].base + e->allocs[i].bytes) return true;
    return false;
}

static int outside(moec_diag *d, const char *what, rt_dev_ptr p, size_t bytes)
{
    return moec_error(d, "emulator: %s of %zu bytes at %#llx is outside every allocation", what, bytes,
                      (unsigned long long)p);
}

static int emu_alloc_fn(void *ctx, size_t bytes, rt_dev_ptr *p, moec_diag *d)
{
    emu *e = ctx;
    if (e->n_allocs == e->cap_allocs) {
        int cap = e->cap_allocs ? 2 * e->cap_allocs : 64;
        emu_alloc *bigger = realloc(e->allocs, sizeof *bigger * (size_t)cap);
        if (!bigger) return moec_error(d, "emulator: out of memory");
        e->allocs = bigger;
        e->cap_allocs = cap;
    }
    size_t size = (bytes + 255) / 256 * 256;
    char *m = aligned_alloc(256, size ? size : 256);
    if (!m) return moec_error(d, "emulator: out of memory for %zu bytes", bytes);
    memset(m, 0xFF, size ? size : 256);   /* what fresh device memory holds: anything (here NaN) */
    e->allocs[e->n_allocs++] = (emu_alloc){ m, bytes };
    *p = (rt_dev_ptr)(uintptr_t)m;
    return 0;
}

static void emu_free_fn(void *ctx, rt_dev_ptr p)
{
    emu *e = ctx;
    for (int i = 0; i < e->n_allocs; i++)
        if (e->allocs[i].base == (char *)(uintptr_t)p) {
            free(e->allocs[i].base);
            e->allocs[i] = e->allocs[--e->n_allocs];
            return;
        }
}

static int emu_zero(void *ctx, rt_dev_ptr p, size_t bytes, moec_diag *d)
{
    if (!inside(ctx, p, bytes)) return outside(d, "zeroing", p, bytes);
    memset((void *)(uintptr_t)p, 0, bytes);
    return 0;
}

static int emu_upload(void *ctx, rt_dev_ptr dst, const void *src, size_t bytes, moec_diag *d)
{
    if (!inside(ctx, dst, bytes)) return outside(d, "an upload", dst, bytes);
    memcpy((void *)(uintptr_t)dst, src, bytes);
    return 0;
}

static int emu_download(void *ctx, void *dst, rt_dev_ptr src, size_t bytes, moec_diag *d)
{
    if (!inside(ctx, src, bytes)) return outside(d, "a download", src, bytes);
    memcpy(dst, (const void *)(uintptr_t)src, bytes);
    return 0;
}

static int emu_copy(void *ctx, rt_dev_ptr dst, rt_dev_ptr src, size_t bytes, moec_diag *d)
{
    if (!inside(ctx, dst, bytes) || !inside(ctx, src, bytes)) return outside(d, "a copy", dst, bytes);
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
    return 0;
}

static void unload(emu *e)
{
    for (int i = 0; i < e->n_kernels; i++) free(e->kernels[i].symbol);
    free(e->kernels);
    e->kernels = NULL;
    e->n_kernels = 0;
    if (e->lib) dlclose(e->lib);
    e->lib = NULL;
}

/* Every unit in one translation unit (their helper blocks are guarded, so
 * they concatenate), a wrapper per symbol, compiled and loaded. */
static int emu_load(void *ctx, const rt_dev_unit *units, int n_units, moec_diag *d)
{
    emu *e = ctx;
    unload(e);
    int symbols = 0;
    for (int u = 0; u < n_units; u++) symbols += units[u].n_symbols;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    e->kernels = calloc((size_t)symbols + 1, sizeof *e->kernels);
    if (!f || !e->kernels) {
        if (f) fclose(f);
        free(text);
        return moec_error(d, "emulator: out of memory");
    }
    for (int u = 0; u < n_units; u++) fputs(units[u].source, f);
    bool ok = true;
    for (int u = 0; u < n_units; u++)
        for (int s = 0; s < units[u].n_symbols; s++) {
            char wrapper[64];
            snprintf(wrapper, sizeof wrapper, "moec_emu_%d", e->n_kernels);
            ok &= shim_write_wrapper(f, units[u].source, units[u].symbols[s], wrapper);
            if (!(e->kernels[e->n_kernels++].symbol = strdup(units[u].symbols[s]))) ok = false;
        }
    if (fclose(f) != 0 || !ok) {
        free(text);
        return moec_error(d, "emulator: a kernel's signature not found, or out of memory");
    }
    char err[2600];
    e->lib = shim_build(e->o.cxx, e->o.shim_h, text, "-O0", err, sizeof err)   /* tiny kernels: compiling is the cost */;
    free(text);
    if (!e->lib) return moec_error(d, "emulator: %s", err);
    *(void **)&e->launcher = dlsym(e->lib, "moec_shim_launch");
    for (int i = 0; i < e->n_kernels; i++) {
        char wrapper[64];
        snprintf(wrapper, sizeof wrapper, "moec_emu_%d", i);
        *(void **)&e->kernels[i].fn = dlsym(e->lib, wrapper);
        if (!e->kernels[i].fn) return moec_error(d, "emulator: %s not in the library", wrapper);
    }
    return e->launcher ? 0 : moec_error(d, "emulator: the shim's launcher is not in the library");
}

static int emu_launch(void *ctx, const char *symbol, int64_t grid, int64_t block, void **args, moec_diag *d)
{
    emu *e = ctx;
    for (int i = 0; i < e->n_kernels; i++) {
        if (strcmp(e->kernels[i].symbol, symbol)) continue;
        if (grid < 1 || block < 1 || block > 1024)
            return moec_error(d, "emulator: kernel %s: %lld blocks of %lld threads", symbol, (long long)grid, (long long)block);
        e->counts.launches++;
        unsigned g = (unsigned)(grid > e->o.grid_cap ? e->o.grid_cap : grid);
        return e->launcher(e->kernels[i].fn, args, g, (unsigned)block) == 0
                   ? 0 : moec_error(d, "emulator: kernel %s does not launch", symbol);
    }
    return moec_error(d, "emulator: no kernel %s loaded", symbol);
}

/* The bytes a column-major operand of `rows` x `cols` as stored (before op),
 * leading dimension ld, `batch` of them `stride` apart, reaches; -1 for an
 * ld below rows (which cuBLAS refuses). */
static int64_t reach(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride)
{
    if (ld < (rows > 1 ? rows : 1)) return -1;
    return 4 * ((batch - 1) * stride + (cols - 1) * ld + rows);
}

/* The bytes operands A, B and C of s reach with op(A) = ta (-1: bad sizes). */
static void extents(const rt_dev_sgemm *s, rt_dev_op ta, int64_t *ea, int64_t *eb, int64_t *ec)
{
    int64_t ra = ta == RT_DEV_OP_N ? s->m : s->k, ca = ta == RT_DEV_OP_N ? s->k : s->m;
    int64_t rb = s->tb == RT_DEV_OP_N ? s->k : s->n, cb = s->tb == RT_DEV_OP_N ? s->n : s->k;
    *ea = reach(ra, ca, s->lda, s->batch, s->stride_a);
    *eb = reach(rb, cb, s->ldb, s->batch, s->stride_b);
    *ec = reach(s->m, s->n, s->ldc, s->batch, s->stride_c);
}

static int emu_sgemm(void *ctx, const rt_dev_sgemm *s, moec_diag *d)
{
    emu *e = ctx;
    rt_dev_op ta = s->ta;
    int64_t ea, eb, ec;
    extents(s, (rt_dev_op)!ta, &ea, &eb, &ec);
    if (e->o.wrong_transpose && s->m == s->k && ea >= 0 && inside(e, s->a, (size_t)ea)) {
        ta = (rt_dev_op)!ta;   /* the sabotage, where it stays inside A's buffer (a square op(A)) */
        e->counts.flipped++;
    }
    extents(s, ta, &ea, &eb, &ec);
    if (s->m < 1 || s->n < 1 || s->k < 1 || s->batch < 1 || ea < 0 || eb < 0 || ec < 0)
        return moec_error(d, "emulator: sgemm %c%c m %lld n %lld k %lld lda %lld ldb %lld ldc %lld: bad sizes",
                          ta ? 'T' : 'N', s->tb ? 'T' : 'N', (long long)s->m, (long long)s->n, (long long)s->k,
                          (long long)s->lda, (long long)s->ldb, (long long)s->ldc);
    if (!inside(e, s->a, (size_t)ea)) return outside(d, "sgemm's A", s->a, (size_t)ea);
    if (!inside(e, s->b, (size_t)eb)) return outside(d, "sgemm's B", s->b, (size_t)eb);
    if (!inside(e, s->c, (size_t)ec)) return outside(d, "sgemm's C", s->c, (size_t)ec);
    e->counts.sgemms++;
    for (int64_t i = 0; i < s->batch; i++) {
        const float *a = (const float *)(uintptr_t)s->a + i * s->stride_a, *b = (const float *)(uintptr_t)s->b + i * s->stride_b;
        float *c = (float *)(uintptr_t)s->c + i * s->stride_c;
        cblas_sgemm(CblasColMajor, ta == RT_DEV_OP_N ? CblasNoTrans : CblasTrans,
                    s->tb == RT_DEV_OP_N ? CblasNoTrans : CblasTrans, (blasint)s->m, (blasint)s->n, (blasint)s->k,
                    s->alpha, a, (blasint)s->lda, b, (blasint)s->ldb, s->beta, c, (blasint)s->ldc);
        e->counts.matrices++;
    }
    return 0;
}

static int emu_sync(void *ctx, moec_diag *d)
{
    (void)ctx, (void)d;
    return 0;
}

static void emu_close(void *ctx)
{
    emu *e = ctx;
    unload(e);
    for (int i = 0; i < e->n_allocs; i++) free(e->allocs[i].base);
    free(e->allocs);
    free(e);
}

rt_device *emu_device_new(const emu_options *o, moec_diag *d)
{
    emu *e = calloc(1, sizeof *e);
    if (!e) return moec_error(d, "emulator: out of memory"), NULL;
    e->o = *o;
    if (e->o.grid_cap < 1) e->o.grid_cap = 1;
    e->dev = (rt_device){ .ctx = e, .name = "the emulated device", .alloc = emu_alloc_fn, .free = emu_free_fn,
                          .zero = emu_zero, .upload = emu_upload, .download = emu_download, .copy = emu_copy,
                          .load = emu_load, .launch = emu_launch, .sgemm = emu_sgemm, .sync = emu_sync,
                          .close = emu_close };
    return &e->dev;
}

emu_counts emu_device_counts(const rt_device *dev) { return ((const emu *)dev->ctx)->counts; }
