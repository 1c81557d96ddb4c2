/* runtime/weights/werr.h -- the weights module's error record.
 * Library functions never print: they append one line per problem (up to
 * RT_WERR_MAX_LINES, then count the rest) and return -1, so that a load with
 * several wrong tensors reports all of them at once. The command prints. */
#ifndef MOEC_RUNTIME_WEIGHTS_WERR_H
#define MOEC_RUNTIME_WEIGHTS_WERR_H

enum { RT_WERR_MAX = 8192, RT_WERR_MAX_LINES = 20 };

typedef struct rt_werr {
    char msg[RT_WERR_MAX]; /* lines joined by '\n', no trailing newline; "" when none */
    int n_errors;          /* every error added, also those past the line limit */
    int n_shown;           /* lines in msg */
    int max_lines;         /* lines kept before only counting; 0 = RT_WERR_MAX_LINES */
} rt_werr;

/* Empties *err (keeping max_lines). */
void rt_werr_clear(rt_werr *err);
/* Appends one line to *err (which may be NULL) and returns -1, so callers can
 * write `return rt_werr_add(err, "...")`. Past RT_WERR_MAX_LINES it only counts. */
int rt_werr_add(rt_werr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "... and N more errors" when lines were dropped; call once before printing. */
void rt_werr_finish(rt_werr *err);

#endif
