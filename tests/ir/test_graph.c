/* tests/ir/test_graph.c -- the graph IR's builders: shape rules per op on
 * good and bad shapes (a bad one gives -1 and a message naming the shapes),
 * negative axes, poison propagation, CSE, the verifier catching corrupted
 * nodes, and the printer's format. */
#include <stdio.h>

#include "tests/ir/helpers.h"

static bool shape_is(ir_graph *g, int id, ir_shape want)
{
    if (id < 0) {
        tap_diag("  failed: %s", graph_error(g));
        return false;
    }
    char a[96], b[96];
    const ir_shape *s = &g->nodes[id].shape;
    bool ok = s->rank == want.rank;
    for (int i = 0; ok && i < s->rank; i++) ok = s->dim[i] == want.dim[i];
    if (!ok) tap_diag("  got %s want %s", ir_shape_str(s, a, sizeof a), ir_shape_str(&want, b, sizeof b));
    return ok;
}

/* -1 and an error containing every given fragment; clears the error. */
static bool fails_with(ir_graph *g, int id, const char *f1, const char *f2)
{
    const char *e = graph_error(g);
    bool ok = id == -1 && g->failed && strstr(e, f1) && (!f2 || strstr(e, f2));
    if (!ok) tap_diag("  id %d, error '%s'", id, e);
    graph_clear_error(g);
    return ok;
}

