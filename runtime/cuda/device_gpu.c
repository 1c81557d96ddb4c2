/* runtime/cuda/device_gpu.c -- the real device of runtime/cuda/device.h:
 * memory, copies and launches through the driver API (runtime/cuda/driver.h),
 * the code through NVRTC's disk cache (codegen/nvrtc.h) and one module per
 * translation unit, products through cuBLAS on the driver's stream. cuBLAS
 * is opened with dlopen ($MOEC_CUBLAS_LIBRARY, else the names below) and
 * never linked, and its header is not included: the five entry points and
 * two constants used are declared here from cublas_api.h (CUDA 12/13), so
 * this file builds, and moec runs, without the toolkit. cuBLAS shares the
 * device's primary context, which the driver has made current.
 * Written against the documented signatures; not run on a GPU yet
 * (doc/kernels.md, "The CUDA executor"). */
#include "config.h"

#include "runtime/cuda/device.h"

#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda/driver.h"
#ifdef HAVE_CUDA
#include "codegen/nvrtc.h"
#endif

typedef int cublas_status;     /* cublasStatus_t: CUBLAS_STATUS_SUCCESS = 0 */
typedef void *cublas_handle;   /* cublasHandle_t */
enum { CUBLAS_OK = 0 };        /* cublasOperation_t is rt_dev_op: CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 */

typedef struct cublas_api {
    cublas_status (*Create)(cublas_handle *);
    cublas_status (*Destroy)(cublas_handle);
    cublas_status (*SetStream)(cublas_handle, void *);
    cublas_status (*Sgemm)(cublas_handle, int, int, int, int, int, const float *, const float *, int, const float *, int,
                           const float *, float *, int);
    cublas_status (*SgemmStridedBatched)(cublas_handle, int, int, int, int, int, const float *, const float *, int,
                                         long long, const float *, int, long long, const float *, float *, int,
                                         long long, int);
} cublas_api;

static const char *const CUBLAS_NAMES[] = { "libcublas.so.13", "libcublas.so.12", "libcublas.so" };

typedef struct gpu_module {
    rt_cuda_module *mod;
    const char *const *symbols;   /* the unit's, copied below */
    int n_symbols;
} gpu_module;

typedef struct gpu {
    rt_device dev;
    rt_cuda *cuda;
    void *lib;
    cublas_api blas;
    cublas_handle handle;
    char *cache_dir;
    gpu_module *mods;
    int n_mods;
    char **names;                 /* every symbol of every module (owned) */
    int n_names;
} gpu;

static void unload(gpu *g)
{
    for (int i = 0; i < g->n_mods; i++) rt_cuda_module_unload(g->cuda, g->mods[i].mod);
    free(g->mods);
    for (int i = 0; i < g->n_names; i++) free(g->names[i]);
    free(g->names);
    g->mods = NULL, g->names = NULL;
    g->n_mods = g->n_names = 0;
}

static void gpu_close(void *ctx)
{
    gpu *g = ctx;
    unload(g);
    if (g->handle) g->blas.Destroy(g->handle);
    if (g->lib) dlclose(g->lib);
    rt_cuda_close(g->cuda);
    free(g->cache_dir);
    free(g);
}

static int gpu_alloc(void *ctx, size_t bytes, rt_dev_ptr *p, moec_diag *d) { return rt_cuda_alloc(((gpu *)ctx)->cuda, bytes, p, d); }
static void gpu_free(void *ctx, rt_dev_ptr p) { rt_cuda_free(((gpu *)ctx)->cuda, p); }
static int gpu_zero(void *ctx, rt_dev_ptr p, size_t bytes, moec_diag *d) { return rt_cuda_zero(((gpu *)ctx)->cuda, p, bytes, d); }
static int gpu_sync(void *ctx, moec_diag *d) { return rt_cuda_sync(((gpu *)ctx)->cuda, d); }

static int gpu_upload(void *ctx, rt_dev_ptr dst, const void *src, size_t bytes, moec_diag *d)
{
    return rt_cuda_upload(((gpu *)ctx)->cuda, dst, src, bytes, d);
}

static int gpu_download(void *ctx, void *dst, rt_dev_ptr src, size_t bytes, moec_diag *d)
{
    return rt_cuda_download(((gpu *)ctx)->cuda, dst, src, bytes, d);
}

static int gpu_copy(void *ctx, rt_dev_ptr dst, rt_dev_ptr src, size_t bytes, moec_diag *d)
{
    return rt_cuda_copy(((gpu *)ctx)->cuda, dst, src, bytes, d);
}

/* Each unit to PTX (the disk cache first) and a module; its symbols kept. */
static int gpu_load(void *ctx, const rt_dev_unit *units, int n_units, moec_diag *d)
{
    gpu *g = ctx;
    unload(g);
#ifdef HAVE_CUDA
    int symbols = 0;
    for (int u = 0; u < n_units; u++) symbols += units[u].n_symbols;
    g->mods = calloc((size_t)n_units + 1, sizeof *g->mods);
    g->names = calloc((size_t)symbols + 1, sizeof *g->names);
    if (!g->mods || !g->names) return moec_error(d, "out of memory loading the CUDA code");
    for (int u = 0; u < n_units; u++) {
        char *ptx = NULL;
        cg_nvrtc_from from;
        if (cg_nvrtc_compile_cached(units[u].source, units[u].name, rt_cuda_arch(g->cuda), g->cache_dir, &ptx, &from, d) < 0)
            return -1;
        gpu_module *m = &g->mods[g->n_mods];
        int rc = rt_cuda_module_load(g->cuda, ptx, units[u].name, &m->mod, d);
        free(ptx);
        if (rc < 0) return -1;
        g->n_mods++;
        m->symbols = (const char *const *)g->names + g->n_names;
        for (int s = 0; s < units[u].n_symbols; s++) {
            if (!(g->names[g->n_names] = strdup(units[u].symbols[s]))) return moec_error(d, "out of memory");
            g->n_names++;
        }
        m->n_symbols = units[u].n_symbols;
    }
    return 0;
#else
    (void)units, (void)n_units;
    return moec_error(d, "this moec is built without the CUDA toolkit (configure found no NVRTC): no kernels for the GPU");
#endif
}

