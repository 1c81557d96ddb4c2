/* ir/graph.c -- building the graph IR: node storage, origins, the builders
 * (one small function per op family, each a thin wrapper over add_node),
 * poison propagation, hash-consing (CSE) and the verifier. Shape rules live
 * in shape.c and are reached through the ops table. Written by the lowering
 * and autodiff; read by everything after them. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ops.h"

/* ---- shapes ---- */

int64_t ir_shape_numel(const ir_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dim[i];
    return n;
}

ir_shape ir_shape_of(int rank, const int64_t *dims)
{
    ir_shape s = {.rank = rank};
    for (int i = 0; i < rank && i < IR_MAX_RANK; i++) s.dim[i] = dims[i];
    return s;
}

char *ir_shape_str(const ir_shape *s, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)s->dim[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* ---- errors ---- */

int ir_fail(ir_graph *g, int id, const ir_node *n, const char *fmt, ...)
{
    if (g->failed) return -1;   /* the first failure is the one worth reading */
    g->failed = true;
    char msg[512], place[32] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n->loc.line) snprintf(place, sizeof place, " @%d:%d", n->loc.line, n->loc.col);
    return moec_error_node(g->diag, (moec_loc){0}, id, "%s%s%s%s: %s", ir_op_name(n->op), n->scope ? " in " : "",
                           n->scope ? n->scope : "", place, msg);
}

int ir_graph_vfail(ir_graph *g, const char *fmt, va_list ap)
{
    if (g->failed) return -1;
    g->failed = true;
    return moec_verror(g->diag, (moec_loc){0}, -1, fmt, ap);
}

int ir_graph_fail(ir_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ir_graph_vfail(g, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- hash-consing: an open-addressing set of node ids keyed by content ---- */

typedef struct cse_table {
    int *slot;        /* node id, or -1 for empty */
    size_t cap;       /* a power of two */
    size_t count;
} cse_table;

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

/* Content of a node: op, dtype, shape, operands and attributes. Not its
 * origin or label: an equal node built elsewhere is the same value. */
static uint64_t node_hash(const ir_node *n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, (uint64_t)n->op * 131 + (uint64_t)n->dtype);
    h = mix(h, (uint64_t)n->shape.rank);
    for (int i = 0; i < n->shape.rank; i++) h = mix(h, (uint64_t)n->shape.dim[i]);
    for (int i = 0; i < n->n_in; i++) h = mix(h, (uint64_t)(uint32_t)n->in[i]);
    for (int i = 0; i < IR_MAX_INT_ATTRS; i++) h = mix(h, (uint64_t)n->ai[i]);
    for (int i = 0; i < IR_MAX_REAL_ATTRS; i++) {
        uint64_t bits;
        memcpy(&bits, &n->af[i], sizeof bits);
        h = mix(h, bits);
    }
    return h ^ (h >> 29);
}

static bool node_same(const ir_node *a, const ir_node *b)
{
    if (a->op != b->op || a->dtype != b->dtype || a->n_in != b->n_in || !ir_shape_eq(&a->shape, &b->shape))
        return false;
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i] != b->in[i]) return false;
    /* Attributes compare by bits: 0.0 and -0.0 are different constants. */
    return memcmp(a->ai, b->ai, sizeof a->ai) == 0 && memcmp(a->af, b->af, sizeof a->af) == 0;
}

static int cse_find(const ir_graph *g, const ir_node *n)
{
    const cse_table *t = g->cse_table;
    if (!t || !t->cap) return -1;
    for (size_t i = node_hash(n) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->slot[i] < 0) return -1;
        if (node_same(&g->nodes[t->slot[i]], n)) return t->slot[i];
    }
}

static void cse_put(const ir_graph *g, cse_table *t, int id)
{
    size_t i = node_hash(&g->nodes[id]) & (t->cap - 1);
    while (t->slot[i] >= 0) i = (i + 1) & (t->cap - 1);
    t->slot[i] = id;
    t->count++;
}

/* Adds node id to the table, doubling it at half load. -1 out of memory. */
static int cse_insert(ir_graph *g, int id)
{
    cse_table *t = g->cse_table;
    if (2 * (t->count + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        if (cap > SIZE_MAX / sizeof(int)) return -1;
        int *old = t->slot;
        size_t old_cap = t->cap;
        if (!(t->slot = malloc(cap * sizeof(int)))) {
            t->slot = old;
            return -1;
        }
        memset(t->slot, 0xff, cap * sizeof(int));   /* every slot -1 */
        t->cap = cap;
        t->count = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i] >= 0) cse_put(g, t, old[i]);
        free(old);
    }
    cse_put(g, t, id);
    return 0;
}

