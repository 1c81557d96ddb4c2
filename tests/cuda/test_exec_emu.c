/* tests/cuda/test_exec_emu.c -- the CUDA executor (runtime/cuda/exec.h)
 * on the emulated device (tests/cuda/emu_device.h) against the CPU backend,
 * on whole training steps: for each tiny model of step_case.h's STEP_MODELS
 * (dense, top-1, top-2, noisy top-k, expert choice, sequence routing,
 * label routing; B 2, T 4, d 8), the step is compiled once through the
 * whole pipeline; the CPU executor runs it with its LLVM kernels, and the
 * CUDA executor runs the same kernel program on the emulated device: the
 * printed CUDA C and the templates compiled as host C++ behind the shim,
 * launched with their CUDA geometry (grids capped at 2 blocks, so the
 * kernels stride), every product through runtime/cuda/gemm.h's mapping to
 * column-major cuBLAS arguments run by CBLAS in column-major mode, grouped
 * products by their group sizes read back. Both start from the same
 * values in every persistent buffer (random, never zero; step_case.h's
 * leaves where the graph has them: valid tokens, positive second moments);
 * the emulator's fresh memory is NaN, so the executor must zero what the
 * CPU's zeroes. Compared, every persistent buffer (losses, outputs, every
 * gradient, the updated parameters and AdamW moments): f32 within 1e-5 of
 * the tensor's largest magnitude (test_backend.c's measure: both sum in
 * float32 in other orders, 32 warp lanes against 8 vector lanes and BLAS
 * blocking), i32 exactly.
 * It can fail: the same step with the emulator's wrong_transpose (op(A)
 * flipped in every sgemm call where A is square, as a wrong row/column-major
 * mapping would) must run and differ beyond 1e-5; and the emulator checks
 * every operand of every call against its allocation (a wrong leading
 * dimension reads outside it: an error).
 * Skipped without LLVM (no CPU backend) or a C++ compiler ($MOEC_TEST_CXX,
 * else c++). */
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

/* The models run (indices into STEP_MODELS): every routing path the
 * executor meets (grouped products by rows and by k, top-k and expert
 * choice templates, sequence units) at a test's cost. */
static const int MODELS[] = { 0, 1, 2, 3, 4, 8, 11 };

static bool persistent_root(const ir_kbuf *b)
{
    return b->parent < 0 && b->role != IR_BUF_ACTIVATION && b->role != IR_BUF_SCRATCH;
}

/* Every persistent f32 buffer random (0.3 N(0,1), never zero), then
 * step_case.h's leaves by name (tokens, targets, domains, the step,
 * parameters, moments). */
static int fill_cpu(rt_cpu_step *s, int64_t vocab)
{
    const ir_kprogram *p = &s->pipe.kernels;
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!persistent_root(kb) || kb->dtype != IR_F32) continue;
        float *x = rt_exec_data(s->exec, b);
        for (int64_t i = 0; i < kb->numel; i++) {
            double u = ir_philox_normal(77, 5, (uint32_t)b, (uint64_t)i);
            x[i] = (float)(u != 0 ? 0.3 * u : 0.1);
        }
    }
    const ir_graph *g = &s->pipe.graph;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if (n->op != IR_INPUT && n->op != IR_PARAM) continue;
        int64_t k = ir_shape_numel(&n->shape);
        double *v = malloc(sizeof(double) * (size_t)(k ? k : 1));
        if (!v) return -1;
        for (int64_t i = 0; i < k; i++) v[i] = step_leaf_value(g, id, i, vocab);
        int rc = rt_cpu_step_set(s, n->label, v, k);
        free(v);
        if (rc < 0) return -1;
    }
    return 0;
}

/* The CPU's persistent buffers before its run, per buffer id (NULL for the others). */
static void **snapshot(const rt_cpu_step *s)
{
    const ir_kprogram *p = &s->pipe.kernels;
    void **v = calloc((size_t)p->n_bufs + 1, sizeof *v);
    for (int b = 0; v && b < p->n_bufs; b++) {
        if (!persistent_root(&p->bufs[b])) continue;
        if (!(v[b] = malloc((size_t)ir_kbuf_bytes(&p->bufs[b])))) exit(1);
        memcpy(v[b], rt_exec_data(s->exec, b), (size_t)ir_kbuf_bytes(&p->bufs[b]));
    }
    return v;
}

static void free_snapshot(const rt_cpu_step *s, void **v)
{
    for (int b = 0; v && b < s->pipe.kernels.n_bufs; b++) free(v[b]);
    free(v);
}

