/* runtime/report/build.c -- the report's content (build.h). Every table
 * lists runs grouped by configuration; a configuration of two or more runs
 * (seeds) gets a summary row after its runs with the mean ± the 95%
 * confidence interval of each number (runtime/report/stats.h). The plots
 * sit after the tables they illustrate. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/build.h"
#include "runtime/report/plots.h"
#include "runtime/report/stats.h"

enum { CELL = 256, MAX_COLS = 4096 + 16 };

/* ---- columns ---- */

typedef struct col col;
typedef double (*num_fn)(const rp_run *r, const col *c);
typedef void (*text_fn)(const rp_run *r, const col *c, char *buf, size_t size);

struct col {
    char head[96];
    num_fn num;            /* a number (with a configuration mean), or */
    text_fn text;          /* a text (blank in a configuration's row) */
    const char *fmt;       /* printf format of one number */
    char key[RP_MAX_NAME + 64];
    const rp_run *base;    /* the baseline run, for the differences */
};

static double c_final(const rp_run *r, const col *c) { return rp_final(r, c->key); }
static double c_best(const rp_run *r, const col *c) { return rp_best(r, c->key); }
static double c_final_pct(const rp_run *r, const col *c) { return 100 * rp_final(r, c->key); }

/* (run − baseline) / baseline in percent, final evaluations. */
static double c_delta_final(const rp_run *r, const col *c)
{
    double b = rp_final(c->base, c->key);
    return 100 * (rp_final(r, c->key) - b) / b;
}

/* The same for the best evaluations (lowest eval/loss) of both. */
static double c_delta_best(const rp_run *r, const col *c)
{
    double b = rp_best(c->base, c->key);
    return 100 * (rp_best(r, c->key) - b) / b;
}

/* The largest expert fraction of layer key's L in the final evaluation, %. */
static double c_max_frac(const rp_run *r, const col *c)
{
    int L = atoi(c->key);
    double m = NAN;
    for (int l = 0; l < r->n_layers; l++)
        if (r->layers[l].index == L)
            for (int e = 0; e < r->layers[l].experts; e++) {
                char key[64];
                snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac", L, e);
                double v = rp_final(r, key);
                if (isfinite(v) && !(v <= m)) m = v;
            }
    return 100 * m;
}

static void t_name(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    snprintf(buf, size, "%s", r->name);
}

static void t_seed(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    bool has;
    int64_t s = rp_seed(r, &has);
    if (has) snprintf(buf, size, "%lld", (long long)s);
    else snprintf(buf, size, "n/a");
}

static void t_stopped(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    const char *why = rp_stopped_reason(r);
    snprintf(buf, size, "%s%s", why ? why : "in progress / no summary",
             r->truncated ? " (metrics.jsonl cut short)" : "");
}

static void t_last_step(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    if (isfinite(r->last_step)) snprintf(buf, size, "%.0f", r->last_step);
    else snprintf(buf, size, "none");
}

static void t_best_step(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    double s = rp_best(r, "step");
    if (isfinite(s)) snprintf(buf, size, "%.0f", s);
    else snprintf(buf, size, "n/a");
}

static void t_config(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    (void)r;
    snprintf(buf, size, "%s", "");   /* filled by the caller, which knows the configuration's first run */
}

static void t_model(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    const char *m = json_string_value(json_object_get(r->config, "model_file"));
    snprintf(buf, size, "%s%s", m ? m : "n/a", r->moe ? "" : " (dense)");
}

static void t_sets(const rp_run *r, const col *c, char *buf, size_t size)
{
    (void)c;
    json_t *sets = json_object_get(r->config, "sets");
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < json_array_size(sets) && k + 1 < size; i++) {
        const char *s = json_string_value(json_array_get(sets, i));
        if (!s) continue;
        int n = snprintf(buf + k, size - k, "%s%s", k ? " " : "", s);
        if (n < 0) break;
        k += (size_t)n;
    }
    if (k >= size) k = size - 1;
    if (!buf[0]) snprintf(buf, size, "none");
}

