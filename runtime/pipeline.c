/* runtime/pipeline.c -- the engine that runs a table of passes (pipeline.h):
 * each pass in order, its verifier after it, the dumps and the stage asked
 * for, and the report that names the pass whose result the verifier refused.
 * Reads a table (runtime/passes.c, or a test's own); writes the IR levels of
 * the pipeline state through the rows' functions and the printers to a stream. */
#include "runtime/pipeline.h"

#include <string.h>

#include "support/assert.h"

int rt_pass_find(const rt_pass *t, int n, const char *name, bool by_stage)
{
    for (int i = 0; i < n; i++) {
        const char *key = by_stage ? t[i].stage : t[i].name;
        if (key && !strcmp(key, name)) return i;
    }
    return -1;
}

void rt_pass_list(FILE *out, const rt_pass *t, int n)
{
    fprintf(out, "%-12s %-11s %-15s %s\n", "pass", "stage", "IR", "what it does");
    for (int i = 0; i < n; i++)
        fprintf(out, "%-12s %-11s %-15s %s\n", t[i].name, t[i].stage ? t[i].stage : "-", t[i].level,
                t[i].what);
}

void rt_pass_stages(FILE *out, const rt_pass *t, int n, const char *sep, bool planned)
{
    const char *between = "";
    for (int i = 0; i < n; i++) {
        if (!t[i].stage || (t[i].run == NULL) != planned) continue;
        fprintf(out, "%s%s", between, t[i].stage);
        between = sep;
    }
}

void rt_pipeline_init(rt_pipeline *p, const rt_pipeline_options *opt)
{
    memset(p, 0, sizeof *p);
    p->opt = *opt;
    p->failed = -1;
}

/* Runs pass i's verifier when it has one; 0 or -1 with the failure recorded. */
static int verify_pass(rt_pipeline *p, const rt_pass *t, int i)
{
    if (!t[i].verify) return 0;
    const char *lead = p->fe.diag.prefix;   /* what the checker reports is the pass's fault */
    snprintf(p->lead, sizeof p->lead, "%sthe IR after pass '%s' is malformed: ", lead ? lead : "moec: ", t[i].name);
    p->fe.diag.prefix = p->lead;
    int rc = t[i].verify(p);
    p->fe.diag.prefix = lead;
    if (rc == 0) return 0;
    p->failed = i;
    p->failed_verify = true;
    return -1;
}

/* Runs pass i and what the request asks for after it. Returns 0 or -1. */
static int run_pass(rt_pipeline *p, const rt_pass *t, int i, const rt_pipeline_request *req)
{
    MOEC_ASSERT(t[i].run != NULL);
    if (t[i].run(p) < 0) {
        p->failed = i;
        return -1;
    }
    p->n_run = i + 1;
    if (req->dump >> i & 1) {
        fprintf(req->out, "# after %s\n", t[i].name);
        t[i].print(req->out, p);
    }
    if ((p->opt.verify || i == req->last || i == req->stage) && verify_pass(p, t, i) < 0) return -1;
    if (i == req->stage) t[i].print(req->out, p);
    return 0;
}

int rt_pipeline_run(rt_pipeline *p, const rt_pass *t, int n, const rt_pipeline_request *req)
{
    MOEC_ASSERT(req->last < n && n <= RT_MAX_PASSES && req->stage <= req->last);
    for (int i = p->n_run; i <= req->last; i++) {
        if (!t[i].run) {          /* a planned pass: the IR goes on unchanged */
            MOEC_ASSERT(i != req->stage && !(req->dump >> i & 1));
            p->n_run = i + 1;
            continue;
        }
        if (run_pass(p, t, i, req) < 0) return -1;
    }
    return 0;
}

void rt_pipeline_report(FILE *err, const rt_pipeline *p, const rt_pass *t)
{
    if (p->failed < 0 || !p->why) return;
    if (p->failed_verify)
        fprintf(err, "moec: %s: the IR after pass '%s' is malformed: %s\n", p->opt.model, t[p->failed].name,
                p->why);
    else
        fprintf(err, "moec: %s: %s\n", p->opt.model, p->why);
}

void rt_pipeline_free(rt_pipeline *p)
{
    if (p->have_kernels) ir_kprogram_free(&p->kernels);
    if (p->have_graph) ir_graph_free(&p->graph);
    if (p->have_source_graph) ir_graph_free(&p->source_graph);
    rt_frontend_free(&p->fe);
    memset(p, 0, sizeof *p);
    p->failed = -1;
}
