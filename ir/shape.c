/* ir/shape.c -- the shape rules of the ops table: from a node's operands and
 * attributes, its shape and dtype, or a message naming the node, the op and
 * the shapes. Called by the builders (graph.c) on every new node and by
 * ir_verify on every existing one. Reads graph nodes; writes only the node. */
#include <stdarg.h>
#include <stdint.h>

#include "ir/ops.h"

typedef struct { char s[96]; } shbuf;   /* a printed shape for a message */

static shbuf str(const ir_shape *s)
{
    shbuf b;
    ir_shape_str(s, b.s, sizeof b.s);
    return b;
}

static const ir_node *arg(const ir_graph *g, const ir_node *n, int i) { return &g->nodes[n->in[i]]; }
static const char *dt(ir_dtype d) { return ir_dtype_name(d); }

bool ir_shape_eq(const ir_shape *a, const ir_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

bool ir_shape_valid(const ir_shape *s)
{
    if (s->rank < 0 || s->rank > IR_MAX_RANK) return false;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        /* 2^40 elements is far beyond any tensor moec builds; the bound keeps
         * byte counts (x8 for doubles) clear of overflow everywhere. */
        if (s->dim[i] < 1 || s->dim[i] > (INT64_C(1) << 40) / n) return false;
        n *= s->dim[i];
    }
    return true;
}

int ir_broadcast_shapes(const ir_shape *a, const ir_shape *b, ir_shape *out)
{
    ir_shape r = {.rank = a->rank > b->rank ? a->rank : b->rank};
    for (int i = 0; i < r.rank; i++) {   /* i counts from the right */
        int64_t da = i < a->rank ? a->dim[a->rank - 1 - i] : 1;
        int64_t db = i < b->rank ? b->dim[b->rank - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) return -1;
        r.dim[r.rank - 1 - i] = da == 1 ? db : da;
    }
    *out = r;
    return 0;
}

/* The node's axis attribute names an axis of s. */
static int check_axis(ir_graph *g, int id, ir_node *n, const ir_shape *s)
{
    int64_t axis = ir_attr_axis(n);
    if (axis < 0 || axis >= s->rank)
        return ir_fail(g, id, n, "axis %lld out of range for %s", (long long)axis, str(s).s);
    return 0;
}

/* ---- leaves ---- */

static int given_shape(ir_graph *g, int id, ir_node *n)
{
    if (!ir_shape_valid(&n->shape))
        return ir_fail(g, id, n, "invalid shape %s (rank 0..%d, dims >= 1)", str(&n->shape).s, IR_MAX_RANK);
    return 0;
}

int ir_shape_input(ir_graph *g, int id, ir_node *n)
{
    int64_t slot = ir_attr_slot(n);
    if (slot < 0 || slot >= IR_INPUT_SLOT_COUNT) return ir_fail(g, id, n, "no input slot %lld", (long long)slot);
    const ir_input_slot_info *in = &ir_input_slots[slot];
    if (given_shape(g, id, n)) return -1;
    if (n->shape.rank != in->rank)
        return ir_fail(g, id, n, "input slot %lld has rank %d, not %s", (long long)slot, in->rank, str(&n->shape).s);
    n->dtype = in->dtype;
    return 0;
}

int ir_shape_param(ir_graph *g, int id, ir_node *n)
{
    if (ir_attr_index(n) < 0) return ir_fail(g, id, n, "negative parameter index %lld", (long long)ir_attr_index(n));
    n->dtype = IR_F32;
    return given_shape(g, id, n);
}

int ir_shape_const(ir_graph *g, int id, ir_node *n)
{
    n->dtype = IR_F32;
    return given_shape(g, id, n);
}

int ir_shape_iota(ir_graph *g, int id, ir_node *n)
{
    n->dtype = IR_F32;
    if (given_shape(g, id, n)) return -1;
    return check_axis(g, id, n, &n->shape);
}

