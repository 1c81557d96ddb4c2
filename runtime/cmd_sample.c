/* runtime/cmd_sample.c -- `moec sample`: text from a trained model.
 *   moec sample RUN [--weights W.safetensors] --prompt TEXT [--max-tokens N]
 *               [--greedy | --temperature T --top-k K --top-p P] [--seed S] [--vocab DIR]
 *   moec sample MODEL.moe --weights W.safetensors [--set k=v]... --prompt TEXT ...
 * RUN is a `moec train` directory: its config.json holds the model file's
 * text and --set values, and final-model.safetensors is the default weights.
 * The prompt is encoded with the GPT-2 tokenizer, the model's forward step is
 * compiled for the CPU (evaluation semantics, batch 1, a window of T
 * positions, keeping the logits and, for MoE models, the routing), and the
 * continuation is drawn token by token (runtime/sample/) and printed as it
 * comes. Then, for MoE models, each layer's expert use over prompt and
 * generation, and the generation speed. Exit 0 done, 1 bad input (run, model,
 * weights, vocabulary, prompt), 2 usage. doc/sampling.md. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/cpu_step.h"
#include "runtime/data/bpe.h"
#include "runtime/data/vocab.h"
#include "runtime/sample/expert_use.h"
#include "runtime/sample/generate.h"
#include "runtime/sample/sampler.h"
#include "runtime/weights/weights.h"

enum {
    DEFAULT_MAX_TOKENS = 64,
    MAX_MAX_TOKENS = 1000000,
    WINDOW_ROUND = 16,        /* the window is rounded up to this (capped at ctx) so nearby
                                 prompt lengths share compiled kernels in the cache */
};

typedef struct sample_args {
    rt_model_args m;          /* RUN or MODEL.moe (m.model), --set, --max-errors */
    const char *weights, *prompt, *vocab;
    uint64_t max_tokens, seed, top_k;
    double temperature, top_p;
    bool greedy, has_temperature, has_top_k, has_top_p;
} sample_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec sample RUN [--weights W.safetensors] --prompt TEXT [--max-tokens N]\n"
                    "                   [--greedy | --temperature T --top-k K --top-p P] [--seed S] [--vocab DIR]\n"
                    "       moec sample MODEL.moe --weights W.safetensors [--set k=v]... --prompt TEXT ...\n");
}

/* rt_cli_option_fn: sample's own options. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    sample_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--weights"))) return a->weights = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--prompt"))) return a->prompt = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--vocab"))) return a->vocab = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--max-tokens"))) return rt_cli_parse_u64("--max-tokens", v, &a->max_tokens);
    if ((v = rt_cli_option_value(argc, argv, i, "--seed"))) return rt_cli_parse_u64("--seed", v, &a->seed);
    if ((v = rt_cli_option_value(argc, argv, i, "--top-k")))
        return a->has_top_k = true, rt_cli_parse_u64("--top-k", v, &a->top_k);
    if ((v = rt_cli_option_value(argc, argv, i, "--temperature")))
        return a->has_temperature = true, rt_cli_parse_double("--temperature", v, &a->temperature);
    if ((v = rt_cli_option_value(argc, argv, i, "--top-p")))
        return a->has_top_p = true, rt_cli_parse_double("--top-p", v, &a->top_p);
    if (!strcmp(argv[*i], "--greedy")) return a->greedy = true, 0;
    return 1;
}

/* The command line, checked as far as it can be without reading a file.
 * 0, or -1 after printing why (a usage error). */
