/* runtime/cli_args.h -- command-line pieces shared by the `moec` commands that
 * compile a model before they run it (init; eval and grad may use it too):
 * `--set name=value`, numbers checked in full, and the front end run on one
 * model file into an elaborated fe_model. Diagnostics go to stderr: this is
 * command code, not library code. */
#ifndef MOEC_RUNTIME_CLI_ARGS_H
#define MOEC_RUNTIME_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/frontend.h"

/* Splits "name=value" in place into *out; prints and returns -1 when malformed. */
int rt_cli_parse_set(char *text, fe_override *out);
/* A whole decimal unsigned 64-bit number; prints "moec: OPTION ..." and returns -1 otherwise. */
int rt_cli_parse_u64(const char *option, const char *text, uint64_t *out);
/* A whole finite floating-point number; prints and returns -1 otherwise. */
int rt_cli_parse_double(const char *option, const char *text, double *out);

/* The front end's state for one model file, freed as a whole. */
typedef struct rt_frontend {
    fe_diag diag;
    fe_source src;
    fe_arena arena;
    fe_ast ast;
    fe_model model;     /* valid after rt_frontend_elaborate returned 0 */
} rt_frontend;

/* Loads, parses and elaborates `path` with `sets`; diagnostics to stderr, at
 * most max_errors (0: the default). Returns 0, or 1 when errors were reported.
 * Call rt_frontend_free either way. */
int rt_frontend_elaborate(rt_frontend *r, const char *path, const fe_override *sets, int n_sets, int max_errors);
void rt_frontend_free(rt_frontend *r);

#endif
