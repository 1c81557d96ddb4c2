/* support/diag.h -- the error sink: every message a user sees, from every
 * stage (front end, graph IR, interpreter, weights, data), goes through one
 * moec_diag. A message is an error, a warning or a note, with an optional
 * model-file place and an optional graph node:
 *     file:line:col: error: message          (a place, and the sink has the file)
 *         the source line
 *             ^
 *     moec: error: message                   (no place; the owner may change the lead)
 *     moec: error: %12 message               (about graph node 12)
 * Errors are counted against a limit (max_errors). Past it the sink prints
 * no more: moec_error_at (a front-end diagnostic) says "too many errors ...,
 * stopping here" once; the other errors are counted and moec_diag_finish sums
 * them up as "... and N more errors". Either way moec_diag_stop turns true
 * and callers that can stop early unwind. Internal bugs do not come here:
 * they use MOEC_ASSERT. The sink writes to a stream its owner chooses (the
 * CLI gives stderr) or collects the text in memory (tests); it holds no
 * global state. Every reporting function accepts d == NULL and then prints
 * nothing (a caller that only wants the status). doc/architecture.md
 * ("Error channels") describes who reports what. */
#ifndef MOEC_DIAG_H
#define MOEC_DIAG_H

#include <stdarg.h>
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
    FILE *out;              /* where messages go (a memory stream when collecting) */
    const moec_source *src; /* file the places refer to, or NULL */
    const char *prefix;     /* lead of an error without a place; NULL: "moec: error: " */
    int n_errors;           /* errors printed (at most max_errors) */
    int n_more;             /* errors past the limit: counted, not printed */
    int n_warnings;
    int max_errors;         /* errors printed before the sink only counts */
    bool stopped;           /* max_errors reached: callers stop and unwind */
    bool announced;         /* "too many errors ..., stopping here" printed: later errors are not counted */
    bool no_warnings;       /* suppress warnings (moec check -w) */
    bool collecting;        /* out is a memory stream this sink owns (moec_diag_collect) */
    char *mem;              /* collect mode: the text so far (owned by the memory stream) */
    size_t mem_len;
} moec_diag;

/* A sink printing to `out`; max_errors <= 0 means MOEC_MAX_ERRORS_DEFAULT. */
void moec_diag_init(moec_diag *d, FILE *out, int max_errors);
/* A sink that collects its text in memory (tests; a command that prints the
 * collected lines later). Returns 0, or -1 when out of memory. */
int  moec_diag_collect(moec_diag *d, int max_errors);
/* Everything a collecting sink received so far ("" when nothing, or when the
 * sink prints to a stream). Valid until the next report or moec_diag_free. */
const char *moec_diag_text(moec_diag *d);
/* Forgets the counts, the stop and (collecting) the text; keeps out, src,
 * prefix, max_errors and no_warnings. Returns 0, or -1 when a collecting
 * sink cannot start a new text (out of memory). */
int  moec_diag_reset(moec_diag *d);
/* Frees a collecting sink's memory; harmless on a stream sink. */
void moec_diag_free(moec_diag *d);
/* Prints "... and N more errors" (with the error lead) when errors went past
 * the limit uncounted by a "stopping here" line. Call once, at the end. */
void moec_diag_finish(moec_diag *d);

/* Reads `path` into `src`. Reports a missing file, a directory, an unreadable
 * or oversized file through `d` and returns -1; 0 on success. */
int  moec_source_load(moec_source *src, const char *path, moec_diag *d);
/* Builds a source from memory (tests, fuzzing); text is copied. */
int  moec_source_from_memory(moec_source *src, const char *name, const char *text, size_t len, moec_diag *d);
void moec_source_free(moec_source *src);

/* Errors return -1, so callers can write `return moec_error(d, ...)`. */

/* A front-end diagnostic at a model-file place (loc.line 0: none). */
int  moec_error_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void moec_warning_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note adds context to the previous error or warning (no count). */
void moec_note_at(moec_diag *d, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error without a place: the lead (d->prefix, "moec: error: ") and the message. */
int  moec_error(moec_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error about graph node `node` (< 0: none), made from the model-file
 * place `loc` (line 0: none): the message starts with "%NODE ". */
int  moec_error_node(moec_diag *d, moec_loc loc, int node, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* moec_error_node with a va_list, for wrappers that add their own context. */
int  moec_verror(moec_diag *d, moec_loc loc, int node, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* True once max_errors errors were reported: callers stop and unwind. */
static inline bool moec_diag_stop(const moec_diag *d) { return d && d->stopped; }
/* Every error reported, printed or only counted. */
static inline int moec_diag_errors(const moec_diag *d) { return d ? d->n_errors + d->n_more : 0; }

/* Edit distance, for "did you mean" suggestions (bounded: strings are cut at 64 bytes). */
int moec_edit_distance(const char *a, const char *b);

#endif
