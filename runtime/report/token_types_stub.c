/* runtime/report/token_types_stub.c -- TEMPORARY: weak stand-ins for
 * runtime/report/token_types.c (written elsewhere) so `moec report` builds
 * before it is merged; rp_token_use_compute says "nothing to analyse" and the
 * report has no token-type section. Delete this file when token_types.c
 * arrives (its strong definitions win over these anyway). */
#include "config.h"

#include <string.h>

#include "runtime/report/token_types.h"

__attribute__((weak)) const char *rp_token_type_name(rp_token_type t)
{
    static const char *const names[RP_TT_COUNT] = {"keyword", "name", "number", "string", "operator", "comment", "other"};
    return (unsigned)t < RP_TT_COUNT ? names[t] : "?";
}

__attribute__((weak)) void rp_classify_python(const char *text, size_t n, uint8_t *out)
{
    (void)text;
    memset(out, RP_TT_OTHER, n);
}

__attribute__((weak)) int rp_token_use_compute(const char *run_dir, int64_t max_tokens, int threads, rp_token_use *out,
                                               moec_diag *diag)
{
    (void)run_dir;
    (void)max_tokens;
    (void)threads;
    (void)diag;
    memset(out, 0, sizeof *out);
    return 1;
}

__attribute__((weak)) void rp_token_use_free(rp_token_use *u)
{
    (void)u;
}
