/* ir/fuse.c -- step graph -> kernel program (ir/fuse.h).
 * Two phases. plan(): in graph order, mark each needed node as stored (it
 * gets a buffer) or inlined (recomputed by every kernel that reads it), by
 * the rules of doc/kernels.md. emit(): for each stored node, a launch: a
 * product (gemm), a template, or a loop kernel that recomputes the node
 * from stored values -- or, for a loop node, a place in an open kernel
 * (a row kernel of several passes, or a kernel over the same points) when
 * it reads that kernel's members only at their own point (doc/kernels.md,
 * "Row kernels"). Inside a loop kernel, the position of a value is a list
 * of affine expressions, one per dimension of the value, in the kernel's
 * axes (struct affine); movement ops only rewrite those lists. */
#include "ir/fuse.h"

#include <stdlib.h>
#include <string.h>

enum { COST_CAP = 1000, DEFAULT_MAX_INLINE = 8, MEMO_MAX = 4096, MAX_GROUPS = 8, TABLE_NODES = 64, PUT_INLINE_K = 1 };

/* base + sum c[a] * axis a + gc * (i32 value gv); gv = -1: no gathered term. */
typedef struct affine {
    int64_t base;
    int64_t c[IR_K_AXES];
    int gv;
    int64_t gc;
} affine;

typedef struct memo_entry {
    int node;
    int pass;
    affine at[IR_MAX_RANK];
    int value;
} memo_entry;

/* A row kernel being formed (doc/kernels.md, "Row kernels"): one launch over
 * the rows of `rows` (the reduce axis is its last), holding several stored
 * nodes as members: reductions over the rows (each a reduce pass), values
 * of one point of a row (point instructions) and values of the whole row
 * (written in a pass, an epilogue). */
typedef enum member_kind { MEMBER_REDUCE, MEMBER_POINT, MEMBER_PASS } member_kind;

typedef struct member {
    int node;
    member_kind kind;
    int value;          /* its instruction in the group's launch */
    int pass;           /* its pass (IR_KPASS_POINT for a point member) */
} member;

typedef struct group {
    int launch;         /* index of the launch */
    bool row;           /* a row kernel; else a kernel over the points of `rows` alone */
    ir_shape rows;      /* the shape its passes walk: parallel axes, then r (row) */
    int pass;           /* the last pass with instructions */
    member *m;
    int n_m, cap_m;
} group;

typedef struct fctx {
    const ir_graph *g;
    const ir_fuse_options *opt;
    moec_diag *d;
    ir_kprogram *p;
    bool *need;         /* [n] the node is computed */
    bool *store;        /* [n] the node has a buffer */
    int *users;         /* [n] needed consumers */
    int *cost;          /* [n] ops to recompute it inline (capped) */
    int *buf;           /* [n] its buffer, or -1 */
    int *into;          /* [n] a leaf it is written into, or -1 */
    int *written;       /* [n] for leaves: the launch that overwrote its buffer, or -1 */
    int *transposed;    /* [n] a PERMUTE computed as the transposed product of this MATMUL, or -1 */
    int *pack_buf;      /* [n] parameters and concats laid out in one buffer: that buffer, or -1 */
    int64_t *pack_off;  /* [n] their first element in it */
    ir_launch *l;       /* the loop kernel being written */
    int pass;           /* the pass new values belong to */
    memo_entry *memo;   /* values of this kernel, reused by node and position */
    int n_memo;
    int launch;         /* index of the launch being written (c->l) */
    group groups[MAX_GROUPS];   /* open row kernels, oldest first */
    int n_groups;
    group *joining;     /* the group a node is being tried in, or NULL */
    bool join_failed;   /* the node cannot join it (a read at another position, a later write) */
    bool touched;       /* the node read one of the group's members */
    bool shared;        /* the node read a buffer (not a single value) the group's launch reads */
    bool loose;         /* this round of tries accepts a node that only shares data, or a reduction that reads no member */
    int shared_reads;   /* reads of the group's launch before the node was tried */
    int *lastw;         /* [cap_lastw] per root buffer: the last launch writing it, or -1 */
    int cap_lastw;
    bool failed;
} fctx;

static const ir_node *node(const fctx *c, int id) { return &c->g->nodes[id]; }

static int fail(fctx *c, int id, const char *what)
{
    if (!c->failed) {
        const ir_node *n = node(c, id);
        moec_error(c->d, "fusion: %%%d %s%s%s: %s", id, ir_op_name(n->op), n->scope ? " in " : "",
                   n->scope ? n->scope : "", what);
    }
    c->failed = true;
    return -1;
}

/* ---- phase 1: which nodes are stored ---- */

static bool is_leaf(ir_op op) { return op == IR_INPUT || op == IR_PARAM; }

/* Ops that always produce a buffer: library calls, templates, reductions, concat. */
static bool always_stored(ir_op op)
{
    return op == IR_MATMUL || op == IR_GROUPED_MATMUL || op == IR_GROUPED_OUTER || op == IR_TOPK ||
           op == IR_CUMSUM || op == IR_SCATTER_ADD || op == IR_PUT || op == IR_SUM || op == IR_REDUCE_MAX ||
           op == IR_CONCAT || is_leaf(op);
}

/* Ops a template reads straight from a contiguous buffer. */
static bool template_op(ir_op op)
{
    return op == IR_TOPK || op == IR_CUMSUM || op == IR_SCATTER_ADD || op == IR_PUT;
}

/* A PUT of one value per row (cross-entropy's gradient of the picked
 * log-probability) is computed where it is read: where(idx == j, src, 0),
 * which is what the template gives (0 + src), with no buffer of zeros. */
static bool put_inline(const fctx *c, int id)
{
    const ir_node *n = &c->g->nodes[id];
    if (n->op != IR_PUT || !c->opt->fuse) return false;
    const ir_shape *src = &c->g->nodes[n->in[0]].shape;
    return src->rank >= 1 && src->dim[src->rank - 1] <= PUT_INLINE_K;
}

static bool stored_op(const fctx *c, int id)
{
    return always_stored(c->g->nodes[id].op) && !put_inline(c, id);
}

static bool template_node(const fctx *c, int id)
{
    return template_op(c->g->nodes[id].op) && !put_inline(c, id);
}

/* A TAKE may read its table inline (at a gathered column) when the table is
 * computed elementwise from stored values (through broadcasts, permutes,
 * slices, reshapes of stored values): no other gathered index can meet the
 * taken one. *budget bounds the walk. */
static bool table_inlinable(const fctx *c, int id, int *budget)
{
    if (c->store[id]) return true;
    if (--*budget < 0) return false;
    const ir_node *n = &c->g->nodes[id];
    switch (ir_op_kind(n->op)) {
    case IR_KIND_UNARY: case IR_KIND_BINARY: case IR_KIND_WHERE: break;
    default:
        if (n->op == IR_RESHAPE && c->store[n->in[0]]) return true;   /* read by flat position */
        if (n->op != IR_CONST && n->op != IR_BROADCAST && n->op != IR_PERMUTE && n->op != IR_SLICE) return false;
    }
    for (int i = 0; i < n->n_in; i++)
        if (!table_inlinable(c, n->in[i], budget)) return false;
    return true;
}

static void mark_needed(fctx *c, int root)
{
    if (root < 0 || c->need[root]) return;
    /* Iterative: nodes are topological, so one backward sweep from the highest root suffices. */
    c->need[root] = true;
    for (int id = root; id >= 0; id--) {
        if (!c->need[id]) continue;
        const ir_node *n = node(c, id);
        for (int i = 0; i < n->n_in; i++) c->need[n->in[i]] = true;
    }
}

/* Groups of a reshape: in_dim[d] = sum over out dims j of coef[d][j] * out_idx[j]
 * exists when every group of equal products holds at most one input dim > 1. */
static bool reshape_is_split(const ir_shape *in, const ir_shape *out, int64_t coef[IR_MAX_RANK][IR_MAX_RANK])
{
    memset(coef, 0, sizeof(int64_t) * IR_MAX_RANK * IR_MAX_RANK);
    int i = 0, j = 0;
    while (i < in->rank || j < out->rank) {
        while (i < in->rank && in->dim[i] == 1) i++;
        while (j < out->rank && out->dim[j] == 1) j++;
        if (i == in->rank || j == out->rank) return i == in->rank && j == out->rank;
        /* one input dim i absorbs output dims j.. until their product equals it */
        int64_t prod = 1;
        int first = j;
        while (j < out->rank && prod < in->dim[i]) prod *= out->dim[j++];
        if (prod != in->dim[i]) return false;
        int64_t stride = 1;
        for (int k = j - 1; k >= first; k--) {
            coef[i][k] = stride;
            stride *= out->dim[k];
        }
        i++;
    }
    return true;
}

/* A strided view of a stored buffer: element idx at offset + sum idx[d] * stride[d]. */
typedef struct view {
    int base;          /* the stored node it reads */
    ir_shape shape;
    int64_t stride[IR_MAX_RANK];
    int64_t offset;
} view;

static void contiguous_strides(const ir_shape *s, int64_t st[IR_MAX_RANK])
{
    int64_t k = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        st[d] = s->dim[d] == 1 ? 0 : k;
        k *= s->dim[d];
    }
}

