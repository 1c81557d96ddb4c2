/* tests/cuda/test_exec_emu.c -- the CUDA executor (runtime/cuda/exec.h)
 * on the emulated device (tests/cuda/emu_device.h) against the CPU backend
 * and the float32 interpreter, on whole training steps: for each tiny
 * model of step_case.h's STEP_MODELS in MODELS (dense, top-1, top-2, noisy
 * top-k, expert choice, sequence routing, label routing; B 2, T 4, d 8),
 * the step is compiled once through the whole pipeline; the CPU executor
 * runs it with its LLVM kernels, and the CUDA executor runs the same kernel
 * program on the emulated device: the printed CUDA C and the templates
 * compiled as host C++ behind the shim, launched with their CUDA geometry
 * (grids capped at 2 blocks, so the kernels stride), every product through
 * runtime/cuda/gemm.h's mapping to column-major cuBLAS arguments run by
 * CBLAS in column-major mode, grouped products by their group sizes read
 * back. Both start from the same values in every persistent buffer
 * (random, never zero; step_case.h's leaves where the graph has them:
 * valid tokens, positive second moments); the emulator's fresh memory is
 * NaN. Compared:
 *   - every persistent buffer (losses, outputs, every gradient, the updated
 *     parameters and AdamW moments) with the CPU backend's: f32 within 1e-5
 *     of the tensor's largest magnitude (test_backend.c's measure: both sum
 *     in float32 in other orders, 32 warp lanes against 8 vector lanes and
 *     BLAS blocking), i32 exactly;
 *   - the named results (test_backend.c's list) with the float32
 *     interpreter's on the same leaves, within 1e-5;
 *   - `moec bench --backend cuda`'s runs (rt_cuda_bench_on): a finite loss;
 *   - the buffer calls: wrong counts refused, a parameter bound to the
 *     caller's device memory (rt_cuda_exec_bind) gives the same loss.
 * It can fail: the same step with the emulator's wrong_transpose (op(A)
 * flipped in every sgemm call where A is square, as a wrong row/column-major
 * mapping would) must run and differ beyond 1e-5; and the emulator checks
 * every operand of every call against its allocation (a wrong leading
 * dimension reads outside it: an error). Skipped without a C++ compiler
 * ($MOEC_TEST_CXX, else c++); without LLVM only the interpreter is compared.
 * MOEC_TEST_DEVICE=1 (`make check-cuda`): the same steps on the GPU
 * (rt_cuda_device_open) instead of the emulator, within 1e-4; skipped,
 * saying why, where the GPU does not open. */
#include "config.h"

#include <math.h>

#include "runtime/cpu_step.h"
#include "runtime/cuda/bench.h"
#include "runtime/cuda/exec.h"
#include "tests/compile/step_case.h"
#include "tests/cuda/emu_device.h"
#include "tests/cuda/shim_lib.h"
#include "tests/tap.h"

#ifndef SHIM_H
#error "SHIM_H: the absolute path of tests/cuda/shim.h"
#endif

enum { GRID_CAP = 2 };
static const double TOL = 1e-5;
/* On a GPU (MOEC_TEST_DEVICE=1): CUDA's logf and erff (1 and 2 ulp) and
 * cuBLAS's own blocking add to the differences in sum order. */
static const double TOL_DEVICE = 1e-4;

/* The models run (indices into STEP_MODELS): every routing path the
 * executor meets (grouped products by rows and by k, top-k and expert
 * choice templates, sequence units) at a test's cost. */
static const int MODELS[] = { 0, 1, 2, 3, 4, 8, 11 };

static bool persistent_root(const ir_kbuf *b)
{
    return b->parent < 0 && b->role != IR_BUF_ACTIVATION && b->role != IR_BUF_SCRATCH;
}

/* A model's step: compiled by the CPU backend (which then runs it too), or
 * through the pipeline alone where there is no CPU backend (a GPU run's
 * bundle is built without LLVM). */
typedef struct step {
    bool cpu;
    rt_cpu_step s;
    rt_pipeline pipe;
    fe_override sets[STEP_MAX_SETS];
    char text[STEP_MAX_SETS][64], path[512];
} step;