static void test_good_shapes(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3, 4)), b = ir_param(&g, 1, "b", SH(4));
    int c = ir_param(&g, 2, "c", SH(2, 1, 4)), d = ir_param(&g, 3, "d", SH(3, 1));
    int idx = ir_input(&g, IR_INPUT_TOKENS, SH(2, 3));
    tap_ok(shape_is(&g, ir_binary(&g, IR_ADD, a, b), SH(2, 3, 4)), "shape: add [2,3,4] + [4]");
    tap_ok(shape_is(&g, ir_binary(&g, IR_MUL, c, d), SH(2, 3, 4)), "shape: mul [2,1,4] * [3,1]");
    tap_ok(shape_is(&g, ir_compare(&g, IR_CMP_LT, a, b), SH(2, 3, 4)) && g.nodes[ir_compare(&g, IR_CMP_LT, a, b)].dtype == IR_F32,
           "shape: cmp gives f32 [2,3,4]");
    tap_ok(shape_is(&g, ir_where(&g, d, c, ir_scalar(&g, 0)), SH(2, 3, 4)), "shape: where [3,1] [2,1,4] []");
    tap_ok(shape_is(&g, ir_unary(&g, IR_EXP, a), SH(2, 3, 4)), "shape: exp keeps [2,3,4]");
    tap_ok(shape_is(&g, ir_unary(&g, IR_ERF, a), SH(2, 3, 4)), "shape: erf keeps [2,3,4]");
    tap_ok(shape_is(&g, ir_sum(&g, a, 1, false), SH(2, 4)), "shape: sum axis 1 -> [2,4]");
    tap_ok(shape_is(&g, ir_sum(&g, a, -1, true), SH(2, 3, 1)), "shape: sum axis -1 keepdim -> [2,3,1]");
    tap_ok(shape_is(&g, ir_reduce_max(&g, a, 0, false), SH(3, 4)), "shape: reduce_max axis 0 -> [3,4]");
    tap_ok(ir_sum(&g, a, -1, false) == ir_sum(&g, a, 2, false), "negative axis -1 is axis 2 (same node)");
    tap_ok(shape_is(&g, ir_cumsum(&g, a, -2), SH(2, 3, 4)), "shape: cumsum keeps [2,3,4]");
    tap_ok(shape_is(&g, ir_reshape(&g, a, SH(6, 4)), SH(6, 4)), "shape: reshape [2,3,4] -> [6,4]");
    tap_ok(shape_is(&g, ir_permute(&g, a, (int[]){2, 0, 1}), SH(4, 2, 3)), "shape: permute (2,0,1) -> [4,2,3]");
    tap_ok(shape_is(&g, ir_slice(&g, a, 1, 1, 2), SH(2, 2, 4)), "shape: slice axis 1 [1,3) -> [2,2,4]");
    tap_ok(shape_is(&g, ir_concat(&g, a, a, -1), SH(2, 3, 8)), "shape: concat axis -1 -> [2,3,8]");
    tap_ok(shape_is(&g, ir_broadcast(&g, d, SH(2, 3, 5)), SH(2, 3, 5)), "shape: broadcast [3,1] -> [2,3,5]");
    int m = ir_param(&g, 4, "m", SH(4, 5)), bm = ir_param(&g, 5, "bm", SH(3, 1, 4, 5));
    tap_ok(shape_is(&g, ir_matmul(&g, a, m), SH(2, 3, 5)), "shape: matmul [2,3,4] x [4,5]");
    tap_ok(shape_is(&g, ir_matmul(&g, c, bm), SH(3, 2, 1, 5)), "shape: matmul [2,1,4] x [3,1,4,5] (batch broadcast)");
    int table = ir_param(&g, 6, "wte", SH(10, 4));
    int rows = ir_gather(&g, table, idx);
    tap_ok(shape_is(&g, rows, SH(2, 3, 4)), "shape: gather [10,4] by [2,3] -> [2,3,4]");
    tap_ok(shape_is(&g, ir_scatter_add(&g, rows, idx, 10), SH(10, 4)), "shape: scatter_add [2,3,4] by [2,3] -> [10,4]");
    int top = ir_topk(&g, a, 2);
    tap_ok(shape_is(&g, top, SH(2, 3, 2)) && g.nodes[top].dtype == IR_I32, "shape: topk k=2 -> i32 [2,3,2]");
    tap_ok(shape_is(&g, ir_take(&g, a, top), SH(2, 3, 2)), "shape: take [2,3,4] at [2,3,2]");
    tap_ok(shape_is(&g, ir_put(&g, ir_take(&g, a, top), top, 7), SH(2, 3, 7)), "shape: put [2,3,2] into n=7");
    tap_ok(shape_is(&g, ir_one_hot(&g, idx, 5), SH(2, 3, 5)), "shape: one_hot [2,3] n=5 -> [2,3,5]");
    tap_ok(shape_is(&g, ir_iota(&g, SH(3, 4), -1), SH(3, 4)) && g.nodes[ir_iota(&g, SH(3, 4), -1)].ai[0] == 1,
           "shape: iota axis -1 is axis 1");
    int step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    tap_ok(shape_is(&g, ir_random(&g, step, IR_RANDOM_NORMAL, 3, 42, SH(5)), SH(5)), "shape: random [5]");
    tap_ok(shape_is(&g, ir_cast(&g, idx, IR_F32), SH(2, 3)) && g.nodes[ir_cast(&g, idx, IR_F32)].dtype == IR_F32,
           "shape: cast i32 -> f32");
    tap_ok(!g.failed && ir_verify(&g) == 0, "verifier accepts the good graph (%s)", graph_error(&g));
    ir_graph_free(&g);
}

