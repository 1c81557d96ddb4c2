/* frontend/model.h -- the elaborated model: what the front end hands to ir/.
 * Elaboration (elab.c) runs the model file at compile time: params resolved
 * (with --set), blocks called, loops and ifs unrolled, names given, shapes
 * checked. What is left is flat data:
 *   params   every parameter tensor: dotted name, shape, initialisation
 *   routers  every router with its resolved settings
 *   nodes    the forward computation as high-level ops in topological order
 *   loss     the loss as a weighted sum of terms
 *   train    the training settings
 * Shape legend: B batch, T sequence length (both bound at compile time from
 * the train settings or the command line), d model width, V vocabulary,
 * E experts. Symbolic dims are stored as FE_DIM_B / FE_DIM_T.
 * Every enum with names (node ops, init kinds, router kinds, routing units,
 * loss kinds, schedules, precisions) is written once, as an X-macro list
 * (lists.h): the enum, its count and its names come from the list. */
#ifndef MOEC_MODEL_H
#define MOEC_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/lists.h"
#include "support/diag.h"

enum { FE_MAX_RANK = 4, FE_MAX_NODE_INPUTS = 3, FE_MAX_NODE_PARAMS = 4 };

/* Limits of elaboration; each error that hits one names it. */
enum {
    FE_MAX_CALL_DEPTH = 64,            /* block calls nested */
    FE_MAX_LOOP_ITERATIONS = 100000,   /* iterations of one `for` */
    FE_MAX_NODES = 1000000,            /* graph nodes in one model */
    FE_MAX_ELAB_STEPS = 10000000,      /* statements and iterations run in all */
    FE_MAX_EVAL_DEPTH = 2048,          /* expression/statement nesting across block calls */
    FE_MAX_DIM = 2147483647,           /* largest size of one dimension */
    FE_MAX_EXPERTS = 4096,             /* experts of one moe layer */
};

/* A dimension is a size >= 1, or one of these symbols. */
enum { FE_DIM_B = -1, FE_DIM_T = -2 };

typedef struct fe_shape {
    int rank;
    int64_t dim[FE_MAX_RANK];
} fe_shape;

#define FE_INIT_KINDS(X) \
    X(FE_INIT_NORMAL, "normal")   /* N(0, std^2) */ \
    X(FE_INIT_ZEROS, "zeros") \
    X(FE_INIT_ONES, "ones")
typedef enum fe_init_kind { FE_INIT_KINDS(FE_LIST_ENUM) } fe_init_kind;
enum { FE_INIT_KIND_COUNT = 0 FE_INIT_KINDS(FE_LIST_COUNT) };
extern const char *const fe_init_kind_names[];

typedef struct fe_param {
    const char *name;        /* dotted, e.g. "h.3.mlp.c_fc.weight" */
    fe_shape shape;          /* all dims constant */
    fe_init_kind init;
    double init_std;         /* FE_INIT_NORMAL: 0.02, or 0.02/sqrt(2*layers) for residual projections */
    bool trainable;          /* false for a frozen router's weights */
    int router;              /* index into routers when this is a router weight, else -1 */
    const char *upcycle_from;/* expert params: dense tensor this copies on --upcycle, else NULL */
    bool residual;           /* residual projection: init_std scaled by 1/sqrt(2*layers) */
    moec_loc loc;              /* the call that created it */
} fe_param;

/* Router kinds: X(ENUM, "name", settings...). The settings a kind accepts,
 * with their defaults, are written FE_SET_INT/FLOAT/BOOL/STRING(name, default);
 * elab_router.c defines those macros to bind a declaration's arguments
 * (doc/language.md, Routers). Every other reader ignores them. */
#define FE_ROUTER_KINDS(X) \
    X(FE_ROUTER_TOPK, "topk",                  /* softmax, top-k; learned gate [E, d] */ \
      FE_SET_INT(k, 1), FE_SET_BOOL(straight_through, false), FE_SET_BOOL(renormalize, true), \
      FE_SET_FLOAT(noise_std, 0.0), FE_SET_FLOAT(noise_anneal, 0.0), \
      FE_SET_FLOAT(capacity_factor, 0.0), FE_SET_STRING(unit, "token"), FE_SET_BOOL(frozen, false)) \
    X(FE_ROUTER_NOISY_TOPK, "noisy_topk",      /* Shazeer 2017: gate and noise [E, d] */ \
      FE_SET_INT(k, 2), FE_SET_FLOAT(capacity_factor, 0.0), FE_SET_STRING(unit, "token"), \
      FE_SET_BOOL(frozen, false)) \
    X(FE_ROUTER_EXPERT_CHOICE, "expert_choice", /* Zhou 2022: each expert takes its top-C tokens */ \
      FE_SET_FLOAT(capacity_factor, 2.0)) \
    X(FE_ROUTER_RANDOM, "random",              /* gate weights re-drawn every step; no parameter */ \
      FE_SET_INT(k, 1)) \
    X(FE_ROUTER_HASH, "hash",                  /* expert = hash(token id) mod E; no parameter */ \
      FE_SET_INT(k, 1)) \
    X(FE_ROUTER_LABEL, "label",                /* expert chosen from the data's domain label; no parameter */ \
      FE_SET_INT(k, 1))