static int parse_args(int argc, char **argv, sample_args *a, rt_sample_rule *rule)
{
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (!a->m.model) return fprintf(stderr, "moec: sample needs a run directory (moec train --out) or a model file\n"), -1;
    if (!a->prompt) return fprintf(stderr, "moec: sample needs --prompt TEXT\n"), -1;
    if (!*a->prompt) return fprintf(stderr, "moec: --prompt is empty: give the text to continue\n"), -1;
    if (a->max_tokens < 1 || a->max_tokens > MAX_MAX_TOKENS)
        return fprintf(stderr, "moec: --max-tokens must be 1 .. %d, got %llu\n", MAX_MAX_TOKENS,
                       (unsigned long long)a->max_tokens), -1;
    if (a->greedy && (a->has_temperature || a->has_top_k || a->has_top_p))
        return fprintf(stderr, "moec: --greedy takes the most likely token: it goes without --temperature, --top-k "
                               "and --top-p\n"), -1;
    if (a->top_k > INT32_MAX) return fprintf(stderr, "moec: --top-k %llu is larger than any vocabulary\n", (unsigned long long)a->top_k), -1;
    *rule = rt_sample_rule_default();
    rule->greedy = a->greedy;
    if (a->has_temperature) rule->temperature = a->temperature;
    if (a->has_top_k) rule->top_k = (int64_t)a->top_k;
    if (a->has_top_p) rule->top_p = a->top_p;
    const char *why = rt_sample_rule_invalid(rule);
    if (why) return fprintf(stderr, "moec: %s\n", why), -1;
    return 0;
}

/* ---- the model: a run directory's config.json, or a model file ---- */

typedef struct model_source {
    bool is_run;
    char *config_path;        /* RUN/config.json */
    char *weights_path;       /* --weights, or RUN/final-model.safetensors */
    json_t *config;           /* the parsed config.json (owns `text`) */
    const char *text;         /* the model file's text (runs), or NULL: read m.model */
    const char *name;         /* what messages call the model */
    int64_t seq;              /* the run's trained sequence length (config.json "seq"), or 0 */
    char **set_text;          /* [n_set_text] the run's --set values, split in place into m.sets */
    int n_set_text;
} model_source;

static void source_free(model_source *s)
{
    free(s->config_path);
    free(s->weights_path);
    json_decref(s->config);
    for (int i = 0; i < s->n_set_text; i++) free(s->set_text[i]);
    free(s->set_text);
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir);
    char *p = malloc(n + strlen(file) + 2);
    if (p) sprintf(p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", file);
    return p;
}

/* Reads RUN/config.json (doc/sampling.md, "Runs"): model_source, model_file
 * and sets. Returns 0, 1 after printing why (bad input), 2 (usage). */
static int read_run(sample_args *a, model_source *s)
{
    const char *run = a->m.model;
    if (a->m.n_sets > 0) {
        fprintf(stderr, "moec: --set goes with a model file; %s is a run, whose settings are in its config.json\n", run);
        return 2;
    }
    s->config_path = join(run, "config.json");
    if (!s->config_path) return fprintf(stderr, "moec: out of memory\n"), 1;
    struct stat st;
    if (stat(s->config_path, &st) != 0) {
        fprintf(stderr, "moec: %s has no config.json: not a run directory of moec train\n", run);
        return 1;
    }
    json_error_t err;
    s->config = json_load_file(s->config_path, 0, &err);
    if (!s->config || !json_is_object(s->config)) {
        fprintf(stderr, "moec: %s: not a JSON object (%s, line %d)\n", s->config_path, s->config ? "" : err.text,
                s->config ? 0 : err.line);
        return 1;
    }
    s->text = json_string_value(json_object_get(s->config, "model_source"));
    if (!s->text || !*s->text) {
        fprintf(stderr, "moec: %s has no \"model_source\" (the model file's text): was it written by moec train?\n",
                s->config_path);
        return 1;
    }
    const char *file = json_string_value(json_object_get(s->config, "model_file"));
    s->name = file && *file ? file : s->config_path;
    json_t *seq = json_object_get(s->config, "seq");
    if (json_is_integer(seq) && json_integer_value(seq) > 0) s->seq = json_integer_value(seq);
    json_t *sets = json_object_get(s->config, "sets");
    if (sets && !json_is_array(sets)) {
        fprintf(stderr, "moec: %s: \"sets\" is not a list of \"name=value\" strings\n", s->config_path);
        return 1;
    }
    size_t n = json_array_size(sets);
    if (n > RT_MAX_SETS - 2) {
        fprintf(stderr, "moec: %s: more than %d \"sets\"\n", s->config_path, RT_MAX_SETS - 2);
        return 1;
    }
    s->set_text = calloc(n + 1, sizeof *s->set_text);
    if (!s->set_text) return fprintf(stderr, "moec: out of memory\n"), 1;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(sets, i));
        if (!v || !(s->set_text[s->n_set_text] = strdup(v))) {
            fprintf(stderr, "moec: %s: \"sets\" entry %zu is not a \"name=value\" string\n", s->config_path, i);
            return 1;
        }
        if (rt_cli_parse_set(s->set_text[s->n_set_text++], &a->m.sets[a->m.n_sets++]) < 0) {
            fprintf(stderr, "moec: (in %s)\n", s->config_path);
            return 1;
        }
    }
    if (!a->weights) {
        s->weights_path = join(run, "final-model.safetensors");
        if (!s->weights_path) return fprintf(stderr, "moec: out of memory\n"), 1;
        if (stat(s->weights_path, &st) != 0) {
            fprintf(stderr, "moec: %s has no final-model.safetensors (the run has not finished?); name other weights "
                            "with --weights, e.g. its best-model.safetensors\n", run);
            return 1;
        }
    }
    return 0;
}

