/* runtime/data/err.c -- formats the data pipeline's error record (err.h).
 * Reads and writes nothing but the caller's buffer. */
#include "runtime/data/err.h"

#include <stdarg.h>
#include <stdio.h>

int rt_data_errf(rt_data_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
