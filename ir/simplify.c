/* ir/simplify.c -- dead code, constant folding and identities (ir/simplify.h).
 * One forward sweep: each needed node of the old graph is first offered to
 * the rewrite rules with its operands already mapped; if no rule applies it
 * is rebuilt by its op's builder, which merges it with an equal node. */
#include "ir/simplify.h"

#include "ir/interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sctx {
    const ir_graph *in;
    ir_graph *out;
    int *map;
    ir_simplify_stats *st;
    bool rewrite;      /* false: rebuild only (the second sweep drops what rewriting orphaned) */
} sctx;

static const ir_node *old_node(const sctx *c, int id) { return &c->in->nodes[id]; }
static const ir_node *new_node(const sctx *c, int id) { return &c->out->nodes[id]; }

static bool is_const(const sctx *c, int id, double *v)
{
    if (id < 0 || new_node(c, id)->op != IR_CONST) return false;
    if (v) *v = ir_attr_value(new_node(c, id));
    return true;
}

/* ---- constant folding: the interpreter's scalar semantics (ir/interp.h) ---- */

static bool fold_binary(const ir_node *n, double a, double b, double *r)
{
    bool i32 = n->dtype == IR_I32;
    switch (n->op) {
    case IR_ADD: *r = a + b; return true;
    case IR_SUB: *r = a - b; return true;
    case IR_MUL: *r = a * b; return true;
    case IR_DIV:
        if (i32 && b == 0) return false;      /* left for the run to report */
        *r = i32 ? trunc(a / b) : a / b;
        return true;
    case IR_MAX: *r = a >= b ? a : b; return true;
    case IR_CMP: *r = ir_eval_compare((ir_cmp)ir_attr_cmp(n), a, b) ? 1.0 : 0.0; return true;
    default: return false;
    }
}

/* The constant value of old node n whose operands are the new ids a, b, w; false if not constant. */
static bool fold(const sctx *c, const ir_node *n, const int *op, double *r)
{
    double x, y, z;
    switch (ir_op_kind(n->op)) {
    case IR_KIND_UNARY:
        if (!is_const(c, op[0], &x)) return false;
        if (n->op == IR_CAST) {
            if (ir_attr_to(n) == IR_I32 && !(trunc(x) >= INT32_MIN && trunc(x) <= INT32_MAX)) return false;
            *r = ir_attr_to(n) == IR_I32 ? trunc(x) : x;
            return true;
        }
        *r = ir_eval_unary(n->op, x);
        return true;
    case IR_KIND_BINARY: return is_const(c, op[0], &x) && is_const(c, op[1], &y) && fold_binary(n, x, y, r);
    case IR_KIND_WHERE:
        if (!is_const(c, op[0], &x) || !is_const(c, op[1], &y) || !is_const(c, op[2], &z)) return false;
        *r = x != 0 ? y : z;
        return true;
    case IR_KIND_MOVE:   /* the same value everywhere, in another shape (concat of two equal constants too) */
        if (!is_const(c, op[0], &x)) return false;
        if (n->op == IR_CONCAT && (!is_const(c, op[1], &y) || y != x)) return false;
        *r = x;
        return true;
    case IR_KIND_REDUCE:
        if (!is_const(c, op[0], &x)) return false;
        *r = n->op == IR_SUM ? x * (double)old_node(c, n->in[0])->shape.dim[ir_attr_axis(n)] : x;
        return true;
    case IR_KIND_LEAF: case IR_KIND_SCAN: case IR_KIND_MATMUL: case IR_KIND_INDEX: return false;
    default: MOEC_UNREACHABLE();
    }
}

/* ---- identities: the new id an old node reduces to, or -1 ---- */

static bool same_type(const sctx *c, int id, const ir_node *n)
{
    const ir_node *m = new_node(c, id);
    return m->dtype == n->dtype && m->shape.rank == n->shape.rank &&
           !memcmp(m->shape.dim, n->shape.dim, sizeof(int64_t) * (size_t)n->shape.rank);
}