int ir_shape_random(ir_graph *g, int id, ir_node *n)
{
    const ir_node *step = arg(g, n, 0);
    n->dtype = IR_F32;
    if (given_shape(g, id, n)) return -1;
    if (step->shape.rank != 0 || step->dtype != IR_F32)
        return ir_fail(g, id, n, "step must be an f32 scalar, not %s%s", dt(step->dtype), str(&step->shape).s);
    if (ir_attr_dist(n) < 0 || ir_attr_dist(n) >= IR_RANDOM_DIST_COUNT)
        return ir_fail(g, id, n, "no distribution %lld", (long long)ir_attr_dist(n));
    if (ir_attr_stream(n) < 0 || ir_attr_stream(n) > UINT32_MAX)
        return ir_fail(g, id, n, "stream %lld is not a 32-bit id", (long long)ir_attr_stream(n));
    return 0;
}

/* ---- elementwise ---- */

int ir_shape_unary(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    switch (n->op) {
    case IR_NEG:
    case IR_STOP_GRAD: break;   /* any dtype */
    case IR_EXP:
    case IR_LOG:
    case IR_TANH:
    case IR_SQRT:
    case IR_RSQRT:
    case IR_ERF:
        if (x->dtype != IR_F32) return ir_fail(g, id, n, "needs f32, got %s%s", dt(x->dtype), str(&x->shape).s);
        break;
    default: MOEC_UNREACHABLE();   /* CAST has its own rule */
    }
    n->shape = x->shape;
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_cast(ir_graph *g, int id, ir_node *n)
{
    int64_t to = ir_attr_to(n);
    if (to < 0 || to >= IR_DTYPE_COUNT) return ir_fail(g, id, n, "no dtype %lld", (long long)to);
    if (!ir_dtype_computed((ir_dtype)to))
        return ir_fail(g, id, n, "cannot cast to %s: the graph IR computes in f32 and i32 only so far",
                       dt((ir_dtype)to));
    n->shape = arg(g, n, 0)->shape;
    n->dtype = (ir_dtype)to;
    return 0;
}

int ir_shape_binary(ir_graph *g, int id, ir_node *n)
{
    const ir_node *a = arg(g, n, 0), *b = arg(g, n, 1);
    if (a->dtype != b->dtype)
        return ir_fail(g, id, n, "dtypes differ: %s%s and %s%s", dt(a->dtype), str(&a->shape).s,
                       dt(b->dtype), str(&b->shape).s);
    if (ir_broadcast_shapes(&a->shape, &b->shape, &n->shape))
        return ir_fail(g, id, n, "shapes %s and %s do not broadcast", str(&a->shape).s, str(&b->shape).s);
    switch (n->op) {
    case IR_ADD:
    case IR_SUB:
    case IR_MUL:
    case IR_DIV:
    case IR_MAX: n->dtype = a->dtype; break;
    case IR_CMP:
        if (ir_attr_cmp(n) < 0 || ir_attr_cmp(n) >= IR_CMP_COUNT)
            return ir_fail(g, id, n, "no comparison %lld", (long long)ir_attr_cmp(n));
        n->dtype = IR_F32;
        break;
    default: MOEC_UNREACHABLE();
    }
    return 0;
}

int ir_shape_where(ir_graph *g, int id, ir_node *n)
{
    const ir_node *c = arg(g, n, 0), *a = arg(g, n, 1), *b = arg(g, n, 2);
    ir_shape ab;
    if (a->dtype != b->dtype)
        return ir_fail(g, id, n, "branch dtypes differ: %s%s and %s%s", dt(a->dtype), str(&a->shape).s,
                       dt(b->dtype), str(&b->shape).s);
    if (ir_broadcast_shapes(&a->shape, &b->shape, &ab) || ir_broadcast_shapes(&c->shape, &ab, &n->shape))
        return ir_fail(g, id, n, "shapes %s, %s and %s do not broadcast", str(&c->shape).s,
                       str(&a->shape).s, str(&b->shape).s);
    n->dtype = a->dtype;
    return 0;
}

/* ---- reductions, scans ---- */


int ir_shape_reduce(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    if (check_axis(g, id, n, &x->shape)) return -1;
    int64_t axis = ir_attr_axis(n), keepdim = ir_attr_keepdim(n);
    if (keepdim != 0 && keepdim != 1) return ir_fail(g, id, n, "keepdim must be 0 or 1");
    ir_shape s = {0};
    for (int i = 0; i < x->shape.rank; i++) {
        if (i != axis) s.dim[s.rank++] = x->shape.dim[i];
        else if (keepdim) s.dim[s.rank++] = 1;
    }
    n->shape = s;
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_cumsum(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    if (check_axis(g, id, n, &x->shape)) return -1;
    n->shape = x->shape;
    n->dtype = x->dtype;
    return 0;
}

/* ---- movement ---- */

int ir_shape_reshape(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    if (given_shape(g, id, n)) return -1;
    if (ir_shape_numel(&x->shape) != ir_shape_numel(&n->shape))
        return ir_fail(g, id, n, "cannot reshape %s to %s (element counts differ)", str(&x->shape).s,
                       str(&n->shape).s);
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_permute(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    bool seen[IR_MAX_RANK] = {false};
    ir_shape s = {.rank = x->shape.rank};
    for (int i = 0; i < s.rank; i++) {
        int64_t p = ir_attr_perm(n, i);
        if (p < 0 || p >= s.rank || seen[p])
            return ir_fail(g, id, n, "not a permutation of the %d axes of %s (entry %d is %lld)", s.rank,
                           str(&x->shape).s, i, (long long)p);
        seen[p] = true;
        s.dim[i] = x->shape.dim[p];
    }
    for (int i = s.rank; i < IR_MAX_RANK; i++)
        if (ir_attr_perm(n, i) != 0) return ir_fail(g, id, n, "permutation entry %d beyond rank %d", i, s.rank);
    n->shape = s;
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_slice(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    if (check_axis(g, id, n, &x->shape)) return -1;
    int64_t axis = ir_attr_axis(n), dim = x->shape.dim[axis], start = ir_attr_start(n), len = ir_attr_len(n);
    if (start < 0 || len < 1 || start > dim || len > dim - start)
        return ir_fail(g, id, n, "slice [%lld, %lld) of axis %lld is outside %s", (long long)start,
                       (long long)(start + len), (long long)axis, str(&x->shape).s);
    n->shape = x->shape;
    n->shape.dim[axis] = len;
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_concat(ir_graph *g, int id, ir_node *n)
{
    const ir_node *a = arg(g, n, 0), *b = arg(g, n, 1);
    if (check_axis(g, id, n, &a->shape)) return -1;
    int64_t axis = ir_attr_axis(n);
    bool ok = a->dtype == b->dtype && a->shape.rank == b->shape.rank;
    for (int i = 0; ok && i < a->shape.rank; i++)
        ok = i == axis || a->shape.dim[i] == b->shape.dim[i];
    if (!ok)
        return ir_fail(g, id, n, "cannot concatenate %s%s and %s%s along axis %lld", dt(a->dtype),
                       str(&a->shape).s, dt(b->dtype), str(&b->shape).s, (long long)axis);
    n->shape = a->shape;
    n->shape.dim[axis] += b->shape.dim[axis];
    n->dtype = a->dtype;
    return given_shape(g, id, n);
}

int ir_shape_broadcast_to(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    ir_shape s;
    if (given_shape(g, id, n)) return -1;
    if (ir_broadcast_shapes(&x->shape, &n->shape, &s) || !ir_shape_eq(&s, &n->shape))
        return ir_fail(g, id, n, "cannot broadcast %s to %s", str(&x->shape).s, str(&n->shape).s);
    n->dtype = x->dtype;
    return 0;
}

/* ---- contractions and indexing ---- */

int ir_shape_matmul(ir_graph *g, int id, ir_node *n)
{
    const ir_shape *a = &arg(g, n, 0)->shape, *b = &arg(g, n, 1)->shape;
    ir_shape ba = *a, bb = *b, batch;
    ba.rank -= 2;
    bb.rank -= 2;
    if (arg(g, n, 0)->dtype != IR_F32 || arg(g, n, 1)->dtype != IR_F32 || a->rank < 2 || b->rank < 2 ||
        a->dim[a->rank - 1] != b->dim[b->rank - 2] || ir_broadcast_shapes(&ba, &bb, &batch))
        return ir_fail(g, id, n, "cannot multiply %s by %s ([..., m, k] x [..., k, n], f32)", str(a).s, str(b).s);
    batch.dim[batch.rank++] = a->dim[a->rank - 2];
    batch.dim[batch.rank++] = b->dim[b->rank - 1];
    n->shape = batch;
    n->dtype = IR_F32;
    return 0;
}

/* The operands of a grouped op: a = x f32 [R,K], b f32 of rank b_rank, and
 * counts i32 [E]; R, K and E into r, k, e. Messages name all three. */
static int grouped_operands(ir_graph *g, int id, ir_node *n, int b_rank, int64_t *r, int64_t *k, int64_t *e)
{
    const ir_node *x = arg(g, n, 0), *b = arg(g, n, 1), *cnt = arg(g, n, 2);
    bool ok = x->dtype == IR_F32 && b->dtype == IR_F32 && cnt->dtype == IR_I32 && x->shape.rank == 2 &&
              b->shape.rank == b_rank && cnt->shape.rank == 1;
    if (!ok)
        return ir_fail(g, id, n, "operands %s%s, %s%s and counts %s%s: want f32 [R, K], f32 %s and i32 [E]",
                       dt(x->dtype), str(&x->shape).s, dt(b->dtype), str(&b->shape).s, dt(cnt->dtype),
                       str(&cnt->shape).s, b_rank == 3 ? "[E, K, N]" : "[R, N]");
    *r = x->shape.dim[0];
    *k = x->shape.dim[1];
    *e = cnt->shape.dim[0];
    return 0;
}

/* x [R,K], w [E,K,N], counts [E] -> [R,N] */
int ir_shape_grouped_matmul(ir_graph *g, int id, ir_node *n)
{
    int64_t r, k, e;
    if (grouped_operands(g, id, n, 3, &r, &k, &e)) return -1;
    const ir_shape *w = &arg(g, n, 1)->shape;
    if (w->dim[0] != e || w->dim[1] != k)
        return ir_fail(g, id, n, "cannot multiply the groups of %s by %s with %lld counts ([R, K] x [E, K, N])",
                       str(&arg(g, n, 0)->shape).s, str(w).s, (long long)e);
    n->shape = ir_shape_of(2, (int64_t[]){r, w->dim[2]});
    n->dtype = IR_F32;
    return 0;
}

/* x [R,K], dy [R,N], counts [E] -> [E,K,N] */
int ir_shape_grouped_outer(ir_graph *g, int id, ir_node *n)
{
    int64_t r, k, e;
    if (grouped_operands(g, id, n, 2, &r, &k, &e)) return -1;
    const ir_shape *dy = &arg(g, n, 1)->shape;
    if (dy->dim[0] != r)
        return ir_fail(g, id, n, "rows differ: %s and %s ([R, K] and [R, N])", str(&arg(g, n, 0)->shape).s,
                       str(dy).s);
    n->shape = ir_shape_of(3, (int64_t[]){e, k, dy->dim[1]});
    n->dtype = IR_F32;
    return given_shape(g, id, n);
}

/* idx i32 [...] extended by one trailing dim d: the shape of gathered rows. */
static int rows_shape(ir_graph *g, int id, ir_node *n, const ir_node *idx, int64_t d, ir_shape *out)
{
    if (idx->dtype != IR_I32)
        return ir_fail(g, id, n, "indices must be i32, got %s%s", dt(idx->dtype), str(&idx->shape).s);
    if (idx->shape.rank >= IR_MAX_RANK)
        return ir_fail(g, id, n, "indices %s leave no room for a row axis (IR_MAX_RANK %d)",
                       str(&idx->shape).s, IR_MAX_RANK);
    *out = idx->shape;
    out->dim[out->rank++] = d;
    return 0;
}

int ir_shape_gather(ir_graph *g, int id, ir_node *n)
{
    const ir_node *t = arg(g, n, 0), *idx = arg(g, n, 1);
    if (t->shape.rank != 2) return ir_fail(g, id, n, "table must be [V, d], got %s", str(&t->shape).s);
    n->dtype = t->dtype;
    if (rows_shape(g, id, n, idx, t->shape.dim[1], &n->shape)) return -1;
    return given_shape(g, id, n);
}

int ir_shape_scatter_add(ir_graph *g, int id, ir_node *n)
{
    const ir_node *src = arg(g, n, 0), *idx = arg(g, n, 1);
    ir_shape want;
    if (src->dtype != IR_F32 || src->shape.rank < 1) return ir_fail(g, id, n, "source must be f32 [..., d]");
    if (rows_shape(g, id, n, idx, src->shape.dim[src->shape.rank - 1], &want)) return -1;
    if (!ir_shape_eq(&want, &src->shape))
        return ir_fail(g, id, n, "source %s does not match indices %s (want %s)", str(&src->shape).s,
                       str(&idx->shape).s, str(&want).s);
    int64_t rows = ir_attr_rows(n);
    if (rows < 1) return ir_fail(g, id, n, "row count %lld must be >= 1", (long long)rows);
    n->shape = ir_shape_of(2, (int64_t[]){rows, src->shape.dim[src->shape.rank - 1]});
    n->dtype = IR_F32;
    return given_shape(g, id, n);
}

int ir_shape_topk(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0);
    if (x->dtype != IR_F32 || x->shape.rank < 1) return ir_fail(g, id, n, "input must be f32 [..., n]");
    int64_t len = x->shape.dim[x->shape.rank - 1], k = ir_attr_k(n);
    if (k < 1 || k > len)
        return ir_fail(g, id, n, "k = %lld outside 1..%lld for %s", (long long)k, (long long)len, str(&x->shape).s);
    n->shape = x->shape;
    n->shape.dim[n->shape.rank - 1] = k;
    n->dtype = IR_I32;
    return 0;
}

/* x [..., n] and idx i32 [..., k] agree on their leading dims. */
static int along_last(ir_graph *g, int id, ir_node *n, const ir_node *x, const ir_node *idx)
{
    bool ok = idx->dtype == IR_I32 && x->shape.rank >= 1 && x->shape.rank == idx->shape.rank;
    for (int i = 0; ok && i < x->shape.rank - 1; i++) ok = x->shape.dim[i] == idx->shape.dim[i];
    if (!ok)
        return ir_fail(g, id, n, "values %s and i32 indices %s%s must agree on all but the last axis",
                       str(&x->shape).s, dt(idx->dtype), str(&idx->shape).s);
    return 0;
}

int ir_shape_take(ir_graph *g, int id, ir_node *n)
{
    const ir_node *x = arg(g, n, 0), *idx = arg(g, n, 1);
    if (along_last(g, id, n, x, idx)) return -1;
    n->shape = idx->shape;
    n->dtype = x->dtype;
    return 0;
}

int ir_shape_put(ir_graph *g, int id, ir_node *n)
{
    const ir_node *src = arg(g, n, 0), *idx = arg(g, n, 1);
    if (src->dtype != IR_F32 || !ir_shape_eq(&src->shape, &idx->shape))
        return ir_fail(g, id, n, "source f32 %s and indices %s must have one shape", str(&src->shape).s,
                       str(&idx->shape).s);
    if (along_last(g, id, n, src, idx)) return -1;
    if (ir_attr_size(n) < 1) return ir_fail(g, id, n, "length %lld must be >= 1", (long long)ir_attr_size(n));
    n->shape = src->shape;
    n->shape.dim[n->shape.rank - 1] = ir_attr_size(n);
    n->dtype = IR_F32;
    return given_shape(g, id, n);
}

int ir_shape_one_hot(ir_graph *g, int id, ir_node *n)
{
    if (ir_attr_size(n) < 1) return ir_fail(g, id, n, "length %lld must be >= 1", (long long)ir_attr_size(n));
    n->dtype = IR_F32;
    if (rows_shape(g, id, n, arg(g, n, 0), ir_attr_size(n), &n->shape)) return -1;
    return given_shape(g, id, n);
}
