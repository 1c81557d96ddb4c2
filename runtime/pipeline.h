/* runtime/pipeline.h -- the compiler as one table of passes (doc/ir.md, "The
 * pass pipeline"): a pass reads the IR levels built before it from the
 * pipeline state and adds or extends its own; a stage is the IR after a pass
 * that `moec ir --stage` prints. The table is in runtime/passes.c, the engine
 * that runs it (verifier, dumps, failures) in runtime/pipeline.c. Driver code:
 * front-end diagnostics go to stderr through the state's rt_frontend. */
#ifndef MOEC_RUNTIME_PIPELINE_H
#define MOEC_RUNTIME_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/graph.h"
#include "ir/kernel.h"
#include "ir/memplan.h"
#include "ir/simplify.h"
#include "ir/step.h"
#include "runtime/cli_args.h"

enum { RT_MAX_PASSES = 64 };   /* rows of one table: the dump set is a 64-bit mask */

/* What a compiled step computes. The training step is the default (0): it is
 * what `moec ir`, `moec bench` and `moec train` compile. */
typedef enum rt_step_kind {
    RT_STEP_TRAIN,   /* forward in training semantics, gradients, clipping, AdamW */
    RT_STEP_GRAD,    /* forward in training semantics and the gradients (moec grad) */
    RT_STEP_EVAL,    /* forward in evaluation semantics: no dropout, no router noise (moec eval) */
} rt_step_kind;

/* What a pipeline is asked to compile, fixed for its whole run. */
typedef struct rt_pipeline_options {
    const char *model;             /* MODEL.moe (with model_text: the name messages give it) */
    const char *model_text;        /* the model file's text, parsed instead of reading `model`; or NULL */
    const fe_override *sets;       /* --set name=value, n_sets of them */
    int n_sets;
    int max_errors;                /* 0: the diagnostics sink's default */
    bool no_warnings;              /* -w */
    int64_t batch, seq;            /* B and T bound by `lower`; 0: the train settings' */
    bool verify;                   /* verify after every pass, not only the last one */
    bool no_fuse;                  /* every value its own launch (--no-fuse) */
    FILE *errors;                  /* where the sink writes; NULL: stderr */
    ir_moe_form moe;               /* --moe: MoE layers sparse (the default) or dense */
    rt_step_kind step;             /* what the program computes: the whole training step (0), or
                                      less for `moec eval` and `moec grad` */
    bool keep_stats;               /* keep the per-token values rt_metrics reads (runtime/train/
                                      metrics.h): "token_loss", SCOPE.probs/.assign/.keep */
    bool keep_logits;              /* keep the logits: "logits" f32 [B*T,V] (`moec sample`) */
} rt_pipeline_options;

/* The state passes read and write: every IR level built so far. A level is
 * valid once the pass that makes it has run (`n_run` counts them). */
typedef struct rt_pipeline {
    rt_pipeline_options opt;
    rt_frontend fe;                /* levels `ast` (fe.ast) and `model` (fe.model) */
    bool have_graph;               /* graph is initialised (freed by rt_pipeline_free) */
    ir_graph graph;                /* level `graph`: forward, then gradients, then the update */
    ir_step_graph step;            /* named nodes of graph: step.fwd after lower, grad, optimizer */
    bool have_source_graph;        /* source_graph holds the graph before simplify */
    ir_graph source_graph;         /* kept: step's arrays, labels and scopes live in its arena */
    ir_simplify_stats simplified;  /* after simplify */
    bool have_kernels;             /* kernels is initialised (freed by rt_pipeline_free) */
    ir_kprogram kernels;           /* level `kernel program`: after fuse */
    ir_memplan_stats memory;       /* level `memory plan`: after plan-memory (offsets in kernels) */
    int n_run;                     /* passes of the table run so far, in order */
    int failed;                    /* index of the pass that failed, or -1 */
    bool failed_verify;            /* the pass ran; its verifier refused the result */
    const char *why;               /* the reason when not yet reported (front-end errors went
                                      to the diagnostics sink): points into the level's own
                                      record or is a literal; NULL when the sink reported it */
    char lead[512];                /* the sink's lead while a verifier runs: "moec: MODEL: the IR
                                      after pass 'NAME' is malformed: " */
} rt_pipeline;

/* One row of the table: a pass, and the stage its result is when it has one.
 * run: 0, or -1 with the reason reported (front end) or in p->why.
 * print: the IR as it is after the pass, to out.
 * verify: 0, or -1 with the reason in p->why; NULL when the level has no
 * verifier (the front end checks as it goes). A planned pass has run NULL. */
typedef struct rt_pass {
    const char *name;              /* `--dump-after NAME` */
    const char *stage;             /* `--stage STAGE`, or NULL for a pass inside a stage */
    const char *level;             /* the IR it leaves: "ast", "model", "graph", ... */
    const char *what;              /* one line: what it does */
    int (*run)(rt_pipeline *p);
    void (*print)(FILE *out, const rt_pipeline *p);
    int (*verify)(rt_pipeline *p);
} rt_pass;

/* The compiler's table, in pipeline order (runtime/passes.c); *n gets its length. */
const rt_pass *rt_passes(int *n);

/* The index of the row whose stage (by_stage) or pass name is `name`, or -1. */
int rt_pass_find(const rt_pass *t, int n, const char *name, bool by_stage);

/* The table as `moec ir --list-stages` prints it (and doc/ir.md shows it). */
void rt_pass_list(FILE *out, const rt_pass *t, int n);

/* Writes the available (sep NULL) stage names, or the planned ones with
 * `planned`, separated by sep, e.g. "ast|elab|graph|grad". */
void rt_pass_stages(FILE *out, const rt_pass *t, int n, const char *sep, bool planned);

/* What to run and print: passes up to and including `last`. The IR after
 * each pass whose bit is set in `dump` goes to out under a "# after NAME"
 * line, before its verifier runs; the stage `stage` (an index, or -1) goes to
 * out bare, after its verifier accepted it. */
typedef struct rt_pipeline_request {
    int last;
    int stage;
    uint64_t dump;
    FILE *out;
} rt_pipeline_request;

/* Sets up an empty state; nothing runs yet. */
void rt_pipeline_init(rt_pipeline *p, const rt_pipeline_options *opt);

/* Runs passes p->n_run..req->last of t (n rows): each one, then its verifier
 * when opt.verify or it is `last` or the stage asked for. Returns 0, or -1
 * with p->failed, p->failed_verify and p->why set. A planned pass (no run
 * function) on the way is skipped; it must not be the stage or a dump
 * asked for (MOEC_ASSERT). */
int rt_pipeline_run(rt_pipeline *p, const rt_pass *t, int n, const rt_pipeline_request *req);

/* Prints why the run failed, "moec: MODEL: ..." naming the pass when its
 * verifier refused it; nothing when the front end reported it already. */
void rt_pipeline_report(FILE *err, const rt_pipeline *p, const rt_pass *t);

void rt_pipeline_free(rt_pipeline *p);

#endif