static const ir_kprogram *program(const step *st) { return st->cpu ? &st->s.pipe.kernels : &st->pipe.kernels; }
static const ir_graph *graph_of(const step *st) { return st->cpu ? &st->s.pipe.graph : &st->pipe.graph; }

static rt_pipeline_options step_options(step *st, const step_model *sm)
{
    int n = 0;
    for (; n < STEP_MAX_SETS && sm->sets[n]; n++) {
        snprintf(st->text[n], 64, "%s", sm->sets[n]);
        rt_cli_parse_set(st->text[n], &st->sets[n]);
    }
    const char *models = getenv("MOEC_TEST_MODELS"), *top = getenv("top_srcdir");
    if (models && *models) snprintf(st->path, sizeof st->path, "%s/%s", models, sm->file);
    else snprintf(st->path, sizeof st->path, "%s/models/%s", top ? top : ".", sm->file);
    return (rt_pipeline_options){ .model = st->path, .sets = st->sets, .n_sets = n, .batch = STEP_BATCH,
                                  .seq = STEP_SEQ, .step = RT_STEP_TRAIN };
}

static int build_step(step *st, const step_model *sm, bool cpu)
{
    memset(st, 0, sizeof *st);
    st->cpu = cpu;
    rt_pipeline_options opt = step_options(st, sm);
    if (cpu) {
        rt_cpu_step_options co = { .threads = 1 };
        return rt_cpu_step_build(&st->s, &opt, &co);
    }
    rt_pipeline_init(&st->pipe, &opt);
    int n;
    const rt_pass *t = rt_passes(&n);
    rt_pipeline_request req = { .last = n - 1, .stage = -1, .out = stdout };
    return rt_pipeline_run(&st->pipe, t, n, &req);
}

static void free_step(step *st)
{
    if (st->cpu) rt_cpu_step_free(&st->s);
    else rt_pipeline_free(&st->pipe);
}

/* The starting values, per buffer id (NULL but for persistent buffers that
 * are no view): f32 ones random (0.3 N(0,1), never zero), i32 ones zero,
 * then step_case.h's leaves by name (tokens, targets, domains, the step,
 * parameters, moments; a view's inside its parent). */
static void **start_values(const ir_kprogram *p, const ir_graph *g, int64_t vocab)
{
    void **v = calloc((size_t)p->n_bufs + 1, sizeof *v);
    if (!v) exit(1);
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!persistent_root(kb)) continue;
        if (!(v[b] = calloc((size_t)kb->numel + 1, 4))) exit(1);
        for (int64_t i = 0; kb->dtype == IR_F32 && i < kb->numel; i++) {
            double u = ir_philox_normal(77, 5, (uint32_t)b, (uint64_t)i);
            ((float *)v[b])[i] = (float)(u != 0 ? 0.3 * u : 0.1);
        }
    }
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if ((n->op != IR_INPUT && n->op != IR_PARAM) || !n->label) continue;
        int b = -1;
        for (int j = 0; j < p->n_bufs && b < 0; j++)
            if (!strcmp(p->bufs[j].name, n->label)) b = j;
        if (b < 0 || p->bufs[b].numel != ir_shape_numel(&n->shape)) continue;   /* a leaf the step does not read */
        int64_t at = 0;
        int root = b;
        for (; p->bufs[root].parent >= 0; root = p->bufs[root].parent) at += p->bufs[root].view_offset;
        for (int64_t i = 0; i < p->bufs[b].numel; i++) {
            double x = step_leaf_value(g, id, i, vocab);
            if (p->bufs[b].dtype == IR_I32) ((int32_t *)v[root])[at + i] = (int32_t)x;
            else ((float *)v[root])[at + i] = (float)x;
        }
    }
    return v;
}

static void free_values(const ir_kprogram *p, void **v)
{
    for (int b = 0; v && b < p->n_bufs; b++) free(v[b]);
    free(v);
}