/* x*1, 1*x, x/1, x-0 where x already has the result's shape and dtype. */
static int arithmetic_identity(const sctx *c, const ir_node *n, const int *op)
{
    double v;
    switch (n->op) {
    case IR_MUL:
        if (is_const(c, op[1], &v) && v == 1.0 && same_type(c, op[0], n)) return op[0];
        if (is_const(c, op[0], &v) && v == 1.0 && same_type(c, op[1], n)) return op[1];
        return -1;
    case IR_DIV: return is_const(c, op[1], &v) && v == 1.0 && n->dtype == IR_F32 && same_type(c, op[0], n) ? op[0] : -1;
    case IR_SUB: return is_const(c, op[1], &v) && v == 0.0 && same_type(c, op[0], n) ? op[0] : -1;
    case IR_NEG: return new_node(c, op[0])->op == IR_NEG ? new_node(c, op[0])->in[0] : -1;
    case IR_STOP_GRAD: return new_node(c, op[0])->op == IR_STOP_GRAD ? op[0] : -1;
    default: return -1;
    }
}

static bool identity_perm(const ir_node *n)
{
    for (int i = 0; i < n->shape.rank; i++)
        if (ir_attr_perm(n, i) != i) return false;
    return true;
}

/* Movement that changes nothing, or a chain that one op can do. */
static int movement_identity(sctx *c, const ir_node *n, const int *op)
{
    if (n->op == IR_CAST) return same_type(c, op[0], n) ? op[0] : -1;
    if (ir_op_kind(n->op) != IR_KIND_MOVE || n->op == IR_CONCAT) return -1;
    if (same_type(c, op[0], n) && (n->op != IR_PERMUTE || identity_perm(n))) return op[0];
    const ir_node *x = new_node(c, op[0]);
    if (n->op == IR_RESHAPE && x->op == IR_RESHAPE)
        return same_type(c, x->in[0], n) ? x->in[0] : ir_reshape(c->out, x->in[0], n->shape);
    if (n->op == IR_PERMUTE && x->op == IR_PERMUTE) {
        int perm[IR_MAX_RANK];          /* out axis i = x's axis n[i] = x's input axis x[n[i]] */
        bool identity = true;
        for (int i = 0; i < n->shape.rank; i++) {
            perm[i] = (int)ir_attr_perm(x, (int)ir_attr_perm(n, i));
            identity = identity && perm[i] == i;
        }
        return identity ? x->in[0] : ir_permute(c->out, x->in[0], perm);
    }
    return -1;
}

/* ---- rebuilding ---- */

static int rebuild(sctx *c, const ir_node *n, const int *op)
{
    ir_graph *g = c->out;
    switch (n->op) {
    case IR_INPUT: return ir_input(g, (ir_input_slot)ir_attr_slot(n), n->shape);
    case IR_PARAM: return ir_param(g, (int)ir_attr_index(n), n->label, n->shape);
    case IR_CONST: return ir_const(g, ir_attr_value(n), n->shape);
    case IR_IOTA: return ir_iota(g, n->shape, (int)ir_attr_axis(n));
    case IR_RANDOM:
        return ir_random(g, op[0], (ir_random_dist)ir_attr_dist(n), ir_attr_stream(n), ir_attr_seed(n), n->shape);
    case IR_NEG: case IR_EXP: case IR_LOG: case IR_TANH: case IR_SQRT: case IR_RSQRT: case IR_ERF: case IR_STOP_GRAD:
        return ir_unary(g, n->op, op[0]);
    case IR_CAST: return ir_cast(g, op[0], (ir_dtype)ir_attr_to(n));
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_MAX: return ir_binary(g, n->op, op[0], op[1]);
    case IR_CMP: return ir_compare(g, (ir_cmp)ir_attr_cmp(n), op[0], op[1]);
    case IR_WHERE: return ir_where(g, op[0], op[1], op[2]);
    case IR_SUM: return ir_sum(g, op[0], (int)ir_attr_axis(n), ir_attr_keepdim(n) != 0);
    case IR_REDUCE_MAX: return ir_reduce_max(g, op[0], (int)ir_attr_axis(n), ir_attr_keepdim(n) != 0);
    case IR_CUMSUM: return ir_cumsum(g, op[0], (int)ir_attr_axis(n));
    case IR_RESHAPE: return ir_reshape(g, op[0], n->shape);
    case IR_PERMUTE: {
        int perm[IR_MAX_RANK];
        for (int i = 0; i < n->shape.rank; i++) perm[i] = (int)ir_attr_perm(n, i);
        return ir_permute(g, op[0], perm);
    }
    case IR_SLICE: return ir_slice(g, op[0], (int)ir_attr_axis(n), ir_attr_start(n), ir_attr_len(n));
    case IR_CONCAT: return ir_concat(g, op[0], op[1], (int)ir_attr_axis(n));
    case IR_BROADCAST: return ir_broadcast(g, op[0], n->shape);
    case IR_MATMUL: return ir_matmul(g, op[0], op[1]);
    case IR_GROUPED_MATMUL: return ir_grouped_matmul(g, op[0], op[1], op[2]);
    case IR_GROUPED_OUTER: return ir_grouped_outer(g, op[0], op[1], op[2]);
    case IR_GATHER: return ir_gather(g, op[0], op[1]);
    case IR_SCATTER_ADD: return ir_scatter_add(g, op[0], op[1], ir_attr_rows(n));
    case IR_TOPK: return ir_topk(g, op[0], (int)ir_attr_k(n));
    case IR_TAKE: return ir_take(g, op[0], op[1]);
    case IR_PUT: return ir_put(g, op[0], op[1], ir_attr_size(n));
    case IR_ONE_HOT: return ir_one_hot(g, op[0], ir_attr_size(n));
    default: MOEC_UNREACHABLE();
    }
}

