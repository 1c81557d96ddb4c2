/* runtime/cmd_eval.c -- `moec eval` and `moec grad`, compiled for the CPU
 * (the default when built with LLVM) or on the reference interpreter.
 *   moec eval MODEL.moe [--set k=v]... --weights W.safetensors --data TOKENS.bin
 *             --batch B --seq T [--backend cpu|interp|cuda] [--threads N] [--precision f64|f32]
 *             [--moe dense|sparse] [--json]
 *   moec grad ... the same ... -o G.safetensors
 * eval: evaluation semantics (no dropout, no noise). grad: the total training
 * loss and its gradient at step 0, before clipping and the optimizer. The
 * plain loss line ends with the capacity drops when a layer has a capacity;
 * the --json line is fixed at the four losses. The CPU backend computes in
 * float32; --precision chooses the interpreter's arithmetic.
 * Exit 0 done, 1 bad input, 2 usage. doc/model-semantics.md has the details. */
#include <inttypes.h>
#include <math.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/step.h"
#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/cpu_step.h"
#include "runtime/cuda/backend.h"
#include "runtime/data/shard.h"
#include "runtime/weights/weights.h"

typedef struct eval_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    const char *weights, *data, *out;
    uint64_t batch, seq;        /* 0: the train settings' */
    bool json;
    ir_precision prec;
    bool grad;                  /* `moec grad` */
    ir_moe_form moe;            /* --moe dense|sparse */
    bool interp;                /* --backend interp (the default without LLVM) */
    bool cuda;                  /* --backend cuda: refused with what the machine has (runtime/cuda/backend.h) */
    uint64_t threads;           /* --threads N for the CPU backend; 0: every core */
} eval_args;

static void usage(bool grad)
{
    fprintf(stderr, "usage: moec %s MODEL.moe [--set k=v]... --weights W.safetensors --data TOKENS.bin "
                    "--batch B --seq T [--backend cpu|interp|cuda] [--threads N] [--precision f64|f32] [--moe dense|sparse] [--json]%s\n",
            grad ? "grad" : "eval", grad ? " -o G.safetensors" : "");
}

static int parse_choice(eval_args *a, const char *opt, const char *v)
{
    if (!strcmp(opt, "--backend")) {
        if (!strcmp(v, "cuda")) return a->cuda = true, 0;
        if (!strcmp(v, "interp") || (!strcmp(v, "cpu") && rt_cpu_step_available())) {
            a->interp = v[0] == 'i';
            return 0;
        }
        if (!strcmp(v, "cpu"))
            fprintf(stderr, "moec: --backend cpu is not built (configure found no LLVM 14); --backend interp is\n");
        else
            fprintf(stderr, "moec: --backend '%s' is not available; cpu%s, interp and cuda are\n", v,
                    rt_cpu_step_available() ? "" : " (not built)");
        return -1;
    }
    if (!strcmp(v, "f64") || !strcmp(v, "f32")) {
        a->prec = v[2] == '4' ? IR_PREC_F64 : IR_PREC_F32;
        return 0;
    }
    fprintf(stderr, "moec: --precision expects f64 or f32, got '%s'\n", v);
    return -1;
}

/* rt_cli_option_fn: the options of eval and grad. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    eval_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--weights"))) return a->weights = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--data"))) return a->data = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--batch"))) return rt_cli_parse_u64("--batch", v, &a->batch);
    if ((v = rt_cli_option_value(argc, argv, i, "--seq"))) return rt_cli_parse_u64("--seq", v, &a->seq);
    if ((v = rt_cli_option_value(argc, argv, i, "--backend"))) return parse_choice(a, "--backend", v);
    if ((v = rt_cli_option_value(argc, argv, i, "--precision"))) return parse_choice(a, "--precision", v);
    if ((v = rt_cli_option_value(argc, argv, i, "--moe"))) return rt_cli_parse_moe(v, &a->moe);
    if ((v = rt_cli_option_value(argc, argv, i, "--threads"))) return rt_cli_parse_u64("--threads", v, &a->threads);
    if (a->grad && (v = rt_cli_option_value(argc, argv, i, "-o"))) return a->out = v, 0;
    if (!strcmp(argv[*i], "--json")) return a->json = true, 0;
    return 1;
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (a->cuda) return 0;   /* refused before anything else is needed */
    const char *missing = !a->m.model ? "a model file" : !a->weights ? "--weights W.safetensors"
                        : !a->data ? "--data TOKENS.bin" : a->grad && !a->out ? "-o G.safetensors" : NULL;
    if (missing) return fprintf(stderr, "moec: %s needs %s\n", a->grad ? "grad" : "eval", missing), -1;
    if (a->batch > 1000000 || a->seq > 1000000)
        return fprintf(stderr, "moec: --batch and --seq must be at most 1000000\n"), -1;
    return 0;
}