/* ---- the graph ---- */

int ir_graph_init(ir_graph *g)
{
    memset(g, 0, sizeof *g);
    moec_arena_init(&g->arena);
    g->cse = true;
    if (!(g->cse_table = calloc(1, sizeof(cse_table)))) return -1;
    return 0;
}

void ir_graph_free(ir_graph *g)
{
    cse_table *t = g->cse_table;
    if (t) free(t->slot);
    free(t);
    free(g->nodes);
    moec_arena_free(&g->arena);
    memset(g, 0, sizeof *g);
}

void ir_set_origin(ir_graph *g, moec_loc loc, const char *scope)
{
    g->cur_loc = loc;
    g->cur_scope = scope ? moec_arena_strdup(&g->arena, scope) : NULL;
}

static int grow(ir_graph *g)
{
    if (g->n_nodes < g->cap) return 0;
    if (g->cap > INT32_MAX / 2 || (size_t)g->cap * 2 > SIZE_MAX / sizeof(ir_node)) return -1;
    int cap = g->cap ? 2 * g->cap : 64;
    ir_node *p = realloc(g->nodes, (size_t)cap * sizeof *p);
    if (!p) return -1;
    g->nodes = p;
    g->cap = cap;
    return 0;
}

/* Operand ids exist and come before node id (poison -1 is handled earlier). */
static int check_operands(ir_graph *g, int id, const ir_node *n)
{
    int arity = ir_ops[n->op].arity;
    if (arity >= 0 && n->n_in != arity)
        return ir_fail(g, id, n, "has %d operands, the op takes %d", n->n_in, arity);
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] < 0 || n->in[i] >= id)
            return ir_fail(g, id, n, "operand %d is %%%d, not an earlier node", i, n->in[i]);
    return 0;
}

/* The one way a node enters the graph: poison, operand and shape checks,
 * then an existing equal node (CSE) or a new one. Returns its id or -1. */
static int add_node(ir_graph *g, ir_node *n)
{
    int id = g->n_nodes;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] == -1) return -1;   /* poison: the operand's failure is already reported */
    n->loc = g->cur_loc;
    n->scope = g->cur_scope;
    if (check_operands(g, id, n) || ir_ops[n->op].shape(g, id, n)) return -1;
    if (g->cse) {
        int hit = cse_find(g, n);
        if (hit >= 0) return hit;
    }
    if (grow(g)) return ir_fail(g, id, n, "out of memory");
    g->nodes[id] = *n;
    g->n_nodes++;
    if (g->cse && cse_insert(g, id)) {
        g->n_nodes--;
        return ir_fail(g, id, n, "out of memory");
    }
    return id;
}

static ir_node make(ir_op op, int n_in, int a, int b, int c)
{
    ir_node n = {.op = op, .n_in = n_in, .in = {a, b, c}};
    return n;
}

/* A negative axis counts from the end of x's rank (or rank + extra for
 * ops that add an axis). Left as given when out of range, for the message. */
static int64_t axis_of(const ir_graph *g, int x, int axis)
{
    if (x < 0 || x >= g->n_nodes || axis >= 0) return axis;
    int rank = g->nodes[x].shape.rank;
    return axis + rank >= 0 ? axis + rank : axis;
}

/* ---- leaves ---- */

int ir_input(ir_graph *g, ir_input_slot slot, ir_shape shape)
{
    ir_node n = make(IR_INPUT, 0, -1, -1, -1);
    ir_attr_set_slot(&n, slot);
    n.shape = shape;
    int id = add_node(g, &n);
    if (id >= 0) g->nodes[id].label = ir_input_slots[slot].name;   /* the shape rule checked the slot */
    return id;
}

int ir_param(ir_graph *g, int index, const char *name, ir_shape shape)
{
    ir_node n = make(IR_PARAM, 0, -1, -1, -1);
    ir_attr_set_index(&n, index);
    n.shape = shape;
    int id = add_node(g, &n);
    if (id >= 0 && name && !g->nodes[id].label &&
        !(g->nodes[id].label = moec_arena_strdup(&g->arena, name)))
        return ir_fail(g, id, &n, "out of memory");
    return id;
}

