/* ir/moe.h -- mixture-of-experts layers as graph-IR subgraphs, in the dense
 * oracle formulation (doc/architecture.md#moe-with-static-bounds): every
 * expert runs on every token and the outputs are combined with a [N,E] weight
 * matrix that is exactly zero where a token is not routed, so an expert that
 * receives no token gets exactly zero gradients. Routers, capacity dropping
 * and the router statistics are built here; doc/model-semantics.md gives the
 * formulas, doc/names-and-metrics.md#metrics the definitions. Shape legend:
 * B batch, T sequence, N = B*T tokens, d width, E experts, k slots per token,
 * n router rows (N, or B when the routing unit is the sequence). */
#ifndef MOEC_IR_MOE_H
#define MOEC_IR_MOE_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/model.h"
#include "ir/graph.h"

/* What a router may read besides its input and weights. */
typedef struct ir_moe_ctx {
    bool training;       /* noise and straight-through are training-only */
    int step;            /* f32 [] STEP input: noise annealing, random gates, draws */
    int tokens;          /* i32 [B,T] token ids (hash routing) */
    int domain;          /* i32 [B] domain ids (label routing) */
    int64_t seed;        /* the train seed: keys every draw */
    int64_t stream;      /* first of 4 Philox streams owned by this layer */
    int64_t total_steps; /* train steps, for noise_anneal */
    int64_t vocab;       /* hash routing's table size */
} ir_moe_ctx;

/* One MoE layer's routing: the combine weights and its statistics. */
typedef struct ir_routing {
    int weights;         /* f32 [N,E]: 0 exactly where a token is not routed */
    int frac;            /* f32 [E]: f_e, assignments to e / (n k), before capacity; no gradient */
    bool has_probs;      /* false for hash and label routers */
    int probs;           /* f32 [n,E]: router probabilities (noisy in training); -1 without */
    int ranked;          /* f32 [n,E]: what the top-k ranks (p; noisy logits h for noisy_topk); -1 without */
    int lb;              /* f32 []: E sum_e f_e P_e; -1 without probabilities */
    int z;               /* f32 []: mean_rows logsumexp(z)^2; -1 without */
    int importance;      /* f32 []: CV^2 of sum_rows p_e (population variance); -1 without */
    int logits;          /* f32 [n,E]: raw router logits z = rows W_g^T; -1 for hash and label */
    int noise_scale;     /* f32 [n,E]: softplus(rows W_noise^T) (noisy_topk); -1 otherwise */
    int load_threshold;  /* f32 [n,E]: k-th largest of h excluding e, under STOP_GRAD (noisy_topk, k < E); -1 otherwise */
    int load;            /* f32 []: Shazeer's smooth load loss CV^2(load) (noisy_topk); -1 otherwise */
    int dropped;         /* f32 []: assignments dropped by the capacity (0 when dropless) */
    bool capped;         /* a capacity limits the slot assignments (capacity_factor > 0; not expert choice) */
    int64_t assigns;     /* n k: the slot assignments `dropped` counts from (0 for expert choice) */
    /* The assignments themselves, which `weights` scatters into [N,E]; the
     * sparse lowering (ir/moe_sparse.h) dispatches from these. */
    int64_t rows;        /* n: router rows (N tokens, or B sequences) */
    int64_t capacity;    /* slot routers: capacity per expert in router rows when capped, else 0;
                            expert choice: C, the rows each expert takes */
    int slot_expert;     /* slot routers: i32 [n,k] the expert of each slot; -1 for expert choice */
    int slot_weight;     /* slot routers: f32 [n,k] its combine weight, 0 where dropped; -1 for expert choice */
    int slot_keep;       /* slot routers when capped: f32 [n,k] 1 kept, 0 dropped; -1 otherwise */
    int choice_row;      /* expert choice: i32 [E,C] the router row each expert took; -1 otherwise */
    int choice_weight;   /* expert choice: f32 [E,C] its combine weight p[row,e]; -1 otherwise */
} ir_routing;

/* Routes x [B,T,d] with router r over E experts. gate [E,d] and noise_w
 * [E,d] are PARAM nodes or -1 (routers without them). Returns 0, or -1 after
 * reporting through g->diag (a builder failed, or a setting the lowering
 * cannot do). */
int ir_route(ir_graph *g, const fe_router *r, int x, int gate, int noise_w, int64_t E,
             const ir_moe_ctx *ctx, ir_routing *out);

/* Shazeer 2017's smooth load loss from clean logits c [n,E], noise scale
 * s [n,E] > 0 and thresholds thr [n,E]: P = Phi((c - thr) / s) with
 * Phi(z) = (1 + erf(z / sqrt 2)) / 2, load_e = sum_rows P, -> CV^2(load) [].
 * ir_route passes thr = STOP_GRAD(k-th largest of h excluding e); tests pass
 * a fixed leaf to check that gradient by finite differences. */
int ir_smooth_load(ir_graph *g, int clean, int scale, int thr);

/* sum_e weights[:, e] * y_e: weights [N,E], y[e] [B,T,d] -> [B,T,d]. */
int ir_moe_combine(ir_graph *g, int weights, const int *y, int64_t E);

/* The number of Philox streams one layer's ctx->stream range holds. */
enum { IR_MOE_STREAMS = 4 };

/* Seed and stream of the hash router's fixed table (not the train seed: the
 * hash must not change with it). */
#define IR_HASH_SEED 0x68617368LL   /* "hash" */
#define IR_HASH_STREAM 0x30000000LL

#endif
