/* ir/interp.h -- the reference interpreter: evaluates a graph directly with
 * plain loops, in float64 or float32. It is the oracle every gradient check,
 * backend and fusion is tested against, so it is written to be obviously
 * right, not fast. Deterministic: the same graph and bindings give the same
 * bits. Values are handed in and out as doubles (i32 tensors too: their
 * values are exact integers); in float32 mode every float result is rounded
 * to float32 as it is produced, as a float32 device would. */
#ifndef MOEC_IR_INTERP_H
#define MOEC_IR_INTERP_H

#include <stddef.h>

#include "ir/graph.h"

typedef enum ir_precision { IR_PREC_F64, IR_PREC_F32 } ir_precision;

typedef struct ir_interp ir_interp;

/* A fresh interpreter for g (which must outlive it); NULL when out of memory.
 * It evaluates the nodes g has now: make a new one after appending nodes. */
ir_interp *ir_interp_new(const ir_graph *g, ir_precision prec);
void ir_interp_free(ir_interp *it);

/* Binds the value of a leaf (INPUT or PARAM node): numel(node) doubles,
 * copied. Returns 0, or -1 if `node` is not a leaf. */
int ir_interp_bind(ir_interp *it, int node, const double *values);

/* Evaluates every node (or only those `wanted` needs, when wanted >= 0, with
 * its operands). Returns 0, or -1 after reporting through d (which may be
 * NULL) what stopped it, naming the node: an unbound leaf, an index out of
 * range (a token id >= vocab), out of memory. */
int ir_interp_run(ir_interp *it, int wanted, moec_diag *d);

/* The value of a node after a run: numel(node) doubles, or NULL if it was not
 * evaluated. Owned by the interpreter. */
const double *ir_interp_value(const ir_interp *it, int node);

/* The interpreter's scalar semantics, shared with constant folding
 * (ir/simplify.c) so that a folded constant is what the interpreter computes:
 * an elementwise unary op (NEG .. STOP_GRAD, not CAST), and a comparison. */
double ir_eval_unary(ir_op op, double x);
bool ir_eval_compare(ir_cmp cmp, double a, double b);

#endif
