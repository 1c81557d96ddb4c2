/* runtime/sample/generate.h -- generating tokens with a model's compiled
 * forward step (runtime/cpu_step.h, evaluation semantics, batch 1, a fixed
 * window of T positions, the step keeping "logits" [T, V]). No KV cache:
 * every new token runs the whole window again. The window holds the last T
 * tokens of prompt + generation from position 0; the positions after them
 * are padding (token 0), which causal attention keeps out of the logits
 * read (the last real position's row). Once prompt + generation is longer
 * than T, the window slides (the oldest tokens drop out), as GPT-2's own
 * sampling code does. doc/sampling.md. No printing: tokens go to a callback,
 * errors to the sink. */
#ifndef MOEC_RUNTIME_SAMPLE_GENERATE_H
#define MOEC_RUNTIME_SAMPLE_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu_step.h"
#include "runtime/sample/sampler.h"

/* What the caller hears of a generation. Either may be NULL. */
typedef struct rt_gen_callbacks {
    void *ctx;
    /* Each generated token, as soon as it is drawn. 0, or -1 to stop with an error. */
    int (*token)(void *ctx, uint32_t id);
    /* After each forward run: new[t] (t < T) is 1 at the positions that hold
     * a token no earlier run showed (the prompt's on the first run, the token
     * drawn last on the later ones): counting the step's per-position values
     * there counts every token of prompt + generation once. 0, or -1 to stop. */
    int (*forward)(void *ctx, const rt_cpu_step *s, const uint8_t *new_pos, int64_t t);
} rt_gen_callbacks;

typedef struct rt_gen_options {
    const uint32_t *prompt;    /* the prompt's token ids, n_prompt >= 1 of them, each < the model's vocab */
    int64_t n_prompt;
    int64_t max_tokens;        /* tokens to generate at most (>= 0) */
    int64_t stop;              /* a token that ends the generation (kept as its last), or -1 */
    bool count_last;           /* one more forward run at the end, so `forward` sees the last token too */
} rt_gen_options;

typedef struct rt_gen_result {
    int64_t generated;         /* tokens drawn */
    bool stopped;              /* the generation drew opts.stop */
    bool slid;                 /* prompt + generation outgrew the window */
    int64_t runs;              /* forward runs */
    double seconds;            /* wall time of the runs that drew tokens and of drawing them */
} rt_gen_result;

/* Runs the generation on step s (compiled for B = 1, T = the window, with
 * "logits" [T, V_model]), drawing from the first smp->vocab logits of each
 * row (smp->vocab <= V_model: ids the tokenizer cannot spell are never drawn).
 * The step's parameters must be set. Returns 0, or -1 after reporting to
 * diag (a step without "logits", a failed run, a non-finite logit, a callback's -1). */
int rt_generate(rt_cpu_step *s, rt_sampler *smp, const rt_gen_options *o, const rt_gen_callbacks *cb,
                rt_gen_result *out, moec_diag *diag);

#endif
