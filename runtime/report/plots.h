/* runtime/report/plots.h -- the report's plots (doc/report.md, "Plots"):
 * what data each one takes from the runs and how gnuplot draws it. Each
 * returns 1 and the PNG's path relative to the report directory in
 * `png` (plots/NAME.png) when the image was drawn, 0 when not (nothing to
 * draw, or no gnuplot), -1 after reporting when a file cannot be written. */
#ifndef MOEC_RUNTIME_REPORT_PLOTS_H
#define MOEC_RUNTIME_REPORT_PLOTS_H

#include "runtime/report/gnuplot.h"
#include "runtime/report/run.h"
#include "runtime/report/token_types.h"

enum { RP_PNG_PATH = 320 };

/* eval/lm_loss against the step, one line per run (runs in `order`). */
int rp_plot_loss_curves(rp_plotter *p, const rp_run *runs, const int *order, int n, char png[RP_PNG_PATH]);
/* The best eval/loss_{domain} of each run: bars clustered by run. */
int rp_plot_domain_best(rp_plotter *p, const rp_run *runs, const int *order, int n, char *const *domains,
                        int n_domains, char png[RP_PNG_PATH]);
/* router/layer_L_dist_entropy against the step, one line per (run, MoE layer). */
int rp_plot_entropy(rp_plotter *p, const rp_run *runs, const int *order, int n, char png[RP_PNG_PATH]);
/* Expert (x) by domain (y, plus "all") fractions of layer `layer` of the
 * final evaluation; the colour scale is white at the uniform 1/E. run_no
 * numbers the run in file names. */
int rp_plot_expert_domain(rp_plotter *p, const rp_run *r, int run_no, const rp_layer *layer, char png[RP_PNG_PATH]);
/* Each expert's fraction of layer `layer` against the step, and 1/E dashed. */
int rp_plot_trajectory(rp_plotter *p, const rp_run *r, int run_no, const rp_layer *layer, char png[RP_PNG_PATH]);
/* Token type (y) by expert (x) shares of MoE layer `li` of u, in % of the
 * type's tokens; white at the uniform 100/E. */
int rp_plot_token_types(rp_plotter *p, const rp_run *r, int run_no, const rp_token_use *u, int li,
                        char png[RP_PNG_PATH]);

#endif
