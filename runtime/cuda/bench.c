/* runtime/cuda/bench.c -- `moec bench --backend cuda` (runtime/cuda/bench.h). */
#include "runtime/cuda/bench.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ir/philox.h"
#include "runtime/cuda/exec.h"
#include "runtime/launch_cost.h"
#include "runtime/weights/weights.h"

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* One step's inputs, as the CPU bench draws them (runtime/cmd_bench.c):
 * B sequences of T+1 Philox tokens (inputs, then the next ones as targets),
 * sequence b of domain b, the step index. */
typedef struct inputs {
    int64_t b, t, vocab;
    int32_t *tokens, *targets, *domain;
} inputs;

/* Writes the inputs of step `step` to the named buffers the program has. */
static int set_inputs(rt_cuda_exec *ex, const inputs *in, uint64_t seed, uint64_t step)
{
    for (int64_t q = 0; q < in->b; q++) {
        for (int64_t i = 0; i <= in->t; i++) {
            double u = ir_philox_uniform(seed, step, 0, (uint64_t)(q * (in->t + 1) + i));
            int32_t tok = (int32_t)floor(u * (double)in->vocab);
            if (i < in->t) in->tokens[q * in->t + i] = tok;
            if (i > 0) in->targets[q * in->t + i - 1] = tok;
        }
        in->domain[q] = (int32_t)q;
    }
    float st = (float)step;
    int b, rc = 0;
    int64_t n = in->b * in->t;
    if ((b = rt_cuda_exec_find(ex, "tokens")) >= 0) rc |= rt_cuda_exec_write(ex, b, in->tokens, n);
    if ((b = rt_cuda_exec_find(ex, "targets")) >= 0) rc |= rt_cuda_exec_write(ex, b, in->targets, n);
    if ((b = rt_cuda_exec_find(ex, "domain")) >= 0) rc |= rt_cuda_exec_write(ex, b, in->domain, in->b);
    if ((b = rt_cuda_exec_find(ex, "step")) >= 0) rc |= rt_cuda_exec_write(ex, b, &st, 1);
    return rc ? -1 : 0;
}

/* The initial weights of the train seed, uploaded by parameter name. */
static int set_params(rt_cuda_exec *ex, const fe_model *m, moec_diag *d)
{
    rt_weights w = {0};
    int rc = rt_weights_alloc(&w, m, d);
    if (rc == 0) rt_weights_init(&w, (uint64_t)m->train.seed);
    for (int i = 0; rc == 0 && i < w.n; i++) {
        int b = rt_cuda_exec_find(ex, m->params[i].name);
        if (b >= 0) rc = rt_cuda_exec_write(ex, b, w.data[i], w.numel[i]);
    }
    rt_weights_free(&w);
    return rc;
}

/* Warm-up and timed steps; the loss of the first and the last. */
static int run(rt_cuda_exec *ex, inputs *in, uint64_t seed, double *step_s, int steps, double *warmup, float *loss)
{
    int lb = rt_cuda_exec_find(ex, "loss");
    for (int k = 0; k <= steps; k++) {
        if (set_inputs(ex, in, seed, (uint64_t)k) < 0) return -1;
        double t0 = seconds();
        if (rt_cuda_exec_run(ex) < 0) return -1;
        double dt = seconds() - t0;
        if (k == 0) *warmup = dt;
        else step_s[k - 1] = dt;
        if (lb >= 0 && (k == 0 || k == steps) && rt_cuda_exec_read(ex, lb, &loss[k ? 1 : 0], 1) < 0) return -1;
    }
    return 0;
}

int rt_cuda_bench(const rt_pipeline_options *opt, int steps, uint64_t token_seed, bool json)
{
    moec_diag d;
    moec_diag_init(&d, opt->errors ? opt->errors : stderr, 5);
    rt_device *dev = rt_cuda_device_open(0, NULL, &d);
    moec_diag_free(&d);
    if (!dev) return 2;
    int rc = rt_cuda_bench_on(dev, opt, steps, token_seed, json, stdout);
    rt_device_close(dev);
    fflush(stdout);
    return rc;
}

/* FLOPs of one step: every launch's (runtime/launch_cost.h). */
static double step_flops(const rt_pipeline *pipe)
{
    rt_cost_context cc = { &pipe->kernels, &pipe->graph, pipe->step.fwd.moe, pipe->step.fwd.n_moe };
    double flops = 0;
    for (int i = 0; i < pipe->kernels.n_launches; i++) flops += rt_launch_cost_of(&cc, i).flops;
    return flops;
}

