/* ir/vjp.c -- the VJP rules of the ops table: for one node and the gradient
 * of the loss with respect to it (gout, the node's shape), the nodes that
 * compute the gradient with respect to each wanted operand (its shape).
 * Broadcast operands get their gradient summed back over the stretched axes.
 * Reads and appends to the graph; autodiff.c walks the nodes and sums. */
#include "ir/ops.h"

/* Node fields are copied out before building: builders may move g->nodes. */
static ir_shape shape(const ir_graph *g, int id) { return g->nodes[id].shape; }

/* d loss / d operand from a gradient of the broadcast shape: SUM (keepdim)
 * over every axis the operand lacks or stretched from 1, then RESHAPE away
 * the leading axes. [2,3,4] -> [4]: sum axes 0 and 1, reshape [1,1,4] -> [4]. */
static int unbroadcast(ir_graph *g, int grad, ir_shape to)
{
    if (grad < 0) return grad;
    ir_shape s = shape(g, grad);
    if (ir_shape_eq(&s, &to)) return grad;
    int off = s.rank - to.rank;
    for (int i = 0; i < s.rank; i++)
        if (i < off || (to.dim[i - off] == 1 && s.dim[i] != 1)) grad = ir_sum(g, grad, i, true);
    return ir_reshape(g, grad, to);
}

static int mul(ir_graph *g, int a, int b) { return ir_binary(g, IR_MUL, a, b); }
static int scalar_mul(ir_graph *g, double c, int a) { return mul(g, ir_scalar(g, c), a); }

/* d in[i] = gout * factor, summed back to in[i]'s shape. */
static int scaled(ir_graph *g, int gout, int factor, int operand)
{
    return unbroadcast(g, factor == IR_NO_GRAD ? gout : mul(g, gout, factor), shape(g, operand));
}

static int failed(const int gin[IR_MAX_INPUTS])
{
    for (int i = 0; i < IR_MAX_INPUTS; i++)
        if (gin[i] == -1) return -1;
    return 0;
}

int ir_vjp_none(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)g, (void)id, (void)gout, (void)want, (void)gin;
    return 0;
}

/* ---- unary: d x = gout * f'(x), written with the output y where shorter ---- */

int ir_vjp_neg(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)id, (void)want;
    gin[0] = ir_unary(g, IR_NEG, gout);
    return failed(gin);
}

int ir_vjp_exp(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    gin[0] = mul(g, gout, id);   /* exp' = exp = y */
    return failed(gin);
}

int ir_vjp_log(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    gin[0] = ir_binary(g, IR_DIV, gout, g->nodes[id].in[0]);
    return failed(gin);
}

int ir_vjp_tanh(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    int one = ir_scalar(g, 1.0);
    int one_minus_y2 = ir_binary(g, IR_SUB, one, mul(g, id, id));
    gin[0] = mul(g, gout, one_minus_y2);
    return failed(gin);
}

int ir_vjp_sqrt(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    gin[0] = ir_binary(g, IR_DIV, scalar_mul(g, 0.5, gout), id);   /* 1 / (2 sqrt x) */
    return failed(gin);
}

int ir_vjp_rsqrt(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    int y3 = mul(g, id, mul(g, id, id));   /* d x^-1/2 = -1/2 x^-3/2 = -1/2 y^3 */
    gin[0] = mul(g, gout, scalar_mul(g, -0.5, y3));
    return failed(gin);
}

int ir_vjp_erf(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    int x = g->nodes[id].in[0];
    int bump = ir_unary(g, IR_EXP, ir_unary(g, IR_NEG, mul(g, x, x)));   /* erf' = 2/sqrt(pi) exp(-x^2) */
    gin[0] = mul(g, gout, scalar_mul(g, 1.1283791670955126, bump));     /* 2/sqrt(pi) */
    return failed(gin);
}

int ir_vjp_cast(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    const ir_node *n = &g->nodes[id];
    if (n->dtype == IR_F32 && g->nodes[n->in[0]].dtype == IR_F32) gin[0] = gout;   /* f32 -> f32 is identity */
    return 0;
}

/* ---- binary, with broadcasting ---- */

