/* tests/ir/test_kernel.c -- the kernel program's builders, printer and
 * checker (ir/kernel.h): a hand-built softmax row kernel and product print
 * as doc/kernels.md shows and verify clean; each kind of malformed launch
 * is caught and named. */
#include <stdlib.h>
#include <string.h>

#include "ir/kernel.h"
#include "tests/tap.h"

enum { ROWS = 6, COLS = 5 };

/* softmax over the rows of x [ROWS, COLS] into y: three passes. */
static ir_launch *softmax(ir_kprogram *p, int x, int y)
{
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_LOOP, "softmax_fwd_test");
    l->loop = (ir_kloop){ .rank = 1, .dim = { ROWS }, .reduce = COLS, .n_passes = 3 };
    ir_kindex at = { .stride = { COLS, [IR_K_REDUCE_AXIS] = 1 }, .gather = -1 };
    int v = ir_k_load(p, l, 0, x, at);
    int mx = ir_k_reduce(p, l, 0, IR_REDUCE_MAX, v);
    int v1 = ir_k_load(p, l, 1, x, at);
    int e1 = ir_k_alu(p, l, 1, IR_EXP, 0, ir_k_alu(p, l, 1, IR_SUB, 0, v1, mx, -1), -1, -1);
    int sum = ir_k_reduce(p, l, 1, IR_SUM, e1);
    int v2 = ir_k_load(p, l, 2, x, at);
    int e2 = ir_k_alu(p, l, 2, IR_EXP, 0, ir_k_alu(p, l, 2, IR_SUB, 0, v2, mx, -1), -1, -1);
    ir_k_store(p, l, 2, y, at, ir_k_alu(p, l, 2, IR_DIV, 0, e2, sum, -1));
    ir_launch_add_line(l, 14);
    ir_launch_add_line(l, 9);
    ir_launch_add_line(l, 14);
    return l;
}

static char *print_program(const ir_kprogram *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    ir_kprogram_print(f, p, true);
    fclose(f);
    return text;
}

/* Runs the checker on p, returning 0/-1 and the message in msg. */
static int verify(const ir_kprogram *p, char *msg, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -2;
    moec_diag d;
    moec_diag_init(&d, f, 20);
    int rc = ir_kprogram_verify(p, &d);
    fclose(f);
    snprintf(msg, size, "%s", text ? text : "");
    msg[strcspn(msg, "\n")] = '\0';
    free(text);
    return rc;
}

static void build_base(ir_kprogram *p, int *x, int *y)
{
    ir_kprogram_init(p, "test.moe");
    *x = ir_kbuf_add(p, "x", IR_F32, ROWS * COLS, IR_BUF_INPUT, -1);
    *y = ir_kbuf_add(p, "y", IR_F32, ROWS * COLS, IR_BUF_ACTIVATION, -1);
}

static void test_good(void)
{
    ir_kprogram p;
    int x, y;
    build_base(&p, &x, &y);
    ir_launch *l = softmax(&p, x, y);
    tap_ok(l->lines[0] == 9 && l->lines[1] == 14 && l->lines[2] == 0, "model-file lines kept sorted, once each");
    tap_ok(l->n_reads == 1 && l->reads[0] == x && l->n_writes == 1 && l->writes[0] == y, "reads and writes recorded");
    ir_launch *g = ir_launch_add(&p, IR_LAUNCH_GEMM, "gemm_test");
    g->gemm = (ir_kgemm){ .batch = { 1, 1 }, .m = ROWS, .n = ROWS, .k = COLS, .alpha = 1, .group_rows = -1,
                          .a = { .buf = y, .row_stride = COLS, .col_stride = 1 },
                          .b = { .buf = x, .row_stride = 1, .col_stride = COLS },   /* x transposed */
                          .c = { .buf = ir_kbuf_add(&p, "yyT", IR_F32, ROWS * ROWS, IR_BUF_ACTIVATION, -1),
                                 .row_stride = ROWS, .col_stride = 1 } };
    char msg[512];
    tap_ok(verify(&p, msg, sizeof msg) == 0, "softmax kernel and product verify (%s)", msg);
    char *text = print_program(&p);
    tap_ok(text && strstr(text, "k0 softmax_fwd_test  loop [6] x reduce [5] passes 3  reads b0  writes b1  @9,14"),
           "launch line printed");
    tap_ok(text && strstr(text, "      v1 = reduce reduce_max v0 : f32  pass 0\n"), "reduction printed");
    tap_ok(text && strstr(text, "store b1[5*i0 + r] = v"), "store index printed");
    tap_ok(text && strstr(text, "k1 gemm_test  gemm [1 x 1] m=6 n=6 k=5"), "product printed");
    free(text);
    ir_kprogram_free(&p);
}