static bool view_reshape(view *v, const ir_shape *to)
{
    /* Merge/split dims of a strided view: walk groups of equal products;
     * a group's input dims must be mutually contiguous. */
    view out = { .base = v->base, .shape = *to, .offset = v->offset };
    int i = 0, j = 0;
    const ir_shape *in = &v->shape;
    while (i < in->rank || j < to->rank) {
        if (i < in->rank && in->dim[i] == 1) { i++; continue; }
        if (j < to->rank && to->dim[j] == 1) { out.stride[j++] = 0; continue; }
        if (i == in->rank || j == to->rank) return false;
        int i0 = i, j0 = j;
        int64_t pi = in->dim[i++], pj = to->dim[j++];
        while (pi != pj) {
            if (pi < pj) { if (i == in->rank) return false; pi *= in->dim[i++]; }
            else { if (j == to->rank) return false; pj *= to->dim[j++]; }
        }
        for (int k = i0; k < i - 1; k++)      /* input dims of the group must nest */
            if (in->dim[k + 1] != 1 && v->stride[k] != v->stride[k + 1] * in->dim[k + 1]) return false;
        int64_t s = v->stride[i - 1];
        for (int k = i - 1; k > i0 && in->dim[k] == 1; k--) s = v->stride[k - 1];
        for (int k = j - 1; k >= j0; k--) {
            out.stride[k] = to->dim[k] == 1 ? 0 : s;
            s *= to->dim[k];
        }
    }
    *v = out;
    return true;
}

/* The view a node is of a stored buffer through movement ops only. */
static bool view_of(const fctx *c, int id, view *v)
{
    const ir_node *n = node(c, id);
    if (c->store[id]) {
        *v = (view){ .base = id, .shape = n->shape };
        contiguous_strides(&n->shape, v->stride);
        return true;
    }
    if (n->op != IR_PERMUTE && n->op != IR_SLICE && n->op != IR_RESHAPE && n->op != IR_BROADCAST) return false;
    view in;
    if (!view_of(c, n->in[0], &in)) return false;
    switch (n->op) {
    case IR_PERMUTE:
        *v = in;
        v->shape = n->shape;
        for (int d = 0; d < n->shape.rank; d++) v->stride[d] = in.stride[ir_attr_perm(n, d)];
        return true;
    case IR_SLICE:
        *v = in;
        v->shape = n->shape;
        v->offset += ir_attr_start(n) * in.stride[ir_attr_axis(n)];
        return true;
    case IR_RESHAPE: *v = in; return view_reshape(v, &n->shape);
    case IR_BROADCAST: {
        *v = (view){ .base = in.base, .shape = n->shape, .offset = in.offset };
        int lead = n->shape.rank - in.shape.rank;
        for (int d = 0; d < n->shape.rank; d++)
            v->stride[d] = d < lead || in.shape.dim[d - lead] == 1 ? 0 : in.stride[d - lead];
        return true;
    }
    default: return false;
    }
}

/* A matrix operand needs its last two dims with one unit stride and a leading
 * dimension BLAS accepts. */
static bool matrix_ok(const view *v)
{
    int r = v->shape.rank;
    int64_t rows = v->shape.dim[r - 2], cols = v->shape.dim[r - 1];
    int64_t rs = rows == 1 ? 0 : v->stride[r - 2], cs = cols == 1 ? 0 : v->stride[r - 1];
    if (cs <= 1 && (rs == 0 || rs >= cols)) return true;   /* row-major */
    if (rs <= 1 && (cs == 0 || cs >= rows)) return true;   /* column-major (a transpose) */
    return false;
}

static int64_t numel_of(const fctx *c, int id) { return ir_shape_numel(&node(c, id)->shape); }

/* A value computed elementwise from values of its own shape (or single
 * values) down to stored ones: readable at a flat position, so a reshape
 * that merges its dimensions (the gradient norm's sum of g·g over all of g)
 * needs no buffer for it. *budget bounds the walk. */
static bool flat_computable(const fctx *c, int id, int *budget)
{
    if (c->store[id]) return true;
    if (--*budget < 0) return false;
    const ir_node *n = node(c, id);
    ir_kind kind = ir_op_kind(n->op);
    if (kind != IR_KIND_UNARY && kind != IR_KIND_BINARY && kind != IR_KIND_WHERE) return false;
    for (int i = 0; i < n->n_in; i++) {
        const ir_node *o = node(c, n->in[i]);
        bool same = o->shape.rank == n->shape.rank && !memcmp(o->shape.dim, n->shape.dim, sizeof(int64_t) * (size_t)n->shape.rank);
        if (!same && ir_shape_numel(&o->shape) != 1) return false;
        if (same && !flat_computable(c, n->in[i], budget)) return false;
    }
    return true;
}

/* Operands that must be stored for n to be computed the way plan() chose. */
static void require_operands(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    if (n->op == IR_MATMUL || n->op == IR_GROUPED_MATMUL || n->op == IR_GROUPED_OUTER) {
        for (int i = 0; i < 2; i++) {
            view v;
            if (!view_of(c, n->in[i], &v) || !matrix_ok(&v)) c->store[n->in[i]] = true;
        }
        if (n->op != IR_MATMUL) c->store[n->in[2]] = true;   /* the group sizes */
    } else if (template_node(c, id)) {
        for (int i = 0; i < n->n_in; i++) c->store[n->in[i]] = true;
    } else if (n->op == IR_GATHER) {
        c->store[n->in[0]] = true;   /* the table is read at a gathered row */
    } else if (n->op == IR_TAKE) {
        int budget = TABLE_NODES;
        if (!c->opt->fuse || !table_inlinable(c, n->in[0], &budget)) c->store[n->in[0]] = true;
    } else if (n->op == IR_RESHAPE && !c->store[n->in[0]]) {
        int64_t coef[IR_MAX_RANK][IR_MAX_RANK];
        int budget = TABLE_NODES;
        if (!reshape_is_split(&node(c, n->in[0])->shape, &n->shape, coef) &&
            !(c->opt->fuse && flat_computable(c, n->in[0], &budget)))
            c->store[n->in[0]] = true;
    }
}

static int op_cost(ir_op op) { return op == IR_RANDOM ? 8 : op == IR_CONST || op == IR_IOTA ? 0 : 1; }

static void plan(fctx *c, int n_nodes)
{
    int max_inline = c->opt->max_inline_cost > 0 ? c->opt->max_inline_cost : DEFAULT_MAX_INLINE;
    for (int id = 0; id < n_nodes; id++) {
        if (!c->need[id]) continue;
        const ir_node *n = node(c, id);
        for (int i = 0; i < n->n_in; i++) c->users[n->in[i]]++;
    }
    for (int id = 0; id < n_nodes; id++) {
        if (!c->need[id]) continue;
        const ir_node *n = node(c, id);
        if (stored_op(c, id) || (!c->opt->fuse && n->op != IR_CONST)) c->store[id] = true;
        require_operands(c, id);
    }
    /* Recomputation costs, now that the forced buffers are known. An
     * operand broadcast into this node's larger space is stored first (the
     * rule below), so that its cost is not counted again in each consumer. */
    for (int id = 0; id < n_nodes; id++) {
        if (!c->need[id] || c->store[id]) continue;
        const ir_node *n = node(c, id);
        for (int i = 0; i < n->n_in; i++) {
            int o = n->in[i];
            if (!c->store[o] && c->cost[o] > 2 && numel_of(c, o) < numel_of(c, id) && n->op != IR_RESHAPE)
                c->store[o] = true;
        }
        int cost = op_cost(n->op);
        for (int i = 0; i < n->n_in; i++)
            if (!c->store[n->in[i]]) cost += c->cost[n->in[i]];
        c->cost[id] = cost > COST_CAP ? COST_CAP : cost;
        if (c->users[id] > 1 && c->cost[id] > max_inline) c->store[id] = true;
    }
    /* A value broadcast into a larger space is computed once, unless trivial. */
    for (int id = 0; id < n_nodes; id++) {
        if (!c->need[id]) continue;
        const ir_node *n = node(c, id);
        for (int i = 0; i < n->n_in; i++) {
            int o = n->in[i];
            if (!c->store[o] && c->cost[o] > 2 && numel_of(c, o) < numel_of(c, id) && n->op != IR_RESHAPE)
                c->store[o] = true;
        }
    }
    /* Storing may have changed what reshapes and products see: settle once more. */
    for (int id = 0; id < n_nodes; id++)
        if (c->need[id]) require_operands(c, id);
    /* A product read only through its transpose (the tied LM head's weight
     * gradient, [d, V] read as [V, d]) is computed transposed, B^T A^T, into
     * the transpose's buffer: its readers then read rows, not columns. */
    for (int id = 0; id < n_nodes && c->opt->fuse; id++) {
        const ir_node *n = node(c, id);
        if (!c->need[id] || n->op != IR_PERMUTE || n->shape.rank != 2 || ir_attr_perm(n, 0) != 1) continue;
        int mm = n->in[0];
        const ir_node *m = node(c, mm);
        if (m->op != IR_MATMUL || c->users[mm] != 1 || c->buf[mm] >= 0 || node(c, m->in[0])->shape.rank != 2 ||
            node(c, m->in[1])->shape.rank != 2)
            continue;
        c->transposed[id] = mm;
        c->store[id] = true;
        c->store[mm] = false;
    }
}

/* ---- phase 2: positions and values inside one loop kernel ---- */

static affine axis_pos(int axis)
{
    affine a = { .gv = -1 };
    a.c[axis] = 1;
    return a;
}

static affine zero_pos(void) { return (affine){ .gv = -1 }; }

/* a * k */
static affine scaled(affine a, int64_t k)
{
    a.base *= k;
    for (int i = 0; i < IR_K_AXES; i++) a.c[i] *= k;
    a.gc *= k;
    return a;
}

/* a + b, or false when both have a gathered term of different values. */
static bool added(affine *a, const affine *b)
{
    if (b->gv >= 0) {
        if (a->gv >= 0 && a->gv != b->gv) return false;
        a->gc += b->gc;
        a->gv = b->gv;
    }
    a->base += b->base;
    for (int i = 0; i < IR_K_AXES; i++) a->c[i] += b->c[i];
    return true;
}