int ir_vjp_add(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = scaled(g, gout, IR_NO_GRAD, n.in[0]);
    if (want[1]) gin[1] = scaled(g, gout, IR_NO_GRAD, n.in[1]);
    return failed(gin);
}

int ir_vjp_sub(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = scaled(g, gout, IR_NO_GRAD, n.in[0]);
    if (want[1]) gin[1] = unbroadcast(g, ir_unary(g, IR_NEG, gout), shape(g, n.in[1]));
    return failed(gin);
}

int ir_vjp_mul(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = scaled(g, gout, n.in[1], n.in[0]);
    if (want[1]) gin[1] = scaled(g, gout, n.in[0], n.in[1]);
    return failed(gin);
}

int ir_vjp_div(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = unbroadcast(g, ir_binary(g, IR_DIV, gout, n.in[1]), shape(g, n.in[0]));
    if (want[1]) {   /* d (a/b) / db = -(a/b) / b = -y / b */
        int t = ir_binary(g, IR_DIV, mul(g, gout, id), n.in[1]);
        gin[1] = unbroadcast(g, ir_unary(g, IR_NEG, t), shape(g, n.in[1]));
    }
    return failed(gin);
}

/* Routes gout to the chosen side with WHERE, so the other side gets exact
 * zeros (not gout * 0, which is NaN where gout is infinite). */
static void route(ir_graph *g, int cond, int gout, int a, int b, const bool want[2], int gin[2])
{
    int zero = ir_scalar(g, 0.0);
    if (want[0]) gin[0] = unbroadcast(g, ir_where(g, cond, gout, zero), shape(g, a));
    if (want[1]) gin[1] = unbroadcast(g, ir_where(g, cond, zero, gout), shape(g, b));
}

int ir_vjp_max(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    int first = ir_compare(g, IR_CMP_GE, n.in[0], n.in[1]);   /* ties go to the first operand */
    route(g, first, gout, n.in[0], n.in[1], want, gin);
    return failed(gin);
}

int ir_vjp_where(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    route(g, n.in[0], gout, n.in[1], n.in[2], want + 1, gin + 1);   /* the condition gets none */
    return failed(gin);
}

/* ---- reductions and scans ---- */

/* x's shape with the reduced axis kept as 1: where gout is broadcast from. */
static ir_shape kept(const ir_graph *g, const ir_node *n)
{
    ir_shape s = shape(g, n->in[0]);
    s.dim[ir_attr_axis(n)] = 1;
    return s;
}

int ir_vjp_sum(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    ir_node n = g->nodes[id];
    gin[0] = ir_broadcast(g, ir_reshape(g, gout, kept(g, &n)), shape(g, n.in[0]));
    return failed(gin);
}

/* Only the first maximal element of each row gets gout: eq marks every
 * maximal element, its running count along the axis is 1 from the first
 * one on, so eq * (count == 1) is one-hot on the first. Exact: the counts
 * are small integers. */
int ir_vjp_reduce_max(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    ir_node n = g->nodes[id];
    ir_shape keep = kept(g, &n);
    int eq = ir_compare(g, IR_CMP_EQ, n.in[0], ir_reshape(g, id, keep));
    int count = ir_cumsum(g, eq, (int)ir_attr_axis(&n));
    int first = mul(g, eq, ir_compare(g, IR_CMP_EQ, count, ir_scalar(g, 1.0)));
    int g_kept = ir_reshape(g, gout, keep);
    gin[0] = ir_where(g, first, g_kept, ir_scalar(g, 0.0));
    return failed(gin);
}

/* y_i = sum_{j<=i} x_j, so d x_j = sum_{i>=j} gout_i: the suffix sum,
 * written as total - prefix + own term (there is no reverse op). */
int ir_vjp_cumsum(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    int axis = (int)ir_attr_axis(&g->nodes[id]);
    int total = ir_sum(g, gout, axis, true);
    gin[0] = ir_binary(g, IR_ADD, ir_binary(g, IR_SUB, total, ir_cumsum(g, gout, axis)), gout);
    return failed(gin);
}

/* ---- movement ---- */

int ir_vjp_reshape(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    gin[0] = ir_reshape(g, gout, shape(g, g->nodes[id].in[0]));
    return failed(gin);
}

