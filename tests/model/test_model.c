/* tests/model/test_model.c -- whole models of models/ lowered and checked on
 * the interpreter: finite-difference gradients of the total training loss
 * (float64, relative error <= 1e-6, up to 6 elements of every parameter)
 * for the dense model and every router kind, at a tiny size set with --set;
 * and the float32 interpreter against the float64 one (loss and gradients,
 * 1e-5 relative; gradients per tensor in L2). Straight-through models check
 * only the parameters after the routing decision (their FD is exact); the
 * router's straight-through gradient is checked in test_moe and torch_ref.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/step.h"
#include "runtime/cli_args.h"
#include "tests/model/fd.h"
#include "tests/tap.h"

enum { BATCH = 2, SEQ = 4, MAX_MODEL_SETS = 12 };

typedef struct model_case {
    const char *file;
    const char *sets[MAX_MODEL_SETS];
    bool straight_through;     /* FD only after the routing decision */
} model_case;

#define TINY "vocab=11", "d=8", "heads=2", "ctx=8", "seq=8"
static const model_case CASES[] = {
    {"gpt2-dense-tiny.moe", {TINY, "layers=2", "dropout=0.1"}, false},
    {"gpt2-moe-tiny.moe", {TINY, "layers=2", "moe_from=1", "experts=3"}, true},
    {"gpt2-moe-tiny.moe", {TINY, "layers=2", "moe_from=1", "experts=3", "top_k=2"}, false},
    {"small-moe-tiny.moe", {TINY, "layers=2", "experts=3", "router_kind=noisy_topk", "top_k=2"}, false},
    {"small-moe-tiny.moe", {TINY, "layers=2", "experts=3", "router_kind=expert_choice"}, false},
    {"small-moe-tiny.moe", {TINY, "layers=2", "experts=3", "aux_coef=0.1"}, false},
    {"chimera-tiny.moe", {TINY, "layers=2", "experts=3", "lb_coef=0.01"}, false},
    {"chimera-tiny.moe", {TINY, "layers=2", "experts=3", "noisy_gate=true"}, false},
    {"fan-routing-tiny.moe", {TINY, "layers=2", "experts=3", "unit=sequence", "top_k=2"}, false},
    {"fan-routing-tiny.moe", {TINY, "layers=2", "experts=3", "router_mode=frozen", "top_k=2"}, false},
    {"fan-routing-tiny.moe", {TINY, "layers=2", "experts=3", "router_mode=random", "top_k=2"}, false},
    {"fan-routing-tiny.moe", {TINY, "layers=2", "experts=3", "router_mode=label"}, false},
};

/* Parameter values: around the init's centre with a spread that makes the
 * routers decide clearly (N(0, 0.3) weights). */
static double param_value(const fe_param *p, int index, int64_t i)
{
    double u = ir_philox_normal(77, 1, (uint32_t)index, (uint64_t)i);
    return p->init == FE_INIT_ONES ? 1 + 0.1 * u : p->init == FE_INIT_ZEROS ? 0.1 * u : 0.3 * u;
}

/* The case's label, e.g. "gpt2-moe-tiny.moe top_k=2". */
static void case_name(const model_case *mc, char *buf, size_t size)
{
    int used = snprintf(buf, size, "%s", mc->file);
    for (int i = 6; i < MAX_MODEL_SETS && mc->sets[i] && used < (int)size; i++)   /* after TINY, layers  */
        used += snprintf(buf + used, size - (size_t)used, " %s", mc->sets[i]);
}

static int elaborate(const model_case *mc, rt_frontend *fe)
{
    char path[512];
    int n = 0;
    while (n < MAX_MODEL_SETS && mc->sets[n]) n++;
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/%s", top ? top : ".", mc->file);
    return rt_frontend_elaborate_sets(fe, path, mc->sets, n);
}

