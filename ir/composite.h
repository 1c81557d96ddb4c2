/* ir/composite.h -- GPT-2's layers as subgraphs of primitive graph-IR ops.
 * Each builder appends primitive nodes (ir/graph.h) to a graph and returns
 * the id of its result, or -1 when a builder below failed (reported through
 * g->diag). Composites are decomposed here, before autodiff, so every gradient
 * comes from the primitives' VJP rules (doc/architecture.md#autodiff-on-the-graph).
 * Shape legend: [...] any leading dims; B batch, T sequence, d width,
 * V vocabulary, H heads, hd = d/H. */
#ifndef MOEC_IR_COMPOSITE_H
#define MOEC_IR_COMPOSITE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

/* Where a random op draws from: Philox keyed (seed, step, stream, element).
 * `step` is a scalar f32 node (the STEP input, or a constant). */
typedef struct ir_rng {
    int step;          /* scalar node */
    int64_t seed;
    int64_t stream;    /* distinct per op that draws */
} ir_rng;

/* ---- small arithmetic helpers (x any shape, c a number) ---- */
int ir_add_scalar(ir_graph *g, int x, double c);          /* x + c */
int ir_mul_scalar(ir_graph *g, int x, double c);          /* x * c */
int ir_min(ir_graph *g, int a, int b);                    /* elementwise min, broadcasting */
int ir_mean(ir_graph *g, int x, int axis, bool keepdim);  /* mean over one axis */
int ir_sum_all(ir_graph *g, int x);                       /* [...] -> [] */
int ir_mean_all(ir_graph *g, int x);                      /* [...] -> [] */
int ir_floor(ir_graph *g, int x);                         /* exact for |x| < 2^31; no gradient */
int ir_sin(ir_graph *g, int x);                           /* any x; range-reduced Taylor series */
int ir_cos(ir_graph *g, int x);

/* ---- activations (shape-preserving) ---- */
int ir_gelu(ir_graph *g, int x);       /* tanh form, as GPT-2 */
int ir_relu(ir_graph *g, int x);
int ir_sigmoid(ir_graph *g, int x);    /* 0.5 (1 + tanh(x/2)): no overflow */
int ir_silu(ir_graph *g, int x);
int ir_softplus(ir_graph *g, int x);   /* max(x,0) + log(1 + exp(-|x|)): no overflow */

/* ---- row operations over the last axis ---- */
int ir_softmax(ir_graph *g, int x);                    /* [...,n] -> [...,n] */
int ir_log_softmax(ir_graph *g, int x);                /* [...,n] -> [...,n] */
int ir_logsumexp(ir_graph *g, int x, bool keepdim);    /* [...,n] -> [...] or [...,1] */

/* x [...,in] @ w [in,out] (+ b [out], b = -1 for none) -> [...,out] */
int ir_linear(ir_graph *g, int x, int w, int b);
/* x [...,d], w [d], b [d] -> [...,d]: (x - mean) / sqrt(var + eps) * w + b */
int ir_layernorm(ir_graph *g, int x, int w, int b, double eps);
/* x [...] -> [...]: keep where u >= p (u Philox uniform), scaled by 1/(1-p).
 * Returns x itself when p == 0. */
int ir_dropout(ir_graph *g, int x, double p, const ir_rng *rng);
/* Dropout with its uniform draws u (x's shape) given: x [u >= p] / (1 - p),
 * p > 0. ir_dropout draws u and calls it; the sparse MoE passes the draws of
 * each row's expert (ir/moe_sparse.c). */
int ir_dropout_mask(ir_graph *g, int x, int u, double p);

/* GPT-2 attention's four parameters. */
typedef struct ir_attn_params {
    int c_attn_w;   /* [d, 3d]: q, k, v in that order */
    int c_attn_b;   /* [3d] or -1 */
    int c_proj_w;   /* [d, d] */
    int c_proj_b;   /* [d] or -1 */
} ir_attn_params;

/* Causal multi-head self-attention as GPT-2: x [B,T,d] -> [B,T,d].
 * dropout p applies to the attention probabilities (stream rng->stream) and
 * to the projected output (stream rng->stream + 1); rng may be NULL when
 * p == 0 or in evaluation. */
int ir_attention(ir_graph *g, int x, const ir_attn_params *p, int64_t heads,
                 double dropout, const ir_rng *rng);

/* Mean token cross-entropy: logits [...,V] f32, targets [...] i32 -> []. */
int ir_cross_entropy(ir_graph *g, int logits, int targets);

/* The same, and when per_token is not NULL also each position's
 * cross-entropy -log softmax(logits)[target] into *per_token, f32 [numel of
 * targets] (the mean is over the same picked values). Without per_token it
 * builds exactly ir_cross_entropy's nodes. */
int ir_cross_entropy_tokens(ir_graph *g, int logits, int targets, int *per_token);

/* Sinusoidal positions (Vaswani et al.): [T, d], d even;
 * pe[t, 2i] = sin(t w_i), pe[t, 2i+1] = cos(t w_i), w_i = 10000^(-2i/d). */
int ir_sinusoidal(ir_graph *g, int64_t t, int64_t d);

#endif
