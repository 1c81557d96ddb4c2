/* ir/moe_sparse.h -- the sparse form of a mixture-of-experts layer
 * (doc/model-semantics.md#mixture-of-experts-the-sparse-lowering): from the
 * assignments a router made (ir_route, ir/moe.h), a dispatch plan that puts
 * the routed token rows in expert-contiguous order in a buffer of a static
 * row bound, the experts' linear layers as grouped products over those
 * rows, and the weighted combine back to tokens. Its float work grows with
 * the assignments, not with E. ir/lower.c lowers the expert block on the
 * rows with these; the dense oracle (ir_moe_combine) is what it is tested
 * against. Shape legend as ir/moe.h; A assignments, R rows. */
#ifndef MOEC_IR_MOE_SPARSE_H
#define MOEC_IR_MOE_SPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"
#include "ir/moe.h"

/* The dispatch plan of one layer: which token each row holds, and how the
 * rows come back. Rows past sum(counts) hold token 0 of expert 0 and are
 * never read back. */
typedef struct ir_moe_plan {
    int64_t experts;     /* E */
    int64_t rows;        /* R: the static bound (A dropless, E capacity when capped, E C for
                            expert choice; times T when a router row is a sequence) */
    int64_t tokens;      /* N */
    ir_shape x_shape;    /* [B,T,d] */
    int counts;          /* i32 [E]: rows of each expert; expert e's follow those of experts < e */
    int row_token;       /* i32 [R]: the token of each row */
    int row_expert;      /* i32 [R]: the expert of each row */
    int x_rows;          /* f32 [R,d]: the layer's input gathered by row_token */
    bool zero_row;       /* token choice with a capacity: row R is a zero row dropped slots point at */
    int slot_row;        /* token choice: i32 [N,k] each slot's row; R (the zero row) when dropped */
    int slot_weight;     /* token choice: f32 [N,k] each slot's weight */
    int row_weight;      /* expert choice: f32 [R,1] each row's weight; -1 for token choice */
} ir_moe_plan;

/* Why a layer of router r at this B, T cannot take the sparse form, or NULL
 * when it can (as far as the routing is concerned; ir/lower.c checks the
 * expert block). */
const char *ir_moe_sparse_unsupported(const fe_router *r, int64_t b, int64_t t, int64_t e);

/* The plan for the routing r of x [B,T,d] over e experts. 0, or -1 with
 * g->error set. */
int ir_moe_plan_build(ir_graph *g, const ir_routing *r, int x, int64_t e, ir_moe_plan *out);

/* x[0..e) stacked along a new leading axis: [E, ...]. The fuser lays the
 * stacked parameters out side by side, so the stack costs nothing. */
int ir_moe_stack(ir_graph *g, const int *x, int64_t e);

/* Each row's expert's vector: v[i] [w] of expert i -> [R,w] (a linear
 * layer's bias, a layernorm's weight and bias). */
int ir_moe_row_params(ir_graph *g, const ir_moe_plan *p, const int *v);

/* rows [R,in] through every row's expert's linear layer: w[i] [in,out] and
 * b[i] [out] (b NULL: no bias) of expert i -> [R,out], one grouped product. */
int ir_moe_grouped_linear(ir_graph *g, const ir_moe_plan *p, int rows, const int *w, const int *b);

/* Dropout p > 0 on rows [R,w] with each row's own draws: those expert e's
 * dropout (Philox stream streams[e]) draws on its whole [N,w] output in the
 * dense form, taken at the row's token, so both forms drop the same values. */
int ir_moe_rows_dropout(ir_graph *g, const ir_moe_plan *p, int rows, double prob, int step, int64_t seed,
                        const int64_t *streams);

/* The experts' output rows y [R,d] combined back to the tokens: [B,T,d]. */
int ir_moe_sparse_combine(ir_graph *g, const ir_moe_plan *p, int y);

#endif
