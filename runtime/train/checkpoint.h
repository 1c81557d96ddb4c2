/* runtime/train/checkpoint.h -- RUN/checkpoint-step-N/: everything a run
 * needs to continue bit-exactly after N steps.
 *   model.safetensors      the parameters (the names of doc/names-and-metrics.md)
 *   optimizer.safetensors  AdamW's moments, "adam.m.NAME" and "adam.v.NAME" (trainable params)
 *   state.json             the step, the data position, the random key, the
 *                          length of metrics.jsonl, the best evaluation so far
 *                          and the collapse detector's count
 * The directory is written as RUN/.checkpoint-step-N.tmp (each file through
 * support/atomic.h), synced, then renamed, so a checkpoint-step-N directory is
 * always complete: a kill -9 at any moment leaves the previous one loadable.
 * Only the newest `keep` checkpoints stay. doc/training.md, "Checkpoints". */
#ifndef MOEC_RUNTIME_TRAIN_CHECKPOINT_H
#define MOEC_RUNTIME_TRAIN_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/weights/weights.h"
#include "support/diag.h"

typedef struct rt_ckpt_state {
    int64_t step;               /* steps done: the next step to run */
    int64_t data_start;         /* the train reader's first block */
    int64_t data_position;      /* blocks it has read */
    uint64_t seed;              /* the random key: dropout and router noise draw Philox(seed, step, ...) */
    int64_t metrics_bytes;      /* metrics.jsonl's length when the checkpoint was written */
    bool has_best;
    double best_eval_loss;      /* best eval/loss so far (best-model.*) */
    int64_t best_step;
    int64_t collapse_warnings;  /* consecutive evaluations that warned */
    double tokens;              /* tokens trained on */
    double train_seconds;       /* time spent in steps so far */
} rt_ckpt_state;

/* Writes checkpoint-step-{st->step} in run_dir from the parameters p and
 * moments m, v, then removes all but the newest `keep` checkpoints.
 * 0, or -1 after reporting (the previous checkpoints are untouched). */
int rt_ckpt_write(const char *run_dir, const rt_ckpt_state *st, const rt_weights *p, const rt_weights *m,
                  const rt_weights *v, int64_t keep, moec_diag *diag);

/* The step of the newest checkpoint in run_dir: 0 with *step set, 1 when
 * there is none, -1 after reporting (the directory cannot be read). */
int rt_ckpt_latest(const char *run_dir, int64_t *step, moec_diag *diag);

/* Reads checkpoint-step-{step} into st, p, m, v (allocated for the run's
 * model). 0, or -1 after reporting what is missing or wrong. */
int rt_ckpt_read(const char *run_dir, int64_t step, rt_ckpt_state *st, rt_weights *p, rt_weights *m, rt_weights *v,
                 moec_diag *diag);

#endif
