/* runtime/cuda/exec.c -- the CUDA executor (runtime/cuda/exec.h): the CPU
 * executor's buffer placement and launch order (runtime/cpu/exec.c) on a
 * device of runtime/cuda/device.h. Every device call's failure is reported
 * by the device, then named here with the launch or buffer it was for. */
#include "runtime/cuda/exec.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda_print.h"
#include "codegen/cuda_templates.h"
#include "runtime/cuda/gemm.h"

enum {
    RT_CUDA_ALIGN = 64,     /* planned arena offsets are multiples of this (ir/memplan.c) */
    RT_CUDA_MAX_ARGS = 16,  /* a template's buffers and scalars */
};

/* The templates' kernels (codegen/cuda_templates.h). */
static const char *const TEMPLATE_SYMBOLS[] = {
    "moec_topk_warp", "moec_topk_block", "moec_cumsum_f32", "moec_cumsum_i32", "moec_scatter_add",
    "moec_put", "moec_moe_dispatch", "moec_moe_combine", "moec_philox_words", "moec_philox_fill",
};

struct rt_cuda_exec {
    const ir_kprogram *p;
    rt_device *dev;
    moec_diag *d;
    cg_cuda_program code;        /* the printed loop kernels */
    char *templates;             /* the templates' translation unit, or NULL (no template launch) */
    rt_dev_ptr *ptr;             /* per buffer: its device address */
    rt_dev_ptr *own;             /* per buffer: its own allocation, or 0 */
    rt_dev_ptr arena;
    int64_t arena_bytes;
    rt_dev_ptr *argv;            /* a loop launch's buffer addresses, room for the longest */
    void **params;               /* pointers at them, as cuLaunchKernel takes them */
    int *ids;
    int cap_args;
    int32_t *sizes;              /* a grouped product's group sizes, read back */
    int cap_sizes;
    bool sync_each;
};

