/* runtime/cpu/exec.c -- the CPU executor (runtime/cpu/exec.h): places every
 * buffer of a kernel program (persistent ones and unplanned activations on
 * their own, planned ones at their arena offset, views inside their
 * parent), copies host data in and out, and runs the launches in order,
 * timing each: loop kernels split by points over the pool, products in
 * gemm.c, templates in templates.c. doc/kernels.md, "Running a program on the CPU". */
#include "runtime/cpu/exec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/cpu/launch.h"
#include "support/pages.h"

enum {
    RT_ALIGN = 64,                 /* every allocation and planned arena offset (a cache line) */
    RT_LOOP_GRAIN = 1 << 14,       /* instruction steps per chunk below which a loop kernel wakes no thread */
};

struct rt_exec {
    const ir_kprogram *p;
    rt_pool *pool;
    moec_diag *d;
    void **bufs;              /* base address per buffer id */
    void **own;               /* per buffer: its own allocation, or NULL (view, in the arena, bound) */
    char *arena;              /* activations and scratch placed by the memory plan */
    int64_t arena_bytes;
    rt_loop_fn **loops;       /* per launch: the loop kernel's function, or NULL */
    int **args;               /* per launch: the buffer ids its function takes as arguments, or NULL (all, by id) */
    int *n_args;
    void **argv;              /* the argument array of the loop launch running now (launches run one
                                 at a time), room for the longest list: filled per run, never allocated */
    int cap_argv;
    rt_launch_time *times;    /* per launch */
    rt_gemm_split split;
};

int rt_launch_error(const rt_env *env, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    moec_error(env->d, "launch k%d (%s): %s", env->launch, env->p->launches[env->launch].name, msg);
    return -1;
}

static bool in_arena(const ir_kbuf *b)
{
    return b->parent < 0 && b->arena_offset >= 0 && (b->role == IR_BUF_ACTIVATION || b->role == IR_BUF_SCRATCH);
}

static bool persistent(const ir_kbuf *b) { return b->role != IR_BUF_ACTIVATION && b->role != IR_BUF_SCRATCH; }

static int64_t elem_bytes(const ir_kbuf *b) { return ir_kbuf_bytes(b) / b->numel; }

/* What a buffer of `bytes` takes: a whole number of RT_ALIGN blocks, at least one. */
static size_t alloc_size(int64_t bytes)
{
    size_t size = (size_t)(bytes + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN;
    return size ? size : RT_ALIGN;
}

/* Zeroed memory of at least `bytes`, RT_ALIGN-aligned (large ones mapped with
 * huge pages, support/pages.h); NULL when out of memory. Freed by zfree(p, bytes). */
static void *zalloc(int64_t bytes)
{
    return moec_pages_alloc(alloc_size(bytes), RT_ALIGN);
}

static void zfree(void *p, int64_t bytes)
{
    moec_pages_free(p, alloc_size(bytes));
}

/* The arena: as large as the plan says and as its buffers reach. */
static int make_arena(rt_exec *ex)
{
    const ir_kprogram *p = ex->p;
    ex->arena_bytes = p->arena_bytes;
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!in_arena(kb)) continue;
        if (kb->arena_offset % RT_ALIGN)
            return moec_error(ex->d, "buffer b%d (%s): arena offset %lld is not a multiple of %d", b, kb->name,
                              (long long)kb->arena_offset, RT_ALIGN), -1;
        if (kb->arena_offset + ir_kbuf_bytes(kb) > ex->arena_bytes) ex->arena_bytes = kb->arena_offset + ir_kbuf_bytes(kb);
    }
    if (ex->arena_bytes && !(ex->arena = zalloc(ex->arena_bytes)))
        return moec_error(ex->d, "out of memory for the %lld-byte arena", (long long)ex->arena_bytes), -1;
    return 0;
}

/* Views point into their parent (which has a smaller id, so is placed already). */
static void place_views(rt_exec *ex)
{
    for (int b = 0; b < ex->p->n_bufs; b++) {
        const ir_kbuf *kb = &ex->p->bufs[b];
        if (kb->parent >= 0) ex->bufs[b] = (char *)ex->bufs[kb->parent] + kb->view_offset * elem_bytes(kb);
    }
}

static int place_buffers(rt_exec *ex)
{
    if (make_arena(ex) < 0) return -1;
    for (int b = 0; b < ex->p->n_bufs; b++) {
        const ir_kbuf *kb = &ex->p->bufs[b];
        if (kb->parent >= 0) continue;
        if (in_arena(kb)) {
            ex->bufs[b] = ex->arena + kb->arena_offset;
            continue;
        }
        if (!(ex->own[b] = ex->bufs[b] = zalloc(ir_kbuf_bytes(kb))))
            return moec_error(ex->d, "out of memory for buffer b%d (%s), %lld bytes", b, kb->name,
                              (long long)ir_kbuf_bytes(kb)), -1;
    }
    place_views(ex);
    return 0;
}

