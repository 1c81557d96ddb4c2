/* frontend/diag.h -- source files and user diagnostics.
 * Every message a user sees about a model file goes through here, as
 *     file:line:col: error: message
 *         the source line
 *             ^
 * Errors are counted; after `max_errors` the sink says so once and asks its
 * callers to stop (fe_diag_stop). Internal bugs do not come here: they use
 * MOEC_ASSERT. The sink writes to a stream its owner chooses (the CLI gives
 * stderr, tests give a memory stream); it holds no global state. */
#ifndef MOEC_DIAG_H
#define MOEC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A place in a model file; 1-based. line == 0 means "no place" (the command line). */
typedef struct fe_loc {
    int line;
    int col;    /* byte column */
} fe_loc;

/* Limits on what a model file may be. Messages name the limit. */
enum {
    FE_MAX_SOURCE_BYTES = 64 * 1024 * 1024, /* a bigger file is refused, not read */
    FE_MAX_ERRORS_DEFAULT = 20,             /* errors reported before stopping */
    FE_MAX_SHOWN_LINE = 160,                /* source line shown around the caret */
};

/* One model file, read whole into memory. */
typedef struct fe_source {
    char *path;            /* as the user gave it */
    char *text;            /* len bytes plus a NUL; may contain NULs itself */
    size_t len;
    size_t *line_start;    /* byte offset of each line; n_lines entries */
    size_t n_lines;
} fe_source;

typedef struct fe_diag {
    FILE *out;              /* where messages go */
    const fe_source *src;   /* file the locations refer to, or NULL */
    int n_errors;
    int n_warnings;
    int max_errors;         /* stop after this many errors */
    bool stopped;           /* max_errors reached and reported */
    bool no_warnings;       /* suppress warnings (moec check -w) */
} fe_diag;

void fe_diag_init(fe_diag *d, FILE *out, int max_errors);

/* Reads `path` into `src`. Reports a missing file, a directory, an unreadable
 * or oversized file through `d` and returns -1; 0 on success. */
int  fe_source_load(fe_source *src, const char *path, fe_diag *d);
/* Builds a source from memory (tests, fuzzing); text is copied. */
int  fe_source_from_memory(fe_source *src, const char *name, const char *text, size_t len, fe_diag *d);
void fe_source_free(fe_source *src);

void fe_error_at(fe_diag *d, fe_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fe_warning_at(fe_diag *d, fe_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note adds context to the previous error or warning (no count). */
void fe_note_at(fe_diag *d, fe_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error without a place in the file: "moec: error: ..." */
void fe_error(fe_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True once max_errors errors were reported: callers stop and unwind. */
static inline bool fe_diag_stop(const fe_diag *d) { return d->stopped; }

/* Edit distance, for "did you mean" suggestions (bounded: strings are cut at 64 bytes). */
int fe_edit_distance(const char *a, const char *b);

/* Internal invariant: on failure prints file:line and the condition, then aborts.
 * For bugs in moec only, never for bad user input. */
#define MOEC_ASSERT(cond) \
    ((cond) ? (void)0 : moec_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void moec_assert_fail(const char *cond, const char *file, int line);

#endif
