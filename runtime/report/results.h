/* runtime/report/results.h -- `moec report --results FILE`: the runs'
 * headline numbers as JSON for other tools (issue #12's contract; the
 * fields are listed in doc/report.md, "results.json"). */
#ifndef MOEC_RUNTIME_REPORT_RESULTS_H
#define MOEC_RUNTIME_REPORT_RESULTS_H

#include "runtime/report/run.h"

/* Writes {"format": "moec-report-results", "version": 1, "runs": [...]}
 * to path atomically, runs in `order`. Returns 0, or -1 after reporting. */
int rp_write_results(const char *path, const rp_run *runs, const int *order, int n, moec_diag *d);

#endif
