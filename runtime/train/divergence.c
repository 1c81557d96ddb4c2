/* runtime/train/divergence.c -- weight divergence between experts
 * (runtime/train/divergence.h). An expert's parameters are those of the
 * nodes of its block, from its EXPERT_INPUT node to its output node (the
 * front end builds each block's nodes in one run, frontend/elab_moe.c), in
 * node order, each once. Every expert is built from the same block, so the
 * j-th parameter of one expert lines up with the j-th of another; the
 * flattened vectors are never materialised: dot products and norms are
 * summed parameter by parameter. */
#include "runtime/train/divergence.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

int rt_divergence_layers(const fe_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++) n += m->nodes[i].op == FE_NODE_MOE;
    return n;
}

static const fe_node *moe_node(const fe_model *m, int index)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].op == FE_NODE_MOE && index-- == 0) return &m->nodes[i];
    return NULL;
}

/* The parameters of expert e's block, each once, in node order, into
 * ids[0 .. *n) (ids holds `cap`). false when there are more than cap. */
static bool expert_params(const fe_model *m, const fe_node *moe, int64_t e, int *ids, int cap, int *n)
{
    *n = 0;
    for (int j = moe->experts[e].input; j <= moe->experts[e].output; j++) {
        const fe_node *x = &m->nodes[j];
        for (int k = 0; k < x->n_param; k++) {
            int p = x->param[k];
            bool seen = p < 0;
            for (int i = 0; !seen && i < *n; i++) seen = ids[i] == p;
            if (seen) continue;
            if (*n == cap) return false;
            ids[(*n)++] = p;
        }
    }
    return true;
}

int rt_divergence_layer(const fe_model *m, const rt_weights *w, int index, double *out, moec_diag *diag)
{
    const fe_node *moe = index >= 0 ? moe_node(m, index) : NULL;
    *out = NAN;
    if (!moe || moe->attr_i[1] < 2 || w->n != m->n_params) return 0;
    int64_t E = moe->attr_i[1];
    int cap = m->n_params > 0 ? m->n_params : 1, n0 = 0;
    int *ids = malloc(sizeof *ids * (size_t)(E * cap));
    int *count = malloc(sizeof *count * (size_t)E);
    double *norm2 = calloc((size_t)E, sizeof *norm2);
    if (!ids || !count || !norm2) {
        free(ids);
        free(count);
        free(norm2);
        return moec_error(diag, "out of memory computing the weight divergence of %s", moe->scope ? moe->scope : "moe");
    }
    bool ok = true;
    /* every expert: the same number of parameters, of the same sizes */
    for (int64_t e = 0; ok && e < E; e++) {
        ok = expert_params(m, moe, e, &ids[e * cap], cap, &count[e]) && count[e] == count[0];
        for (int j = 0; ok && j < count[e]; j++) ok = w->numel[ids[e * cap + j]] == w->numel[ids[j]];
    }
    if (ok) n0 = count[0];
    for (int64_t e = 0; ok && e < E; e++)
        for (int j = 0; j < n0; j++) {
            const float *a = w->data[ids[e * cap + j]];
            for (int64_t i = 0; i < w->numel[ids[j]]; i++) norm2[e] += (double)a[i] * a[i];
        }
    for (int64_t e = 0; ok && e < E; e++) ok = norm2[e] > 0;
    if (ok) {
        double sum = 0;
        for (int64_t a = 0; a < E; a++)
            for (int64_t b = a + 1; b < E; b++) {
                double dot = 0;
                for (int j = 0; j < n0; j++) {
                    const float *x = w->data[ids[a * cap + j]], *y = w->data[ids[b * cap + j]];
                    for (int64_t i = 0; i < w->numel[ids[j]]; i++) dot += (double)x[i] * y[i];
                }
                sum += 1.0 - dot / sqrt(norm2[a] * norm2[b]);
            }
        *out = sum / (double)(E * (E - 1) / 2);
    }
    free(ids);
    free(count);
    free(norm2);
    return 0;
}
