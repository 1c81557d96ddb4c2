/* runtime/weights/weights.c -- a model's parameters: storage, init, save (weights.h).
 * One allocation holds every param (llm.c's malloc-and-point), each param
 * starting on a 64-byte boundary so kernels may assume aligned rows.
 * Initialisation draws from Philox keyed by (seed, step 0, param index,
 * element), so it is a pure function of the model and the seed.
 * Loading, with the name rules and upcycling of doc/weights.md, is in load.c. */
#include "runtime/weights/weights.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/philox.h"
#include "support/pages.h"
#include "runtime/weights/safetensors.h"

enum { ALIGN_FLOATS = 16 };   /* 64 bytes */

/* Elements of a param, or -1 when its shape is not a positive constant or overflows. */
static int64_t param_numel(const fe_param *p)
{
    int64_t n = 1;
    for (int k = 0; k < p->shape.rank; k++) {
        if (p->shape.dim[k] < 1 || __builtin_mul_overflow(n, p->shape.dim[k], &n)) return -1;
    }
    return n;
}

int rt_weights_alloc(rt_weights *w, const fe_model *m, moec_diag *diag)
{
    memset(w, 0, sizeof *w);
    w->model = m;
    w->n = m->n_params;
    w->data = calloc((size_t)w->n + 1, sizeof *w->data);
    w->numel = calloc((size_t)w->n + 1, sizeof *w->numel);
    if (!w->data || !w->numel) {
        rt_weights_free(w);
        return moec_error(diag, "out of memory for %d parameter tensors", m->n_params);
    }
    int64_t padded = 0;
    for (int i = 0; i < w->n; i++) {
        int64_t n = param_numel(&m->params[i]);
        if (n < 0 || padded > INT64_MAX / 8 - n - ALIGN_FLOATS) {
            rt_weights_free(w);
            return moec_error(diag, "parameter '%s': shape too large or not constant", m->params[i].name);
        }
        w->numel[i] = n;
        w->total += n;
        padded += (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }
    w->stored = padded;
    size_t bytes = (size_t)(padded ? padded : ALIGN_FLOATS) * sizeof(float);
    w->memory = moec_pages_alloc(bytes, ALIGN_FLOATS * sizeof(float));   /* zeroed */
    if (!w->memory) {
        int64_t total = w->total;
        rt_weights_free(w);
        return moec_error(diag, "out of memory for %lld parameters (%zu bytes)", (long long)total, bytes);
    }
    int64_t at = 0;
    for (int i = 0; i < w->n; i++) {
        w->data[i] = w->memory + at;
        at += (w->numel[i] + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }
    return 0;
}

void rt_weights_copy(rt_weights *dst, const rt_weights *src)
{
    memcpy(dst->memory, src->memory, sizeof(float) * (size_t)src->stored);
}

void rt_weights_free(rt_weights *w)
{
    moec_pages_free(w->memory, (size_t)(w->stored ? w->stored : ALIGN_FLOATS) * sizeof(float));
    free(w->data);
    free(w->numel);
    memset(w, 0, sizeof *w);
}

int rt_weights_find(const rt_weights *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->model->params[i].name, name)) return i;
    return -1;
}

/* Normal draws for the elements [lo, hi) of the parameters' concatenation
 * (zeros and ones are left to the caller): one thread's share of the init. */
typedef struct init_share {
    rt_weights *w;
    uint64_t seed;
    int64_t lo, hi;
} init_share;

static void *init_normals(void *arg)
{
    init_share *sh = arg;
    rt_weights *w = sh->w;
    int64_t start = 0;
    for (int i = 0; i < w->n && start < sh->hi; start += w->numel[i], i++) {
        const fe_param *p = &w->model->params[i];
        int64_t lo = sh->lo > start ? sh->lo - start : 0, hi = sh->hi - start < w->numel[i] ? sh->hi - start : w->numel[i];
        if (p->init != FE_INIT_NORMAL) continue;
        float *x = w->data[i];
        for (int64_t e = lo; e < hi; e++)
            x[e] = (float)(p->init_std * ir_philox_normal(sh->seed, 0, (uint32_t)i, (uint64_t)e));
    }
    return NULL;
}

/* Threads for the init: every core, up to 16, for a model of a million
 * parameters or more (each draw depends only on its place, so the split
 * cannot change a bit). */
static int init_threads(const rt_weights *w)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (w->total < (1 << 20) || cores < 2) return 1;
    return cores > 16 ? 16 : (int)cores;
}

void rt_weights_init(rt_weights *w, uint64_t seed)
{
    for (int i = 0; i < w->n; i++) {
        const fe_param *p = &w->model->params[i];
        float *x = w->data[i];
        int64_t n = w->numel[i];
        if (p->init == FE_INIT_ZEROS) memset(x, 0, (size_t)n * sizeof *x);
        if (p->init == FE_INIT_ONES)
            for (int64_t e = 0; e < n; e++) x[e] = 1.0f;
    }
    init_share sh[16];
    pthread_t tid[16];
    int t = init_threads(w), started = 1;
    for (int k = 0; k < t; k++) sh[k] = (init_share){ w, seed, w->total * k / t, w->total * (k + 1) / t };
    for (int k = 1; k < t; k++, started++)
        if (pthread_create(&tid[k], NULL, init_normals, &sh[k]) != 0) break;
    for (int k = started; k < t; k++) init_normals(&sh[k]);   /* shares no thread took */
    init_normals(&sh[0]);
    for (int k = 1; k < started; k++) pthread_join(tid[k], NULL);
}

int rt_weights_save(const rt_weights *w, const char *path, const rt_meta *meta, int n_meta, moec_diag *diag)
{
    rt_st_out *t = calloc((size_t)w->n + 1, sizeof *t);
    const char **kv = calloc(2 * (size_t)n_meta + 2, sizeof *kv);
    if (!t || !kv) {
        free(t);
        free(kv);
        return moec_error(diag, "%s: out of memory", path);
    }
    kv[0] = "format";
    kv[1] = "pt";
    for (int i = 0; i < n_meta; i++) {
        kv[2 + 2 * i] = meta[i].key;
        kv[3 + 2 * i] = meta[i].value;
    }
    for (int i = 0; i < w->n; i++) {
        const fe_param *p = &w->model->params[i];
        t[i] = (rt_st_out){p->name, p->shape.rank, p->shape.dim, w->data[i]};
    }
    int status = rt_st_write(path, t, w->n, kv, n_meta + 1, diag);
    free(t);
    free(kv);
    return status;
}
