/* tests/report/token_use_main.c -- expert use by token type of a run
 * (rp_token_use_compute_dump, runtime/report/token_types.h) for
 * token_use.sh:
 *     token_use_main RUN MAX_TOKENS DUMP [CHECK_SEQS]
 * computes the analysis with the per-token record written to DUMP, prints
 * "tokens N", one line "L TYPE c_0 .. c_{E-1}" per layer and category (for
 * token_use_ref.py to recompute from DUMP) and checks what needs no
 * reference: every layer's counts sum to the tokens analysed, which are the
 * DUMP's lines. With CHECK_SEQS > 0 it also runs the first CHECK_SEQS
 * sequences of DUMP through the reference interpreter (ir/interp.h, float64,
 * the evaluation graph of the run's model built independently from
 * config.json, one sequence at a time, at the run's last step as the
 * analysis runs it) and compares each token's top-1
 * expert (SCOPE.assign slot 0) with the compiled step's; a difference is
 * tolerated only where the interpreter's probabilities of the two experts
 * are within 1e-4 (a near tie float32 may break the other way).
 * Exit 0 when every check passes, 1 otherwise, 2 on usage; rc 1 of the
 * analysis (nothing to analyse) prints "nothing" and exits 3. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/report/token_types.h"
#include "runtime/train/engine.h"

typedef struct dump_row {
    long long seq, pos;
    unsigned id;
    int type;
    int expert[16];
} dump_row;

static dump_row *read_dump(const char *path, int layers, long long *n, long long *t, int *code)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    dump_row *rows = NULL;
    long long cap = 0;
    unsigned s;
    *n = 0;
    if (fscanf(f, "# T=%lld S=%u code=%d", t, &s, code) != 3) {
        fclose(f);
        return NULL;
    }
    for (;;) {
        dump_row r;
        if (fscanf(f, "%lld %lld %u %d", &r.seq, &r.pos, &r.id, &r.type) != 4) break;
        for (int i = 0; i < layers; i++)
            if (fscanf(f, "%d", &r.expert[i]) != 1) break;
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            dump_row *x = realloc(rows, sizeof *rows * (size_t)cap);
            if (!x) break;
            rows = x;
        }
        rows[(*n)++] = r;
    }
    fclose(f);
    return rows;
}

/* The interpreter's top-1 experts for the first `seqs` sequences of the
 * dump, compared with the dump's. Returns the number of differences that
 * are not near ties, or -1 when the interpreter could not run. */
