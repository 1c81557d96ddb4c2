/* runtime/train/engine.h -- what runs the training and evaluation steps of
 * `moec train`, on either backend:
 *   cpu     the compiled step (runtime/cpu_step.h): RT_STEP_TRAIN updates the
 *           parameters and AdamW moments in place; with accum > 1 RT_STEP_GRAD
 *           gives each micro-batch's gradients, averaged here and applied by
 *           the host optimizer (runtime/train/adamw.h); a second program,
 *           RT_STEP_EVAL, evaluates with the parameters copied into it.
 *   interp  the reference interpreter (ir/interp.h) on the step graph with
 *           the optimizer (ir/step.h), float64, and the forward graph in
 *           evaluation semantics: slow, for tiny models; accum 1 only.
 * In a data-parallel run (opt.comm of more than one rank) the cpu steps
 * always take the second way: each rank's gradients are summed over the
 * ranks (runtime/dist/comm.h) before the host optimizer, so every rank
 * applies the same update (doc/distributed.md).
 * The engine owns a host copy of the state (params, adam.m, adam.v as
 * rt_weights of the caller's model) that checkpoints read and write:
 * rt_engine_download before reading it, rt_engine_upload after writing it. */
#ifndef MOEC_RUNTIME_TRAIN_ENGINE_H
#define MOEC_RUNTIME_TRAIN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/interp.h"
#include "ir/step.h"
#include "runtime/cpu_step.h"
#include "runtime/dist/comm.h"
#include "runtime/train/batches.h"
#include "runtime/weights/weights.h"

typedef enum rt_backend { RT_BACKEND_CPU, RT_BACKEND_INTERP } rt_backend;

typedef struct rt_engine_options {
    rt_backend backend;
    const char *model_name;      /* what messages call the model */
    const char *model_text;      /* the model file's text */
    const fe_override *sets;     /* every --set (with steps, batch, seq), n_sets */
    int n_sets;
    int64_t batch, seq;
    int threads;                 /* cpu: 0 = every core */
    int64_t accum;               /* micro-batches per step */
    bool eval;                   /* build the evaluation step too */
    bool keep_stats;             /* ask the compiled steps for the values runtime/train/metrics reads */
    rt_comm *comm;               /* the data-parallel world, or NULL: one process */
} rt_engine_options;

/* The scalars of one optimizer step (means over its micro-batches, of every rank). */
typedef struct rt_step_result {
    double loss, lm_loss, lb_loss, z_loss, lr, grad_norm;
} rt_step_result;

/* Called after each micro-batch of a training step ran (micro 0 .. accum-1),
 * while rt_engine_read(e, false, ...) reads its values. 0 or -1. */
typedef int rt_engine_hook(void *ctx, int micro);

typedef struct rt_engine {
    rt_engine_options opt;
    const fe_model *model;       /* the caller's: the layout of the host state */
    moec_diag *diag;
    rt_weights params, m, v;     /* host state */
    rt_weights grad;             /* host optimizer: the summed gradients */
    bool host_optimizer;         /* cpu: accum > 1 or more than one rank: RT_STEP_GRAD and rt_adamw_step */
    bool device_newer;           /* cpu, no host optimizer: the train program holds newer state than the host */
    /* cpu */
    rt_cpu_step train, eval;
    bool have_train, have_eval;
    /* interp */
    rt_frontend fe;              /* the interpreter's own elaborated model (its graphs point into it) */
    bool have_fe;
    ir_graph tg, eg;
    bool have_tg, have_eg;
    ir_step_graph ts;
    ir_lowered el;
    ir_interp *ti, *ei;
    double *scratch;             /* the largest tensor as doubles */
    int64_t arena_bytes;         /* cpu: the programs' arenas */
} rt_engine;

/* Builds the steps (compiling for the cpu), allocates the host state for
 * model m (zeroed) and uploads nothing yet. 0, or -1 after reporting. */
int rt_engine_build(rt_engine *e, const rt_engine_options *o, const fe_model *m, moec_diag *diag);
void rt_engine_free(rt_engine *e);

/* Host state -> the step; the step -> host state. 0 or -1. */
int rt_engine_upload(rt_engine *e);
int rt_engine_download(rt_engine *e);

/* One optimizer step at `step` over micro[0 .. accum). hook may be NULL. */
int rt_engine_train(rt_engine *e, rt_batch *const *micro, int64_t step, rt_step_result *r, rt_engine_hook *hook,
                    void *ctx);

/* Copies the current parameters into the evaluation step; then
 * rt_engine_eval_batch runs it on one batch. */
int rt_engine_eval_begin(rt_engine *e);
int rt_engine_eval_batch(rt_engine *e, const rt_batch *b, int64_t step, rt_step_result *r);

/* Reads value `name` (numel of them) of the last training micro-batch
 * (eval false) or evaluation batch (eval true): "loss", "lm_loss", "lb_loss",
 * "z_loss", "SCOPE.frac", "SCOPE.dropped", with keep_stats "token_loss",
 * "SCOPE.probs", "SCOPE.assign", "SCOPE.keep" (what runtime/train/metrics.h
 * reads), and on the cpu any buffer of the program by name. 0, or -1 when
 * the step does not keep it. */
int rt_engine_read(rt_engine *e, bool eval, const char *name, double *out, int64_t numel);

/* The first parameter (or gradient, on the cpu with accum 1 none is kept)
 * of the host state holding a NaN or an infinity, or NULL. Call after
 * rt_engine_download. */
const char *rt_engine_first_nonfinite(const rt_engine *e);

#endif
