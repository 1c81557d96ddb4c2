/* runtime/cmd_report.c -- `moec report`: tables and plots from run directories.
 *   moec report RUN... -o DIR [--baseline RUN] [--results FILE] [--no-plots] [--no-token-types]
 * Loads every run (runtime/report/run.h), groups runs that differ only in
 * the seed into configurations, optionally computes each MoE run's expert
 * use by token type, draws the plots with gnuplot and writes DIR/report.md,
 * DIR/report.html (images inline) and --results FILE (JSON), each
 * atomically. Exit 0 done, 1 bad input (a run that cannot be read, an
 * output that cannot be written), 2 usage. doc/report.md. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/commands.h"
#include "runtime/cli_args.h"
#include "runtime/report/build.h"
#include "runtime/report/doc.h"
#include "runtime/report/gnuplot.h"
#include "runtime/report/results.h"
#include "runtime/report/run.h"
#include "runtime/report/token_types.h"
#include "support/atomic.h"

enum {
    MAX_RUNS = 1024,
    TOKEN_TYPE_TOKENS = 32768,   /* code tokens analysed per run: enough for stable shares, seconds on a CPU */
};

typedef struct report_args {
    const char *runs[MAX_RUNS];
    int n_runs;
    const char *out, *baseline, *results;
    bool no_plots, no_token_types;
} report_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec report RUN... -o DIR [--baseline RUN] [--results FILE] [--no-plots] "
                    "[--no-token-types]\n");
}

/* Returns 0, or 2 after printing why. */
static int parse_args(int argc, char **argv, report_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        char *v;
        if ((v = rt_cli_option_value(argc, argv, &i, "-o")) || (v = rt_cli_option_value(argc, argv, &i, "--out")))
            a->out = v;
        else if ((v = rt_cli_option_value(argc, argv, &i, "--baseline"))) a->baseline = v;
        else if ((v = rt_cli_option_value(argc, argv, &i, "--results"))) a->results = v;
        else if (!strcmp(argv[i], "--no-plots")) a->no_plots = true;
        else if (!strcmp(argv[i], "--no-token-types")) a->no_token_types = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "moec report: unknown or incomplete option '%s'\n", argv[i]);
            usage();
            return 2;
        } else if (a->n_runs == MAX_RUNS) {
            fprintf(stderr, "moec report: more than %d runs\n", MAX_RUNS);
            return 2;
        } else a->runs[a->n_runs++] = argv[i];
    }
    if (a->n_runs == 0 || !a->out) {
        fprintf(stderr, "moec report: %s\n", a->n_runs == 0 ? "no run directory given" : "no output directory (-o DIR)");
        usage();
        return 2;
    }
    return 0;
}

/* mkdir -p. Returns 0, or -1 after reporting. */
static int make_dirs(const char *path, moec_diag *d)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return moec_error(d, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return moec_error(d, "cannot create '%s': %s", buf, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return moec_error(d, "%s: not a directory", path);
    return 0;
}

/* The same directory? (by device and inode; names as a fallback) */
static bool same_run(const char *a, const rp_run *r)
{
    struct stat x, y;
    if (stat(a, &x) == 0 && stat(r->dir, &y) == 0) return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
    return !strcmp(a, r->dir);
}

static int write_doc(const rp_doc *doc, const char *dir, const char *file, bool html, moec_diag *d)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return moec_error(d, "%s: path too long", dir);
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, d) != 0) return -1;
    int rc = html ? rp_doc_write_html(doc, dir, af.f) : rp_doc_write_md(doc, af.f);
    if (rc != 0) {
        moec_atomic_abort(&af);
        return moec_error(d, "cannot write '%s': %s", path, strerror(errno));
    }
    return moec_atomic_commit(&af, d);
}

