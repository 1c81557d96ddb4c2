/* tests/cli/test_launch_cost.c -- `moec bench`'s cost model
 * (runtime/launch_cost.h) on a hand-built kernel program whose counts are
 * worked out below by hand: FLOPs of plain, batched and grouped products
 * and of loop kernels (point and reduce-pass instructions), bytes of
 * broadcast, reduce-axis and gathered loads, and the class of each launch
 * from its node's op and scope (MoE layer, expert, optimizer, other). */
#include <string.h>

#include "runtime/launch_cost.h"
#include "tests/tap.h"

/* Graph nodes in the scopes classification looks at. */
typedef struct nodes {
    int adamw, grad, moe, expert, attn, gather, embed;
} nodes;

enum { B_A, B_B, B_C, B_ROWS, B_X, B_Y, B_IDX, B_TABLE, B_OUT, B_SRC, B_BIG, B_COUNT };

static int scoped_scalar(ir_graph *g, const char *scope, double v)
{
    ir_set_origin(g, (moec_loc){0}, scope);
    return ir_scalar(g, v);
}

static nodes build_graph(ir_graph *g)
{
    ir_graph_init(g);
    g->cse = false;
    nodes n = { .adamw = scoped_scalar(g, "adamw", 1), .grad = scoped_scalar(g, "grad", 2),
                .moe = scoped_scalar(g, "h.1.mlp", 3), .expert = scoped_scalar(g, "h.1.mlp.experts.c_fc", 4),
                .attn = scoped_scalar(g, "h.1.attn", 5), .embed = scoped_scalar(g, "wte", 6) };
    ir_set_origin(g, (moec_loc){0}, "h.1.mlp");
    int table = ir_param(g, 0, "table", (ir_shape){ 2, { 100, 8 } });
    int idx = ir_input(g, IR_INPUT_TOKENS, (ir_shape){ 2, { 2, 2 } });
    n.gather = ir_gather(g, table, idx);
    return n;
}

static void add_buffers(ir_kprogram *p, const nodes *n)
{
    ir_kprogram_init(p, "test.moe");
    ir_kbuf_add(p, "a", IR_F32, 2 * 4 * 6, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "b", IR_F32, 6 * 6 * 5, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "c", IR_F32, 6 * 4 * 5, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "rows", IR_I32, 4, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "x", IR_F32, 4 * 16, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "y", IR_F32, 4 * 8, IR_BUF_ACTIVATION, n->attn);
    ir_kbuf_add(p, "idx", IR_I32, 4, IR_BUF_INPUT, -1);
    ir_kbuf_add(p, "table", IR_F32, 100 * 8, IR_BUF_PARAM, -1);
    ir_kbuf_add(p, "out", IR_F32, 4 * 8, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "src", IR_F32, 12 * 8, IR_BUF_ACTIVATION, -1);
    ir_kbuf_add(p, "big", IR_F32, 1000, IR_BUF_ACTIVATION, -1);
}

/* C[2x3 batches of 4x5] = A[2 batches of 4x6] B[6 batches of 6x5] + C: A moves along batch axis 0 only. */
static void add_products(ir_kprogram *p, const nodes *n)
{
    char name[64];
    snprintf(name, sizeof name, "matmul_h_1_mlp_n%d", n->moe);
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_GEMM, name);
    l->gemm = (ir_kgemm){ .batch = { 2, 3 }, .m = 4, .n = 5, .k = 6, .alpha = 1, .beta = 1, .group_rows = -1,
                          .a = { .buf = B_A, .row_stride = 6, .col_stride = 1, .batch_stride = { 24, 0 } },
                          .b = { .buf = B_B, .row_stride = 5, .col_stride = 1, .batch_stride = { 90, 30 } },
                          .c = { .buf = B_C, .row_stride = 5, .col_stride = 1, .batch_stride = { 60, 20 } } };
    /* Grouped: 8 rows over 4 groups, x[8x6] times w[g][6x5]. */
    l = ir_launch_add(p, IR_LAUNCH_GEMM, "grouped_matmul_h_1_mlp_experts_c_fc_n0");
    l->gemm = (ir_kgemm){ .batch = { 4, 1 }, .m = 8, .n = 5, .k = 6, .alpha = 1, .groups = 4, .group_rows = B_ROWS,
                          .a = { .buf = B_SRC, .row_stride = 6, .col_stride = 1 },
                          .b = { .buf = B_B, .row_stride = 5, .col_stride = 1, .batch_stride = { 30, 0 } },
                          .c = { .buf = B_BIG, .row_stride = 5, .col_stride = 1 } };
}

