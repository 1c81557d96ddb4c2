/* runtime/report/plots.c -- the data and gnuplot script of each of the
 * report's plots (plots.h). Data files are whitespace-separated columns
 * with names in double quotes ("?" for a missing value); several series in
 * one file are gnuplot "index" blocks separated by two blank lines. The
 * heat maps centre a blue-white-red palette on the uniform share, so white
 * means "as much as an even split" and the title says the value. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/plots.h"

enum { QUOTED = 512, SAFE = 128 };

/* A memory stream for a data file or a script body. */
typedef struct buf {
    char *text;
    size_t len;
    FILE *f;
} buf;

static int buf_open(buf *b, moec_diag *d)
{
    memset(b, 0, sizeof *b);
    if (!(b->f = open_memstream(&b->text, &b->len))) return moec_error(d, "out of memory");
    return 0;
}

static int buf_close(buf *b, moec_diag *d)
{
    int rc = fclose(b->f);
    b->f = NULL;
    if (rc != 0 || !b->text) return moec_error(d, "out of memory");
    return 0;
}

static void buf_free(buf *b)
{
    if (b->f) fclose(b->f);
    free(b->text);
    memset(b, 0, sizeof *b);
}

/* Opens a plot's data and script buffers together: 0, or -1 after
 * reporting with neither left open. */
static int bufs_open(buf *data, buf *script, moec_diag *d)
{
    if (buf_open(data, d) != 0) return -1;
    if (buf_open(script, d) != 0) {
        buf_free(data);
        return -1;
    }
    return 0;
}

/* Drops a plot with nothing to draw: 0. */
static int bufs_discard(buf *data, buf *script)
{
    buf_free(data);
    buf_free(script);
    return 0;
}

/* Draws NAME from the two buffers (closing them). */
static int draw(rp_plotter *p, const char *name, buf *data, buf *script, int w, int h, char png[RP_PNG_PATH])
{
    int rc = -1;
    if (buf_close(data, p->d) == 0 && buf_close(script, p->d) == 0)
        rc = rp_plot(p, name, data->text, data->len, script->text, w, h);
    bufs_discard(data, script);
    if (rc == 1) snprintf(png, RP_PNG_PATH, "plots/%s.png", name);
    return rc;
}

/* The style of line series k of a plot: gnuplot's 8 colours in turn, then
 * again dashed and with other point shapes, so that a plot of more than 8
 * lines (every layer of every run) still tells them apart. */
static void series_style(FILE *f, int k)
{
    static const int POINTS[] = { 7, 5, 9, 11, 13 };
    int round = k / 8 % 5;
    fprintf(f, "with linespoints lc %d dt %d pt %d ps 0.6", k % 8 + 1, round + 1, POINTS[round]);
}

/* Series k's part of a plot command: index block k of the data file `dat`,
 * its style, its title. */
static void series_plot(FILE *script, const char *dat, int k, const char *title)
{
    char q[QUOTED];
    rp_gp_quote(title, q, sizeof q);
    fprintf(script, "%s '%s' index %d using 1:2 ", k ? ", \\\n    " : " ", dat, k);
    series_style(script, k);
    fprintf(script, " title '%s'", q);
}

static void put_value(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.9g", v);
    else fputs(" ?", f);
}

/* One line series: `key` of each evaluation of r against its step, as an
 * index block of a data file under the comment "LABEL: step KEY". Returns
 * the points written; 0 writes nothing (no evaluation has the number). */
static int series_data(FILE *f, const rp_run *r, const char *key, const char *label)
{
    int points = 0;
    for (size_t e = 0; e < r->n_evals; e++) points += isfinite(rp_num(r->evals[e], key));
    if (!points) return 0;
    fprintf(f, "# %s: step %s\n", label, key);
    for (size_t e = 0; e < r->n_evals; e++) {
        double v = rp_num(r->evals[e], key);
        if (!isfinite(v)) continue;
        fprintf(f, "%.0f", rp_num(r->evals[e], "step"));
        put_value(f, v);
        fputc('\n', f);
    }
    fputs("\n\n", f);
    return points;
}

/* A quoted, sanitised run name for a data file. */
static void put_name(FILE *f, const char *name)
{
    char s[SAFE];
    rp_gp_safe_name(name, s, sizeof s);
    fprintf(f, "\"%s\"", s);
}

