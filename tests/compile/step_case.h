/* tests/compile/step_case.h -- whole training steps of tiny models for the
 * compiler's tests: a model file of models/ with --set values, lowered into
 * the step graph (forward, gradients, clipping, AdamW), with every leaf
 * bound to fresh Philox draws (parameters, moments, tokens, targets,
 * domains, the step), evaluated on the reference interpreter. A pass or a
 * backend is then compared with these values, root by root. */
#ifndef MOEC_TESTS_COMPILE_STEP_CASE_H
#define MOEC_TESTS_COMPILE_STEP_CASE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/philox.h"
#include "ir/step.h"
#include "runtime/cli_args.h"

enum { STEP_MAX_SETS = 12, STEP_BATCH = 2, STEP_SEQ = 4 };

typedef struct step_model {
    const char *file;
    const char *sets[STEP_MAX_SETS];
} step_model;

/* Every router kind and the dense model, tiny (vocab 11, d 8, 2 layers). */
#define STEP_TINY "vocab=11", "d=8", "heads=2", "ctx=8", "seq=8", "layers=2"
static const step_model STEP_MODELS[] = {
    {"gpt2-dense-tiny.moe", {STEP_TINY}},
    {"gpt2-moe-tiny.moe", {STEP_TINY, "moe_from=1", "experts=3"}},
    {"gpt2-moe-tiny.moe", {STEP_TINY, "moe_from=1", "experts=3", "top_k=2"}},
    {"small-moe-tiny.moe", {STEP_TINY, "experts=3", "router_kind=noisy_topk", "top_k=2"}},
    {"small-moe-tiny.moe", {STEP_TINY, "experts=3", "router_kind=expert_choice"}},
    {"small-moe-tiny.moe", {STEP_TINY, "experts=3", "aux_coef=0.1"}},
    {"chimera-tiny.moe", {STEP_TINY, "experts=3", "lb_coef=0.01"}},
    {"chimera-tiny.moe", {STEP_TINY, "experts=3", "noisy_gate=true"}},
    {"fan-routing-tiny.moe", {STEP_TINY, "experts=3", "unit=sequence", "top_k=2"}},
    {"fan-routing-tiny.moe", {STEP_TINY, "experts=3", "router_mode=frozen", "top_k=2"}},
    {"fan-routing-tiny.moe", {STEP_TINY, "experts=3", "router_mode=random", "top_k=2"}},
    {"fan-routing-tiny.moe", {STEP_TINY, "experts=3", "router_mode=label"}},
};
#define STEP_N_MODELS ((int)(sizeof STEP_MODELS / sizeof STEP_MODELS[0]))

typedef struct step_case {
    rt_frontend fe;
    ir_graph g;
    ir_step_graph s;
    char name[160];
} step_case;

/* "gpt2-moe-tiny.moe top_k=2": the file and the sets after the common ones. */
static inline void step_case_name(const step_model *sm, char *buf, size_t size)
{
    int used = snprintf(buf, size, "%s", sm->file);
    for (int i = 6; i < STEP_MAX_SETS && sm->sets[i] && used >= 0 && used < (int)size; i++)
        used += snprintf(buf + used, size - (size_t)used, " %s", sm->sets[i]);
}

/* Elaborates and builds the step (with the optimizer when asked), its MoE
 * layers in the given form, with the metrics' per-token values when `stats`
 * (ir_lower_options.stats). 0 or -1. */
static inline int step_case_build_stats(step_case *c, const step_model *sm, ir_moe_form form, bool optimizer,
                                        bool stats)
{
    memset(c, 0, sizeof *c);
    step_case_name(sm, c->name, sizeof c->name);
    char path[512];
    int n = 0;
    while (n < STEP_MAX_SETS && sm->sets[n]) n++;
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/%s", top ? top : ".", sm->file);
    if (rt_frontend_elaborate_sets(&c->fe, path, sm->sets, n)) return -1;
    if (ir_graph_init(&c->g) < 0) return -1;
    c->g.diag = &c->fe.diag;
    ir_lower_options opt = {STEP_BATCH, STEP_SEQ, true, form, stats};
    return ir_step_build(&c->g, &c->fe.model, &opt, optimizer, &c->s);
}

static inline int step_case_build_form(step_case *c, const step_model *sm, ir_moe_form form, bool optimizer)
{
    return step_case_build_stats(c, sm, form, optimizer, false);
}

/* The whole step in the default (sparse) form. */
static inline int step_case_build(step_case *c, const step_model *sm)
{
    return step_case_build_form(c, sm, IR_MOE_SPARSE, true);
}

static inline void step_case_free(step_case *c)
{
    ir_graph_free(&c->g);
    rt_frontend_free(&c->fe);
}

/* The value of element i of leaf `node` of g, keyed by what the leaf is (its
 * input slot or parameter index), not by its id, so that a rebuilt graph
 * gets the same values: token ids below the vocabulary (every fifth target
 * -1: a position with nothing to predict), domains below 3,
 * the step 7, N(0, 0.3) parameters, moments 0.01 N(0,1) and v positive. */
static inline double step_leaf_value(const ir_graph *g, int node, int64_t i, int64_t vocab)
{
    const ir_node *n = &g->nodes[node];
    uint32_t key = (uint32_t)(n->op == IR_PARAM ? 100 + ir_attr_index(n) : ir_attr_slot(n));
    double u = ir_philox_normal(4242, 3, key, (uint64_t)i);
    if (n->op == IR_INPUT) {
        if (n->dtype == IR_F32) return 7.0;                                  /* the step */
        if (ir_attr_slot(n) == IR_INPUT_TARGETS && i % 5 == 4) return -1.0;
        uint64_t r = (uint64_t)(ir_philox_uniform(99, 1, key, (uint64_t)i) * 1e9);
        return n->shape.rank == 1 ? (double)(r % 3) : (double)(r % (uint64_t)vocab);
    }
    if (n->label && !strncmp(n->label, "adam.v.", 7)) return 0.01 * fabs(u) + 1e-4;
    if (n->label && !strncmp(n->label, "adam.m.", 7)) return 0.01 * u;
    return 0.3 * u;
}

/* Binds every leaf of g that `it` evaluates. 0 or -1. */
static inline int step_bind_all(ir_interp *it, const ir_graph *g, int64_t vocab)
{
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if (n->op != IR_INPUT && n->op != IR_PARAM) continue;
        int64_t k = ir_shape_numel(&n->shape);
        double *v = malloc(sizeof(double) * (size_t)(k ? k : 1));
        if (!v) return -1;
        for (int64_t i = 0; i < k; i++) v[i] = step_leaf_value(g, id, i, vocab);
        int rc = ir_interp_bind(it, id, v);
        free(v);
        if (rc < 0) return -1;
    }
    return 0;
}

/* max |a - b| / max(|b|, floor) over n values: a relative error that does not
 * blow up on values that are zero in both. */
static inline double step_rel_err(const double *a, const double *b, int64_t n, double floor)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double scale = fabs(b[i]) > floor ? fabs(b[i]) : floor;
        double e = fabs(a[i] - b[i]) / scale;
        if (!(e <= worst)) worst = e;   /* NaN wins */
    }
    return worst;
}

#endif
