/* runtime/train/metrics.h -- the metrics of `moec train` (and the expert use
 * of `moec sample`) accumulated over batches from the values a step keeps
 * with the pipeline option keep_stats (doc/kernels.md, "Buffers"): the
 * losses overall and per domain, perplexity, and per MoE layer, overall and
 * per domain, the expert fractions f_e, the routing entropy, the
 * distribution entropy / ln E, the imbalance and the dropped assignments.
 * Definitions, and which positions and router rows count, are those of
 * doc/names-and-metrics.md ("Metrics"); the JSON names are fixed there.
 *
 * A step's values reach the module through a reader callback, so that the
 * compiled step (rt_cpu_step_get), the interpreter or a test can feed it.
 * Sums are kept in double; every added batch weighs by its counted
 * positions and rows (the step's scalar losses, one value per batch, weigh
 * equally per batch). Nothing here is global: one rt_metrics per stream of
 * batches (train lines, an evaluation, a sampled text). */
#ifndef MOEC_RUNTIME_TRAIN_METRICS_H
#define MOEC_RUNTIME_TRAIN_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/model.h"
#include "support/diag.h"

/* Reads the step's value `name` (a buffer name of doc/kernels.md, "Buffers")
 * as numel doubles into out. Returns 0, or -1 when the step has no such
 * value or it has another element count (the reader reports nothing; the
 * caller of rt_metrics_add does). */
typedef int rt_value_reader(void *ctx, const char *name, double *out, int64_t numel);

typedef struct rt_metrics rt_metrics;

/* The metrics of a model's steps of batch B, sequence T. domains: the names
 * of the n_domains domains (copied; n_domains <= 256, 0 for none) that the
 * token_domain arrays of rt_metrics_add index. Learns each MoE layer's
 * routing from m (the same fe_model the step was compiled from). NULL after
 * reporting through diag (out of memory, a bad B, T or domain count). diag
 * is kept for later reports. */
rt_metrics *rt_metrics_new(const fe_model *m, char *const *domains, size_t n_domains, int64_t batch, int64_t seq,
                           moec_diag *diag);
void rt_metrics_free(rt_metrics *mt);

/* Forgets every added batch (a new evaluation, a new logging interval). */
void rt_metrics_reset(rt_metrics *mt);

/* Adds one batch: reads "loss", "lm_loss", "lb_loss", "z_loss",
 * "token_loss" [B*T] and per MoE layer SCOPE.assign, SCOPE.probs (routers
 * with probabilities) and SCOPE.keep (capped slot routers) through
 * read(ctx, ...). token_domain [B*T]: each position's domain index (NULL:
 * no domains); token_valid [B*T]: nonzero where a position counts (NULL:
 * all); token_predicts [B*T]: nonzero where a counted position has a target,
 * so that its token_loss enters the losses (NULL: every counted position; a
 * position without one is still routed and counts for the router metrics). Returns 0, or -1 after reporting (a value the step lacks: compiled
 * without keep_stats; a domain index out of range; an expert or row index
 * out of range) with nothing of the batch added. */
int rt_metrics_add(rt_metrics *mt, rt_value_reader *read, void *ctx, const uint8_t *token_domain,
                   const uint8_t *token_valid, const uint8_t *token_predicts);

/* Writes the accumulated metrics into the JSON object `line` (existing keys
 * are replaced): kind "train" -> train/loss, train/lm_loss, train/lb_loss,
 * train/z_loss, train/loss_{domain}; kind "eval" -> eval/loss, eval/lm_loss,
 * eval/lb_loss, eval/z_loss, eval/perplexity, eval/loss_{domain} and the
 * router/layer_{L}_* names, overall and + _{domain}. A domain with no
 * counted position (row) gets no key; a layer without probabilities no
 * entropies. Returns 0, or -1 after reporting (no batch added, an unknown
 * kind, out of memory). */
int rt_metrics_write(const rt_metrics *mt, const char *kind, json_t *line);

/* The sums behind every metric as one vector of doubles, so that the ranks
 * of a data-parallel run can add theirs together (doc/distributed.md):
 * rt_metrics_n_sums values; export copies them out, import replaces the
 * sums with them (the metrics then describe every rank's batches). */
size_t rt_metrics_n_sums(const rt_metrics *mt);
void rt_metrics_export(const rt_metrics *mt, double *out);
void rt_metrics_import(rt_metrics *mt, const double *in);

int64_t rt_metrics_batches(const rt_metrics *mt);   /* batches added since the last reset */
double rt_metrics_loss(const rt_metrics *mt);       /* mean of the batches' "loss" (NaN when none) */
double rt_metrics_lm_loss(const rt_metrics *mt);    /* mean token_loss over counted positions (NaN: none) */
/* Mean token_loss over the counted positions of domain d (NaN when none). */
double rt_metrics_domain_loss(const rt_metrics *mt, int domain);

enum { RT_METRICS_MAX_EXPERTS = FE_MAX_EXPERTS };   /* every layer the front end accepts */

/* One MoE layer's use over the counted rows of the added batches, overall
 * or for one domain. Entropies in nats. */
typedef struct rt_layer_use {
    const char *scope;         /* "h.3.mlp": the layer's buffers are SCOPE.probs, ... */
    int layer;                 /* L of the metric names: the index in the scope ("h.3.mlp" -> 3) */
    int experts;               /* E */
    bool has_probs;            /* the router has probabilities (not hash, label): entropies defined */
    double rows;               /* router rows counted (positions, or sequences) */
    double assignments;        /* their (row, expert) assignments, before capacity */
    double frac[RT_METRICS_MAX_EXPERTS];   /* f_e = assignments to e / assignments (sum 1) */
    double max_frac;           /* max_e f_e: seed 000's collapse detector compares it with 0.6 */
    int max_expert;            /* the e of max_frac (lowest on ties) */
    double use_entropy_norm;   /* -sum_e f_e ln f_e / ln E: entropy of the use (1 = uniform) */
    double routing_entropy;    /* mean over rows of -sum_e p_e ln p_e, p the clean probabilities */
    double dist_entropy;       /* -sum_e P_e ln P_e, P_e the mean over rows of p_e */
    double dist_entropy_norm;  /* dist_entropy / ln E (1 = uniform; 1 when E = 1) */
    double imbalance;          /* max_e f_e / mean_e f_e = E max_frac */
    double dropped;            /* the assignments the capacity dropped / assignments (0 without one) */
    double unrouted;           /* rows that reached no expert / rows (all slots dropped; expert
                                  choice: rows no expert took) */
} rt_layer_use;

/* MoE layers of the model, in model order. */
int rt_metrics_n_layers(const rt_metrics *mt);

/* Layer `index` (0 .. n_layers-1) over every counted row (domain < 0) or
 * over domain `domain`'s. Returns 0, or -1 when the index or domain is out
 * of range or no row counted (out then holds scope, layer, experts and
 * rows = 0). */
int rt_metrics_layer_use(const rt_metrics *mt, int index, int domain, rt_layer_use *out);

#endif