static void note_line(fctx *c, int id)
{
    ir_launch_add_line(c->l, node(c, id)->loc.line);
}

/* The element of a row-major tensor of shape s at position at[]. */
static int flat_index(fctx *c, int id, const ir_shape *s, const affine *at, ir_kindex *ix)
{
    int64_t st[IR_MAX_RANK];
    contiguous_strides(s, st);
    affine sum = zero_pos();
    for (int d = 0; d < s->rank; d++) {
        affine t = scaled(at[d], st[d]);
        if (!added(&sum, &t)) return fail(c, id, "two gathered indices meet in one load");
    }
    *ix = (ir_kindex){ .base = sum.base, .gather = sum.gv, .gather_stride = sum.gc };
    memcpy(ix->stride, sum.c, sizeof ix->stride);
    return 0;
}

/* ---- instructions: a value that does not move along r is a point value ---- */

/* A value usable at any later stage of the point: a point instruction or a reduction's result. */
static bool pointlike(const fctx *c, int v)
{
    const ir_kinstr *in = &c->l->loop.ins[v];
    return in->pass == IR_KPASS_POINT || in->kind == IR_KI_REDUCE;
}

/* The pass of a new instruction: the point when nothing it reads moves along
 * the reduce axis (computed once per point, not once per step), else c->pass. */
static int pass_of(const fctx *c, const int *src, int n_src, const ir_kindex *ix)
{
    if (c->pass == IR_KPASS_POINT) return IR_KPASS_POINT;
    if (ix && (ix->stride[IR_K_REDUCE_AXIS] || (ix->gather >= 0 && !pointlike(c, ix->gather)))) return c->pass;
    for (int i = 0; i < n_src; i++)
        if (src[i] >= 0 && !pointlike(c, src[i])) return c->pass;
    return IR_KPASS_POINT;
}

static int k_alu(fctx *c, ir_op op, int64_t attr, int a, int b, int w)
{
    if (a < 0) return -1;
    int src[3] = { a, b, w };
    return ir_k_alu(c->p, c->l, pass_of(c, src, 3, NULL), op, attr, a, b, w);
}

static int k_const(fctx *c, ir_dtype dtype, double value)
{
    return ir_k_const(c->p, c->l, IR_KPASS_POINT, dtype, value);
}

static int k_axis(fctx *c, int axis)
{
    return ir_k_axis(c->p, c->l, axis == IR_K_REDUCE_AXIS ? c->pass : IR_KPASS_POINT, axis);
}

static int k_load(fctx *c, int buf, ir_kindex ix)
{
    return ir_k_load(c->p, c->l, pass_of(c, NULL, 0, &ix), buf, ix);
}

/* Field by field: memcmp would also compare the padding after `gv`, which
 * struct assignment leaves undefined. */
static bool affines_equal(const affine *a, const affine *b, int rank)
{
    for (int d = 0; d < rank; d++) {
        if (a[d].base != b[d].base || a[d].gv != b[d].gv || a[d].gc != b[d].gc) return false;
        for (int k = 0; k < IR_K_AXES; k++)
            if (a[d].c[k] != b[d].c[k]) return false;
    }
    return true;
}

static int memo_find(const fctx *c, int id, const affine *at, int rank)
{
    for (int i = c->n_memo - 1; i >= 0; i--) {
        const memo_entry *m = &c->memo[i];
        if (m->node == id && (m->pass == c->pass || m->pass == IR_KPASS_POINT) &&
            affines_equal(m->at, at, rank))
            return m->value;
    }
    return -1;
}

static void memo_put(fctx *c, int id, const affine *at, int rank, int value)
{
    if (c->n_memo == MEMO_MAX || value < 0) return;
    memo_entry *m = &c->memo[c->n_memo++];
    memset(m, 0, sizeof *m);
    m->node = id;
    m->pass = c->l->loop.ins[value].pass;
    memcpy(m->at, at, sizeof(affine) * (size_t)rank);
    m->value = value;
}

/* ---- the last launch writing each buffer (a view counts as its root) ---- */

static int root_buf(const fctx *c, int b)
{
    while (c->p->bufs[b].parent >= 0) b = c->p->bufs[b].parent;
    return b;
}

static int last_writer(const fctx *c, int b)
{
    b = root_buf(c, b);
    return b < c->cap_lastw ? c->lastw[b] : -1;
}

static int note_writer(fctx *c, int b, int launch)
{
    b = root_buf(c, b);
    if (b >= c->cap_lastw) {
        int cap = c->cap_lastw ? c->cap_lastw : 256;
        while (cap <= b) cap *= 2;
        int *w = realloc(c->lastw, sizeof *w * (size_t)cap);
        if (!w) return -1;
        for (int i = c->cap_lastw; i < cap; i++) w[i] = -1;
        c->lastw = w;
        c->cap_lastw = cap;
    }
    c->lastw[b] = launch;
    return 0;
}

/* A load of stored node id's buffer. Inside a row kernel that is being
 * extended, the buffer must have been written before the kernel runs. */
static int load_buf(fctx *c, int id, ir_kindex ix)
{
    if (c->joining) {
        if (c->written[id] >= 0 || last_writer(c, c->buf[id]) >= c->launch) {
            c->join_failed = true;
            return -1;
        }
        for (int i = 0; i < c->shared_reads; i++)   /* the same data, not a shared scalar */
            if (c->l->reads[i] == c->buf[id] && c->p->bufs[c->buf[id]].numel >= ir_kloop_points(&c->l->loop))
                c->shared = true;
    } else if (c->written[id] >= 0 && c->written[id] != c->launch) {
        return fail(c, id, "read after the optimizer overwrote it in place");
    }
    return k_load(c, c->buf[id], ix);
}

static int load_stored(fctx *c, int id, const affine *at)
{
    ir_kindex ix;
    if (flat_index(c, id, &node(c, id)->shape, at, &ix) < 0) return -1;
    return load_buf(c, id, ix);
}

/* Two positions are the same element (a dim of length 1 is at 0 either way). */
static bool same_pos(const affine *a, const affine *b, int64_t len)
{
    if (len == 1) return a->gv < 0 && b->gv < 0;
    if (a->base != b->base || a->gv != b->gv || (a->gv >= 0 && a->gc != b->gc)) return false;
    for (int i = 0; i < IR_K_AXES; i++)
        if (a->c[i] != b->c[i]) return false;
    return true;
}

/* Does `at` reach member m at the group's own point (and step, for a pass member)? */
static bool member_at(const fctx *c, const group *g, const member *m, const affine *at)
{
    const ir_shape *s = &node(c, m->node)->shape;
    int r = g->rows.rank;
    for (int d = 0; !g->row && d < r; d++) {
        affine want = axis_pos(d);
        if (!same_pos(&at[d], &want, g->rows.dim[d])) return false;
    }
    if (!g->row) return true;
    for (int d = 0; d < r - 1; d++) {
        affine want = axis_pos(d);
        if (!same_pos(&at[d], &want, g->rows.dim[d])) return false;
    }
    if (s->rank == r - 1) return true;
    affine last = m->kind == MEMBER_PASS ? axis_pos(IR_K_REDUCE_AXIS) : zero_pos();
    return same_pos(&at[r - 1], &last, s->dim[r - 1]);
}

/* The value of member `id` of the group being extended at position at, or
 * -1 with join_failed set when it is read anywhere but at its own point.
 * *member says whether id is a member at all. */
static int member_value(fctx *c, int id, const affine *at, bool *is_member)
{
    group *g = c->joining;
    *is_member = false;
    for (int i = 0; g && i < g->n_m; i++) {
        const member *m = &g->m[i];
        if (m->node != id) continue;
        *is_member = true;
        if (!member_at(c, g, m, at)) break;
        c->touched = true;
        if (m->kind != MEMBER_PASS || m->pass == c->pass) return m->value;
        if (c->pass == IR_KPASS_POINT || c->pass < m->pass) break;
        ir_kindex ix;       /* written in an earlier pass of this point: read back */
        if (flat_index(c, id, &node(c, id)->shape, at, &ix) < 0) return -1;
        return k_load(c, c->buf[id], ix);
    }
    if (*is_member) c->join_failed = true;
    return -1;
}

static int compute(fctx *c, int id, const affine *at);

/* The value of node id at position at[] (its rank entries). */
static int emit_value(fctx *c, int id, const affine *at)
{
    int rank = node(c, id)->shape.rank;
    int v = memo_find(c, id, at, rank);
    if (v >= 0) return v;
    bool member;
    v = member_value(c, id, at, &member);
    if (member) return v;
    v = c->store[id] ? load_stored(c, id, at) : compute(c, id, at);
    memo_put(c, id, at, rank, v);
    return v;
}

/* v + term, or term alone when v is -1 (nothing yet). */
static int plus(fctx *c, int v, int term)
{
    return v < 0 || term < 0 ? term : k_alu(c, IR_ADD, 0, v, term, -1);
}

/* k * x as f32, or x when k is 1. */
static int times(fctx *c, int x, int64_t k)
{
    if (k == 1 || x < 0) return x;
    return k_alu(c, IR_MUL, 0, x, k_const(c, IR_F32, (double)k), -1);
}

/* The value of a position as an f32 number (iota, one_hot). */
static int position_value(fctx *c, const affine *a)
{
    int v = -1;
    for (int ax = 0; ax < IR_K_AXES; ax++)
        if (a->c[ax]) v = plus(c, v, times(c, k_axis(c, ax), a->c[ax]));
    if (a->gv >= 0) v = plus(c, v, times(c, k_alu(c, IR_CAST, IR_F32, a->gv, -1, -1), a->gc));
    if (a->base || v < 0) v = plus(c, v, k_const(c, IR_F32, (double)a->base));
    return v;
}

