/* runtime/passes.c -- THE table of the compiler's passes, in order, and the
 * small functions its rows point at. `moec ir --stage`, `--dump-after`,
 * `--list-stages`, the help text and the lists in doc/ir.md and
 * doc/architecture.md all come from this table (doc/ir.md, "The pass
 * pipeline", says how to add a row). Each row reads the levels of the
 * pipeline state (pipeline.h) that earlier rows built. */
#include <stdlib.h>
#include <string.h>

#include "ir/fuse.h"
#include "ir/memplan.h"
#include "ir/step_values.h"
#include "runtime/pipeline.h"

/* ---- front end: diagnostics go through p->fe.diag ---- */

static int run_parse(rt_pipeline *p)
{
    FILE *errors = p->opt.errors ? p->opt.errors : stderr;
    if (p->opt.model_text)
        return rt_frontend_parse_text(&p->fe, p->opt.model, p->opt.model_text, p->opt.max_errors,
                                      p->opt.no_warnings, errors) ? -1 : 0;
    return rt_frontend_parse_to(&p->fe, p->opt.model, p->opt.max_errors, p->opt.no_warnings, errors) ? -1 : 0;
}

static int run_elaborate(rt_pipeline *p)
{
    return rt_frontend_finish(&p->fe, p->opt.sets, p->opt.n_sets) ? -1 : 0;
}

static void print_ast(FILE *out, const rt_pipeline *p)
{
    fe_ast_print(out, &p->fe.ast);
}

static void print_model(FILE *out, const rt_pipeline *p)
{
    fe_model_print(out, &p->fe.model);
}

/* ---- the graph: failures are reported through p->graph.diag (the front end's sink) ---- */

/* A graph pass's result: rc as is, with p->why set when it failed. */
static int graph_result(rt_pipeline *p, int rc)
{
    if (rc < 0 && !p->graph.failed) p->why = "could not build the graph";
    return rc < 0 ? -1 : 0;
}

/* The forward graph in training semantics: `moec ir` shows what a training
 * step computes. B and T come from the options or the train settings. */
static int run_lower(rt_pipeline *p)
{
    const fe_model *m = &p->fe.model;
    if (ir_graph_init(&p->graph) < 0) return p->why = "out of memory", -1;
    p->have_graph = true;
    p->graph.diag = &p->fe.diag;
    p->fe.diag.prefix = rt_frontend_model_lead(&p->fe);   /* graph failures: "moec: MODEL: %12 add ..." */
    ir_lower_options opt = {p->opt.batch ? p->opt.batch : m->train.batch,
                            p->opt.seq ? p->opt.seq : m->train.seq, p->opt.step != RT_STEP_EVAL, p->opt.moe,
                            p->opt.keep_stats};
    memset(&p->step, 0, sizeof p->step);
    int rc = ir_lower(&p->graph, m, &opt, &p->step.fwd);
    if (rc == 0) rt_frontend_warn_dense_moe(&p->fe, &p->step.fwd);
    return graph_result(p, rc);
}

/* Evaluation needs no gradient: the graph stays the forward one. */
static int run_autodiff(rt_pipeline *p)
{
    if (p->opt.step == RT_STEP_EVAL) return 0;
    return graph_result(p, ir_step_grad(&p->graph, &p->fe.model, &p->step));
}

/* Only the training step updates the parameters. */
static int run_optimizer(rt_pipeline *p)
{
    if (p->opt.step != RT_STEP_TRAIN) return 0;
    return graph_result(p, ir_step_optimizer(&p->graph, &p->fe.model, &p->step));
}

static void print_graph(FILE *out, const rt_pipeline *p)
{
    ir_graph_print(out, &p->graph);
}

static int verify_graph(rt_pipeline *p)
{
    return graph_result(p, ir_verify(&p->graph));
}

/* The graph rebuilt without dead code, constants folded, identities gone;
 * the old graph stays alive (the step's arrays and the scopes are in it). */
