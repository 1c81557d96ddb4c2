/* runtime/cmd_init.c -- `moec init`: a model's freshly initialised weights, as safetensors.
 *   moec init MODEL.moe [--set k=v]... --seed S -o W.safetensors
 *             [--upcycle DENSE.safetensors [--perturb P]] [--max-errors N]
 * Compiles the model file (front end), draws every parameter from its init
 * (runtime/weights), optionally upcycles a dense checkpoint into the experts,
 * and writes the file atomically. Exit 0 done, 1 bad input, 2 usage. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/weights/weights.h"

typedef struct init_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    const char *out;            /* -o */
    const char *upcycle;        /* --upcycle DENSE.safetensors, or NULL */
    bool has_seed;
    uint64_t seed;              /* --seed */
    double perturb;             /* --perturb, default 1e-3 */
    bool has_perturb;
} init_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec init MODEL.moe [--set k=v]... --seed S -o W.safetensors "
                    "[--upcycle DENSE.safetensors [--perturb P]]\n");
}

/* rt_cli_option_fn: init's own options. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    init_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--seed"))) {
        a->has_seed = true;
        return rt_cli_parse_u64("--seed", v, &a->seed);
    }
    if ((v = rt_cli_option_value(argc, argv, i, "-o")) || (v = rt_cli_option_value(argc, argv, i, "--output")))
        return a->out = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--upcycle"))) return a->upcycle = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--perturb"))) {
        a->has_perturb = true;
        return rt_cli_parse_double("--perturb", v, &a->perturb);
    }
    return 1;
}

static int parse_args(int argc, char **argv, init_args *a)
{
    memset(a, 0, sizeof *a);
    a->perturb = 1e-3;
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    const char *missing = !a->m.model ? "a model file" : !a->has_seed ? "--seed S" : !a->out ? "-o W.safetensors" : NULL;
    if (missing) {
        fprintf(stderr, "moec: init needs %s\n", missing);
        return -1;
    }
    if (a->has_perturb && !a->upcycle) {
        fprintf(stderr, "moec: --perturb only applies with --upcycle\n");
        return -1;
    }
    if (a->perturb < 0) {
        fprintf(stderr, "moec: --perturb must be >= 0\n");
        return -1;
    }
    return 0;
}

/* Fills w: init from the seed, or upcycle the dense file (which inits first). */
static int fill_weights(rt_weights *w, const init_args *a, moec_diag *diag)
{
    if (!a->upcycle) {
        rt_weights_init(w, a->seed);
        return 0;
    }
    rt_load_options opt = {.upcycle = true, .perturb = a->perturb, .seed = a->seed};
    return rt_weights_load(w, a->upcycle, &opt, diag);
}

/* Writes the file with metadata saying where it came from. */
static int save_weights(const rt_weights *w, const init_args *a, moec_diag *diag)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, a->seed);
    rt_meta meta[3] = {{"moec_model", w->model->name}, {"moec_seed", seed}, {"moec_upcycle", a->upcycle}};
    return rt_weights_save(w, a->out, meta, a->upcycle ? 3 : 2, diag);
}

int rt_cmd_init(int argc, char **argv)
{
    init_args a;
    if (parse_args(argc, argv, &a) < 0) {
        usage();
        return 2;
    }
    rt_frontend fe;
    int status = rt_frontend_elaborate(&fe, a.m.model, a.m.sets, a.m.n_sets, a.m.max_errors);
    rt_weights w = {0};
    fe.diag.prefix = "moec: ";
    if (status == 0 && (rt_weights_alloc(&w, &fe.model, &fe.diag) < 0 || fill_weights(&w, &a, &fe.diag) < 0 ||
                        save_weights(&w, &a, &fe.diag) < 0)) {
        moec_diag_finish(&fe.diag);
        status = 1;
    }
    if (status == 0)
        printf("moec: wrote %" PRId64 " parameters in %d tensors to %s\n", w.total, w.n, a.out);
    rt_weights_free(&w);
    rt_frontend_free(&fe);
    return status;
}
