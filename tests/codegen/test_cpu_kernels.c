/* tests/codegen/test_cpu_kernels.c -- hand-built loop kernels
 * (tests/codegen/kernels.h) compiled by the CPU backend against the
 * reference evaluator (ir/kinterp.h) on fresh random inputs (never zero):
 *   - in the backend's order of partial sums (lanes = CG_LANES) the results
 *     must be identical, bit for bit: the generated code calls the same
 *     libm functions and rounds every operation as the evaluator does;
 *   - in the definition's order (lanes = 1, term by term) they differ only
 *     by the rounding of the two summation orders, bounded by Higham's
 *     gamma_n = n u / (1 - n u) ~ n u per order (u = 2^-24), n = R terms:
 *     |sum_lanes - sum_seq| <= 2 R u sum|x|; each case's tolerance below is
 *     that bound carried through what follows the sum.
 * Also: the point range split into pieces and over threads, gathers out of
 * bounds (faults counted, zeros loaded), the IR printer's names and source
 * lines, a program that does not verify. */
#include "ir/kernel_math.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "tests/codegen/kernels.h"

static const double U = 0x1p-24;   /* unit roundoff of float32 */

typedef struct kcase {
    const char *name;
    void (*build)(kt_prog *t);
    double rtol, atol;     /* against lanes = 1 */
} kcase;

static void b_softmax(kt_prog *t) { kt_softmax(t, 7, 45); }
static void b_softmax_short(kt_prog *t) { kt_softmax(t, 3, 5); }
static void b_layernorm(kt_prog *t) { kt_layernorm(t, 5, 67); }
static void b_colsum(kt_prog *t) { kt_colsum(t, 53, 9); }
static void b_gather(kt_prog *t) { kt_gather(t, 6, 11, 16, 11); }
static void b_adamw(kt_prog *t) { kt_adamw(t, 1003); }

/* Tolerances (against the term-by-term order; see the header):
 *   softmax: sums of R positive terms, then a division: rtol 2 (R + 2) u;
 *   layernorm: mean and variance each off by <= 2 R u of their |terms|,
 *     times rstd (< 10 for |x| < 3): atol 40 R u;
 *   colsum: |x| < 2 over R rows: atol 2 R u (2 R) = 4 R^2 u;
 *   iota's weighted sum: |r x| < 1.5 R: atol 2 R u (1.5 R^2);
 *   loss: the mean of R terms |x| < 1.5: atol 2 R u 1.5;
 *   the rest has no sum of f32 (i32 sums are exact): identical. */
static const kcase cases[] = {
    { "elementwise chain with broadcasts (gelu, every math function)", kt_elementwise, 0, 0 },
    { "softmax [7] x reduce [45]", b_softmax, 2 * 47 * U, 0 },
    { "softmax [3] x reduce [5] (tail lanes only)", b_softmax_short, 2 * 7 * U, 0 },
    { "layernorm [5] x reduce [67]", b_layernorm, 0, 40 * 67 * U },
    { "column sum and max [9] x reduce [53]", b_colsum, 0, 4 * 53 * 53 * U },
    { "embedding gather", b_gather, 0, 0 },
    { "random draws and dropout", kt_random, 0, 0 },
    { "cmp, where, max, casts", kt_compare, 0, 0 },
    { "i32 arithmetic and reductions", kt_int, 0, 0 },
    { "iota and a weighted sum", kt_iota, 0, 2 * 23 * U * 1.5 * 23 * 23 },
    { "rank-0 loss and rank-3 strided reduction", kt_scalar_and_rank3, 0, 2 * 100 * U * 1.5 },
    { "AdamW in place", b_adamw, 0, 0 },
};