int rt_cmd_report(int argc, char **argv)
{
    report_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    moec_diag diag;
    moec_diag_init(&diag, stderr, 0);
    diag.prefix = "moec report: ";
    int cap = a.n_runs + 1, n = 0;
    rp_run *runs = calloc((size_t)cap, sizeof *runs);
    rp_token_use *uses = calloc((size_t)cap, sizeof *uses);
    const rp_token_use **tt = calloc((size_t)cap, sizeof *tt);
    int *order = calloc((size_t)cap, sizeof *order);
    rp_doc doc = {0};
    rp_plotter plots = {0};
    rc = 1;
    if (!runs || !uses || !tt || !order) {
        moec_error(&diag, "out of memory");
        goto out;
    }
    for (int i = 0; i < a.n_runs; i++) {
        if (rp_run_load(&runs[n], a.runs[i], &diag) != 0) goto out;
        n++;
    }
    /* The baseline: --baseline (one of the runs, or one more run listed
     * first), else the only run without an MoE layer when there is exactly
     * one and other runs to compare with it. */
    int baseline = -1;
    const char *why = "--baseline not given, and not exactly one run without an MoE layer";
    if (a.baseline) {
        for (int i = 0; i < n && baseline < 0; i++)
            if (same_run(a.baseline, &runs[i])) baseline = i;
        if (baseline < 0) {
            memmove(runs + 1, runs, (size_t)n * sizeof *runs);
            memset(&runs[0], 0, sizeof runs[0]);
            if (rp_run_load(&runs[0], a.baseline, &diag) != 0) {
                rp_run_free(&runs[0]);
                memmove(runs, runs + 1, (size_t)n * sizeof *runs);
                memset(&runs[n], 0, sizeof runs[n]);
                goto out;
            }
            n++;
            baseline = 0;
        }
        why = "--baseline";
    } else if (n >= 2) {
        int dense = 0, at = -1;
        for (int i = 0; i < n; i++)
            if (!runs[i].moe) {
                dense++;
                at = i;
            }
        if (dense == 1) {
            baseline = at;
            why = "the only run without an MoE layer";
        }
    }
    if (baseline >= 0 && runs[baseline].n_evals == 0)
        moec_warning_at(&diag, (moec_loc){0}, "%s: the baseline has no evaluation yet; no differences against it",
                        runs[baseline].dir);
    rp_group_runs(runs, n);
    if (make_dirs(a.out, &diag) != 0) goto out;
    if (!a.no_token_types)
        for (int i = 0; i < n; i++) {
            if (!runs[i].moe || runs[i].n_evals == 0) continue;
            /* The analysis reports through its own sink; its errors become
             * one warning here, since a report without it is still useful. */
            moec_diag quiet;
            if (moec_diag_collect(&quiet, 0) != 0) {
                moec_error(&diag, "out of memory");
                goto out;
            }
            quiet.prefix = "";
            int t = rp_token_use_compute(runs[i].dir, TOKEN_TYPE_TOKENS, 0, &uses[i], &quiet);
            if (t == 0) tt[i] = &uses[i];
            else if (t < 0) {
                const char *why = moec_diag_text(&quiet);
                if (!*why) why = "the analysis failed";
                int len = (int)strcspn(why, "\n");
                moec_warning_at(&diag, (moec_loc){0}, "%s: no expert use by token type: %.*s", runs[i].dir, len, why);
            }
            moec_diag_free(&quiet);
        }
    if (rp_plotter_init(&plots, a.out, !a.no_plots, &diag) != 0) goto out;
    rp_report_input in = {.runs = runs, .n = n, .baseline = baseline, .baseline_why = why, .tt = tt};
    if (rp_build_report(&doc, &in, &plots, &diag) != 0) goto out;
    if (write_doc(&doc, a.out, "report.md", false, &diag) != 0) goto out;
    if (write_doc(&doc, a.out, "report.html", true, &diag) != 0) goto out;
    rp_report_order(runs, n, order);
    if (a.results && rp_write_results(a.results, runs, order, n, &diag) != 0) goto out;
    printf("moec report: %d run%s; wrote %s/report.md and %s/report.html (%d image%s)%s%s\n", n, n == 1 ? "" : "s",
           a.out, a.out, plots.made, plots.made == 1 ? "" : "s", a.results ? " and " : "", a.results ? a.results : "");
    rc = 0;
out:
    rp_doc_free(&doc);
    rp_plotter_free(&plots);
    for (int i = 0; runs && i < cap; i++) {
        if (tt && tt[i]) rp_token_use_free(&uses[i]);
        rp_run_free(&runs[i]);
    }
    free(runs);
    free(uses);
    free(tt);
    free(order);
    return rc;
}