int ir_const(ir_graph *g, double value, ir_shape shape)
{
    ir_node n = make(IR_CONST, 0, -1, -1, -1);
    ir_attr_set_value(&n, value);
    n.shape = shape;
    return add_node(g, &n);
}

int ir_scalar(ir_graph *g, double value) { return ir_const(g, value, (ir_shape){0}); }

int ir_iota(ir_graph *g, ir_shape shape, int axis)
{
    ir_node n = make(IR_IOTA, 0, -1, -1, -1);
    n.shape = shape;
    ir_attr_set_axis(&n, axis < 0 && axis + shape.rank >= 0 ? axis + shape.rank : axis);
    return add_node(g, &n);
}

int ir_random(ir_graph *g, int step, ir_random_dist dist, int64_t stream, int64_t seed, ir_shape shape)
{
    ir_node n = make(IR_RANDOM, 1, step, -1, -1);
    ir_attr_set_dist(&n, dist);
    ir_attr_set_stream(&n, stream);
    ir_attr_set_seed(&n, seed);
    n.shape = shape;
    return add_node(g, &n);
}

/* ---- elementwise ---- */

static int bad_op(ir_graph *g, ir_op op, const char *builder)
{
    ir_node n = make(op, 0, -1, -1, -1);
    return ir_fail(g, g->n_nodes, &n, "not an op %s builds", builder);
}

int ir_unary(ir_graph *g, ir_op op, int x)
{
    if (ir_op_kind(op) != IR_KIND_UNARY || op == IR_CAST) return bad_op(g, op, "ir_unary");
    ir_node n = make(op, 1, x, -1, -1);
    return add_node(g, &n);
}

int ir_cast(ir_graph *g, int x, ir_dtype to)
{
    ir_node n = make(IR_CAST, 1, x, -1, -1);
    ir_attr_set_to(&n, to);
    return add_node(g, &n);
}

int ir_binary(ir_graph *g, ir_op op, int a, int b)
{
    if (ir_op_kind(op) != IR_KIND_BINARY || op == IR_CMP) return bad_op(g, op, "ir_binary");
    ir_node n = make(op, 2, a, b, -1);
    return add_node(g, &n);
}

int ir_compare(ir_graph *g, ir_cmp cmp, int a, int b)
{
    ir_node n = make(IR_CMP, 2, a, b, -1);
    ir_attr_set_cmp(&n, cmp);
    return add_node(g, &n);
}

int ir_where(ir_graph *g, int cond, int a, int b)
{
    ir_node n = make(IR_WHERE, 3, cond, a, b);
    return add_node(g, &n);
}

/* ---- reductions and scans ---- */

static int reduce(ir_graph *g, ir_op op, int x, int axis, bool keepdim)
{
    ir_node n = make(op, 1, x, -1, -1);
    ir_attr_set_axis(&n, axis_of(g, x, axis));
    ir_attr_set_keepdim(&n, keepdim);
    return add_node(g, &n);
}

int ir_sum(ir_graph *g, int x, int axis, bool keepdim) { return reduce(g, IR_SUM, x, axis, keepdim); }
int ir_reduce_max(ir_graph *g, int x, int axis, bool keepdim) { return reduce(g, IR_REDUCE_MAX, x, axis, keepdim); }

int ir_cumsum(ir_graph *g, int x, int axis)
{
    ir_node n = make(IR_CUMSUM, 1, x, -1, -1);
    ir_attr_set_axis(&n, axis_of(g, x, axis));
    return add_node(g, &n);
}

/* ---- movement ---- */

int ir_reshape(ir_graph *g, int x, ir_shape shape)
{
    ir_node n = make(IR_RESHAPE, 1, x, -1, -1);
    n.shape = shape;
    return add_node(g, &n);
}

int ir_permute(ir_graph *g, int x, const int *perm)
{
    ir_node n = make(IR_PERMUTE, 1, x, -1, -1);
    int rank = x >= 0 && x < g->n_nodes ? g->nodes[x].shape.rank : 0;   /* else add_node reports x */
    for (int i = 0; i < rank; i++) ir_attr_set_perm(&n, i, perm[i]);
    return add_node(g, &n);
}