int ir_vjp_permute(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    ir_node n = g->nodes[id];
    int inverse[IR_MAX_RANK];
    for (int i = 0; i < n.shape.rank; i++) inverse[ir_attr_perm(&n, i)] = i;
    gin[0] = ir_permute(g, gout, inverse);
    return failed(gin);
}

/* The slice's gradient padded with zero blocks before and after it. */
int ir_vjp_slice(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    ir_node n = g->nodes[id];
    int axis = (int)ir_attr_axis(&n);
    ir_shape xs = shape(g, n.in[0]), pad = xs;
    int64_t before = ir_attr_start(&n), after = xs.dim[axis] - ir_attr_start(&n) - ir_attr_len(&n);
    int out = gout;
    if (before > 0) {
        pad.dim[axis] = before;
        out = ir_concat(g, ir_const(g, 0.0, pad), out, axis);
    }
    if (after > 0) {
        pad.dim[axis] = after;
        out = ir_concat(g, out, ir_const(g, 0.0, pad), axis);
    }
    gin[0] = out;
    return failed(gin);
}

int ir_vjp_concat(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    int axis = (int)ir_attr_axis(&n);
    int64_t la = shape(g, n.in[0]).dim[axis], lb = shape(g, n.in[1]).dim[axis];
    if (want[0]) gin[0] = ir_slice(g, gout, axis, 0, la);
    if (want[1]) gin[1] = ir_slice(g, gout, axis, la, lb);
    return failed(gin);
}

int ir_vjp_broadcast(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    (void)want;
    gin[0] = unbroadcast(g, gout, shape(g, g->nodes[id].in[0]));
    return failed(gin);
}

/* ---- contractions and indexing ---- */

/* x with its last two axes swapped: [..., m, k] -> [..., k, m]. */
static int transpose(ir_graph *g, int x)
{
    int perm[IR_MAX_RANK], r = shape(g, x).rank;
    for (int i = 0; i < r; i++) perm[i] = i;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return ir_permute(g, x, perm);
}

/* C = A B: dA = dC B^T, dB = A^T dC, each summed over broadcast batch dims. */
int ir_vjp_matmul(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = unbroadcast(g, ir_matmul(g, gout, transpose(g, n.in[1])), shape(g, n.in[0]));
    if (want[1]) gin[1] = unbroadcast(g, ir_matmul(g, transpose(g, n.in[0]), gout), shape(g, n.in[1]));
    return failed(gin);
}

/* Y = GROUPED_MATMUL(X, W, counts), per group e Y_e = X_e W_e:
 * dX_e = dY_e W_e^T (the same grouping, each W_e transposed) and
 * dW_e = X_e^T dY_e (GROUPED_OUTER). counts are i32: no gradient. Rows past
 * sum(counts) take no part, so theirs is 0 and an empty group's dW_e is 0. */
int ir_vjp_grouped_matmul(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = ir_grouped_matmul(g, gout, transpose(g, n.in[1]), n.in[2]);
    if (want[1]) gin[1] = ir_grouped_outer(g, n.in[0], gout, n.in[2]);
    return failed(gin);
}

/* Y[e] = X_e^T D_e: dX_e = D_e dY[e]^T and dD_e = X_e dY[e], both grouped products. */
int ir_vjp_grouped_outer(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = ir_grouped_matmul(g, n.in[1], transpose(g, gout), n.in[2]);
    if (want[1]) gin[1] = ir_grouped_matmul(g, n.in[0], gout, n.in[2]);
    return failed(gin);
}

/* GATHER and SCATTER_ADD are adjoint: rows read are rows summed into. */
int ir_vjp_gather(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = ir_scatter_add(g, gout, n.in[1], shape(g, n.in[0]).dim[0]);
    return failed(gin);
}

int ir_vjp_scatter_add(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = ir_gather(g, gout, n.in[1]);
    return failed(gin);
}

/* TAKE and PUT are adjoint along the last axis. */
int ir_vjp_take(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    ir_shape xs = shape(g, n.in[0]);
    if (want[0]) gin[0] = ir_put(g, gout, n.in[1], xs.dim[xs.rank - 1]);
    return failed(gin);
}

int ir_vjp_put(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS])
{
    ir_node n = g->nodes[id];
    if (want[0]) gin[0] = ir_take(g, gout, n.in[1]);
    return failed(gin);
}