/* max |got - want| / max |want| over n values (0 when both are zero). */
static double tensor_err(const double *got, const double *want, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (!(d <= diff)) diff = d;
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

/* Buffer b of the device as doubles (numel of them), or NULL. */
static double *device_values(const rt_cuda_exec *ex, const ir_kbuf *kb, int b)
{
    void *raw = malloc(4 * (size_t)kb->numel + 4);
    double *v = malloc(sizeof *v * (size_t)kb->numel + 8);
    bool ok = raw && v && rt_cuda_exec_read(ex, b, raw, kb->numel) == 0;
    for (int64_t i = 0; ok && i < kb->numel; i++)
        v[i] = kb->dtype == IR_I32 ? (double)((int32_t *)raw)[i] : (double)((float *)raw)[i];
    free(raw);
    if (!ok) free(v);
    return ok ? v : NULL;
}

/* Every persistent buffer that is no view, device against the CPU: f32
 * relative to the tensor's largest magnitude, i32 exactly. */
static double compare_cpu(const rt_cpu_step *s, const rt_cuda_exec *ex, int *count, const char **worst_name)
{
    const ir_kprogram *p = &s->pipe.kernels;
    double worst = 0;
    *count = 0;
    *worst_name = "none";
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!persistent_root(kb)) continue;
        double *got = device_values(ex, kb, b), *want = malloc(sizeof *want * (size_t)kb->numel + 8);
        const void *cpu = rt_exec_data(s->exec, b);
        double e = INFINITY;
        if (got && want) {
            for (int64_t i = 0; i < kb->numel; i++)
                want[i] = kb->dtype == IR_I32 ? (double)((const int32_t *)cpu)[i] : (double)((const float *)cpu)[i];
            e = tensor_err(got, want, kb->numel);
            if (kb->dtype == IR_I32 && e != 0) e = INFINITY;
        }
        free(got);
        free(want);
        ++*count;
        if (!(e <= worst)) {
            worst = e;
            *worst_name = kb->name;
        }
    }
    return worst;
}

/* Named value `name` of the device against node `node` of the interpreter. */
static double compare_node(const rt_cuda_exec *ex, const ir_kprogram *p, const char *name, ir_interp *it,
                           const ir_graph *g, int node, const char **worst_name, double *worst)
{
    if (node < 0) return 0;
    int b = rt_cuda_exec_find(ex, name);
    const double *ref = ir_interp_value(it, node);
    double *got = b >= 0 && p->bufs[b].numel == ir_shape_numel(&g->nodes[node].shape) ? device_values(ex, &p->bufs[b], b) : NULL;
    double e = got && ref ? tensor_err(got, ref, p->bufs[b].numel) : INFINITY;
    free(got);
    if (!(e <= *worst)) {
        *worst = e;
        *worst_name = name;
    }
    return e;
}

/* The step's named results, device against the float32 interpreter on the
 * same leaves (test_backend.c's list): the losses, and per parameter its
 * gradient, its updated value and both updated moments. */
static double compare_interp(const rt_cuda_exec *ex, const ir_kprogram *p, const step_case *c, ir_interp *it,
                             int *count, const char **worst_name)
{
    const ir_step_graph *st = &c->s;
    const fe_model *m = &c->fe.model;
    const char *losses[] = { "loss", "lm_loss", "lb_loss", "z_loss", "grad_norm", "lr" };
    const int nodes[] = { st->fwd.loss, st->fwd.lm_loss, st->fwd.lb_loss, st->fwd.z_loss, st->grad_norm, st->lr };
    double worst = 0;
    *worst_name = "none";
    *count = 0;
    for (int i = 0; i < 6; i++, ++*count) compare_node(ex, p, losses[i], it, &c->g, nodes[i], worst_name, &worst);
    char name[4][320];
    for (int i = 0; i < m->n_params; i++, *count += 4) {
        snprintf(name[0], sizeof name[0], "grad.%s", m->params[i].name);
        snprintf(name[1], sizeof name[1], "%s", m->params[i].name);
        snprintf(name[2], sizeof name[2], "adam.m.%s", m->params[i].name);
        snprintf(name[3], sizeof name[3], "adam.v.%s", m->params[i].name);
        const int n4[4] = { st->grad[i], st->new_param[i], st->new_m[i], st->new_v[i] };
        for (int k = 0; k < 4; k++) {
            double before = worst;
            compare_node(ex, p, name[k], it, &c->g, n4[k], worst_name, &worst);
            if (worst != before) *worst_name = m->params[i].name;   /* name[k] is reused: keep a lasting name */
        }
    }
    return worst;
}

