/* tests/train/test_metrics_step.c -- the metrics end to end: a tiny MoE
 * model (top-2, and expert choice) compiled for the CPU as an evaluation
 * step with keep_stats, run on a real batch of the demo corpus's eval split
 * (placed across a domain boundary), and its values fed to
 * runtime/train/metrics.h; the same batch on the float32 interpreter of the
 * same graph (lowered with ir_lower_options.stats, evaluation semantics),
 * its node values fed by name to a second rt_metrics. The two eval lines
 * must have the same keys and agree to 1e-5 (both float32, summed in other
 * orders), over two batches: every position, then the last positions of
 * each sequence left out. Needs the CPU backend (LLVM) and MOEC_DATA. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/step_values.h"
#include "runtime/cpu_step.h"
#include "runtime/data/dataset.h"
#include "runtime/train/metrics.h"
#include "tests/compile/step_case.h"
#include "tests/tap.h"

enum { B = 2, T = 16, N_SETS = 8 };
static const double TOL = 1e-5;

typedef struct e2e_model {
    const char *file;
    const char *sets[N_SETS];
} e2e_model;

static const e2e_model MODELS[] = {
    {"gpt2-moe-tiny.moe", {"d=16", "heads=2", "ctx=16", "seq=16", "layers=3", "moe_from=1", "experts=4", "top_k=2"}},
    {"small-moe-tiny.moe", {"d=16", "heads=2", "ctx=16", "seq=16", "layers=2", "experts=4",
                            "router_kind=expert_choice"}},
};

/* One batch: inputs of the step and what the metrics get with it. */
typedef struct batch {
    double tokens[B * T], targets[B * T], domain[B];
    uint8_t token_domain[B * T];
} batch;

/* B sequences from stream position `start` of the split: token p's target is
 * token p+1; a position's domain is its target's block's. */
static void make_batch(const rt_split_data *sp, size_t start, batch *bt)
{
    for (int p = 0; p < B * T; p++) {
        bt->tokens[p] = sp->tokens[start + (size_t)p];
        bt->targets[p] = sp->tokens[start + (size_t)p + 1];
        bt->token_domain[p] = sp->block_domain[(start + (size_t)p + 1) / sp->seq];
    }
    for (int b = 0; b < B; b++) bt->domain[b] = sp->block_domain[(start + (size_t)(b * T)) / sp->seq];
}

/* ---- the interpreter side: values by buffer name from the lowered graph ---- */

typedef struct interp_side {
    const ir_graph *g;
    const ir_lowered *l;
    ir_interp *it;
} interp_side;

static int interp_reader(void *ctx, const char *name, double *out, int64_t numel)
{
    const interp_side *s = ctx;
    int node = ir_step_value_node(s->l, name);
    const double *v = node >= 0 ? ir_interp_value(s->it, node) : NULL;
    if (!v || ir_shape_numel(&s->g->nodes[node].shape) != numel) return -1;
    memcpy(out, v, sizeof(double) * (size_t)numel);
    return 0;
}

static int interp_run(interp_side *s, const batch *bt, int64_t vocab)
{
    const ir_graph *g = s->g;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if (n->op != IR_INPUT && n->op != IR_PARAM) continue;
        int64_t k = ir_shape_numel(&n->shape);
        double *v = malloc(sizeof(double) * (size_t)(k ? k : 1));
        if (!v) return -1;
        if (n->op == IR_PARAM) {
            for (int64_t i = 0; i < k; i++) v[i] = step_leaf_value(g, id, i, vocab);
        } else {
            int slot = ir_attr_slot(n);
            const double *src = slot == IR_INPUT_TOKENS ? bt->tokens : slot == IR_INPUT_TARGETS ? bt->targets
                              : slot == IR_INPUT_DOMAIN ? bt->domain : NULL;
            for (int64_t i = 0; i < k; i++) v[i] = src ? src[i] : 0.0;   /* the step: 0 */
        }
        int rc = ir_interp_bind(s->it, id, v);
        free(v);
        if (rc < 0) return -1;
    }
    return ir_interp_run(s->it, -1, g->diag);
}