static int simplify_node(sctx *c, int id)
{
    const ir_node *n = old_node(c, id);
    int op[IR_MAX_INPUTS] = { -1, -1, -1 };
    for (int i = 0; i < n->n_in; i++) op[i] = c->map[n->in[i]];
    ir_set_origin(c->out, n->loc, n->scope);
    double v;
    if (c->rewrite && n->op != IR_CONST && fold(c, n, op, &v)) {
        c->st->folded++;
        int k = ir_const(c->out, v, n->shape);      /* constants are f32: an i32 one is a cast of it */
        return n->dtype == IR_I32 ? ir_cast(c->out, k, IR_I32) : k;
    }
    if (!c->rewrite) return rebuild(c, n, op);
    int r = arithmetic_identity(c, n, op);
    if (r < 0) r = movement_identity(c, n, op);
    if (r >= 0) {
        c->st->identities++;
        return r;
    }
    return rebuild(c, n, op);
}

/* One sweep of `in` into `out` keeping roots; map as ir_simplify's. */
static int sweep(sctx *c, const int *roots, int n_roots)
{
    const ir_graph *in = c->in;
    for (int i = 0; i < in->n_nodes; i++) c->map[i] = -1;
    int top = -1;
    for (int i = 0; i < n_roots; i++) {
        MOEC_ASSERT(roots[i] < in->n_nodes);
        if (roots[i] >= 0) c->map[roots[i]] = 0;   /* needed (marked; ids come below) */
        if (roots[i] > top) top = roots[i];
    }
    for (int id = top; id >= 0; id--)            /* topological: one backward sweep marks what roots need */
        if (c->map[id] == 0)
            for (int i = 0; i < in->nodes[id].n_in; i++) c->map[in->nodes[id].in[i]] = 0;
    for (int id = 0; id < in->n_nodes; id++) {
        if (c->map[id] < 0) continue;
        if ((c->map[id] = simplify_node(c, id)) < 0) return -1;
    }
    return 0;
}

int ir_simplify(const ir_graph *in, const int *roots, int n_roots, ir_graph *out, int *map,
                ir_simplify_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->nodes_in = in->n_nodes;
    ir_graph mid;
    if (ir_graph_init(&mid) < 0) return ir_graph_fail(out, "simplify: out of memory");
    mid.diag = out->diag;     /* a rebuild that fails reports where the caller listens */
    int *map2 = NULL, *roots2 = malloc(sizeof(int) * (size_t)(n_roots + 1));
    sctx first = { .in = in, .out = &mid, .map = map, .st = stats, .rewrite = true };
    int rc = roots2 ? sweep(&first, roots, n_roots) : -1;
    if (rc < 0 && !mid.failed) ir_graph_fail(out, "simplify: out of memory");
    if (rc < 0) out->failed = true;
    for (int i = 0; rc == 0 && i < in->n_nodes; i++) stats->dead += map[i] < 0;
    for (int i = 0; rc == 0 && i < n_roots; i++) roots2[i] = roots[i] < 0 ? -1 : map[roots[i]];
    if (rc == 0 && !(map2 = malloc(sizeof(int) * ((size_t)mid.n_nodes + 1)))) rc = -1;
    if (rc == 0) {   /* rewriting leaves orphans (the operand of neg neg x): a plain rebuild drops them */
        sctx second = { .in = &mid, .out = out, .map = map2, .st = stats, .rewrite = false };
        rc = sweep(&second, roots2, n_roots);
        for (int i = 0; rc == 0 && i < in->n_nodes; i++) map[i] = map[i] < 0 ? -1 : map2[map[i]];
    }
    stats->nodes_out = out->n_nodes;
    free(map2);
    free(roots2);
    ir_graph_free(&mid);
    return rc;
}