typedef enum fe_router_kind { FE_ROUTER_KINDS(FE_LIST_ENUM) } fe_router_kind;
enum { FE_ROUTER_KIND_COUNT = 0 FE_ROUTER_KINDS(FE_LIST_COUNT) };
extern const char *const fe_router_kind_names[];

#define FE_ROUTING_UNITS(X) \
    X(FE_UNIT_TOKEN, "token")          /* one decision per token */ \
    X(FE_UNIT_SEQUENCE, "sequence")    /* one decision per sequence, from its mean */
typedef enum fe_routing_unit { FE_ROUTING_UNITS(FE_LIST_ENUM) } fe_routing_unit;
enum { FE_ROUTING_UNIT_COUNT = 0 FE_ROUTING_UNITS(FE_LIST_COUNT) };
extern const char *const fe_routing_unit_names[];

typedef struct fe_router {
    const char *name;
    fe_router_kind kind;
    int k;                    /* experts per token (TOPK, NOISY_TOPK, RANDOM, HASH, LABEL) */
    bool straight_through;    /* k == 1: forward weight 1, gradient through the probability */
    bool renormalize;         /* k >= 2: the k weights are renormalised to sum to 1 */
    double noise_std;         /* Gaussian noise on logits in training; 0 = none */
    double noise_anneal;      /* fraction of steps over which noise_std falls linearly to 0; 0 = fixed */
    double capacity_factor;   /* tokens per expert = ceil(cf * tokens * k / E); 0 = dropless
                                 (EXPERT_CHOICE: C = tokens * cf / E, always > 0) */
    fe_routing_unit unit;
    bool frozen;              /* learned router kept at its initial weights */
    double init_std;          /* gate initialisation std */
    int n_layers;             /* MoE layers that use this router */
    moec_loc loc;
} fe_router;

/* Graph node ops, by the name `moec ir --stage elab` prints. */
#define FE_NODE_OPS(X) \
    /* inputs */ \
    X(FE_NODE_TOKENS, "tokens")                 /* [B, T] int token ids */ \
    X(FE_NODE_EXPERT_INPUT, "expert_input")     /* rows given to one expert: shape of the moe input */ \
    /* GPT-2 builtins */ \
    X(FE_NODE_EMBEDDING, "embedding")           /* in: tokens [B,T]  params: weight [V,d] -> [B,T,d] */ \
    X(FE_NODE_POS_EMBEDDING, "position_embedding") /* no input  params: weight [ctx,d] -> [T,d] */ \
    X(FE_NODE_SINUSOIDAL, "sinusoidal_positions")  /* no input; attr_i[0] = d -> [T,d] */ \
    X(FE_NODE_LAYERNORM, "layernorm")           /* in: x [...,d]  params: weight, bias [d] -> [...,d]; \
                                                   attr_f[0] eps */ \
    X(FE_NODE_LINEAR, "linear")                 /* in: x [...,in]  params: weight [in,out], bias [out] \
                                                   (optional) -> [...,out] */ \
    X(FE_NODE_GELU, "gelu") X(FE_NODE_RELU, "relu") X(FE_NODE_SILU, "silu") \
    X(FE_NODE_TANH, "tanh") X(FE_NODE_EXP, "exp") X(FE_NODE_SOFTMAX, "softmax") \
    X(FE_NODE_DROPOUT, "dropout")               /* in: x; attr_f[0] = p (training only) */ \
    X(FE_NODE_ATTENTION, "causal_self_attention") /* in: x [B,T,d]  params: c_attn.weight [d,3d], \
                                                   c_attn.bias [3d], c_proj.weight [d,d], c_proj.bias [d]; \
                                                   attr_i[0] heads, attr_f[0] dropout p */ \
    X(FE_NODE_LM_HEAD, "lm_head")               /* in: x [B,T,d]  params: weight [V,d] (the embedding's \
                                                   when tied) -> [B,T,V] */ \
    /* arithmetic with broadcasting (numpy rules over the shapes) */ \
    X(FE_NODE_ADD, "add") X(FE_NODE_SUB, "sub") X(FE_NODE_MUL, "mul") X(FE_NODE_DIV, "div") \
    X(FE_NODE_SCALE, "scale")                   /* in: x; attr_f[0] = constant factor (tensor * number) */ \
    X(FE_NODE_OFFSET, "offset")                 /* in: x; attr_f[0] = constant term (tensor + number) */ \
    /* mixture of experts */ \
    X(FE_NODE_MOE, "moe")                       /* in: x [B,T,d]; attr_i[0] router index, attr_i[1] E; \
                                                   params: router gate [E,d] (+ noise [E,d]); \
                                                   experts[] below -> [B,T,d] */
typedef enum fe_node_op { FE_NODE_OPS(FE_LIST_ENUM) } fe_node_op;
enum { FE_NODE_OP_COUNT = 0 FE_NODE_OPS(FE_LIST_COUNT) };
extern const char *const fe_node_op_names[];

