/* runtime/cmd_frontend.c -- `moec check` and `moec ir`: run the front end on
 * one model file and print a stage. Later stages (graph, grad, fused, ...)
 * plug in here as the compiler grows. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/step.h"
#include "runtime/cli_args.h"
#include "runtime/commands.h"

/* The options of check and ir besides the model arguments (cli_args.h). */
typedef struct frontend_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    const char *stage;          /* --stage, or NULL */
    long long batch, seq;       /* --batch, --seq for the graph stages; 0 = the train settings' */
    bool no_warnings;           /* -w */
    bool want_stage;            /* ir takes --stage, --batch, --seq; check does not */
} frontend_args;

/* rt_cli_option_fn for check and ir. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    frontend_args *a = ctx;
    const char *arg = argv[*i];
    char *v;
    if (!strcmp(arg, "-w")) return a->no_warnings = true, 0;
    if (!a->want_stage) return 1;
    if ((v = rt_cli_option_value(argc, argv, i, "--stage"))) return a->stage = v, 0;
    bool batch = (v = rt_cli_option_value(argc, argv, i, "--batch")) != NULL;
    if (batch || (v = rt_cli_option_value(argc, argv, i, "--seq"))) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end || n < 1 || n > 1000000) {
            fprintf(stderr, "moec: %s expects a whole number from 1 to 1000000, got '%s'\n",
                    batch ? "--batch" : "--seq", v);
            return -1;
        }
        *(batch ? &a->batch : &a->seq) = n;
        return 0;
    }
    return 1;
}

static int parse_args(int argc, char **argv, frontend_args *a, bool want_stage)
{
    memset(a, 0, sizeof *a);
    a->want_stage = want_stage;
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (!a->m.model) {
        fprintf(stderr, "moec: no model file given\n");
        return -1;
    }
    if (want_stage && !a->stage) {
        fprintf(stderr, "moec: ir needs --stage ast|elab|graph|grad\n");
        return -1;
    }
    return 0;
}

/* Loads and parses; elaborates too when `elaborate`. Returns 0 or 1 (errors reported). */
static int run_frontend(rt_frontend *r, const frontend_args *a, bool elaborate)
{
    int status = rt_frontend_parse(r, a->m.model, a->m.max_errors, a->no_warnings);
    if (status == 0 && elaborate) status = rt_frontend_finish(r, a->m.sets, a->m.n_sets);
    return status;
}

int rt_cmd_check(int argc, char **argv)
{
    frontend_args a;
    if (parse_args(argc, argv, &a, false) < 0) return 2;
    rt_frontend r;
    int status = run_frontend(&r, &a, true);
    rt_frontend_free(&r);
    return status;
}

/* --stage graph: the forward graph in training semantics; --stage grad: the
 * whole training step (forward, gradients, clipping, AdamW). B and T come
 * from --batch/--seq or the train settings. Returns the exit status. */
static int print_graph_stage(const frontend_args *a, rt_frontend *r, bool step)
{
    const fe_model *m = &r->model;
    ir_graph g;
    if (ir_graph_init(&g) < 0) return fprintf(stderr, "moec: out of memory\n"), 1;
    g.diag = &r->diag;
    r->diag.prefix = rt_frontend_model_lead(r);   /* "moec: MODEL: " */
    ir_lower_options opt = {a->batch ? a->batch : m->train.batch, a->seq ? a->seq : m->train.seq, true};
    ir_step_graph s;
    int rc = step ? ir_step_build(&g, m, &opt, true, &s) : ir_lower(&g, m, &opt, &s.fwd);
    if (rc == 0) rc = ir_verify(&g);
    if (rc < 0 && !g.failed) moec_error(&r->diag, "could not build the graph");
    if (rc == 0) ir_graph_print(stdout, &g);
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
        rt_frontend r;
        int status = run_frontend(&r, &a, true);
        if (status == 0) status = print_graph_stage(&a, &r, grad);
        rt_frontend_free(&r);
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
    rt_frontend r;
    int status = run_frontend(&r, &a, elab);
    if (status == 0) {
        if (ast) fe_ast_print(stdout, &r.ast);
        else fe_model_print(stdout, &r.model);
    }
    rt_frontend_free(&r);
    return status;
}
