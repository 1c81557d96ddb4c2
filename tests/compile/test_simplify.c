/* tests/compile/test_simplify.c -- the simplify pass (ir/simplify.h): each
 * rewrite on a small graph, then the whole training step of every tiny
 * model: the simplified graph, evaluated in float64 with the same leaf
 * values, gives every named value (losses, gradients, updated parameters
 * and moments) to 1e-12 relative -- folding a sum of constants into one
 * product changes the last bits, nothing more. */
#include "ir/simplify.h"
#include "ir/step_values.h"
#include "tests/compile/step_case.h"
#include "tests/tap.h"

static ir_shape shape2(int64_t a, int64_t b)
{
    int64_t d[2] = { a, b };
    return ir_shape_of(2, d);
}

/* Simplifies g keeping `root`; returns the new root's node (in out). */
static const ir_node *simplified(ir_graph *g, int root, ir_graph *out, ir_simplify_stats *st)
{
    int map[256];
    ir_graph_init(out);
    if (g->n_nodes > 256 || ir_simplify(g, &root, 1, out, map, st) < 0) return NULL;
    return &out->nodes[map[root]];
}

static void test_rules(void)
{
    ir_graph g, out;
    ir_simplify_stats st;
    ir_graph_init(&g);
    int x = ir_param(&g, 0, "x", shape2(3, 4));
    int y = ir_binary(&g, IR_MUL, ir_unary(&g, IR_NEG, ir_unary(&g, IR_NEG, x)), ir_scalar(&g, 1.0));
    int dead = ir_unary(&g, IR_EXP, x);
    (void)dead;
    const ir_node *r = simplified(&g, y, &out, &st);
    tap_ok(r && r->op == IR_PARAM && out.n_nodes == 1 && st.dead == 1, "neg neg x * 1 is x; the unused exp is gone");
    ir_graph_free(&out);

    int perm[2] = { 1, 0 };
    int pp = ir_permute(&g, ir_permute(&g, x, perm), perm);
    r = simplified(&g, pp, &out, &st);
    tap_ok(r && r->op == IR_PARAM, "a permute and its inverse cancel");
    ir_graph_free(&out);

    int64_t d3[3] = { 3, 2, 2 };
    int rr = ir_reshape(&g, ir_reshape(&g, x, ir_shape_of(3, d3)), shape2(6, 2));
    r = simplified(&g, rr, &out, &st);
    tap_ok(r && r->op == IR_RESHAPE && out.nodes[r->in[0]].op == IR_PARAM, "two reshapes become one");
    ir_graph_free(&out);

    int c = ir_sum(&g, ir_binary(&g, IR_ADD, ir_const(&g, 2.0, shape2(3, 4)), ir_scalar(&g, 0.5)), 1, false);
    r = simplified(&g, c, &out, &st);
    tap_ok(r && r->op == IR_CONST && ir_attr_value(r) == 10.0 && r->shape.rank == 1 && r->shape.dim[0] == 3,
           "sum over 4 of (2 + 0.5) folds to the constant 10");
    ir_graph_free(&out);

    int z = ir_binary(&g, IR_ADD, x, ir_scalar(&g, 0.0));
    r = simplified(&g, z, &out, &st);
    tap_ok(r && r->op == IR_ADD, "x + 0 stays (-0 + 0 is +0)");
    ir_graph_free(&out);

    int q = ir_binary(&g, IR_DIV, ir_const(&g, 7.0, shape2(1, 1)), ir_const(&g, 2.0, shape2(1, 1)));
    r = simplified(&g, ir_cast(&g, q, IR_I32), &out, &st);
    tap_ok(r && r->op == IR_CAST && r->dtype == IR_I32 && out.nodes[r->in[0]].op == IR_CONST &&
           ir_attr_value(&out.nodes[r->in[0]]) == 3.0 && out.n_nodes == 2, "cast(7 / 2) to i32 folds to the i32 constant 3");
    ir_graph_free(&out);
    ir_graph_free(&g);
}

/* Evaluates g (all nodes) in float64 with every leaf bound. */
static ir_interp *evaluate(const ir_graph *g, int64_t vocab)
{
    ir_interp *it = ir_interp_new(g, IR_PREC_F64);
    if (!it || step_bind_all(it, g, vocab) < 0 || ir_interp_run(it, -1, g->diag) < 0) {
        tap_diag("interpreter: %s", it ? "failed (the error is above)" : "out of memory");
        ir_interp_free(it);
        return NULL;
    }
    return it;
}

static void test_model(const step_model *sm)
{
    step_case c;
    if (step_case_build(&c, sm) < 0) {
        tap_ok(false, "%s: builds (the error is above)", c.name);
        step_case_free(&c);
        return;
    }
    int *roots, n_roots = ir_step_roots(&c.s, &c.g.arena, &roots);
    int *map = malloc(sizeof(int) * (size_t)c.g.n_nodes);
    ir_graph out;
    ir_simplify_stats st;
    ir_graph_init(&out);
    out.diag = c.g.diag;
    bool ok = n_roots > 0 && map && ir_simplify(&c.g, roots, n_roots, &out, map, &st) == 0 && ir_verify(&out) == 0;
    tap_ok(ok && st.nodes_out < st.nodes_in, "%s: simplified %d -> %d nodes (%d folded, %d identities) and verifies",
           c.name, st.nodes_in, st.nodes_out, st.folded, st.identities);
    int64_t vocab = c.fe.model.params[0].shape.dim[0];
    ir_interp *a = ok ? evaluate(&c.g, vocab) : NULL, *b = ok ? evaluate(&out, vocab) : NULL;
    double worst = a && b ? 0 : INFINITY;
    for (int i = 0; a && b && i < n_roots; i++) {
        if (roots[i] < 0) continue;
        int64_t n = ir_shape_numel(&c.g.nodes[roots[i]].shape);
        double e = step_rel_err(ir_interp_value(b, map[roots[i]]), ir_interp_value(a, roots[i]), n, 1e-6);
        if (!(e <= worst)) worst = e;
    }
    tap_ok(worst <= 1e-12, "%s: %d named values agree, max relative error %.2g", c.name, n_roots, worst);
    ir_interp_free(a);
    ir_interp_free(b);
    ir_graph_free(&out);
    free(map);
    step_case_free(&c);
}

int main(void)
{
    test_rules();
    for (int i = 0; i < STEP_N_MODELS; i++) test_model(&STEP_MODELS[i]);
    return tap_done();
}