static void t_layer_experts(const rp_run *r, const col *c, char *buf, size_t size)
{
    int L = atoi(c->key);
    for (int l = 0; l < r->n_layers; l++)
        if (r->layers[l].index == L) {
            snprintf(buf, size, "%d", r->layers[l].experts);
            return;
        }
    snprintf(buf, size, "n/a");
}

static col num_col(const char *head, num_fn f, const char *key, const char *fmt, const rp_run *base)
{
    col c = {.num = f, .fmt = fmt, .base = base};
    snprintf(c.head, sizeof c.head, "%s", head);
    snprintf(c.key, sizeof c.key, "%s", key ? key : "");
    return c;
}

static col text_col(const char *head, text_fn f, const char *key)
{
    col c = {.text = f};
    snprintf(c.head, sizeof c.head, "%s", head);
    snprintf(c.key, sizeof c.key, "%s", key ? key : "");
    return c;
}

/* ---- tables ---- */

void rp_report_order(const rp_run *runs, int n, int *order)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].config_id == i)
            for (int j = i; j < n; j++)
                if (runs[j].config_id == i) order[k++] = j;
}

static void number_cell(rp_doc *doc, const char *fmt, double v)
{
    if (!isfinite(v)) {
        rp_doc_cell(doc, "n/a");
        return;
    }
    char s[CELL];
    snprintf(s, sizeof s, fmt, v);
    rp_doc_cell(doc, "%s", s);
}

/* A table of the runs rows[0, n) (grouped, as rp_report_order gives them):
 * a row per run, and a summary row after each configuration with two or
 * more of them. Column 0 is the run's name; a t_config column shows the
 * configuration's name. */
static void runs_table(rp_doc *doc, const rp_run *runs, const int *rows, int n, const col *cols, int n_cols)
{
    rp_doc_table(doc, n_cols);
    for (int c = 0; c < n_cols; c++) rp_doc_cell(doc, "%s", cols[c].head);
    double *vals = malloc((size_t)(n > 0 ? n : 1) * sizeof *vals);
    if (!vals) {
        doc->failed = true;
        return;
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && runs[rows[j]].config_id == runs[rows[i]].config_id) j++;
        const char *cname = runs[rows[i]].config_name;
        for (int k = i; k < j; k++) {
            const rp_run *r = &runs[rows[k]];
            rp_doc_row(doc, false);
            for (int c = 0; c < n_cols; c++) {
                char s[4 * CELL];
                if (cols[c].text == t_config) rp_doc_cell(doc, "%s", cname);
                else if (cols[c].text) {
                    cols[c].text(r, &cols[c], s, sizeof s);
                    rp_doc_cell(doc, "%s", s);
                } else number_cell(doc, cols[c].fmt, cols[c].num(r, &cols[c]));
            }
        }
        if (j - i >= 2) {
            rp_doc_row(doc, true);
            for (int c = 0; c < n_cols; c++) {
                if (c == 0) {
                    rp_doc_cell(doc, "%s (mean ± 95%% CI, n=%d)", cname, j - i);
                    continue;
                }
                if (!cols[c].num) {
                    rp_doc_cell(doc, "%s", cols[c].text == t_config ? cname : "");
                    continue;
                }
                for (int k = i; k < j; k++) vals[k - i] = cols[c].num(&runs[rows[k]], &cols[c]);
                double mean, half;
                int m = rp_mean_ci(vals, j - i, &mean, &half);
                char a[CELL], b[CELL];
                if (m == 0) rp_doc_cell(doc, "n/a");
                else if (m < 2) {
                    snprintf(a, sizeof a, cols[c].fmt, mean);
                    rp_doc_cell(doc, "%s (n=1)", a);
                } else {
                    snprintf(a, sizeof a, cols[c].fmt, mean);
                    /* the half width in the format's precision, without its sign */
                    const char *f = cols[c].fmt;
                    char unsigned_fmt[16];
                    snprintf(unsigned_fmt, sizeof unsigned_fmt, "%s", f[1] == '+' ? f + 1 : f);
                    if (f[1] == '+') unsigned_fmt[0] = '%';
                    snprintf(b, sizeof b, unsigned_fmt, half);
                    rp_doc_cell(doc, "%s ± %s%s", a, b, m < j - i ? " (some n/a)" : "");
                }
            }
        }
        i = j;
    }
    free(vals);
}

