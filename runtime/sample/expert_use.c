/* runtime/sample/expert_use.c -- per-layer expert use during generation
 * (runtime/sample/expert_use.h). */
#include "runtime/sample/expert_use.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Buffer `scope`.`what` of s, or -1. */
static int find(const rt_cpu_step *s, const char *scope, const char *what)
{
    char name[512];
    if (snprintf(name, sizeof name, "%s.%s", scope, what) >= (int)sizeof name) return -1;
    return rt_cpu_step_find(s, name);
}

int rt_expert_use_init(rt_expert_use *u, const rt_cpu_step *s, moec_diag *diag)
{
    memset(u, 0, sizeof *u);
    const ir_lowered *l = &s->pipe.step.fwd;
    if (l->n_moe == 0) return 0;
    u->layers = calloc((size_t)l->n_moe, sizeof *u->layers);
    if (!u->layers) return moec_error(diag, "out of memory");
    u->n = l->n_moe;
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        rt_use_layer *y = &u->layers[i];
        y->scope = ml->scope;
        y->experts = ml->experts;
        y->choice = ml->routing.choice_row >= 0;
        y->rows = ml->routing.rows;
        y->per_sequence = ml->routing.rows != s->pipe.opt.seq;
        y->assign = find(s, ml->scope, "assign");
        y->probs = find(s, ml->scope, "probs");
        y->keep = find(s, ml->scope, "keep");
        if (y->assign < 0 || s->pipe.kernels.bufs[y->assign].dtype != IR_I32)
            return moec_error(diag, "the compiled step keeps no %s.assign (was it built with keep_stats?)", ml->scope);
        int64_t n = rt_cpu_step_numel(s, y->assign), lead = y->choice ? y->experts : y->rows;
        if (lead < 1 || n % lead != 0 || y->experts < 1 || y->experts > 4096)
            return moec_error(diag, "%s.assign holds %lld values, not a multiple of %lld", ml->scope, (long long)n,
                              (long long)lead);
        y->width = n / lead;
        if (y->probs >= 0 && rt_cpu_step_numel(s, y->probs) != y->rows * y->experts) y->probs = -1;
        if (y->keep >= 0 && rt_cpu_step_numel(s, y->keep) != n) y->keep = -1;
        y->count = calloc((size_t)y->experts, sizeof *y->count);
        y->psum = calloc((size_t)y->experts, sizeof *y->psum);
        if (!y->count || !y->psum) return moec_error(diag, "out of memory");
    }
    return 0;
}

void rt_expert_use_free(rt_expert_use *u)
{
    for (int i = 0; u->layers && i < u->n; i++) {
        free(u->layers[i].count);
        free(u->layers[i].psum);
    }
    free(u->layers);
    memset(u, 0, sizeof *u);
}

/* Row r's probabilities into the tallies. */
static void add_probs(rt_use_layer *y, const float *p, int64_t r)
{
    double h = 0;
    for (int64_t e = 0; e < y->experts; e++) {
        double q = p[r * y->experts + e];
        y->psum[e] += q;
        if (q > 0) h -= q * log(q);
    }
    y->entropy_sum += h;
}

void rt_expert_use_add(rt_expert_use *u, const rt_cpu_step *s, const uint8_t *new_pos, int64_t t)
{
    for (int i = 0; i < u->n; i++) {
        rt_use_layer *y = &u->layers[i];
        const int32_t *as = rt_exec_data(s->exec, y->assign);
        const float *p = y->probs >= 0 ? rt_exec_data(s->exec, y->probs) : NULL;
        const float *keep = y->keep >= 0 ? rt_exec_data(s->exec, y->keep) : NULL;
        /* The rows to count: the new positions, or the one sequence row. */
        for (int64_t r = 0; r < y->rows; r++) {
            if (y->per_sequence ? r != 0 : r >= t || !new_pos[r]) continue;
            y->counted += 1;
            if (p) add_probs(y, p, r);
            for (int64_t j = 0; !y->choice && j < y->width; j++) {
                int32_t e = as[r * y->width + j];
                if (e < 0 || e >= y->experts) continue;
                y->count[e] += 1;
                if (keep && keep[r * y->width + j] == 0) y->dropped += 1;
            }
        }
        /* Expert choice: each expert's picks that are counted rows. */
        for (int64_t e = 0; y->choice && e < y->experts; e++)
            for (int64_t c = 0; c < y->width; c++) {
                int32_t r = as[e * y->width + c];
                if (r >= 0 && r < y->rows && (y->per_sequence ? r == 0 : r < t && new_pos[r])) y->count[e] += 1;
            }
    }
}

static double entropy(const double *w, int64_t n)
{
    double sum = 0, h = 0;
    for (int64_t i = 0; i < n; i++) sum += w[i];
    for (int64_t i = 0; sum > 0 && i < n; i++)
        if (w[i] > 0) h -= w[i] / sum * log(w[i] / sum);
    return h;
}

void rt_expert_use_summary(const rt_expert_use *u, int i, rt_use_summary *out)
{
    const rt_use_layer *y = &u->layers[i];
    memset(out, 0, sizeof *out);
    for (int64_t e = 0; e < y->experts; e++) out->total += y->count[e];
    for (int64_t e = 0; e < y->experts; e++) out->frac[e] = out->total > 0 ? y->count[e] / out->total : 0;
    double ln_e = log((double)y->experts);
    bool probs = y->probs >= 0 && y->counted > 0;
    out->routing_entropy = probs ? y->entropy_sum / y->counted : -1;
    out->use_entropy_norm = y->experts > 1 ? entropy(y->count, y->experts) / ln_e : 1;
    out->dist_entropy_norm = !probs ? -1 : y->experts > 1 ? entropy(y->psum, y->experts) / ln_e : 1;
    out->dropped = out->total > 0 ? y->dropped / out->total : 0;
}
