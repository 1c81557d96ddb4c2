/* tests/report/test_report.c -- moec report's library pieces, built with
 * ASan+UBSan when configure found them: the Student t table and the 95%
 * interval on hand numbers; configuration names; the fixtures grouped into
 * configurations; every prefix of a metrics.jsonl (a run killed at any byte)
 * and random byte damage loaded without a crash, a cut-short last line
 * reported as such; Markdown and HTML escaping; the expert use by token
 * type drawn from a hand-made count (the analysis itself,
 * runtime/report/token_types.c, is not linked: this file names the types). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/report/build.h"
#include "runtime/report/doc.h"
#include "runtime/report/results.h"
#include "runtime/report/run.h"
#include "runtime/report/stats.h"
#include "tests/tap.h"

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* The names runtime/report/token_types.h promises, for build.c and plots.c. */
const char *rp_token_type_name(rp_token_type t)
{
    static const char *const names[RP_TT_COUNT] = {"keyword", "name", "number", "string", "operator", "comment", "other"};
    return (unsigned)t < RP_TT_COUNT ? names[t] : "?";
}

static void t_table(void)
{
    tap_ok(rp_t975(1) == 12.706 && rp_t975(2) == 4.303 && rp_t975(4) == 2.776 && rp_t975(30) == 2.042,
           "t(0.975) for 1, 2, 4, 30 degrees of freedom: the table's 12.706, 4.303, 2.776, 2.042");
    tap_ok(rp_t975(35) == 2.042 && rp_t975(59) == 2.009 && rp_t975(1000000) == 1.962,
           "between rows the next smaller row (the wider interval): 35 -> 2.042, 59 -> 2.009");
    tap_ok(isnan(rp_t975(0)) && isnan(rp_t975(-3)), "no quantile for fewer than 1 degree of freedom");
    bool down = true;
    for (int df = 1; df < 2000; df++) down &= rp_t975(df + 1) <= rp_t975(df) && rp_t975(df) > 1.959964;
    tap_ok(down, "the quantiles fall with the degrees of freedom and stay above the normal's 1.959964");
}

static void mean_ci(void)
{
    double mean, half;
    double two[] = {1, 3};
    int m = rp_mean_ci(two, 2, &mean, &half);
    /* s = sqrt(2), half = 12.706 * sqrt(2) / sqrt(2) */
    tap_ok(m == 2 && mean == 2 && near(half, 12.706, 1e-12), "{1, 3}: 2 ± 12.706 (got %g ± %g)", mean, half);
    double three[] = {3.5, 3.75, 3.25};
    m = rp_mean_ci(three, 3, &mean, &half);
    tap_ok(m == 3 && mean == 3.5 && near(half, 4.303 * 0.25 / sqrt(3), 1e-12),
           "{3.5, 3.75, 3.25}: 3.5 ± 4.303 * 0.25 / sqrt 3 = 0.62111 (got %.5f)", half);
    double gap[] = {NAN, 3.5, INFINITY, 3.75, 3.25};
    m = rp_mean_ci(gap, 5, &mean, &half);
    tap_ok(m == 3 && mean == 3.5 && near(half, 4.303 * 0.25 / sqrt(3), 1e-12), "non-finite values are left out");
    double one[] = {7};
    m = rp_mean_ci(one, 1, &mean, &half);
    tap_ok(m == 1 && mean == 7 && isnan(half), "one value: its mean, no interval");
    m = rp_mean_ci(one, 0, &mean, &half);
    tap_ok(m == 0 && isnan(mean) && isnan(half), "no value: no mean");
}

static void config_names(void)
{
    static const char *const cases[][2] = {
        {"moe-s12", "moe"}, {"moe-s1", "moe"}, {"a-b-s3", "a-b"}, {"moe-s", "moe-s"}, {"-s1", "-s1"},
        {"moe-s1x", "moe-s1x"}, {"run", "run"}, {"moe_s1", "moe_s1"}, {"moe-S1", "moe-S1"},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        rp_config_name(cases[i][0], buf, sizeof buf);
        if (strcmp(buf, cases[i][1]) != 0) {
            tap_diag("%s -> %s, expected %s", cases[i][0], buf, cases[i][1]);
            all = false;
        }
    }
    tap_ok(all, "configuration names: a trailing -s<digits> and nothing else is removed");
}

static const char *srcdir(void)
{
    const char *s = getenv("top_srcdir");
    return s && *s ? s : ".";
}

