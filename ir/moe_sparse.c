/* ir/moe_sparse.c -- the sparse form of a mixture-of-experts layer
 * (doc/model-semantics.md#mixture-of-experts-the-sparse-lowering): the
 * dispatch plan built from the router's assignments with ordinary ops
 * (one-hot, cumulative sums, a gather of the exclusive scan, scatters of
 * token and expert ids to rows), the experts' stacked weights, grouped
 * linear layers, per-row dropout draws and the combine back to tokens.
 * Reads ir_routing (ir/moe.h); appends nodes. The plan's integers are i32
 * except the ids scattered to rows, which SCATTER_ADD carries in f32
 * (exact: N <= 2^24 is checked). */
#include "ir/moe_sparse.h"

#include <string.h>

#include "ir/composite.h"

static ir_shape sh1(int64_t a) { return ir_shape_of(1, &a); }
static ir_shape sh2(int64_t a, int64_t b) { return ir_shape_of(2, (int64_t[]){a, b}); }
static ir_shape sh3(int64_t a, int64_t b, int64_t c) { return ir_shape_of(3, (int64_t[]){a, b, c}); }

static ir_shape shape_of(const ir_graph *g, int id)
{
    return id >= 0 ? ir_node_at(g, id)->shape : ir_shape_of(0, NULL);
}

static int i32_scalar(ir_graph *g, int64_t v) { return ir_cast(g, ir_scalar(g, (double)v), IR_I32); }

static int fail(ir_graph *g, const char *msg)
{
    return ir_graph_fail(g, "%s", msg);
}

const char *ir_moe_sparse_unsupported(const fe_router *r, int64_t b, int64_t t, int64_t e)
{
    int64_t n = b * t, per_token = r->kind == FE_ROUTER_EXPERT_CHOICE ? e : r->k;
    if (n > (INT64_C(1) << 24)) return "the dispatch plan scatters token ids in f32, exact up to 2^24 tokens";
    if (n * per_token >= (INT64_C(1) << 31)) return "its rows would not have i32 indices";
    return NULL;
}

/* A router-row decision v [n,k] for every token: [N,k] (a sequence's
 * decision repeated over its T positions). */
static int to_tokens(ir_graph *g, const ir_moe_plan *p, int v, int64_t n)
{
    if (v < 0 || n == p->tokens) return v;
    int64_t b = p->x_shape.dim[0], t = p->x_shape.dim[1], k = shape_of(g, v).dim[1];
    int per_seq = ir_broadcast(g, ir_reshape(g, v, sh3(b, 1, k)), sh3(b, t, k));
    return ir_reshape(g, per_seq, sh2(b * t, k));
}

/* ids f32 [A,1] scattered to their rows pos [A] in a [v,1] buffer, the
 * first `rows` of it as i32 [rows]: rows no assignment reaches get 0. */
static int ids_at_rows(ir_graph *g, int ids, int pos, int64_t v, int64_t rows)
{
    int s = ir_scatter_add(g, ids, pos, v);
    if (v > rows) s = ir_slice(g, s, 0, 0, rows);
    return ir_cast(g, ir_reshape(g, s, sh1(rows)), IR_I32);
}

/* pos [A] i32: each assignment's row. Its rank among the kept assignments
 * of its expert in token order (cumulative one-hot count: stable) plus the
 * expert's first row (exclusive scan of the counts); `trash` when dropped. */
static int slot_rows(ir_graph *g, ir_moe_plan *p, int e_a, int keep_a, int64_t trash)
{
    int64_t a = shape_of(g, e_a).dim[0], e = p->experts;
    int oh = ir_one_hot(g, e_a, e);                                           /* [A,E] */
    if (keep_a >= 0) oh = ir_binary(g, IR_MUL, oh, ir_reshape(g, keep_a, sh2(a, 1)));
    oh = ir_cast(g, oh, IR_I32);
    p->counts = ir_sum(g, oh, 0, false);                                      /* [E] */
    int start = ir_binary(g, IR_SUB, ir_cumsum(g, p->counts, 0), p->counts);
    int rank = ir_sum(g, ir_binary(g, IR_MUL, ir_cumsum(g, oh, 0), oh), 1, false);   /* 1-based; 0 dropped */
    int first = ir_reshape(g, ir_gather(g, ir_reshape(g, start, sh2(e, 1)), e_a), sh1(a));
    int pos = ir_binary(g, IR_ADD, first, rank);
    pos = ir_binary(g, IR_SUB, pos, i32_scalar(g, 1));
    if (keep_a < 0) return pos;
    int dropped_row = i32_scalar(g, trash);
    return ir_where(g, keep_a, pos, dropped_row);
}

