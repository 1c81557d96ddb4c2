/* ir/step_values.h -- which values of a step graph (ir/step.h) a compiled
 * program keeps, under which buffer names: the losses, every layer's router
 * statistics, the gradients, and, with the optimizer, the parameters and
 * AdamW moments updated in place. The runtime binds and reads buffers by
 * these names (doc/kernels.md, "Buffers"). */
#ifndef MOEC_IR_STEP_VALUES_H
#define MOEC_IR_STEP_VALUES_H

#include "frontend/model.h"
#include "ir/fuse.h"
#include "ir/step.h"
#include "support/arena.h"

/* Values kept besides the default ones (both false: exactly the default). */
typedef struct ir_step_keep {
    bool stats;    /* "token_loss", and per MoE layer SCOPE.probs, SCOPE.assign, SCOPE.keep: the
                      per-token values of runtime/train/metrics.h (the step must be lowered
                      with ir_lower_options.stats) */
    bool logits;   /* "logits" f32 [B*T,V] (moec sample) */
} ir_step_keep;

/* Fills *out (n_out entries, in `arena`) with the fuse request of step s.
 * Names: "loss" "lm_loss" "lb_loss" "z_loss"; per MoE layer SCOPE.frac and
 * SCOPE.dropped; "grad.NAME" per parameter; with the optimizer "grad_norm",
 * "lr", and the PARAM and adam.m/adam.v leaves written in place. keep (NULL:
 * none) adds, when the step has them (doc/kernels.md, "Buffers"):
 *   "logits"        f32 [B*T,V]
 *   "token_loss"    f32 [B*T]   the cross-entropy of each position
 *   SCOPE.probs     f32 [n,E]   the clean router probabilities (routers with them)
 *   SCOPE.assign    i32 [n,k]   slot routers: the expert of each (row, slot), before capacity;
 *                   i32 [E,C]   expert choice: the router row each expert took
 *   SCOPE.keep      f32 [n,k]   capped slot routers: 1 kept, 0 dropped by the capacity
 * (n router rows: B*T, or B when the routing unit is the sequence).
 * Returns 0, or -1 when out of memory. */
int ir_step_values(const ir_graph *g, const fe_model *m, const ir_step_graph *s, const ir_step_keep *keep,
                   moec_arena *arena, ir_fuse_value **out, int *n_out);

/* The forward node of l that a value name above denotes ("loss", "lm_loss",
 * "lb_loss", "z_loss", "token_loss", "logits", SCOPE.frac, .dropped, .probs,
 * .assign, .keep), or -1: how a reader of the interpreter finds by name what
 * a compiled step keeps under that name. */
int ir_step_value_node(const ir_lowered *l, const char *name);

/* Every node id s names (losses, statistics, gradients, the update), for a
 * pass that must keep them: *roots in `arena`. Returns the count, or -1. */
int ir_step_roots(const ir_step_graph *s, moec_arena *arena, int **roots);

/* Renames every node id s holds through map (old id -> new id), after a
 * pass rebuilt the graph. */
void ir_step_remap(ir_step_graph *s, const int *map);

#endif