static int gpu_launch(void *ctx, const char *symbol, int64_t grid, int64_t block, void **args, moec_diag *d)
{
    gpu *g = ctx;
    for (int i = 0; i < g->n_mods; i++)
        for (int s = 0; s < g->mods[i].n_symbols; s++)
            if (!strcmp(g->mods[i].symbols[s], symbol))
                return rt_cuda_launch(g->cuda, g->mods[i].mod, symbol, (uint64_t)grid, (uint64_t)block, args, d);
    return moec_error(d, "CUDA: no loaded module has kernel %s", symbol);
}

static int gpu_sgemm(void *ctx, const rt_dev_sgemm *s, moec_diag *d)
{
    gpu *g = ctx;
    int64_t most = s->m > s->n ? s->m : s->n;
    if (s->k > most) most = s->k;
    if (s->batch > most) most = s->batch;
    if (most > INT_MAX || s->lda > INT_MAX || s->ldb > INT_MAX || s->ldc > INT_MAX)
        return moec_error(d, "cuBLAS: an sgemm of %lld x %lld x %lld is past its int sizes", (long long)s->m,
                          (long long)s->n, (long long)s->k);
    const float *a = (const float *)(uintptr_t)s->a, *b = (const float *)(uintptr_t)s->b;
    float *c = (float *)(uintptr_t)s->c;
    cublas_status r = s->batch == 1
        ? g->blas.Sgemm(g->handle, s->ta, s->tb, (int)s->m, (int)s->n, (int)s->k, &s->alpha, a, (int)s->lda, b,
                        (int)s->ldb, &s->beta, c, (int)s->ldc)
        : g->blas.SgemmStridedBatched(g->handle, s->ta, s->tb, (int)s->m, (int)s->n, (int)s->k, &s->alpha, a,
                                      (int)s->lda, s->stride_a, b, (int)s->ldb, s->stride_b, &s->beta, c, (int)s->ldc,
                                      s->stride_c, (int)s->batch);
    if (r != CUBLAS_OK)
        return moec_error(d, "cuBLAS: sgemm (%c%c, %lld x %lld x %lld, %lld matrices) failed with status %d",
                          s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', (long long)s->m, (long long)s->n, (long long)s->k,
                          (long long)s->batch, r);
    return 0;
}

/* cuBLAS: the library, its entry points, a handle on the driver's stream. */
static int open_cublas(gpu *g, moec_diag *d)
{
    const char *env = getenv("MOEC_CUBLAS_LIBRARY");
    const char *tried = env && *env ? env : "libcublas.so.13, libcublas.so.12 or libcublas.so";
    if (env && *env) g->lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    for (size_t i = 0; !(env && *env) && !g->lib && i < sizeof CUBLAS_NAMES / sizeof *CUBLAS_NAMES; i++)
        g->lib = dlopen(CUBLAS_NAMES[i], RTLD_NOW | RTLD_LOCAL);
    if (!g->lib) return moec_error(d, "no cuBLAS (%s cannot be loaded; MOEC_CUBLAS_LIBRARY=FILE names another)", tried);
    static const struct {
        const char *sym;
        size_t at;
    } entries[] = {
        { "cublasCreate_v2", offsetof(cublas_api, Create) },
        { "cublasDestroy_v2", offsetof(cublas_api, Destroy) },
        { "cublasSetStream_v2", offsetof(cublas_api, SetStream) },
        { "cublasSgemm_v2", offsetof(cublas_api, Sgemm) },
        { "cublasSgemmStridedBatched", offsetof(cublas_api, SgemmStridedBatched) },
    };
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        void *f = dlsym(g->lib, entries[i].sym);
        if (!f) return moec_error(d, "cuBLAS (%s) lacks %s", tried, entries[i].sym);
        memcpy((char *)&g->blas + entries[i].at, &f, sizeof f);
    }
    cublas_status r = g->blas.Create(&g->handle);
    if (r != CUBLAS_OK) {
        g->handle = NULL;
        return moec_error(d, "cuBLAS: cublasCreate failed with status %d", r);
    }
    if ((r = g->blas.SetStream(g->handle, rt_cuda_stream(g->cuda))) != CUBLAS_OK)
        return moec_error(d, "cuBLAS: cublasSetStream failed with status %d", r);
    return 0;
}

rt_device *rt_cuda_device_open(int ordinal, const char *cache_dir, moec_diag *d)
{
    gpu *g = calloc(1, sizeof *g);
    if (!g) return moec_error(d, "out of memory opening the GPU"), NULL;
    g->dev = (rt_device){ .ctx = g, .alloc = gpu_alloc, .free = gpu_free, .zero = gpu_zero, .upload = gpu_upload,
                          .download = gpu_download, .copy = gpu_copy, .load = gpu_load, .launch = gpu_launch,
                          .sgemm = gpu_sgemm, .sync = gpu_sync, .close = gpu_close };
    if (cache_dir && !(g->cache_dir = strdup(cache_dir))) {
        free(g);
        return moec_error(d, "out of memory opening the GPU"), NULL;
    }
    if (rt_cuda_open(&g->cuda, ordinal, d) < 0 || open_cublas(g, d) < 0) {
        gpu_close(g);
        return NULL;
    }
    g->dev.name = rt_cuda_name(g->cuda);
    return &g->dev;
}