/* Operand i of n seen at n's position (numpy broadcasting). */
static int operand_at(fctx *c, const ir_node *n, int i, const affine *at)
{
    const ir_node *o = node(c, n->in[i]);
    affine oat[IR_MAX_RANK];
    int lead = n->shape.rank - o->shape.rank;
    for (int d = 0; d < o->shape.rank; d++) oat[d] = o->shape.dim[d] == 1 ? zero_pos() : at[d + lead];
    return emit_value(c, n->in[i], oat);
}

/* Node id (flat_computable) at the flat position `flat` of its elements. */
static int flat_value(fctx *c, int id, const affine *flat)
{
    const ir_node *n = node(c, id);
    if (c->store[id]) {
        ir_kindex ix = { .base = flat->base, .gather = flat->gv, .gather_stride = flat->gc };
        memcpy(ix.stride, flat->c, sizeof ix.stride);
        return load_buf(c, id, ix);
    }
    note_line(c, id);
    int v[3] = { -1, -1, -1 };
    for (int i = 0; i < n->n_in; i++) {
        const ir_node *o = node(c, n->in[i]);
        bool same = o->shape.rank == n->shape.rank && !memcmp(o->shape.dim, n->shape.dim, sizeof(int64_t) * (size_t)n->shape.rank);
        affine zero[IR_MAX_RANK];
        for (int d = 0; d < o->shape.rank; d++) zero[d] = zero_pos();
        v[i] = same ? flat_value(c, n->in[i], flat) : emit_value(c, n->in[i], zero);
        if (v[i] < 0) return -1;
    }
    int64_t attr = n->op == IR_CMP ? ir_attr_cmp(n) : n->op == IR_CAST ? ir_attr_to(n) : 0;
    if (n->op == IR_STOP_GRAD) return v[0];
    return k_alu(c, n->op, attr, v[0], v[1], v[2]);
}

static int compute_reshape(fctx *c, int id, const affine *at)
{
    const ir_node *n = node(c, id);
    int x = n->in[0];
    if (c->store[x]) {          /* same elements in the same order: read by flat position */
        ir_kindex ix;
        if (flat_index(c, x, &n->shape, at, &ix) < 0) return -1;
        if (c->joining) {           /* a member is read only at its own point */
            for (int i = 0; i < c->joining->n_m; i++)
                if (c->joining->m[i].node == x) c->join_failed = true;
            if (c->join_failed) return -1;
        }
        return load_buf(c, x, ix);
    }
    int64_t coef[IR_MAX_RANK][IR_MAX_RANK];
    const ir_shape *in = &node(c, x)->shape;
    if (!reshape_is_split(in, &n->shape, coef)) {
        int budget = TABLE_NODES;
        if (!flat_computable(c, x, &budget)) return fail(c, id, "reshape of an unstored value is not a split");
        int64_t st[IR_MAX_RANK];      /* the same elements in the same order: one flat position */
        contiguous_strides(&n->shape, st);
        affine flat = zero_pos();
        for (int j = 0; j < n->shape.rank; j++) {
            affine t = scaled(at[j], st[j]);
            if (!added(&flat, &t)) return fail(c, id, "two gathered indices meet in one reshape");
        }
        return flat_value(c, x, &flat);
    }
    affine xat[IR_MAX_RANK];
    for (int d = 0; d < in->rank; d++) {
        xat[d] = zero_pos();
        for (int j = 0; j < n->shape.rank; j++) {
            if (!coef[d][j]) continue;
            affine t = scaled(at[j], coef[d][j]);
            if (!added(&xat[d], &t)) return fail(c, id, "two gathered indices meet in one reshape");
        }
    }
    return emit_value(c, x, xat);
}

static int compute_movement(fctx *c, int id, const affine *at)
{
    const ir_node *n = node(c, id);
    affine xat[IR_MAX_RANK];
    switch (n->op) {
    case IR_PERMUTE:
        for (int d = 0; d < n->shape.rank; d++) xat[ir_attr_perm(n, d)] = at[d];
        return emit_value(c, n->in[0], xat);
    case IR_SLICE:
        memcpy(xat, at, sizeof(affine) * (size_t)n->shape.rank);
        xat[ir_attr_axis(n)].base += ir_attr_start(n);
        return emit_value(c, n->in[0], xat);
    case IR_BROADCAST: return operand_at(c, n, 0, at);
    case IR_RESHAPE: return compute_reshape(c, id, at);
    default: MOEC_UNREACHABLE();
    }
}

/* GATHER, TAKE, ONE_HOT: an index value read first, then used as a position. */
static int compute_indexing(fctx *c, int id, const affine *at)
{
    const ir_node *n = node(c, id);
    int r = n->shape.rank;
    affine xat[IR_MAX_RANK];
    switch (n->op) {
    case IR_GATHER: {                   /* table [V, d] at (idx[at[0..r-2]], at[r-1]) */
        int v = emit_value(c, n->in[1], at);
        if (v < 0) return -1;
        xat[0] = (affine){ .gv = v, .gc = 1 };
        xat[1] = at[r - 1];
        return emit_value(c, n->in[0], xat);
    }
    case IR_TAKE: {                     /* x [..., n] at (at[0..r-2], idx[at]) */
        int v = emit_value(c, n->in[1], at);
        if (v < 0) return -1;
        memcpy(xat, at, sizeof(affine) * (size_t)(r - 1));
        xat[r - 1] = (affine){ .gv = v, .gc = 1 };
        return emit_value(c, n->in[0], xat);
    }
    case IR_ONE_HOT: {                  /* idx[at[0..r-2]] == at[r-1] */
        int v = emit_value(c, n->in[0], at);
        if (v < 0) return -1;
        int vf = k_alu(c, IR_CAST, IR_F32, v, -1, -1);
        return k_alu(c, IR_CMP, IR_CMP_EQ, vf, position_value(c, &at[r - 1]), -1);
    }
    case IR_PUT: {                      /* k = 1: src at idx, zeros elsewhere (put_inline) */
        memcpy(xat, at, sizeof(affine) * (size_t)(r - 1));
        xat[r - 1] = zero_pos();
        int v = emit_value(c, n->in[1], xat);
        int src = v < 0 ? -1 : emit_value(c, n->in[0], xat);
        if (src < 0) return -1;
        int hit = k_alu(c, IR_CMP, IR_CMP_EQ, k_alu(c, IR_CAST, IR_F32, v, -1, -1), position_value(c, &at[r - 1]), -1);
        return k_alu(c, IR_WHERE, 0, hit, src, k_const(c, IR_F32, 0.0));
    }
    default: MOEC_UNREACHABLE();
    }
}

static int compute_leafish(fctx *c, int id, const affine *at)
{
    const ir_node *n = node(c, id);
    switch (n->op) {
    case IR_CONST: return k_const(c, n->dtype, ir_attr_value(n));
    case IR_IOTA: return position_value(c, &at[ir_attr_axis(n)]);
    case IR_RANDOM: {
        affine scalar[1] = { zero_pos() };   /* the step is rank 0 */
        int step = emit_value(c, n->in[0], scalar);
        ir_kindex ix;
        if (step < 0 || flat_index(c, id, &n->shape, at, &ix) < 0) return -1;
        return ir_k_random(c->p, c->l, pass_of(c, &step, 1, &ix), (ir_random_dist)ir_attr_dist(n), (uint64_t)ir_attr_seed(n), (uint32_t)ir_attr_stream(n),
                           step, ix);
    }
    default: MOEC_UNREACHABLE();
    }
}

/* Node id computed from its operands at position at[] (it is not read from a buffer). */
static int compute(fctx *c, int id, const affine *at)
{
    const ir_node *n = node(c, id);
    note_line(c, id);
    int a, b, w;
    switch (n->op) {
    case IR_CONST: case IR_IOTA: case IR_RANDOM: return compute_leafish(c, id, at);
    case IR_STOP_GRAD: return operand_at(c, n, 0, at);
    case IR_NEG: case IR_EXP: case IR_LOG: case IR_TANH: case IR_SQRT: case IR_RSQRT: case IR_ERF:
        a = operand_at(c, n, 0, at);
        return a < 0 ? -1 : k_alu(c, n->op, 0, a, -1, -1);
    case IR_CAST:
        a = operand_at(c, n, 0, at);
        return a < 0 ? -1 : k_alu(c, IR_CAST, ir_attr_to(n), a, -1, -1);
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_MAX: case IR_CMP:
        a = operand_at(c, n, 0, at);
        b = a < 0 ? -1 : operand_at(c, n, 1, at);
        return b < 0 ? -1 : k_alu(c, n->op, n->op == IR_CMP ? ir_attr_cmp(n) : 0, a, b, -1);
    case IR_WHERE:
        w = operand_at(c, n, 0, at);
        a = w < 0 ? -1 : operand_at(c, n, 1, at);
        b = a < 0 ? -1 : operand_at(c, n, 2, at);
        return b < 0 ? -1 : k_alu(c, IR_WHERE, 0, w, a, b);
    case IR_PERMUTE: case IR_SLICE: case IR_BROADCAST: case IR_RESHAPE: return compute_movement(c, id, at);
    case IR_GATHER: case IR_TAKE: case IR_ONE_HOT: return compute_indexing(c, id, at);
    case IR_PUT:
        if (put_inline(c, id)) return compute_indexing(c, id, at);
        return fail(c, id, "is computed by its own launch, not inline");
    case IR_INPUT: case IR_PARAM: case IR_SUM: case IR_REDUCE_MAX: case IR_CUMSUM: case IR_CONCAT:
    case IR_MATMUL: case IR_GROUPED_MATMUL: case IR_GROUPED_OUTER: case IR_SCATTER_ADD: case IR_TOPK:
        return fail(c, id, "is computed by its own launch, not inline");
    default: MOEC_UNREACHABLE();
    }
}