/* "launch kN (name): <message>"; -1. */
static int launch_error(const rt_cuda_exec *ex, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int launch_error(const rt_cuda_exec *ex, int i, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    moec_error(ex->d, "launch k%d (%s): %s", i, ex->p->launches[i].name, msg);
    return -1;
}

static bool in_arena(const ir_kbuf *b)
{
    return b->parent < 0 && b->arena_offset >= 0 && (b->role == IR_BUF_ACTIVATION || b->role == IR_BUF_SCRATCH);
}

static bool persistent(const ir_kbuf *b) { return b->role != IR_BUF_ACTIVATION && b->role != IR_BUF_SCRATCH; }

static int64_t elem_bytes(const ir_kbuf *b) { return ir_kbuf_bytes(b) / b->numel; }

/* ---- checks: once, so that a run fails only on data ---- */

static int check_gemm(const rt_cuda_exec *ex, int i, const ir_kgemm *g)
{
    const ir_kbuf *bufs = ex->p->bufs;
    if (bufs[g->a.buf].dtype != IR_F32 || bufs[g->b.buf].dtype != IR_F32 || bufs[g->c.buf].dtype != IR_F32)
        return launch_error(ex, i, "products run as cuBLAS sgemm: A, B and C must be f32");
    rt_cuda_gemm_layout L;
    const char *bad;
    if (rt_cuda_gemm_layout_of(g, &L, &bad) < 0)
        return launch_error(ex, i, "operand %s's strides are no BLAS layout (one of them 1, the other >= the extent)", bad);
    int64_t sizes[] = { g->m, g->n, g->k, L.lda, L.ldb, L.ldc, g->groups ? g->groups : g->batch[0] * g->batch[1] };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        if (sizes[s] > INT_MAX) return launch_error(ex, i, "a size or leading dimension above cuBLAS's int range");
    if ((g->groups || g->k == 0) && g->beta != 0 && g->beta != 1)
        return launch_error(ex, i, "a %s product with beta %g: only 0 and 1 are run on CUDA",
                            g->groups ? "grouped" : "k = 0", g->beta);
    return 0;
}

static int check_launches(const rt_cuda_exec *ex)
{
    for (int i = 0; i < ex->p->n_launches; i++) {
        const ir_launch *l = &ex->p->launches[i];
        cg_cuda_tcall c;
        const char *why = "";
        if (l->kind == IR_LAUNCH_GEMM && check_gemm(ex, i, &l->gemm) < 0) return -1;
        if (l->kind == IR_LAUNCH_TEMPLATE && cg_cuda_template_call(&l->tmpl, &c, &why) < 0)
            return launch_error(ex, i, "no CUDA template for op %s", why);
        if (l->kind == IR_LAUNCH_TEMPLATE && c.n_bufs + c.n_scalars > RT_CUDA_MAX_ARGS)
            return launch_error(ex, i, "template %s takes too many arguments", c.symbol);
    }
    return 0;
}

/* ---- the code ---- */

static int load_code(rt_cuda_exec *ex)
{
    if (cg_cuda_print_program(ex->p, &ex->code, ex->d) < 0) return -1;
    bool templates = false;
    for (int i = 0; i < ex->p->n_launches; i++) templates |= ex->p->launches[i].kind == IR_LAUNCH_TEMPLATE;
    if (templates && !(ex->templates = cg_cuda_templates_source()))
        return moec_error(ex->d, "out of memory printing the CUDA templates"), -1;
    int n = ex->code.n_kernels + (templates ? 1 : 0);
    rt_dev_unit *units = calloc((size_t)n + 1, sizeof *units);
    if (!units) return moec_error(ex->d, "out of memory for the CUDA code"), -1;
    for (int k = 0; k < ex->code.n_kernels; k++) {
        const cg_cuda_kernel *kern = &ex->code.kernels[k];
        units[k] = (rt_dev_unit){ .name = kern->symbol, .source = kern->source,
                                  .symbols = (const char *const *)&kern->symbol, .n_symbols = 1 };
    }
    if (templates)
        units[n - 1] = (rt_dev_unit){ .name = "templates", .source = ex->templates, .symbols = TEMPLATE_SYMBOLS,
                                      .n_symbols = (int)(sizeof TEMPLATE_SYMBOLS / sizeof *TEMPLATE_SYMBOLS) };
    int rc = ex->dev->load(ex->dev->ctx, units, n, ex->d);
    free(units);
    if (rc < 0) moec_error(ex->d, "the program's %d CUDA kernels%s do not load on %s", ex->code.n_kernels,
                           templates ? " and the templates" : "", ex->dev->name);
    return rc;
}

/* ---- buffers ---- */

static int dev_alloc_zero(rt_cuda_exec *ex, int64_t bytes, rt_dev_ptr *p, const char *what)
{
    size_t size = (size_t)(bytes > 0 ? bytes : 1);
    if (ex->dev->alloc(ex->dev->ctx, size, p, ex->d) < 0 || ex->dev->zero(ex->dev->ctx, *p, size, ex->d) < 0) {
        *p = 0;
        return moec_error(ex->d, "cannot place %s (%lld bytes) on %s", what, (long long)bytes, ex->dev->name), -1;
    }
    return 0;
}

static void place_views(rt_cuda_exec *ex)
{
    for (int b = 0; b < ex->p->n_bufs; b++) {
        const ir_kbuf *kb = &ex->p->bufs[b];
        if (kb->parent >= 0) ex->ptr[b] = ex->ptr[kb->parent] + (rt_dev_ptr)(kb->view_offset * elem_bytes(kb));
    }
}

static int place_buffers(rt_cuda_exec *ex)
{
    const ir_kprogram *p = ex->p;
    ex->arena_bytes = p->arena_bytes;
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!in_arena(kb)) continue;
        if (kb->arena_offset % RT_CUDA_ALIGN)
            return moec_error(ex->d, "buffer b%d (%s): arena offset %lld is not a multiple of %d", b, kb->name,
                              (long long)kb->arena_offset, RT_CUDA_ALIGN), -1;
        if (kb->arena_offset + ir_kbuf_bytes(kb) > ex->arena_bytes) ex->arena_bytes = kb->arena_offset + ir_kbuf_bytes(kb);
    }
    if (ex->arena_bytes && dev_alloc_zero(ex, ex->arena_bytes, &ex->arena, "the arena") < 0) return -1;
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (kb->parent >= 0) continue;
        if (in_arena(kb)) {
            ex->ptr[b] = ex->arena + (rt_dev_ptr)kb->arena_offset;
            continue;
        }
        char what[300];
        snprintf(what, sizeof what, "buffer b%d (%s)", b, kb->name);
        if (dev_alloc_zero(ex, ir_kbuf_bytes(kb), &ex->own[b], what) < 0) return -1;
        ex->ptr[b] = ex->own[b];
    }
    place_views(ex);
    return 0;
}

