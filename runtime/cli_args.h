/* runtime/cli_args.h -- command-line pieces shared by the `moec` commands that
 * compile a model before they run it (check, ir, init, eval, grad): the
 * argument loop with the model file, `--set name=value` and `--max-errors`,
 * numbers checked in full, and the front end run on one model file.
 * Diagnostics go to stderr: this is command code, not library code. */
#ifndef MOEC_RUNTIME_CLI_ARGS_H
#define MOEC_RUNTIME_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "ir/lower.h"

enum { RT_MAX_SETS = 256 };

/* What every model-compiling command takes besides its own options. */
typedef struct rt_model_args {
    const char *model;               /* MODEL.moe, or NULL when none was given */
    fe_override sets[RT_MAX_SETS];   /* --set name=value, in order */
    int n_sets;
    int max_errors;                  /* --max-errors N; 0 = the default */
    char size_text[2][32];           /* "batch=B", "seq=T" added by rt_cli_size_sets */
} rt_model_args;

/* --batch and --seq on the command line win over the train block: they are
 * added as the train settings `batch` and `seq` (after the user's --set
 * values), so that elaboration checks the shapes actually compiled (a seq
 * within ctx) and not the train block's. 0 leaves a size as it is. Returns
 * 0, or -1 after printing why (no room for two more --set values). */
int rt_cli_size_sets(rt_model_args *m, uint64_t batch, uint64_t seq);

/* A command's own options: looks at argv[*i] (advancing *i past a value it
 * takes) and returns 0 when it took it, 1 when it is not one of its options,
 * -1 after printing why it is malformed. */
typedef int (*rt_cli_option_fn)(int argc, char **argv, int *i, void *ctx);

/* The argument loop: the model file (one), --set, --max-errors, and every
 * other option offered to `option` (may be NULL). Returns 0, or -1 after
 * printing why (an unknown option, a second model file, a bad --set). */
int rt_cli_parse(int argc, char **argv, rt_model_args *m, rt_cli_option_fn option, void *ctx);

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]: the value (advancing *i past
 * it), or NULL when argv[*i] is not `name` or its value is missing. */
char *rt_cli_option_value(int argc, char **argv, int *i, const char *name);

/* Splits "name=value" in place into *out; prints and returns -1 when malformed. */
int rt_cli_parse_set(char *text, fe_override *out);
/* A whole decimal unsigned 64-bit number; prints "moec: OPTION ..." and returns -1 otherwise. */
int rt_cli_parse_u64(const char *option, const char *text, uint64_t *out);
/* A whole finite floating-point number; prints and returns -1 otherwise. */
int rt_cli_parse_double(const char *option, const char *text, double *out);
/* --moe dense|sparse: how MoE layers are lowered (ir/lower.h); prints and
 * returns -1 for anything else. */
int rt_cli_parse_moe(const char *text, ir_moe_form *out);

/* The front end's state for one model file, freed as a whole. Its sink is
 * the command's one error sink: the later stages (graph, interpreter,
 * weights, data) report through it too, with their own lead (diag.prefix). */
typedef struct rt_frontend {
    moec_diag diag;
    moec_source src;
    moec_arena arena;
    fe_ast ast;
    fe_model model;     /* valid after rt_frontend_elaborate returned 0 */
} rt_frontend;

/* Loads and parses `path`; diagnostics to stderr, at most max_errors (0: the
 * default), warnings unless no_warnings. Returns 0, or 1 when errors were
 * reported. Call rt_frontend_free either way. */
int rt_frontend_parse(rt_frontend *r, const char *path, int max_errors, bool no_warnings);
/* The same with the sink writing to `errors` instead of stderr. */
int rt_frontend_parse_to(rt_frontend *r, const char *path, int max_errors, bool no_warnings, FILE *errors);
/* The same for a model file's text held in memory (a run's config.json keeps
 * it, so a run can be resumed or sampled after the file moved); `name` is
 * what messages call it. */
int rt_frontend_parse_text(rt_frontend *r, const char *name, const char *text, int max_errors, bool no_warnings,
                           FILE *errors);
/* Elaborates what rt_frontend_parse read, with `sets`. Returns 0 or 1. */
int rt_frontend_finish(rt_frontend *r, const fe_override *sets, int n_sets);
/* Both steps. Returns 0 or 1; call rt_frontend_free either way. */
int rt_frontend_elaborate(rt_frontend *r, const char *path, const fe_override *sets, int n_sets, int max_errors);
/* The same with the --set values as "name=value" strings (tests, tools). */
int rt_frontend_elaborate_sets(rt_frontend *r, const char *path, const char *const *sets, int n_sets);
void rt_frontend_free(rt_frontend *r);
/* "moec: MODEL: ", the lead of graph and interpreter errors about r's model
 * file (kept in r's arena; "moec: " when out of memory). */
const char *rt_frontend_model_lead(rt_frontend *r);
/* A warning at each MoE layer of l that was asked for in the sparse form but
 * lowered densely (ir_moe_layer.dense_why), saying why. */
void rt_frontend_warn_dense_moe(rt_frontend *r, const ir_lowered *l);

#endif
