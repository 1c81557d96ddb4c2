/* runtime/report/run.h -- one `moec train` run directory as `moec report`
 * reads it: config.json, metrics.jsonl (its evaluation lines kept whole),
 * run_summary.json when there is one, and what the report derives from them
 * (domains, MoE layers and their expert counts, final and best evaluation).
 * doc/report.md says what a report makes of a run; doc/training.md and
 * doc/names-and-metrics.md say what the files hold. */
#ifndef MOEC_RUNTIME_REPORT_RUN_H
#define MOEC_RUNTIME_REPORT_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

enum {
    RP_MAX_LAYER = 4096,   /* a larger router/layer_L index is not a layer index */
    RP_MAX_EXPERTS = 4096, /* nor a larger expert index */
    RP_MAX_NAME = 200,     /* a domain name longer than this is ignored */
};

/* One MoE layer as the metrics name it (router/layer_L_expert_e_frac). */
typedef struct rp_layer {
    int index;      /* L */
    int experts;    /* E: one more than the largest e seen */
} rp_layer;

typedef struct rp_run {
    char *dir;                /* as given on the command line */
    char *name;               /* the directory's basename */
    json_t *config;           /* config.json */
    json_t *summary;          /* run_summary.json, or NULL when absent */
    json_t **evals;           /* the evaluation lines of metrics.jsonl (those with eval/loss), by step */
    size_t n_evals;
    size_t n_lines;           /* complete lines of metrics.jsonl */
    double last_step;         /* the largest step of a complete line; NAN when none */
    bool truncated;           /* its last line was cut short (a run writing, or killed) */
    bool moe;                 /* the model has an MoE layer (router params, or router metrics) */
    char **domains;           /* the eval/loss_{domain} names, sorted */
    int n_domains;
    rp_layer *layers;         /* MoE layers of the router metrics, by index */
    int n_layers;
    int final_eval, best_eval;/* indices into evals (best: the lowest eval/loss); -1 when none */
    int config_id;            /* the configuration (rp_group_runs): the index of its first run */
    char config_name[RP_MAX_NAME + 16]; /* the configuration's name (rp_group_runs) */
} rp_run;

/* Loads the run directory `dir`. Returns 0, or -1 after reporting
 * "DIR: why" (no such directory, no or invalid config.json or metrics.jsonl,
 * a malformed line before the last). A cut-short last line, a missing
 * run_summary.json or no evaluation yet are not errors: warnings name the
 * run and the report says what it has. */
int rp_run_load(rp_run *r, const char *dir, moec_diag *d);
void rp_run_free(rp_run *r);

/* The number `key` of a metrics line or JSON object; NAN when it is absent
 * or not a number. */
double rp_num(const json_t *obj, const char *key);
/* rp_num of the final evaluation / the best one; NAN when there is none. */
double rp_final(const rp_run *r, const char *key);
double rp_best(const rp_run *r, const char *key);
/* The lowest `key` over the evaluation lines; NAN when none has it. */
double rp_min_over_evals(const rp_run *r, const char *key);
/* run_summary.json's stopped_reason, or NULL. */
const char *rp_stopped_reason(const rp_run *r);
/* config.json's seed as an integer; *has false when absent. */
int64_t rp_seed(const rp_run *r, bool *has);

/* Runs whose config.json agree on everything but the seed form one
 * configuration (doc/report.md, "Configurations and seeds"): sets each run's
 * config_id to the index of the first run of its configuration, and
 * config_name to the configuration's name (rp_config_name of its first run;
 * " #2", " #3" ... added when an earlier configuration has that name). */
void rp_group_runs(rp_run *runs, int n);
/* The configuration's name: the run name without a trailing -s<digits>,
 * written into buf. */
void rp_config_name(const char *run_name, char *buf, size_t size);

#endif