/* Finds what m.model names. Returns 0, 1 (bad input) or 2 (usage). */
static int find_source(sample_args *a, model_source *s)
{
    struct stat st;
    if (stat(a->m.model, &st) != 0) {
        fprintf(stderr, "moec: %s: %s (a run directory or a model file)\n", a->m.model, strerror(errno));
        return 1;
    }
    s->is_run = S_ISDIR(st.st_mode);
    if (s->is_run) {
        int rc = read_run(a, s);
        if (rc) return rc;
    } else {
        s->name = a->m.model;
        if (!a->weights) {
            fprintf(stderr, "moec: sample MODEL.moe needs --weights W.safetensors (a run directory has its own)\n");
            return 2;
        }
    }
    if (a->weights && !(s->weights_path = strdup(a->weights))) return fprintf(stderr, "moec: out of memory\n"), 1;
    return 0;
}

/* Parses and elaborates the model with the sets so far. 0 or 1. */
static int elaborate(const sample_args *a, const model_source *s, rt_frontend *fe)
{
    if (!s->text) return rt_frontend_elaborate(fe, a->m.model, a->m.sets, a->m.n_sets, a->m.max_errors);
    int rc = rt_frontend_parse_text(fe, s->name, s->text, a->m.max_errors, false, NULL);
    return rc ? rc : rt_frontend_finish(fe, a->m.sets, a->m.n_sets);
}

/* ---- printing as it goes ---- */

typedef struct printer {
    const rt_vocab *v;
    int64_t stop;             /* the end-of-text token: not printed */
    bool newline;             /* the text printed so far ends with a newline */
    rt_expert_use *use;       /* NULL for dense models */
} printer;

static void print_bytes(printer *p, const void *bytes, size_t n)
{
    if (n == 0) return;
    fwrite(bytes, 1, n, stdout);
    p->newline = ((const char *)bytes)[n - 1] == '\n';
}

static int on_token(void *ctx, uint32_t id)
{
    printer *p = ctx;
    if ((int64_t)id == p->stop || id >= p->v->n_ids) return 0;
    size_t len;
    const unsigned char *b = rt_vocab_token(p->v, id, &len);
    print_bytes(p, b, len);
    fflush(stdout);
    return 0;
}

static int on_forward(void *ctx, const rt_cpu_step *s, const uint8_t *new_pos, int64_t t)
{
    printer *p = ctx;
    if (p->use) rt_expert_use_add(p->use, s, new_pos, t);
    return 0;
}

/* Each MoE layer's line: E0=..% per expert, their entropy / ln E, and the
 * router probabilities' distribution entropy / ln E and mean entropy. */