/* Builds the step graph (no optimizer) into c, with every parameter a leaf. */
static int build_case(fd_case *c, const fe_model *m, ir_step_graph *s)
{
    fd_init(c, 5);
    ir_lower_options opt = {BATCH, SEQ, true, IR_MOE_SPARSE, false};
    if (ir_step_build(&c->g, m, &opt, false, s) < 0) return -1;
    for (int i = 0; i < m->n_params && i < FD_MAX_LEAVES; i++) {
        int64_t n = fd_numel(c, s->fwd.params[i]);
        double *v = malloc(sizeof(double) * (size_t)n);
        for (int64_t j = 0; j < n; j++) v[j] = param_value(&m->params[i], i, j);
        c->leaf[c->n_leaves] = s->fwd.params[i];
        c->value[c->n_leaves++] = v;
    }
    double tok[BATCH * SEQ], tgt[BATCH * SEQ], dom[BATCH] = {1, 2}, step = 0;
    for (int i = 0; i < BATCH * SEQ; i++) {
        tok[i] = (double)((i * 7 + 3) % m->vocab);
        tgt[i] = (double)((i * 5 + 1) % m->vocab);
    }
    fd_fix(c, s->fwd.tokens, tok);
    fd_fix(c, s->fwd.targets, tgt);
    fd_fix(c, s->fwd.domain, dom);
    fd_fix(c, s->fwd.step, &step);
    c->loss = s->fwd.loss;
    return m->n_params <= FD_MAX_LEAVES ? 0 : -1;
}

/* Straight-through: parameters before the last MoE layer's experts feed its
 * router, so their FD is not the straight-through gradient. */
static void mark_straight_through(fd_case *c, const fe_model *m)
{
    int first_after = m->n_params;
    for (int i = m->n_params - 1; i >= 0; i--)
        if (m->params[i].router >= 0) { first_after = i + 1; break; }
    for (int i = 0; i < first_after; i++) c->no_fd[i] = true;
}

static double rel_diff(const double *a, const double *b, int64_t n)
{
    double d2 = 0, n2 = 1e-300;
    for (int64_t i = 0; i < n; i++) d2 += (a[i] - b[i]) * (a[i] - b[i]), n2 += b[i] * b[i];
    return sqrt(d2 / n2);
}

/* float32 interpreter against float64 on the same graph. */
static void check_precision(fd_case *c, const ir_step_graph *s, const fe_model *m, const char *name)
{
    ir_interp *a = ir_interp_new(&c->g, IR_PREC_F64), *b = ir_interp_new(&c->g, IR_PREC_F32);
    bool ok = a && b && fd_bind(c, a) == 0 && fd_bind(c, b) == 0 && ir_interp_run(a, -1, c->g.diag) == 0 &&
              ir_interp_run(b, -1, c->g.diag) == 0;
    double dl = ok ? fabs(ir_interp_value(a, s->fwd.loss)[0] / ir_interp_value(b, s->fwd.loss)[0] - 1) : 1;
    double dg = 0;
    for (int i = 0; ok && i < m->n_params; i++)
        if (m->params[i].trainable)
            dg = fmax(dg, rel_diff(ir_interp_value(b, s->grad[i]), ir_interp_value(a, s->grad[i]),
                                   fd_numel(c, s->grad[i])));
    /* 1e-5: float32 rounds each step by up to 6e-8 (2^-24); a tiny model's
     * loss and gradients are a few dozen roundings deep along their longest
     * sums (measured up to 1.2e-6 on gradients), so 1e-5 leaves ~8x */
    tap_ok(ok && dl <= 1e-5, "%s: float32 loss within 1e-5 of float64 (%.2e)", name, dl);
    tap_ok(ok && dg <= 1e-5, "%s: float32 gradients within 1e-5 of float64 per tensor (worst %.2e)", name, dg);
    ir_interp_free(a);
    ir_interp_free(b);
}

static void check_model(const model_case *mc)
{
    char name[200];
    case_name(mc, name, sizeof name);
    rt_frontend fe;
    if (elaborate(mc, &fe) != 0) {
        tap_ok(false, "%s: elaborates", name);
        rt_frontend_free(&fe);
        return;
    }
    fd_case c;
    ir_step_graph s;
    if (build_case(&c, &fe.model, &s) < 0) {
        tap_ok(false, "%s: builds (%s)", name, sink_text(c.g.diag));
    } else {
        if (mc->straight_through) mark_straight_through(&c, &fe.model);
        for (int i = 0; i < fe.model.n_params; i++) c.no_fd[i] |= !fe.model.params[i].trainable;
        double err = fd_check(&c, 6, NULL);
        /* 1e-6: float64 finite differences are good to ~1e-10 (fd.h) */
        tap_ok(err >= 0 && err <= 1e-6, "%s: finite differences of the training loss%s (rel err %.2e)", name,
               mc->straight_through ? " after the routing" : "", err);
        check_precision(&c, &s, &fe.model, name);
    }
    fd_free(&c);
    rt_frontend_free(&fe);
}

int main(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) check_model(&CASES[i]);
    sink_close();
    return tap_done();
}
