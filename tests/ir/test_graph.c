/* tests/ir/test_graph.c -- the graph IR's builders: shape rules per op on
 * good and bad shapes (a bad one gives -1 and a message naming the op and
 * the shapes), negative axes, poison propagation, CSE, the verifier catching
 * corrupted nodes, attributes and dtypes, and the printer's format. Ends
 * with the coverage of every op of ops.def by a good and a bad shape test. */
#include <stdio.h>

#include "tests/ir/helpers.h"

static op_cover good = {.what = "shape test"}, bad = {.what = "bad-shape test"};
static const ir_op unary_f32[] = {IR_EXP, IR_LOG, IR_TANH, IR_SQRT, IR_RSQRT, IR_ERF};   /* f32 only */
static const ir_op binary_ops[] = {IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MAX};

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
    if (ok) cover(&good, g, id);
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

/* The shape rule of op refused: -1, and an error "%N op..." containing the
 * fragments; clears the error. */
static bool rejects(ir_graph *g, ir_op op, int id, const char *f1, const char *f2)
{
    const char *e = strchr(graph_error(g), '%'), *name = ir_op_name(op);   /* after the lead */
    size_t len = strlen(name);
    bool named = e && (e = strchr(e, ' ')) && strncmp(e + 1, name, len) == 0 &&
                 (e[1 + len] == ' ' || e[1 + len] == ':');
    if (id == -1 && !named) tap_diag("  the error does not name %s", name);
    bool ok = named && fails_with(g, id, f1, f2);
    if (ok) bad.hit[op] = true;
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
    int gx = ir_param(&g, 7, "gx", SH(6, 4)), gw = ir_param(&g, 8, "gw", SH(3, 4, 5)), gdy = ir_param(&g, 9, "gdy", SH(6, 5));
    int counts = ir_input(&g, IR_INPUT_DOMAIN, SH(3));
    tap_ok(shape_is(&g, ir_grouped_matmul(&g, gx, gw, counts), SH(6, 5)), "shape: grouped_matmul [6,4] x [3,4,5] -> [6,5]");
    tap_ok(shape_is(&g, ir_grouped_outer(&g, gx, gdy, counts), SH(3, 4, 5)), "shape: grouped_outer [6,4], [6,5] -> [3,4,5]");
    int table = ir_param(&g, 6, "wte", SH(10, 4));
    int rows = ir_gather(&g, table, idx);
    tap_ok(shape_is(&g, rows, SH(2, 3, 4)), "shape: gather [10,4] by [2,3] -> [2,3,4]");
    tap_ok(shape_is(&g, ir_scatter_add(&g, rows, idx, 10), SH(10, 4)), "shape: scatter_add [2,3,4] by [2,3] -> [10,4]");
    int top = ir_topk(&g, a, 2);
    tap_ok(shape_is(&g, top, SH(2, 3, 2)) && g.nodes[top].dtype == IR_I32, "shape: topk k=2 -> i32 [2,3,2]");
    tap_ok(shape_is(&g, ir_take(&g, a, top), SH(2, 3, 2)), "shape: take [2,3,4] at [2,3,2]");
    tap_ok(shape_is(&g, ir_put(&g, ir_take(&g, a, top), top, 7), SH(2, 3, 7)), "shape: put [2,3,2] into n=7");
    tap_ok(shape_is(&g, ir_one_hot(&g, idx, 5), SH(2, 3, 5)), "shape: one_hot [2,3] n=5 -> [2,3,5]");
    tap_ok(shape_is(&g, ir_iota(&g, SH(3, 4), -1), SH(3, 4)) && ir_attr_axis(&g.nodes[ir_iota(&g, SH(3, 4), -1)]) == 1,
           "shape: iota axis -1 is axis 1");
    int step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    tap_ok(shape_is(&g, ir_random(&g, step, IR_RANDOM_NORMAL, 3, 42, SH(5)), SH(5)), "shape: random [5]");
    tap_ok(shape_is(&g, ir_cast(&g, idx, IR_F32), SH(2, 3)) && g.nodes[ir_cast(&g, idx, IR_F32)].dtype == IR_F32,
           "shape: cast i32 -> f32");
    tap_ok(!g.failed && ir_verify(&g) == 0, "verifier accepts the good graph (%s)", graph_error(&g));
    ir_graph_free(&g);
}

