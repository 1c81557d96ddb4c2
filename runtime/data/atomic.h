/* runtime/data/atomic.h -- files written all or nothing.
 * Data goes to a temporary file beside the destination (same directory, so
 * the same file system); commit flushes, syncs and renames it over the
 * destination, so a reader sees the old file or the new one, never half. */
#ifndef MOEC_RUNTIME_DATA_ATOMIC_H
#define MOEC_RUNTIME_DATA_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/data/err.h"

typedef struct rt_atomic_file {
    FILE *f;    /* write here between open and commit/abort */
    char *tmp;  /* the temporary file's path (DEST.tmp-XXXXXX) */
    char *dest; /* the final path */
} rt_atomic_file;

/* Creates the temporary file for `dest`. */
int rt_atomic_open(rt_atomic_file *af, const char *dest, rt_data_err *err);
/* Flushes, fsyncs and renames over the destination; frees af. On failure the
 * temporary file is removed and the destination is untouched. */
int rt_atomic_commit(rt_atomic_file *af, rt_data_err *err);
/* Drops the temporary file; the destination is untouched. */
void rt_atomic_abort(rt_atomic_file *af);
/* Writes `len` bytes as the whole content of `dest`, atomically. */
int rt_atomic_write(const char *dest, const void *data, size_t len, rt_data_err *err);

#endif
