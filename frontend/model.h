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
 * E experts. Symbolic dims are stored as FE_DIM_B / FE_DIM_T. */
#ifndef MOEC_MODEL_H
#define MOEC_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

typedef enum fe_init_kind {
    FE_INIT_NORMAL,   /* N(0, std^2) */
    FE_INIT_ZEROS,
    FE_INIT_ONES,
} fe_init_kind;

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

typedef enum fe_router_kind {
    FE_ROUTER_TOPK,           /* softmax, top-k; learned gate [E, d] */
    FE_ROUTER_NOISY_TOPK,     /* Shazeer 2017: gate and noise [E, d] */
    FE_ROUTER_EXPERT_CHOICE,  /* Zhou 2022: each expert takes its top-C tokens */
    FE_ROUTER_RANDOM,         /* gate weights re-drawn every step; no parameter */
    FE_ROUTER_HASH,           /* expert = hash(token id) mod E; no parameter */
    FE_ROUTER_LABEL,          /* expert chosen from the data's domain label; no parameter */
} fe_router_kind;

typedef enum fe_routing_unit { FE_UNIT_TOKEN, FE_UNIT_SEQUENCE } fe_routing_unit;

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

typedef enum fe_node_op {
    /* inputs */
    FE_NODE_TOKENS,        /* [B, T] int token ids */
    FE_NODE_EXPERT_INPUT,  /* rows given to one expert: shape of the moe input */
    /* GPT-2 builtins */
    FE_NODE_EMBEDDING,     /* in: tokens [B,T]            params: weight [V,d]        -> [B,T,d] */
    FE_NODE_POS_EMBEDDING, /* no input                     params: weight [ctx,d]      -> [T,d] */
    FE_NODE_SINUSOIDAL,    /* no input; attr_i[0] = d                                  -> [T,d] */
    FE_NODE_LAYERNORM,     /* in: x [...,d]                params: weight, bias [d]    -> [...,d]; attr_f[0] eps */
    FE_NODE_LINEAR,        /* in: x [...,in]               params: weight [in,out], bias [out] (optional) -> [...,out] */
    FE_NODE_GELU, FE_NODE_RELU, FE_NODE_SILU, FE_NODE_TANH, FE_NODE_EXP, FE_NODE_SOFTMAX,
    FE_NODE_DROPOUT,       /* in: x; attr_f[0] = p (training only) */
    FE_NODE_ATTENTION,     /* in: x [B,T,d]  params: c_attn.weight [d,3d], c_attn.bias [3d],
                              c_proj.weight [d,d], c_proj.bias [d]; attr_i[0] heads, attr_f[0] dropout p */
    FE_NODE_LM_HEAD,       /* in: x [B,T,d]  params: weight [V,d] (the embedding's when tied) -> [B,T,V] */
    /* arithmetic with broadcasting (numpy rules over the shapes) */
    FE_NODE_ADD, FE_NODE_SUB, FE_NODE_MUL, FE_NODE_DIV,
    FE_NODE_SCALE,         /* in: x; attr_f[0] = constant factor (tensor * number) */
    FE_NODE_OFFSET,        /* in: x; attr_f[0] = constant term (tensor + number) */
    /* mixture of experts */
    FE_NODE_MOE,           /* in: x [B,T,d]; attr_i[0] router index, attr_i[1] E;
                              params: router gate [E,d] (+ noise [E,d]); experts[] below -> [B,T,d] */
    FE_NODE_OP_COUNT
} fe_node_op;

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

typedef enum fe_loss_kind {
    FE_LOSS_CROSS_ENTROPY,   /* mean over predicted tokens */
    FE_LOSS_LOAD_BALANCE,    /* E * sum_e f_e P_e, averaged over the router's MoE layers */
    FE_LOSS_Z,               /* mean logsumexp(z)^2, averaged over layers */
    FE_LOSS_IMPORTANCE,      /* CV^2 of per-expert summed probabilities */
    FE_LOSS_LOAD,            /* Shazeer's smooth load loss (noisy top-k) */
} fe_loss_kind;

typedef struct fe_loss_term {
    fe_loss_kind kind;
    double coef;
    int router;              /* aux terms: router index; -1 for cross-entropy */
    int logits;              /* cross-entropy: node id of the logits */
    moec_loc loc;
} fe_loss_term;

typedef enum fe_schedule { FE_SCHEDULE_COSINE, FE_SCHEDULE_CONSTANT, FE_SCHEDULE_LINEAR } fe_schedule;

typedef struct fe_train {
    int64_t steps, batch, seq, warmup, eval_every, eval_steps, seed;
    double lr, min_lr, beta1, beta2, eps, weight_decay, clip;
    fe_schedule schedule;
    const char *precision;   /* "fp32" | "bf16" */
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