static int run_simplify(rt_pipeline *p)
{
    int *roots, n_roots = ir_step_roots(&p->step, &p->graph.arena, &roots);
    int *map = malloc(sizeof(int) * ((size_t)p->graph.n_nodes + 1));
    ir_graph out;
    if (n_roots < 0 || !map || ir_graph_init(&out) < 0) return free(map), p->why = "out of memory", -1;
    out.diag = &p->fe.diag;
    int rc = ir_simplify(&p->graph, roots, n_roots, &out, map, &p->simplified);
    p->source_graph = p->graph;
    p->have_source_graph = true;
    p->graph = out;
    if (rc == 0) ir_step_remap(&p->step, map);
    free(map);
    return graph_result(p, rc);
}

static void print_simplified(FILE *out, const rt_pipeline *p)
{
    const ir_simplify_stats *st = &p->simplified;
    fprintf(out, "# %d nodes -> %d: %d dead, %d folded, %d identities\n", st->nodes_in, st->nodes_out, st->dead,
            st->folded, st->identities);
    ir_graph_print(out, &p->graph);
}

/* ---- the kernel program: its checker reports to stderr ---- */

/* ir/fuse.c does not map the sparse MoE's grouped products to launches
 * yet: until it does, a graph holding one is refused here, not fused. */
static int run_fuse(rt_pipeline *p)
{
    ir_kprogram_init(&p->kernels, p->opt.model);
    p->have_kernels = true;
    ir_fuse_value *want;
    int n_want;
    ir_step_keep keep = { .stats = p->opt.keep_stats, .logits = p->opt.keep_logits };
    if (ir_step_values(&p->graph, &p->fe.model, &p->step, &keep, &p->kernels.arena, &want, &n_want) < 0)
        return p->why = "out of memory", -1;
    ir_fuse_options fo = { .fuse = !p->opt.no_fuse };
    if (ir_fuse(&p->graph, want, n_want, &fo, &p->kernels, &p->fe.diag) < 0)
        return -1;   /* reported */
    return 0;
}

static void print_kernels(FILE *out, const rt_pipeline *p)
{
    ir_kprogram_print(out, &p->kernels, false);
}

static int verify_kernels(rt_pipeline *p)
{
    if (ir_kprogram_verify(&p->kernels, &p->fe.diag) < 0) return -1;   /* reported */
    return 0;
}

static int run_plan_memory(rt_pipeline *p)
{
    if (ir_memplan(&p->kernels, &p->memory, &p->fe.diag) < 0) return p->why = "out of memory", -1;
    return 0;
}

static void print_memory(FILE *out, const rt_pipeline *p)
{
    ir_memplan_print(out, &p->kernels, &p->memory);
}

/* ---- the table ---- */

static const rt_pass PASSES[] = {
    {"parse", "ast", "syntax tree", "read the model file and parse it",
     run_parse, print_ast, NULL},
    {"elaborate", "elab", "model", "resolve names, unroll blocks and loops, check shapes",
     run_elaborate, print_model, NULL},
    {"lower", "graph", "graph", "the forward graph and loss, training semantics, B and T bound",
     run_lower, print_graph, verify_graph},
    {"autodiff", NULL, "graph", "append d loss / d param for every parameter",
     run_autodiff, print_graph, verify_graph},
    {"optimizer", "grad", "graph", "append clipping, the learning rate and AdamW: one training step",
     run_optimizer, print_graph, verify_graph},
    /* Planned by the compiler issue: they get run, print and verify functions. */
    {"simplify", "simplified", "graph", "drop dead nodes, merge equal ones, fold constants and identities",
     run_simplify, print_simplified, verify_graph},
    {"fuse", "kernels", "kernel program", "fuse into loop kernels, library calls and templates",
     run_fuse, print_kernels, verify_kernels},
    {"plan-memory", "memory", "memory plan", "liveness of the buffers, packed into one arena",
     run_plan_memory, print_memory, verify_kernels},
};
_Static_assert(sizeof PASSES / sizeof PASSES[0] <= RT_MAX_PASSES, "the dump mask has one bit a pass");

const rt_pass *rt_passes(int *n)
{
    *n = (int)(sizeof PASSES / sizeof PASSES[0]);
    return PASSES;
}