rt_cuda_exec *rt_cuda_exec_new(const ir_kprogram *p, rt_device *dev, moec_diag *d)
{
    if (ir_kprogram_verify(p, d) < 0) return NULL;
    rt_cuda_exec *ex = calloc(1, sizeof *ex);
    int most = 1;
    for (int i = 0; i < p->n_launches; i++)
        if (p->launches[i].n_reads + p->launches[i].n_writes > most) most = p->launches[i].n_reads + p->launches[i].n_writes;
    if (most < RT_CUDA_MAX_ARGS) most = RT_CUDA_MAX_ARGS;
    if (ex) {
        *ex = (rt_cuda_exec){ .p = p, .dev = dev, .d = d, .cap_args = most };
        ex->ptr = calloc((size_t)p->n_bufs + 1, sizeof *ex->ptr);
        ex->own = calloc((size_t)p->n_bufs + 1, sizeof *ex->own);
        ex->argv = calloc((size_t)most, sizeof *ex->argv);
        ex->params = calloc((size_t)most, sizeof *ex->params);
        ex->ids = calloc((size_t)most, sizeof *ex->ids);
    }
    if (!ex || !ex->ptr || !ex->own || !ex->argv || !ex->params || !ex->ids) {
        moec_error(d, "out of memory for the CUDA executor");
        rt_cuda_exec_free(ex);
        return NULL;
    }
    if (check_launches(ex) < 0 || load_code(ex) < 0 || place_buffers(ex) < 0) {
        rt_cuda_exec_free(ex);
        return NULL;
    }
    return ex;
}

void rt_cuda_exec_free(rt_cuda_exec *ex)
{
    if (!ex) return;
    for (int b = 0; ex->own && b < ex->p->n_bufs; b++)
        if (ex->own[b]) ex->dev->free(ex->dev->ctx, ex->own[b]);
    if (ex->arena) ex->dev->free(ex->dev->ctx, ex->arena);
    cg_cuda_program_free(&ex->code);
    free(ex->templates);
    free(ex->ptr);
    free(ex->own);
    free(ex->argv);
    free(ex->params);
    free(ex->ids);
    free(ex->sizes);
    free(ex);
}

int rt_cuda_exec_find(const rt_cuda_exec *ex, const char *name)
{
    for (int b = 0; b < ex->p->n_bufs; b++)
        if (strcmp(ex->p->bufs[b].name, name) == 0) return b;
    return -1;
}

rt_dev_ptr rt_cuda_exec_ptr(const rt_cuda_exec *ex, int b)
{
    return b >= 0 && b < ex->p->n_bufs ? ex->ptr[b] : 0;
}

