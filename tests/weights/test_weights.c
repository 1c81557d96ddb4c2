/* tests/weights/test_weights.c -- rt_weights: init, save/load, name rules, upcycling (ASan+UBSan).
 * Models are built by hand as fe_model values (the front end is not linked),
 * shaped like the GPT-2 builtins' output: a tied embedding, a layer norm, a
 * residual projection, a router and two upcycled experts. Files with other
 * dtypes and names are written byte by byte (helpers.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/philox.h"
#include "runtime/weights/safetensors.h"
#include "runtime/weights/weights.h"
#include "tests/tap.h"
#include "tests/weights/helpers.h"

enum { V = 10, D = 16, F = 64, E = 2 };

/* Param indices of the toy model. */
enum { P_WTE, P_LNW, P_LNB, P_PROJ, P_GATE, P_X0W, P_X0B, P_X1W, P_X1B, N_PARAMS };

static fe_shape shape2(int64_t a, int64_t b) { return (fe_shape){2, {a, b}}; }
static fe_shape shape1(int64_t a) { return (fe_shape){1, {a}}; }

/* The toy MoE model: params as the GPT-2 builtins name them, LM head tied to wte. */
static void toy_model(fe_model *m, fe_param *p, fe_node *lm)
{
    memset(m, 0, sizeof *m);
    p[P_WTE] = (fe_param){.name = "wte.weight", .shape = shape2(V, D), .init = FE_INIT_NORMAL, .init_std = 0.02, .router = -1};
    p[P_LNW] = (fe_param){.name = "h.0.ln_1.weight", .shape = shape1(D), .init = FE_INIT_ONES, .router = -1};
    p[P_LNB] = (fe_param){.name = "h.0.ln_1.bias", .shape = shape1(D), .init = FE_INIT_ZEROS, .router = -1};
    p[P_PROJ] = (fe_param){.name = "h.0.attn.c_proj.weight", .shape = shape2(D, D), .init = FE_INIT_NORMAL,
                           .init_std = 0.01, .residual = true, .router = -1};
    p[P_GATE] = (fe_param){.name = "h.0.mlp.router.gate.weight", .shape = shape2(E, D), .init = FE_INIT_NORMAL,
                           .init_std = 0.02, .router = 0};
    p[P_X0W] = (fe_param){.name = "h.0.mlp.experts.0.c_fc.weight", .shape = shape2(D, F), .init = FE_INIT_NORMAL,
                          .init_std = 0.02, .router = -1, .upcycle_from = "h.0.mlp.c_fc.weight"};
    p[P_X0B] = (fe_param){.name = "h.0.mlp.experts.0.c_fc.bias", .shape = shape1(F), .init = FE_INIT_ZEROS,
                          .router = -1, .upcycle_from = "h.0.mlp.c_fc.bias"};
    p[P_X1W] = p[P_X0W];
    p[P_X1W].name = "h.0.mlp.experts.1.c_fc.weight";
    p[P_X1B] = p[P_X0B];
    p[P_X1B].name = "h.0.mlp.experts.1.c_fc.bias";
    *lm = (fe_node){.op = FE_NODE_LM_HEAD, .param = {P_WTE, -1, -1, -1}, .n_param = 1, .expert_of = -1};
    m->name = "toy";
    m->params = p;
    m->n_params = N_PARAMS;
    m->nodes = lm;
    m->n_nodes = 1;
}

typedef struct toy {
    fe_model m;
    fe_param p[N_PARAMS];
    fe_node lm;
    rt_weights w;
} toy;

static toy *toy_new(void)
{
    toy *t = calloc(1, sizeof *t);
    toy_model(&t->m, t->p, &t->lm);
    moec_diag *err = sink();
    if (rt_weights_alloc(&t->w, &t->m, err) < 0) tap_diag("alloc: %s", sink_text(err));
    return t;
}

static void toy_free(toy *t)
{
    rt_weights_free(&t->w);
    free(t);
}

static double mean_of(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

static double std_of(const float *x, int64_t n)
{
    double m = mean_of(x, n), s = 0;
    for (int64_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)(n - 1));
}

static char path_a[512], path_b[512];