/* Products and templates checked once, so a run fails only on data. */
static int check_launches(const rt_exec *ex)
{
    for (int i = 0; i < ex->p->n_launches; i++) {
        const ir_launch *l = &ex->p->launches[i];
        rt_env env = { .p = ex->p, .launch = i, .pool = ex->pool, .d = ex->d };
        if (l->kind == IR_LAUNCH_GEMM && rt_gemm_check(&env, &l->gemm) < 0) return -1;
        if (l->kind == IR_LAUNCH_TEMPLATE && rt_template_check(&env, &l->tmpl) < 0) return -1;
    }
    return 0;
}

rt_exec *rt_exec_new(const ir_kprogram *p, rt_pool *pool, moec_diag *d)
{
    if (ir_kprogram_verify(p, d) < 0) return NULL;
    rt_exec *ex = calloc(1, sizeof *ex);
    if (ex) {
        *ex = (rt_exec){ .p = p, .pool = pool, .d = d, .split = RT_GEMM_POOL };
        ex->bufs = calloc((size_t)p->n_bufs + 1, sizeof *ex->bufs);
        ex->own = calloc((size_t)p->n_bufs + 1, sizeof *ex->own);
        ex->loops = calloc((size_t)p->n_launches + 1, sizeof *ex->loops);
        ex->args = calloc((size_t)p->n_launches + 1, sizeof *ex->args);
        ex->n_args = calloc((size_t)p->n_launches + 1, sizeof *ex->n_args);
        ex->times = calloc((size_t)p->n_launches + 1, sizeof *ex->times);
    }
    if (!ex || !ex->bufs || !ex->own || !ex->loops || !ex->times || !ex->args || !ex->n_args) {
        moec_error(d, "out of memory for the CPU executor");
        rt_exec_free(ex);
        return NULL;
    }
    if (check_launches(ex) < 0 || place_buffers(ex) < 0) {
        rt_exec_free(ex);
        return NULL;
    }
    return ex;
}

void rt_exec_free(rt_exec *ex)
{
    if (!ex) return;
    for (int b = 0; ex->own && b < ex->p->n_bufs; b++) zfree(ex->own[b], ir_kbuf_bytes(&ex->p->bufs[b]));
    free(ex->own);
    free(ex->bufs);
    zfree(ex->arena, ex->arena_bytes);
    free(ex->loops);
    for (int i = 0; ex->args && i < ex->p->n_launches; i++) free(ex->args[i]);
    free(ex->args);
    free(ex->n_args);
    free(ex->argv);
    free(ex->times);
    free(ex);
}

int rt_exec_set_loop(rt_exec *ex, int launch, rt_loop_fn *fn)
{
    if (launch < 0 || launch >= ex->p->n_launches || ex->p->launches[launch].kind != IR_LAUNCH_LOOP)
        return moec_error(ex->d, "k%d is not a loop launch of the program", launch), -1;
    ex->loops[launch] = fn;
    return 0;
}

int rt_exec_set_loop_args(rt_exec *ex, int launch, rt_loop_fn *fn, const int *ids, int n)
{
    if (rt_exec_set_loop(ex, launch, fn) < 0) return -1;
    free(ex->args[launch]);
    if (!(ex->args[launch] = malloc(sizeof *ids * (size_t)(n + 1)))) return moec_error(ex->d, "out of memory"), -1;
    memcpy(ex->args[launch], ids, sizeof *ids * (size_t)n);
    ex->n_args[launch] = n;
    if (n > ex->cap_argv) {
        void **bigger = realloc(ex->argv, sizeof *bigger * (size_t)n);
        if (!bigger) return moec_error(ex->d, "out of memory"), -1;
        ex->argv = bigger;
        ex->cap_argv = n;
    }
    return 0;
}

void rt_exec_set_gemm_split(rt_exec *ex, rt_gemm_split how) { ex->split = how; }

int rt_exec_find(const rt_exec *ex, const char *name)
{
    for (int b = 0; b < ex->p->n_bufs; b++)
        if (strcmp(ex->p->bufs[b].name, name) == 0) return b;
    return -1;
}

void *rt_exec_data(const rt_exec *ex, int b)
{
    return b >= 0 && b < ex->p->n_bufs ? ex->bufs[b] : NULL;
}

