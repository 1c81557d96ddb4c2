/* ir/lower.h -- the elaborated model (frontend/model.h) as a forward graph.
 * Binds B and T, turns every fe_model parameter into a PARAM leaf (index =
 * its fe_model index), every high-level node into primitive ops
 * (ir/composite.h), every MoE node into its router (ir/moe.h) and either its
 * sparse form (ir/moe_sparse.h) or the dense-oracle combine, and the loss
 * into CE + sum of coef * auxiliary terms.
 * Training and evaluation semantics differ (dropout, noise): chosen here. */
#ifndef MOEC_IR_LOWER_H
#define MOEC_IR_LOWER_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/model.h"
#include "ir/graph.h"
#include "ir/moe.h"

/* How MoE layers are lowered (doc/model-semantics.md): the sparse form
 * (dispatch plan, grouped products; the default) or the dense oracle
 * (every expert on every token). Both give the same values. */
typedef enum ir_moe_form { IR_MOE_SPARSE, IR_MOE_DENSE } ir_moe_form;

typedef struct ir_lower_options {
    int64_t batch;     /* B */
    int64_t seq;       /* T */
    bool training;     /* dropout, router noise; false: evaluation semantics */
    ir_moe_form moe;   /* IR_MOE_SPARSE (0, the default) or IR_MOE_DENSE */
    bool stats;        /* also build the per-token values metrics read: token_loss and each
                          layer's clean probabilities (false: the graph is as without them) */
} ir_lower_options;

/* One MoE layer of the lowered model. */
typedef struct ir_moe_layer {
    int fe_node;           /* the MOE node of the fe_model */
    int router;            /* index into fe_model.routers */
    int64_t experts;       /* E */
    const char *scope;     /* "h.3.mlp" */
    ir_routing routing;    /* weights [N,E], frac [E], lb/z/importance/load/dropped [] */
    int clean_probs;       /* with opt.stats: f32 [n,E] softmax of the raw logits, no noise
                              (routing.probs itself when it has none); -1 otherwise or
                              for routers without probabilities (hash, label) */
    bool sparse;           /* lowered in the sparse form */
    const char *dense_why; /* the sparse form was asked for but the layer cannot take it: why
                              (static text); NULL otherwise */
} ir_moe_layer;

/* The forward graph's named values (node ids). */
typedef struct ir_lowered {
    const fe_model *model;
    int n_params;
    int *params;           /* [n_params] PARAM node of each fe_model param */
    int tokens;            /* i32 [B,T] INPUT */
    int targets;           /* i32 [B,T] INPUT */
    int domain;            /* i32 [B] INPUT */
    int step;              /* f32 [] INPUT */
    int logits;            /* f32 [B,T,V] */
    int lm_loss;           /* f32 []: mean cross-entropy over B*T positions */
    int token_loss;        /* with opt.stats: f32 [B*T] the cross-entropy of each position
                              (lm_loss is its mean); -1 otherwise */
    int lb_loss;           /* f32 []: mean layer LB over layers of routers with probabilities, or 0 */
    int z_loss;            /* f32 []: the same for the z-loss */
    int loss;              /* f32 []: the model's loss, CE + sum coef * aux term */
    ir_moe_layer *moe;     /* [n_moe] in model order */
    int n_moe;
} ir_lowered;

/* Lowers m into g (an initialised, empty or not, graph). Arrays of *out live
 * in g's arena. Returns 0, or -1 after reporting why through g->diag. */
int ir_lower(ir_graph *g, const fe_model *m, const ir_lower_options *opt, ir_lowered *out);

/* Philox stream bases (doc/model-semantics.md#random-numbers): init uses
 * streams 0.. (param index) at step 0, so the lowering's draws live in ranges
 * of their own, keyed by the fe node id of the op that draws. */
#define IR_STREAM_DROPOUT 0x10000000LL   /* + 2 * node id (attention uses 2) */
#define IR_STREAM_ROUTER  0x20000000LL   /* + IR_MOE_STREAMS * node id */

#endif