/* The leaves, and every unary and binary op, on good operands. */
static void test_good_families(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3)), b = ir_param(&g, 1, "b", SH(3)), idx = ir_input(&g, IR_INPUT_DOMAIN, SH(4));
    tap_ok(shape_is(&g, a, SH(2, 3)) && g.nodes[a].dtype == IR_F32, "shape: param f32 [2,3]");
    tap_ok(shape_is(&g, idx, SH(4)) && g.nodes[idx].dtype == IR_I32, "shape: domain input i32 [4]");
    tap_ok(shape_is(&g, ir_const(&g, 2.5, SH(1, 3)), SH(1, 3)), "shape: const [1,3]");
    for (size_t k = 0; k < sizeof unary_f32 / sizeof unary_f32[0]; k++)
        tap_ok(shape_is(&g, ir_unary(&g, unary_f32[k], a), SH(2, 3)), "shape: %s keeps [2,3]", ir_op_name(unary_f32[k]));
    int neg = ir_unary(&g, IR_NEG, idx), stop = ir_unary(&g, IR_STOP_GRAD, idx);
    tap_ok(shape_is(&g, neg, SH(4)) && g.nodes[neg].dtype == IR_I32, "shape: neg of i32 is i32");
    tap_ok(shape_is(&g, stop, SH(4)) && g.nodes[stop].dtype == IR_I32, "shape: stop_grad of i32 is i32");
    for (size_t k = 0; k < sizeof binary_ops / sizeof binary_ops[0]; k++)
        tap_ok(shape_is(&g, ir_binary(&g, binary_ops[k], a, b), SH(2, 3)), "shape: %s [2,3] . [3]",
               ir_op_name(binary_ops[k]));
    tap_ok(!g.failed && ir_verify(&g) == 0, "verifier accepts the families' graph (%s)", graph_error(&g));
    ir_graph_free(&g);
}

