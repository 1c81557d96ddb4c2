/* runtime/sample/generate.c -- the generation loop (runtime/sample/generate.h). */
#include "runtime/sample/generate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The growing token list and the step's input arrays. */
typedef struct gen_state {
    uint32_t *seq;             /* prompt + generated, [n_prompt + max_tokens] */
    int64_t len;
    double *tokens, *targets;  /* [T] the window and its shifted copy */
    uint8_t *fresh;            /* [T] positions the callback counts */
} gen_state;

/* Fills the window with the last T tokens, runs the step; *at gets the
 * window position of the last real token. */
static int run_window(rt_cpu_step *s, gen_state *g, int64_t t, int64_t *at)
{
    int64_t start = g->len > t ? g->len - t : 0, w = g->len - start;
    for (int64_t i = 0; i < t; i++) {
        g->tokens[i] = i < w ? (double)g->seq[start + i] : 0.0;
        g->targets[i] = i + 1 < w ? (double)g->seq[start + i + 1] : 0.0;   /* read by the loss only */
    }
    double step = 0.0, domain = 0.0;
    *at = w - 1;
    return rt_cpu_step_set(s, "tokens", g->tokens, t) == 0 && rt_cpu_step_set(s, "targets", g->targets, t) == 0 &&
                   rt_cpu_step_set(s, "domain", &domain, 1) == 0 && rt_cpu_step_set(s, "step", &step, 1) == 0 &&
                   rt_cpu_step_run(s) == 0
               ? 0
               : -1;
}

int rt_generate(rt_cpu_step *s, rt_sampler *smp, const rt_gen_options *o, const rt_gen_callbacks *cb,
                rt_gen_result *out, moec_diag *diag)
{
    memset(out, 0, sizeof *out);
    int buf = rt_cpu_step_find(s, "logits");
    int64_t t = s->pipe.opt.seq;
    const ir_kbuf *kb = buf >= 0 ? &s->pipe.kernels.bufs[buf] : NULL;
    if (!kb || kb->dtype != IR_F32 || t < 1 || kb->numel % t != 0)
        return moec_error(diag, "the compiled step keeps no float32 \"logits\" [T, V] (was it built with keep_logits?)");
    int64_t v_model = kb->numel / t;
    if (smp->vocab > v_model)
        return moec_error(diag, "the sampler draws from %lld tokens but the model has %lld", (long long)smp->vocab,
                          (long long)v_model);
    if (o->n_prompt < 1 || o->max_tokens < 0) return moec_error(diag, "nothing to generate from: an empty prompt");
    gen_state g = { 0 };
    g.seq = malloc(sizeof *g.seq * (size_t)(o->n_prompt + o->max_tokens));
    g.tokens = malloc(sizeof *g.tokens * (size_t)t);
    g.targets = malloc(sizeof *g.targets * (size_t)t);
    g.fresh = calloc((size_t)t, 1);
    int rc = 0;
    if (!g.seq || !g.tokens || !g.targets || !g.fresh) rc = moec_error(diag, "out of memory for a window of %lld tokens", (long long)t);
    if (rc == 0) {
        memcpy(g.seq, o->prompt, sizeof *g.seq * (size_t)o->n_prompt);
        g.len = o->n_prompt;
        out->slid = g.len > t;
    }
    double t0 = now_s();
    /* Run r sees the prompt (r = 0) or the token drawn by run r-1; it draws
     * token r unless the generation is complete (the extra counting run). */
    for (int64_t r = 0; rc == 0; r++) {
        bool draw = r < o->max_tokens && !out->stopped;
        if (!draw && !(o->count_last && out->generated > 0 && r == out->generated)) break;
        int64_t at;
        if (run_window(s, &g, t, &at) < 0) {
            rc = -1;
            break;
        }
        out->runs++;
        if (cb && cb->forward) {
            memset(g.fresh, 0, (size_t)t);
            if (r == 0) memset(g.fresh, 1, (size_t)(at + 1));
            else g.fresh[at] = 1;
            if (cb->forward(cb->ctx, s, g.fresh, t) < 0) {
                rc = -1;
                break;
            }
        }
        if (!draw) break;
        const float *row = (const float *)rt_exec_data(s->exec, buf) + at * v_model;
        int64_t id = rt_sampler_pick(smp, row, (uint64_t)r, diag);
        if (id < 0) {
            rc = -1;
            break;
        }
        g.seq[g.len++] = (uint32_t)id;
        out->generated++;
        out->slid = out->slid || g.len > t;
        out->stopped = id == o->stop;
        out->seconds = now_s() - t0;
        if (cb && cb->token && cb->token(cb->ctx, (uint32_t)id) < 0) rc = -1;
    }
    free(g.seq);
    free(g.tokens);
    free(g.targets);
    free(g.fresh);
    return rc;
}