static int check_count(const rt_cuda_exec *ex, int b, int64_t numel, const char *verb)
{
    if (b < 0 || b >= ex->p->n_bufs) return moec_error(ex->d, "cannot %s buffer b%d: no such buffer", verb, b), -1;
    if (numel != ex->p->bufs[b].numel)
        return moec_error(ex->d, "cannot %s buffer b%d (%s): %lld elements given, it holds %lld", verb, b,
                          ex->p->bufs[b].name, (long long)numel, (long long)ex->p->bufs[b].numel), -1;
    return 0;
}

int rt_cuda_exec_write(rt_cuda_exec *ex, int b, const void *src, int64_t numel)
{
    if (check_count(ex, b, numel, "write") < 0) return -1;
    if (ex->dev->upload(ex->dev->ctx, ex->ptr[b], src, (size_t)ir_kbuf_bytes(&ex->p->bufs[b]), ex->d) < 0)
        return moec_error(ex->d, "cannot write buffer b%d (%s) on %s", b, ex->p->bufs[b].name, ex->dev->name), -1;
    return 0;
}

int rt_cuda_exec_read(const rt_cuda_exec *ex, int b, void *dst, int64_t numel)
{
    if (check_count(ex, b, numel, "read") < 0) return -1;
    if (ex->dev->download(ex->dev->ctx, dst, ex->ptr[b], (size_t)ir_kbuf_bytes(&ex->p->bufs[b]), ex->d) < 0)
        return moec_error(ex->d, "cannot read buffer b%d (%s) from %s", b, ex->p->bufs[b].name, ex->dev->name), -1;
    return 0;
}

int rt_cuda_exec_bind(rt_cuda_exec *ex, int b, rt_dev_ptr ptr, int64_t numel)
{
    if (check_count(ex, b, numel, "bind") < 0) return -1;
    const ir_kbuf *kb = &ex->p->bufs[b];
    if (!persistent(kb) || kb->parent >= 0 || !ptr || ptr % 4)
        return moec_error(ex->d, "cannot bind buffer b%d (%s): only a persistent buffer that is no view binds to "
                          "4-byte aligned device memory", b, kb->name), -1;
    if (ex->own[b]) ex->dev->free(ex->dev->ctx, ex->own[b]);
    ex->own[b] = 0;
    ex->ptr[b] = ptr;
    place_views(ex);
    return 0;
}

void rt_cuda_exec_sync_each(rt_cuda_exec *ex, bool each) { ex->sync_each = each; }

int rt_cuda_exec_kernels(const rt_cuda_exec *ex, int *distinct)
{
    int n = 0;
    for (int i = 0; i < ex->p->n_launches; i++) n += ex->p->launches[i].kind == IR_LAUNCH_LOOP;
    if (distinct) *distinct = ex->code.n_kernels;
    return n;
}

/* ---- running ---- */

static int run_loop(rt_cuda_exec *ex, int i)
{
    const ir_launch *l = &ex->p->launches[i];
    int n = cg_cuda_kernel_args(l, ex->ids);
    for (int j = 0; j < n; j++) {
        ex->argv[j] = ex->ptr[ex->ids[j]];
        ex->params[j] = &ex->argv[j];
    }
    cg_cuda_geometry g = cg_cuda_geometry_of(&l->loop);
    const char *symbol = ex->code.kernels[ex->code.kernel_of[i]].symbol;
    return ex->dev->launch(ex->dev->ctx, symbol, g.grid, g.block, ex->params, ex->d);
}

static int run_template(rt_cuda_exec *ex, int i)
{
    cg_cuda_tcall c;
    const char *why = "";
    long long scalars[RT_CUDA_MAX_ARGS];
    if (cg_cuda_template_call(&ex->p->launches[i].tmpl, &c, &why) < 0) MOEC_UNREACHABLE();   /* checked */
    for (int j = 0; j < c.n_bufs; j++) {
        ex->argv[j] = ex->ptr[c.bufs[j]];
        ex->params[j] = &ex->argv[j];
    }
    for (int j = 0; j < c.n_scalars; j++) {
        scalars[j] = c.scalars[j];
        ex->params[c.n_bufs + j] = &scalars[j];
    }
    return ex->dev->launch(ex->dev->ctx, c.symbol, c.grid, c.block, ex->params, ex->d);
}

