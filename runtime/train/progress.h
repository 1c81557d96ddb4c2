/* runtime/train/progress.h -- what `moec train` prints while it runs: on a
 * terminal one line rewritten in place (step/steps, loss, lr, tokens/s, time
 * left), otherwise plain lines (every steps/20 steps, the first and the
 * last); notes (evaluations, checkpoints, warnings) on lines of their own;
 * nothing with --quiet but warnings and errors. To stderr. */
#ifndef MOEC_RUNTIME_TRAIN_PROGRESS_H
#define MOEC_RUNTIME_TRAIN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rt_progress {
    FILE *out;
    bool tty, quiet;
    bool open;          /* a terminal line is being rewritten */
    int64_t steps;      /* the run's total */
    int64_t every;      /* plain lines: one every `every` steps */
} rt_progress;

void rt_progress_init(rt_progress *p, FILE *out, int64_t steps, bool quiet);
/* After step `step` (0-based): its loss and lr, the tokens/s, and seconds left (< 0: unknown). */
void rt_progress_step(rt_progress *p, int64_t step, double loss, double lr, double tokens_per_s, double left_s);
/* A line of its own (printf format), shown unless quiet; `always` shows it even then. */
void rt_progress_note(rt_progress *p, bool always, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ends a terminal line. */
void rt_progress_end(rt_progress *p);

#endif
