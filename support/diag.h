/* support/diag.h -- source files and user diagnostics.
 * Every message a user sees about a model file goes through here, as
 *     file:line:col: error: message
 *         the source line
 *             ^
 * Errors are counted; after `max_errors` the sink says so once and asks its
 * callers to stop (moec_diag_stop). Internal bugs do not come here: they use
 * MOEC_ASSERT. The sink writes to a stream its owner chooses (the CLI gives
 * stderr, tests give a memory stream); it holds no global state. */
#ifndef MOEC_DIAG_H
#define MOEC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "support/assert.h"

/* A place in a model file; 1-based. line == 0 means "no place" (the command line). */
typedef struct moec_loc {
    int line;
    int col;    /* byte column */
} moec_loc;

/* Limits on what a model file may be. Messages name the limit. */
enum {
    MOEC_MAX_SOURCE_BYTES = 64 * 1024 * 1024, /* a bigger file is refused, not read */
    MOEC_MAX_ERRORS_DEFAULT = 20,             /* errors reported before stopping */
    MOEC_MAX_SHOWN_LINE = 160,                /* source line shown around the caret */
};

/* One model file, read whole into memory. */
typedef struct moec_source {
    char *path;            /* as the user gave it */
    char *text;            /* len bytes plus a NUL; may contain NULs itself */
    size_t len;
    size_t *line_start;    /* byte offset of each line; n_lines entries */
    size_t n_lines;
} moec_source;

typedef struct moec_diag {
    FILE *out;              /* where messages go */
    const moec_source *src;   /* file the locations refer to, or NULL */
    int n_errors;
    int n_warnings;
    int max_errors;         /* stop after this many errors */
    bool stopped;           /* max_errors reached and reported */
    bool no_warnings;       /* suppress warnings (moec check -w) */
} moec_diag;

void moec_diag_init(moec_diag *d, FILE *out, int max_errors);

/* Reads `path` into `src`. Reports a missing file, a directory, an unreadable
 * or oversized file through `d` and returns -1; 0 on success. */
int  moec_source_load(moec_source *src, const char *path, moec_diag *d);
/* Builds a source from memory (tests, fuzzing); text is copied. */
int  moec_source_from_memory(moec_source *src, const char *name, const char *text, size_t len, moec_diag *d);
void moec_source_free(moec_source *src);

void moec_error_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void moec_warning_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note adds context to the previous error or warning (no count). */
void moec_note_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error without a place in the file: "moec: error: ..." */
void moec_error(moec_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True once max_errors errors were reported: callers stop and unwind. */
static inline bool moec_diag_stop(const moec_diag *d) { return d->stopped; }

/* Edit distance, for "did you mean" suggestions (bounded: strings are cut at 64 bytes). */
int moec_edit_distance(const char *a, const char *b);

#endif