static void run_case(const kcase *k, uint64_t seed)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    k->build(t);
    cg_cpu_stats st;
    cg_cpu_program *c = kt_compile(t, &st);
    if (!tap_ok(c != NULL, "%s: compiles", k->name)) {
        ir_kprogram_free(&t->p);
        free(t);
        return;
    }
    void **cpu = kt_alloc(t, seed), **lanes = kt_alloc(t, seed), **seq = kt_alloc(t, seed);
    char err[512];
    int64_t faults = kt_run_cpu(t, c, cpu, 3);
    int rc8 = kt_run_ref(t, lanes, KT_CPU_ORDER, err, sizeof err);
    tap_ok(faults == 0 && rc8 == 0, "%s: runs without faults (%lld) or errors (%s)", k->name, (long long)faults, err);
    tap_ok(kt_close(t, cpu, lanes, 0, 0), "%s: identical to the reference in the backend's order", k->name);
    int rc1 = kt_run_ref(t, seq, 1, err, sizeof err);
    tap_ok(rc1 == 0 && kt_close(t, cpu, seq, k->rtol, k->atol), "%s: within %.1e + %.1e |x| of the term-by-term order",
           k->name, k->atol, k->rtol);
    tap_diag("  %s: %.1f ms to compile (%.1f build, %.1f optimise, %.1f emit, %.1f load)", k->name,
             1e3 * (st.build_s + st.optimise_s + st.emit_s + st.load_s), 1e3 * st.build_s, 1e3 * st.optimise_s,
             1e3 * st.emit_s, 1e3 * st.load_s);
    kt_free_bufs(t, cpu);
    kt_free_bufs(t, lanes);
    kt_free_bufs(t, seq);
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* Every case in one program, one module: same results as one by one, and
 * each piece count of the point range gives the same bits. */
static void test_one_module(uint64_t seed)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) cases[i].build(t);
    cg_cpu_program *c = kt_compile(t, NULL);
    if (tap_ok(c != NULL, "all cases in one module compile")) {
        void **one = kt_alloc(t, seed), **many = kt_alloc(t, seed), **ref = kt_alloc(t, seed);
        char err[512];
        int64_t f1 = kt_run_cpu(t, c, one, 1), f7 = kt_run_cpu(t, c, many, 7);
        tap_ok(f1 == 0 && f7 == 0 && kt_close(t, one, many, 0, 0), "one piece or seven pieces of the points: same bits");
        tap_ok(kt_run_ref(t, ref, KT_CPU_ORDER, err, sizeof err) == 0 && kt_close(t, one, ref, 0, 0),
               "one module of %d kernels: identical to the reference", t->p.n_launches);
        kt_free_bufs(t, one);
        kt_free_bufs(t, many);
        kt_free_bufs(t, ref);
    }
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* The same kernels over other buffers (two layernorms, two softmaxes, an
 * AdamW per parameter) share one function each, and each launch computes
 * on its own buffers. */
static void test_shared(uint64_t seed)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    kt_layernorm(t, 5, 67);
    kt_softmax(t, 7, 45);
    kt_layernorm(t, 5, 67);
    kt_adamw(t, 301);
    kt_softmax(t, 7, 45);
    kt_adamw(t, 301);
    kt_adamw(t, 302);
    cg_cpu_stats st;
    cg_cpu_program *c = kt_compile(t, &st);
    if (tap_ok(c != NULL, "shared kernels: compile")) {
        tap_ok(st.kernels == 7 && st.unique == 4, "7 launches, 4 distinct kernels (%d)", st.unique);
        tap_ok(cg_cpu_kernel(c, 0) == cg_cpu_kernel(c, 2) && cg_cpu_kernel(c, 1) == cg_cpu_kernel(c, 4) &&
               cg_cpu_kernel(c, 3) == cg_cpu_kernel(c, 5) && cg_cpu_kernel(c, 5) != cg_cpu_kernel(c, 6),
               "launches of one kernel share its function; another size is another kernel");
        void **cpu = kt_alloc(t, seed), **ref = kt_alloc(t, seed);
        char err[512];
        int64_t faults = kt_run_cpu(t, c, cpu, 2);
        tap_ok(faults == 0 && kt_run_ref(t, ref, KT_CPU_ORDER, err, sizeof err) == 0 && kt_close(t, cpu, ref, 0, 0),
               "each launch computes on its own buffers, identical to the reference");
        kt_free_bufs(t, cpu);
        kt_free_bufs(t, ref);
    }
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* Tokens up to V + 3: the loads of rows >= V fault, read 0 and are counted;
 * the reference evaluator reports the first one. */
