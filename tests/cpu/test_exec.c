/* tests/cpu/test_exec.c -- the CPU executor (runtime/cpu/exec.h) on a
 * hand-built program: a product reading an expert's weights through a view,
 * a loop kernel run by a hand-written rt_loop_fn, a top-k template; with
 * every buffer on its own and with the memory plan's arena offsets, on 1
 * and 3 threads, checked against the interpreter. Binding host memory,
 * copying in and out by name, the timers and each refusal are checked too. */
#include "ir/interp.h"
#include "tests/cpu/helpers.h"
#include "tests/ir/helpers.h"

enum { R = 64, K = 32, N = 512, TOP = 8 };
enum { B_X, B_EXPERTS, B_W, B_Y, B_Z, B_IDX, B_HITS, B_COUNT };   /* buffer ids */

/* The loop kernel k1 as its compiled function would be: z = 2 exp(0.1 y),
 * and a count of each point's visits in the scratch buffer. */
static int64_t scaled_exp(void *const *bufs, int64_t begin, int64_t end)
{
    const float *y = bufs[B_Y];
    float *z = bufs[B_Z];
    int32_t *hits = bufs[B_HITS];
    for (int64_t p = begin; p < end; p++) {
        z[p] = 2.0f * expf(0.1f * y[p]);
        hits[p]++;
    }
    return 0;
}

/* A loop function that meets one fault at every point (R x N of them). */
static int64_t faulty(void *const *bufs, int64_t begin, int64_t end)
{
    (void)bufs;
    return end - begin;
}

static void add_buffers(ir_kprogram *p)
{
    ir_kprogram_init(p, "test.moe");
    ir_kbuf_add(p, "x", IR_F32, R * K, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "experts", IR_F32, 2 * K * N, IR_BUF_PARAM, -1);
    ir_kbuf_view(p, "experts.1", B_EXPERTS, K * N, K * N, IR_BUF_PARAM, -1);
    ir_kbuf_add(p, "y", IR_F32, R * N, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "z", IR_F32, R * N, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "idx", IR_I32, R * TOP, IR_BUF_OUTPUT, -1);
    ir_kbuf_add(p, "hits", IR_I32, R * N, IR_BUF_SCRATCH, -1);
}

/* x @ experts.1 -> y; z = 2 exp(0.1 y); idx = topk(z, TOP). */
static void build(ir_kprogram *p, bool planned)
{
    add_buffers(p);
    ir_launch *g = ir_launch_add(p, IR_LAUNCH_GEMM, "gemm_x_w");
    g->gemm = (ir_kgemm){ .batch = { 1, 1 }, .m = R, .n = N, .k = K, .alpha = 1, .group_rows = -1,
                          .a = { .buf = B_X, .row_stride = K, .col_stride = 1 },
                          .b = { .buf = B_W, .row_stride = N, .col_stride = 1 },
                          .c = { .buf = B_Y, .row_stride = N, .col_stride = 1 } };
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_LOOP, "scaled_exp");
    l->loop = (ir_kloop){ .rank = 2, .dim = { R, N } };
    ir_kindex at = ir_kindex_contiguous(&l->loop, &(ir_shape){ 2, { R, N } });
    int y = ir_k_load(p, l, IR_KPASS_POINT, B_Y, at);   /* one builder call a statement: a fixed numbering */
    int tenth = ir_k_const(p, l, IR_KPASS_POINT, IR_F32, 0.1);
    int e = ir_k_alu(p, l, IR_KPASS_POINT, IR_EXP, 0, ir_k_alu(p, l, IR_KPASS_POINT, IR_MUL, 0, y, tenth, -1), -1, -1);
    int two = ir_k_const(p, l, IR_KPASS_POINT, IR_F32, 2);
    ir_k_store(p, l, IR_KPASS_POINT, B_Z, at, ir_k_alu(p, l, IR_KPASS_POINT, IR_MUL, 0, e, two, -1));
    ir_launch *t = ir_launch_add(p, IR_LAUNCH_TEMPLATE, "topk_z");
    t->tmpl.node = (ir_node){ .op = IR_TOPK, .dtype = IR_I32, .shape = { 2, { R, TOP } }, .n_in = 1 };
    ir_attr_set_k(&t->tmpl.node, TOP);
    t->tmpl.in_shape[0] = (ir_shape){ 2, { R, N } };
    t->tmpl.in[0] = B_Z;
    t->tmpl.out = B_IDX;
    if (planned) {   /* y, z and hits side by side in the arena, hits first */
        p->bufs[B_HITS].arena_offset = 0;
        p->bufs[B_Y].arena_offset = R * N * 4;
        p->bufs[B_Z].arena_offset = 2 * R * N * 4;
        p->arena_bytes = 3 * R * N * 4;
    }
}