static void test_bad_shapes(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3, 4)), b = ir_param(&g, 1, "b", SH(3)), m = ir_param(&g, 2, "m", SH(5, 6));
    int idx = ir_input(&g, IR_INPUT_TOKENS, SH(2, 3));
    tap_ok(fails_with(&g, ir_binary(&g, IR_ADD, a, b), "[2, 3, 4]", "[3]"), "bad: add [2,3,4] + [3] names both shapes");
    tap_ok(fails_with(&g, ir_binary(&g, IR_ADD, a, idx), "dtypes differ", "[2, 3]"), "bad: add f32 + i32");
    tap_ok(fails_with(&g, ir_matmul(&g, a, m), "[2, 3, 4]", "[5, 6]"), "bad: matmul k mismatch names both shapes");
    tap_ok(fails_with(&g, ir_sum(&g, a, 3, false), "axis 3", "[2, 3, 4]"), "bad: sum axis 3 of rank 3");
    tap_ok(fails_with(&g, ir_sum(&g, a, -4, false), "axis -4", "[2, 3, 4]"), "bad: sum axis -4 of rank 3");
    tap_ok(fails_with(&g, ir_reshape(&g, a, SH(5, 5)), "[2, 3, 4]", "[5, 5]"), "bad: reshape 24 -> 25 elements");
    tap_ok(fails_with(&g, ir_permute(&g, a, (int[]){0, 0, 1}), "permutation", "[2, 3, 4]"), "bad: permute (0,0,1)");
    tap_ok(fails_with(&g, ir_slice(&g, a, 1, 2, 2), "[2, 4)", "[2, 3, 4]"), "bad: slice past the end");
    tap_ok(fails_with(&g, ir_concat(&g, a, m, 0), "[2, 3, 4]", "[5, 6]"), "bad: concat rank mismatch");
    tap_ok(fails_with(&g, ir_broadcast(&g, a, SH(2, 5, 4)), "[2, 3, 4]", "[2, 5, 4]"), "bad: broadcast 3 -> 5");
    tap_ok(fails_with(&g, ir_gather(&g, a, idx), "[V, d]", "[2, 3, 4]"), "bad: gather from a rank-3 table");
    tap_ok(fails_with(&g, ir_gather(&g, m, a), "i32", "[2, 3, 4]"), "bad: gather with f32 indices");
    tap_ok(fails_with(&g, ir_topk(&g, a, 5), "k = 5", "[2, 3, 4]"), "bad: topk k > n");
    tap_ok(fails_with(&g, ir_take(&g, m, idx), "[5, 6]", "[2, 3]"), "bad: take leading dims differ");
    tap_ok(fails_with(&g, ir_unary(&g, IR_EXP, idx), "f32", "[2, 3]"), "bad: exp of i32");
    tap_ok(fails_with(&g, ir_unary(&g, IR_ERF, idx), "f32", "[2, 3]"), "bad: erf of i32");
    tap_ok(fails_with(&g, ir_unary(&g, IR_ADD, a), "ir_unary", NULL), "bad: ir_unary given add");
    tap_ok(fails_with(&g, ir_param(&g, 3, "z", SH(2, 0)), "invalid shape", "[2, 0]"), "bad: zero dim");
    tap_ok(fails_with(&g, ir_where(&g, a, a, m), "[2, 3, 4]", "[5, 6]"), "bad: where shapes");
    tap_ok(fails_with(&g, ir_cumsum(&g, a, 5), "axis 5", "[2, 3, 4]"), "bad: cumsum axis 5");
    tap_ok(fails_with(&g, ir_reduce_max(&g, b, 1, true), "axis 1", "[3]"), "bad: reduce_max axis 1 of rank 1");
    tap_ok(fails_with(&g, ir_scatter_add(&g, a, idx, 0), "row count", NULL), "bad: scatter_add to 0 rows");
    tap_ok(fails_with(&g, ir_scatter_add(&g, m, idx, 4), "[5, 6]", "[2, 3]"), "bad: scatter_add source/indices mismatch");
    tap_ok(fails_with(&g, ir_put(&g, m, idx, 7), "[5, 6]", "[2, 3]"), "bad: put source/indices mismatch");
    tap_ok(fails_with(&g, ir_one_hot(&g, a, 4), "i32", "[2, 3, 4]"), "bad: one_hot of f32");
    tap_ok(fails_with(&g, ir_iota(&g, SH(2, 3), 2), "axis 2", "[2, 3]"), "bad: iota axis 2 of rank 2");
    tap_ok(fails_with(&g, ir_random(&g, a, IR_RANDOM_NORMAL, 0, 1, SH(2)), "scalar", "[2, 3, 4]"), "bad: random step not a scalar");
    tap_ok(fails_with(&g, ir_cast(&g, a, (ir_dtype)7), "dtype 7", NULL), "bad: cast to dtype 7");
    tap_ok(fails_with(&g, ir_compare(&g, (ir_cmp)9, a, a), "comparison 9", NULL), "bad: comparison 9");
    tap_ok(fails_with(&g, ir_input(&g, IR_INPUT_TOKENS, SH(6)), "rank 2", "[6]"), "bad: tokens input of rank 1");
    tap_ok(fails_with(&g, ir_matmul(&g, b, m), "[3]", "[5, 6]"), "bad: matmul of rank 1");
    ir_set_origin(&g, (moec_loc){14, 5}, "h.0.attn");
    int bad = ir_binary(&g, IR_SUB, a, b), id = g.n_nodes;
    char want[160];
    snprintf(want, sizeof want, "moec: error: %%%d sub in h.0.attn @14:5: shapes [2, 3, 4] and [3] do not broadcast", id);
    tap_ok(bad == -1 && !strcmp(graph_error(&g), want), "error names node, op, scope, place and shapes: %s",
           graph_error(&g));
    /* Poison: -1 flows through; later failures are not reported over the first. */
    int p = ir_unary(&g, IR_EXP, ir_binary(&g, IR_ADD, bad, a));
    int q = ir_matmul(&g, a, m);
    tap_ok(p == -1 && q == -1 && moec_diag_errors(g.diag) == 1 && !strcmp(graph_error(&g), want),
           "poison: -1 operands give -1, only the first failure is reported");
    ir_graph_free(&g);
}

