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
 * ~1e3 terms, amplified by the step's depth; measured worst below 1e-6.
 * Then router kinds compiled with keep_stats and keep_logits: the kept
 * values (logits, token_loss, SCOPE.probs/.assign/.keep) against the
 * interpreter's, SCOPE.probs against softmax of the raw logits, and
 * mean(token_loss) against lm_loss. */
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

/* SCOPE.probs are the clean probabilities: softmax of the interpreter's raw
 * router logits [n,E] row by row (no noise), whatever the router's noise. */
static double check_clean(const rt_cpu_step *s, const char *name, ir_interp *it, const ir_graph *g, int logits)
{
    if (logits < 0) return 0;
    const ir_shape *zs = &g->nodes[logits].shape;
    int64_t n = zs->dim[0], e = zs->dim[1];
    const double *z = ir_interp_value(it, logits);
    double *p = malloc(sizeof(double) * (size_t)(n * e)), *want = malloc(sizeof(double) * (size_t)(n * e));
    double err = INFINITY;
    if (z && p && want && rt_cpu_step_get(s, name, p, n * e) == 0) {
        for (int64_t i = 0; i < n; i++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < e; j++) mx = fmax(mx, z[i * e + j]);
            for (int64_t j = 0; j < e; j++) sum += want[i * e + j] = exp(z[i * e + j] - mx);
            for (int64_t j = 0; j < e; j++) want[i * e + j] /= sum;
        }
        err = tensor_err(p, want, n * e);
    }
    if (!(err <= TOL)) tap_diag("  %s: not softmax(logits), error %.3g", name, err);
    free(p);
    free(want);
    return err;
}

/* The kept values of ir_step_keep (pipeline keep_stats and keep_logits):
 * "logits", "token_loss" and every MoE layer's SCOPE.probs, SCOPE.assign and
 * SCOPE.keep, against the interpreter's nodes; each must exist when the
 * step has the node. Also lm_loss = the mean of token_loss over the
 * positions with a target (step_case.h leaves every fifth out), and those
 * left out have a token_loss of exactly 0. */
static double compare_kept(const rt_cpu_step *s, const step_case *c, ir_interp *it, int *count)
{
    const ir_lowered *l = &c->s.fwd;
    double worst = 0;
    *count = 0;
    if (l->token_loss < 0) return INFINITY;                 /* the stats lowering built it */
    worst = fmax(worst, compare(s, "logits", it, &c->g, l->logits));
    worst = fmax(worst, compare(s, "token_loss", it, &c->g, l->token_loss));
    *count += 2;
    int64_t n = ir_shape_numel(&c->g.nodes[l->token_loss].shape);
    double *tl = malloc(sizeof(double) * (size_t)n), lm;
    double mean = 0;
    if (tl && rt_cpu_step_get(s, "token_loss", tl, n) == 0 && rt_cpu_step_get(s, "lm_loss", &lm, 1) == 0) {
        int64_t counted = 0;
        bool zero_left_out = true;
        for (int64_t i = 0; i < n; i++) {
            bool predicts = i % 5 != 4;   /* step_leaf_value's targets */
            counted += predicts;
            if (predicts) mean += tl[i];
            else zero_left_out = zero_left_out && tl[i] == 0;
        }
        mean /= (double)counted;
        double e = zero_left_out ? fabs(mean - lm) / fmax(fabs(lm), 1e-30) : INFINITY;
        if (!(e <= TOL)) tap_diag("  mean(token_loss) %.9g vs lm_loss %.9g", mean, lm);
        worst = fmax(worst, e);
    } else {
        worst = INFINITY;
    }
    free(tl);
    char name[320];
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        const ir_routing *r = &ml->routing;
        if (r->has_probs != (ml->clean_probs >= 0)) worst = INFINITY;
        snprintf(name, sizeof name, "%s.probs", ml->scope);
        worst = fmax(worst, compare(s, name, it, &c->g, ml->clean_probs));
        worst = fmax(worst, check_clean(s, name, it, &c->g, r->logits));
        snprintf(name, sizeof name, "%s.assign", ml->scope);
        worst = fmax(worst, compare(s, name, it, &c->g, r->slot_expert >= 0 ? r->slot_expert : r->choice_row));
        snprintf(name, sizeof name, "%s.keep", ml->scope);
        worst = fmax(worst, compare(s, name, it, &c->g, r->slot_keep));
        *count += 3;
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

/* The step built with keep_stats and keep_logits: its kept values against
 * the interpreter's, and the losses still as without them. */
static void test_kept(const step_model *sm)
{
    step_case c;
    if (step_case_build_stats(&c, sm, IR_MOE_SPARSE, true, true) < 0) {
        tap_ok(false, "%s: the reference step with statistics builds", c.name);
        step_case_free(&c);
        return;
    }
    int64_t vocab = c.fe.model.params[0].shape.dim[0];
    ir_interp *it = ir_interp_new(&c.g, IR_PREC_F32);
    bool ref_ok = it && step_bind_all(it, &c.g, vocab) == 0 && ir_interp_run(it, -1, c.g.diag) == 0;
    fe_override sets[STEP_MAX_SETS];
    char text[STEP_MAX_SETS][64], path[512];
    rt_pipeline_options opt = options(sm, sets, text, path, sizeof path, true);
    opt.keep_stats = opt.keep_logits = true;
    rt_cpu_step_options co = { .threads = THREADS };
    rt_cpu_step s;
    bool built = rt_cpu_step_build(&s, &opt, &co) == 0;
    bool ran = built && bind_leaves(&s, vocab) == 0 && rt_cpu_step_run(&s) == 0;
    int count = 0, count_all = 0;
    double worst = ref_ok && ran ? compare_kept(&s, &c, it, &count) : INFINITY;
    double worst_all = ref_ok && ran ? compare_all(&s, &c, it, &count_all) : INFINITY;
    tap_ok(worst <= TOL, "%s keep_stats keep_logits: %d kept values (logits, token_loss, router probs/assign/keep) "
           "within %g, mean(token_loss) = lm_loss, worst %.3g", c.name, count, TOL, worst);
    tap_ok(worst_all <= TOL, "%s keep_stats keep_logits: the %d other tensors still within %g, worst %.3g", c.name,
           count_all, TOL, worst_all);
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
    /* kept values: top-1, top-2, noisy top-2 (clean probs differ from the noisy), expert choice,
       a capacity that drops (chimera), sequence routing, label routing (no probabilities) */
    static const int kept[] = { 1, 2, 3, 4, 7, 8, 11 };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) test_kept(&STEP_MODELS[kept[i]]);
    return tap_done();
}