/* ---- the data: tokens, targets, domains ---- */

typedef struct batch_data {
    double *tokens, *targets;   /* [B*T] */
    double *domain;             /* [B] */
} batch_data;

static void free_batch(batch_data *d)
{
    free(d->tokens);
    free(d->targets);
    free(d->domain);
}

/* The split entry of domains.json that lists `base`, and the token offset of
 * that shard within its split (shards are concatenated in list order). */
static json_t *find_split(json_t *root, const char *base, int64_t *offset)
{
    const char *name;
    json_t *split;
    json_object_foreach(json_object_get(root, "splits"), name, split) {
        int64_t at = 0;
        size_t i;
        json_t *shard;
        json_array_foreach(json_object_get(split, "shards"), i, shard) {
            const char *path = json_string_value(json_object_get(shard, "path"));
            if (path && !strcmp(path, base)) {
                *offset = at;
                return split;
            }
            at += json_integer_value(json_object_get(shard, "tokens"));
        }
    }
    return NULL;
}

/* Domain ids from a domains.json beside the shard (moec data's format,
 * doc/data.md): sequence b's id is that of the range holding its first token.
 * No file, or a shard it does not list: every id is 0. */
static void read_domains(const char *shard_path, int64_t b, int64_t t, double *domain)
{
    const char *slash = strrchr(shard_path, '/');
    size_t dir_len = slash ? (size_t)(slash - shard_path + 1) : 0;
    const char *base = slash ? slash + 1 : shard_path;
    char *path = malloc(dir_len + sizeof "domains.json");
    if (!path) return;
    memcpy(path, shard_path, dir_len);
    strcpy(path + dir_len, "domains.json");
    json_t *root = json_load_file(path, 0, NULL);
    free(path);
    int64_t offset = 0;
    json_t *split = root ? find_split(root, base, &offset) : NULL;
    json_t *ranges = split ? json_object_get(split, "ranges") : NULL;
    for (int64_t s = 0; ranges && s < b; s++) {
        int64_t at = offset + s * t;
        size_t i;
        json_t *r;
        json_array_foreach(ranges, i, r) {
            if (json_integer_value(json_array_get(r, 0)) <= at && at < json_integer_value(json_array_get(r, 1)))
                domain[s] = (double)json_integer_value(json_array_get(r, 2));
        }
    }
    json_decref(root);
}

/* Sequence s uses tokens [s T, s T + T) as inputs and the next ones as targets. */
static int load_batch(const eval_args *a, const fe_model *m, int64_t b, int64_t t, batch_data *d, moec_diag *diag)
{
    rt_shard shard = {0};
    uint32_t vocab = m->vocab > RT_SHARD_MAX_VOCAB ? RT_SHARD_MAX_VOCAB : (uint32_t)m->vocab;
    if (rt_shard_read(a->data, vocab, &shard, diag) < 0) return -1;
    size_t need = (size_t)(b * t + 1);
    int status = 0;
    if (shard.n_tokens < need) {
        status = moec_error(diag, "%s holds %zu tokens; --batch %lld --seq %lld needs %zu (B*T+1)", a->data,
                            shard.n_tokens, (long long)b, (long long)t, need);
    } else {
        d->tokens = calloc(need, sizeof(double));
        d->targets = calloc(need, sizeof(double));
        d->domain = calloc((size_t)b, sizeof(double));
        if (!d->tokens || !d->targets || !d->domain) status = moec_error(diag, "out of memory reading %s", a->data);
        for (size_t i = 0; status == 0 && i + 1 < need; i++) {
            d->tokens[i] = shard.tokens[i];
            d->targets[i] = shard.tokens[i + 1];
        }
        if (status == 0) read_domains(a->data, b, t, d->domain);
    }
    rt_shard_free(&shard);
    return status;
}

/* ---- running the graph ---- */

/* Binds inputs (step 0) and every parameter, float32 widened to double. */
static int bind_all(ir_interp *it, const ir_lowered *l, const rt_weights *w, const batch_data *d)
{
    double step = 0.0;
    int rc = ir_interp_bind(it, l->tokens, d->tokens) | ir_interp_bind(it, l->targets, d->targets) |
             ir_interp_bind(it, l->domain, d->domain) | ir_interp_bind(it, l->step, &step);
    for (int i = 0; rc == 0 && i < w->n; i++) {
        double *v = malloc(sizeof(double) * (size_t)(w->numel[i] ? w->numel[i] : 1));
        if (!v) return -1;
        for (int64_t j = 0; j < w->numel[i]; j++) v[j] = w->data[i][j];
        rc = ir_interp_bind(it, l->params[i], v);
        free(v);
    }
    return rc;
}