/* Buffer b exists and holds exactly numel elements; else reported. */
static int check_count(const rt_exec *ex, int b, int64_t numel, const char *verb)
{
    if (b < 0 || b >= ex->p->n_bufs) return moec_error(ex->d, "cannot %s buffer b%d: no such buffer", verb, b), -1;
    if (numel != ex->p->bufs[b].numel)
        return moec_error(ex->d, "cannot %s buffer b%d (%s): %lld elements given, it holds %lld", verb, b,
                          ex->p->bufs[b].name, (long long)numel, (long long)ex->p->bufs[b].numel), -1;
    return 0;
}

int rt_exec_write(rt_exec *ex, int b, const void *src, int64_t numel)
{
    if (check_count(ex, b, numel, "write") < 0) return -1;
    memmove(ex->bufs[b], src, (size_t)ir_kbuf_bytes(&ex->p->bufs[b]));
    return 0;
}

int rt_exec_read(const rt_exec *ex, int b, void *dst, int64_t numel)
{
    if (check_count(ex, b, numel, "read") < 0) return -1;
    memmove(dst, ex->bufs[b], (size_t)ir_kbuf_bytes(&ex->p->bufs[b]));
    return 0;
}

int rt_exec_bind(rt_exec *ex, int b, void *host, int64_t numel)
{
    if (check_count(ex, b, numel, "bind") < 0) return -1;
    const ir_kbuf *kb = &ex->p->bufs[b];
    if (!persistent(kb) || kb->parent >= 0 || !host || (uintptr_t)host % 4)
        return moec_error(ex->d, "cannot bind buffer b%d (%s): only a persistent buffer that is no view binds to "
                          "4-byte aligned memory", b, kb->name), -1;
    zfree(ex->own[b], ir_kbuf_bytes(kb));
    ex->own[b] = NULL;
    ex->bufs[b] = host;
    place_views(ex);
    return 0;
}

/* ---- running ---- */

typedef struct loop_job {
    rt_loop_fn *fn;
    void *const *bufs;
    _Atomic int64_t faults;   /* summed over the chunks */
} loop_job;

static void loop_chunk(void *ctx, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    loop_job *j = ctx;
    int64_t faults = j->fn(j->bufs, begin, end);
    if (faults) j->faults += faults;
}

/* Points split over the pool, each chunk at least RT_LOOP_GRAIN instruction steps. */
static int run_loop(const rt_exec *ex, const rt_env *env, const ir_kloop *k)
{
    if (!ex->loops[env->launch]) return rt_launch_error(env, "no function for this loop kernel");
    int64_t points = 1, steps = k->n_ins > 0 ? k->n_ins : 1;
    for (int a = 0; a < k->rank; a++) points *= k->dim[a];
    if (k->reduce) steps *= k->reduce * k->n_passes;
    const int *ids = ex->args[env->launch];
    int n = ex->n_args[env->launch];
    for (int s = 0; ids && s < n; s++) ex->argv[s] = ex->bufs[ids[s]];   /* now: rt_exec_bind may have moved a buffer */
    loop_job j = { .fn = ex->loops[env->launch], .bufs = ids ? ex->argv : ex->bufs, .faults = 0 };
    rt_pool_run_grain(ex->pool, points, steps >= RT_LOOP_GRAIN ? 1 : RT_LOOP_GRAIN / steps, loop_chunk, &j);
    if (j.faults)
        return rt_launch_error(env, "%lld faults (an index outside its table, a value that does not fit i32, "
                                    "an i32 division by zero or a bad random step)", (long long)j.faults);
    return 0;
}

static int run_launch(const rt_exec *ex, int i)
{
    const ir_launch *l = &ex->p->launches[i];
    rt_env env = { .p = ex->p, .launch = i, .bufs = ex->bufs, .pool = ex->pool, .d = ex->d };
    switch (l->kind) {
    case IR_LAUNCH_LOOP: return run_loop(ex, &env, &l->loop);
    case IR_LAUNCH_GEMM: return rt_gemm_run(&env, &l->gemm, ex->split);
    case IR_LAUNCH_TEMPLATE: return rt_template_run(&env, &l->tmpl);
    default: MOEC_UNREACHABLE();
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int rt_exec_run(rt_exec *ex)
{
    for (int i = 0; i < ex->p->n_launches; i++) {
        int64_t t0 = now_ns();
        int rc = run_launch(ex, i);
        ex->times[i].ns += now_ns() - t0;
        ex->times[i].runs++;
        if (rc < 0) return -1;
    }
    return 0;
}

const rt_launch_time *rt_exec_times(const rt_exec *ex) { return ex->times; }

void rt_exec_reset_times(rt_exec *ex)
{
    memset(ex->times, 0, sizeof *ex->times * (size_t)ex->p->n_launches);
}

int64_t rt_exec_arena_bytes(const rt_exec *ex) { return ex->arena_bytes; }