/* One expert of a MoE node: its subgraph runs from `input` (an EXPERT_INPUT
 * node) to `output`; the subgraph's nodes have `expert_of` set to the MoE node. */
typedef struct fe_expert {
    int input;
    int output;
} fe_expert;

typedef struct fe_node {
    fe_node_op op;
    fe_shape shape;                   /* output shape, symbolic in B and T */
    int in[FE_MAX_NODE_INPUTS];       /* operand node ids */
    int n_in;
    int param[FE_MAX_NODE_PARAMS];    /* parameter ids, in the order the op's comment gives; -1 = absent */
    int n_param;
    int64_t attr_i[2];
    double attr_f[2];
    int expert_of;                    /* MoE node id for nodes inside an expert, else -1 */
    fe_expert *experts;               /* MOE: E entries */
    const char *scope;                /* dotted scope of the call, e.g. "h.3.attn" */
    moec_loc loc;                       /* the model-file call */
} fe_node;

/* Loss terms, by the name they are called by in `loss = ...`. */
#define FE_LOSS_KINDS(X) \
    X(FE_LOSS_CROSS_ENTROPY, "cross_entropy")  /* mean over predicted tokens */ \
    X(FE_LOSS_LOAD_BALANCE, "load_balance")    /* E * sum_e f_e P_e, averaged over the router's MoE layers */ \
    X(FE_LOSS_Z, "z_loss")                     /* mean logsumexp(z)^2, averaged over layers */ \
    X(FE_LOSS_IMPORTANCE, "importance")        /* CV^2 of per-expert summed probabilities */ \
    X(FE_LOSS_LOAD, "load")                    /* Shazeer's smooth load loss (noisy top-k) */
typedef enum fe_loss_kind { FE_LOSS_KINDS(FE_LIST_ENUM) } fe_loss_kind;
enum { FE_LOSS_KIND_COUNT = 0 FE_LOSS_KINDS(FE_LIST_COUNT) };
extern const char *const fe_loss_kind_names[];

typedef struct fe_loss_term {
    fe_loss_kind kind;
    double coef;
    int router;              /* aux terms: router index; -1 for cross-entropy */
    int logits;              /* cross-entropy: node id of the logits */
    moec_loc loc;
} fe_loss_term;

/* Learning-rate schedules after the warmup (train setting `schedule`). */
#define FE_SCHEDULES(X) \
    X(FE_SCHEDULE_COSINE, "cosine")       /* lr to min_lr along half a cosine */ \
    X(FE_SCHEDULE_CONSTANT, "constant")   /* lr throughout */ \
    X(FE_SCHEDULE_LINEAR, "linear")       /* lr to min_lr along a straight line */
typedef enum fe_schedule { FE_SCHEDULES(FE_LIST_ENUM) } fe_schedule;
enum { FE_SCHEDULE_COUNT = 0 FE_SCHEDULES(FE_LIST_COUNT) };
extern const char *const fe_schedule_names[];

/* Training precisions (train setting `precision`). */
#define FE_PRECISIONS(X) \
    X(FE_PRECISION_FP32, "fp32")   /* IEEE binary32 */ \
    X(FE_PRECISION_BF16, "bf16")   /* bfloat16 */
typedef enum fe_precision { FE_PRECISIONS(FE_LIST_ENUM) } fe_precision;
enum { FE_PRECISION_COUNT = 0 FE_PRECISIONS(FE_LIST_COUNT) };
extern const char *const fe_precision_names[];

typedef struct fe_train {
    int64_t steps, batch, seq, warmup, eval_every, eval_steps, seed;
    double lr, min_lr, beta1, beta2, eps, weight_decay, clip;
    fe_schedule schedule;
    fe_precision precision;
    /* moec train's own (doc/training.md): micro-batches per optimizer step,
     * steps between checkpoints (0: eval_every), checkpoints kept, and the
     * collapse detector (an expert above collapse_threshold of a layer's
     * assignments at collapse_patience evaluations in a row). */
    int64_t accum, checkpoint_every, keep_checkpoints, collapse_patience;
    double collapse_threshold;
    bool collapse_stop;
} fe_train;

/* A resolved model param (after --set), for config.json and the elab dump. */
typedef struct fe_value_param {
    const char *name;
    enum { FE_PARAM_INT, FE_PARAM_FLOAT, FE_PARAM_BOOL, FE_PARAM_STRING } type;
    int64_t i; double f; bool b; const char *s;
} fe_value_param;

typedef struct fe_model {
    const char *name;                /* from `model NAME` */
    fe_value_param *values; int n_values;
    fe_param *params;       int n_params;
    fe_router *routers;     int n_routers;
    fe_node *nodes;         int n_nodes;
    int output;                      /* node id of the logits */
    fe_loss_term *loss;     int n_loss;
    fe_train train;
    int64_t ctx;                     /* longest sequence the positions allow; 0 = unbounded
                                        (sinusoidal positions, or none) */
    int64_t vocab;
} fe_model;

int64_t fe_model_param_count(const fe_model *m);

#endif
