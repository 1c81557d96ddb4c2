/* runtime/cli_args.c -- shared command-line pieces (cli_args.h).
 * Numbers are parsed with strtoull/strtod and must use the whole argument, so
 * `--seed 12abc` is an error rather than 12. */
#include "runtime/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rt_cli_option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc) return argv[++*i];
    return NULL;
}

/* --set and --max-errors: 0 taken, 1 not these, -1 malformed (printed). */
static int parse_model_option(int argc, char **argv, int *i, rt_model_args *m)
{
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--set"))) {
        if (m->n_sets == RT_MAX_SETS) {
            fprintf(stderr, "moec: more than %d --set options\n", RT_MAX_SETS);
            return -1;
        }
        return rt_cli_parse_set(v, &m->sets[m->n_sets++]);
    }
    if ((v = rt_cli_option_value(argc, argv, i, "--max-errors"))) {
        uint64_t n;
        if (rt_cli_parse_u64("--max-errors", v, &n) < 0) return -1;
        m->max_errors = n > 1000000 ? 1000000 : (int)n;
        return 0;
    }
    return 1;
}

int rt_cli_parse(int argc, char **argv, rt_model_args *m, rt_cli_option_fn option, void *ctx)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] != '\0') {
            int taken = parse_model_option(argc, argv, &i, m);
            if (taken == 1 && option) taken = option(argc, argv, &i, ctx);
            if (taken < 0) return -1;
            if (taken == 1) {
                fprintf(stderr, "moec: unknown or incomplete option '%s'\n", arg);
                return -1;
            }
        } else if (!m->model) {
            m->model = arg;
        } else {
            fprintf(stderr, "moec: one model file at a time ('%s' and '%s')\n", m->model, arg);
            return -1;
        }
    }
    return 0;
}

int rt_cli_size_sets(rt_model_args *m, uint64_t batch, uint64_t seq)
{
    const uint64_t size[2] = { batch, seq };
    static const char *const names[2] = { "batch", "seq" };
    for (int i = 0; i < 2; i++) {
        if (!size[i]) continue;
        if (m->n_sets == RT_MAX_SETS) return fprintf(stderr, "moec: more than %d --set values\n", RT_MAX_SETS), -1;
        snprintf(m->size_text[i], sizeof m->size_text[i], "%llu", (unsigned long long)size[i]);
        m->sets[m->n_sets++] = (fe_override){ .name = names[i], .value = m->size_text[i] };
    }
    return 0;
}

int rt_cli_parse_set(char *text, fe_override *out)
{
    char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        fprintf(stderr, "moec: --set expects name=value, got '%s'\n", text);
        return -1;
    }
    *eq = '\0';
    out->name = text;
    out->value = eq + 1;
    return 0;
}

int rt_cli_parse_u64(const char *option, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || errno || text[strspn(text, " \t")] == '-') {
        fprintf(stderr, "moec: %s expects a whole number from 0 to 18446744073709551615, got '%s'\n", option, text);
        return -1;
    }
    *out = v;
    return 0;
}

int rt_cli_parse_double(const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v)) {
        fprintf(stderr, "moec: %s expects a number, got '%s'\n", option, text);
        return -1;
    }
    *out = v;
    return 0;
}

int rt_cli_parse_moe(const char *text, ir_moe_form *out)
{
    if (!strcmp(text, "sparse") || !strcmp(text, "dense")) {
        *out = text[0] == 's' ? IR_MOE_SPARSE : IR_MOE_DENSE;
        return 0;
    }
    fprintf(stderr, "moec: --moe expects dense or sparse, got '%s'\n", text);
    return -1;
}

int rt_frontend_parse(rt_frontend *r, const char *path, int max_errors, bool no_warnings)
{
    return rt_frontend_parse_to(r, path, max_errors, no_warnings, stderr);
}

/* Sets r up for parsing: the sink, the arena. */
static void frontend_init(rt_frontend *r, int max_errors, bool no_warnings, FILE *errors)
{
    memset(r, 0, sizeof *r);
    moec_diag_init(&r->diag, errors, max_errors);
    r->diag.no_warnings = no_warnings;
    moec_arena_init(&r->arena);
}

/* Parses r->src, once loaded. */
static int frontend_parse_source(rt_frontend *r)
{
    r->diag.src = &r->src;
    if (fe_parse(&r->src, &r->arena, &r->diag, &r->ast) < 0) return 1;
    return r->diag.n_errors ? 1 : 0;
}

int rt_frontend_parse_to(rt_frontend *r, const char *path, int max_errors, bool no_warnings, FILE *errors)
{
    frontend_init(r, max_errors, no_warnings, errors);
    if (moec_source_load(&r->src, path, &r->diag) < 0) return 1;
    return frontend_parse_source(r);
}

int rt_frontend_parse_text(rt_frontend *r, const char *name, const char *text, int max_errors, bool no_warnings,
                           FILE *errors)
{
    frontend_init(r, max_errors, no_warnings, errors);
    if (moec_source_from_memory(&r->src, name, text, strlen(text), &r->diag) < 0) return 1;
    return frontend_parse_source(r);
}

int rt_frontend_finish(rt_frontend *r, const fe_override *sets, int n_sets)
{
    if (fe_elaborate(&r->ast, sets, n_sets, &r->arena, &r->diag, &r->model) < 0) return 1;
    return r->diag.n_errors ? 1 : 0;
}

int rt_frontend_elaborate(rt_frontend *r, const char *path, const fe_override *sets, int n_sets, int max_errors)
{
    int status = rt_frontend_parse(r, path, max_errors, false);
    return status ? status : rt_frontend_finish(r, sets, n_sets);
}

int rt_frontend_elaborate_sets(rt_frontend *r, const char *path, const char *const *sets, int n_sets)
{
    fe_override *ov = calloc((size_t)n_sets + 1, sizeof *ov);
    char **text = calloc((size_t)n_sets + 1, sizeof *text);
    int status = ov && text ? 0 : 1;
    for (int i = 0; status == 0 && i < n_sets; i++)
        status = !(text[i] = strdup(sets[i])) || rt_cli_parse_set(text[i], &ov[i]) < 0;
    if (status) fprintf(stderr, "moec: bad --set list or out of memory\n");
    else status = rt_frontend_elaborate(r, path, ov, n_sets, 0);
    for (int i = 0; text && i < n_sets; i++) free(text[i]);
    free(text);
    free(ov);
    return status;
}

void rt_frontend_warn_dense_moe(rt_frontend *r, const ir_lowered *l)
{
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *layer = &l->moe[i];
        if (!layer->dense_why) continue;
        moec_warning_at(&r->diag, r->model.nodes[layer->fe_node].loc,
                        "MoE layer '%s' runs every expert on every token (the dense form): %s",
                        layer->scope ? layer->scope : "moe", layer->dense_why);
    }
}

void rt_frontend_free(rt_frontend *r)
{
    moec_arena_free(&r->arena);
    moec_source_free(&r->src);
}

const char *rt_frontend_model_lead(rt_frontend *r)
{
    const char *lead = moec_arena_printf(&r->arena, "moec: %s: ", r->src.path ? r->src.path : "");
    return lead ? lead : "moec: ";
}