/* ---- the compiled side ---- */

static int cpu_reader(void *ctx, const char *name, double *out, int64_t numel)
{
    return rt_cpu_step_get(ctx, name, out, numel);
}

static int cpu_run(rt_cpu_step *s, const batch *bt, int64_t vocab)
{
    const ir_graph *g = &s->pipe.graph;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        if (n->op != IR_PARAM) continue;
        int64_t k = ir_shape_numel(&n->shape);
        double *v = malloc(sizeof(double) * (size_t)k);
        if (!v) return -1;
        for (int64_t i = 0; i < k; i++) v[i] = step_leaf_value(g, id, i, vocab);
        int rc = rt_cpu_step_set(s, n->label, v, k);
        free(v);
        if (rc < 0) return -1;
    }
    double step = 0;
    if (rt_cpu_step_set(s, "tokens", bt->tokens, B * T) < 0 || rt_cpu_step_set(s, "targets", bt->targets, B * T) < 0 ||
        rt_cpu_step_set(s, "domain", bt->domain, B) < 0 || rt_cpu_step_set(s, "step", &step, 1) < 0)
        return -1;
    return rt_cpu_step_run(s);
}

/* The same keys; values within TOL of the interpreter's (relative, floor 1). */
static double compare_lines(json_t *got, json_t *want, int *keys)
{
    double worst = json_object_size(got) == json_object_size(want) ? 0 : INFINITY;
    const char *key;
    json_t *w;
    *keys = (int)json_object_size(want);
    json_object_foreach(want, key, w) {
        json_t *g = json_object_get(got, key);
        double a = g ? json_number_value(g) : NAN, b = json_number_value(w);
        double e = fabs(a - b) / fmax(1.0, fabs(b));
        if (!(e <= TOL)) tap_diag("  %s: compiled %.9g, interpreter %.9g", key, a, b);
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

static void test_model(const e2e_model *em, const rt_split_data *sp, size_t start)
{
    char name[256], path[512];
    int n_sets = 0;
    while (n_sets < N_SETS && em->sets[n_sets]) n_sets++;
    snprintf(name, sizeof name, "%s %s %s", em->file, em->sets[n_sets - 2], em->sets[n_sets - 1]);
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/%s", top ? top : ".", em->file);
    batch bt;
    make_batch(sp, start, &bt);
    uint8_t valid[B * T];
    for (int p = 0; p < B * T; p++) valid[p] = p % T < T - 5;

    /* the interpreter */
    rt_frontend fe;
    memset(&fe, 0, sizeof fe);
    ir_graph g;
    ir_lowered low;
    bool ok = rt_frontend_elaborate_sets(&fe, path, em->sets, n_sets) == 0;
    bool have_graph = ok && ir_graph_init(&g) == 0;
    ok = ok && have_graph;
    interp_side is = { &g, &low, NULL };
    if (ok) {
        g.diag = &fe.diag;
        ir_lower_options lo = { B, T, false, IR_MOE_SPARSE, true };
        ok = ir_lower(&g, &fe.model, &lo, &low) == 0 && (is.it = ir_interp_new(&g, IR_PREC_F32)) != NULL &&
             interp_run(&is, &bt, fe.model.vocab) == 0;
    }
    /* the compiled step */
    fe_override sets[N_SETS];
    char text[N_SETS][64];
    for (int i = 0; i < n_sets; i++) {
        snprintf(text[i], sizeof text[i], "%s", em->sets[i]);
        rt_cli_parse_set(text[i], &sets[i]);
    }
    rt_pipeline_options po = { .model = path, .sets = sets, .n_sets = n_sets, .batch = B, .seq = T,
                               .step = RT_STEP_EVAL, .keep_stats = true };
    rt_cpu_step_options co = { .threads = 2 };
    rt_cpu_step cs;
    bool built = rt_cpu_step_build(&cs, &po, &co) == 0;
    ok = ok && built && cpu_run(&cs, &bt, fe.model.vocab) == 0;
    tap_ok(ok, "%s: the eval step compiled with keep_stats and the interpreter ran on a real batch", name);

    moec_diag diag;
    moec_diag_collect(&diag, 0);
    rt_metrics *mc = ok ? rt_metrics_new(&fe.model, sp->domains, sp->n_domains, B, T, &diag) : NULL;
    rt_metrics *mi = ok ? rt_metrics_new(&fe.model, sp->domains, sp->n_domains, B, T, &diag) : NULL;
    bool added = mc && mi && rt_metrics_add(mc, cpu_reader, &cs, bt.token_domain, NULL, NULL) == 0 &&
                 rt_metrics_add(mi, interp_reader, &is, bt.token_domain, NULL, NULL) == 0;
    double lm = NAN;
    added = added && rt_cpu_step_get(&cs, "lm_loss", &lm, 1) == 0;
    double lm_err = added ? fabs(rt_metrics_lm_loss(mc) - lm) / fabs(lm) : INFINITY;
    tap_ok(added && lm_err <= 1e-6, "%s: one batch, every position: eval/lm_loss is the step's lm_loss (%.6f, rel. %.2g)",
           name, lm, lm_err);
    added = added && rt_metrics_add(mc, cpu_reader, &cs, bt.token_domain, valid, NULL) == 0 &&
            rt_metrics_add(mi, interp_reader, &is, bt.token_domain, valid, NULL) == 0;
    if (!added) tap_diag("  %s", moec_diag_text(&diag));
    json_t *lc = json_object(), *li = json_object();
    bool wrote = added && rt_metrics_write(mc, "eval", lc) == 0 && rt_metrics_write(mi, "eval", li) == 0;
    int keys = 0;
    double worst = wrote ? compare_lines(lc, li, &keys) : INFINITY;
    int domains = 0;
    for (size_t d = 0; d < sp->n_domains; d++) {
        char key[300];
        snprintf(key, sizeof key, "eval/loss_%s", sp->domains[d]);
        domains += json_object_get(li, key) != NULL;
    }
    tap_ok(worst <= TOL && domains >= 2 && keys > 20,
           "%s: two batches (the second without the last 5 positions of each sequence): the eval line of the "
           "compiled step equals the interpreter's, %d keys, %d domains, worst %.3g", name, keys, domains, worst);
    json_decref(lc);
    json_decref(li);
    rt_metrics_free(mc);
    rt_metrics_free(mi);
    moec_diag_free(&diag);
    rt_cpu_step_free(&cs);
    ir_interp_free(is.it);
    if (have_graph) ir_graph_free(&g);
    rt_frontend_free(&fe);
}

int main(void)
{
    if (!rt_cpu_step_available()) {
        printf("1..0 # SKIP the CPU backend is not built (no LLVM)\n");
        return 0;
    }
    const char *data = getenv("MOEC_DATA");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/demo/shards", data ? data : "data");
    moec_diag diag;
    moec_diag_init(&diag, stdout, 0);
    rt_split_data sp;
    if (rt_split_load(dir, "eval", 50257, &sp, &diag) < 0) {
        tap_ok(false, "the demo corpus's eval split loads from %s (scripts/setup-data, MOEC_DATA)", dir);
        return tap_done();
    }
    /* the first block whose domain differs from the one before: the batch straddles it */
    size_t boundary = 1;
    while (boundary < sp.n_blocks && sp.block_domain[boundary] == sp.block_domain[boundary - 1]) boundary++;
    bool found = boundary < sp.n_blocks;
    tap_ok(found, "the eval split has a domain boundary (block %zu)", boundary);
    size_t start = found ? boundary * sp.seq - (B * T) / 2 : 0;
    for (size_t i = 0; found && i < sizeof MODELS / sizeof MODELS[0]; i++) test_model(&MODELS[i], &sp, start);
    rt_split_free(&sp);
    return tap_done();
}
