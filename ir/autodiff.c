/* ir/autodiff.c -- reverse-mode differentiation on the graph IR: walks the
 * nodes from the loss back to the first, calls each op's VJP rule (ops
 * table) for the operands that depend on a wrt node, and sums the gradients
 * of a node used several times with ADD. Appends the gradient nodes to the
 * same graph, stamped with the origin of the forward node they come from. */
#include <stdlib.h>

#include "ir/autodiff.h"
#include "ir/ops.h"

/* dep[i]: node i is an f32 value that depends on some wrt node. Only those
 * get gradients, so no node is built for constants or index paths. */
static void mark_dependents(const ir_graph *g, int n0, const int *wrt, int n_wrt, bool *dep)
{
    for (int i = 0; i < n_wrt; i++)
        if (wrt[i] >= 0 && wrt[i] < n0) dep[wrt[i]] = true;
    for (int id = 0; id < n0; id++) {
        const ir_node *n = &g->nodes[id];
        for (int k = 0; k < n->n_in && !dep[id]; k++) dep[id] = dep[n->in[k]];
        if (!ir_dtype_is_float(n->dtype)) dep[id] = false;   /* i32 values pass no gradient */
    }
}

/* adj[x] += contribution. */
static int accumulate(ir_graph *g, int *adj, int x, int contribution)
{
    adj[x] = adj[x] == IR_NO_GRAD ? contribution : ir_binary(g, IR_ADD, adj[x], contribution);
    return adj[x] < 0 ? -1 : 0;
}

/* Pushes adj[id] into the adjoints of id's operands. */
static int backprop_node(ir_graph *g, int id, const bool *dep, int *adj)
{
    ir_node n = g->nodes[id];
    bool want[IR_MAX_INPUTS] = {false};
    int gin[IR_MAX_INPUTS] = {IR_NO_GRAD, IR_NO_GRAD, IR_NO_GRAD}, any = 0;
    for (int k = 0; k < n.n_in; k++) any |= want[k] = dep[n.in[k]];
    if (!any) return 0;
    g->cur_loc = n.loc;   /* backward nodes point at the forward call they differentiate */
    g->cur_scope = n.scope;
    if (ir_ops[n.op].vjp(g, id, adj[id], want, gin)) return -1;
    for (int k = 0; k < n.n_in; k++) {
        if (!want[k] || gin[k] == IR_NO_GRAD) continue;
        if (gin[k] < 0) return -1;
        /* A rule returning the wrong shape would be broadcast silently by ADD. */
        ir_shape want_shape = g->nodes[n.in[k]].shape, got = g->nodes[gin[k]].shape;
        if (!ir_shape_eq(&got, &want_shape)) {
            char a[96], b[96];
            return ir_fail(g, id, &n, "VJP gave operand %d a gradient of shape %s, not %s", k,
                           ir_shape_str(&got, a, sizeof a), ir_shape_str(&want_shape, b, sizeof b));
        }
        if (accumulate(g, adj, n.in[k], gin[k])) return -1;
    }
    return 0;
}

static int backprop(ir_graph *g, int loss, const bool *dep, int *adj)
{
    adj[loss] = ir_scalar(g, 1.0);
    if (adj[loss] < 0) return -1;
    for (int id = loss; id >= 0; id--)
        if (dep[id] && adj[id] != IR_NO_GRAD && backprop_node(g, id, dep, adj)) return -1;
    return 0;
}

static int check_args(ir_graph *g, int loss, const int *wrt, int n_wrt)
{
    if (loss == -1) return -1;   /* poison */
    if (loss < 0 || loss >= g->n_nodes) return ir_graph_fail(g, "ir_grad: loss %%%d is not a node", loss);
    const ir_node *l = &g->nodes[loss];
    if (l->shape.rank != 0 || l->dtype != IR_F32)
        return ir_fail(g, loss, l, "ir_grad: the loss must be an f32 scalar");
    for (int i = 0; i < n_wrt; i++) {
        if (wrt[i] == -1) return -1;
        if (wrt[i] < 0 || wrt[i] >= g->n_nodes)
            return ir_graph_fail(g, "ir_grad: wrt[%d] = %%%d is not a node", i, wrt[i]);
    }
    return 0;
}

int ir_grad(ir_graph *g, int loss, const int *wrt, int n_wrt, int *grad)
{
    for (int i = 0; i < n_wrt; i++) grad[i] = -1;
    if (check_args(g, loss, wrt, n_wrt)) return -1;
    int n0 = loss + 1, rc = -1;   /* nodes after the loss cannot affect it */
    bool *dep = calloc((size_t)n0, sizeof *dep);
    int *adj = malloc((size_t)n0 * sizeof *adj);
    moec_loc loc = g->cur_loc;
    const char *scope = g->cur_scope;
    if (!dep || !adj) {
        ir_graph_fail(g, "ir_grad: out of memory");
        goto done;
    }
    for (int i = 0; i < n0; i++) adj[i] = IR_NO_GRAD;
    mark_dependents(g, n0, wrt, n_wrt, dep);
    if (dep[loss] && backprop(g, loss, dep, adj)) goto done;
    g->cur_loc = loc;
    g->cur_scope = scope;
    rc = 0;
    for (int i = 0; i < n_wrt; i++) {
        bool has = wrt[i] < n0 && adj[wrt[i]] != IR_NO_GRAD;
        /* Unreachable (or i32) wrt: an exact zero, e.g. an expert no token chose. */
        grad[i] = has ? adj[wrt[i]] : ir_const(g, 0.0, g->nodes[wrt[i]].shape);
        if (grad[i] < 0) rc = -1;
    }
done:
    g->cur_loc = loc;
    g->cur_scope = scope;
    free(dep);
    free(adj);
    return rc;
}