static void grouping(void)
{
    static const char *const names[] = {"moe-s1", "dense", "moe-s2", "half", "moe-s3"};
    rp_run runs[5];
    moec_diag d;
    moec_diag_collect(&d, 0);
    bool loaded = true;
    for (int i = 0; i < 5; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/report/runs/%s", srcdir(), names[i]);
        loaded &= rp_run_load(&runs[i], dir, &d) == 0;
    }
    tap_ok(loaded, "the fixtures load");
    if (loaded) {
        rp_group_runs(runs, 5);
        tap_ok(runs[0].config_id == 0 && runs[1].config_id == 1 && runs[2].config_id == 0 && runs[3].config_id == 3 &&
                   runs[4].config_id == 0,
               "moe-s1, -s2, -s3 are one configuration; dense and half (another steps) are their own");
        tap_ok(!strcmp(runs[4].config_name, "moe") && !strcmp(runs[3].config_name, "half"), "named moe, half");
        tap_ok(runs[0].moe && !runs[1].moe && runs[0].n_layers == 1 && runs[0].layers[0].index == 1 &&
                   runs[0].layers[0].experts == 2,
               "moe-s1 has MoE layer 1 with 2 experts; dense has none");
        tap_ok(runs[2].best_eval == 0 && runs[2].final_eval == 1 && rp_best(&runs[2], "eval/loss") == 3.625,
               "moe-s2's best evaluation is its first (3.625), its final the second");
        tap_ok(runs[3].truncated && runs[3].n_evals == 1 && !runs[3].summary, "half: cut short, one evaluation, no summary");
    }
    for (int i = 0; i < 5; i++) rp_run_free(&runs[i]);
    moec_diag_free(&d);
}

static int write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Every prefix of a real metrics.jsonl, then random damage: no crash, and
 * the only error a prefix may give is none. */
static void damaged_metrics(void)
{
    char src[4096], dir[] = "/tmp/moec-test-report-XXXXXX", path[4200];
    snprintf(src, sizeof src, "%s/tests/report/runs/moe-s1/metrics.jsonl", srcdir());
    FILE *f = fopen(src, "rb");
    static char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    if (!mkdtemp(dir) || n == 0) {
        tap_ok(false, "a temporary run directory and the fixture's metrics");
        return;
    }
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/tests/report/runs/moe-s1/config.json", srcdir());
    FILE *c = fopen(cfg, "rb");
    static char ctext[1 << 16];
    size_t cn = c ? fread(ctext, 1, sizeof ctext, c) : 0;
    if (c) fclose(c);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, ctext, cn);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    moec_diag d;
    moec_diag_collect(&d, 0);
    bool prefixes_ok = true, flags_ok = true;
    for (size_t k = 0; k <= n; k++) {
        write_file(path, text, k);
        rp_run r;
        int rc = rp_run_load(&r, dir, &d);
        bool at_line_end = k == 0 || text[k - 1] == '\n';
        /* a prefix cut inside a line leaves a malformed last line, except when the cut leaves valid JSON */
        if (rc != 0) prefixes_ok = false;
        if (at_line_end && r.truncated) flags_ok = false;
        rp_run_free(&r);
        moec_diag_reset(&d);
    }
    tap_ok(prefixes_ok, "each of the %zu prefixes of moe-s1's metrics.jsonl loads (a cut last line is no error)", n + 1);
    tap_ok(flags_ok, "a prefix ending at a line end is never called cut short");
    srand(12345);
    bool survived = true;
    static char damaged[1 << 16];
    for (int t = 0; t < 300; t++) {
        memcpy(damaged, text, n);
        for (int j = 0; j < 1 + t % 5; j++) damaged[rand() % n] = (char)(rand() % 256);
        write_file(path, damaged, n);
        rp_run r;
        int rc = rp_run_load(&r, dir, &d);
        survived &= rc == 0 || rc == -1;
        rp_run_free(&r);
        moec_diag_reset(&d);
    }
    tap_ok(survived, "300 randomly damaged metrics.jsonl load or are refused, without a crash");
    moec_diag_free(&d);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