int rt_cuda_bench_on(rt_device *dev, const rt_pipeline_options *opt, int steps, uint64_t token_seed, bool json,
                     FILE *out)
{
    rt_pipeline pipe;
    rt_pipeline_init(&pipe, opt);
    int n;
    const rt_pass *t = rt_passes(&n);
    rt_pipeline_request req = { .last = n - 1, .stage = -1, .out = out };
    double t0 = seconds();
    if (rt_pipeline_run(&pipe, t, n, &req) < 0) {
        rt_pipeline_report(opt->errors ? opt->errors : stderr, &pipe, t);
        rt_pipeline_free(&pipe);
        return 1;
    }
    moec_diag *sink = &pipe.fe.diag;
    const fe_model *m = &pipe.fe.model;
    double t1 = seconds();
    rt_cuda_exec *ex = rt_cuda_exec_new(&pipe.kernels, dev, sink);
    double t2 = seconds();
    inputs in = { .b = opt->batch ? opt->batch : m->train.batch, .t = opt->seq ? opt->seq : m->train.seq, .vocab = m->vocab };
    in.tokens = malloc(sizeof *in.tokens * (size_t)(in.b * in.t));
    in.targets = malloc(sizeof *in.targets * (size_t)(in.b * in.t));
    in.domain = malloc(sizeof *in.domain * (size_t)in.b);
    double *step_s = malloc(sizeof *step_s * (size_t)steps), warmup = 0;
    float loss[2] = { NAN, NAN };
    int rc = ex ? 0 : -1;
    if (rc == 0 && (!in.tokens || !in.targets || !in.domain || !step_s)) rc = moec_error(sink, "out of memory");
    if (rc == 0) rc = set_params(ex, m, sink);
    if (rc == 0) rc = run(ex, &in, token_seed, step_s, steps, &warmup, loss);
    if (rc == 0) {
        int distinct;
        int loops = rt_cuda_exec_kernels(ex, &distinct);
        qsort(step_s, (size_t)steps, sizeof *step_s, cmp_double);
        double med = steps % 2 ? step_s[steps / 2] : 0.5 * (step_s[steps / 2 - 1] + step_s[steps / 2]);
        fprintf(out, "moec bench --backend cuda: %s, B %" PRId64 " x T %" PRId64 " (%" PRId64 " tokens a step), on %s\n",
               opt->model, in.b, in.t, in.b * in.t, dev->name);
        fprintf(out, "compile: pipeline %.2f s, code printed, compiled and loaded %.2f s; %d launches, "
               "%d loop kernels (%d distinct)\n", t1 - t0, t2 - t1, pipe.kernels.n_launches, loops, distinct);
        double flops = step_flops(&pipe);
        fprintf(out, "step: median %.4f s of %d (min %.4f, max %.4f; warm-up %.4f), %.0f tokens/s, %.2f GFLOP/s; "
                     "loss %.4f -> %.4f\n", med, steps, step_s[0], step_s[steps - 1], warmup, (double)(in.b * in.t) / med,
                flops / med * 1e-9, loss[0], loss[1]);
        if (json) {
            fprintf(out, "{\"step_s\":%.6g,\"tokens_per_s\":%.6g,\"compile_s\":%.6g,\"kernels\":%d,\"arena_bytes\":%" PRId64
                         ",\"gflops\":%.6g,\"device\":\"", med, (double)(in.b * in.t) / med, t2 - t0,
                    pipe.kernels.n_launches, pipe.kernels.arena_bytes, flops / med * 1e-9);
            for (const char *c = dev->name; *c; c++)
                if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) fputc(*c, out);
            fprintf(out, "\",\"loop_kernels\":%d,\"distinct_kernels\":%d,\"steps\":%d,\"batch\":%" PRId64
                         ",\"seq\":%" PRId64 ",\"flop_per_step\":%.6g}\n", loops, distinct, steps, in.b, in.t, flops);
        }
    }
    free(in.tokens);
    free(in.targets);
    free(in.domain);
    free(step_s);
    rt_cuda_exec_free(ex);
    rt_pipeline_free(&pipe);
    return rc == 0 ? 0 : 1;
}
