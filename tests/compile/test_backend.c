/* tests/compile/test_backend.c -- the CPU backend against the reference
 * interpreter on whole training steps: every tiny model of STEP_MODELS (the
 * dense model and every router kind, sparse MoE), compiled through the
 * whole pipeline (simplify, fuse, memory plan, LLVM) and run on 2 threads,
 * fused and with --no-fuse; the float32 interpreter evaluates the same
 * step graph on the same leaf values. Compared, tensor by tensor: the loss
 * terms, every gradient, and the parameters and AdamW moments after the
 * step. Tolerance 1e-5 of each tensor's largest magnitude: both compute in
 * float32 but sum in different orders (8-lane partial sums, BLAS blocking),
 * a difference of a few float32 ulps (6e-8) per term over sums of up to
 * ~1e3 terms, amplified by the step's depth; measured worst below 1e-6. */
#include "runtime/cpu_step.h"
#include "tests/compile/step_case.h"
#include "tests/tap.h"

enum { THREADS = 2 };
static const double TOL = 1e-5;

/* max |a - b| / max |b| over a tensor (0 when both are zero). */
static double tensor_err(const double *a, const double *b, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= diff)) diff = e;
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

/* The leaf values of step_case.h, into the compiled step by buffer name. */
static int bind_leaves(rt_cpu_step *s, int64_t vocab)
{
    const ir_graph *g = &s->pipe.graph;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if (n->op != IR_INPUT && n->op != IR_PARAM) continue;
        int64_t k = ir_shape_numel(&n->shape);
        double *v = malloc(sizeof(double) * (size_t)k);
        if (!v) return -1;
        for (int64_t i = 0; i < k; i++) v[i] = step_leaf_value(g, id, i, vocab);
        int rc = rt_cpu_step_set(s, n->label, v, k);
        free(v);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Compares buffer `name` of s with node `node` of the interpreter; returns the error. */
static double compare(const rt_cpu_step *s, const char *name, ir_interp *it, const ir_graph *g, int node)
{
    if (node < 0) return 0;
    int64_t n = ir_shape_numel(&g->nodes[node].shape);
    double *v = malloc(sizeof(double) * (size_t)n);
    const double *ref = ir_interp_value(it, node);
    double e = v && ref && rt_cpu_step_get(s, name, v, n) == 0 ? tensor_err(v, ref, n) : INFINITY;
    if (!(e <= TOL)) tap_diag("  %s: error %.3g", name, e);
    free(v);
    return e;
}

/* Every named value of the step: losses, gradients, updated parameters and moments. */
static double compare_all(const rt_cpu_step *s, const step_case *c, ir_interp *it, int *count)
{
    const ir_step_graph *st = &c->s;
    const fe_model *m = &c->fe.model;
    const char *losses[] = { "loss", "lm_loss", "lb_loss", "z_loss", "grad_norm", "lr" };
    const int nodes[] = { st->fwd.loss, st->fwd.lm_loss, st->fwd.lb_loss, st->fwd.z_loss, st->grad_norm, st->lr };
    double worst = 0;
    *count = 0;
    for (int i = 0; i < 6; i++, ++*count) worst = fmax(worst, compare(s, losses[i], it, &c->g, nodes[i]));
    char name[320];
    for (int i = 0; i < m->n_params; i++) {
        snprintf(name, sizeof name, "grad.%s", m->params[i].name);
        worst = fmax(worst, compare(s, name, it, &c->g, st->grad[i]));
        worst = fmax(worst, compare(s, m->params[i].name, it, &c->g, st->new_param[i]));
        snprintf(name, sizeof name, "adam.m.%s", m->params[i].name);
        worst = fmax(worst, compare(s, name, it, &c->g, st->new_m[i]));
        snprintf(name, sizeof name, "adam.v.%s", m->params[i].name);
        worst = fmax(worst, compare(s, name, it, &c->g, st->new_v[i]));
        *count += 4;
    }
    return worst;
}

/* The pipeline options of a model of STEP_MODELS. */
static rt_pipeline_options options(const step_model *sm, fe_override *sets, char text[][64], char *path,
                                   size_t path_size, bool fuse)
{
    int n = 0;
    for (; n < STEP_MAX_SETS && sm->sets[n]; n++) {
        snprintf(text[n], 64, "%s", sm->sets[n]);
        rt_cli_parse_set(text[n], &sets[n]);
    }
    const char *top = getenv("top_srcdir");
    snprintf(path, path_size, "%s/models/%s", top ? top : ".", sm->file);
    return (rt_pipeline_options){ .model = path, .sets = sets, .n_sets = n, .batch = STEP_BATCH, .seq = STEP_SEQ,
                                  .no_fuse = !fuse, .step = RT_STEP_TRAIN };
}

static void test_model(const step_model *sm, bool fuse)
{
    step_case c;
    if (step_case_build(&c, sm) < 0) {
        tap_ok(false, "%s: the reference step builds", c.name);
        step_case_free(&c);
        return;
    }
    int64_t vocab = c.fe.model.params[0].shape.dim[0];
    ir_interp *it = ir_interp_new(&c.g, IR_PREC_F32);
    bool ref_ok = it && step_bind_all(it, &c.g, vocab) == 0 && ir_interp_run(it, -1, c.g.diag) == 0;
    fe_override sets[STEP_MAX_SETS];
    char text[STEP_MAX_SETS][64], path[512];
    rt_pipeline_options opt = options(sm, sets, text, path, sizeof path, fuse);
    rt_cpu_step_options co = { .threads = THREADS };
    rt_cpu_step s;
    bool built = rt_cpu_step_build(&s, &opt, &co) == 0;
    bool ran = built && bind_leaves(&s, vocab) == 0 && rt_cpu_step_run(&s) == 0;
    tap_ok(ref_ok && ran, "%s%s: compiled (%d launches, %d loop kernels) and ran", c.name, fuse ? "" : " --no-fuse",
           built ? s.pipe.kernels.n_launches : 0, s.info.kernels);
    int count = 0;
    double worst = ref_ok && ran ? compare_all(&s, &c, it, &count) : INFINITY;
    tap_ok(worst <= TOL, "%s%s: %d tensors (losses, gradients, parameters and moments after AdamW) within %g, worst %.3g",
           c.name, fuse ? "" : " --no-fuse", count, TOL, worst);
    rt_cpu_step_free(&s);
    ir_interp_free(it);
    step_case_free(&c);
}

int main(void)
{
    if (!rt_cpu_step_available()) {
        printf("1..0 # SKIP the CPU backend is not built (no LLVM)\n");
        return 0;
    }
    for (int i = 0; i < STEP_N_MODELS; i++) test_model(&STEP_MODELS[i], true);
    for (int i = 0; i < STEP_N_MODELS; i += 4) test_model(&STEP_MODELS[i], false);
    return tap_done();
}