typedef struct outcome {
    bool ran;
    double worst_cpu, worst_interp;
    int compared_cpu, compared_interp;
    const char *worst_cpu_name, *worst_interp_name;
    emu_counts counts;
    int loops, distinct, gemms, templates;
} outcome;

/* The CUDA executor from the starting values on dev, or on a fresh
 * emulator when dev is NULL; compared with the CPU's run (when there is
 * one) and with the interpreter. */
static outcome run_device(const step *st, void *const *start, const step_case *c, ir_interp *it, rt_device *dev,
                          const emu_options *eo, moec_diag *d)
{
    outcome o = { .worst_cpu = INFINITY, .worst_interp = INFINITY, .worst_cpu_name = "none", .worst_interp_name = "none" };
    const ir_kprogram *p = program(st);
    rt_device *own = dev ? NULL : emu_device_new(eo, d);
    rt_cuda_exec *ex = dev || own ? rt_cuda_exec_new(p, dev ? dev : own, d) : NULL;
    if (ex) {
        o.loops = rt_cuda_exec_kernels(ex, &o.distinct);
        for (int i = 0; i < p->n_launches; i++) {
            o.gemms += p->launches[i].kind == IR_LAUNCH_GEMM;
            o.templates += p->launches[i].kind == IR_LAUNCH_TEMPLATE;
        }
        o.ran = true;
        for (int b = 0; o.ran && b < p->n_bufs; b++)
            if (start[b]) o.ran = rt_cuda_exec_write(ex, b, start[b], p->bufs[b].numel) == 0;
        o.ran = o.ran && rt_cuda_exec_run(ex) == 0;
        if (o.ran && st->cpu) o.worst_cpu = compare_cpu(&st->s, ex, &o.compared_cpu, &o.worst_cpu_name);
        if (o.ran) o.worst_interp = compare_interp(ex, p, c, it, &o.compared_interp, &o.worst_interp_name);
        if (own) o.counts = emu_device_counts(own);
    }
    rt_cuda_exec_free(ex);
    rt_device_close(own);
    return o;
}

/* One model: the interpreter's step, the CPU backend's (when built), the
 * CUDA executor's on the emulator, or on the GPU when gpu is given. */
static void test_model(int m, const emu_options *eo, rt_device *gpu, bool sabotage)
{
    const step_model *sm = &STEP_MODELS[m];
    char name[160];
    step_case_name(sm, name, sizeof name);
    double tol = gpu ? TOL_DEVICE : TOL;
    step_case c;
    bool ref = step_case_build(&c, sm) == 0;
    int64_t vocab = ref ? c.fe.model.params[0].shape.dim[0] : 0;
    ir_interp *it = ref ? ir_interp_new(&c.g, IR_PREC_F32) : NULL;
    ref = it && step_bind_all(it, &c.g, vocab) == 0 && ir_interp_run(it, -1, c.g.diag) == 0;
    step st;
    bool cpu = rt_cpu_step_available();
    bool built = ref && build_step(&st, sm, cpu) == 0;   /* freed when tried, built or not */
    void **start = built ? start_values(program(&st), graph_of(&st), vocab) : NULL;
    bool ready = built;
    for (int b = 0; ready && cpu && b < program(&st)->n_bufs; b++)
        if (start[b]) ready = rt_exec_write(st.s.exec, b, start[b], program(&st)->bufs[b].numel) == 0;
    if (cpu) ready = tap_ok(ready && rt_cpu_step_run(&st.s) == 0, "%s: the interpreter and the CPU backend run the step", name);
    else ready = tap_ok(ready, "%s: the interpreter runs the step and it compiles (no CPU backend here)", name);
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    if (ready) {
        outcome o = run_device(&st, start, &c, it, gpu, eo, &d);
        tap_ok(o.ran, "%s: the CUDA executor runs it on %s: %d launches (%d loop kernels, %d distinct; %d products%s; "
               "%d templates)", name, gpu ? gpu->name : "the emulated device", program(&st)->n_launches, o.loops,
               o.distinct, o.gemms, gpu ? "" : " as sgemm calls", o.templates);
        if (!gpu) tap_diag("  %lld sgemm calls of %lld matrices", (long long)o.counts.sgemms, (long long)o.counts.matrices);
        if (cpu)
            tap_ok(o.ran && o.worst_cpu <= tol && (gpu || o.counts.sgemms > 0),
                   "%s: all %d persistent buffers (losses, outputs, gradients, parameters, AdamW moments) as the CPU "
                   "backend's within %g (worst %.3g, %s)", name, o.compared_cpu, tol, o.worst_cpu, o.worst_cpu_name);
        tap_ok(o.ran && o.worst_interp <= tol, "%s: %d named results (losses, gradients, updated parameters and "
               "moments) as the float32 interpreter's within %g (worst %.3g, %s)", name, o.compared_interp, tol,
               o.worst_interp, o.worst_interp_name);
        if (sabotage && !gpu) {
            emu_options wrong = *eo;
            wrong.wrong_transpose = true;
            moec_diag quiet;   /* its messages are expected: kept, not printed */
            if (moec_diag_collect(&quiet, 5) < 0) exit(1);
            outcome w = run_device(&st, start, &c, it, NULL, &wrong, &quiet);
            moec_diag_free(&quiet);
            double worst = cpu ? w.worst_cpu : w.worst_interp;
            tap_ok(w.ran && w.counts.flipped > 0 && !(worst <= TOL),
                   "%s: a wrong transpose mapping (op(A) flipped in %lld sgemm calls) is caught: worst %.3g (%s)",
                   name, (long long)w.counts.flipped, worst, cpu ? w.worst_cpu_name : w.worst_interp_name);
        }
    }
    moec_diag_free(&d);
    if (built) free_values(program(&st), start);
    if (ref) free_step(&st);
    ir_interp_free(it);
    step_case_free(&c);
}

