/* runtime/cpu_step.c -- compile a step for the CPU, bind, run, read (runtime/cpu_step.h). */
#include "config.h"

#include "runtime/cpu_step.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LLVM
#include "codegen/cpu.h"
#endif

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool rt_cpu_step_available(void)
{
#ifdef HAVE_LLVM
    return true;
#else
    return false;
#endif
}

static moec_diag *sink_of(rt_cpu_step *s) { return &s->pipe.fe.diag; }

/* The whole pass table: through the memory plan. */
static int run_pipeline(rt_cpu_step *s, const rt_pipeline_options *opt)
{
    rt_pipeline_init(&s->pipe, opt);
    int n;
    const rt_pass *t = rt_passes(&n);
    rt_pipeline_request req = { .last = n - 1, .stage = -1, .out = stdout };
    if (rt_pipeline_run(&s->pipe, t, n, &req) == 0) return 0;
    rt_pipeline_report(opt->errors ? opt->errors : stderr, &s->pipe, t);
    return -1;
}

#ifdef HAVE_LLVM
static int generate(rt_cpu_step *s, const rt_cpu_step_options *co)
{
    cg_cpu_options o = { .threads = co->threads > 0 ? co->threads : 0, .no_cache = co->no_cache };
    cg_cpu_stats st;
    if (cg_cpu_compile(&s->pipe.kernels, &o, &s->code, &st, sink_of(s)) < 0) return -1;
    s->info.kernels = st.kernels;
    s->info.parts = st.parts;
    s->info.parts_cached = st.parts_cached;
    s->info.unique = st.unique;
    s->info.unique_compiled = st.unique_compiled;
    s->info.compile_threads = st.threads;
    s->info.compile_wall_s = st.wall_s;
    s->info.cache_hit = st.cache_hit;
    snprintf(s->info.cache_note, sizeof s->info.cache_note, "%s", st.cache_note);
    for (int i = 0; i < s->pipe.kernels.n_launches; i++) {
        cg_kernel_fn *fn = cg_cpu_kernel(s->code, i);
        int n;
        const int *ids = cg_cpu_arg_buffers(s->code, i, &n);
        if (fn && rt_exec_set_loop_args(s->exec, i, fn, ids, n) < 0) return -1;
    }
    return 0;
}
#endif

int rt_cpu_step_build(rt_cpu_step *s, const rt_pipeline_options *opt, const rt_cpu_step_options *co)
{
    memset(s, 0, sizeof *s);
    double t0 = seconds();
    if (run_pipeline(s, opt) < 0) return -1;
    double t1 = seconds();
    s->info.pipeline_s = t1 - t0;
    moec_diag *d = sink_of(s);
    d->prefix = "moec: ";
#ifdef HAVE_LLVM
    if (!(s->pool = rt_pool_new(co->threads, d))) return -1;
    if (!(s->exec = rt_exec_new(&s->pipe.kernels, s->pool, d))) return -1;
    double t2 = seconds();
    s->info.setup_s = t2 - t1;
    int rc = generate(s, co);
    s->info.codegen_s = seconds() - t2;
    return rc;
#else
    (void)co;
    return moec_error(d, "the CPU backend is not built (configure found no LLVM 14); use --backend interp");
#endif
}

void rt_cpu_step_free(rt_cpu_step *s)
{
    rt_exec_free(s->exec);
#ifdef HAVE_LLVM
    cg_cpu_free(s->code);
#endif
    rt_pool_free(s->pool);
    rt_pipeline_free(&s->pipe);
    memset(s, 0, sizeof *s);
}

int rt_cpu_step_find(const rt_cpu_step *s, const char *name)
{
    return s->exec ? rt_exec_find(s->exec, name) : -1;
}

int64_t rt_cpu_step_numel(const rt_cpu_step *s, int buf)
{
    return s->pipe.kernels.bufs[buf].numel;
}

int rt_cpu_step_set(rt_cpu_step *s, const char *name, const double *values, int64_t numel)
{
    int b = rt_cpu_step_find(s, name);
    if (b < 0) return 0;
    const ir_kbuf *kb = &s->pipe.kernels.bufs[b];
    if (kb->numel != numel)
        return moec_error(sink_of(s), "buffer %s holds %lld elements, %lld given", name, (long long)kb->numel,
                          (long long)numel);
    void *dst = rt_exec_data(s->exec, b);
    for (int64_t i = 0; i < numel; i++) {
        if (kb->dtype == IR_I32) ((int32_t *)dst)[i] = (int32_t)values[i];
        else ((float *)dst)[i] = (float)values[i];
    }
    return 0;
}

int rt_cpu_step_get(const rt_cpu_step *s, const char *name, double *out, int64_t numel)
{
    int b = rt_cpu_step_find(s, name);
    if (b < 0) return -1;
    const ir_kbuf *kb = &s->pipe.kernels.bufs[b];
    if (kb->numel != numel) return -1;
    const void *src = rt_exec_data(s->exec, b);
    for (int64_t i = 0; i < numel; i++)
        out[i] = kb->dtype == IR_I32 ? (double)((const int32_t *)src)[i] : (double)((const float *)src)[i];
    return 0;
}

int rt_cpu_step_set_params(rt_cpu_step *s, const rt_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        int b = rt_cpu_step_find(s, w->model->params[i].name);
        if (b >= 0 && rt_exec_write(s->exec, b, w->data[i], w->numel[i]) < 0) return -1;
    }
    return 0;
}

int rt_cpu_step_run(rt_cpu_step *s)
{
    return rt_exec_run(s->exec);
}
