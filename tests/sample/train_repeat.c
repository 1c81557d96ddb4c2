/* tests/sample/train_repeat.c -- a test helper for tests/sample/sample.sh:
 * trains a model on one token pattern repeated without end, with the
 * compiled training step (runtime/cpu_step.h, RT_STEP_TRAIN: loss,
 * gradients, clipping, AdamW in place), and writes the weights.
 *   train_repeat MODEL.moe OUT.safetensors STEPS IDS [k=v]...
 * IDS is the pattern's token ids, comma-separated; each batch has B = 4
 * sequences of T = 32 tokens starting at different offsets of the cycle. The
 * weights start from the model's init (its train seed). Prints the first and
 * last loss; exit 0, or 1 with the reason. It stands in for `moec train`
 * (a loop with data files, checkpoints and metrics) where a test needs only
 * weights that learned a pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli_args.h"
#include "runtime/cpu_step.h"
#include "runtime/weights/weights.h"

enum { B = 4, T = 32, MAX_IDS = 4096 };

static int parse_ids(const char *text, double *ids, int *n)
{
    *n = 0;
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || *n == MAX_IDS) return -1;
        ids[(*n)++] = (double)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return *n > 0 ? 0 : -1;
}

/* Reads every parameter back from the step into w. */
static int read_params(const rt_cpu_step *s, rt_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        int b = rt_cpu_step_find(s, s->pipe.fe.model.params[i].name);
        if (b < 0 || rt_exec_read(s->exec, b, w->data[i], w->numel[i]) < 0) return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static double ids[MAX_IDS];
    int n_ids;
    char *end;
    long steps = argc > 4 ? strtol(argv[3], &end, 10) : 0;
    if (argc < 5 || steps < 1 || *end || parse_ids(argv[4], ids, &n_ids) < 0) {
        fprintf(stderr, "usage: train_repeat MODEL.moe OUT.safetensors STEPS IDS [k=v]...\n");
        return 2;
    }
    rt_model_args m = { .model = argv[1] };
    for (int i = 5; i < argc && m.n_sets < RT_MAX_SETS - 2; i++)
        if (rt_cli_parse_set(argv[i], &m.sets[m.n_sets++]) < 0) return 2;
    if (rt_cli_size_sets(&m, B, T) < 0) return 2;
    rt_pipeline_options opt = { .model = m.model, .sets = m.sets, .n_sets = m.n_sets, .batch = B, .seq = T,
                                .no_warnings = true, .step = RT_STEP_TRAIN };
    rt_cpu_step_options co = { 0 };
    rt_cpu_step s;
    rt_weights w = { 0 };
    double tokens[B * T], targets[B * T], domain[B] = { 0 }, first = 0, loss = 0;
    int rc = rt_cpu_step_build(&s, &opt, &co) == 0 && rt_weights_alloc(&w, &s.pipe.fe.model, &s.pipe.fe.diag) == 0 ? 0 : 1;
    if (rc == 0) {
        rt_weights_init(&w, (uint64_t)s.pipe.fe.model.train.seed);
        rc = rt_cpu_step_set_params(&s, &w) == 0 ? 0 : 1;
    }
    for (long step = 0; rc == 0 && step < steps; step++) {
        for (int b = 0; b < B; b++) {
            long start = (step * B + b) * 7;
            for (int t = 0; t < T; t++) {
                tokens[b * T + t] = ids[(start + t) % n_ids];
                targets[b * T + t] = ids[(start + t + 1) % n_ids];
            }
        }
        double st = (double)step;
        rc = rt_cpu_step_set(&s, "tokens", tokens, B * T) == 0 && rt_cpu_step_set(&s, "targets", targets, B * T) == 0 &&
                     rt_cpu_step_set(&s, "domain", domain, B) == 0 && rt_cpu_step_set(&s, "step", &st, 1) == 0 &&
                     rt_cpu_step_run(&s) == 0 && rt_cpu_step_get(&s, "loss", &loss, 1) == 0
                 ? 0
                 : 1;
        if (step == 0) first = loss;
    }
    if (rc == 0 && read_params(&s, &w) < 0) rc = 1, fprintf(stderr, "train_repeat: cannot read the parameters back\n");
    if (rc == 0) {
        rt_meta meta[1] = { { "moec_kind", "test weights: a repeated pattern" } };
        rc = rt_weights_save(&w, argv[2], meta, 1, &s.pipe.fe.diag) == 0 ? 0 : 1;
    }
    if (rc == 0) printf("train_repeat: %ld steps, loss %.4f -> %.4f\n", steps, first, loss);
    rt_weights_free(&w);
    rt_cpu_step_free(&s);
    return rc;
}
