/* ir/autodiff.h -- reverse-mode differentiation on the graph IR.
 * Appends to g the nodes that compute d loss / d wrt[i] for each i, using
 * each op's VJP rule from the ops table, and writes their ids to grad[i].
 * loss must be a scalar (rank 0) f32 node. A wrt node the loss does not
 * depend on gets a CONST 0 of its shape (so an unused expert's gradient is
 * exactly zero). STOP_GRAD, CMP, TOPK, ONE_HOT and i32 values pass no
 * gradient. Returns 0, or -1 after reporting through g->diag (an op without
 * a VJP rule names the op). */
#ifndef MOEC_IR_AUTODIFF_H
#define MOEC_IR_AUTODIFF_H

#include "ir/graph.h"

int ir_grad(ir_graph *g, int loss, const int *wrt, int n_wrt, int *grad);

#endif
