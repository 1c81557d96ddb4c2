/* tests/frontend/fuzz_frontend.c -- libFuzzer target for the whole front end.
 * Each input is a model file: it is parsed and, when it parses, elaborated,
 * with diagnostics going to /dev/null; everything is freed, so ASan, UBSan
 * and LeakSanitizer see every path. Built by clang (tests/frontend/local.mk);
 * run by tests/frontend/fuzz.sh, longer runs in doc/fuzzing.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *sink = fopen("/dev/null", "w");
    if (!sink) return 0;
    moec_diag d;
    moec_diag_init(&d, sink, 0);
    moec_source src;
    if (moec_source_from_memory(&src, "fuzz.moe", (const char *)data, size, &d) == 0) {
        d.src = &src;
        moec_arena arena;
        moec_arena_init(&arena);
        fe_ast ast;
        if (fe_parse(&src, &arena, &d, &ast) == 0) {
            fe_model model;
            fe_elaborate(&ast, NULL, 0, &arena, &d, &model);
        }
        moec_arena_free(&arena);
        moec_source_free(&src);
    }
    fclose(sink);
    return 0;
}