/* ---- phase 2: launches ---- */

/* "layernorm" style names: the op, the scope with dots as underscores, the node. */
static char *launch_name(fctx *c, int id, const char *what)
{
    const ir_node *n = node(c, id);
    char *name = moec_arena_printf(&c->p->arena, "%s_%s_n%d", what ? what : ir_op_name(n->op),
                                   n->scope ? n->scope : "step", id);
    for (char *q = name; q && *q; q++)
        if (*q == '.') *q = '_';
    return name;
}

static int begin_loop(fctx *c, int id, const char *what, const ir_shape *space, int64_t reduce)
{
    const char *name = launch_name(c, id, what);
    c->l = name ? ir_launch_add(c->p, IR_LAUNCH_LOOP, name) : NULL;
    if (!c->l) return fail(c, id, "out of memory");
    c->l->loop.rank = space->rank;
    memcpy(c->l->loop.dim, space->dim, sizeof space->dim);
    c->l->loop.reduce = reduce;
    c->l->loop.n_passes = reduce ? 1 : 0;
    c->launch = c->p->n_launches - 1;
    c->n_memo = 0;
    c->pass = reduce ? 0 : IR_KPASS_POINT;
    note_line(c, id);
    return 0;
}

static void identity_pos(int rank, affine *at)
{
    for (int d = 0; d < rank; d++) at[d] = axis_pos(d);
}

static int store_value(fctx *c, int id, const ir_shape *s, const affine *at, int value, int buf)
{
    ir_kindex ix;
    if (value < 0 || flat_index(c, id, s, at, &ix) < 0) return -1;
    int pass = ix.stride[IR_K_REDUCE_AXIS] || !pointlike(c, value) ? c->pass : IR_KPASS_POINT;
    return ir_k_store(c->p, c->l, pass, buf, ix, value) < 0 ? fail(c, id, "out of memory") : 0;
}

/* A kernel over the node's own shape: recompute it and store it. */
static int emit_pointwise(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    affine at[IR_MAX_RANK];
    if (begin_loop(c, id, NULL, &n->shape, 0) < 0) return -1;
    identity_pos(n->shape.rank, at);
    return store_value(c, id, &n->shape, at, compute(c, id, at), c->buf[id]);
}

/* SUM / REDUCE_MAX of x over `axis`: the kept axes parallel, the axis reduced. */
static int emit_reduce(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    const ir_node *x = node(c, n->in[0]);
    int axis = (int)ir_attr_axis(n);
    ir_shape space = { .rank = x->shape.rank - 1 };
    for (int d = 0, k = 0; d < x->shape.rank; d++)
        if (d != axis) space.dim[k++] = x->shape.dim[d];
    if (begin_loop(c, id, NULL, &space, x->shape.dim[axis]) < 0) return -1;
    affine xat[IR_MAX_RANK], out[IR_MAX_RANK];
    for (int d = 0; d < x->shape.rank; d++)
        xat[d] = d < axis ? axis_pos(d) : d == axis ? axis_pos(IR_K_REDUCE_AXIS) : axis_pos(d - 1);
    int v = emit_value(c, n->in[0], xat);
    int r = v < 0 ? -1 : ir_k_reduce(c->p, c->l, 0, n->op, v);
    c->pass = IR_KPASS_POINT;
    bool keep = n->shape.rank == x->shape.rank;
    for (int d = 0; d < n->shape.rank; d++)
        out[d] = keep ? (d < axis ? axis_pos(d) : d == axis ? zero_pos() : axis_pos(d - 1)) : axis_pos(d);
    return store_value(c, id, &n->shape, out, r, c->buf[id]);
}

/* ---- row kernels ---- */

/* The shape a reduction over its last axis walks (its operand's), when that
 * axis is longer than 1: a row kernel can grow from it. */
static bool row_reduction(const fctx *c, int id, ir_shape *rows)
{
    const ir_node *n = node(c, id);
    if (n->op != IR_SUM && n->op != IR_REDUCE_MAX) return false;
    const ir_shape *x = &node(c, n->in[0])->shape;
    if (x->rank < 1 || ir_attr_axis(n) != x->rank - 1 || x->dim[x->rank - 1] < 2) return false;
    *rows = *x;
    return true;
}

static bool same_dims(const ir_shape *a, const ir_shape *b, int rank)
{
    for (int d = 0; d < rank; d++)
        if (a->dim[d] != b->dim[d]) return false;
    return true;
}

/* How node id would sit in group g, judged by shapes alone: a reduction
 * over g's rows, a value of one point (the rows' shape without r, or with
 * r of length 1), or a value of the whole row space. -1: none. */
static int member_kind_of(const fctx *c, const group *g, int id, member_kind *kind)
{
    const ir_node *n = node(c, id);
    const ir_shape *s = &n->shape, *f = &g->rows;
    int r = f->rank;
    ir_shape rows;
    if (!g->row) {      /* the same points, written in place or not */
        if (n->op == IR_SUM || n->op == IR_REDUCE_MAX || s->rank != r || !same_dims(s, f, r)) return -1;
        *kind = MEMBER_POINT;
        return 0;
    }
    if (c->into[id] >= 0) return -1;
    if (n->op == IR_SUM || n->op == IR_REDUCE_MAX) {
        if (!row_reduction(c, id, &rows) || rows.rank != r || !same_dims(&rows, f, r)) return -1;
        *kind = MEMBER_REDUCE;
        return 0;
    }
    if (s->rank == r && same_dims(s, f, r)) *kind = MEMBER_PASS;
    else if (s->rank == r - 1 && same_dims(s, f, r - 1)) *kind = MEMBER_POINT;
    else if (s->rank == r && same_dims(s, f, r - 1) && s->dim[r - 1] == 1) *kind = MEMBER_POINT;
    else return -1;
    return 0;
}

/* Member id of the group being extended, in pass q (a point member: none):
 * its value and its store. Returns the value, or -1. */
static int emit_member(fctx *c, int id, member_kind kind, int q)
{
    const ir_node *n = node(c, id);
    int r = c->joining->rows.rank, v;
    affine at[IR_MAX_RANK];
    identity_pos(c->joining->row ? r - 1 : r, at);
    if (!c->joining->row) {
        c->pass = IR_KPASS_POINT;
        v = compute(c, id, at);
    } else if (kind == MEMBER_REDUCE) {
        at[r - 1] = axis_pos(IR_K_REDUCE_AXIS);
        c->pass = q;
        int x = emit_value(c, n->in[0], at);
        v = x < 0 ? -1 : ir_k_reduce(c->p, c->l, q, n->op, x);
        c->pass = IR_KPASS_POINT;
        at[r - 1] = zero_pos();
    } else {
        c->pass = kind == MEMBER_PASS ? q : IR_KPASS_POINT;
        at[r - 1] = kind == MEMBER_PASS ? axis_pos(IR_K_REDUCE_AXIS) : zero_pos();
        v = compute(c, id, at);
    }
    int rc = store_value(c, id, &n->shape, at, v, c->buf[id]);
    c->pass = IR_KPASS_POINT;
    return rc < 0 ? -1 : v;
}

/* Every instruction from `from` on reads point values and reductions that
 * are ready before its pass starts: 1, 0 if not, -1 out of memory. */
static int stages_ok(const fctx *c, int from)
{
    const ir_kloop *k = &c->l->loop;
    int *stage = malloc(sizeof *stage * (size_t)(k->n_ins ? k->n_ins : 1));
    if (!stage) return -1;
    ir_kloop_stages(k, stage);
    int ok = 1;
    for (int i = from; i < k->n_ins && ok; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->pass == IR_KPASS_POINT) continue;
        bool indexed = in->kind == IR_KI_LOAD || in->kind == IR_KI_STORE || in->kind == IR_KI_RANDOM;
        int ops[4] = { in->src[0], in->src[1], in->src[2], indexed ? in->index.gather : -1 };
        for (int o = 0; o < 4; o++)
            if (ops[o] >= 0 && pointlike(c, ops[o]) && stage[ops[o]] > in->pass) ok = 0;
    }
    free(stage);
    return ok;
}

typedef struct snapshot {
    int n_ins, n_passes, n_reads, n_writes;
    int lines[IR_K_MAX_LINES];
} snapshot;

static snapshot take_snapshot(const ir_launch *l)
{
    snapshot s = { l->loop.n_ins, l->loop.n_passes, l->n_reads, l->n_writes, { 0 } };
    memcpy(s.lines, l->lines, sizeof s.lines);
    return s;
}

static void restore(ir_launch *l, const snapshot *s)
{
    l->loop.n_ins = s->n_ins;
    l->loop.n_passes = s->n_passes;
    l->n_reads = s->n_reads;
    l->n_writes = s->n_writes;
    memcpy(l->lines, s->lines, sizeof s->lines);
}

static int add_member(fctx *c, group *g, member m)
{
    if (g->n_m == g->cap_m) {
        int cap = g->cap_m ? 2 * g->cap_m : 8;
        member *a = realloc(g->m, sizeof *a * (size_t)cap);
        if (!a) return fail(c, m.node, "out of memory");
        g->m = a;
        g->cap_m = cap;
    }
    g->m[g->n_m++] = m;
    return 0;
}