/* A file name part for run r: its number and its sanitised name. */
static void run_file(char *out, size_t size, const char *what, int run_no, const rp_run *r, int layer)
{
    char s[SAFE];
    rp_gp_safe_name(r->name, s, sizeof s);
    if (layer >= 0) snprintf(out, size, "%s_%d_%s_L%d", what, run_no, s, layer);
    else snprintf(out, size, "%s_%d_%s", what, run_no, s);
}

static char *key_of(char *k, size_t size, const char *fmt, int a, int b)
{
    snprintf(k, size, fmt, a, b);
    return k;
}

/* Series plot: one index block per series; `titles` in order. */
int rp_plot_loss_curves(rp_plotter *p, const rp_run *runs, const int *order, int n, char png[RP_PNG_PATH])
{
    buf data, script;
    if (bufs_open(&data, &script, p->d) != 0) return -1;
    fputs("set title 'Evaluation loss (eval/lm_loss) against the step'\nset xlabel 'step'\n"
          "set ylabel 'eval/lm_loss (nats per token)'\nset key outside right\nset grid\nplot", script.f);
    int series = 0;
    for (int i = 0; i < n; i++) {
        const rp_run *r = &runs[order[i]];
        if (series_data(data.f, r, "eval/lm_loss", r->name)) series_plot(script.f, "loss_curves.dat", series++, r->name);
    }
    fputc('\n', script.f);
    if (!series) return bufs_discard(&data, &script);
    return draw(p, "loss_curves", &data, &script, 900, 540, png);
}

int rp_plot_domain_best(rp_plotter *p, const rp_run *runs, const int *order, int n, char *const *domains,
                        int n_domains, char png[RP_PNG_PATH])
{
    if (n_domains == 0) return 0;
    buf data, script;
    if (bufs_open(&data, &script, p->d) != 0) return -1;
    fputs("run", data.f);
    for (int k = 0; k < n_domains; k++) {
        fputc(' ', data.f);
        put_name(data.f, domains[k]);
    }
    fputc('\n', data.f);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        const rp_run *r = &runs[order[i]];
        if (r->n_evals == 0) continue;
        put_name(data.f, r->name);
        for (int k = 0; k < n_domains; k++) {
            char key[RP_MAX_NAME + 16];
            snprintf(key, sizeof key, "eval/loss_%s", domains[k]);
            put_value(data.f, rp_min_over_evals(r, key));
        }
        fputc('\n', data.f);
        rows++;
    }
    if (!rows) return bufs_discard(&data, &script);
    fprintf(script.f, "set title 'Best evaluation loss per domain (lowest eval/loss_{domain} of each run)'\n"
                      "set ylabel 'eval loss (nats per token)'\nset style data histogram\n"
                      "set style histogram cluster gap 1\nset style fill solid 0.8 border -1\nset boxwidth 0.9\n"
                      "set key outside right\nset grid ytics\nset yrange [0:*]\nset xtics rotate by -30\n"
                      "plot for [c=2:%d] 'domain_best.dat' using c:xtic(1) title columnheader(c)\n",
            n_domains + 1);
    return draw(p, "domain_best", &data, &script, 900, 540, png);
}

int rp_plot_entropy(rp_plotter *p, const rp_run *runs, const int *order, int n, char png[RP_PNG_PATH])
{
    buf data, script;
    if (bufs_open(&data, &script, p->d) != 0) return -1;
    fputs("set title 'Router distribution entropy / ln E over training (1 = every expert used evenly)'\n"
          "set xlabel 'step'\nset ylabel 'dist_entropy / ln E'\nset key outside right\nset grid\n"
          "set yrange [0:1.05]\nplot", script.f);
    int series = 0;
    for (int i = 0; i < n; i++) {
        const rp_run *r = &runs[order[i]];
        for (int l = 0; l < r->n_layers; l++) {
            char key[64];
            key_of(key, sizeof key, "router/layer_%d_dist_entropy", r->layers[l].index, 0);
            char label[RP_MAX_NAME + 32];
            snprintf(label, sizeof label, "%s layer %d", r->name, r->layers[l].index);
            if (series_data(data.f, r, key, label)) series_plot(script.f, "entropy.dat", series++, label);
        }
    }
    fputc('\n', script.f);
    if (!series) return bufs_discard(&data, &script);
    return draw(p, "entropy", &data, &script, 900, 540, png);
}

