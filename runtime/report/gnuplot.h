/* runtime/report/gnuplot.h -- drawing the report's PNGs with gnuplot: each
 * plot is a data file and a script written into DIR/plots (so a user can
 * edit and redraw them: `cd DIR/plots && gnuplot NAME.gp`), then gnuplot is
 * run on the script. gnuplot is $MOEC_GNUPLOT, else `gnuplot` on PATH; when
 * it cannot be run, one warning says the report has no images and the
 * scripts are still written. */
#ifndef MOEC_RUNTIME_REPORT_GNUPLOT_H
#define MOEC_RUNTIME_REPORT_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "support/diag.h"

typedef struct rp_plotter {
    char *dir;              /* DIR/plots */
    const char *program;    /* gnuplot to run; NULL: none works, no images */
    const char *terminal;   /* "pngcairo", or "png" when gnuplot lacks cairo */
    int made, failed;       /* PNGs drawn, scripts gnuplot failed on */
    moec_diag *d;
} rp_plotter;

/* Creates DIR/plots and finds out whether gnuplot runs (and with which PNG
 * terminal). `enabled` false: no images, no warning (--no-plots). Returns 0,
 * or -1 after reporting when the directory cannot be made. */
int rp_plotter_init(rp_plotter *p, const char *out_dir, bool enabled, moec_diag *d);
void rp_plotter_free(rp_plotter *p);

/* Writes plots/NAME.dat (data) and plots/NAME.gp (the script's header, which
 * sets the terminal and the output NAME.png, then `body`) atomically and
 * runs gnuplot on it; the PNG is drawn to a temporary name and renamed, so
 * NAME.png is whole or absent. Returns 1 when plots/NAME.png was drawn, 0
 * when not (no gnuplot, or it failed: a warning names the script and its
 * log plots/NAME.log), -1 after reporting when a file cannot be written. */
int rp_plot(rp_plotter *p, const char *name, const char *data, size_t data_len, const char *body, int width,
            int height);

/* Text for a gnuplot single-quoted string: ' doubled; control characters
 * become spaces. Writes at most size - 1 bytes and a NUL. */
void rp_gp_quote(const char *s, char *buf, size_t size);
/* A name fit for a data file's quoted column and a file name part:
 * characters other than [A-Za-z0-9._+-] become '_'. */
void rp_gp_safe_name(const char *s, char *buf, size_t size);

#endif