/* A big normal param's statistics; zeros and ones exact; Philox key as documented. */
static void test_init_stats(void)
{
    fe_param p[4] = {
        {.name = "c_fc.weight", .shape = shape2(768, 3072), .init = FE_INIT_NORMAL, .init_std = 0.02, .router = -1},
        {.name = "c_proj.weight", .shape = shape2(3072, 768), .init = FE_INIT_NORMAL,
         .init_std = 0.02 / sqrt(24.0), .residual = true, .router = -1},
        {.name = "ln.weight", .shape = shape1(768), .init = FE_INIT_ONES, .router = -1},
        {.name = "ln.bias", .shape = shape1(768), .init = FE_INIT_ZEROS, .router = -1},
    };
    fe_model m = {.name = "stats", .params = p, .n_params = 4};
    rt_weights w;
    moec_diag *err = sink();
    if (!tap_ok(rt_weights_alloc(&w, &m, err) == 0, "alloc 4.7M floats %s", sink_text(err))) return;
    tap_ok(w.total == 768 * 3072 * 2 + 768 * 2, "total counts every element");
    tap_ok((uintptr_t)w.data[1] % 64 == 0 && (uintptr_t)w.data[3] % 64 == 0, "each param 64-byte aligned");
    rt_weights_init(&w, 1337);
    double s = std_of(w.data[0], w.numel[0]), mu = mean_of(w.data[0], w.numel[0]);
    /* n = 2.36M fixed draws: the sample std's relative standard error is
     * 1/sqrt(2n) = 4.6e-4 (0.02 is a loose ~40 sigma: it catches a wrong
     * scale, not a subtle bias); the mean's is 0.02/sqrt(n) = 1.3e-5 (1e-4 ~8 sigma) */
    tap_ok(fabs(s / 0.02 - 1) < 0.02 && fabs(mu) < 1e-4, "768x3072 normal(0.02): std %.6f mean %.2e", s, mu);
    double sr = std_of(w.data[1], w.numel[1]);
    tap_ok(fabs(sr / (0.02 / sqrt(24.0)) - 1) < 0.02, "residual projection: std %.6f (0.02/sqrt(24) = %.6f)", sr,
           0.02 / sqrt(24.0));
    int ones = 1, zeros = 1;
    for (int i = 0; i < 768; i++) {
        ones &= w.data[2][i] == 1.0f;
        zeros &= w.data[3][i] == 0.0f;
    }
    tap_ok(ones && zeros, "ones and zeros exact");
    int key = 1;   /* every element: the init is split over threads, which must change no bit */
    for (int i = 0; i < 2; i++)
        for (int64_t e = 0; e < w.numel[i]; e++)
            key &= w.data[i][e] == (float)(p[i].init_std * ir_philox_normal(1337, 0, (uint32_t)i, (uint64_t)e));
    tap_ok(key, "every element e of param i = std * philox_normal(seed, 0, i, e)");
    rt_weights_free(&w);
    rt_weights_free(&w);
    tap_ok(w.memory == NULL, "free twice is harmless");
}

/* Reads a whole file into memory (for byte comparisons). */
static unsigned char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return b;
}

static int same_file(const char *a, const char *b)
{
    long na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, (size_t)na);
    free(x);
    free(y);
    return same;
}

/* Same seed, same bytes; another seed, other bytes; save/load round trip. */
static void test_determinism(void)
{
    toy *t = toy_new();
    moec_diag *err = sink();
    rt_weights_init(&t->w, 7);
    rt_weights_save(&t->w, path_a, NULL, 0, err);
    rt_weights_init(&t->w, 7);
    rt_weights_save(&t->w, path_b, NULL, 0, err);
    tap_ok(same_file(path_a, path_b), "same seed: identical file bytes");
    rt_weights_init(&t->w, 8);
    rt_weights_save(&t->w, path_b, NULL, 0, err);
    tap_ok(!same_file(path_a, path_b), "different seed: different bytes");
    toy *u = toy_new();
    tap_ok(rt_weights_load(&u->w, path_b, NULL, err) == 0, "load what was saved %s", sink_text(err));
    tap_ok(!memcmp(u->w.memory, t->w.memory, (size_t)t->w.total * 4), "round trip bit-exact");
    rt_meta meta[1] = {{"run", "abc"}};
    tap_ok(rt_weights_save(&t->w, path_b, meta, 1, err) == 0, "save with metadata");
    rt_st_file f;
    if (rt_st_open(&f, path_b, err) == 0) {
        tap_ok(f.n_meta == 2 && !strcmp(f.meta[0].value, "pt") && !strcmp(f.meta[1].key, "run"),
               "metadata: format pt, then ours");
        tap_ok(f.n_tensors == N_PARAMS && !strcmp(f.tensors[P_GATE].name, "h.0.mlp.router.gate.weight"),
               "tensors in model order, by name");
        rt_st_close(&f);
    }
    toy_free(t);
    toy_free(u);
}