/* What either backend computed: the four losses and the capacity drops. */
typedef struct eval_result {
    double loss, lm_loss, lb_loss, z_loss;
    bool capped;                /* some layer has a capacity: drops are counted */
    int64_t dropped, of;        /* assignments dropped, of the capped layers' slot assignments */
} eval_result;

/* Reads one value of node `node` (a scalar) from whichever backend ran. */
typedef double value_fn(void *ctx, int node, const char *name);

/* Fills r from the step's named values; drops summed over capped layers. */
static void collect(const ir_lowered *l, value_fn *value, void *ctx, eval_result *r)
{
    *r = (eval_result){ .loss = value(ctx, l->loss, "loss"), .lm_loss = value(ctx, l->lm_loss, "lm_loss"),
                        .lb_loss = value(ctx, l->lb_loss, "lb_loss"), .z_loss = value(ctx, l->z_loss, "z_loss") };
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        if (!ml->routing.capped) continue;
        char name[300];
        snprintf(name, sizeof name, "%s.dropped", ml->scope);
        r->capped = true;
        r->dropped += (int64_t)(value(ctx, ml->routing.dropped, name) + 0.5);   /* an exact count */
        r->of += ml->routing.assigns;
    }
}

/* The loss line. --json is a fixed contract (other tools parse it): exactly
 * the four losses; the plain line adds the capacity drops when some layer
 * has a capacity. */
static void print_losses(const eval_args *a, const eval_result *r)
{
    if (a->json) {
        printf("{\"loss\":%.17g,\"lm_loss\":%.17g,\"lb_loss\":%.17g,\"z_loss\":%.17g}\n", r->loss, r->lm_loss,
               r->lb_loss, r->z_loss);
        return;
    }
    printf("loss %.6f  lm_loss %.6f  lb_loss %.6f  z_loss %.6f", r->loss, r->lm_loss, r->lb_loss, r->z_loss);
    if (r->capped) printf("  dropped %" PRId64 " of %" PRId64 " assignments", r->dropped, r->of);
    printf("\n");
}

/* Reads gradient i (numel floats) into dst; 0 or -1. */
typedef int grad_fn(void *ctx, int i, float *dst, int64_t numel);

/* Every gradient, rounded to float32, into a weights-shaped file. */
static int save_grads(const eval_args *a, const fe_model *m, grad_fn *grad, void *ctx, moec_diag *diag)
{
    rt_weights gw = {0};
    int status = rt_weights_alloc(&gw, m, diag);
    for (int i = 0; status == 0 && i < gw.n; i++)
        if (grad(ctx, i, gw.data[i], gw.numel[i]) < 0) status = moec_error(diag, "no gradient for %s", m->params[i].name);
    rt_meta meta[2] = {{"moec_model", m->name}, {"moec_kind", "gradients"}};
    if (status == 0) status = rt_weights_save(&gw, a->out, meta, 2, diag);
    if (status < 0) moec_diag_finish(diag);
    rt_weights_free(&gw);
    return status;
}

/* ---- the interpreter ---- */

typedef struct interp_run {
    ir_interp *it;
    const ir_step_graph *s;
} interp_run;

static double interp_value(void *ctx, int node, const char *name)
{
    (void)name;
    return ir_interp_value(((interp_run *)ctx)->it, node)[0];
}

static int interp_grad(void *ctx, int i, float *dst, int64_t numel)
{
    const interp_run *r = ctx;
    const double *v = ir_interp_value(r->it, r->s->grad[i]);
    for (int64_t j = 0; v && j < numel; j++) dst[j] = (float)v[j];
    return v ? 0 : -1;
}

/* Builds the graph (forward for eval, forward + gradients for grad), runs it
 * on the interpreter and prints. Graph and run errors are led by
 * "moec: MODEL: ", the others by "moec: ". Returns the exit status. */
static int run_graph(const eval_args *a, rt_frontend *fe, const rt_weights *w, const batch_data *d, int64_t b,
                     int64_t t)
{
    const fe_model *m = &fe->model;
    moec_diag *diag = &fe->diag;
    ir_graph g;
    if (ir_graph_init(&g) < 0) return moec_error(diag, "out of memory"), 1;
    g.diag = diag;
    diag->prefix = rt_frontend_model_lead(fe);
    ir_lower_options opt = {b, t, a->grad, a->moe, false};
    ir_step_graph s = {0};
    int rc = a->grad ? ir_step_build(&g, m, &opt, false, &s) : ir_lower(&g, m, &opt, &s.fwd);
    if (rc == 0) rt_frontend_warn_dense_moe(fe, &s.fwd);
    int status = 1;
    ir_interp *it = rc == 0 ? ir_interp_new(&g, a->prec) : NULL;
    if (rc < 0) {
        if (!g.failed) moec_error(diag, "could not build the graph");
    } else if (!it || bind_all(it, &s.fwd, w, d) < 0) {
        diag->prefix = "moec: ";
        moec_error(diag, "out of memory");
    } else if (ir_interp_run(it, -1, diag) == 0) {
        diag->prefix = "moec: ";
        interp_run r = { it, &s };
        eval_result res;
        collect(&s.fwd, interp_value, &r, &res);
        print_losses(a, &res);
        status = a->grad && save_grads(a, m, interp_grad, &r, diag) < 0 ? 1 : 0;
    }
    ir_interp_free(it);
    ir_graph_free(&g);
    return status;
}

