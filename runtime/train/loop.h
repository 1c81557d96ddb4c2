/* runtime/train/loop.h -- the training loop of `moec train`: batches into
 * the step, a metrics line per step, an evaluation every eval_every steps
 * (best-model, the collapse detector), a checkpoint every checkpoint_every
 * steps and on SIGINT/SIGTERM, the non-finite guard, and at the end
 * final-model and run_summary.json. Everything it is given is set up and
 * checked by runtime/cmd_train.c. doc/training.md.
 *
 * Data parallel (doc/distributed.md): every rank runs this loop in step;
 * each reads its own micro-batches of the global batch, the engine sums the
 * gradients, the metrics are summed before rank 0 logs them, evaluation
 * batches are dealt out and summed, the ranks agree on a stop before each
 * step and on the weights (a hash) at each checkpoint, and only rank 0
 * writes the run directory. */
#ifndef MOEC_RUNTIME_TRAIN_LOOP_H
#define MOEC_RUNTIME_TRAIN_LOOP_H

#include <signal.h>
#include <stdbool.h>

#include "runtime/data/dataset.h"
#include "runtime/dist/comm.h"
#include "runtime/train/checkpoint.h"
#include "runtime/train/engine.h"
#include "runtime/train/progress.h"
#include "runtime/train/run_dir.h"

typedef struct rt_train_setup {
    const char *run_dir;
    const rt_run_config *cfg;
    const fe_model *model;
    rt_engine *engine;                 /* built; its state holds the start (uploaded) */
    const rt_split_data *train, *eval;
    rt_ckpt_state start;               /* step 0 state, or the checkpoint resumed from */
    bool resumed;
    rt_progress *progress;
    moec_diag *diag;
    const volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM: checkpoint and exit 130 */
    double wall_start;                 /* when the command started (seconds, monotonic) */
    rt_comm *comm;                     /* the data-parallel world (one rank alone); rank 0 writes the files */
    bool *failed_alone;                /* set when this rank stopped on an error the others did not see */
} rt_train_setup;

/* Runs the steps from s->start.step to the end. Returns the exit status:
 * 0 completed, 1 stopped by a non-finite value or a collapse, or an error
 * (reported), 130 interrupted (a checkpoint was written). */
int rt_train_loop(const rt_train_setup *s);

/* Monotonic seconds. */
double rt_train_now(void);

#endif