/* A file entry holding param i's current values under `name`. */
static st_entry entry_of(const toy *t, int i, const char *name, const char *shape)
{
    return (st_entry){name, "F32", shape, t->w.data[i], (size_t)t->w.numel[i] * 4};
}

/* The toy's shapes as JSON, by param index. */
static const char *const SHAPES[N_PARAMS] = {"[10, 16]", "[16]", "[16]", "[16, 16]", "[2, 16]",
                                              "[16, 64]", "[64]", "[16, 64]", "[64]"};

/* Writes every param of t, with names passed through `prefix`, plus extras. */
static void write_model_file(const toy *t, const char *path, const char *prefix, const st_entry *extra, int n_extra)
{
    st_entry e[N_PARAMS + 8];
    char names[N_PARAMS][128];
    for (int i = 0; i < N_PARAMS; i++) {
        snprintf(names[i], sizeof names[i], "%s%s", prefix, t->p[i].name);
        e[i] = entry_of(t, i, names[i], SHAPES[i]);
    }
    for (int i = 0; i < n_extra; i++) e[N_PARAMS + i] = extra[i];
    st_raw(path, e, N_PARAMS + n_extra);
}

static int load(toy *t, const char *path, moec_diag *err)
{
    moec_diag_reset(err);
    return rt_weights_load(&t->w, path, NULL, err);
}