/* y[i0, i1] = sum_r exp(x[i0, r]) / 2 over [4, 8] x reduce [16] (x read along i0 and r only). */
static void add_softmax_like(ir_kprogram *p, const char *name)
{
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_LOOP, name);
    l->loop = (ir_kloop){ .rank = 2, .dim = { 4, 8 }, .reduce = 16, .n_passes = 1 };
    ir_kindex xi = { .stride = { 16, 0, 0, 0, 0, 0, 1 }, .gather = -1 };
    int x = ir_k_load(p, l, 0, B_X, xi);
    int s = ir_k_reduce(p, l, 0, IR_SUM, ir_k_alu(p, l, 0, IR_EXP, 0, x, -1, -1));
    int two = ir_k_const(p, l, IR_KPASS_POINT, IR_F32, 2);
    ir_kindex yi = { .stride = { 8, 1 }, .gather = -1 };
    ir_k_store(p, l, IR_KPASS_POINT, B_Y, yi, ir_k_alu(p, l, IR_KPASS_POINT, IR_DIV, 0, s, two, -1));
}

/* out[i0, i1] = table[idx[i0], i1] + 1 over [4, 8]: a gather of 4 rows of 8. */
static void add_gather(ir_kprogram *p, const char *name)
{
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_LOOP, name);
    l->loop = (ir_kloop){ .rank = 2, .dim = { 4, 8 } };
    int v = ir_k_load(p, l, IR_KPASS_POINT, B_IDX, (ir_kindex){ .stride = { 1 }, .gather = -1 });
    ir_kindex row = { .stride = { 0, 1 }, .gather = v, .gather_stride = 8 };
    int t = ir_k_load(p, l, IR_KPASS_POINT, B_TABLE, row);
    int one = ir_k_const(p, l, IR_KPASS_POINT, IR_F32, 1);
    ir_k_store(p, l, IR_KPASS_POINT, B_OUT, (ir_kindex){ .stride = { 8, 1 }, .gather = -1 },
               ir_k_alu(p, l, IR_KPASS_POINT, IR_ADD, 0, t, one, -1));
}

static void add_template(ir_kprogram *p, const char *name, ir_op op, const ir_node *like)
{
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_TEMPLATE, name);
    l->tmpl.node = *like;
    l->tmpl.node.op = op;
    l->tmpl.in_shape[0] = (ir_shape){ 2, { 12, 8 } };
    l->tmpl.in[0] = B_SRC;
    l->tmpl.out = B_BIG;
    ir_launch_reads(l, B_SRC);
    ir_launch_writes(l, B_BIG);
}

static void check(const rt_cost_context *c, int launch, rt_kclass cls, double flops, double bytes)
{
    rt_launch_cost r = rt_launch_cost_of(c, launch);
    tap_ok(r.cls == cls && r.flops == flops && r.bytes == bytes,
           "%s: %s, %g FLOPs, %g bytes (got %s, %g, %g)", c->p->launches[launch].name, rt_kclass_name(cls), flops,
           bytes, rt_kclass_name(r.cls), r.flops, r.bytes);
}

static const char *named(char *buf, const char *what, int node)
{
    snprintf(buf, 64, "%s_n%d", what, node);
    return buf;
}