static void test_bad_shapes(void)
{
    ir_graph g;
    graph_init(&g);
    int a = ir_param(&g, 0, "a", SH(2, 3, 4)), b = ir_param(&g, 1, "b", SH(3)), m = ir_param(&g, 2, "m", SH(5, 6));
    int idx = ir_input(&g, IR_INPUT_TOKENS, SH(2, 3));
    tap_ok(rejects(&g, IR_ADD, ir_binary(&g, IR_ADD, a, b), "[2, 3, 4]", "[3]"), "bad: add [2,3,4] + [3] names both shapes");
    tap_ok(rejects(&g, IR_ADD, ir_binary(&g, IR_ADD, a, idx), "dtypes differ", "f32[2, 3, 4] and i32[2, 3]"),
           "bad: add f32 + i32");
    for (size_t k = 0; k < sizeof binary_ops / sizeof binary_ops[0]; k++)
        tap_ok(rejects(&g, binary_ops[k], ir_binary(&g, binary_ops[k], m, b), "[5, 6]", "[3]"), "bad: %s [5,6] . [3]",
               ir_op_name(binary_ops[k]));
    tap_ok(rejects(&g, IR_MATMUL, ir_matmul(&g, a, m), "[2, 3, 4]", "[5, 6]"), "bad: matmul k mismatch names both shapes");
    tap_ok(rejects(&g, IR_SUM, ir_sum(&g, a, 3, false), "axis 3", "[2, 3, 4]"), "bad: sum axis 3 of rank 3");
    tap_ok(rejects(&g, IR_SUM, ir_sum(&g, a, -4, false), "axis -4", "[2, 3, 4]"), "bad: sum axis -4 of rank 3");
    tap_ok(rejects(&g, IR_RESHAPE, ir_reshape(&g, a, SH(5, 5)), "[2, 3, 4]", "[5, 5]"), "bad: reshape 24 -> 25 elements");
    tap_ok(rejects(&g, IR_PERMUTE, ir_permute(&g, a, (int[]){0, 0, 1}), "permutation", "[2, 3, 4]"), "bad: permute (0,0,1)");
    tap_ok(rejects(&g, IR_SLICE, ir_slice(&g, a, 1, 2, 2), "[2, 4)", "[2, 3, 4]"), "bad: slice past the end");
    tap_ok(rejects(&g, IR_CONCAT, ir_concat(&g, a, m, 0), "[2, 3, 4]", "[5, 6]"), "bad: concat rank mismatch");
    tap_ok(rejects(&g, IR_BROADCAST, ir_broadcast(&g, a, SH(2, 5, 4)), "[2, 3, 4]", "[2, 5, 4]"), "bad: broadcast 3 -> 5");
    tap_ok(rejects(&g, IR_GATHER, ir_gather(&g, a, idx), "[V, d]", "[2, 3, 4]"), "bad: gather from a rank-3 table");
    tap_ok(rejects(&g, IR_GATHER, ir_gather(&g, m, a), "i32, got f32", "[2, 3, 4]"), "bad: gather with f32 indices");
    tap_ok(rejects(&g, IR_TOPK, ir_topk(&g, a, 5), "k = 5", "[2, 3, 4]"), "bad: topk k > n");
    tap_ok(rejects(&g, IR_TAKE, ir_take(&g, m, idx), "[5, 6]", "[2, 3]"), "bad: take leading dims differ");
    for (size_t k = 0; k < sizeof unary_f32 / sizeof unary_f32[0]; k++)
        tap_ok(rejects(&g, unary_f32[k], ir_unary(&g, unary_f32[k], idx), "needs f32, got i32", "[2, 3]"), "bad: %s of i32",
               ir_op_name(unary_f32[k]));
    tap_ok(fails_with(&g, ir_unary(&g, IR_ADD, a), "ir_unary", NULL), "bad: ir_unary given add");
    tap_ok(rejects(&g, IR_PARAM, ir_param(&g, 3, "z", SH(2, 0)), "invalid shape", "[2, 0]"), "bad: zero dim");
    tap_ok(rejects(&g, IR_CONST, ir_const(&g, 1.0, SH(3, -1)), "invalid shape", "[3, -1]"), "bad: const of a negative dim");
    tap_ok(rejects(&g, IR_WHERE, ir_where(&g, a, a, m), "[2, 3, 4]", "[5, 6]"), "bad: where shapes");
    tap_ok(rejects(&g, IR_CUMSUM, ir_cumsum(&g, a, 5), "axis 5", "[2, 3, 4]"), "bad: cumsum axis 5");
    tap_ok(rejects(&g, IR_REDUCE_MAX, ir_reduce_max(&g, b, 1, true), "axis 1", "[3]"), "bad: reduce_max axis 1 of rank 1");
    tap_ok(rejects(&g, IR_SCATTER_ADD, ir_scatter_add(&g, a, idx, 0), "row count", NULL), "bad: scatter_add to 0 rows");
    tap_ok(rejects(&g, IR_SCATTER_ADD, ir_scatter_add(&g, m, idx, 4), "[5, 6]", "[2, 3]"),
           "bad: scatter_add source/indices mismatch");
    tap_ok(rejects(&g, IR_PUT, ir_put(&g, m, idx, 7), "[5, 6]", "[2, 3]"), "bad: put source/indices mismatch");
    tap_ok(rejects(&g, IR_ONE_HOT, ir_one_hot(&g, a, 4), "i32, got f32", "[2, 3, 4]"), "bad: one_hot of f32");
    tap_ok(rejects(&g, IR_IOTA, ir_iota(&g, SH(2, 3), 2), "axis 2", "[2, 3]"), "bad: iota axis 2 of rank 2");
    tap_ok(rejects(&g, IR_RANDOM, ir_random(&g, a, IR_RANDOM_NORMAL, 0, 1, SH(2)), "scalar", "[2, 3, 4]"),
           "bad: random step not a scalar");
    tap_ok(rejects(&g, IR_CAST, ir_cast(&g, a, (ir_dtype)7), "dtype 7", NULL), "bad: cast to dtype 7");
    tap_ok(rejects(&g, IR_CAST, ir_cast(&g, a, IR_BF16), "cannot cast to bf16", "f32 and i32"),
           "bad: cast to bf16 (not computed yet)");
    tap_ok(rejects(&g, IR_CMP, ir_compare(&g, (ir_cmp)9, a, a), "comparison 9", NULL), "bad: comparison 9");
    tap_ok(rejects(&g, IR_INPUT, ir_input(&g, IR_INPUT_TOKENS, SH(6)), "rank 2", "[6]"), "bad: tokens input of rank 1");
    tap_ok(rejects(&g, IR_MATMUL, ir_matmul(&g, b, m), "[3]", "[5, 6]"), "bad: matmul of rank 1");
    int gw = ir_param(&g, 4, "gw", SH(2, 6, 3)), counts = ir_input(&g, IR_INPUT_DOMAIN, SH(2));
    tap_ok(rejects(&g, IR_GROUPED_MATMUL, ir_grouped_matmul(&g, m, ir_param(&g, 5, "w3", SH(3, 6, 3)), counts), "[5, 6]", "[3, 6, 3]"),
           "bad: grouped_matmul with 3 weight groups and 2 counts");
    tap_ok(rejects(&g, IR_GROUPED_MATMUL, ir_grouped_matmul(&g, a, gw, counts), "f32[2, 3, 4]", "i32[2]"),
           "bad: grouped_matmul of a rank-3 x");
    tap_ok(rejects(&g, IR_GROUPED_MATMUL, ir_grouped_matmul(&g, m, gw, ir_cast(&g, counts, IR_F32)), "counts f32[2]", "i32 [E]"),
           "bad: grouped_matmul with f32 counts");
    tap_ok(rejects(&g, IR_GROUPED_OUTER, ir_grouped_outer(&g, m, ir_param(&g, 6, "dy", SH(4, 3)), counts), "[5, 6]", "[4, 3]"),
           "bad: grouped_outer rows differ");
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
    g.nodes[s1].dtype = IR_BF16;
    graph_clear_error(&g);
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "dtype bf16 is not supported"), "verify: a bf16 node: %s",
           graph_error(&g));
    g.nodes[s1].dtype = (ir_dtype)IR_DTYPE_COUNT;
    graph_clear_error(&g);
    tap_ok(ir_verify(&g) == -1 && strstr(graph_error(&g), "no dtype"), "verify: no such dtype: %s", graph_error(&g));
    ir_graph_free(&g);
}