/* The interpreter's z (f32) for the same x and expert weights. */
static double *reference_z(const float *x, const float *w)
{
    ir_graph g;
    if (graph_init(&g) < 0) exit(1);
    int xn = ir_param(&g, 0, "x", SH(R, K)), wn = ir_param(&g, 1, "w", SH(K, N));
    int y = ir_matmul(&g, xn, wn);
    int tenth = ir_scalar(&g, 0.1);
    int e = ir_unary(&g, IR_EXP, ir_binary(&g, IR_MUL, y, tenth));
    int two = ir_scalar(&g, 2);
    int z = ir_binary(&g, IR_MUL, e, two);
    ir_interp *it = ir_interp_new(&g, IR_PREC_F32);
    double *xv = malloc(sizeof *xv * R * K), *wv = malloc(sizeof *wv * K * N), *out = malloc(sizeof *out * R * N);
    if (!it || !xv || !wv || !out) exit(1);
    for (int i = 0; i < R * K; i++) xv[i] = x[i];
    for (int i = 0; i < K * N; i++) wv[i] = w[i];
    ir_interp_bind(it, xn, xv);
    ir_interp_bind(it, wn, wv);
    if (ir_interp_run(it, z, g.diag) < 0) exit(1);
    memcpy(out, ir_interp_value(it, z), sizeof *out * R * N);
    ir_interp_free(it);
    free(xv);
    free(wv);
    ir_graph_free(&g);
    return out;
}

/* idx must be each row's TOP largest z in descending order, ties to the lower index. */
static bool topk_matches(const float *z, const int32_t *idx)
{
    for (int r = 0; r < R; r++)
        for (int j = 0; j < TOP; j++) {
            int32_t i = idx[r * TOP + j];
            if (i < 0 || i >= N) return false;
            int above = 0;   /* entries ranked before i */
            for (int c = 0; c < N; c++) above += z[r * N + c] > z[r * N + i] || (z[r * N + c] == z[r * N + i] && c < i);
            if (above != j) return false;
        }
    return true;
}

static void fill_inputs(rt_exec *ex, float *experts)
{
    static float x[R * K];
    static double v[2 * K * N];
    fill_random(v, R * K, 1, 0);
    for (int i = 0; i < R * K; i++) x[i] = (float)v[i];
    fill_random(v, 2 * K * N, 2, 0);
    for (int i = 0; i < 2 * K * N; i++) experts[i] = (float)v[i];
    rt_exec_write(ex, rt_exec_find(ex, "x"), x, R * K);
}

/* After `runs` runs: z against the interpreter, idx against z, each loop point visited once per run. */
static void check_values(const rt_exec *ex, const float *w, int runs, const char *name)
{
    static float x[R * K], z[R * N];
    static int32_t idx[R * TOP], hits[R * N];
    static double got[R * N];
    rt_exec_read(ex, B_X, x, R * K);
    rt_exec_read(ex, B_Z, z, R * N);
    rt_exec_read(ex, rt_exec_find(ex, "idx"), idx, R * TOP);
    rt_exec_read(ex, B_HITS, hits, R * N);
    double *want = reference_z(x, w);
    for (int i = 0; i < R * N; i++) got[i] = z[i];
    tap_ok(close_arrays(got, want, R * N, 1e-5, 1e-6), "%s: z matches the interpreter", name);
    free(want);
    tap_ok(topk_matches(z, idx), "%s: idx is each row's top %d of z", name, TOP);
    bool each = true;
    for (int i = 0; i < R * N; i++) each &= hits[i] == runs;
    tap_ok(each, "%s: each point of the loop ran once per run", name);
}

