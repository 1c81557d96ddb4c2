/* runtime/weights/werr.c -- the weights module's error record (werr.h).
 * Lines are appended with vsnprintf into a fixed buffer; a message that does
 * not fit is cut, never overrun. */
#include "runtime/weights/werr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rt_werr_clear(rt_werr *err)
{
    if (!err) return;
    err->msg[0] = '\0';
    err->n_errors = 0;
    err->n_shown = 0;
}

/* Appends text to msg, cutting it when the buffer is full. */
static void werr_append(rt_werr *err, const char *fmt, va_list ap)
{
    size_t used = strlen(err->msg);
    if (used + 1 >= sizeof err->msg) return;
    if (used > 0) {
        err->msg[used++] = '\n';
        err->msg[used] = '\0';
    }
    vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
}

int rt_werr_add(rt_werr *err, const char *fmt, ...)
{
    if (!err) return -1;
    err->n_errors++;
    if (err->n_shown >= (err->max_lines > 0 ? err->max_lines : RT_WERR_MAX_LINES)) return -1;
    err->n_shown++;
    va_list ap;
    va_start(ap, fmt);
    werr_append(err, fmt, ap);
    va_end(ap);
    return -1;
}

/* werr_append takes a va_list; this gives it one for a fixed text. */
static void werr_append_f(rt_werr *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    werr_append(err, fmt, ap);
    va_end(ap);
}

void rt_werr_finish(rt_werr *err)
{
    if (!err || err->n_errors <= err->n_shown) return;
    int more = err->n_errors - err->n_shown;
    werr_append_f(err, "... and %d more error%s", more, more == 1 ? "" : "s");
    err->n_shown = err->n_errors;
}