/* Tries node id in group g: in g's last pass, or if what it reads is ready
 * only later, in a new pass after it. The node joins when every member it
 * reads is read at its own point (and step), every other buffer it reads is
 * written before g's launch, and it reads a member (a reduction may join
 * without: it shares the walk over the rows). Otherwise everything it
 * emitted is taken back. Returns 1 joined, 0 not, -1 error. */
static int check_in_place(fctx *c, int id, int first_launch, int last_launch);

static int join_group(fctx *c, group *g, int id, member_kind kind)
{
    ir_launch *l = &c->p->launches[g->launch];
    snapshot s = take_snapshot(l);
    int q = kind == MEMBER_POINT ? IR_KPASS_POINT : g->pass;
    for (int tries = 0; tries < 2; tries++, q++) {
        c->l = l;
        c->launch = g->launch;
        c->joining = g;
        c->n_memo = 0;
        c->join_failed = c->touched = c->shared = false;
        c->shared_reads = s.n_reads;
        if (q >= l->loop.n_passes) l->loop.n_passes = q + 1;
        int v = emit_member(c, id, kind, q);
        c->joining = NULL;
        if (c->failed) return -1;
        bool ok = v >= 0 && !c->join_failed && (c->touched || (c->loose && (c->shared || kind == MEMBER_REDUCE)));
        int st = ok ? stages_ok(c, s.n_ins) : 0;
        if (st < 0) return fail(c, id, "out of memory");
        if (st && c->into[id] >= 0 && check_in_place(c, id, g->launch, g->launch) < 0) return -1;
        if (st) {
            if (add_member(c, g, (member){ .node = id, .kind = kind, .value = v, .pass = q }) < 0) return -1;
            if (q > g->pass) g->pass = q;
            return note_writer(c, c->buf[id], g->launch) < 0 ? fail(c, id, "out of memory") : 1;
        }
        restore(l, &s);
        if (!ok || kind == MEMBER_POINT) break;
    }
    return 0;
}

/* A node written in place into a leaf may run as early as launch k only
 * when no later launch reads or writes that leaf (they expect its old value). */
static bool leaf_untouched_after(const fctx *c, int id, int k)
{
    if (c->into[id] < 0) return true;
    int b = root_buf(c, c->buf[id]);
    for (int j = k + 1; j < c->p->n_launches; j++) {
        const ir_launch *o = &c->p->launches[j];
        for (int i = 0; i < o->n_reads; i++)
            if (root_buf(c, o->reads[i]) == b) return false;
        for (int i = 0; i < o->n_writes; i++)
            if (root_buf(c, o->writes[i]) == b) return false;
    }
    return true;
}

/* A kernel that reads what id reads from its members first (newest
 * first), and only then one that merely shares data with it. */
static int try_join(fctx *c, int id)
{
    for (int round = 0; round < 2; round++) {
        c->loose = round == 1;
        for (int i = c->n_groups - 1; i >= 0; i--) {
            member_kind kind;
            if (member_kind_of(c, &c->groups[i], id, &kind) < 0 || !leaf_untouched_after(c, id, c->groups[i].launch))
                continue;
            int rc = join_group(c, &c->groups[i], id, kind);
            if (rc) return rc;
        }
    }
    return 0;
}

/* The launch just written (a reduction over rows) starts a row kernel. */
static int open_group(fctx *c, int id, const ir_shape *rows, bool row, int launch)
{
    if (c->n_groups == MAX_GROUPS) {
        free(c->groups[0].m);
        memmove(c->groups, c->groups + 1, sizeof *c->groups * (MAX_GROUPS - 1));
        c->n_groups--;
    }
    group *g = &c->groups[c->n_groups++];
    *g = (group){ .launch = launch, .row = row, .rows = *rows };
    const ir_kloop *k = &c->p->launches[g->launch].loop;
    int v = -1;       /* the reduction's value, or the stored one */
    for (int i = 0; i < k->n_ins; i++) {
        if (row && k->ins[i].kind == IR_KI_REDUCE) v = i;
        if (!row && k->ins[i].kind == IR_KI_STORE) v = k->ins[i].src[0];
    }
    return add_member(c, g, (member){ .node = id, .kind = row ? MEMBER_REDUCE : MEMBER_POINT, .value = v,
                                      .pass = row ? 0 : IR_KPASS_POINT });
}

/* The launch just written (the last) moves before the earliest open row
 * kernel that runs after everything it reads was written, so that later
 * members of that kernel may read what it writes (a dropout mask, a
 * column reduction between a layernorm's passes). It must write only
 * buffers no launch it overtakes touches. Returns its index, or -1. */
static int hoist(fctx *c)
{
    int last = c->p->n_launches - 1, ready = -1, to = last;
    ir_launch *x = &c->p->launches[last];
    for (int i = 0; i < x->n_reads; i++) {
        int w = last_writer(c, x->reads[i]);
        if (w > ready) ready = w;
    }
    for (int i = 0; i < c->n_groups; i++)
        if (c->groups[i].launch > ready && c->groups[i].launch < to) to = c->groups[i].launch;
    for (int k = to; k < last && to < last; k++) {
        const ir_launch *o = &c->p->launches[k];
        for (int i = 0; i < x->n_writes; i++) {
            int b = root_buf(c, x->writes[i]);
            for (int j = 0; j < o->n_reads; j++)
                if (root_buf(c, o->reads[j]) == b) to = last;
            for (int j = 0; j < o->n_writes; j++)
                if (root_buf(c, o->writes[j]) == b) to = last;
        }
    }
    if (to == last) return last;
    ir_launch moved = *x;
    memmove(c->p->launches + to + 1, c->p->launches + to, sizeof moved * (size_t)(last - to));
    c->p->launches[to] = moved;
    for (int i = 0; i < c->n_groups; i++)
        if (c->groups[i].launch >= to) c->groups[i].launch++;
    for (int b = 0; b < c->cap_lastw; b++)
        if (c->lastw[b] >= to) c->lastw[b]++;
    for (int i = 0; i < c->g->n_nodes; i++)
        if (c->written[i] >= to) c->written[i]++;
    for (int i = 0; i < moved.n_writes; i++)
        if (note_writer(c, moved.writes[i], to) < 0) return -1;
    return to;
}

/* CONCAT: one copy kernel per operand, into its part of the result. */
static int emit_concat(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    int axis = (int)ir_attr_axis(n);
    int64_t offset = 0;
    for (int i = 0; i < 2; i++) {
        const ir_node *o = node(c, n->in[i]);
        affine at[IR_MAX_RANK], out[IR_MAX_RANK];
        if (begin_loop(c, id, i ? "concat_hi" : "concat_lo", &o->shape, 0) < 0) return -1;
        identity_pos(o->shape.rank, at);
        memcpy(out, at, sizeof at);
        out[axis].base += offset;
        if (store_value(c, id, &n->shape, out, emit_value(c, n->in[i], at), c->buf[id]) < 0) return -1;
        offset += o->shape.dim[axis];
    }
    return 0;
}

/* The last two dims of a view as a BLAS matrix (one unit stride, a valid
 * leading dimension), or false. */
static bool matrix_strides(const view *v, int64_t *rs, int64_t *cs)
{
    int r = v->shape.rank;
    int64_t rows = v->shape.dim[r - 2], cols = v->shape.dim[r - 1];
    int64_t s0 = v->stride[r - 2], s1 = v->stride[r - 1];
    if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
        *rs = rows == 1 ? cols : s0;
        *cs = 1;
        return true;
    }
    if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
        *rs = 1;
        *cs = cols == 1 ? rows : s1;
        return true;
    }
    return false;
}

/* Batch strides of a view against the product's batch dims (right-aligned; 0 where broadcast). */
static void batch_strides(const view *v, const ir_shape *out, int64_t st[IR_MAX_RANK])
{
    int nb = out->rank - 2, vb = v->shape.rank - 2;
    for (int d = 0; d < nb; d++) {
        int k = d - (nb - vb);
        st[d] = k < 0 || v->shape.dim[k] == 1 ? 0 : v->stride[k];
    }
}

static int emit_gemm(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    view va, vb, vc;
    if (!view_of(c, n->in[0], &va) || !view_of(c, n->in[1], &vb) || !view_of(c, id, &vc))
        return fail(c, id, "operand is not a strided view");
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], sc[IR_MAX_RANK], dims[IR_MAX_RANK];
    batch_strides(&va, &n->shape, sa);
    batch_strides(&vb, &n->shape, sb);
    batch_strides(&vc, &n->shape, sc);
    int nb = n->shape.rank - 2;
    for (int d = 0; d < nb; d++) dims[d] = n->shape.dim[d];
    /* Merge neighbouring batch dims while every operand nests them. */
    for (int d = nb - 2; d >= 0 && nb > 2; d--) {
        bool nests = true;
        const int64_t *all[3] = { sa, sb, sc };
        for (int k = 0; k < 3; k++) nests = nests && all[k][d] == all[k][d + 1] * dims[d + 1];
        if (!nests) continue;
        dims[d] *= dims[d + 1];
        for (int k = d + 1; k < nb - 1; k++) { dims[k] = dims[k + 1]; sa[k] = sa[k + 1]; sb[k] = sb[k + 1]; sc[k] = sc[k + 1]; }
        nb--;
    }
    if (nb > 2) return fail(c, id, "product with more than two batch axes that do not nest");
    const char *name = launch_name(c, id, NULL);
    ir_launch *l = name ? ir_launch_add(c->p, IR_LAUNCH_GEMM, name) : NULL;
    if (!l) return fail(c, id, "out of memory");
    ir_kgemm *g = &l->gemm;
    int r = n->shape.rank;
    *g = (ir_kgemm){ .batch = { 1, 1 }, .m = n->shape.dim[r - 2], .n = n->shape.dim[r - 1],
                     .k = node(c, n->in[0])->shape.dim[node(c, n->in[0])->shape.rank - 1],
                     .alpha = 1.0, .beta = 0.0, .group_rows = -1 };
    const view *views[3] = { &va, &vb, &vc };
    ir_kmat *mats[3] = { &g->a, &g->b, &g->c };
    const int64_t *bst[3] = { sa, sb, sc };
    for (int k = 0; k < 3; k++) {
        mats[k]->buf = c->buf[views[k]->base];
        mats[k]->offset = views[k]->offset;
        if (!matrix_strides(views[k], &mats[k]->row_stride, &mats[k]->col_stride))
            return fail(c, id, "operand is not a BLAS matrix");
        for (int d = 0; d < nb; d++) {     /* batch[0] is the outer of the two */
            int slot = nb - 1 - d;
            mats[k]->batch_stride[slot] = bst[k][d];
            g->batch[slot] = dims[d];
        }
    }
    for (int k = 0; k < 2; k++) {
        if (c->written[views[k]->base] >= 0) return fail(c, id, "reads a buffer the optimizer overwrote");
        if (ir_launch_reads(l, mats[k]->buf) < 0) return fail(c, id, "out of memory");
    }
    if (ir_launch_writes(l, g->c.buf) < 0) return fail(c, id, "out of memory");
    ir_launch_add_line(l, n->loc.line);
    return 0;
}