/* The starting values, copied to the device. */
static int copy_to_device(const rt_cpu_step *s, void *const *start, rt_cuda_exec *ex)
{
    const ir_kprogram *p = &s->pipe.kernels;
    for (int b = 0; b < p->n_bufs; b++)
        if (start[b] && rt_cuda_exec_write(ex, b, start[b], p->bufs[b].numel) < 0) return -1;
    return 0;
}

/* max |got - want| / max |want| over buffer b (i32: 0 or infinity); the
 * buffers compared and the worst one's name through the pointers. */
static double compare(const rt_cpu_step *s, const rt_cuda_exec *ex, int *count, const char **worst_name)
{
    const ir_kprogram *p = &s->pipe.kernels;
    double worst = 0;
    *count = 0;
    *worst_name = "none";
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!persistent_root(kb)) continue;
        void *got = malloc(4 * (size_t)kb->numel + 4);
        const void *want = rt_exec_data(s->exec, b);
        double e = INFINITY;
        if (got && rt_cuda_exec_read(ex, b, got, kb->numel) == 0) {
            if (kb->dtype == IR_I32) {
                e = memcmp(got, want, 4 * (size_t)kb->numel) ? INFINITY : 0;
            } else {
                double diff = 0, scale = 0;
                for (int64_t i = 0; i < kb->numel; i++) {
                    double w = ((const float *)want)[i], x = ((const float *)got)[i], d = fabs(x - w);
                    if (!(d <= diff)) diff = d;
                    if (fabs(w) > scale) scale = fabs(w);
                }
                e = scale > 0 ? diff / scale : diff;
            }
        }
        free(got);
        ++*count;
        if (!(e <= worst)) {
            worst = e;
            *worst_name = kb->name;
        }
    }
    return worst;
}

typedef struct outcome {
    bool ran;
    double worst;
    int compared;
    const char *worst_name;
    emu_counts counts;
    int loops, distinct, gemms, templates;
} outcome;

/* The CUDA executor on a fresh emulator, from the CPU step's starting values. */
static outcome run_device(const rt_cpu_step *s, void *const *start, const emu_options *eo, moec_diag *d)
{
    outcome o = { .worst = INFINITY, .worst_name = "none" };
    rt_device *dev = emu_device_new(eo, d);
    rt_cuda_exec *ex = dev ? rt_cuda_exec_new(&s->pipe.kernels, dev, d) : NULL;
    if (ex) {
        o.loops = rt_cuda_exec_kernels(ex, &o.distinct);
        for (int i = 0; i < s->pipe.kernels.n_launches; i++) {
            o.gemms += s->pipe.kernels.launches[i].kind == IR_LAUNCH_GEMM;
            o.templates += s->pipe.kernels.launches[i].kind == IR_LAUNCH_TEMPLATE;
        }
        o.ran = copy_to_device(s, start, ex) == 0 && rt_cuda_exec_run(ex) == 0;
        if (o.ran) o.worst = compare(s, ex, &o.compared, &o.worst_name);
        o.counts = emu_device_counts(dev);
    }
    rt_cuda_exec_free(ex);
    rt_device_close(dev);
    return o;
}

/* The step of STEP_MODELS[m] for the CPU backend. */
static int build(rt_cpu_step *s, const step_model *sm, fe_override *sets, char text[][64], char *path, size_t size)
{
    int n = 0;
    for (; n < STEP_MAX_SETS && sm->sets[n]; n++) {
        snprintf(text[n], 64, "%s", sm->sets[n]);
        rt_cli_parse_set(text[n], &sets[n]);
    }
    const char *top = getenv("top_srcdir");
    snprintf(path, size, "%s/models/%s", top ? top : ".", sm->file);
    rt_pipeline_options opt = { .model = path, .sets = sets, .n_sets = n, .batch = STEP_BATCH, .seq = STEP_SEQ,
                                .step = RT_STEP_TRAIN };
    rt_cpu_step_options co = { .threads = 1 };
    return rt_cpu_step_build(s, &opt, &co);
}