/* A heat map's common script: the palette centred on `uniform` over
 * [0, top], tics from the labels, cell values printed. */
static void heatmap_script(FILE *s, const char *file, const char *title, const char *cblabel, double uniform,
                           double top, int cols, char *const *ylabels, int rows, const char *xlabel,
                           const char *value_fmt)
{
    fprintf(s, "set title '%s'\nset cblabel '%s'\nset xlabel '%s'\nunset key\nset cbrange [0:%.9g]\n"
               "set palette defined (0 '#2166ac', %.9g '#f7f7f7', %.9g '#b2182b')\n"
               "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\nset xtics 1\nset ytics (",
            title, cblabel, xlabel, top, uniform, top, cols - 1, rows - 1);
    for (int y = 0; y < rows; y++) {
        char q[QUOTED];
        rp_gp_quote(ylabels[y], q, sizeof q);
        fprintf(s, "%s'%s' %d", y ? ", " : "", q, y);
    }
    fprintf(s, ")\nset tics scale 0\n"
               "plot '%s' using 1:2:3 with image, '' using 1:2:(sprintf('%s', $3)) with labels\n",
            file, value_fmt);
}

/* What one heat map shows: rows x E cells (NAN: no value), row labels, the
 * value of the uniform share (white) and how the numbers print. */
typedef struct heatmap {
    const double *cell;       /* [rows][E] */
    int rows, E, layer;
    char *const *labels;      /* [rows] */
    const char *what;         /* the file name's kind: "expert_domain", "token_types" */
    const char *header;       /* the data file's comment line */
    const char *title, *cblabel, *fmt;
    double uniform;           /* the white value; the scale runs to at least 2x it */
} heatmap;

/* Writes a heat map's data and script and draws it. */
static int heatmap_plot(rp_plotter *p, const rp_run *r, int run_no, const heatmap *h, char png[RP_PNG_PATH])
{
    buf data, script;
    if (bufs_open(&data, &script, p->d) != 0) return -1;
    fprintf(data.f, "# %s\n", h->header);
    double top = 2.0 * h->uniform;
    for (int y = 0; y < h->rows; y++) {
        for (int e = 0; e < h->E; e++) {
            double v = h->cell[(size_t)y * (size_t)h->E + (size_t)e];
            if (isfinite(v) && v > top) top = v;
            fprintf(data.f, "%d %d", e, y);
            put_value(data.f, v);
            fputc('\n', data.f);
        }
        fputc('\n', data.f);
    }
    char name[RP_PNG_PATH / 2], file[RP_PNG_PATH / 2 + 8];
    run_file(name, sizeof name, h->what, run_no, r, h->layer);
    snprintf(file, sizeof file, "%s.dat", name);
    heatmap_script(script.f, file, h->title, h->cblabel, h->uniform, top, h->E, h->labels, h->rows, "expert", h->fmt);
    return draw(p, name, &data, &script, 640 + 70 * h->E, 220 + 50 * h->rows, png);
}

int rp_plot_expert_domain(rp_plotter *p, const rp_run *r, int run_no, const rp_layer *layer, char png[RP_PNG_PATH])
{
    if (r->final_eval < 0 || layer->experts < 1) return 0;
    const json_t *fin = r->evals[r->final_eval];
    int rows = r->n_domains + 1, E = layer->experts, L = layer->index;
    char **labels = calloc((size_t)rows, sizeof *labels);
    double *cell = malloc((size_t)rows * (size_t)E * sizeof *cell);
    if (!labels || !cell) {
        free(labels);
        free(cell);
        return moec_error(p->d, "out of memory");
    }
    labels[0] = "all";
    for (int k = 0; k < r->n_domains; k++) labels[k + 1] = r->domains[k];
    for (int y = 0; y < rows; y++) {
        for (int e = 0; e < E; e++) {
            char key[RP_MAX_NAME + 64];
            int n = snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac", L, e);
            if (y > 0 && n > 0 && (size_t)n < sizeof key) snprintf(key + n, sizeof key - (size_t)n, "_%s", labels[y]);
            cell[(size_t)y * (size_t)E + (size_t)e] = rp_num(fin, key);
        }
    }
    char header[RP_MAX_NAME + 128], title[QUOTED + 128], q[QUOTED], cblabel[96];
    snprintf(header, sizeof header, "%s layer %d, final evaluation (step %.0f): expert domain fraction (row 0: all tokens)",
             r->name, L, rp_num(fin, "step"));
    rp_gp_quote(r->name, q, sizeof q);
    snprintf(title, sizeof title, "%s, layer %d: expert fraction per domain (step %.0f)", q, L, rp_num(fin, "step"));
    snprintf(cblabel, sizeof cblabel, "fraction (white = uniform 1/E = %.3f)", 1.0 / E);
    heatmap h = { cell, rows, E, L, labels, "expert_domain", header, title, cblabel, "%.3f", 1.0 / E };
    int rc = heatmap_plot(p, r, run_no, &h, png);
    free(labels);
    free(cell);
    return rc;
}

