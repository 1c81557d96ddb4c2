/* runtime/cmd_bench.c -- `moec bench`: compiles a model's training step for
 * the CPU, runs it N+1 times on random tokens (the first warms up) and
 * prints the compile time and cache verdict, the median step, time per
 * kernel class with GFLOP/s and GB/s (runtime/launch_cost.h), the slowest
 * launches, and with --json one line of fixed keys (doc/performance.md).
 * With --backend cuda the step runs on the GPU instead (runtime/cuda/bench.h:
 * the median step, GFLOP/s and the loss; --json's first keys). Exit 0 done, 1 the model or a run
 * failed, 2 usage, no CPU backend, or no GPU. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/philox.h"
#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/cpu_step.h"
#include "runtime/cuda/bench.h"
#include "runtime/launch_cost.h"

/* The tokens' Philox key: fixed, so every run draws the same batches
 * (Philox step = the training step, stream 0, element = flat index). */
static const uint64_t TOKEN_SEED = 0x6d6f656362656e63ULL;   /* "moecbenc" */
enum { DEFAULT_STEPS = 5, MAX_STEPS = 100000, DEFAULT_TOP = 10 };

typedef struct bench_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    uint64_t batch, seq;        /* 0: the train settings' */
    uint64_t steps, threads;    /* timed steps; threads 0: every core */
    uint64_t top;               /* --top N: the N launches that took longest */
    bool json, no_cache, no_fuse;
    bool cuda;                  /* --backend cuda: the step on the GPU (runtime/cuda/bench.h) */
    ir_moe_form moe;            /* --moe dense|sparse: the dense oracle times every expert on every token */
} bench_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec bench MODEL.moe [--set k=v]... --batch B --seq T [--steps N] [--threads N] "
                    "[--backend cpu|cuda] [--top N] [--no-cache] [--no-fuse] [--moe dense|sparse] [--json]\n");
}

/* --backend: cpu, or cuda (runtime/cuda/bench.h). 0, or -1 after saying why. */
static int check_backend(bench_args *a, const char *v)
{
    if (!strcmp(v, "cpu")) return 0;
    if (!strcmp(v, "cuda")) return a->cuda = true, 0;
    if (!strcmp(v, "interp"))
        fprintf(stderr, "moec: bench times compiled code; the interpreter ('interp') is a reference, not timed: "
                        "use --backend cpu\n");
    else fprintf(stderr, "moec: unknown backend '%s'; bench runs on 'cpu' or 'cuda'\n", v);
    return -1;
}

/* rt_cli_option_fn: the options of bench. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    bench_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--batch"))) return rt_cli_parse_u64("--batch", v, &a->batch);
    if ((v = rt_cli_option_value(argc, argv, i, "--seq"))) return rt_cli_parse_u64("--seq", v, &a->seq);
    if ((v = rt_cli_option_value(argc, argv, i, "--steps"))) return rt_cli_parse_u64("--steps", v, &a->steps);
    if ((v = rt_cli_option_value(argc, argv, i, "--threads"))) return rt_cli_parse_u64("--threads", v, &a->threads);
    if ((v = rt_cli_option_value(argc, argv, i, "--backend"))) return check_backend(a, v);
    if ((v = rt_cli_option_value(argc, argv, i, "--top"))) return rt_cli_parse_u64("--top", v, &a->top);
    if ((v = rt_cli_option_value(argc, argv, i, "--moe"))) return rt_cli_parse_moe(v, &a->moe);
    if (!strcmp(argv[*i], "--json")) return a->json = true, 0;
    if (!strcmp(argv[*i], "--no-cache")) return a->no_cache = true, 0;
    if (!strcmp(argv[*i], "--no-fuse")) return a->no_fuse = true, 0;
    return 1;
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    a->steps = DEFAULT_STEPS;
    a->top = DEFAULT_TOP;
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (!a->m.model) return fprintf(stderr, "moec: bench needs a model file\n"), -1;
    if (a->batch > 1000000 || a->seq > 1000000)
        return fprintf(stderr, "moec: --batch and --seq must be at most 1000000\n"), -1;
    if (a->steps < 1 || a->steps > MAX_STEPS)
        return fprintf(stderr, "moec: --steps must be from 1 to %d\n", MAX_STEPS), -1;
    if (a->threads > RT_POOL_MAX_THREADS)
        return fprintf(stderr, "moec: --threads must be at most %d\n", RT_POOL_MAX_THREADS), -1;
    return 0;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- running ---- */

/* The inputs of step `step`: B sequences of T+1 Philox tokens (inputs, then
 * the next tokens as targets), sequence b of domain b, the step index. */
typedef struct inputs {
    int64_t b, t, vocab;
    double *tokens, *targets, *domain;
} inputs;