static void test_gather_out_of_bounds(uint64_t seed)
{
    enum { N = 40, V = 11, C = 16 };
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    kt_gather(t, N, V, C, V + 3);
    cg_cpu_program *c = kt_compile(t, NULL);
    void **bufs = kt_alloc(t, seed);
    if (tap_ok(c && bufs, "gather out of bounds: compiles")) {
        const int32_t *tok = bufs[0];
        const float *wpe = bufs[2], *emb = bufs[3];
        int64_t want = 0;
        for (int i = 0; i < N; i++) want += tok[i] >= V ? C : 0;
        int64_t faults = kt_run_cpu(t, c, bufs, 2);
        tap_ok(want > 0 && faults == want, "gather out of bounds: %lld faults counted (want %lld)", (long long)faults,
               (long long)want);
        bool zero = true;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < C && tok[i] >= V; j++) zero &= emb[i * C + j] == wpe[i * C + j];
        tap_ok(zero, "gather out of bounds: the faulting loads read 0");
        char err[512];
        int rc = kt_run_ref(t, bufs, 1, err, sizeof err);
        tap_ok(rc < 0 && strstr(err, "outside b1's 176 elements"), "the reference reports it (%s)", err);
    }
    kt_free_bufs(t, bufs);
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* The printed IR names functions after launches and carries the model-file lines. */
static void test_printed_ir(void)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "gpt2.moe");
    kt_softmax(t, 4, 16);
    ir_launch_add_line(&t->p.launches[0], 12);
    kt_softmax(t, 4, 17);   /* the same name, another kernel */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    int rc = cg_cpu_print_ir(f, &t->p, 0, &d);
    fclose(f);
    tap_ok(rc == 0 && text && strstr(text, "define i64 @softmax_fwd_test.k0(i8** noalias nocapture readonly %args") &&
           strstr(text, "define i64 @softmax_fwd_test.k1("), "IR: functions named after launches (twins get .kN)");
    tap_ok(text && strstr(text, "!{!\"gpt2.moe:7,12\"}") && strstr(text, "!moec.source"),
           "IR: each function carries its model-file lines");
    tap_ok(text && !strstr(text, "fast") && !strstr(text, "reassoc") && !strstr(text, "contract"),
           "IR: no fast-math flag anywhere");
    free(text);
    ir_kprogram_free(&t->p);
    free(t);
}

/* Four threads run disjoint quarters of a layernorm's rows at once. */
typedef struct quarter { cg_kernel_fn *fn; void **args; int64_t begin, end, faults; } quarter;
static void *run_quarter(void *arg)
{
    quarter *q = arg;
    q->faults = q->fn(q->args, q->begin, q->end);
    return NULL;
}