/* Two runs of the program, then its values and timers. */
static void test_run(bool planned, int threads)
{
    char name[64];
    snprintf(name, sizeof name, "%s, %d thread%s", planned ? "arena offsets" : "own buffers", threads, threads > 1 ? "s" : "");
    ir_kprogram p;
    build(&p, planned);
    rt_pool *pool = test_pool(threads);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, pool, sd);
    static float experts[2 * K * N];
    if (!tap_ok(ex && rt_exec_set_loop(ex, 1, scaled_exp) == 0, "%s: executor made %s", name, sink_text(sd))) exit(1);
    fill_inputs(ex, experts);
    rt_exec_write(ex, B_EXPERTS, experts, 2 * K * N);
    bool ran = rt_exec_run(ex) == 0 && rt_exec_run(ex) == 0;
    tap_ok(ran, "%s: runs twice %s", name, sink_text(sd));
    check_values(ex, experts + K * N, 2, name);
    const rt_launch_time *t = rt_exec_times(ex);
    tap_ok(t[0].runs == 2 && t[1].runs == 2 && t[2].runs == 2 && t[0].ns > 0 && t[1].ns > 0 && t[2].ns > 0,
           "%s: timers count 2 runs of each launch (%lld, %lld, %lld ns)", name, (long long)t[0].ns, (long long)t[1].ns, (long long)t[2].ns);
    if (planned)
        tap_ok(rt_exec_arena_bytes(ex) == 3 * R * N * 4 && (char *)rt_exec_data(ex, B_Z) - (char *)rt_exec_data(ex, B_HITS) == 2 * R * N * 4,
               "%s: buffers at their arena offsets", name);
    else tap_ok(rt_exec_arena_bytes(ex) == 0, "%s: no arena without a plan", name);
    rt_exec_reset_times(ex);
    tap_ok(rt_exec_times(ex)[1].runs == 0 && rt_exec_times(ex)[1].ns == 0, "%s: timers reset", name);
    rt_exec_free(ex);
    rt_pool_free(pool);
    ir_kprogram_free(&p);
}

/* The experts bound to host memory: the view follows, the product reads it. */
static void test_bind(void)
{
    ir_kprogram p;
    build(&p, false);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, NULL, sd);
    static float host[2 * K * N];
    if (!ex) exit(1);
    rt_exec_set_loop(ex, 1, scaled_exp);
    fill_inputs(ex, host);
    tap_ok(rt_exec_bind(ex, B_EXPERTS, host, 2 * K * N) == 0 && rt_exec_data(ex, B_W) == host + K * N,
           "bind: the view points into the host memory %s", sink_text(sd));
    tap_ok(rt_exec_run(ex) == 0, "bind: runs %s", sink_text(sd));
    check_values(ex, host + K * N, 1, "bind");
    tap_ok(rt_exec_bind(ex, B_Y, host, R * N) == -1 && strstr(sink_text(sd), "cannot bind buffer b3 (y)"), "bind: an activation is refused");
    tap_ok(rt_exec_bind(ex, B_W, host, K * N) == -1, "bind: a view is refused");
    rt_exec_free(ex);
    ir_kprogram_free(&p);
}

static void test_refusals(void)
{
    ir_kprogram p;
    build(&p, false);
    moec_diag *sd = sink();
    rt_exec *ex = rt_exec_new(&p, NULL, sd);
    if (!ex) exit(1);
    tap_ok(rt_exec_run(ex) == -1 && strstr(sink_text(sd), "launch k1 (scaled_exp): no function for this loop kernel"),
           "a loop launch without a function (%s)", sink_text(sd));
    tap_ok(rt_exec_set_loop(ex, 0, scaled_exp) == -1 && strstr(sink_text(sd), "k0 is not a loop launch"), "set_loop on a product");
    rt_exec_set_loop(ex, 1, faulty);
    tap_ok(rt_exec_run(ex) == -1 && strstr(sink_text(sd), "launch k1 (scaled_exp): 32768 faults"),
           "faults a loop function counts are a run error naming the launch (%s)", sink_text(sd));
    float two[2] = { 1, 2 };
    tap_ok(rt_exec_write(ex, B_X, two, 2) == -1 && strstr(sink_text(sd), "2 elements given, it holds 2048"), "a write of the wrong count");
    tap_ok(rt_exec_read(ex, B_COUNT, two, 2) == -1 && strstr(sink_text(sd), "no such buffer"), "a read of no buffer");
    tap_ok(rt_exec_find(ex, "experts.1") == B_W && rt_exec_find(ex, "nothing") == -1, "buffers found by name");
    rt_exec_free(ex);
    p.bufs[B_Y].arena_offset = 4;
    ex = rt_exec_new(&p, NULL, sd);
    tap_ok(!ex && strstr(sink_text(sd), "arena offset 4 is not a multiple of 64"), "a misaligned arena offset");
    p.bufs[B_Y].arena_offset = -1;
    p.launches[0].gemm.c.buf = B_COUNT;
    ex = rt_exec_new(&p, NULL, sd);
    tap_ok(!ex && strstr(sink_text(sd), "kernel program: launch k0 (gemm_x_w): product operand: no such buffer"),
           "a program the checker refuses");
    ir_kprogram_free(&p);
}

int main(void)
{
    for (int planned = 0; planned < 2; planned++)
        for (int threads = 1; threads <= 3; threads += 2) test_run(planned, threads);
    test_bind();
    test_refusals();
    sink_close();
    return tap_done();
}