static rt_dev_ptr at(const rt_cuda_exec *ex, int buf, int64_t element) { return ex->ptr[buf] + (rt_dev_ptr)(element * 4); }

/* A plain product: one strided-batched call over both batch axes when their
 * strides compose (batch axis 0 steps over whole batch-1 runs), else one
 * call per index of batch axis 0 over axis 1. */
static int run_plain(rt_cuda_exec *ex, const ir_kgemm *g, const rt_cuda_gemm_layout *L)
{
    const ir_kmat *mats[3] = { &g->a, &g->b, &g->c };
    bool compose = true;
    for (int o = 0; o < 3; o++) compose &= g->batch[1] == 1 || mats[o]->batch_stride[0] == mats[o]->batch_stride[1] * g->batch[1];
    int64_t outer = compose ? 1 : g->batch[0], inner = compose ? g->batch[0] * g->batch[1] : g->batch[1];
    int axis = compose && g->batch[1] == 1 ? 0 : 1;
    for (int64_t b0 = 0; b0 < outer; b0++) {
        rt_dev_sgemm s = rt_cuda_gemm_call(g, L, g->m, g->k, at(ex, g->a.buf, g->a.offset + b0 * g->a.batch_stride[0]),
                                           at(ex, g->b.buf, g->b.offset + b0 * g->b.batch_stride[0]),
                                           at(ex, g->c.buf, g->c.offset + b0 * g->c.batch_stride[0]));
        s.batch = inner;
        /* The call's A is the product's B when C is row-major (the swap). */
        int64_t sa = g->a.batch_stride[axis], sb = g->b.batch_stride[axis];
        s.stride_a = L->row_major ? sb : sa;
        s.stride_b = L->row_major ? sa : sb;
        s.stride_c = g->c.batch_stride[axis];
        if (s.m && s.n && ex->dev->sgemm(ex->dev->ctx, &s, ex->d) < 0) return -1;
    }
    return 0;
}

/* beta C over rows r0..r1 of the C at element c (all g->n columns): zeros
 * for beta 0 (what an empty sum gives), nothing for beta 1 (checked: the
 * only two). Contiguous runs cleared one device call each. */
static int clear_rows(rt_cuda_exec *ex, const ir_kgemm *g, int64_t c, int64_t r0, int64_t r1)
{
    if (g->beta != 0 || r1 <= r0) return 0;
    const ir_kmat *m = &g->c;
    void *ctx = ex->dev->ctx;
    if (m->col_stride == 1 && (m->row_stride == g->n || r1 - r0 == 1))
        return ex->dev->zero(ctx, at(ex, m->buf, c + r0 * m->row_stride), (size_t)((r1 - r0) * g->n * 4), ex->d);
    if (m->col_stride == 1 || g->n == 1) {
        for (int64_t r = r0; r < r1; r++)
            if (ex->dev->zero(ctx, at(ex, m->buf, c + r * m->row_stride), (size_t)(g->n * 4), ex->d) < 0) return -1;
        return 0;
    }
    for (int64_t col = 0; col < g->n; col++)   /* column-major: each column's rows r0..r1 are contiguous */
        if (ex->dev->zero(ctx, at(ex, m->buf, c + r0 + col * m->col_stride), (size_t)((r1 - r0) * 4), ex->d) < 0) return -1;
    return 0;
}

/* A grouped product: the group sizes read back (a sync on a GPU), checked as
 * the CPU checks them, one call per non-empty group, beta C where no group is. */