/* ---- the CPU backend ---- */

static double cpu_value(void *ctx, int node, const char *name)
{
    (void)node;
    double v = 0;
    return rt_cpu_step_get(ctx, name, &v, 1) == 0 ? v : NAN;
}

static int cpu_grad(void *ctx, int i, float *dst, int64_t numel)
{
    rt_cpu_step *s = ctx;
    char name[320];
    snprintf(name, sizeof name, "grad.%s", s->pipe.fe.model.params[i].name);
    int b = rt_cpu_step_find(s, name);
    if (b < 0 || rt_cpu_step_numel(s, b) != numel) return -1;
    return rt_exec_read(s->exec, b, dst, numel);
}

/* Compiles the step (eval or grad semantics) for the CPU, runs it once on
 * the batch and prints as the interpreter path does. */
static int run_compiled(const eval_args *a, rt_frontend *fe, const rt_weights *w, const batch_data *d, int64_t b,
                        int64_t t)
{
    rt_pipeline_options opt = { .model = a->m.model, .sets = a->m.sets, .n_sets = a->m.n_sets,
                                .max_errors = a->m.max_errors, .batch = b, .seq = t, .moe = a->moe,
                                .no_warnings = true, .step = a->grad ? RT_STEP_GRAD : RT_STEP_EVAL };
    rt_cpu_step_options co = { .threads = (int)a->threads };
    rt_cpu_step s;
    double step = 0.0;
    int status = rt_cpu_step_build(&s, &opt, &co) == 0 && rt_cpu_step_set_params(&s, w) == 0 &&
                 rt_cpu_step_set(&s, "tokens", d->tokens, b * t) == 0 &&
                 rt_cpu_step_set(&s, "targets", d->targets, b * t) == 0 &&
                 rt_cpu_step_set(&s, "domain", d->domain, b) == 0 && rt_cpu_step_set(&s, "step", &step, 1) == 0 &&
                 rt_cpu_step_run(&s) == 0 ? 0 : 1;
    if (status == 0) {
        eval_result res;
        collect(&s.pipe.step.fwd, cpu_value, &s, &res);
        print_losses(a, &res);
        status = a->grad && save_grads(a, &fe->model, cpu_grad, &s, &s.pipe.fe.diag) < 0 ? 1 : 0;
    }
    rt_cpu_step_free(&s);
    return status;
}

static int run(int argc, char **argv, bool grad)
{
    eval_args a = {.grad = grad, .prec = IR_PREC_F64, .interp = !rt_cpu_step_available()};
    if (parse_args(argc, argv, &a) < 0) return usage(grad), 2;
    if (a.cuda) return rt_cuda_backend_refuse(grad ? "grad" : "eval");
    if (rt_cli_size_sets(&a.m, a.batch, a.seq) < 0) return 2;
    rt_frontend fe;
    int status = rt_frontend_elaborate(&fe, a.m.model, a.m.sets, a.m.n_sets, a.m.max_errors);
    const fe_model *m = &fe.model;
    int64_t b = a.batch ? (int64_t)a.batch : m->train.batch, t = a.seq ? (int64_t)a.seq : m->train.seq;
    rt_weights w = {0};
    batch_data d = {0};
    fe.diag.prefix = "moec: ";
    if (status == 0 && (rt_weights_alloc(&w, m, &fe.diag) < 0 || rt_weights_load(&w, a.weights, NULL, &fe.diag) < 0)) {
        moec_diag_finish(&fe.diag);
        status = 1;
    }
    if (status == 0 && load_batch(&a, m, b, t, &d, &fe.diag) < 0) status = 1;
    if (status == 0) status = a.interp ? run_graph(&a, &fe, &w, &d, b, t) : run_compiled(&a, &fe, &w, &d, b, t);
    free_batch(&d);
    rt_weights_free(&w);
    rt_frontend_free(&fe);
    return status;
}

int rt_cmd_eval(int argc, char **argv)
{
    return run(argc, argv, false);
}

int rt_cmd_grad(int argc, char **argv)
{
    return run(argc, argv, true);
}
