/* runtime/report/stats.h -- the mean and its 95% confidence interval over
 * the seeds of a configuration (doc/report.md, "Seeds"). */
#ifndef MOEC_RUNTIME_REPORT_STATS_H
#define MOEC_RUNTIME_REPORT_STATS_H

/* The two-sided 95% quantile of Student's t with df degrees of freedom
 * (t_{0.975, df}), from a table; a df between table rows takes the next
 * smaller row (a wider interval, never a narrower one). NAN for df < 1. */
double rp_t975(int df);

/* Mean of the finite values of x[0, n) in *mean, and the half width of the
 * 95% interval t_{0.975, m-1} * s / sqrt(m) (s: the sample standard
 * deviation, m: the finite values) in *half. Returns m; *half is NAN when
 * m < 2, *mean NAN when m == 0. */
int rp_mean_ci(const double *x, int n, double *mean, double *half);

#endif
