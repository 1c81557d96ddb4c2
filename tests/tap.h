/* tests/tap.h -- a few lines of TAP for C tests (automake's tap-driver counts them).
 *   tap_ok(cond, "name %d", i)   one test case; prints "ok N - name" or "not ok N - name"
 *   tap_diag("fmt", ...)          a comment line for the log
 *   return tap_done();            prints the plan "1..N"; returns 1 if a case failed, else 0
 * The exit status is the verdict (doc/architecture.md#tests): the TAP driver
 * counts each "not ok" line, and a program with a failed case also exits 1, so
 * a run outside the driver (CI, a shell loop) fails too. A crash or a
 * sanitizer report at exit gives a non-zero status as well.
 * State is per test program (one translation unit includes this). */
#ifndef MOEC_TAP_H
#define MOEC_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_count_;
static int tap_failed_;

static inline bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++tap_count_);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!cond) tap_failed_++;
    fflush(stdout);
    return cond;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count_);
    if (tap_failed_) printf("# %d of %d failed\n", tap_failed_, tap_count_);
    fflush(stdout);
    return tap_failed_ ? 1 : 0;
}

#endif