/* ---- sections ---- */

static void section_runs(rp_doc *doc, const rp_report_input *in, const int *order)
{
    rp_doc_heading(doc, 2, "Runs");
    int configs = 0, multi = 0;
    for (int i = 0; i < in->n; i++)
        if (in->runs[i].config_id == i) {
            configs++;
            int m = 0;
            for (int j = i; j < in->n; j++) m += in->runs[j].config_id == i;
            multi += m >= 2;
        }
    rp_doc_para(doc, "%d run%s in %d configuration%s (runs whose config.json agree on everything but the seed). "
                "Each configuration of two or more runs (%d here) has a summary row after its runs in every table: "
                "the mean ± the half width of its 95%% confidence interval (Student t, n − 1 degrees of freedom).",
                in->n, in->n == 1 ? "" : "s", configs, configs == 1 ? "" : "s", multi);
    if (in->baseline >= 0)
        rp_doc_para(doc, "Baseline: %s (%s). Differences are (run − baseline) / baseline of the language-model "
                    "loss eval/lm_loss, in percent.", in->runs[in->baseline].name, in->baseline_why);
    else
        rp_doc_para(doc, "Baseline: none (%s).", in->baseline_why);
    col cols[] = {
        text_col("run", t_name, NULL),         text_col("configuration", t_config, NULL),
        text_col("model", t_model, NULL),      text_col("seed", t_seed, NULL),
        text_col("--set", t_sets, NULL),       text_col("last step", t_last_step, NULL),
        text_col("stopped", t_stopped, NULL),
    };
    runs_table(doc, in->runs, order, in->n, cols, (int)(sizeof cols / sizeof cols[0]));
}

static int section_loss(rp_doc *doc, const rp_report_input *in, const int *order, rp_plotter *p)
{
    rp_doc_heading(doc, 2, "Evaluation loss");
    rp_doc_para(doc, "Final: the last evaluation; best: the evaluation with the lowest eval/loss (the one "
                "best-model.safetensors keeps). eval/loss includes the auxiliary router losses; LM loss is the "
                "cross-entropy eval/lm_loss alone and perplexity is exp(LM loss).");
    const rp_run *base = in->baseline >= 0 ? &in->runs[in->baseline] : NULL;
    col cols[12];
    int n = 0;
    cols[n++] = text_col("run", t_name, NULL);
    cols[n++] = num_col("final eval loss", c_final, "eval/loss", "%.4f", NULL);
    cols[n++] = num_col("final LM loss", c_final, "eval/lm_loss", "%.4f", NULL);
    cols[n++] = num_col("final perplexity", c_final, "eval/perplexity", "%.2f", NULL);
    cols[n++] = num_col("best eval loss", c_best, "eval/loss", "%.4f", NULL);
    cols[n++] = text_col("best step", t_best_step, NULL);
    cols[n++] = num_col("best LM loss", c_best, "eval/lm_loss", "%.4f", NULL);
    cols[n++] = num_col("best perplexity", c_best, "eval/perplexity", "%.2f", NULL);
    if (base) {
        cols[n++] = num_col("final LM loss vs baseline (%)", c_delta_final, "eval/lm_loss", "%+.2f", base);
        cols[n++] = num_col("best LM loss vs baseline (%)", c_delta_best, "eval/lm_loss", "%+.2f", base);
    }
    runs_table(doc, in->runs, order, in->n, cols, n);
    char png[RP_PNG_PATH];
    int rc = rp_plot_loss_curves(p, in->runs, order, in->n, png);
    if (rc == 1) rp_doc_image(doc, png, "Evaluation LM loss (eval/lm_loss) against the step, every run");
    return rc < 0 ? -1 : 0;
}

/* The domains of all runs, sorted, without repeats (pointers into the runs). */
static int all_domains(const rp_report_input *in, char ***out)
{
    int cap = 0, n = 0;
    char **ds = NULL;
    for (int i = 0; i < in->n; i++)
        for (int k = 0; k < in->runs[i].n_domains; k++) {
            char *dom = in->runs[i].domains[k];
            int j = 0;
            while (j < n && strcmp(ds[j], dom) != 0) j++;
            if (j < n) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **g = realloc(ds, (size_t)cap * sizeof *g);
                if (!g) {
                    free(ds);
                    return -1;
                }
                ds = g;
            }
            int at = n++;
            while (at > 0 && strcmp(ds[at - 1], dom) > 0) {
                ds[at] = ds[at - 1];
                at--;
            }
            ds[at] = dom;
        }
    *out = ds;
    return n;
}