/* `moec bench --backend cuda`'s runs (runtime/cuda/bench.h) on dev, or a
 * fresh emulator: the dense tiny step, 2 timed steps; a finite loss. */
static void test_bench(const emu_options *eo, rt_device *gpu)
{
    step st;
    memset(&st, 0, sizeof st);
    rt_pipeline_options opt = step_options(&st, &STEP_MODELS[0]);
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    rt_device *dev = gpu ? gpu : emu_device_new(eo, &d);
    char *text_out = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text_out, &len);
    int rc = dev && out ? rt_cuda_bench_on(dev, &opt, 2, 7, true, out) : -1;
    if (out) fclose(out);
    const char *loss = text_out ? strstr(text_out, "; loss ") : NULL;
    double first = NAN, last = NAN;
    bool parsed = loss && sscanf(loss, "; loss %lf -> %lf", &first, &last) == 2;
    const char *json = text_out ? strstr(text_out, "\n{\"step_s\":") : NULL;
    tap_ok(rc == 0 && parsed && isfinite(first) && isfinite(last) && strstr(text_out, "step: median") && json &&
               strstr(json, "\"gflops\":") && strstr(json, "\"device\":\"") && strstr(json, "\"flop_per_step\":"),
           "moec bench --backend cuda's runs on %s: 3 steps of %s, loss %.4f -> %.4f, the --json line", gpu ? gpu->name : "the emulated device",
           STEP_MODELS[0].file, first, last);
    for (const char *line = text_out; line && *line;) {   /* the bench's output, as diagnostics */
        const char *end = strchr(line, '\n');
        int len_line = end ? (int)(end - line) : (int)strlen(line);
        tap_diag("  %.*s", len_line, line);
        line = end ? end + 1 : line + len_line;
    }
    free(text_out);
    if (!gpu) rt_device_close(dev);
    moec_diag_free(&d);
}

/* The executor's buffer calls on the emulator, dense tiny step: a write or
 * read of the wrong count and a bind of a buffer that is no persistent
 * root are refused; a parameter bound to the caller's device memory gives
 * the run the same loss, bit for bit, as in the executor's own. */