/* Positions follow ops.def's order; accessors read what builders stored. */
static void test_attributes(void)
{
    tap_ok(ir_op_attr(IR_SLICE, IR_ATTR_axis) == 0 && ir_op_attr(IR_SLICE, IR_ATTR_start) == 1 &&
           ir_op_attr(IR_SLICE, IR_ATTR_len) == 2 && ir_op_attr(IR_RANDOM, IR_ATTR_seed) == 2,
           "attributes: slice axis, start, len at 0, 1, 2; random seed at 2");
    tap_ok(ir_op_attr(IR_ADD, IR_ATTR_axis) == -1 && ir_op_attr(IR_SLICE, IR_ATTR_keepdim) == -1,
           "attributes: an op without the attribute gives -1");
    tap_ok(ir_attrs[IR_ATTR_perm].type == IR_ATTR_TYPE_INTS && ir_attrs[IR_ATTR_perm].length == IR_MAX_RANK &&
           ir_attrs[IR_ATTR_value].type == IR_ATTR_TYPE_REAL && strcmp(ir_attrs[IR_ATTR_keepdim].name, "keepdim") == 0,
           "attributes: perm is IR_MAX_RANK integers, value a real, names as in ops.def");
    bool fits = true;
    for (int op = 0; op < IR_OP_COUNT; op++) {   /* no two attributes of an op share a slot */
        int used[IR_MAX_INT_ATTRS] = {0};
        for (int a = 0; a < IR_ATTR_COUNT; a++) {
            int pos = ir_op_attr((ir_op)op, (ir_attr)a), room = ir_attrs[a].type == IR_ATTR_TYPE_REAL ? IR_MAX_REAL_ATTRS : IR_MAX_INT_ATTRS;
            for (int i = 0; pos >= 0 && i < ir_attrs[a].length; i++) {
                if (pos + i >= room || used[pos + i]++) {
                    tap_diag("  %s: %s at %d overlaps or does not fit", ir_op_name((ir_op)op), ir_attrs[a].name, pos + i);
                    fits = false;
                }
            }
        }
    }
    tap_ok(fits, "attributes: every op's attributes fit ai[]/af[] without overlap");
    ir_graph g;
    graph_init(&g);
    int x = ir_param(&g, 0, "x", SH(2, 3, 4)), step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    const ir_node *sl = &g.nodes[ir_slice(&g, x, -1, 1, 2)];
    tap_ok(ir_attr_axis(sl) == 2 && ir_attr_start(sl) == 1 && ir_attr_len(sl) == 2, "attributes: slice reads back");
    const ir_node *pm = &g.nodes[ir_permute(&g, x, (int[]){2, 0, 1})];
    tap_ok(ir_attr_perm(pm, 0) == 2 && ir_attr_perm(pm, 1) == 0 && ir_attr_perm(pm, 2) == 1 && ir_attr_perm(pm, 3) == 0,
           "attributes: permute reads back, zero past the rank");
    const ir_node *rn = &g.nodes[ir_random(&g, step, IR_RANDOM_UNIFORM, 7, 99, SH(2))];
    tap_ok(ir_attr_dist(rn) == IR_RANDOM_UNIFORM && ir_attr_stream(rn) == 7 && ir_attr_seed(rn) == 99,
           "attributes: random reads back");
    tap_ok(ir_attr_value(&g.nodes[ir_scalar(&g, -2.5)]) == -2.5, "attributes: const value reads back");
    ir_graph_free(&g);
}