static int section_domains(rp_doc *doc, const rp_report_input *in, const int *order, rp_plotter *p, moec_diag *d)
{
    char **ds = NULL;
    int nd = all_domains(in, &ds);
    if (nd < 0) return moec_error(d, "out of memory");
    if (nd == 0) {
        free(ds);
        return 0;
    }
    rp_doc_heading(doc, 2, "Evaluation loss per domain");
    rp_doc_para(doc, "eval/loss_{domain} of the final evaluation: the LM loss over that domain's tokens.");
    col *cols = calloc((size_t)nd + 1, sizeof *cols);
    if (!cols) {
        free(ds);
        return moec_error(d, "out of memory");
    }
    cols[0] = text_col("run", t_name, NULL);
    for (int k = 0; k < nd; k++) {
        char key[RP_MAX_NAME + 16];
        snprintf(key, sizeof key, "eval/loss_%s", ds[k]);
        cols[k + 1] = num_col(ds[k], c_final, key, "%.4f", NULL);
    }
    runs_table(doc, in->runs, order, in->n, cols, nd + 1);
    free(cols);
    char png[RP_PNG_PATH];
    int rc = rp_plot_domain_best(p, in->runs, order, in->n, ds, nd, png);
    if (rc == 1) rp_doc_image(doc, png, "Best evaluation loss per domain (the lowest eval/loss_{domain} of each run)");
    free(ds);
    return rc < 0 ? -1 : 0;
}

/* The MoE layer indices of all runs, sorted. */
static int all_layers(const rp_report_input *in, int **out, int *max_experts)
{
    int n = 0, cap = 0, *ls = NULL;
    *max_experts = 0;
    for (int i = 0; i < in->n; i++)
        for (int l = 0; l < in->runs[i].n_layers; l++) {
            int L = in->runs[i].layers[l].index;
            if (in->runs[i].layers[l].experts > *max_experts) *max_experts = in->runs[i].layers[l].experts;
            int j = 0;
            while (j < n && ls[j] != L) j++;
            if (j < n) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                int *g = realloc(ls, (size_t)cap * sizeof *g);
                if (!g) {
                    free(ls);
                    return -1;
                }
                ls = g;
            }
            int at = n++;
            while (at > 0 && ls[at - 1] > L) {
                ls[at] = ls[at - 1];
                at--;
            }
            ls[at] = L;
        }
    *out = ls;
    return n;
}

static bool run_has_layer(const rp_run *r, int L)
{
    for (int l = 0; l < r->n_layers; l++)
        if (r->layers[l].index == L) return true;
    return false;
}

static bool any_final(const rp_report_input *in, const int *rows, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (isfinite(rp_final(&in->runs[rows[i]], key))) return true;
    return false;
}

