/* support/file.h -- files opened and read whole, with checked system calls.
 * A failure is reported through the error sink (support/diag.h) naming the
 * path and the system's reason (strerror), followed by "; HINT" when the
 * caller gives a hint saying what the file should be or how to make it.
 * Writing a file all or nothing is support/atomic.h. */
#ifndef MOEC_SUPPORT_FILE_H
#define MOEC_SUPPORT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "support/diag.h"

#define MOEC_FILE_NO_LIMIT SIZE_MAX /* max_bytes for a file of any size */

/* fopen(path, mode); on failure reports "cannot open 'PATH': REASON[; HINT]"
 * and returns NULL. */
FILE *moec_file_open(const char *path, const char *mode, const char *hint, moec_diag *d);

/* Reads all of `path` (a file or a pipe, not a directory) into a new buffer
 * *buf of *len bytes plus a NUL (the caller frees it; the data may hold NULs).
 * A file of more than max_bytes is refused before it is read whole. Returns
 * 0, or -1 after reporting one of
 *   cannot open 'PATH': REASON[; HINT]
 *   'PATH' is a directory[; HINT]
 *   cannot load 'PATH': larger than N MiB[; HINT]
 *   cannot read 'PATH': REASON
 *   cannot load 'PATH': out of memory while reading */
int moec_file_read_all(const char *path, size_t max_bytes, const char *hint, char **buf, size_t *len,
                       moec_diag *d);
/* The same for a stream already open (standard input); `name` stands for the
 * path in messages. The stream is read to its end, not closed. */
int moec_file_read_stream(FILE *f, const char *name, size_t max_bytes, const char *hint, char **buf,
                          size_t *len, moec_diag *d);

#endif