static void test_bind(const emu_options *eo)
{
    step st;
    bool built = build_step(&st, &STEP_MODELS[0], false) == 0;
    const ir_kprogram *p = program(&st);
    void **start = built ? start_values(p, graph_of(&st), 11) : NULL;   /* STEP_TINY: vocab 11 */
    moec_diag quiet;
    if (moec_diag_collect(&quiet, 50) < 0) exit(1);
    rt_device *dev = built ? emu_device_new(eo, &quiet) : NULL;
    rt_cuda_exec *ex = dev ? rt_cuda_exec_new(p, dev, &quiet) : NULL;
    int param = -1, act = -1, lb = ex ? rt_cuda_exec_find(ex, "loss") : -1;
    for (int b = 0; b < p->n_bufs; b++) {
        if (param < 0 && p->bufs[b].role == IR_BUF_PARAM && persistent_root(&p->bufs[b])) param = b;
        if (act < 0 && p->bufs[b].role == IR_BUF_ACTIVATION) act = b;
    }
    bool ok = ex && param >= 0 && act >= 0 && lb >= 0;
    float loss[2] = { NAN, 0 }, one = 0;
    for (int run = 0; ok && run < 2; run++) {
        for (int b = 0; ok && b < p->n_bufs; b++)
            if (start[b]) ok = rt_cuda_exec_write(ex, b, start[b], p->bufs[b].numel) == 0;
        rt_dev_ptr mine = 0;
        if (ok && run == 1) {   /* the parameter in memory of the test's own, with its start values */
            size_t bytes = (size_t)ir_kbuf_bytes(&p->bufs[param]);
            ok = dev->alloc(dev->ctx, bytes, &mine, &quiet) == 0 && dev->upload(dev->ctx, mine, start[param], bytes, &quiet) == 0 &&
                 rt_cuda_exec_bind(ex, param, mine, p->bufs[param].numel) == 0 && rt_cuda_exec_ptr(ex, param) == mine;
        }
        ok = ok && rt_cuda_exec_run(ex) == 0 && rt_cuda_exec_read(ex, lb, &loss[run], 1) == 0;
    }
    bool refused = ex && rt_cuda_exec_write(ex, lb, &one, 2) < 0 && rt_cuda_exec_read(ex, lb, &one, 0) < 0 &&
                   rt_cuda_exec_bind(ex, act, rt_cuda_exec_ptr(ex, lb), p->bufs[act].numel) < 0 &&
                   rt_cuda_exec_write(ex, p->n_bufs, &one, 1) < 0;
    tap_ok(ok && refused && isfinite(loss[0]) && !memcmp(&loss[0], &loss[1], sizeof loss[0]),
           "rt_cuda_exec: wrong counts and a bind of an activation refused; %s bound to the caller's device memory: "
           "loss %.6f, as unbound %.6f", param >= 0 ? p->bufs[param].name : "?", loss[1], loss[0]);
    rt_cuda_exec_free(ex);
    rt_device_close(dev);
    moec_diag_free(&quiet);
    if (built) free_values(p, start);
    free_step(&st);
}

int main(void)
{
    const char *device = getenv("MOEC_TEST_DEVICE");
    rt_device *gpu = NULL;
    if (device && !strcmp(device, "1")) {
        char said[1024] = "";
        FILE *f = fmemopen(said, sizeof said, "w");
        moec_diag d;
        moec_diag_init(&d, f, 5);
        gpu = rt_cuda_device_open(0, NULL, &d);
        fclose(f);
        moec_diag_free(&d);
        if (!gpu) {
            said[strcspn(said, "\n")] = '\0';
            printf("1..0 # SKIP no GPU here: %s\n", said);
            return 0;
        }
    }
    const char *cxx = getenv("MOEC_TEST_CXX");
    if (!cxx || !*cxx) cxx = "c++";
    if (!gpu && !shim_have_cxx(cxx)) {
        printf("1..0 # SKIP no C++ compiler (%s) to build the emulated device's kernels\n", cxx);
        return 0;
    }
    if (!rt_cpu_step_available()) tap_diag("no CPU backend (LLVM) here: the executor is compared with the interpreter only");
    emu_options eo = { .cxx = cxx, .shim_h = SHIM_H, .grid_cap = GRID_CAP };
    for (size_t i = 0; i < sizeof MODELS / sizeof *MODELS; i++) test_model(MODELS[i], &eo, gpu, i == 1);
    test_bench(&eo, gpu);
    if (!gpu) test_bind(&eo);
    rt_device_close(gpu);
    return tap_done();
}