/* The name rules of doc/weights.md#name-rules-loading-into-a-model. */
static void test_name_rules(void)
{
    toy *src = toy_new(), *dst = toy_new();
    rt_weights_init(&src->w, 3);
    moec_diag *err = sink();
    int64_t step = 4321;
    int32_t anneal = 500;
    unsigned char mask[16] = {1};
    float masked = -1e4f;
    st_entry extra[5] = {{"transformer.h.0.attn.bias", "U8", "[1, 1, 4, 4]", mask, 16},
                         {"transformer.h.0.attn.masked_bias", "F32", "[]", &masked, 4},
                         {"h.0.mlp.router.training_step", "I64", "[]", &step, 8},
                         {"h.0.mlp.router.anneal_steps", "I32", "[1]", &anneal, 4},
                         entry_of(src, P_WTE, "lm_head.weight", SHAPES[P_WTE])};
    write_model_file(src, path_a, "transformer.", extra, 5);
    tap_ok(load(dst, path_a, err) == 0, "transformer. prefix, attn buffers, router buffers, tied head equal %s",
           sink_text(err));
    tap_ok(!memcmp(dst->w.memory, src->w.memory, (size_t)src->w.total * 4), "values loaded");
    tap_ok(dst->w.router.has_training_step && dst->w.router.training_step == 4321 &&
           dst->w.router.has_anneal_steps && dst->w.router.anneal_steps == 500, "router buffers read aside");

    float wrong[V * D];
    memcpy(wrong, src->w.data[P_WTE], sizeof wrong);
    wrong[17] += 1.0f;
    st_entry head = {"lm_head.weight", "F32", "[10, 16]", wrong, sizeof wrong};
    write_model_file(src, path_a, "", &head, 1);
    tap_ok(load(dst, path_a, err) < 0 && err_has(err, "'lm_head.weight' differs from 'wte.weight' (element 17"),
           "tied head not equal: error");
    tap_diag("%s", sink_text(err));

    /* Unknown, missing, misshapen, wrong dtype: all reported, each naming tensor and shapes. */
    float junk[3] = {0};
    double f64[V * D] = {0};
    st_entry e[N_PARAMS + 1];
    for (int i = 0; i < N_PARAMS; i++) e[i] = entry_of(src, i, src->p[i].name, SHAPES[i]);
    float lnb[15] = {0};
    e[P_LNB] = (st_entry){"h.0.ln_1.bias", "F32", "[15]", lnb, sizeof lnb};
    e[P_WTE] = (st_entry){"wte.weight", "F64", "[10, 16]", f64, sizeof f64};
    e[P_GATE] = (st_entry){"h.0.mlp.router.gate.wieght", "F32", "[3]", junk, sizeof junk};
    st_raw(path_a, e, N_PARAMS);
    int rc = load(dst, path_a, err);
    tap_diag("%s", sink_text(err));
    tap_ok(rc < 0 && moec_diag_errors(err) == 4, "four problems, four errors (got %d)", moec_diag_errors(err));
    tap_ok(err_has(err, "'h.0.ln_1.bias': shape [15] in the file, [16] in the model"), "wrong shape: both shapes");
    tap_ok(err_has(err, "'wte.weight': dtype F64"), "wrong dtype named");
    tap_ok(err_has(err, "unknown tensor 'h.0.mlp.router.gate.wieght' [3]"), "unknown tensor with its shape");
    tap_ok(err_has(err, "missing tensor 'h.0.mlp.router.gate.weight' [2, 16]"), "missing tensor with its shape");

    /* The same tensor twice, with and without the prefix. */
    st_entry dup = entry_of(src, P_WTE, "transformer.wte.weight", SHAPES[P_WTE]);
    write_model_file(src, path_a, "", &dup, 1);
    tap_ok(load(dst, path_a, err) < 0 && err_has(err, "appears twice"), "prefixed duplicate: error");

    /* F16 data loads into float weights. */
    uint16_t half[V * D];
    for (int i = 0; i < V * D; i++) half[i] = 0x3C00;   /* 1.0 */
    for (int i = 0; i < N_PARAMS; i++) e[i] = entry_of(src, i, src->p[i].name, SHAPES[i]);
    e[P_WTE] = (st_entry){"wte.weight", "F16", "[10, 16]", half, sizeof half};
    st_raw(path_a, e, N_PARAMS);
    tap_ok(load(dst, path_a, err) == 0 && dst->w.data[P_WTE][V * D - 1] == 1.0f, "F16 tensor loads %s", sink_text(err));

    /* The error limit: more problems than lines, all counted. */
    st_entry many[40];
    char mnames[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(mnames[i], sizeof mnames[i], "extra.%d", i);
        many[i] = (st_entry){mnames[i], "F32", "[3]", junk, sizeof junk};
    }
    st_raw(path_a, many, 40);
    rc = load(dst, path_a, err);
    moec_diag_finish(err);
    tap_ok(rc < 0 && moec_diag_errors(err) == 40 + N_PARAMS && err_has(err, "... and 29 more errors"),
           "49 errors: 20 shown, the rest counted");
    toy_free(src);
    toy_free(dst);
}

/* A dense checkpoint: the toy's non-expert params plus h.0.mlp.c_fc.{weight,bias}. */
static void write_dense(toy *src, const char *path, float *fc_w, float *fc_b)
{
    for (int i = 0; i < D * F; i++) fc_w[i] = (float)(0.02 * ir_philox_normal(99, 0, 0, (uint64_t)i));
    for (int i = 0; i < F; i++) fc_b[i] = 0.1f * (float)i;
    st_entry e[6] = {entry_of(src, P_WTE, "wte.weight", SHAPES[P_WTE]),
                     entry_of(src, P_LNW, "h.0.ln_1.weight", SHAPES[P_LNW]),
                     entry_of(src, P_LNB, "h.0.ln_1.bias", SHAPES[P_LNB]),
                     entry_of(src, P_PROJ, "h.0.attn.c_proj.weight", SHAPES[P_PROJ]),
                     {"h.0.mlp.c_fc.weight", "F32", "[16, 64]", fc_w, sizeof(float) * D * F},
                     {"h.0.mlp.c_fc.bias", "F32", "[64]", fc_b, sizeof(float) * F}};
    st_raw(path, e, 6);
}

/* Std of (a - b) over n elements. */
static double diff_std(const float *a, const float *b, int n)
{
    float *d = malloc((size_t)n * sizeof *d);
    for (int i = 0; i < n; i++) d[i] = a[i] - b[i];
    double s = std_of(d, n);
    free(d);
    return s;
}