static void print_use(const rt_expert_use *u, int64_t n_prompt, int64_t generated)
{
    rt_use_summary *sum = malloc(sizeof *sum);
    if (!sum) return;
    printf("\nexpert use over %lld tokens (%lld prompt, %lld generated):\n", (long long)(n_prompt + generated),
           (long long)n_prompt, (long long)generated);
    for (int i = 0; i < u->n; i++) {
        const rt_use_layer *y = &u->layers[i];
        rt_expert_use_summary(u, i, sum);
        printf("  %s ", y->scope);
        for (int64_t e = 0; e < y->experts; e++) printf(" E%lld=%.1f%%", (long long)e, 100.0 * sum->frac[e]);
        printf("  entropy/lnE %.3f", sum->use_entropy_norm);
        if (sum->routing_entropy >= 0)
            printf("  router probs: entropy/lnE %.3f, per token %.3f nats", sum->dist_entropy_norm, sum->routing_entropy);
        if (y->keep >= 0) printf("  dropped %.1f%%", 100.0 * sum->dropped);
        printf("\n");
    }
    free(sum);
}

/* ---- the command ---- */

/* Tokens of the prompt, each checked against the model's vocabulary. 0 or 1. */
static int encode_prompt(const char *prompt, const rt_vocab *v, const fe_model *m, rt_tokens *out, moec_diag *diag)
{
    rt_bpe bpe;
    if (rt_bpe_init(&bpe, v, diag) < 0) return 1;
    int rc = rt_bpe_encode(&bpe, prompt, strlen(prompt), out, diag) < 0 ? 1 : 0;
    rt_bpe_free(&bpe);
    for (size_t i = 0; rc == 0 && i < out->n; i++) {
        if (out->ids[i] < (uint64_t)m->vocab) continue;
        size_t len;
        const unsigned char *b = rt_vocab_token(v, out->ids[i], &len);
        fprintf(stderr, "moec: the prompt's token %zu '%.*s' is id %u, outside the model's vocabulary of %lld tokens\n",
                i, (int)len, (const char *)b, out->ids[i], (long long)m->vocab);
        rc = 1;
    }
    if (rc == 0 && out->n == 0) fprintf(stderr, "moec: the prompt encodes to no tokens\n"), rc = 1;
    return rc;
}

/* The window T: prompt + generation rounded up, at most the sequence length
 * the model was trained with (a run's config.json "seq", else the train
 * setting seq) and its context: positions past those were never trained. */
static int64_t window(const fe_model *m, int64_t trained, int64_t need)
{
    int64_t limit = trained > 0 ? trained : m->train.seq;
    if (m->ctx > 0 && m->ctx < limit) limit = m->ctx;
    int64_t t = (need + WINDOW_ROUND - 1) / WINDOW_ROUND * WINDOW_ROUND;
    return t < limit ? t : limit;
}