static int set_inputs(rt_cpu_step *s, inputs *in, uint64_t step)
{
    for (int64_t q = 0; q < in->b; q++) {
        for (int64_t i = 0; i <= in->t; i++) {
            double u = ir_philox_uniform(TOKEN_SEED, step, 0, (uint64_t)(q * (in->t + 1) + i));
            double tok = floor(u * (double)in->vocab);
            if (i < in->t) in->tokens[q * in->t + i] = tok;
            if (i > 0) in->targets[q * in->t + i - 1] = tok;
        }
        in->domain[q] = (double)q;
    }
    double st = (double)step;
    int64_t n = in->b * in->t;
    return rt_cpu_step_set(s, "tokens", in->tokens, n) | rt_cpu_step_set(s, "targets", in->targets, n) |
           rt_cpu_step_set(s, "domain", in->domain, in->b) | rt_cpu_step_set(s, "step", &st, 1);
}

/* What the runs measured. */
typedef struct timing {
    int steps;            /* timed runs */
    double *step_s;       /* [steps] wall seconds of each, sorted after the runs */
    double warmup_s;
    double loss_first, loss_last;
} timing;

/* Runs the warm-up step and the timed ones; per-launch timers cover the timed ones. */
static int run_steps(rt_cpu_step *s, inputs *in, timing *tm)
{
    for (int k = 0; k <= tm->steps; k++) {
        if (set_inputs(s, in, (uint64_t)k) < 0) return -1;
        if (k == 1) rt_exec_reset_times(s->exec);
        double t0 = seconds();
        if (rt_cpu_step_run(s) < 0) return -1;
        double dt = seconds() - t0;
        if (k == 0) tm->warmup_s = dt;
        else tm->step_s[k - 1] = dt;
        double loss = NAN;
        rt_cpu_step_get(s, "loss", &loss, 1);
        if (k == 0) tm->loss_first = loss;
        tm->loss_last = loss;
    }
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the report ---- */

typedef struct class_sum {
    int launches;
    double ns, flops, bytes;   /* ns summed over the timed runs; flops and bytes of one run */
} class_sum;

/* Every launch's cost (rt_launch_cost_of), or NULL when out of memory. */
static rt_launch_cost *launch_costs(const rt_cpu_step *s)
{
    const ir_kprogram *p = &s->pipe.kernels;
    rt_cost_context cc = { p, &s->pipe.graph, s->pipe.step.fwd.moe, s->pipe.step.fwd.n_moe };
    rt_launch_cost *c = malloc(sizeof *c * (size_t)(p->n_launches + 1));
    for (int i = 0; c && i < p->n_launches; i++) c[i] = rt_launch_cost_of(&cc, i);
    return c;
}

/* Per class: launches, time, FLOPs and bytes; the step's totals in all. */
static void sum_classes(const rt_cpu_step *s, const rt_launch_cost *cost, class_sum *cls, class_sum *all)
{
    const rt_launch_time *t = rt_exec_times(s->exec);
    for (int i = 0; i < s->pipe.kernels.n_launches; i++) {
        class_sum *r[2] = { &cls[cost[i].cls], all };
        for (int k = 0; k < 2; k++) {
            r[k]->launches++;
            r[k]->ns += (double)t[i].ns;
            r[k]->flops += cost[i].flops;
            r[k]->bytes += cost[i].bytes;
        }
    }
}

/* A launch and its time, for sorting the slowest first. */
typedef struct slow {
    int64_t ns;
    int launch;
} slow;

static int cmp_slow(const void *x, const void *y)
{
    const slow *a = x, *b = y;
    return a->ns != b->ns ? (a->ns < b->ns) - (a->ns > b->ns) : a->launch - b->launch;
}

/* The `top` launches that took longest: time, class, rates, model-file lines. */
static void print_top(const rt_cpu_step *s, const rt_launch_cost *cost, int top, int steps, double mean_s)
{
    const ir_kprogram *p = &s->pipe.kernels;
    const rt_launch_time *t = rt_exec_times(s->exec);
    slow *v = malloc(sizeof *v * (size_t)(p->n_launches + 1));
    if (!v || top <= 0) return free(v);
    for (int i = 0; i < p->n_launches; i++) v[i] = (slow){ t[i].ns, i };
    qsort(v, (size_t)p->n_launches, sizeof *v, cmp_slow);
    if (top > p->n_launches) top = p->n_launches;
    printf("\nthe %d slowest launches\n%-6s %-44s %-18s %9s %7s %9s %9s  %s\n", top, "launch", "name", "class",
           "ms/step", "% step", "GFLOP/s", "GB/s", "lines");
    for (int k = 0; k < top; k++) {
        const ir_launch *l = &p->launches[v[k].launch];
        const rt_launch_cost *c = &cost[v[k].launch];
        double sec = (double)v[k].ns * 1e-9 / steps;
        printf("k%-5d %-44s %-18s %9.3f %7.1f %9.2f %9.2f  ", v[k].launch, l->name, rt_kclass_name(c->cls), 1e3 * sec,
               100 * sec / mean_s, sec > 0 ? c->flops / sec * 1e-9 : 0, sec > 0 ? c->bytes / sec * 1e-9 : 0);
        for (int i = 0; i < IR_K_MAX_LINES && l->lines[i]; i++) printf("%s%d", i ? "," : "", l->lines[i]);
        printf("\n");
    }
    free(v);
}

static void print_compile(const rt_cpu_step *s)
{
    const rt_cpu_compile_info *ci = &s->info;
    printf("compile: %.3f s (pipeline %.3f s, codegen %.3f s): ", ci->pipeline_s + ci->codegen_s, ci->pipeline_s,
           ci->codegen_s);
    if (ci->cache_hit) printf("compiled nothing: %d parts from the cache\n", ci->parts_cached);
    else
        printf("compiled %d kernels in %.3f s on %d threads (distinct loop kernels; %d of %d parts from the cache)\n",
               ci->unique_compiled, ci->compile_wall_s, ci->compile_threads, ci->parts_cached, ci->parts);
    if (ci->cache_note[0]) printf("kernel cache: %s\n", ci->cache_note);
    printf("executor: %.3f s to allocate and zero the buffers (not compiling)\n", ci->setup_s);
}

static void print_program(const rt_cpu_step *s)
{
    const ir_kprogram *p = &s->pipe.kernels;
    int n[3] = { 0, 0, 0 };
    for (int i = 0; i < p->n_launches; i++) n[p->launches[i].kind]++;
    printf("program: %d launches (%d loop kernels, %d of them distinct; %d products, %d templates), arena %.1f MiB\n",
           p->n_launches, n[IR_LAUNCH_LOOP], s->info.unique, n[IR_LAUNCH_GEMM], n[IR_LAUNCH_TEMPLATE],
           (double)rt_exec_arena_bytes(s->exec) / 1048576.0);
}

/* One row: launches, ms per step, % of the mean step, GFLOP/s, GB/s. */
static void print_row(const char *name, const class_sum *c, int steps, double mean_s)
{
    double sec = c->ns * 1e-9 / steps;
    printf("%-18s %8d %9.3f %7.1f %9.2f %9.2f\n", name, c->launches, 1e3 * sec, mean_s > 0 ? 100 * sec / mean_s : 0,
           sec > 0 ? c->flops / sec * 1e-9 : 0, sec > 0 ? c->bytes / sec * 1e-9 : 0);
}

static void print_table(const class_sum *cls, const class_sum *all, const timing *tm, double mean_s)
{
    printf("\n%-18s %8s %9s %7s %9s %9s\n", "class", "launches", "ms/step", "% step", "GFLOP/s", "GB/s");
    for (int c = 0; c < RT_KCLASS_COUNT; c++)
        if (cls[c].launches) print_row(rt_kclass_name((rt_kclass)c), &cls[c], tm->steps, mean_s);
    print_row("all launches", all, tm->steps, mean_s);
    printf("(ms/step and %% step: mean of %d timed steps, %.3f ms; GFLOP/s and GB/s: counted FLOPs and bytes "
           "over time, doc/performance.md)\n", tm->steps, 1e3 * mean_s);
}

/* The --json line: the fixed keys first, in order, then extras. */
static void print_json(const rt_cpu_step *s, const bench_args *a, const inputs *in, const class_sum *cls,
                       const class_sum *all, double med)
{
    const rt_cpu_compile_info *ci = &s->info;
    printf("{\"step_s\":%.6g,\"tokens_per_s\":%.6g,\"compile_s\":%.6g,\"kernels\":%d,\"arena_bytes\":%" PRId64
           ",\"gflops\":%.6g", med, (double)(in->b * in->t) / med, ci->pipeline_s + ci->codegen_s,
           s->pipe.kernels.n_launches, rt_exec_arena_bytes(s->exec), all->flops / med * 1e-9);
    printf(",\"threads\":%d,\"cache_hit\":%s,\"pipeline_s\":%.6g,\"codegen_s\":%.6g,\"setup_s\":%.6g",
           rt_pool_threads(s->pool), ci->cache_hit ? "true" : "false", ci->pipeline_s, ci->codegen_s, ci->setup_s);
    printf(",\"loop_kernels\":%d,\"distinct_kernels\":%d,\"kernels_compiled\":%d", ci->kernels, ci->unique,
           ci->unique_compiled);
    printf(",\"steps\":%d,\"batch\":%" PRId64 ",\"seq\":%" PRId64 ",\"flop_per_step\":%.6g,\"classes\":{",
           (int)a->steps, in->b, in->t, all->flops);
    const char *sep = "";
    for (int c = 0; c < RT_KCLASS_COUNT; c++, sep = ",") {
        double sec = cls[c].ns * 1e-9 / (double)a->steps;
        printf("%s\"%s\":{\"launches\":%d,\"s\":%.6g,\"flop\":%.6g,\"bytes\":%.6g}", sep, rt_kclass_key((rt_kclass)c),
               cls[c].launches, sec, cls[c].flops, cls[c].bytes);
    }
    printf("}}\n");
}

static int report(const rt_cpu_step *s, const bench_args *a, const inputs *in, timing *tm)
{
    rt_launch_cost *cost = launch_costs(s);
    if (!cost) return moec_error((moec_diag *)&s->pipe.fe.diag, "out of memory");
    class_sum cls[RT_KCLASS_COUNT] = {{0}}, all = {0};
    sum_classes(s, cost, cls, &all);
    double mean_s = 0;
    for (int k = 0; k < tm->steps; k++) mean_s += tm->step_s[k] / tm->steps;
    double med = median(tm->step_s, tm->steps);
    printf("moec bench: %s, B %" PRId64 " x T %" PRId64 " (%" PRId64 " tokens a step), %d threads\n", a->m.model, in->b,
           in->t, in->b * in->t, rt_pool_threads(s->pool));
    print_compile(s);
    print_program(s);
    printf("step: median %.4f s of %d (min %.4f, max %.4f; warm-up %.4f), %.0f tokens/s, %.2f GFLOP/s; "
           "loss %.4f -> %.4f\n", med, tm->steps, tm->step_s[0], tm->step_s[tm->steps - 1], tm->warmup_s,
           (double)(in->b * in->t) / med, all.flops / med * 1e-9, tm->loss_first, tm->loss_last);
    print_table(cls, &all, tm, mean_s);
    print_top(s, cost, (int)a->top, tm->steps, mean_s);
    if (a->json) print_json(s, a, in, cls, &all, med);
    free(cost);
    return 0;
}

/* ---- the command ---- */

/* Parameters from the train seed's initialisation, then the runs. 0 or -1 (reported). */
static int bench(rt_cpu_step *s, const bench_args *a)
{
    const fe_model *m = &s->pipe.fe.model;
    moec_diag *d = &s->pipe.fe.diag;
    inputs in = { .b = s->pipe.opt.batch ? s->pipe.opt.batch : m->train.batch,
                  .t = s->pipe.opt.seq ? s->pipe.opt.seq : m->train.seq, .vocab = m->vocab };
    rt_weights w = {0};
    timing tm = { .steps = (int)a->steps };
    int rc = rt_weights_alloc(&w, m, d);
    if (rc == 0) {
        rt_weights_init(&w, (uint64_t)m->train.seed);
        rc = rt_cpu_step_set_params(s, &w);
    }
    in.tokens = malloc(sizeof(double) * (size_t)(in.b * in.t));
    in.targets = malloc(sizeof(double) * (size_t)(in.b * in.t));
    in.domain = malloc(sizeof(double) * (size_t)in.b);
    tm.step_s = malloc(sizeof(double) * (size_t)tm.steps);
    if (rc == 0 && (!in.tokens || !in.targets || !in.domain || !tm.step_s)) rc = moec_error(d, "out of memory");
    if (rc == 0) rc = run_steps(s, &in, &tm);
    if (rc == 0) rc = report(s, a, &in, &tm);
    free(in.tokens);
    free(in.targets);
    free(in.domain);
    free(tm.step_s);
    rt_weights_free(&w);
    return rc;
}

int rt_cmd_bench(int argc, char **argv)
{
    bench_args a = {0};
    if (parse_args(argc, argv, &a) < 0) return usage(), 2;
    if (!a.cuda && !rt_cpu_step_available())
        return fprintf(stderr, "moec: bench needs the CPU backend, which this build lacks (no LLVM 14 at "
                               "configure time)\n"), 2;
    if (rt_cli_size_sets(&a.m, a.batch, a.seq) < 0) return 2;
    rt_pipeline_options opt = { .model = a.m.model, .sets = a.m.sets, .n_sets = a.m.n_sets,
                                .max_errors = a.m.max_errors, .batch = (int64_t)a.batch, .seq = (int64_t)a.seq,
                                .no_fuse = a.no_fuse, .step = RT_STEP_TRAIN, .moe = a.moe };
    if (a.cuda) return rt_cuda_bench(&opt, (int)a.steps, TOKEN_SEED, a.json);
    rt_cpu_step_options co = { .threads = (int)a.threads, .no_cache = a.no_cache };
    rt_cpu_step s;
    int status = rt_cpu_step_build(&s, &opt, &co) == 0 && bench(&s, &a) == 0 ? 0 : 1;
    rt_cpu_step_free(&s);
    fflush(stdout);
    return status;
}