static int section_routing(rp_doc *doc, const rp_report_input *in, const int *order, rp_plotter *p, moec_diag *d)
{
    int *ls = NULL, emax = 0;
    int nl = all_layers(in, &ls, &emax);
    if (nl < 0) return moec_error(d, "out of memory");
    if (nl == 0) {
        free(ls);
        return 0;
    }
    int *rows = malloc((size_t)in->n * sizeof *rows);
    col *cols = calloc((size_t)emax + 12, sizeof *cols);
    if (!rows || !cols) {
        free(ls);
        free(rows);
        free(cols);
        return moec_error(d, "out of memory");
    }
    rp_doc_heading(doc, 2, "Routing (final evaluation)");
    rp_doc_para(doc, "Per MoE layer L, from the router/layer_L_* metrics of each run's final evaluation: each "
                "expert's fraction f_e of the assignments (%%), the largest of them, the mean routing entropy per "
                "token (nats), the distribution entropy divided by ln E (1 = every expert used evenly), the "
                "imbalance max f_e / mean f_e, the fraction of assignments the capacity dropped, the fraction of "
                "rows no expert took and, when the run logs it, the weight divergence between the experts.");
    for (int li = 0; li < nl; li++) {
        int L = ls[li], nr = 0, E = 0;
        for (int i = 0; i < in->n; i++)
            if (run_has_layer(&in->runs[order[i]], L)) {
                rows[nr++] = order[i];
                const rp_run *r = &in->runs[order[i]];
                for (int l = 0; l < r->n_layers; l++)
                    if (r->layers[l].index == L && r->layers[l].experts > E) E = r->layers[l].experts;
            }
        rp_doc_heading(doc, 3, "MoE layer %d", L);
        int n = 0;
        char lk[32];
        snprintf(lk, sizeof lk, "%d", L);
        cols[n++] = text_col("run", t_name, NULL);
        cols[n++] = text_col("E", t_layer_experts, lk);
        for (int e = 0; e < E; e++) {
            char head[32], key[64];
            snprintf(head, sizeof head, "f_%d %%", e);
            snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac", L, e);
            cols[n++] = num_col(head, c_final_pct, key, "%.1f", NULL);
        }
        cols[n++] = num_col("max f_e %", c_max_frac, lk, "%.1f", NULL);
        static const struct { const char *head, *suffix, *fmt; } S[] = {
            {"routing entropy", "entropy", "%.3f"},
            {"dist entropy / ln E", "dist_entropy", "%.3f"},
            {"imbalance", "imbalance", "%.3f"},
            {"dropped", "dropped", "%.4f"},
            {"unrouted", "unrouted", "%.4f"},
            {"weight divergence", "weight_divergence", "%.4f"},
        };
        for (size_t s = 0; s < sizeof S / sizeof S[0]; s++) {
            char key[64];
            snprintf(key, sizeof key, "router/layer_%d_%s", L, S[s].suffix);
            if (!strcmp(S[s].suffix, "weight_divergence") && !any_final(in, rows, nr, key)) continue;
            cols[n++] = num_col(S[s].head, c_final, key, S[s].fmt, NULL);
        }
        runs_table(doc, in->runs, rows, nr, cols, n);
    }
    char png[RP_PNG_PATH];
    int rc = rp_plot_entropy(p, in->runs, order, in->n, png);
    if (rc == 1)
        rp_doc_image(doc, png, "Router distribution entropy / ln E against the step, every MoE layer of every run");
    free(ls);
    free(rows);
    free(cols);
    return rc < 0 ? -1 : 0;
}

static int section_expert_domain(rp_doc *doc, const rp_report_input *in, const int *order, rp_plotter *p)
{
    bool any = false;
    for (int i = 0; i < in->n; i++) any |= in->runs[i].n_layers > 0;
    if (!any) return 0;
    rp_doc_heading(doc, 2, "Expert use per domain and over training");
    rp_doc_para(doc, "For each MoE layer of each run: the final evaluation's fraction of each domain's assignments "
                "that went to each expert (router/layer_L_expert_e_frac_{domain}, %%; row all: every token). "
                "The heat map's colour scale is white at the uniform share 1/E, blue below it and red above it. "
                "The trajectory plot follows each expert's fraction over the evaluations: a collapse shows as one "
                "line rising towards 1 while the others fall to 0.");
    for (int i = 0; i < in->n; i++) {
        const rp_run *r = &in->runs[order[i]];
        for (int l = 0; l < r->n_layers; l++) {
            const rp_layer *ly = &r->layers[l];
            rp_doc_heading(doc, 3, "%s, layer %d", r->name, ly->index);
            if (r->final_eval < 0) {
                rp_doc_para(doc, "No evaluation yet.");
                continue;
            }
            rp_doc_table(doc, ly->experts + 1);
            rp_doc_cell(doc, "tokens");
            for (int e = 0; e < ly->experts; e++) rp_doc_cell(doc, "expert %d %%", e);
            for (int k = -1; k < r->n_domains; k++) {
                rp_doc_row(doc, false);
                rp_doc_cell(doc, "%s", k < 0 ? "all" : r->domains[k]);
                for (int e = 0; e < ly->experts; e++) {
                    char key[RP_MAX_NAME + 64];
                    if (k < 0) snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac", ly->index, e);
                    else snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac_%s", ly->index, e, r->domains[k]);
                    number_cell(doc, "%.1f", 100 * rp_final(r, key));
                }
            }
            char png[RP_PNG_PATH];
            int rc = rp_plot_expert_domain(p, r, order[i] + 1, ly, png);
            if (rc < 0) return -1;
            char cap[CELL + 96];
            snprintf(cap, sizeof cap, "%s, layer %d: expert by domain fraction (white = 1/E = %.3f)", r->name,
                     ly->index, 1.0 / ly->experts);
            if (rc == 1) rp_doc_image(doc, png, cap);
            rc = rp_plot_trajectory(p, r, order[i] + 1, ly, png);
            if (rc < 0) return -1;
            snprintf(cap, sizeof cap, "%s, layer %d: expert fractions over training (dashed: 1/E)", r->name,
                     ly->index);
            if (rc == 1) rp_doc_image(doc, png, cap);
        }
    }
    return 0;
}

