/* runtime/sample/expert_use.h -- which experts each MoE layer used while
 * `moec sample` generated: counted from the per-row values a step keeps with
 * keep_stats (SCOPE.assign, SCOPE.probs, SCOPE.keep; doc/names-and-metrics.md)
 * at the positions the generation loop marks new, so every token of prompt
 * and generation counts once (runtime/sample/generate.h). The numbers are
 * those of doc/names-and-metrics.md, "Definitions": the expert fractions f_e
 * (assignments before capacity) and the entropy of f / ln E; the mean
 * routing entropy and the distribution entropy / ln E of the clean
 * probabilities (routers with probabilities: not hash, label). A router whose unit is the
 * sequence routes the whole window: each forward run counts it once. */
#ifndef MOEC_RUNTIME_SAMPLE_EXPERT_USE_H
#define MOEC_RUNTIME_SAMPLE_EXPERT_USE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu_step.h"

/* One layer's tallies. */
typedef struct rt_use_layer {
    const char *scope;       /* "h.2.mlp" (the step's) */
    int64_t experts;         /* E */
    bool choice;             /* expert choice: assign is [E, C] rows, not [n, k] experts */
    bool per_sequence;       /* the routing unit is the sequence (one row per run) */
    int assign, probs, keep; /* buffer ids, -1 when absent (probs: hash/label; keep: no capacity) */
    int64_t rows, width;     /* assign is [rows, width] (slot routers) or [E, width] (expert choice) */
    double *count;           /* [E] assignments to each expert */
    double *psum;            /* [E] summed clean probabilities of the counted rows */
    double entropy_sum;      /* summed routing entropy of the counted rows */
    double counted;          /* rows counted */
    double dropped;          /* counted assignments the capacity dropped */
} rt_use_layer;

typedef struct rt_expert_use {
    int n;
    rt_use_layer *layers;    /* [n] in model order */
} rt_expert_use;

/* What one layer's tallies say. */
typedef struct rt_use_summary {
    double frac[4096];       /* f_e (fe_model's FE_MAX_EXPERTS at most) */
    double total;            /* assignments counted */
    double use_entropy_norm; /* entropy of f / ln E: 1 = every expert used alike, 0 = one expert */
    double routing_entropy;  /* mean over rows of the probabilities' entropy, nats; < 0 without them */
    double dist_entropy_norm;/* entropy of the mean probabilities / ln E; < 0 without them */
    double dropped;          /* fraction of the assignments dropped by the capacity (0 without) */
} rt_use_summary;

/* Finds every MoE layer's buffers in s (built with keep_stats). A dense model
 * gives n = 0. Returns 0, or -1 after reporting (a layer without SCOPE.assign,
 * out of memory). rt_expert_use_free either way. */
int rt_expert_use_init(rt_expert_use *u, const rt_cpu_step *s, moec_diag *diag);
void rt_expert_use_free(rt_expert_use *u);

/* Counts the rows at the positions new_pos[t] == 1 of the step's last run
 * (B = 1, so router row t is position t). */
void rt_expert_use_add(rt_expert_use *u, const rt_cpu_step *s, const uint8_t *new_pos, int64_t t);

/* Layer i's fractions and entropies so far. */
void rt_expert_use_summary(const rt_expert_use *u, int i, rt_use_summary *out);

#endif