/* Token choice: A = N k slot assignments, in token order (token t's slots
 * are t k .. t k + k - 1). With a capacity the rows are bounded by E times
 * the capacity and a dropped slot points at row R, a zero row the combine
 * appends. */
static int plan_slots(ir_graph *g, const ir_routing *r, ir_moe_plan *p)
{
    int64_t n = p->tokens, k = shape_of(g, r->slot_expert).dim[1], a = n * k;
    int64_t per = n / r->rows, bound = r->capacity * per * p->experts;
    p->rows = r->slot_keep >= 0 && bound < a ? bound : a;
    p->zero_row = r->slot_keep >= 0;
    int idx = to_tokens(g, p, r->slot_expert, r->rows);
    int keep = to_tokens(g, p, r->slot_keep, r->rows);
    p->slot_weight = to_tokens(g, p, r->slot_weight, r->rows);
    int e_a = ir_reshape(g, idx, sh1(a));
    int keep_a = keep >= 0 ? ir_reshape(g, keep, sh1(a)) : -1;
    int pos = slot_rows(g, p, e_a, keep_a, p->rows);
    p->slot_row = ir_reshape(g, pos, sh2(n, k));
    int64_t v = p->zero_row ? p->rows + 1 : p->rows;
    int tok = ir_reshape(g, ir_iota(g, sh2(n, k), 0), sh2(a, 1));
    p->row_token = ids_at_rows(g, tok, pos, v, p->rows);
    int ex = ir_reshape(g, ir_cast(g, e_a, IR_F32), sh2(a, 1));
    p->row_expert = ids_at_rows(g, ex, pos, v, p->rows);
    return p->row_expert < 0 ? -1 : 0;
}

/* Expert choice: expert e's rows are the C router rows it took, in its
 * top-C order (times the T tokens of a sequence when a router row is one):
 * every expert has exactly C rows, so the plan is static. */
static int plan_choice(ir_graph *g, const ir_routing *r, ir_moe_plan *p)
{
    int64_t e = p->experts, c = r->capacity, per = p->tokens / r->rows;
    int tok = r->choice_row, w = r->choice_weight;                             /* [E,C] */
    p->rows = e * c * per;
    if (per > 1) {
        int first = ir_reshape(g, tok, sh3(e, c, 1));
        first = ir_binary(g, IR_MUL, first, i32_scalar(g, per));
        int within = ir_cast(g, ir_iota(g, sh3(1, 1, per), 2), IR_I32);
        tok = ir_binary(g, IR_ADD, first, within);                             /* [E,C,T] */
        w = ir_broadcast(g, ir_reshape(g, w, sh3(e, c, 1)), sh3(e, c, per));
    }
    p->row_token = ir_reshape(g, tok, sh1(p->rows));
    p->row_weight = ir_reshape(g, w, sh2(p->rows, 1));
    p->counts = ir_cast(g, ir_const(g, (double)(c * per), sh1(e)), IR_I32);
    int ex = ir_cast(g, ir_iota(g, sh2(e, c * per), 0), IR_I32);
    p->row_expert = ir_reshape(g, ex, sh1(p->rows));
    return p->row_expert < 0 || p->row_weight < 0 ? -1 : 0;
}

int ir_moe_plan_build(ir_graph *g, const ir_routing *r, int x, int64_t e, ir_moe_plan *out)
{
    memset(out, 0, sizeof *out);
    out->counts = out->row_token = out->row_expert = out->x_rows = -1;
    out->slot_row = out->slot_weight = out->row_weight = -1;
    if (x < 0 || r->weights < 0) return -1;
    out->x_shape = shape_of(g, x);
    if (out->x_shape.rank != 3 || r->rows < 1) return fail(g, "moe: the sparse plan needs x [B,T,d] and a routing");
    int64_t n = out->x_shape.dim[0] * out->x_shape.dim[1], d = out->x_shape.dim[2];
    out->experts = e;
    out->tokens = n;
    int rc = r->choice_row >= 0 ? plan_choice(g, r, out) : plan_slots(g, r, out);
    if (rc < 0) return -1;
    out->x_rows = ir_gather(g, ir_reshape(g, x, sh2(n, d)), out->row_token);
    return out->x_rows < 0 ? -1 : 0;
}

