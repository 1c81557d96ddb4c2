/* support/atomic.h -- files written all or nothing.
 * Data goes to a temporary file beside the destination (same directory, so
 * the same file system); commit flushes, syncs and renames it over the
 * destination, so a reader sees the old file or the new one, never half.
 * Failures are reported through the error sink, naming the destination. */
#ifndef MOEC_SUPPORT_ATOMIC_H
#define MOEC_SUPPORT_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "support/diag.h"

typedef struct moec_atomic_file {
    FILE *f;    /* write here between open and commit/abort */
    char *tmp;  /* the temporary file's path (DEST.tmp-XXXXXX) */
    char *dest; /* the final path */
} moec_atomic_file;

/* Creates the temporary file for `dest`. */
int moec_atomic_open(moec_atomic_file *af, const char *dest, moec_diag *d);
/* Flushes, fsyncs and renames over the destination; frees af. On failure the
 * temporary file is removed and the destination is untouched. */
int moec_atomic_commit(moec_atomic_file *af, moec_diag *d);
/* Drops the temporary file; the destination is untouched. */
void moec_atomic_abort(moec_atomic_file *af);
/* Writes `len` bytes as the whole content of `dest`, atomically. */
int moec_atomic_write(const char *dest, const void *data, size_t len, moec_diag *d);

#endif
