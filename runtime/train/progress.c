/* runtime/train/progress.c -- the progress line (runtime/train/progress.h). */
#include "runtime/train/progress.h"

#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

void rt_progress_init(rt_progress *p, FILE *out, int64_t steps, bool quiet)
{
    *p = (rt_progress){ .out = out, .tty = isatty(fileno(out)) == 1, .quiet = quiet, .steps = steps,
                        .every = steps >= 20 ? steps / 20 : 1 };
}

static void duration(char *buf, size_t n, double s)
{
    if (s < 0) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}

void rt_progress_step(rt_progress *p, int64_t step, double loss, double lr, double tokens_per_s, double left_s)
{
    if (p->quiet) return;
    bool last = step + 1 == p->steps;
    if (!p->tty && step != 0 && !last && (step + 1) % p->every != 0) return;
    char left[32];
    duration(left, sizeof left, left_s);
    fprintf(p->out, "%sstep %" PRId64 "/%" PRId64 "  loss %.4f  lr %.3g  %.0f tok/s  left %s%s", p->tty ? "\r" : "",
            step + 1, p->steps, loss, lr, tokens_per_s, left, p->tty ? "\033[K" : "\n");
    p->open = p->tty;
    fflush(p->out);
}

void rt_progress_note(rt_progress *p, bool always, const char *fmt, ...)
{
    if (p->quiet && !always) return;
    rt_progress_end(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}

void rt_progress_end(rt_progress *p)
{
    if (!p->open) return;
    fputc('\n', p->out);
    p->open = false;
}