static void test_cse_and_verify(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3)), b = ir_param(&g, 1, "b", SH(3));
    int s1 = ir_binary(&g, IR_ADD, a, b), s2 = ir_binary(&g, IR_ADD, a, b);
    tap_ok(s1 == s2 && s1 >= 0, "cse: equal nodes are one node");
    tap_ok(ir_scalar(&g, 0.0) != ir_scalar(&g, -0.0), "cse: 0.0 and -0.0 are different constants");
    tap_ok(ir_const(&g, 1.0, SH(2)) != ir_const(&g, 1.0, SH(3)), "cse: shape is part of a node");
    g.cse = false;
    tap_ok(ir_binary(&g, IR_ADD, a, b) != s1, "cse off: a new node");
    g.cse = true;
    tap_ok(ir_verify(&g) == 0, "verify: good graph");
    ir_node saved = g.nodes[s1];
    g.nodes[s1].shape.dim[1] = 4;
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "[2, 4]") && strstr(graph_error(&g), "[2, 3]") && strstr(graph_error(&g), "add"),
           "verify: corrupted shape named with both shapes: %s", graph_error(&g));
    graph_clear_error(&g);
    g.nodes[s1] = saved;
    g.nodes[s1].in[1] = s1;
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "not an earlier node"), "verify: forward reference: %s", graph_error(&g));
    graph_clear_error(&g);
    g.nodes[s1] = saved;
    g.nodes[s1].n_in = 1;
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "operands"), "verify: wrong arity: %s", graph_error(&g));
    graph_clear_error(&g);
    g.nodes[s1] = saved;
    g.nodes[s1].dtype = IR_I32;
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "i32"), "verify: wrong dtype: %s", graph_error(&g));
    ir_graph_free(&g);
}

static void test_print(void)
{
    ir_graph g;
    graph_init(&g);
    ir_set_origin(&g, (moec_loc){14, 5}, "h.0.attn");
    int a = ir_param(&g, 0, "a", SH(2, 8, 64)), b = ir_param(&g, 1, "b", SH(64));
    ir_sum(&g, ir_binary(&g, IR_ADD, a, b), -1, true);
    char buf[1024] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    ir_graph_print(f, &g);
    fclose(f);
    tap_ok(strstr(buf, "%2 = add %0 %1 : f32[2, 8, 64]  h.0.attn  @14:5\n") != NULL, "print: add line");
    tap_ok(strstr(buf, "%3 = sum %2 {axis=2 keepdim} : f32[2, 8, 1]") != NULL, "print: sum line with attributes");
    tap_ok(strstr(buf, "%0 = param {0 a} : f32[2, 8, 64]") != NULL, "print: param line");
    if (!strstr(buf, "%2 = add")) tap_diag("%s", buf);
    ir_graph_free(&g);
}

int main(void)
{
    test_good_shapes();
    test_bad_shapes();
    test_cse_and_verify();
    test_print();
    return tap_done();
}