/* An operand's view as a BLAS matrix over its last two dims, transposed
 * (rows and columns swapped) when `transpose`; batch stride from dim 0 of a
 * rank-3 view. */
static int grouped_operand(fctx *c, int id, int operand, bool transpose, ir_kmat *m)
{
    view v;
    if (!view_of(c, node(c, id)->in[operand], &v) || !matrix_strides(&v, &m->row_stride, &m->col_stride))
        return fail(c, id, "grouped product operand is not a BLAS matrix");
    if (transpose) {
        int64_t t = m->row_stride;
        m->row_stride = m->col_stride;
        m->col_stride = t;
    }
    m->buf = c->buf[v.base];
    m->offset = v.offset;
    m->batch_stride[0] = v.shape.rank == 3 ? v.stride[0] : 0;
    if (c->written[v.base] >= 0) return fail(c, id, "reads a buffer the optimizer overwrote");
    return 0;
}

/* GROUPED_MATMUL: rows of x split by counts, group e times w[e] (split_k off).
 * GROUPED_OUTER: per group x_e^T dy_e into batch e of the result (split_k on). */
/* PERMUTE id of product mm (plan(), c->transposed): C [n, m] = B^T [n, k] A^T [k, m]. */
static int emit_gemm_transposed(fctx *c, int id, int mm)
{
    const ir_node *n = node(c, mm);
    view v[2];
    for (int i = 0; i < 2; i++) {
        if (!view_of(c, n->in[1 - i], &v[i])) return fail(c, id, "operand is not a strided view");
        int64_t t = v[i].shape.dim[0];   /* the transpose of a rank-2 view */
        v[i].shape.dim[0] = v[i].shape.dim[1];
        v[i].shape.dim[1] = t;
        t = v[i].stride[0];
        v[i].stride[0] = v[i].stride[1];
        v[i].stride[1] = t;
        if (c->written[v[i].base] >= 0) return fail(c, id, "reads a buffer the optimizer overwrote");
    }
    const char *name = launch_name(c, id, "matmul");
    ir_launch *l = name ? ir_launch_add(c->p, IR_LAUNCH_GEMM, name) : NULL;
    if (!l) return fail(c, id, "out of memory");
    ir_kgemm *g = &l->gemm;
    *g = (ir_kgemm){ .batch = { 1, 1 }, .m = n->shape.dim[1], .n = n->shape.dim[0],
                     .k = node(c, n->in[0])->shape.dim[1], .alpha = 1.0, .beta = 0.0, .group_rows = -1 };
    ir_kmat *mats[2] = { &g->a, &g->b };
    for (int i = 0; i < 2; i++) {
        mats[i]->buf = c->buf[v[i].base];
        mats[i]->offset = v[i].offset;
        if (!matrix_strides(&v[i], &mats[i]->row_stride, &mats[i]->col_stride))
            return fail(c, id, "operand is not a BLAS matrix");
        if (ir_launch_reads(l, mats[i]->buf) < 0) return fail(c, id, "out of memory");
    }
    g->c = (ir_kmat){ .buf = c->buf[id], .row_stride = g->n, .col_stride = 1 };
    if (ir_launch_writes(l, g->c.buf) < 0) return fail(c, id, "out of memory");
    ir_launch_add_line(l, n->loc.line);
    ir_launch_add_line(l, node(c, id)->loc.line);
    return 0;
}

static int emit_grouped(fctx *c, int id)
{
    const ir_node *n = node(c, id), *x = node(c, n->in[0]), *y = node(c, n->in[1]);
    const char *name = launch_name(c, id, NULL);
    ir_launch *l = name ? ir_launch_add(c->p, IR_LAUNCH_GEMM, name) : NULL;
    if (!l) return fail(c, id, "out of memory");
    ir_kgemm *g = &l->gemm;
    bool outer = n->op == IR_GROUPED_OUTER;
    int64_t e = node(c, n->in[2])->shape.dim[0];
    *g = (ir_kgemm){ .batch = { e, 1 }, .alpha = 1.0, .groups = (int)e, .split_k = outer,
                     .group_rows = c->buf[n->in[2]] };
    if (outer) {   /* C_e [K,N] = x_e^T [K,R_e] dy_e [R_e,N] */
        g->m = x->shape.dim[1], g->k = x->shape.dim[0], g->n = y->shape.dim[1];
    } else {       /* C [R,N] = x [R,K] w_e [K,N] */
        g->m = x->shape.dim[0], g->k = x->shape.dim[1], g->n = y->shape.dim[2];
    }
    if (grouped_operand(c, id, 0, outer, &g->a) < 0 || grouped_operand(c, id, 1, false, &g->b) < 0) return -1;
    g->c = (ir_kmat){ .buf = c->buf[id], .row_stride = g->n, .col_stride = 1,
                      .batch_stride = { outer ? g->m * g->n : 0, 0 } };
    if (ir_launch_reads(l, g->a.buf) < 0 || ir_launch_reads(l, g->b.buf) < 0 || ir_launch_reads(l, g->group_rows) < 0 ||
        ir_launch_writes(l, g->c.buf) < 0)
        return fail(c, id, "out of memory");
    ir_launch_add_line(l, n->loc.line);
    return 0;
}

static int emit_template(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    const char *name = launch_name(c, id, NULL);
    ir_launch *l = name ? ir_launch_add(c->p, IR_LAUNCH_TEMPLATE, name) : NULL;
    if (!l) return fail(c, id, "out of memory");
    l->tmpl.node = *n;
    for (int i = 0; i < n->n_in; i++) {
        l->tmpl.in[i] = c->buf[n->in[i]];
        l->tmpl.in_shape[i] = node(c, n->in[i])->shape;
        if (ir_launch_reads(l, c->buf[n->in[i]]) < 0) return fail(c, id, "out of memory");
    }
    l->tmpl.out = c->buf[id];
    if (ir_launch_writes(l, c->buf[id]) < 0) return fail(c, id, "out of memory");
    ir_launch_add_line(l, n->loc.line);
    return 0;
}

/* ---- the driver ---- */

static const char *default_name(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    if (n->label) return n->label;
    return moec_arena_printf(&c->p->arena, "%s%s%s%d", n->scope ? n->scope : "", n->scope ? "." : "",
                             ir_op_name(n->op), id);
}

/* ---- parameters side by side: a concat of parameters is a view ---- */

/* The parameter id is, through reshapes (same elements, same order), or -1. */
static int packed_param(const fctx *c, int id)
{
    while (node(c, id)->op == IR_RESHAPE) id = node(c, id)->in[0];
    return node(c, id)->op == IR_PARAM ? id : -1;
}

/* id's elements are those of parameters one after another: a parameter, or
 * a concat of two such along an axis with only 1s before it. */
static bool packable(const fctx *c, int id, int depth)
{
    if (packed_param(c, id) >= 0) return true;
    const ir_node *n = node(c, id);
    if (n->op != IR_CONCAT || depth > 32) return false;
    for (int d = 0; d < ir_attr_axis(n); d++)
        if (n->shape.dim[d] != 1) return false;
    return packable(c, n->in[0], depth + 1) && packable(c, n->in[1], depth + 1);
}

/* Marks the parameters of tree id that hold `from` with `to`; false at one
 * that does not (in another tree already, or twice in this one). */
static bool mark_params(fctx *c, int id, int from, int to)
{
    int leaf = packed_param(c, id);
    if (leaf >= 0) {
        if (c->pack_buf[leaf] != from) return false;
        c->pack_buf[leaf] = to;
        return true;
    }
    return mark_params(c, node(c, id)->in[0], from, to) && mark_params(c, node(c, id)->in[1], from, to);
}

static void unmark_params(fctx *c, int id, int mark)
{
    int leaf = packed_param(c, id);
    if (leaf >= 0) {
        if (c->pack_buf[leaf] == mark) c->pack_buf[leaf] = -1;
        return;
    }
    unmark_params(c, node(c, id)->in[0], mark);
    unmark_params(c, node(c, id)->in[1], mark);
}