static void escaping(void)
{
    rp_doc doc = {0};
    rp_doc_para(&doc, "%s", "#a_b *c* |d| <e> _f eval/lm_loss");
    rp_doc_table(&doc, 2);
    rp_doc_cell(&doc, "x|y");
    rp_doc_cell(&doc, "<&>\"'");
    char *md = NULL, *html = NULL;
    size_t ml = 0, hl = 0;
    FILE *m = open_memstream(&md, &ml), *h = open_memstream(&html, &hl);
    int rm = rp_doc_write_md(&doc, m), rh = rp_doc_write_html(&doc, "/nonexistent", h);
    fclose(m);
    fclose(h);
    tap_ok(rm == 0 && md && strstr(md, "\\#a_b \\*c\\* \\|d\\| \\<e\\> \\_f eval/lm_loss\n") != NULL,
           "Markdown escapes markup and keeps an underscore inside a word");
    tap_ok(md && strstr(md, "| x\\|y | <&>\"' |") == NULL && strstr(md, "| x\\|y | \\<&\\>\"' |") != NULL,
           "a table cell's | and < > are escaped");
    tap_ok(rh == 0 && html && strstr(html, "<th>&lt;&amp;&gt;&quot;&#39;</th>") && strstr(html, "&lt;e&gt;"),
           "HTML escapes & < > \" '");
    free(md);
    free(html);
    rp_doc_free(&doc);
}

/* A token-type count by hand through the report: one MoE layer (index 1),
 * two experts. */
static void token_types(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/report/runs/moe-s1", srcdir());
    rp_run run;
    moec_diag d;
    moec_diag_collect(&d, 0);
    if (rp_run_load(&run, dir, &d) != 0) {
        tap_ok(false, "moe-s1 loads: %s", moec_diag_text(&d));
        moec_diag_free(&d);
        return;
    }
    rp_group_runs(&run, 1);
    int layer_index[1] = {1}, layer_experts[1] = {2};
    /* [layer][type][expert]: keyword, name, number, string, operator, comment, other */
    double count[RP_TT_COUNT * 2] = {7, 3, 1, 1, 0, 0, 4, 0, 1, 3, 0, 2, 5, 5};
    rp_token_use u = {.layers = 1, .experts = 2, .layer_index = layer_index, .layer_experts = layer_experts,
                      .count = count, .tokens = 32};
    const rp_token_use *tt[1] = {&u};
    char out[] = "/tmp/moec-test-report-out-XXXXXX";
    rp_plotter p;
    rp_doc doc = {0};
    bool made = mkdtemp(out) && rp_plotter_init(&p, out, false, &d) == 0;
    rp_report_input in = {.runs = &run, .n = 1, .baseline = -1, .baseline_why = "none", .tt = tt};
    made = made && rp_build_report(&doc, &in, &p, &d) == 0;
    char *md = NULL;
    size_t ml = 0;
    FILE *m = open_memstream(&md, &ml);
    made = made && m && rp_doc_write_md(&doc, m) == 0;
    if (m) fclose(m);
    tap_ok(made && md && strstr(md, "## Expert use by token type (code)\n"), "a run with a token-type count gets the section");
    tap_ok(md && strstr(md, "### moe-s1, layer 1 (32 code tokens)\n\n| token type | tokens | expert 0 % | expert 1 % |\n"),
           "a table per MoE layer: token type, tokens, %% per expert");
    tap_ok(md && strstr(md, "| keyword | 10 | 70.0 | 30.0 |\n| name | 2 | 50.0 | 50.0 |\n| number | 0 | n/a | n/a |\n"
                            "| string | 4 | 100.0 | 0.0 |\n| operator | 4 | 25.0 | 75.0 |\n| comment | 2 | 0.0 | 100.0 |\n"
                            "| other | 10 | 50.0 | 50.0 |\n"),
           "cells are %% of the type's tokens (7 of 10 keywords to expert 0: 70.0; a type without tokens: n/a)");
    char dat[4200];
    snprintf(dat, sizeof dat, "%s/plots/token_types_1_moe-s1_L1.dat", out);
    struct stat st;
    tap_ok(stat(dat, &st) == 0 && st.st_size > 0, "the heat map's data file is written (no gnuplot asked)");
    char results[4200];
    snprintf(results, sizeof results, "%s/results.json", out);
    int order[1] = {0};
    tap_ok(rp_write_results(results, &run, order, 1, &d) == 0 && stat(results, &st) == 0, "results.json is written");
    free(md);
    rp_doc_free(&doc);
    rp_plotter_free(&p);
    rp_run_free(&run);
    moec_diag_free(&d);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    if (system(cmd) != 0) tap_diag("could not remove %s", out);
}

int main(void)
{
    t_table();
    mean_ci();
    config_names();
    grouping();
    damaged_metrics();
    escaping();
    token_types();
    return tap_done();
}