static void test_threads(uint64_t seed)
{
    enum { ROWS = 203 };
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    kt_layernorm(t, ROWS, 77);
    cg_cpu_program *c = kt_compile(t, NULL);
    void **par = kt_alloc(t, seed), **one = kt_alloc(t, seed);
    if (tap_ok(c != NULL, "threads: compiles")) {
        quarter q[4];
        pthread_t tid[4];
        void *args[KT_MAX_ARGS], *args1[KT_MAX_ARGS];
        cg_cpu_args(c, 0, par, args);
        cg_cpu_args(c, 0, one, args1);
        for (int k = 0; k < 4; k++) {
            q[k] = (quarter){ cg_cpu_kernel(c, 0), args, ROWS * k / 4, ROWS * (k + 1) / 4, -1 };
            pthread_create(&tid[k], NULL, run_quarter, &q[k]);
        }
        for (int k = 0; k < 4; k++) pthread_join(tid[k], NULL);
        int64_t f = cg_cpu_kernel(c, 0)(args1, 0, ROWS);
        tap_ok(f == 0 && !q[0].faults && !q[3].faults && kt_close(t, par, one, 0, 0),
               "threads: four threads on disjoint rows give the bits of one call");
    }
    kt_free_bufs(t, par);
    kt_free_bufs(t, one);
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* exp and tanh at their special values and thresholds, 8 lanes at a time
 * and in the masked tail: the bits of ir/kernel_math.h (which the
 * reference evaluator calls), NaN's included. */
static void test_exp_tanh_specials(void)
{
    static const float xs[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.72283935546875f, 88.7228394f, 88.8f,
                                -87.3f, -100.0f, -103.97f, -104.0f, -104.5f, 1e-30f, -1e-30f, 0x1p-149f, 0.625f,
                                -0.625f, 0.6250001f, 9.0f, -9.0f, 44.5f, -44.5f, 1.5f, -2.75f };
    enum { N = sizeof xs / sizeof xs[0] };
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    int x = kt_buf(t, "x", IR_F32, N, 0, 1, false), e = kt_buf(t, "e", IR_F32, N, 0, 1, false);
    int th = kt_buf(t, "t", IR_F32, N, 0, 1, false);
    ir_launch *l = ir_launch_add(&t->p, IR_LAUNCH_LOOP, "exp_tanh");
    l->loop.rank = 1;
    l->loop.dim[0] = N;
    ir_kindex at = { .stride = { 1 }, .gather = -1 };
    int v = ir_k_load(&t->p, l, IR_KPASS_POINT, x, at);
    ir_k_store(&t->p, l, IR_KPASS_POINT, e, at, ir_k_alu(&t->p, l, IR_KPASS_POINT, IR_EXP, 0, v, -1, -1));
    ir_k_store(&t->p, l, IR_KPASS_POINT, th, at, ir_k_alu(&t->p, l, IR_KPASS_POINT, IR_TANH, 0, v, -1, -1));
    cg_cpu_program *c = kt_compile(t, NULL);
    void **bufs = kt_alloc(t, 1);
    if (tap_ok(c && bufs, "exp and tanh specials: compiles")) {
        memcpy(bufs[x], xs, sizeof xs);
        int64_t faults = kt_run_cpu(t, c, bufs, 1);
        bool same = faults == 0;
        for (int i = 0; i < N; i++) {
            float we = ir_kexpf(xs[i]), wt = ir_ktanhf(xs[i]);
            same &= !memcmp(&((float *)bufs[e])[i], &we, 4) && !memcmp(&((float *)bufs[th])[i], &wt, 4);
        }
        tap_ok(same, "exp and tanh specials: the compiled bits are ir_kexpf's and ir_ktanhf's on %d values", (int)N);
    }
    kt_free_bufs(t, bufs);
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
}

/* A program that does not verify is reported, and nothing is compiled. */
static void test_bad_program(void)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "test.moe");
    kt_softmax(t, 3, 9);
    t->p.launches[0].loop.ins[0].index.base = 1;   /* one past the row */
    char err[512] = "";
    FILE *f = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, f, 3);
    cg_cpu_program *c = NULL;
    cg_cpu_options o = { .no_cache = true };
    int rc = cg_cpu_compile(&t->p, &o, &c, NULL, &d);
    fclose(f);
    tap_ok(rc < 0 && !c && strstr(err, "index reaches"), "a program that does not verify is refused (%.*s)",
           (int)strcspn(err, "\n"), err);
    ir_kprogram_free(&t->p);
    free(t);
}

int main(void)
{
    uint64_t seed = kt_seed((uint64_t)time(NULL));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], seed + i);
    test_one_module(seed);
    test_shared(seed);
    test_gather_out_of_bounds(seed);
    test_printed_ir();
    test_threads(seed);
    test_bad_program();
    test_exp_tanh_specials();
    return tap_done();
}
