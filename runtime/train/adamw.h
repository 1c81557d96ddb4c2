/* runtime/train/adamw.h -- the optimizer of the training step on the host,
 * for gradient accumulation (train setting `accum` > 1): the compiled step
 * then computes gradients only (RT_STEP_GRAD), `moec train` averages them
 * over the micro-batches and applies the same update the step graph would
 * (ir/step.c): global-norm clipping (scale min(1, clip / (norm + 1e-6))),
 * the learning-rate schedule at the step, AdamW with decoupled weight decay
 * and bias correction, frozen parameters untouched. Arithmetic in double,
 * stored as float32. doc/training.md, "Gradient accumulation". */
#ifndef MOEC_RUNTIME_TRAIN_ADAMW_H
#define MOEC_RUNTIME_TRAIN_ADAMW_H

#include <stdint.h>

#include "frontend/model.h"
#include "runtime/cpu/pool.h"
#include "runtime/weights/weights.h"

/* The learning rate at `step` by the train settings (ir_lr_schedule's formula). */
double rt_lr_at(const fe_train *t, int64_t step);

/* sqrt of the sum of squares of the trainable parameters' gradients g
 * (laid out as the weights: g->data[i] for param i). The elements are split
 * among the pool's threads (NULL: the caller alone) and the partial sums
 * added in thread order, so the result depends on the thread count only. */
double rt_grad_norm(const rt_weights *g, rt_pool *pool);

/* One AdamW step at `step` with gradients g (already averaged): updates
 * params p and moments m, v in place, on the pool's threads (NULL: the
 * caller alone). *lr gets the learning rate used, *norm the gradient norm
 * before clipping. */
void rt_adamw_step(const fe_train *t, int64_t step, const rt_weights *g, rt_weights *p, rt_weights *m,
                   rt_weights *v, rt_pool *pool, double *lr, double *norm);

#endif
