/* ir/step.h -- the training step as one graph (doc/model-semantics.md):
 * the lowered forward and loss (ir/lower.h), the gradient of the loss with
 * respect to every parameter (ir/autodiff.h), global-norm clipping, and
 * AdamW with the learning-rate schedule computed in the graph from the STEP
 * input. `moec grad` builds it without the optimizer; `moec ir` runs the
 * same steps as passes (runtime/passes.c). */
#ifndef MOEC_IR_STEP_H
#define MOEC_IR_STEP_H

#include <stdbool.h>

#include "frontend/model.h"
#include "ir/graph.h"
#include "ir/lower.h"

typedef struct ir_step_graph {
    ir_lowered fwd;        /* forward values: loss, lm_loss, lb_loss, z_loss, logits, ... */
    int *grad;             /* [n_params] d loss / d param before clipping; CONST 0 when frozen */
    bool optimizer;        /* the nodes below exist */
    int grad_norm;         /* [] global L2 norm of the trainable gradients */
    int clip_scale;        /* [] min(1, clip / (norm + 1e-6)), or 1 when clip = 0 */
    int lr;                /* [] learning rate at STEP */
    int *m_in, *v_in;      /* [n_params] AdamW moments: PARAM leaves with index n_params + i and
                              2 n_params + i, named "adam.m.NAME" / "adam.v.NAME" (-1 when frozen) */
    int *new_param;        /* [n_params] updated parameter (the PARAM itself when frozen) */
    int *new_m, *new_v;    /* [n_params] updated moments (-1 when frozen) */
} ir_step_graph;

/* The autodiff pass: s->fwd holds what ir_lower(g, m, ...) built; appends
 * d loss / d param for every parameter (CONST 0 for frozen ones) and sets
 * s->grad. Returns 0, or -1 after reporting through g->diag. Arrays live in g's arena. */
int ir_step_grad(ir_graph *g, const fe_model *m, ir_step_graph *s);

/* The optimizer pass, after ir_step_grad: appends global-norm clipping, the
 * learning rate at STEP and AdamW, and sets the fields below `optimizer`.
 * Returns 0, or -1 after reporting through g->diag. */
int ir_step_optimizer(ir_graph *g, const fe_model *m, ir_step_graph *s);

/* The three in a row: lowers m with opt (opt->training should be true for a
 * training step), differentiates the loss and, when `optimizer`, appends
 * clipping and AdamW. Returns 0, or -1 after reporting through g->diag. */
int ir_step_build(ir_graph *g, const fe_model *m, const ir_lower_options *opt, bool optimizer,
                  ir_step_graph *out);

/* The learning rate at `step` (a scalar node) by the train settings:
 * lr (s+1)/warmup for s < warmup, then cosine / linear to min_lr over the
 * remaining steps, or constant. */
int ir_lr_schedule(ir_graph *g, int step, const fe_train *t);

#endif