static int section_token_types(rp_doc *doc, const rp_report_input *in, const int *order, rp_plotter *p)
{
    bool any = false;
    for (int i = 0; i < in->n; i++) any |= in->tt && in->tt[i];
    if (!any) return 0;
    rp_doc_heading(doc, 2, "Expert use by token type (code)");
    rp_doc_para(doc, "The code domain's evaluation tokens run through each run's final weights; each token takes "
                "the type of its first non-blank character under a Python lexer and counts for its top-1 expert. "
                "Cells: %% of that type's tokens; the heat map is white at the uniform 100/E.");
    for (int i = 0; i < in->n; i++) {
        const rp_run *r = &in->runs[order[i]];
        const rp_token_use *u = in->tt[order[i]];
        if (!u) continue;
        for (int l = 0; l < u->layers; l++) {
            int E = u->layer_experts[l];
            if (E < 1 || E > u->experts) continue;
            rp_doc_heading(doc, 3, "%s, layer %d (%lld code tokens)", r->name, u->layer_index[l], (long long)u->tokens);
            rp_doc_table(doc, E + 2);
            rp_doc_cell(doc, "token type");
            rp_doc_cell(doc, "tokens");
            for (int e = 0; e < E; e++) rp_doc_cell(doc, "expert %d %%", e);
            for (int t = 0; t < RP_TT_COUNT; t++) {
                const double *row = u->count + ((size_t)l * RP_TT_COUNT + (size_t)t) * (size_t)u->experts;
                double sum = 0;
                for (int e = 0; e < E; e++) sum += row[e];
                rp_doc_row(doc, false);
                rp_doc_cell(doc, "%s", rp_token_type_name((rp_token_type)t));
                rp_doc_cell(doc, "%.0f", sum);
                for (int e = 0; e < E; e++) number_cell(doc, "%.1f", sum > 0 ? 100 * row[e] / sum : NAN);
            }
            char png[RP_PNG_PATH];
            int rc = rp_plot_token_types(p, r, order[i] + 1, u, l, png);
            if (rc < 0) return -1;
            char cap[CELL + 96];
            snprintf(cap, sizeof cap, "%s, layer %d: %% of each code token type per top-1 expert (white = %.1f%%)",
                     r->name, u->layer_index[l], 100.0 / E);
            if (rc == 1) rp_doc_image(doc, png, cap);
        }
    }
    return 0;
}

int rp_build_report(rp_doc *doc, const rp_report_input *in, rp_plotter *p, moec_diag *d)
{
    int *order = malloc((size_t)(in->n > 0 ? in->n : 1) * sizeof *order);
    if (!order) return moec_error(d, "out of memory");
    rp_report_order(in->runs, in->n, order);
    rp_doc_heading(doc, 1, "moec report");
    section_runs(doc, in, order);
    int rc = 0;
    if (section_loss(doc, in, order, p) != 0 || section_domains(doc, in, order, p, d) != 0 ||
        section_routing(doc, in, order, p, d) != 0 || section_expert_domain(doc, in, order, p) != 0 ||
        section_token_types(doc, in, order, p) != 0)
        rc = -1;
    free(order);
    if (rc == 0 && doc->failed) rc = moec_error(d, "out of memory while building the report");
    return rc;
}
