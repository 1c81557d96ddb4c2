/* runtime/data/err.h -- the data pipeline's error record.
 * Library functions never print: on failure they fill an rt_data_err with one
 * line saying what went wrong, where, and (when known) what to do, and return
 * -1. The command line (runtime/cmd_data.c) prints it. */
#ifndef MOEC_RUNTIME_DATA_ERR_H
#define MOEC_RUNTIME_DATA_ERR_H

enum { RT_DATA_ERR_MAX = 1024 };

typedef struct rt_data_err {
    char msg[RT_DATA_ERR_MAX]; /* one line, no trailing newline; "" when none */
} rt_data_err;

/* Formats the message into *err (which may be NULL) and returns -1, so that
 * callers can write `return rt_data_errf(err, "...")`. */
int rt_data_errf(rt_data_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