/* x[lo..hi) each with a leading axis of 1, joined by a balanced tree of
 * CONCATs along it. */
static int stack_range(ir_graph *g, const int *x, int64_t lo, int64_t hi)
{
    if (hi - lo == 1) {
        if (x[lo] < 0) return -1;
        ir_shape s = shape_of(g, x[lo]), one = {.rank = s.rank + 1};
        if (s.rank >= IR_MAX_RANK) return fail(g, "moe: a stacked tensor has no room for the expert axis");
        one.dim[0] = 1;
        memcpy(one.dim + 1, s.dim, sizeof s.dim[0] * (size_t)s.rank);
        return ir_reshape(g, x[lo], one);
    }
    int64_t mid = lo + (hi - lo) / 2;
    int a = stack_range(g, x, lo, mid);
    int b = stack_range(g, x, mid, hi);
    return ir_concat(g, a, b, 0);
}

int ir_moe_stack(ir_graph *g, const int *x, int64_t e)
{
    return e < 1 ? fail(g, "moe: nothing to stack") : stack_range(g, x, 0, e);
}

int ir_moe_row_params(ir_graph *g, const ir_moe_plan *p, const int *v)
{
    return ir_gather(g, ir_moe_stack(g, v, p->experts), p->row_expert);
}

int ir_moe_grouped_linear(ir_graph *g, const ir_moe_plan *p, int rows, const int *w, const int *b)
{
    int y = ir_grouped_matmul(g, rows, ir_moe_stack(g, w, p->experts), p->counts);
    return b ? ir_binary(g, IR_ADD, y, ir_moe_row_params(g, p, b)) : y;
}

int ir_moe_rows_dropout(ir_graph *g, const ir_moe_plan *p, int rows, double prob, int step, int64_t seed,
                        const int64_t *streams)
{
    if (rows < 0) return -1;
    int64_t e = p->experts, n = p->tokens, w = shape_of(g, rows).dim[1];
    int *u = moec_arena_alloc(&g->arena, sizeof *u * (size_t)e);
    if (!u) return fail(g, "out of memory lowering an MoE layer");
    for (int64_t i = 0; i < e; i++) u[i] = ir_random(g, step, IR_RANDOM_UNIFORM, streams[i], seed, sh2(n, w));
    int all = ir_reshape(g, ir_moe_stack(g, u, e), sh2(e * n, w));             /* expert e's at e N + t */
    int at = ir_binary(g, IR_MUL, p->row_expert, i32_scalar(g, n));
    at = ir_binary(g, IR_ADD, at, p->row_token);
    int draws = ir_gather(g, all, at);                                          /* [R,w] */
    return ir_dropout_mask(g, rows, draws, prob);
}

/* Token choice: token t gathers its k slots' rows (a dropped slot the zero
 * row) and sums them weighted, in slot order. Expert choice: each row,
 * weighted, is added into its token, in row order (expert order). */
int ir_moe_sparse_combine(ir_graph *g, const ir_moe_plan *p, int y)
{
    int64_t n = p->tokens, d = shape_of(g, y).dim[1];
    int out;
    if (y < 0) return -1;
    if (p->row_weight >= 0) {
        out = ir_scatter_add(g, ir_binary(g, IR_MUL, y, p->row_weight), p->row_token, n);
    } else {
        int table = p->zero_row ? ir_concat(g, y, ir_const(g, 0.0, sh2(1, d)), 0) : y;
        int picked = ir_gather(g, table, p->slot_row);                           /* [N,k,d] */
        int64_t k = shape_of(g, p->slot_weight).dim[1];
        int weighted = ir_binary(g, IR_MUL, picked, ir_reshape(g, p->slot_weight, sh3(n, k, 1)));
        out = ir_sum(g, weighted, 1, false);
    }
    return ir_reshape(g, out, p->x_shape);
}
