/* runtime/weights/weights.h -- a model's parameters as float32 tensors.
 * rt_weights binds one allocation to an elaborated model (frontend/model.h):
 * data[i] holds param i's elements, row-major in its shape. Weights come from
 * initialisation (Philox, deterministic), from a safetensors file (the names
 * of doc/names-and-metrics.md#tensor-names; upcycling a dense file into an
 * MoE model), and go back to one.
 * The same struct serves gradients or optimizer moments: alloc, fill, save. */
#ifndef MOEC_RUNTIME_WEIGHTS_WEIGHTS_H
#define MOEC_RUNTIME_WEIGHTS_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/model.h"
#include "support/diag.h"

/* moe-emergence's integer router buffers, read when a file has them. */
typedef struct rt_router_state {
    bool has_training_step;
    int64_t training_step;      /* first `*.router.training_step` found */
    bool has_anneal_steps;
    int64_t anneal_steps;       /* first `*.router.anneal_steps` found */
} rt_router_state;

typedef struct rt_weights {
    const fe_model *model;      /* borrowed: must outlive the weights */
    int n;                      /* == model->n_params */
    float **data;               /* [n]: param i's numel[i] floats, inside `memory` */
    int64_t *numel;             /* [n]: elements of param i (product of its shape) */
    float *memory;              /* all params back to back, 64-byte aligned each */
    int64_t total;              /* sum of numel: the model's parameter count */
    int64_t stored;             /* floats in `memory`: total and each param's padding (zeros) */
    rt_router_state router;     /* filled by rt_weights_load */
} rt_weights;

/* Allocates zeroed storage for every param of `m`. Returns 0, or -1 after reporting through diag. */
int rt_weights_alloc(rt_weights *w, const fe_model *m, moec_diag *diag);
/* Frees the storage; *w is left zeroed (freeing twice is harmless). */
void rt_weights_free(rt_weights *w);
/* Copies every param of src into dst (both allocated for the same model). */
void rt_weights_copy(rt_weights *dst, const rt_weights *src);
/* Index of the param called `name`, or -1. */
int rt_weights_find(const rt_weights *w, const char *name);

/* Fills every param from its init: normal(0, init_std) drawn with Philox as
 *   ir_philox_normal(seed, step 0, stream = param index, element = flat index),
 * zeros, ones. A pure function of (model, seed): same seed, same bytes. */
void rt_weights_init(rt_weights *w, uint64_t seed);

typedef struct rt_load_options {
    bool upcycle;               /* dense file into an MoE model (doc/weights.md#upcycling) */
    double perturb;             /* upcycle noise: perturb * std(dense tensor); 1e-3 is moe-emergence's */
    uint64_t seed;              /* upcycle: seed of the fresh router init and of the noise */
} rt_load_options;

/* Loads a safetensors file into w (allocated for its model) by the rules of
 * doc/weights.md#name-rules-loading-into-a-model: a `transformer.` prefix is
 * accepted; `*.attn.bias`, `*.attn.masked_bias` are ignored;
 * `*.router.training_step` / `anneal_steps` go to w->router; a tied model
 * accepts `lm_head.weight` equal to the embedding. F32, F16 and BF16 are
 * read. Every unknown, missing or misshapen tensor is reported (up to the
 * error limit), each naming the tensor and both shapes.
 * With opt->upcycle, w is first initialised from opt->seed; each expert param
 * missing from the file is filled from its `upcycle_from` dense tensor plus
 *   perturb * std(dense) * ir_philox_normal(seed, step 1, stream = param index, element),
 * routers absent from the file keep their fresh init, and the dense tensors
 * used as sources are consumed. opt may be NULL (no upcycling).
 * Returns 0, or -1 after reporting through diag (w's contents are then unspecified). */
int rt_weights_load(rt_weights *w, const char *path, const rt_load_options *opt, moec_diag *diag);

/* One `__metadata__` entry of a written file. */
typedef struct rt_meta {
    const char *key;
    const char *value;
} rt_meta;

/* Writes every param by name, float32, in model order, with `__metadata__`
 * {"format": "pt"} plus meta[0..n_meta). Atomic: a temporary file beside
 * `path`, renamed over it. Returns 0, or -1 after reporting through diag. */
int rt_weights_save(const rt_weights *w, const char *path, const rt_meta *meta, int n_meta, moec_diag *diag);

#endif