static void test_dtypes(void)
{
    static const struct {
        ir_dtype d;
        const char *name, *c, *cuda;
        int size;
        bool is_float, computed;
    } want[] = {
        {IR_F32, "f32", "float", "float", 4, true, true},
        {IR_I32, "i32", "int32_t", "int", 4, false, true},
        {IR_BF16, "bf16", "uint16_t", "__nv_bfloat16", 2, true, false},
        {IR_F16, "f16", "uint16_t", "__half", 2, true, false},
        {IR_F64, "f64", "double", "double", 8, true, false},
    };
    tap_ok(IR_DTYPE_COUNT == sizeof want / sizeof want[0], "dtypes: %d in dtypes.def", (int)IR_DTYPE_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ir_dtype d = want[i].d;
        tap_ok(strcmp(ir_dtype_name(d), want[i].name) == 0 && strcmp(ir_dtype_c_type(d), want[i].c) == 0 &&
                   strcmp(ir_dtype_cuda_type(d), want[i].cuda) == 0 && ir_dtype_size(d) == want[i].size &&
                   ir_dtype_is_float(d) == want[i].is_float && ir_dtype_computed(d) == want[i].computed,
               "dtypes: %s is %d bytes, C %s, CUDA %s, %s, %scomputed", want[i].name, want[i].size, want[i].c,
               want[i].cuda, want[i].is_float ? "float" : "integer", want[i].computed ? "" : "not ");
    }
    tap_ok(strcmp(ir_dtype_name((ir_dtype)IR_DTYPE_COUNT), "?") == 0, "dtypes: no name for a value that is no dtype");
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

/* Every way an attribute prints (ops.def's `printed` column), exactly. */
static void test_print_attributes(void)
{
    ir_graph g;
    graph_init(&g);
    int x = ir_param(&g, 0, "x", SH(2, 3)), tok = ir_input(&g, IR_INPUT_TOKENS, SH(2, 3));
    int step = ir_input(&g, IR_INPUT_STEP, SCALAR);
    ir_random(&g, step, IR_RANDOM_NORMAL, 5, 42, SH(2));
    ir_cast(&g, tok, IR_F32);
    ir_compare(&g, IR_CMP_GE, x, x);
    ir_sum(&g, x, 0, false);
    ir_permute(&g, x, (int[]){1, 0});
    ir_slice(&g, x, 1, 1, 2);
    ir_topk(&g, x, 2);
    ir_one_hot(&g, tok, 4);
    ir_const(&g, -0.1, SH(2));
    char buf[2048] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    ir_graph_print(f, &g);
    fclose(f);
    const char *want = "%0 = param {0 x} : f32[2, 3]\n"
                       "%1 = input {tokens} : i32[2, 3]\n"
                       "%2 = input {step} : f32[]\n"
                       "%3 = random %2 {normal stream=5 seed=42} : f32[2]\n"
                       "%4 = cast %1 {f32} : f32[2, 3]\n"
                       "%5 = cmp %0 %0 {ge} : f32[2, 3]\n"
                       "%6 = sum %0 {axis=0} : f32[3]\n"
                       "%7 = permute %0 {1 0} : f32[3, 2]\n"
                       "%8 = slice %0 {axis=1 start=1 len=2} : f32[2, 2]\n"
                       "%9 = topk %0 {2} : i32[2, 2]\n"
                       "%10 = one_hot %1 {4} : f32[2, 3, 4]\n"
                       "%11 = const {-0.10000000000000001} : f32[2]\n";
    tap_ok(strcmp(buf, want) == 0, "print: every attribute style");
    if (strcmp(buf, want)) tap_diag("got:\n%s", buf);
    ir_graph_free(&g);
}

int main(void)
{
    test_good_shapes();
    test_good_families();
    test_bad_shapes();
    test_cse_and_verify();
    test_attributes();
    test_dtypes();
    test_print();
    test_print_attributes();
    check_coverage(&good, NULL, 0);
    static const op_exempt any_operand[] = {
        {IR_NEG, "takes any dtype and shape"},
        {IR_STOP_GRAD, "takes any dtype and shape"},
    };
    check_coverage(&bad, any_operand, sizeof any_operand / sizeof any_operand[0]);
    return tap_done();
}