/* Compiles the step, generates, prints. The weights, tokens and vocabulary are ready. */
static int generate(sample_args *a, const model_source *src, const fe_model *m, const rt_weights *w,
                    const rt_vocab *v, const rt_tokens *prompt, const rt_sample_rule *rule)
{
    int64_t n_prompt = (int64_t)prompt->n, t = window(m, src->seq, n_prompt + (int64_t)a->max_tokens);
    if (n_prompt > t)
        fprintf(stderr, "moec: note: the prompt is %lld tokens, longer than the %lld the model was trained on: it "
                        "sees the last %lld\n", (long long)n_prompt, (long long)t, (long long)t);
    if (rt_cli_size_sets(&a->m, 1, (uint64_t)t) < 0) return 2;
    bool moe = m->n_routers > 0;
    rt_pipeline_options opt = { .model = src->name, .model_text = src->text, .sets = a->m.sets, .n_sets = a->m.n_sets,
                                .max_errors = a->m.max_errors, .batch = 1, .seq = t, .no_warnings = true,
                                .step = RT_STEP_EVAL, .keep_logits = true, .keep_stats = moe };
    rt_cpu_step_options co = { 0 };
    rt_cpu_step s;
    rt_expert_use use = { 0 };
    rt_sampler smp = { 0 };
    int64_t stop = v->eos != RT_VOCAB_NONE && v->eos < (uint64_t)m->vocab ? (int64_t)v->eos : -1;
    int64_t draw_vocab = m->vocab < (int64_t)v->n_ids ? m->vocab : (int64_t)v->n_ids;
    int status = rt_cpu_step_build(&s, &opt, &co) == 0 && rt_cpu_step_set_params(&s, w) == 0 ? 0 : 1;
    moec_diag *diag = &s.pipe.fe.diag;
    diag->prefix = "moec: ";
    if (status == 0 && moe && rt_expert_use_init(&use, &s, diag) < 0) status = 1;
    if (status == 0 && rt_sampler_init(&smp, rule, a->seed, draw_vocab, diag) < 0) status = 1;
    rt_gen_result res = { 0 };
    if (status == 0) {
        printer p = { .v = v, .stop = stop, .use = moe ? &use : NULL };
        print_bytes(&p, a->prompt, strlen(a->prompt));
        fflush(stdout);
        rt_gen_options go = { .prompt = prompt->ids, .n_prompt = n_prompt, .max_tokens = (int64_t)a->max_tokens,
                              .stop = stop, .count_last = moe };
        rt_gen_callbacks cb = { .ctx = &p, .token = on_token, .forward = on_forward };
        status = rt_generate(&s, &smp, &go, &cb, &res, diag) < 0 ? 1 : 0;
        if (!p.newline) printf("\n");
        if (status == 0 && use.n > 0) print_use(&use, n_prompt < t ? n_prompt : t, res.generated);
        if (status == 0) {
            printf("\n%lld tokens in %.3f s: %.1f tokens/s (window %lld, compile %.2f s%s)\n", (long long)res.generated,
                   res.seconds, res.seconds > 0 ? (double)res.generated / res.seconds : 0.0, (long long)t,
                   s.info.pipeline_s + s.info.codegen_s, s.info.cache_hit ? ", kernels from the cache" : "");
            if (res.stopped) fprintf(stderr, "moec: note: the model ended the text (<|endoftext|>)\n");
        }
    }
    fflush(stdout);
    rt_sampler_free(&smp);
    rt_expert_use_free(&use);
    rt_cpu_step_free(&s);
    return status;
}

int rt_cmd_sample(int argc, char **argv)
{
    sample_args a = { .max_tokens = DEFAULT_MAX_TOKENS };
    rt_sample_rule rule;
    if (parse_args(argc, argv, &a, &rule) < 0) return usage(), 2;
    if (!rt_cpu_step_available()) {
        fprintf(stderr, "moec: sample runs the compiled forward step: the CPU backend is not built (configure found no LLVM 14)\n");
        return 2;
    }
    model_source src = { 0 };
    int status = find_source(&a, &src);
    if (status == 2) usage();
    rt_frontend fe;
    bool have_fe = false;
    rt_weights w = { 0 };
    rt_vocab v;
    bool have_vocab = false;
    rt_tokens prompt = { 0 };
    if (status == 0) {
        have_fe = true;
        status = elaborate(&a, &src, &fe);
    }
    if (status == 0) {
        fe.diag.prefix = "moec: ";
        if (rt_weights_alloc(&w, &fe.model, &fe.diag) < 0 || rt_weights_load(&w, src.weights_path, NULL, &fe.diag) < 0) {
            moec_diag_finish(&fe.diag);
            status = 1;
        }
    }
    if (status == 0) {
        status = rt_cmd_load_vocab(&v, a.vocab, &fe.diag);
        have_vocab = status == 0;
        fe.diag.prefix = "moec: ";
    }
    if (status == 0) status = encode_prompt(a.prompt, &v, &fe.model, &prompt, &fe.diag);
    if (status == 0) status = generate(&a, &src, &fe.model, &w, &v, &prompt, &rule);
    rt_tokens_free(&prompt);
    if (have_vocab) rt_vocab_free(&v);
    rt_weights_free(&w);
    if (have_fe) rt_frontend_free(&fe);
    source_free(&src);
    return status;
}