static void place_packed(fctx *c, int id, int buf, int64_t offset)
{
    int leaf = packed_param(c, id);
    int at = leaf >= 0 ? leaf : id;
    c->pack_buf[at] = buf;
    c->pack_off[at] = offset;
    if (leaf >= 0) return;
    place_packed(c, node(c, id)->in[0], buf, offset);
    place_packed(c, node(c, id)->in[1], buf, offset + numel_of(c, node(c, id)->in[0]));
}

/* The experts' weights of an MoE layer are separate parameters that the
 * graph concatenates for the grouped product: each concat tree of
 * parameters gets one persistent buffer, each parameter (and each concat
 * of the tree) a view of it, so the concats cost nothing. */
static int pack_params(fctx *c, int n_nodes)
{
    for (int id = n_nodes - 1; id >= 0 && c->opt->fuse; id--) {
        const ir_node *n = node(c, id);
        if (!c->need[id] || n->op != IR_CONCAT || c->pack_buf[id] >= 0 || !packable(c, id, 0)) continue;
        if (!mark_params(c, id, -1, -2)) {
            unmark_params(c, id, -2);
            continue;
        }
        const char *name = moec_arena_printf(&c->p->arena, "%s%sparams%d", n->scope ? n->scope : "",
                                             n->scope ? "." : "", id);
        int b = name ? ir_kbuf_add(c->p, name, n->dtype, numel_of(c, id), IR_BUF_PARAM, id) : -1;
        if (b < 0) return fail(c, id, "out of memory");
        place_packed(c, id, b, 0);
    }
    return 0;
}

/* Buffers of leaves and of wanted values, as declared (names and roles). */
static int declare_buffers(fctx *c, const ir_fuse_value *want, int n_want)
{
    for (int i = 0; i < n_want; i++) {
        const ir_fuse_value *w = &want[i];
        const ir_node *n = node(c, w->node);
        if (w->into >= 0) {
            if (w->into == w->node) continue;           /* a frozen parameter: unchanged */
            c->into[w->node] = w->into;
            continue;
        }
        int64_t numel = ir_shape_numel(&n->shape);
        int b = c->buf[w->node] >= 0
              ? ir_kbuf_view(c->p, w->name, c->buf[w->node], 0, numel, w->role, w->node)   /* one value, two names */
              : c->pack_buf[w->node] >= 0
              ? ir_kbuf_view(c->p, w->name, c->pack_buf[w->node], c->pack_off[w->node], numel, w->role, w->node)
              : ir_kbuf_add(c->p, w->name, n->dtype, numel, w->role, w->node);
        if (b < 0) return fail(c, w->node, "out of memory");
        if (c->buf[w->node] < 0) c->buf[w->node] = b;
    }
    return 0;
}

/* The buffer of a stored node not declared by the caller. */
static int own_buffer(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    if (c->buf[id] >= 0) return 0;
    if (c->into[id] >= 0) {
        if (c->buf[c->into[id]] < 0 && own_buffer(c, c->into[id]) < 0) return -1;
        c->buf[id] = c->buf[c->into[id]];
        return 0;
    }
    ir_buf_role role = n->op == IR_PARAM || c->pack_buf[id] >= 0 ? IR_BUF_PARAM
                     : n->op == IR_INPUT ? IR_BUF_INPUT : IR_BUF_ACTIVATION;
    const char *name = default_name(c, id);
    int b = !name ? -1
          : c->pack_buf[id] >= 0 ? ir_kbuf_view(c->p, name, c->pack_buf[id], c->pack_off[id], ir_shape_numel(&n->shape), role, id)
          : ir_kbuf_add(c->p, name, n->dtype, ir_shape_numel(&n->shape), role, id);
    if (b < 0) return fail(c, id, "out of memory");
    c->buf[id] = b;
    return 0;
}

/* A kernel writing into a leaf in place may read that leaf only where it writes. */
static int check_in_place(fctx *c, int id, int first_launch, int last_launch)
{
    int leaf = c->into[id];
    for (int k = first_launch; k <= last_launch; k++) {
        const ir_launch *l = &c->p->launches[k];
        const ir_kinstr *store = NULL;
        for (int i = 0; i < l->loop.n_ins; i++)
            if (l->loop.ins[i].kind == IR_KI_STORE) store = &l->loop.ins[i];
        for (int i = 0; l->kind == IR_LAUNCH_LOOP && store && i < l->loop.n_ins; i++) {
            const ir_kinstr *in = &l->loop.ins[i];
            if (in->kind == IR_KI_LOAD && in->buf == c->buf[leaf] && !ir_kindex_equal(&in->index, &store->index))
                return fail(c, id, "an in-place update reads its target at another element");
        }
    }
    c->written[leaf] = last_launch;
    return 0;
}

static int emit_node(fctx *c, int id)
{
    const ir_node *n = node(c, id);
    if (is_leaf(n->op)) return 0;
    if (own_buffer(c, id) < 0) return -1;
    if (n->op == IR_CONCAT && c->pack_buf[id] >= 0) return 0;   /* a view of its parameters */
    int first = c->p->n_launches;
    bool product = n->op == IR_MATMUL || n->op == IR_GROUPED_MATMUL || n->op == IR_GROUPED_OUTER || c->transposed[id] >= 0;
    bool loop = !product && !template_node(c, id) && n->op != IR_CONCAT;
    if (loop && c->opt->fuse) {
        int joined = try_join(c, id);
        if (joined) return joined < 0 ? -1 : 0;
    }
    int rc = c->transposed[id] >= 0 ? emit_gemm_transposed(c, id, c->transposed[id])
           : n->op == IR_MATMUL ? emit_gemm(c, id)
           : n->op == IR_GROUPED_MATMUL || n->op == IR_GROUPED_OUTER ? emit_grouped(c, id)
           : template_node(c, id) ? emit_template(c, id)
           : n->op == IR_SUM || n->op == IR_REDUCE_MAX ? emit_reduce(c, id)
           : n->op == IR_CONCAT ? emit_concat(c, id)
           : emit_pointwise(c, id);
    if (rc < 0 || c->failed) return -1;
    for (int k = first; k < c->p->n_launches; k++)
        for (int i = 0; i < c->p->launches[k].n_writes; i++)
            if (note_writer(c, c->p->launches[k].writes[i], k) < 0) return fail(c, id, "out of memory");
    if (c->into[id] >= 0 && check_in_place(c, id, first, c->p->n_launches - 1) < 0) return -1;
    if (!c->opt->fuse) return 0;
    ir_shape rows;
    int at = c->p->n_launches - 1;
    if (c->into[id] < 0 && c->p->n_launches == first + 1 && (at = hoist(c)) < 0) return fail(c, id, "out of memory");
    if (row_reduction(c, id, &rows)) return open_group(c, id, &rows, true, at);
    if (loop && n->op != IR_SUM && n->op != IR_REDUCE_MAX) return open_group(c, id, &n->shape, false, at);
    return 0;
}

static int fuse_all(fctx *c, const ir_fuse_value *want, int n_want)
{
    int n_nodes = c->g->n_nodes;
    for (int i = 0; i < n_want; i++) {
        if (want[i].node < 0 || want[i].node >= n_nodes) return moec_error(c->d, "fusion: no node %d", want[i].node), -1;
        mark_needed(c, want[i].node);
    }
    for (int i = 0; i < n_want; i++) c->store[want[i].node] = true;
    if (pack_params(c, n_nodes) < 0 || declare_buffers(c, want, n_want) < 0) return -1;
    plan(c, n_nodes);
    for (int id = 0; id < n_nodes; id++)
        if (c->need[id] && is_leaf(node(c, id)->op) && own_buffer(c, id) < 0) return -1;
    for (int id = 0; id < n_nodes; id++)
        if (c->need[id] && c->store[id] && emit_node(c, id) < 0) return -1;
    return 0;
}

int ir_fuse(const ir_graph *g, const ir_fuse_value *want, int n_want, const ir_fuse_options *opt,
            ir_kprogram *out, moec_diag *d)
{
    int n = g->n_nodes;
    fctx c = { .g = g, .opt = opt, .d = d, .p = out };
    c.need = calloc((size_t)n + 1, sizeof *c.need);
    c.store = calloc((size_t)n + 1, sizeof *c.store);
    c.users = calloc((size_t)n + 1, sizeof *c.users);
    c.cost = calloc((size_t)n + 1, sizeof *c.cost);
    c.buf = malloc(sizeof *c.buf * ((size_t)n + 1));
    c.into = malloc(sizeof *c.into * ((size_t)n + 1));
    c.written = malloc(sizeof *c.written * ((size_t)n + 1));
    c.transposed = malloc(sizeof *c.transposed * ((size_t)n + 1));
    c.pack_buf = malloc(sizeof *c.pack_buf * ((size_t)n + 1));
    c.pack_off = calloc((size_t)n + 1, sizeof *c.pack_off);
    c.memo = malloc(sizeof *c.memo * MEMO_MAX);
    int rc = -1;
    if (!c.need || !c.store || !c.users || !c.cost || !c.buf || !c.into || !c.written || !c.transposed || !c.pack_buf || !c.pack_off || !c.memo) {
        moec_error(d, "fusion: out of memory for a graph of %d nodes", n);
    } else {
        for (int i = 0; i < n; i++) c.buf[i] = c.into[i] = c.written[i] = c.transposed[i] = c.pack_buf[i] = -1;
        rc = fuse_all(&c, want, n_want);
        if (c.failed) rc = -1;
    }
    free(c.need); free(c.store); free(c.users); free(c.cost);
    free(c.buf); free(c.into); free(c.written); free(c.transposed); free(c.pack_buf); free(c.pack_off); free(c.memo); free(c.lastw);
    for (int i = 0; i < c.n_groups; i++) free(c.groups[i].m);
    return rc;
}