/* Each mutation of a good softmax program must be caught with `expect` in the message. */
typedef void mutate_fn(ir_kprogram *p, ir_launch *l);
static void m_index(ir_kprogram *p, ir_launch *l) { (void)p; l->loop.ins[0].index.base = 1; }
static void m_pass(ir_kprogram *p, ir_launch *l) { (void)p; l->loop.ins[3].src[0] = 0; }
static void m_order(ir_kprogram *p, ir_launch *l) { (void)p; l->loop.ins[2].pass = 2; }
static void m_axis(ir_kprogram *p, ir_launch *l) { (void)p; l->loop.ins[0].index.stride[3] = 1; }
static void m_buf(ir_kprogram *p, ir_launch *l) { l->loop.ins[0].buf = p->n_bufs; }
static void m_view(ir_kprogram *p, ir_launch *l) { (void)l; ir_kbuf_view(p, "v", 0, 4, ROWS * COLS, IR_BUF_PARAM, -1); }
/* a sum of pass 2 used inside pass 2 (v9 is the normalised value) */
static void m_early(ir_kprogram *p, ir_launch *l)
{
    int s = ir_k_reduce(p, l, 2, IR_SUM, 9);
    ir_k_alu(p, l, 2, IR_MUL, 0, 9, s, -1);
}
static void m_math_i32(ir_kprogram *p, ir_launch *l)
{
    int i = ir_k_const(p, l, IR_KPASS_POINT, IR_I32, 3);
    ir_k_alu(p, l, IR_KPASS_POINT, IR_EXP, 0, i, -1, -1);
}
static void m_store_type(ir_kprogram *p, ir_launch *l)
{
    ir_k_store(p, l, 2, 1, l->loop.ins[l->loop.n_ins - 1].index, ir_k_const(p, l, 2, IR_I32, 3));
}
static void m_point_r(ir_kprogram *p, ir_launch *l) { ir_k_load(p, l, IR_KPASS_POINT, 0, l->loop.ins[0].index); }
static void m_mixed(ir_kprogram *p, ir_launch *l)
{
    int i = ir_k_const(p, l, IR_KPASS_POINT, IR_I32, 3);
    ir_k_alu(p, l, IR_KPASS_POINT, IR_ADD, 0, i, 1, -1);
}

static void test_bad(void)
{
    static const struct { const char *name; mutate_fn *fn; const char *expect; } cases[] = {
        { "index one past the end", m_index, "index reaches [1, 30] outside b0's 30 elements" },
        { "value of another pass", m_pass, "uses a value of another reduce pass" },
        { "passes out of order", m_order, "reduce pass" },
        { "axis the loop lacks", m_axis, "index uses an axis the loop does not have" },
        { "unknown buffer", m_buf, "no such buffer" },
        { "view past its parent", m_view, "is a bad view" },
        { "a reduction used in its own pass", m_early, "uses a reduction before its pass has ended" },
        { "exp of an i32", m_math_i32, "math function of an i32 value" },
        { "an i32 stored into an f32 buffer", m_store_type, "stored value's dtype differs from its buffer's" },
        { "a point value indexed by r", m_point_r, "a point value indexes the reduce axis" },
        { "i32 plus f32", m_mixed, "operands of different dtypes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ir_kprogram p;
        int x, y;
        build_base(&p, &x, &y);
        ir_launch *l = softmax(&p, x, y);
        cases[i].fn(&p, l);
        char msg[512];
        int rc = verify(&p, msg, sizeof msg);
        tap_ok(rc == -1 && strstr(msg, cases[i].expect), "caught: %s (%s)", cases[i].name, msg);
        ir_kprogram_free(&p);
    }
}

int main(void)
{
    test_good();
    test_bad();
    return tap_done();
}