static void test_model(int m, const emu_options *eo, bool sabotage)
{
    const step_model *sm = &STEP_MODELS[m];
    char name[160];
    step_case_name(sm, name, sizeof name);
    fe_override sets[STEP_MAX_SETS];
    char text[STEP_MAX_SETS][64], path[512];
    rt_cpu_step s;
    bool built = build(&s, sm, sets, text, path, sizeof path) == 0;
    int64_t vocab = built ? s.pipe.fe.model.params[0].shape.dim[0] : 0;
    bool filled = built && fill_cpu(&s, vocab) == 0;
    void **start = filled ? snapshot(&s) : NULL;
    filled = filled && start;
    bool ran = tap_ok(filled && rt_cpu_step_run(&s) == 0, "%s: the CPU backend builds and runs the step", name);
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    if (ran) {
        outcome o = run_device(&s, start, eo, &d);
        tap_ok(o.ran, "%s: the CUDA executor runs it on the emulated device: %d launches (%d loop kernels, %d "
               "distinct; %d products as %lld sgemm calls of %lld matrices; %d templates)", name,
               s.pipe.kernels.n_launches, o.loops, o.distinct, o.gemms, (long long)o.counts.sgemms,
               (long long)o.counts.matrices, o.templates);
        tap_ok(o.ran && o.worst <= TOL && o.counts.sgemms > 0,
               "%s: all %d persistent buffers (losses, gradients, parameters, AdamW moments) as the CPU's "
               "within %g (worst %.3g, %s)", name, o.compared, TOL, o.worst, o.worst_name);
        if (sabotage) {
            emu_options wrong = *eo;
            wrong.wrong_transpose = true;
            moec_diag quiet;   /* its messages are expected: kept, not printed */
            if (moec_diag_collect(&quiet, 5) < 0) exit(1);
            outcome w = run_device(&s, start, &wrong, &quiet);
            moec_diag_free(&quiet);
            tap_ok(w.ran && w.counts.flipped > 0 && !(w.worst <= TOL),
                   "%s: a wrong transpose mapping (op(A) flipped in %lld sgemm calls) is caught: worst %.3g (%s)",
                   name, (long long)w.counts.flipped, w.worst, w.worst_name);
        }
    }
    moec_diag_free(&d);
    free_snapshot(&s, start);
    rt_cpu_step_free(&s);
}

/* `moec bench --backend cuda`'s runs (runtime/cuda/bench.h) on the
 * emulated device: the dense tiny step, 2 timed steps; a finite loss. */
static void test_bench(const emu_options *eo)
{
    const step_model *sm = &STEP_MODELS[0];
    fe_override sets[STEP_MAX_SETS];
    char text[STEP_MAX_SETS][64], path[512];
    int n = 0;
    for (; n < STEP_MAX_SETS && sm->sets[n]; n++) {
        snprintf(text[n], 64, "%s", sm->sets[n]);
        rt_cli_parse_set(text[n], &sets[n]);
    }
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/%s", top ? top : ".", sm->file);
    rt_pipeline_options opt = { .model = path, .sets = sets, .n_sets = n, .batch = STEP_BATCH, .seq = STEP_SEQ,
                                .step = RT_STEP_TRAIN };
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    rt_device *dev = emu_device_new(eo, &d);
    char *text_out = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text_out, &len);
    int rc = dev && out ? rt_cuda_bench_on(dev, &opt, 2, 7, out) : -1;
    if (out) fclose(out);
    const char *loss = text_out ? strstr(text_out, "; loss ") : NULL;
    double first = NAN, last = NAN;
    bool parsed = loss && sscanf(loss, "; loss %lf -> %lf", &first, &last) == 2;
    tap_ok(rc == 0 && parsed && isfinite(first) && isfinite(last) && strstr(text_out, "step: median"),
           "moec bench --backend cuda's runs on the emulated device: 3 steps of %s, loss %.4f -> %.4f", sm->file, first,
           last);
    free(text_out);
    rt_device_close(dev);
    moec_diag_free(&d);
}

int main(void)
{
    if (!rt_cpu_step_available()) {
        printf("1..0 # SKIP no CPU backend (configure found no LLVM) to compare with\n");
        return 0;
    }
    const char *cxx = getenv("MOEC_TEST_CXX");
    if (!cxx || !*cxx) cxx = "c++";
    if (!shim_have_cxx(cxx)) {
        printf("1..0 # SKIP no C++ compiler (%s) to build the emulated device's kernels\n", cxx);
        return 0;
    }
    emu_options eo = { .cxx = cxx, .shim_h = SHIM_H, .grid_cap = GRID_CAP };
    for (size_t i = 0; i < sizeof MODELS / sizeof *MODELS; i++) test_model(MODELS[i], &eo, i == 1);
    test_bench(&eo);
    return tap_done();
}
