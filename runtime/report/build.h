/* runtime/report/build.h -- what the report says: its sections, tables and
 * plots, built from the loaded runs into a document (doc.h) that the
 * Markdown and HTML printers then print. doc/report.md describes the
 * sections. */
#ifndef MOEC_RUNTIME_REPORT_BUILD_H
#define MOEC_RUNTIME_REPORT_BUILD_H

#include "runtime/report/doc.h"
#include "runtime/report/gnuplot.h"
#include "runtime/report/run.h"
#include "runtime/report/token_types.h"

typedef struct rp_report_input {
    const rp_run *runs;              /* grouped (rp_group_runs) */
    int n;
    int baseline;                    /* index of the baseline run, or -1 */
    const char *baseline_why;        /* how it was chosen, for the text */
    const rp_token_use *const *tt;   /* [n]: expert use by token type, or NULL where there is none */
} rp_report_input;

/* Builds the report into doc, drawing the plots with p. Returns 0, or -1
 * after reporting (a plot file could not be written, out of memory). */
int rp_build_report(rp_doc *doc, const rp_report_input *in, rp_plotter *p, moec_diag *d);

/* The runs grouped by configuration, configurations in the order of their
 * first run, runs in command-line order: order[0, n). */
void rp_report_order(const rp_run *runs, int n, int *order);

#endif