int main(void)
{
    ir_graph g;
    nodes n = build_graph(&g);
    ir_kprogram p;
    add_buffers(&p, &n);
    add_products(&p, &n);                                               /* k0, k1 */
    char b[64];
    add_softmax_like(&p, named(b, "sum_h_1_attn", n.attn));            /* k2 */
    add_gather(&p, named(b, "add_h_1_mlp_experts_c_fc", n.expert));    /* k3: an expert's bias by row */
    add_gather(&p, named(b, "gather_h_1_mlp", n.gather));              /* k4: the dispatch */
    add_gather(&p, named(b, "add_adamw", n.adamw));                    /* k5 */
    add_softmax_like(&p, named(b, "sum_grad", n.grad));                /* k6 */
    add_template(&p, "topk_h_1_mlp_n3", IR_TOPK, &g.nodes[n.moe]);     /* k7 */
    add_template(&p, "scatter_add_wte_n6", IR_SCATTER_ADD, &g.nodes[n.embed]);   /* k8 */
    add_softmax_like(&p, "unnamed");                                   /* k9: its buffer y names the node */
    ir_moe_layer moe = { .scope = "h.1.mlp" };
    rt_cost_context c = { &p, &g, &moe, 1 };

    /* 2 m n k over 2 x 3 matrices; A 2 x 24, B 6 x 30, C 6 x 20 twice (beta 1): 4 bytes each. */
    check(&c, 0, RT_KCLASS_GEMM, 2.0 * 4 * 5 * 6 * 6, 4.0 * (48 + 180 + 120 + 120));
    /* Grouped: the 8 rows once, not per group; A 8 x 6, B 4 x 30, C 8 x 5, the 4 group sizes. */
    check(&c, 1, RT_KCLASS_GEMM, 2.0 * 8 * 5 * 6, 4.0 * (48 + 120 + 40 + 4));
    /* exp and the sum per term (32 points x 16), the division per point; x 4 x 16, y 32. */
    check(&c, 2, RT_KCLASS_REDUCTION, 32.0 * 16 * 2 + 32, 4.0 * (64 + 32));
    /* One add per point; idx 4, table rows 4 x 8 (not 800), out 32. */
    check(&c, 3, RT_KCLASS_ELEMENTWISE, 32, 4.0 * (4 + 32 + 32));
    check(&c, 4, RT_KCLASS_MOE_DISPATCH, 32, 4.0 * (4 + 32 + 32));
    check(&c, 5, RT_KCLASS_OPTIMIZER, 32, 4.0 * (4 + 32 + 32));
    check(&c, 6, RT_KCLASS_OPTIMIZER, 32.0 * 16 * 2 + 32, 4.0 * (64 + 32));
    /* Templates: whole buffers read and written; a scatter-add adds each source element. */
    check(&c, 7, RT_KCLASS_MOE_DISPATCH, 0, 4.0 * (96 + 1000));
    check(&c, 8, RT_KCLASS_TEMPLATE, 96, 4.0 * (96 + 1000));
    tap_ok(rt_launch_node(&c, 9) == n.attn, "a launch whose name has no node: the node of the buffer it writes");
    tap_ok(rt_launch_cost_of(&c, 9).cls == RT_KCLASS_REDUCTION, "and its class from that node");
    rt_cost_context bare = { &p, NULL, NULL, 0 };
    tap_ok(rt_launch_cost_of(&bare, 4).cls == RT_KCLASS_ELEMENTWISE && rt_launch_node(&bare, 4) == -1,
           "without a graph no scope is known: no MoE dispatch");
    tap_ok(!strcmp(rt_kclass_name(RT_KCLASS_MOE_DISPATCH), "MoE dispatch") &&
           !strcmp(rt_kclass_key(RT_KCLASS_GEMM), "gemm"), "class names and keys");
    ir_kprogram_free(&p);
    ir_graph_free(&g);
    return tap_done();
}