int rp_plot_trajectory(rp_plotter *p, const rp_run *r, int run_no, const rp_layer *layer, char png[RP_PNG_PATH])
{
    if (r->n_evals == 0 || layer->experts < 1) return 0;
    int E = layer->experts, L = layer->index;
    buf data, script;
    if (bufs_open(&data, &script, p->d) != 0) return -1;
    fprintf(data.f, "# %s layer %d: step, then each expert's fraction f_e\n", r->name, L);
    for (size_t i = 0; i < r->n_evals; i++) {
        fprintf(data.f, "%.0f", rp_num(r->evals[i], "step"));
        for (int e = 0; e < E; e++) {
            char key[64];
            put_value(data.f, rp_num(r->evals[i], key_of(key, sizeof key, "router/layer_%d_expert_%d_frac", L, e)));
        }
        fputc('\n', data.f);
    }
    char name[RP_PNG_PATH / 2], q[QUOTED];
    run_file(name, sizeof name, "expert_trajectory", run_no, r, L);
    rp_gp_quote(r->name, q, sizeof q);
    fprintf(script.f, "set title '%s: layer %d expert fractions over training (dashed: uniform 1/E = %.3f)'\n"
                      "set xlabel 'step'\nset ylabel 'fraction of assignments f_e'\nset key outside right\nset grid\n"
                      "set yrange [0:*]\n"
                      "plot for [e=0:%d] '%s.dat' using 1:(column(e+2)) with linespoints pt 7 ps 0.6 "
                      "title sprintf('expert %%d', e), \\\n    %.9g with lines dt 2 lc rgb 'black' title 'uniform 1/E'\n",
            q, L, 1.0 / E, E - 1, name, 1.0 / E);
    return draw(p, name, &data, &script, 900, 500, png);
}

int rp_plot_token_types(rp_plotter *p, const rp_run *r, int run_no, const rp_token_use *u, int li,
                        char png[RP_PNG_PATH])
{
    int E = u->layer_experts[li], L = u->layer_index[li];
    if (E < 1 || E > u->experts) return 0;
    char *labels[RP_TT_COUNT];
    for (int t = 0; t < RP_TT_COUNT; t++) labels[t] = (char *)rp_token_type_name((rp_token_type)t);
    double *cell = malloc((size_t)RP_TT_COUNT * (size_t)E * sizeof *cell);
    if (!cell) return moec_error(p->d, "out of memory");
    for (int t = 0; t < RP_TT_COUNT; t++) {
        const double *row = u->count + ((size_t)li * RP_TT_COUNT + (size_t)t) * (size_t)u->experts;
        double sum = 0;
        for (int e = 0; e < E; e++) sum += row[e];
        for (int e = 0; e < E; e++) cell[(size_t)t * (size_t)E + (size_t)e] = sum > 0 ? 100.0 * row[e] / sum : NAN;
    }
    char header[RP_MAX_NAME + 128], title[QUOTED + 128], q[QUOTED], cblabel[96];
    snprintf(header, sizeof header, "%s layer %d: expert, token type, %% of the type's code tokens whose top-1 expert it is",
             r->name, L);
    rp_gp_quote(r->name, q, sizeof q);
    snprintf(title, sizeof title, "%s, layer %d: %% of each code token type per top-1 expert", q, L);
    snprintf(cblabel, sizeof cblabel, "%% of the type (white = uniform 100/E = %.1f)", 100.0 / E);
    heatmap h = { cell, RP_TT_COUNT, E, L, labels, "token_types", header, title, cblabel, "%.1f", 100.0 / E };
    int rc = heatmap_plot(p, r, run_no, &h, png);
    free(cell);
    return rc;
}
