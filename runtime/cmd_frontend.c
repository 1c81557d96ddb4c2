/* runtime/cmd_frontend.c -- `moec check` and `moec ir`: run the front end on
 * one model file and print a stage. Later stages (graph, grad, fused, ...)
 * plug in here as the compiler grows. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/step.h"
#include "runtime/commands.h"

enum { MAX_SETS = 256 };

typedef struct frontend_args {
    const char *model;          /* path of the .moe file */
    const char *stage;          /* --stage, or NULL */
    fe_override sets[MAX_SETS]; /* --set name=value */
    int n_sets;
    int max_errors;             /* --max-errors */
    long long batch, seq;       /* --batch, --seq for the graph stages; 0 = the train settings' */
    bool no_warnings;           /* -w */
} frontend_args;

/* Splits "name=value" into an override; the string is modified in place. */
static int parse_set(char *text, fe_override *out)
{
    char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        fprintf(stderr, "moec: --set expects name=value, got '%s'\n", text);
        return -1;
    }
    *eq = '\0';
    out->name = text;
    out->value = eq + 1;
    return 0;
}

static int parse_args(int argc, char **argv, frontend_args *a, bool want_stage)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(arg, "--set") && has_next) {
            if (a->n_sets == MAX_SETS) {
                fprintf(stderr, "moec: more than %d --set options\n", MAX_SETS);
                return -1;
            }
            if (parse_set(argv[++i], &a->sets[a->n_sets++]) < 0) return -1;
        } else if (!strncmp(arg, "--set=", 6)) {
            if (a->n_sets == MAX_SETS || parse_set(argv[i] + 6, &a->sets[a->n_sets++]) < 0) return -1;
        } else if (want_stage && !strcmp(arg, "--stage") && has_next) {
            a->stage = argv[++i];
        } else if (want_stage && (!strcmp(arg, "--batch") || !strcmp(arg, "--seq")) && has_next) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr, "moec: %s expects a whole number from 1 to 1000000, got '%s'\n", arg, argv[i]);
                return -1;
            }
            *(arg[2] == 'b' ? &a->batch : &a->seq) = v;
        } else if (!strcmp(arg, "--max-errors") && has_next) {
            a->max_errors = atoi(argv[++i]);
        } else if (!strcmp(arg, "-w")) {
            a->no_warnings = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "moec: unknown or incomplete option '%s'\n", arg);
            return -1;
        } else if (!a->model) {
            a->model = arg;
        } else {
            fprintf(stderr, "moec: one model file at a time ('%s' and '%s')\n", a->model, arg);
            return -1;
        }
    }
    if (!a->model) {
        fprintf(stderr, "moec: no model file given\n");
        return -1;
    }
    if (want_stage && !a->stage) {
        fprintf(stderr, "moec: ir needs --stage ast|elab|graph|grad\n");
        return -1;
    }
    return 0;
}

/* The front end's state for one file, freed as a whole. */
typedef struct frontend_run {
    fe_diag diag;
    fe_source src;
    fe_arena arena;
    fe_ast ast;
    fe_model model;
} frontend_run;

/* Loads and parses; elaborates too when `elaborate`. Returns 0 or 1 (errors reported). */
static int run_frontend(frontend_run *r, const frontend_args *a, bool elaborate)
{
    fe_diag_init(&r->diag, stderr, a->max_errors);
    r->diag.no_warnings = a->no_warnings;
    fe_arena_init(&r->arena);
    if (fe_source_load(&r->src, a->model, &r->diag) < 0) return 1;
    r->diag.src = &r->src;
    if (fe_parse(&r->src, &r->arena, &r->diag, &r->ast) < 0) return 1;
    if (elaborate && fe_elaborate(&r->ast, a->sets, a->n_sets, &r->arena, &r->diag, &r->model) < 0) return 1;
    return r->diag.n_errors ? 1 : 0;
}

static void free_frontend(frontend_run *r)
{
    fe_arena_free(&r->arena);
    fe_source_free(&r->src);
}

int rt_cmd_check(int argc, char **argv)
{
    frontend_args a;
    if (parse_args(argc, argv, &a, false) < 0) return 2;
    frontend_run r;
    int status = run_frontend(&r, &a, true);
    free_frontend(&r);
    return status;
}

/* --stage graph: the forward graph in training semantics; --stage grad: the
 * whole training step (forward, gradients, clipping, AdamW). B and T come
 * from --batch/--seq or the train settings. Returns the exit status. */
static int print_graph_stage(const frontend_args *a, const fe_model *m, bool step)
{
    ir_graph g;
    if (ir_graph_init(&g) < 0) return fprintf(stderr, "moec: out of memory\n"), 1;
    ir_lower_options opt = {a->batch ? a->batch : m->train.batch, a->seq ? a->seq : m->train.seq, true};
    ir_step_graph s;
    int rc = step ? ir_step_build(&g, m, &opt, true, &s) : ir_lower(&g, m, &opt, &s.fwd);
    if (rc == 0) rc = ir_verify(&g);
    if (rc < 0) fprintf(stderr, "moec: %s: %s\n", a->model, g.error[0] ? g.error : "could not build the graph");
    else ir_graph_print(stdout, &g);
    ir_graph_free(&g);
    return rc < 0 ? 1 : 0;
}

int rt_cmd_ir(int argc, char **argv)
{
    frontend_args a;
    if (parse_args(argc, argv, &a, true) < 0) return 2;
    bool ast = !strcmp(a.stage, "ast"), elab = !strcmp(a.stage, "elab");
    bool graph = !strcmp(a.stage, "graph"), grad = !strcmp(a.stage, "grad");
    if (graph || grad) {
        frontend_run r;
        int status = run_frontend(&r, &a, true);
        if (status == 0) status = print_graph_stage(&a, &r.model, grad);
        free_frontend(&r);
        return status;
    }
    if (!ast && !elab) {
        static const char *later[] = {"fused", "kernels", "memory"};
        for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
            if (!strcmp(a.stage, later[i]))
                return rt_cmd_not_yet("ir --stage", "the ast, elab, graph and grad stages exist so far");
        fprintf(stderr, "moec: unknown stage '%s'; stages: ast elab graph grad fused kernels memory\n", a.stage);
        return 2;
    }
    frontend_run r;
    int status = run_frontend(&r, &a, elab);
    if (status == 0) {
        if (ast) fe_ast_print(stdout, &r.ast);
        else fe_model_print(stdout, &r.model);
    }
    free_frontend(&r);
    return status;
}
