/* runtime/report/stats.c -- mean and Student-t 95% confidence interval.
 * The quantiles are the standard table values t_{0.975, df} (to 3
 * decimals); tests/report checks the interval of a hand-made 3-seed
 * configuration against arithmetic done in the test. */
#include "config.h"

#include <math.h>

#include "runtime/report/stats.h"

static const struct { int df; double t; } T975[] = {
    {1, 12.706}, {2, 4.303},  {3, 3.182},  {4, 2.776},  {5, 2.571},  {6, 2.447},  {7, 2.365},  {8, 2.306},
    {9, 2.262},  {10, 2.228}, {11, 2.201}, {12, 2.179}, {13, 2.160}, {14, 2.145}, {15, 2.131}, {16, 2.120},
    {17, 2.110}, {18, 2.101}, {19, 2.093}, {20, 2.086}, {21, 2.080}, {22, 2.074}, {23, 2.069}, {24, 2.064},
    {25, 2.060}, {26, 2.056}, {27, 2.052}, {28, 2.048}, {29, 2.045}, {30, 2.042}, {40, 2.021}, {50, 2.009},
    {60, 2.000}, {80, 1.990}, {100, 1.984}, {120, 1.980}, {1000, 1.962},
};

double rp_t975(int df)
{
    if (df < 1) return NAN;
    double t = T975[0].t;
    for (unsigned i = 0; i < sizeof T975 / sizeof T975[0] && T975[i].df <= df; i++) t = T975[i].t;
    return t;
}

int rp_mean_ci(const double *x, int n, double *mean, double *half)
{
    double sum = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            sum += x[i];
            m++;
        }
    *mean = m ? sum / m : NAN;
    *half = NAN;
    if (m < 2) return m;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - *mean) * (x[i] - *mean);
    *half = rp_t975(m - 1) * sqrt(ss / (m - 1)) / sqrt((double)m);
    return m;
}