static void test_upcycle(void)
{
    toy *src = toy_new(), *dst = toy_new(), *fresh = toy_new();
    rt_weights_init(&src->w, 5);
    float fc_w[D * F], fc_b[F];
    write_dense(src, path_a, fc_w, fc_b);
    moec_diag *err = sink();
    tap_ok(load(dst, path_a, err) < 0 && err_has(err, "unknown tensor 'h.0.mlp.c_fc.weight' [16, 64]") &&
           err_has(err, "--upcycle"), "dense file without --upcycle: error with a hint");
    rt_load_options opt = {.upcycle = true, .perturb = 1e-3, .seed = 11};
    moec_diag_reset(err);
    tap_ok(rt_weights_load(&dst->w, path_a, &opt, err) == 0, "upcycle: dense MLP consumed, router fresh %s", sink_text(err));
    double want_w = 1e-3 * std_of(fc_w, D * F), want_b = 1e-3 * std_of(fc_b, F);
    double got0 = diff_std(dst->w.data[P_X0W], fc_w, D * F), got1 = diff_std(dst->w.data[P_X1W], fc_w, D * F);
    /* sample std of D*F = 1024 noise values: relative standard error
     * 1/sqrt(2048) = 2.2%, so 0.1 is ~4.5 sigma; the F = 64 bias values below:
     * 8.8%, 0.3 is ~3.4 sigma (fixed seeds: never flaky) */
    tap_ok(fabs(got0 / want_w - 1) < 0.1 && fabs(got1 / want_w - 1) < 0.1,
           "expert weight = dense + noise of std perturb*std(dense): %.3g %.3g vs %.3g", got0, got1, want_w);
    double gotb = diff_std(dst->w.data[P_X1B], fc_b, F);
    tap_ok(fabs(gotb / want_b - 1) < 0.3, "expert bias noise %.3g vs %.3g", gotb, want_b);
    tap_ok(memcmp(dst->w.data[P_X0W], dst->w.data[P_X1W], sizeof fc_w) != 0, "experts get different noise");
    tap_ok(dst->w.data[P_X0W][5] == (float)(fc_w[5] + want_w / 1e-3 * 1e-3 * ir_philox_normal(11, 1, P_X0W, 5)),
           "noise key: philox_normal(seed, step 1, param index, element)");
    rt_weights_init(&fresh->w, 11);
    tap_ok(!memcmp(dst->w.data[P_GATE], fresh->w.data[P_GATE], E * D * 4), "router = fresh init from the seed");
    tap_ok(!memcmp(dst->w.data[P_PROJ], src->w.data[P_PROJ], D * D * 4), "dense params copied exactly");
    opt.perturb = 0;
    moec_diag_reset(err);
    rt_weights_load(&dst->w, path_a, &opt, err);
    tap_ok(!memcmp(dst->w.data[P_X1W], fc_w, sizeof fc_w) && !memcmp(dst->w.data[P_X0B], fc_b, sizeof fc_b),
           "perturb 0: experts are exact copies");
    /* A misshapen dense source names the expert it feeds. */
    float small[D];
    st_entry e[2] = {entry_of(src, P_WTE, "wte.weight", SHAPES[P_WTE]),
                     {"h.0.mlp.c_fc.bias", "F32", "[16]", small, sizeof small}};
    st_raw(path_a, e, 2);
    moec_diag_reset(err);
    tap_ok(rt_weights_load(&dst->w, path_a, &opt, err) < 0 &&
           err_has(err, "'h.0.mlp.c_fc.bias' (upcycle source of 'h.0.mlp.experts.0.c_fc.bias'): shape [16] in "
                         "the file, [64] in the model"), "upcycle source of the wrong shape: error");
    toy_free(src);
    toy_free(dst);
    toy_free(fresh);
}

int main(void)
{
    tmp_path(path_a, sizeof path_a, "a.safetensors");
    tmp_path(path_b, sizeof path_b, "b.safetensors");
    test_init_stats();
    test_determinism();
    test_name_rules();
    test_upcycle();
    unlink(path_a);
    unlink(path_b);
    sink_close();
    return tap_done();
}