static long long check_interp(const char *run, const dump_row *rows, long long n, long long t, int code, int layers,
                              long long seqs, moec_diag *diag)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run);
    json_error_t err;
    json_t *cfg = json_load_file(path, 0, &err);
    if (!cfg) return fprintf(stderr, "%s: %s\n", path, err.text), -1;
    const char *text = json_string_value(json_object_get(cfg, "model_source"));
    json_t *sets = json_object_get(cfg, "sets");
    size_t ns = json_array_size(sets);
    char **set_text = calloc(ns + 1, sizeof *set_text);
    fe_override *ov = calloc(ns + 1, sizeof *ov);
    for (size_t i = 0; i < ns; i++) {
        set_text[i] = strdup(json_string_value(json_array_get(sets, i)));
        rt_cli_parse_set(set_text[i], &ov[i]);
    }
    rt_frontend fe;
    long long bad = -1;
    rt_engine e;
    bool have_e = false;
    if (rt_frontend_parse_text(&fe, "config.json", text, 0, true, stderr) == 0 && rt_frontend_finish(&fe, ov, (int)ns) == 0) {
        rt_engine_options o = { .backend = RT_BACKEND_INTERP, .model_name = "config.json", .model_text = text,
                                .sets = ov, .n_sets = (int)ns, .batch = 1, .seq = t, .accum = 1, .eval = true,
                                .keep_stats = true };
        have_e = true;
        struct stat st;
        snprintf(path, sizeof path, "%s/final-model.safetensors", run);
        if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/best-model.safetensors", run);
        if (rt_engine_build(&e, &o, &fe.model, diag) == 0 && rt_weights_load(&e.params, path, NULL, diag) == 0 &&
            rt_engine_eval_begin(&e) == 0)
            bad = 0;
    }
    rt_batch b;
    if (bad == 0 && rt_batch_alloc(&b, 1, t, diag) < 0) bad = -1;
    long long compared = 0, ties = 0;
    for (long long q = 0; bad >= 0 && q < seqs && q * t < n; q++) {
        for (long long p = 0; p < t; p++) {
            b.tokens[p] = rows[q * t + p].id;
            b.targets[p] = p + 1 < t ? rows[q * t + p + 1].id : -1.0;
        }
        b.domain[0] = code;
        rt_step_result r;
        if (rt_engine_eval_batch(&e, &b, json_integer_value(json_object_get(cfg, "steps")), &r) < 0) {
            bad = -1;
            break;
        }
        for (int i = 0; i < layers && bad >= 0; i++) {
            const ir_moe_layer *ml = &e.el.moe[i];
            int64_t rows_n = ml->routing.rows, E = ml->experts;
            char name[512];
            snprintf(name, sizeof name, "%s.assign", ml->scope);
            double *as = malloc(sizeof(double) * (size_t)(rows_n * E));
            double *pr = malloc(sizeof(double) * (size_t)(rows_n * E));
            int64_t k = 0;
            for (int64_t kk = 1; kk <= E && !k; kk++)
                if (rt_engine_read(&e, true, name, as, rows_n * kk) == 0) k = kk;
            snprintf(name, sizeof name, "%s.probs", ml->scope);
            bool probs = rt_engine_read(&e, true, name, pr, rows_n * E) == 0;
            if (!k) {
                fprintf(stderr, "the interpreter keeps no %s.assign\n", ml->scope);
                bad = -1;
            }
            for (long long p = 0; bad >= 0 && p < t; p++) {
                int64_t row = rows_n == t ? p : 0;
                int mine = rows[q * t + p].expert[i], ref = (int)as[row * k];
                compared++;
                if (mine == ref) continue;
                if (probs && fabs(pr[row * E + mine] - pr[row * E + ref]) < 1e-4) {
                    ties++;
                    continue;
                }
                if (bad < 5)
                    fprintf(stderr, "sequence %lld position %lld, %s: compiled step expert %d, interpreter %d\n", q, p,
                            ml->scope, mine, ref);
                bad++;
            }
            free(as);
            free(pr);
        }
    }
    if (bad >= 0) {
        printf("interpreter: %lld top-1 choices compared, %lld differ, %lld near ties\n", compared, bad, ties);
        rt_batch_free(&b);
        if (compared == 0) bad = -1;
    }
    if (have_e) rt_engine_free(&e);
    rt_frontend_free(&fe);
    for (size_t i = 0; i < ns; i++) free(set_text[i]);
    free(set_text);
    free(ov);
    json_decref(cfg);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) return fprintf(stderr, "usage: token_use_main RUN MAX_TOKENS DUMP [CHECK_SEQS]\n"), 2;
    moec_diag diag;
    moec_diag_init(&diag, stderr, 0);
    FILE *dump = fopen(argv[3], "w");
    if (!dump) return perror(argv[3]), 1;
    rp_token_use u;
    int rc = rp_token_use_compute_dump(argv[1], atoll(argv[2]), 0, dump, &u, &diag);
    fclose(dump);
    if (rc == 1) return printf("nothing\n"), 3;
    if (rc < 0) return 1;
    int status = 0;
    printf("tokens %lld\n", (long long)u.tokens);
    for (int i = 0; i < u.layers; i++) {
        double sum = 0;
        for (int c = 0; c < RP_TT_COUNT; c++) {
            printf("%d %s", u.layer_index[i], rp_token_type_name((rp_token_type)c));
            for (int e = 0; e < u.layer_experts[i]; e++) {
                double x = u.count[((size_t)i * RP_TT_COUNT + (size_t)c) * (size_t)u.experts + (size_t)e];
                printf(" %.0f", x);
                sum += x;
            }
            printf("\n");
        }
        if (sum != (double)u.tokens) {
            fprintf(stderr, "layer %d: counts sum to %.0f, not the %lld tokens\n", u.layer_index[i], sum,
                    (long long)u.tokens);
            status = 1;
        }
    }
    long long n = 0, t = 0;
    int code = 0;
    dump_row *rows = read_dump(argv[3], u.layers, &n, &t, &code);
    if (!rows || n != u.tokens || u.layers > 16 || n % t != 0) {
        fprintf(stderr, "%s: %lld tokens recorded, the analysis counted %lld\n", argv[3], n, (long long)u.tokens);
        status = 1;
    }
    long long seqs = argc > 4 ? atoll(argv[4]) : 0;
    if (status == 0 && seqs > 0 && check_interp(argv[1], rows, n, t, code, u.layers, seqs, &diag) != 0) status = 1;
    free(rows);
    rp_token_use_free(&u);
    return status;
}