static int run_grouped(rt_cuda_exec *ex, int i, const ir_kgemm *g, const rt_cuda_gemm_layout *L)
{
    if (g->groups > ex->cap_sizes) {
        int32_t *bigger = realloc(ex->sizes, sizeof *bigger * (size_t)g->groups);
        if (!bigger) return launch_error(ex, i, "out of memory");
        ex->sizes = bigger;
        ex->cap_sizes = g->groups;
    }
    if (ex->dev->download(ex->dev->ctx, ex->sizes, ex->ptr[g->group_rows], sizeof *ex->sizes * (size_t)g->groups, ex->d) < 0)
        return launch_error(ex, i, "cannot read the group sizes back");
    int64_t limit = g->split_k ? g->k : g->m, used = 0;
    for (int gi = 0; gi < g->groups; gi++)
        if (ex->sizes[gi] < 0 || used + ex->sizes[gi] > limit)
            return launch_error(ex, i, "group %d has size %d: sizes must be >= 0 and sum to at most %s = %lld", gi,
                                ex->sizes[gi], g->split_k ? "k" : "m", (long long)limit);
        else used += ex->sizes[gi];
    used = 0;
    for (int gi = 0; gi < g->groups; gi++) {
        int64_t size = ex->sizes[gi];
        rt_dev_sgemm s;
        if (g->split_k) {   /* A's columns and B's rows used..used+size, into C's batch gi */
            int64_t c = g->c.offset + gi * g->c.batch_stride[0];
            if (size == 0 && clear_rows(ex, g, c, 0, g->m) < 0) return -1;
            s = rt_cuda_gemm_call(g, L, g->m, size, at(ex, g->a.buf, g->a.offset + used * g->a.col_stride),
                                  at(ex, g->b.buf, g->b.offset + used * g->b.row_stride), at(ex, g->c.buf, c));
        } else {            /* rows used..used+size of A and C, times B's batch gi */
            s = rt_cuda_gemm_call(g, L, size, g->k, at(ex, g->a.buf, g->a.offset + used * g->a.row_stride),
                                  at(ex, g->b.buf, g->b.offset + gi * g->b.batch_stride[0]),
                                  at(ex, g->c.buf, g->c.offset + used * g->c.row_stride));
        }
        used += size;
        if (size && s.m && s.n && ex->dev->sgemm(ex->dev->ctx, &s, ex->d) < 0) return -1;
    }
    if (!g->split_k && clear_rows(ex, g, g->c.offset, used, g->m) < 0) return -1;
    return 0;
}

static int run_gemm(rt_cuda_exec *ex, int i)
{
    const ir_kgemm *g = &ex->p->launches[i].gemm;
    rt_cuda_gemm_layout L;
    const char *bad;
    if (rt_cuda_gemm_layout_of(g, &L, &bad) < 0) MOEC_UNREACHABLE();   /* checked */
    if (g->groups) return run_grouped(ex, i, g, &L);
    if (g->k == 0) return clear_rows(ex, g, g->c.offset, 0, g->m);
    return run_plain(ex, g, &L);
}

static int run_launch(rt_cuda_exec *ex, int i)
{
    switch (ex->p->launches[i].kind) {
    case IR_LAUNCH_LOOP: return run_loop(ex, i);
    case IR_LAUNCH_GEMM: return run_gemm(ex, i);
    case IR_LAUNCH_TEMPLATE: return run_template(ex, i);
    default: MOEC_UNREACHABLE();
    }
}

int rt_cuda_exec_run(rt_cuda_exec *ex)
{
    for (int i = 0; i < ex->p->n_launches; i++) {
        if (run_launch(ex, i) < 0) return launch_error(ex, i, "failed on %s", ex->dev->name);
        if (ex->sync_each && ex->dev->sync(ex->dev->ctx, ex->d) < 0) return launch_error(ex, i, "faulted on %s", ex->dev->name);
    }
    if (ex->dev->sync(ex->dev->ctx, ex->d) < 0) return moec_error(ex->d, "the run faulted on %s", ex->dev->name), -1;
    return 0;
}