int ir_slice(ir_graph *g, int x, int axis, int64_t start, int64_t len)
{
    ir_node n = make(IR_SLICE, 1, x, -1, -1);
    ir_attr_set_axis(&n, axis_of(g, x, axis));
    ir_attr_set_start(&n, start);
    ir_attr_set_len(&n, len);
    return add_node(g, &n);
}

int ir_concat(ir_graph *g, int a, int b, int axis)
{
    ir_node n = make(IR_CONCAT, 2, a, b, -1);
    ir_attr_set_axis(&n, axis_of(g, a, axis));
    return add_node(g, &n);
}

int ir_broadcast(ir_graph *g, int x, ir_shape shape)
{
    ir_node n = make(IR_BROADCAST, 1, x, -1, -1);
    n.shape = shape;
    return add_node(g, &n);
}

/* ---- contractions and indexing ---- */

int ir_matmul(ir_graph *g, int a, int b)
{
    ir_node n = make(IR_MATMUL, 2, a, b, -1);
    return add_node(g, &n);
}

int ir_grouped_matmul(ir_graph *g, int x, int w, int counts)
{
    ir_node n = make(IR_GROUPED_MATMUL, 3, x, w, counts);
    return add_node(g, &n);
}

int ir_grouped_outer(ir_graph *g, int x, int dy, int counts)
{
    ir_node n = make(IR_GROUPED_OUTER, 3, x, dy, counts);
    return add_node(g, &n);
}

int ir_gather(ir_graph *g, int table, int idx)
{
    ir_node n = make(IR_GATHER, 2, table, idx, -1);
    return add_node(g, &n);
}

int ir_scatter_add(ir_graph *g, int src, int idx, int64_t rows)
{
    ir_node n = make(IR_SCATTER_ADD, 2, src, idx, -1);
    ir_attr_set_rows(&n, rows);
    return add_node(g, &n);
}

int ir_topk(ir_graph *g, int x, int k)
{
    ir_node n = make(IR_TOPK, 1, x, -1, -1);
    ir_attr_set_k(&n, k);
    return add_node(g, &n);
}

int ir_take(ir_graph *g, int x, int idx)
{
    ir_node n = make(IR_TAKE, 2, x, idx, -1);
    return add_node(g, &n);
}

int ir_put(ir_graph *g, int src, int idx, int64_t len)
{
    ir_node n = make(IR_PUT, 2, src, idx, -1);
    ir_attr_set_size(&n, len);
    return add_node(g, &n);
}

int ir_one_hot(ir_graph *g, int idx, int64_t len)
{
    ir_node n = make(IR_ONE_HOT, 1, idx, -1, -1);
    ir_attr_set_size(&n, len);
    return add_node(g, &n);
}

/* ---- the verifier: every node re-derived by its op's rules ---- */

static int verify_node(ir_graph *g, int id)
{
    const ir_node *n = &g->nodes[id];
    if ((unsigned)n->op >= IR_OP_COUNT) return ir_graph_fail(g, "%%%d: no op %d", id, (int)n->op);
    if ((unsigned)n->dtype >= IR_DTYPE_COUNT) return ir_fail(g, id, n, "no dtype %d", (int)n->dtype);
    if (!ir_dtype_computed(n->dtype))
        return ir_fail(g, id, n, "dtype %s is not supported by the graph IR yet (f32 and i32 are)",
                       ir_dtype_name(n->dtype));
    ir_node copy = *n;
    if (check_operands(g, id, n) || ir_ops[n->op].shape(g, id, &copy)) return -1;
    if (copy.dtype != n->dtype || !ir_shape_eq(&copy.shape, &n->shape)) {
        char have[96], want[96];
        return ir_fail(g, id, n, "recorded as %s%s but its operands give %s%s", ir_dtype_name(n->dtype),
                       ir_shape_str(&n->shape, have, sizeof have), ir_dtype_name(copy.dtype),
                       ir_shape_str(&copy.shape, want, sizeof want));
    }
    return 0;
}

int ir_verify(ir_graph *g)
{
    if (g->n_nodes < 0 || g->n_nodes > g->cap)
        return ir_graph_fail(g, "graph: %d nodes in room for %d", g->n_nodes, g->cap);
    for (int id = 0; id < g->n_nodes; id++)
        if (verify_node(g, id)) return -1;
    return 0;
}
