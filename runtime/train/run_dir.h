/* runtime/train/run_dir.h -- the files of a run directory besides its
 * checkpoints (doc/training.md, "The run directory"):
 *   config.json        every resolved setting; the model's text and --set
 *                      values, so the run can be rebuilt (resume, moec sample)
 *   metrics.jsonl      one JSON object a line, appended; cut back to a
 *                      checkpoint's length on resume
 *   NAME.safetensors + NAME.json   final-model, best-model: weights and a
 *                      sidecar with the model's configuration and metrics
 *   run_summary.json   how the run ended
 * Whole files go through support/atomic.h; metrics.jsonl is an append log,
 * flushed every line and synced before each checkpoint records its length. */
#ifndef MOEC_RUNTIME_TRAIN_RUN_DIR_H
#define MOEC_RUNTIME_TRAIN_RUN_DIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/model.h"
#include "runtime/weights/weights.h"
#include "support/diag.h"

/* config.json's keys (doc/training.md lists them). Strings are borrowed:
 * from the command line when writing, from `root` when read. */
typedef struct rt_run_config {
    const char *moec_version;
    const char *model_file;      /* as given */
    const char *model_source;    /* the model file's text */
    const char **sets;           /* "name=value": the --set values, then steps/batch/seq from flags */
    int n_sets;
    const char *data;            /* absolute path of the data directory */
    int64_t steps, batch, seq;
    uint64_t seed;
    const char *backend;         /* "cpu" or "interp" */
    int64_t threads;             /* 0: every core */
    const char *init;            /* --init weights, or NULL */
    int64_t world_size;          /* processes of a data-parallel run (1 alone; read: 1 when absent) */
    json_t *root;                /* read: the parsed file (owns the strings) */
} rt_run_config;

/* Creates `dir` and its missing parents. 0, or -1 after reporting (also when it exists). */
int rt_run_create(const char *dir, moec_diag *diag);

/* config.json from c and the elaborated model m (the "train" settings
 * resolved, checkpoint_every 0 given as eval_every; "params" name -> shape;
 * "global_batch": the sequences of one optimizer step, batch x accum x world_size). */
int rt_run_config_write(const char *dir, const rt_run_config *c, const fe_model *m, moec_diag *diag);
/* Reads dir/config.json into c (free with rt_run_config_free). 0 or -1. */
int rt_run_config_read(const char *dir, rt_run_config *c, moec_diag *diag);
void rt_run_config_free(rt_run_config *c);


/* dir/BASE.safetensors (metadata: model, step) and dir/BASE.json (sidecar:
 * step, model_file, sets, params count, and `metrics` when not NULL). */
int rt_run_write_model(const char *dir, const char *base, const rt_weights *w, const rt_run_config *c,
                       int64_t step, json_t *metrics, moec_diag *diag);

/* metrics.jsonl. */
typedef struct rt_metrics_log {
    FILE *f;
    char *path;
    int64_t bytes;               /* its length: what a checkpoint records */
} rt_metrics_log;

/* Opens dir/metrics.jsonl for appending: a new run creates it empty
 * (keep_bytes < 0); a resumed one keeps its first keep_bytes bytes (rewritten
 * atomically) and drops the rest. 0 or -1. */
int rt_metrics_log_open(rt_metrics_log *log, const char *dir, int64_t keep_bytes, moec_diag *diag);
/* Appends `line` compactly plus a newline, and flushes. 0 or -1. */
int rt_metrics_log_append(rt_metrics_log *log, json_t *line, moec_diag *diag);
/* fsync: the log's `bytes` are on disk. */
int rt_metrics_log_sync(rt_metrics_log *log, moec_diag *diag);
void rt_metrics_log_close(rt_metrics_log *log);

#endif
