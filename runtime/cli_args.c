/* runtime/cli_args.c -- shared command-line pieces (cli_args.h).
 * Numbers are parsed with strtoull/strtod and must use the whole argument, so
 * `--seed 12abc` is an error rather than 12. */
#include "runtime/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int rt_frontend_elaborate(rt_frontend *r, const char *path, const fe_override *sets, int n_sets, int max_errors)
{
    memset(r, 0, sizeof *r);
    fe_diag_init(&r->diag, stderr, max_errors);
    fe_arena_init(&r->arena);
    if (fe_source_load(&r->src, path, &r->diag) < 0) return 1;
    r->diag.src = &r->src;
    if (fe_parse(&r->src, &r->arena, &r->diag, &r->ast) < 0) return 1;
    if (fe_elaborate(&r->ast, sets, n_sets, &r->arena, &r->diag, &r->model) < 0) return 1;
    return r->diag.n_errors ? 1 : 0;
}

void rt_frontend_free(rt_frontend *r)
{
    fe_arena_free(&r->arena);
    fe_source_free(&r->src);
}
