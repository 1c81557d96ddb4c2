/* runtime/cmd_frontend.c -- `moec check` and `moec ir`: run the front end on
 * one model file (check), or the pass pipeline (runtime/pipeline.h) up to a
 * stage and print it (ir). The options of ir name rows of the pass table
 * (runtime/passes.c); nothing here knows a stage by name. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/pipeline.h"

/* The options of check and ir besides the model arguments (cli_args.h). */
typedef struct frontend_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    const char *stage;          /* --stage, or NULL */
    const char *dumps[RT_MAX_PASSES];   /* --dump-after PASS, in order */
    int n_dumps;
    long long batch, seq;       /* --batch, --seq for the graph stages; 0 = the train settings' */
    bool no_warnings;           /* -w */
    bool verify;                /* --verify: the verifier after every pass */
    bool no_fuse;               /* --no-fuse: every value its own launch */
    ir_moe_form moe;            /* --moe dense|sparse */
    bool list_stages;           /* --list-stages: print the pass table */
    bool want_stage;            /* ir takes the options below -w; check does not */
} frontend_args;

/* --batch N or --seq N at argv[*i]: 0 taken, 1 not these, -1 malformed. */
static int parse_size(int argc, char **argv, int *i, frontend_args *a)
{
    char *v;
    bool batch = (v = rt_cli_option_value(argc, argv, i, "--batch")) != NULL;
    if (!batch && !(v = rt_cli_option_value(argc, argv, i, "--seq"))) return 1;
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

/* rt_cli_option_fn for check and ir. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    frontend_args *a = ctx;
    const char *arg = argv[*i];
    char *v;
    if (!strcmp(arg, "-w")) return a->no_warnings = true, 0;
    if (!a->want_stage) return 1;
    if (!strcmp(arg, "--verify")) return a->verify = true, 0;
    if (!strcmp(arg, "--no-fuse")) return a->no_fuse = true, 0;
    if (!strcmp(arg, "--list-stages")) return a->list_stages = true, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--stage"))) return a->stage = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--moe"))) return rt_cli_parse_moe(v, &a->moe);
    if ((v = rt_cli_option_value(argc, argv, i, "--dump-after"))) {
        if (a->n_dumps == RT_MAX_PASSES) {
            fprintf(stderr, "moec: more than %d --dump-after options\n", RT_MAX_PASSES);
            return -1;
        }
        return a->dumps[a->n_dumps++] = v, 0;
    }
    return parse_size(argc, argv, i, a);
}

static int parse_args(int argc, char **argv, frontend_args *a, bool want_stage)
{
    memset(a, 0, sizeof *a);
    a->want_stage = want_stage;
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (a->list_stages) return 0;
    if (!a->m.model) {
        fprintf(stderr, "moec: no model file given\n");
        return -1;
    }
    if (want_stage && !a->stage && !a->n_dumps) {
        int n;
        const rt_pass *t = rt_passes(&n);
        fprintf(stderr, "moec: ir needs --stage ");
        rt_pass_stages(stderr, t, n, "|", false);
        fprintf(stderr, " (or --dump-after PASS; see --list-stages)\n");
        return -1;
    }
    return 0;
}

/* The front end alone: parse and elaborate. */
int rt_cmd_check(int argc, char **argv)
{
    frontend_args a;
    if (parse_args(argc, argv, &a, false) < 0) return 2;
    rt_frontend r;
    int status = rt_frontend_parse(&r, a.m.model, a.m.max_errors, a.no_warnings);
    if (status == 0) status = rt_frontend_finish(&r, a.m.sets, a.m.n_sets);
    rt_frontend_free(&r);
    return status;
}

/* The rows the ir options name: the stage, the dumps and the last pass to
 * run. Returns 0, or 2 after printing why (an unknown or planned name). */
static int resolve_request(const frontend_args *a, const rt_pass *t, int n, rt_pipeline_request *req)
{
    *req = (rt_pipeline_request){-1, -1, 0, stdout};
    if (a->stage && (req->stage = rt_pass_find(t, n, a->stage, true)) < 0) {
        fprintf(stderr, "moec: unknown stage '%s'; stages: ", a->stage);
        rt_pass_stages(stderr, t, n, " ", false);
        fprintf(stderr, " (later: ");
        rt_pass_stages(stderr, t, n, " ", true);
        return fprintf(stderr, ")\n"), 2;
    }
    req->last = req->stage;
    for (int k = 0; k < a->n_dumps; k++) {
        int i = rt_pass_find(t, n, a->dumps[k], false);
        if (i < 0) {
            fprintf(stderr, "moec: unknown pass '%s' for --dump-after; passes:", a->dumps[k]);
            for (int j = 0; j < n; j++) fprintf(stderr, " %s", t[j].name);
            return fputc('\n', stderr), 2;
        }
        req->dump |= (uint64_t)1 << i;
        if (i > req->last) req->last = i;
    }
    for (int i = 0; i <= req->last; i++) {   /* planned passes on the way are skipped; asked for, refused */
        if (t[i].run || (i != req->stage && !(req->dump >> i & 1))) continue;
        bool stage = i == req->stage;
        fprintf(stderr, "moec: 'ir %s %s' is not available yet; the stages so far: ",
                stage ? "--stage" : "--dump-after", stage ? t[i].stage : t[i].name);
        rt_pass_stages(stderr, t, n, " ", false);
        return fputc('\n', stderr), 2;
    }
    return 0;
}

int rt_cmd_ir(int argc, char **argv)
{
    frontend_args a;
    int n;
    const rt_pass *t = rt_passes(&n);
    if (parse_args(argc, argv, &a, true) < 0) return 2;
    if (rt_cli_size_sets(&a.m, (uint64_t)a.batch, (uint64_t)a.seq) < 0) return 2;
    if (a.list_stages) return rt_pass_list(stdout, t, n), 0;
    rt_pipeline_request req;
    int status = resolve_request(&a, t, n, &req);
    if (status) return status;
    const char *env = getenv("MOEC_VERIFY");
    rt_pipeline_options opt = {.model = a.m.model, .sets = a.m.sets, .n_sets = a.m.n_sets,
                               .max_errors = a.m.max_errors, .no_warnings = a.no_warnings,
                               .batch = a.batch, .seq = a.seq,
                               .verify = a.verify || (env && *env && strcmp(env, "0")),
                               .no_fuse = a.no_fuse, .moe = a.moe, .step = RT_STEP_TRAIN};
    rt_pipeline p;
    rt_pipeline_init(&p, &opt);
    status = rt_pipeline_run(&p, t, n, &req) < 0 ? 1 : 0;
    rt_pipeline_report(stderr, &p, t);
    rt_pipeline_free(&p);
    return status;
}

void rt_cmd_ir_help(FILE *out)
{
    int n;
    const rt_pass *t = rt_passes(&n);
    fprintf(out, "\nSTAGE of 'moec ir': ");
    rt_pass_stages(out, t, n, " ", false);
    fprintf(out, " (later: ");
    rt_pass_stages(out, t, n, " ", true);
    fprintf(out, ")\n");
}
