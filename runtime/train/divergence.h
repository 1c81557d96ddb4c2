/* runtime/train/divergence.h -- the weight divergence between the experts of
 * each MoE layer (doc/names-and-metrics.md, "Definitions"): the mean over the
 * E(E-1)/2 pairs of experts of the cosine distance 1 - cos(w_a, w_b), where
 * w_e is expert e's flattened weights, every parameter of its block (weights
 * and biases) laid end to end. moec train writes it at each evaluation as
 * router/layer_{L}_weight_divergence. 0 when the experts are equal (as right
 * after upcycling without noise), 1 when they are orthogonal, up to 2. */
#ifndef MOEC_RUNTIME_TRAIN_DIVERGENCE_H
#define MOEC_RUNTIME_TRAIN_DIVERGENCE_H

#include "frontend/model.h"
#include "runtime/weights/weights.h"
#include "support/diag.h"

/* The MoE layers of m, in model order (the order of rt_metrics' layers). */
int rt_divergence_layers(const fe_model *m);

/* *out = the divergence of MoE layer `index` (0 .. rt_divergence_layers(m)-1)
 * from w (weights of m), summed in double; NaN when it is undefined: fewer
 * than two experts, an expert whose weights are all zero (no direction),
 * experts whose blocks differ in size, or an index out of range. Returns 0,
 * or -1 after reporting through diag (out of memory). */
int rt_divergence_layer(const fe_model *m, const rt_weights *w, int index, double *out, moec_diag *diag);

#endif
