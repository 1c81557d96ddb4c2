/* ir/lower.c -- fe_model -> forward graph: parameters as PARAM leaves,
 * each high-level node as primitive ops, MoE layers in the sparse form (the
 * expert block lowered once on the dispatched rows) or the dense-oracle
 * form, then the loss and its named parts. Reads frontend/model.h, writes
 * an ir_graph; draws nothing itself (random ops are keyed per fe node so
 * the same model always draws the same numbers). */
#include "ir/lower.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "ir/composite.h"
#include "ir/moe_sparse.h"

typedef struct lower_ctx {
    ir_graph *g;
    const fe_model *m;
    const ir_lower_options *opt;
    ir_lowered *out;
    int *map;          /* [n_nodes]: fe node id -> ir node id (SKIPPED: see below) */
    signed char *form; /* [n_nodes] per MOE node: 0 not decided yet, 1 sparse, -1 dense */
    const char **why;  /* [n_nodes] per MOE node: why dense although sparse was asked, or NULL */
} lower_ctx;

/* map[] of an expert's node when its layer takes the sparse form: the block
 * is lowered once, on the dispatched rows, at the MOE node. */
enum { SKIPPED = -2 };

static int fail(ir_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ir_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ir_graph_vfail(g, fmt, ap);
    va_end(ap);
    return -1;
}

/* An fe shape with B and T bound. */
static ir_shape bind_shape(const fe_shape *s, const ir_lower_options *opt)
{
    ir_shape r = ir_shape_of(0, NULL);
    r.rank = s->rank;
    for (int i = 0; i < s->rank; i++)
        r.dim[i] = s->dim[i] == FE_DIM_B ? opt->batch : s->dim[i] == FE_DIM_T ? opt->seq : s->dim[i];
    return r;
}

/* The lowered node must have the shape elaboration gave it: a mismatch is
 * a lowering bug, reported with both shapes. */
static int check_shape(ir_graph *g, const fe_model *m, int id, int node, const ir_lower_options *opt)
{
    ir_shape want = bind_shape(&m->nodes[id].shape, opt), got = ir_node_at(g, node)->shape;
    bool same = want.rank == got.rank;
    for (int i = 0; same && i < want.rank; i++) same = want.dim[i] == got.dim[i];
    if (same) return 0;
    char a[64], b[64];
    return fail(g, "lowering node %d (%s): shape %s, elaboration says %s", id,
                m->nodes[id].scope ? m->nodes[id].scope : "-", ir_shape_str(&got, a, sizeof a),
                ir_shape_str(&want, b, sizeof b));
}

static int param_node(lower_ctx *c, int fe_param)
{
    return fe_param >= 0 && fe_param < c->out->n_params ? c->out->params[fe_param] : -1;
}

static ir_rng node_rng(const lower_ctx *c, int id)
{
    return (ir_rng){c->out->step, c->m->train.seed, IR_STREAM_DROPOUT + 2 * (int64_t)id};
}

static int lower_attention(lower_ctx *c, const fe_node *n, int id, int x)
{
    ir_attn_params p = {param_node(c, n->param[0]), param_node(c, n->param[1]),
                        param_node(c, n->param[2]), param_node(c, n->param[3])};
    double drop = c->opt->training ? n->attr_f[0] : 0.0;
    ir_rng rng = node_rng(c, id);
    return ir_attention(c->g, x, &p, n->attr_i[0], drop, &rng);
}

/* logits = x [B,T,d] @ weight [V,d]^T */
static int lower_lm_head(lower_ctx *c, const fe_node *n, int x)
{
    static const int tr[2] = {1, 0};
    return ir_linear(c->g, x, ir_permute(c->g, param_node(c, n->param[0]), tr), -1);
}

/* ---- the sparse form's expert block ----
 * doc/model-semantics.md#mixture-of-experts-the-sparse-lowering */

/* Ops an expert block may hold for the sparse form: each maps a token's
 * row to a row (or two rows to one), so it can run on dispatched rows. */
static bool rowwise(fe_node_op op)
{
    switch (op) {
    case FE_NODE_EXPERT_INPUT: case FE_NODE_LINEAR: case FE_NODE_LAYERNORM: case FE_NODE_DROPOUT:
    case FE_NODE_GELU: case FE_NODE_RELU: case FE_NODE_SILU: case FE_NODE_TANH: case FE_NODE_EXP:
    case FE_NODE_SOFTMAX: case FE_NODE_ADD: case FE_NODE_SUB: case FE_NODE_MUL: case FE_NODE_DIV:
    case FE_NODE_SCALE: case FE_NODE_OFFSET: return true;
    case FE_NODE_TOKENS: case FE_NODE_EMBEDDING: case FE_NODE_POS_EMBEDDING: case FE_NODE_SINUSOIDAL:
    case FE_NODE_ATTENTION: case FE_NODE_LM_HEAD: case FE_NODE_MOE: return false;
    default: MOEC_UNREACHABLE();   /* the front end makes no other node */
    }
}

static bool same_fe_shape(const fe_shape *a, const fe_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Node j of expert e's block is node j of expert 0's with its own
 * parameters: same op, attributes, shapes and operands (by position). */
static bool same_as_first(const fe_model *m, const fe_node *moe, int64_t e, int j)
{
    int a0 = moe->experts[0].input, b0 = moe->experts[e].input;
    const fe_node *a = &m->nodes[a0 + j], *b = &m->nodes[b0 + j];
    bool same = a->op == b->op && a->n_in == b->n_in && a->n_param == b->n_param && same_fe_shape(&a->shape, &b->shape);
    for (int i = 0; same && i < 2; i++) same = a->attr_i[i] == b->attr_i[i] && a->attr_f[i] == b->attr_f[i];
    for (int i = 0; same && i < a->n_in; i++) same = a->in[i] - a0 == b->in[i] - b0;
    for (int i = 0; same && i < a->n_param; i++) {
        same = (a->param[i] < 0) == (b->param[i] < 0);
        if (same && a->param[i] >= 0) same = same_fe_shape(&m->params[a->param[i]].shape, &m->params[b->param[i]].shape);
    }
    return same;
}

/* Node j of the first expert's block as the sparse form needs it: a
 * row-wise op on [B,T,w] values of the block (two of them broadcast along
 * w only, within a row). NULL, or why not. */
static const char *block_node_unsupported(const fe_model *m, const fe_node *moe, int j)
{
    int first = moe->experts[0].input;
    const fe_node *n = &m->nodes[first + j];
    if (!rowwise(n->op) || (n->op == FE_NODE_EXPERT_INPUT) != (j == 0))
        return "its expert block holds an op that does not work row by row";
    if (n->shape.rank != 3 || n->shape.dim[0] != FE_DIM_B || n->shape.dim[1] != FE_DIM_T)
        return "its expert block holds a value that is not [B, T, w]";
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] < first || n->in[i] >= first + j) return "its expert block reads a value from outside the block";
    for (int64_t e = 1; e < moe->attr_i[1]; e++)
        if (!same_as_first(m, moe, e, j)) return "its experts are not the same block";
    return NULL;
}

/* Why MoE node moe's experts cannot run on dispatched rows, or NULL. */
static const char *block_unsupported(const fe_model *m, const fe_node *moe)
{
    const fe_expert *x = moe->experts;
    int len = x[0].output - x[0].input + 1;
    for (int64_t e = 0; e < moe->attr_i[1]; e++)
        if (x[e].input != x[0].input + e * len || x[e].output != x[e].input + len - 1)
            return "its experts' nodes are not laid out alike";
    for (int j = 0; j < len; j++) {
        const char *why = block_node_unsupported(m, moe, j);
        if (why) return why;
    }
    return NULL;
}

/* Whether MOE node id takes the sparse form; decided once. */
static bool moe_sparse(lower_ctx *c, int id)
{
    if (c->form[id] == 0) {
        const fe_node *n = &c->m->nodes[id];
        const char *why = NULL;
        if (c->opt->moe == IR_MOE_SPARSE)
            why = ir_moe_sparse_unsupported(&c->m->routers[n->attr_i[0]], c->opt->batch, c->opt->seq, n->attr_i[1]);
        if (c->opt->moe == IR_MOE_SPARSE && !why) why = block_unsupported(c->m, n);
        c->why[id] = why;
        c->form[id] = c->opt->moe == IR_MOE_SPARSE && !why ? 1 : -1;
    }
    return c->form[id] > 0;
}

/* Block node n stands for every expert's: its scope "mlp.experts.0.c_fc"
 * becomes "mlp.experts.c_fc". */
static void set_rows_origin(lower_ctx *c, const fe_node *moe, const fe_node *n)
{
    char first[256], scope[512];
    snprintf(first, sizeof first, "%s%sexperts.0", moe->scope ? moe->scope : "", moe->scope ? "." : "");
    size_t k = strlen(first);
    const char *s = n->scope;
    if (s && !strncmp(s, first, k) && (s[k] == '\0' || s[k] == '.')) {
        snprintf(scope, sizeof scope, "%.*s%s", (int)(k - 2), first, s + k);   /* drop ".0" */
        s = scope;
    }
    ir_set_origin(c->g, n->loc, s);
}

/* Parameters 0 and 1 of block node j of every expert: [2E] PARAM nodes,
 * every expert's param 0 first (-1 where a node has none); NULL when out
 * of memory (reported). */
static int *expert_params(lower_ctx *c, const fe_node *moe, int j)
{
    int64_t e = moe->attr_i[1];
    int *v = moec_arena_alloc(&c->g->arena, sizeof *v * (size_t)(2 * e));
    if (!v) return fail(c->g, "out of memory lowering %s", moe->scope ? moe->scope : "moe"), NULL;
    for (int64_t i = 0; i < e; i++) {
        const fe_node *n = &c->m->nodes[moe->experts[i].input + j];
        v[i] = param_node(c, n->param[0]);
        v[e + i] = param_node(c, n->param[1]);
    }
    return v;
}

/* Block node j, a linear layer, on rows: one grouped product with every
 * expert's weight (and bias). */
static int rows_linear(lower_ctx *c, const fe_node *moe, int j, int rows, const ir_moe_plan *p)
{
    int *w = expert_params(c, moe, j);
    if (!w) return -1;
    bool bias = c->m->nodes[moe->experts[0].input + j].param[1] >= 0;
    return ir_moe_grouped_linear(c->g, p, rows, w, bias ? w + moe->attr_i[1] : NULL);
}

/* Block node j, a layernorm, on rows: each row with its expert's weight
 * and bias. */
static int rows_layernorm(lower_ctx *c, const fe_node *moe, int j, int rows, const ir_moe_plan *p)
{
    int *v = expert_params(c, moe, j);
    if (!v) return -1;
    int w = ir_moe_row_params(c->g, p, v);
    int b = ir_moe_row_params(c->g, p, v + moe->attr_i[1]);
    return ir_layernorm(c->g, rows, w, b, c->m->nodes[moe->experts[0].input + j].attr_f[0]);
}

/* Block node j, a dropout, on rows: each row with the draws its expert's
 * dropout makes in the dense form. */
static int rows_dropout(lower_ctx *c, const fe_node *moe, int j, int rows, const ir_moe_plan *p)
{
    int64_t e = moe->attr_i[1];
    double prob = c->opt->training ? c->m->nodes[moe->experts[0].input + j].attr_f[0] : 0.0;
    if (prob <= 0.0) return rows;
    int64_t *streams = moec_arena_alloc(&c->g->arena, sizeof *streams * (size_t)e);
    if (!streams) return fail(c->g, "out of memory lowering %s", moe->scope ? moe->scope : "moe");
    for (int64_t i = 0; i < e; i++) streams[i] = node_rng(c, moe->experts[i].input + j).stream;
    return ir_moe_rows_dropout(c->g, p, rows, prob, c->out->step, c->m->train.seed, streams);
}

static int lower_simple(lower_ctx *c, const fe_node *n, int a, int b);

/* The sparse form: the plan, the first expert's block once on the rows
 * with every expert's parameters, the combine. */
static int lower_moe_sparse(lower_ctx *c, const fe_node *moe, int x, const ir_routing *r)
{
    ir_moe_plan p;
    if (ir_moe_plan_build(c->g, r, x, moe->attr_i[1], &p) < 0) return -1;
    int first = moe->experts[0].input, len = moe->experts[0].output - first + 1;
    int *v = moec_arena_alloc(&c->g->arena, sizeof *v * (size_t)len);
    if (!v) return fail(c->g, "out of memory lowering %s", moe->scope ? moe->scope : "moe");
    for (int j = 0; j < len; j++) {
        const fe_node *n = &c->m->nodes[first + j];
        int a = n->n_in > 0 ? v[n->in[0] - first] : -1, b = n->n_in > 1 ? v[n->in[1] - first] : -1;
        set_rows_origin(c, moe, n);
        switch (n->op) {
        case FE_NODE_EXPERT_INPUT: v[j] = p.x_rows; break;
        case FE_NODE_LINEAR: v[j] = rows_linear(c, moe, j, a, &p); break;
        case FE_NODE_LAYERNORM: v[j] = rows_layernorm(c, moe, j, a, &p); break;
        case FE_NODE_DROPOUT: v[j] = rows_dropout(c, moe, j, a, &p); break;
        case FE_NODE_GELU: case FE_NODE_RELU: case FE_NODE_SILU: case FE_NODE_TANH: case FE_NODE_EXP:
        case FE_NODE_SOFTMAX: case FE_NODE_ADD: case FE_NODE_SUB: case FE_NODE_MUL: case FE_NODE_DIV:
        case FE_NODE_SCALE: case FE_NODE_OFFSET: v[j] = lower_simple(c, n, a, b); break;
        default: MOEC_UNREACHABLE();   /* block_unsupported admits only these */
        }
        if (v[j] < 0) return -1;
    }
    ir_set_origin(c->g, moe->loc, moe->scope);
    return ir_moe_sparse_combine(c->g, &p, v[len - 1]);
}

/* The probabilities of routing rt without the training noise, for the
 * routing entropy (doc/names-and-metrics.md#definitions): rt->probs when no
 * noise went into it, else softmax of the raw logits. -1 without probabilities. */
static int clean_probs(lower_ctx *c, const fe_router *r, const ir_routing *rt)
{
    if (!rt->has_probs) return -1;
    bool noisy = c->opt->training &&
                 (r->kind == FE_ROUTER_NOISY_TOPK || (r->kind == FE_ROUTER_TOPK && r->noise_std > 0.0));
    return noisy ? ir_softmax(c->g, rt->logits) : rt->probs;
}

/* The router, the combine of the experts' outputs, the layer's record. */
static int lower_moe(lower_ctx *c, const fe_node *n, int id, int x)
{
    const fe_model *m = c->m;
    int64_t e = n->attr_i[1];
    const fe_router *r = &m->routers[n->attr_i[0]];
    ir_moe_ctx mc = {c->opt->training, c->out->step, c->out->tokens, c->out->domain, m->train.seed,
                     IR_STREAM_ROUTER + IR_MOE_STREAMS * (int64_t)id, m->train.steps, m->vocab};
    ir_moe_layer *layer = &c->out->moe[c->out->n_moe++];
    layer->fe_node = id;
    layer->router = (int)n->attr_i[0];
    layer->experts = e;
    layer->scope = n->scope;
    if (ir_route(c->g, r, x, param_node(c, n->param[0]), param_node(c, n->param[1]), e, &mc, &layer->routing) < 0)
        return -1;
    layer->clean_probs = c->opt->stats ? clean_probs(c, r, &layer->routing) : -1;
    layer->sparse = moe_sparse(c, id);
    layer->dense_why = c->why[id];
    if (layer->sparse) return lower_moe_sparse(c, n, x, &layer->routing);
    int *y = moec_arena_alloc(&c->g->arena, sizeof *y * (size_t)e);
    if (!y) return fail(c->g, "out of memory lowering %s", n->scope ? n->scope : "moe");
    for (int64_t i = 0; i < e; i++) y[i] = c->map[n->experts[i].output];
    return ir_moe_combine(c->g, layer->routing.weights, y, e);
}

/* Unary builtins and arithmetic: in0 (and in1) already lowered. */
static int lower_simple(lower_ctx *c, const fe_node *n, int a, int b)
{
    ir_graph *g = c->g;
    switch (n->op) {
    case FE_NODE_GELU: return ir_gelu(g, a);
    case FE_NODE_RELU: return ir_relu(g, a);
    case FE_NODE_SILU: return ir_silu(g, a);
    case FE_NODE_TANH: return ir_unary(g, IR_TANH, a);
    case FE_NODE_EXP: return ir_unary(g, IR_EXP, a);
    case FE_NODE_SOFTMAX: return ir_softmax(g, a);
    case FE_NODE_ADD: return ir_binary(g, IR_ADD, a, b);
    case FE_NODE_SUB: return ir_binary(g, IR_SUB, a, b);
    case FE_NODE_MUL: return ir_binary(g, IR_MUL, a, b);
    case FE_NODE_DIV: return ir_binary(g, IR_DIV, a, b);
    case FE_NODE_SCALE: return ir_mul_scalar(g, a, n->attr_f[0]);
    case FE_NODE_OFFSET: return ir_add_scalar(g, a, n->attr_f[0]);
    default: MOEC_UNREACHABLE();   /* lower_node passes only these */
    }
}

static int lower_node(lower_ctx *c, int id)
{
    const fe_node *n = &c->m->nodes[id];
    ir_graph *g = c->g;
    int a = n->n_in > 0 ? c->map[n->in[0]] : -1, b = n->n_in > 1 ? c->map[n->in[1]] : -1;
    ir_set_origin(g, n->loc, n->scope);
    switch (n->op) {
    case FE_NODE_TOKENS: return c->out->tokens;
    case FE_NODE_EXPERT_INPUT: return c->map[c->m->nodes[n->expert_of].in[0]];
    case FE_NODE_EMBEDDING: return ir_gather(g, param_node(c, n->param[0]), a);
    case FE_NODE_POS_EMBEDDING: return ir_slice(g, param_node(c, n->param[0]), 0, 0, c->opt->seq);
    case FE_NODE_SINUSOIDAL: return ir_sinusoidal(g, c->opt->seq, n->attr_i[0]);
    case FE_NODE_LAYERNORM:
        return ir_layernorm(g, a, param_node(c, n->param[0]), param_node(c, n->param[1]), n->attr_f[0]);
    case FE_NODE_LINEAR: return ir_linear(g, a, param_node(c, n->param[0]), param_node(c, n->param[1]));
    case FE_NODE_DROPOUT: {
        ir_rng rng = node_rng(c, id);
        return ir_dropout(g, a, c->opt->training ? n->attr_f[0] : 0.0, &rng);
    }
    case FE_NODE_ATTENTION: return lower_attention(c, n, id, a);
    case FE_NODE_LM_HEAD: return lower_lm_head(c, n, a);
    case FE_NODE_MOE: return lower_moe(c, n, id, a);
    case FE_NODE_GELU:
    case FE_NODE_RELU:
    case FE_NODE_SILU:
    case FE_NODE_TANH:
    case FE_NODE_EXP:
    case FE_NODE_SOFTMAX:
    case FE_NODE_ADD:
    case FE_NODE_SUB:
    case FE_NODE_MUL:
    case FE_NODE_DIV:
    case FE_NODE_SCALE:
    case FE_NODE_OFFSET: return lower_simple(c, n, a, b);
    default: MOEC_UNREACHABLE();   /* the front end makes no other node */
    }
}

/* The mean of the layers' statistic `which` (offset into ir_routing) over
 * the layers of router r (r < 0: of every router with probabilities). */
static int layer_mean(lower_ctx *c, int r, size_t which)
{
    int acc = -1, count = 0;
    for (int i = 0; i < c->out->n_moe; i++) {
        const ir_moe_layer *l = &c->out->moe[i];
        if ((r >= 0 && l->router != r) || !l->routing.has_probs) continue;
        int v = *(const int *)((const char *)&l->routing + which);
        acc = acc < 0 ? v : ir_binary(c->g, IR_ADD, acc, v);
        count++;
    }
    if (count == 0) return ir_scalar(c->g, 0.0);
    return ir_mul_scalar(c->g, acc, 1.0 / count);
}

/* load(R): the smooth load loss, which only noisy_topk layers have (the
 * front end checks; this guards the lowering against a router without it). */
static int load_term(lower_ctx *c, int r)
{
    for (int i = 0; i < c->out->n_moe; i++)
        if (c->out->moe[i].router == r && c->out->moe[i].routing.load < 0)
            return fail(c->g, "load(%s): router '%s' has no smooth load (a noisy_topk router has)",
                        c->m->routers[r].name, c->m->routers[r].name);
    return layer_mean(c, r, offsetof(ir_routing, load));
}

static int loss_term(lower_ctx *c, const fe_loss_term *t)
{
    _Static_assert(FE_LOSS_KIND_COUNT == 5, "loss_term lowers 5 loss kinds");
    switch (t->kind) {
    case FE_LOSS_CROSS_ENTROPY: {
        /* token_loss: the positions of the first cross-entropy term (the one lm_loss is) */
        bool per = c->opt->stats && c->out->token_loss < 0;
        return ir_cross_entropy_tokens(c->g, c->map[t->logits], c->out->targets, per ? &c->out->token_loss : NULL);
    }
    case FE_LOSS_LOAD_BALANCE: return layer_mean(c, t->router, offsetof(ir_routing, lb));
    case FE_LOSS_Z: return layer_mean(c, t->router, offsetof(ir_routing, z));
    case FE_LOSS_IMPORTANCE: return layer_mean(c, t->router, offsetof(ir_routing, importance));
    case FE_LOSS_LOAD: return load_term(c, t->router);
    default: MOEC_UNREACHABLE();
    }
}

/* loss = sum coef * term, lm_loss = the cross-entropy; a term with
 * coefficient 0 stays out of the sum (it adds nothing to the gradient). */
static int lower_loss(lower_ctx *c)
{
    ir_lowered *o = c->out;
    int loss = -1;
    o->lm_loss = -1;
    for (int i = 0; i < c->m->n_loss; i++) {
        const fe_loss_term *t = &c->m->loss[i];
        ir_set_origin(c->g, t->loc, "loss");
        int v = loss_term(c, t);
        if (v < 0) return -1;
        if (t->kind == FE_LOSS_CROSS_ENTROPY && o->lm_loss < 0) o->lm_loss = v;
        if (t->coef == 0.0) continue;
        int term = t->coef == 1.0 ? v : ir_mul_scalar(c->g, v, t->coef);
        loss = loss < 0 ? term : ir_binary(c->g, IR_ADD, loss, term);
    }
    if (o->lm_loss < 0) o->lm_loss = ir_scalar(c->g, 0.0);
    o->loss = loss < 0 ? ir_scalar(c->g, 0.0) : loss;
    o->lb_loss = layer_mean(c, -1, offsetof(ir_routing, lb));
    o->z_loss = layer_mean(c, -1, offsetof(ir_routing, z));
    return o->loss < 0 || o->lb_loss < 0 || o->z_loss < 0 ? -1 : 0;
}

/* Inputs and parameters, created first so that their ids are stable. */
static int lower_leaves(lower_ctx *c)
{
    ir_graph *g = c->g;
    ir_lowered *o = c->out;
    int64_t bt[2] = {c->opt->batch, c->opt->seq};
    o->tokens = ir_input(g, IR_INPUT_TOKENS, ir_shape_of(2, bt));
    o->targets = ir_input(g, IR_INPUT_TARGETS, ir_shape_of(2, bt));
    o->domain = ir_input(g, IR_INPUT_DOMAIN, ir_shape_of(1, bt));
    o->step = ir_input(g, IR_INPUT_STEP, ir_shape_of(0, NULL));
    for (int i = 0; i < o->n_params; i++) {
        const fe_param *p = &c->m->params[i];
        ir_shape s = ir_shape_of(0, NULL);
        s.rank = p->shape.rank;
        memcpy(s.dim, p->shape.dim, sizeof p->shape.dim[0] * (size_t)p->shape.rank);
        ir_set_origin(g, p->loc, NULL);
        o->params[i] = ir_param(g, i, p->name, s);
        if (o->params[i] < 0) return -1;
    }
    return o->tokens < 0 || o->targets < 0 || o->domain < 0 || o->step < 0 ? -1 : 0;
}

static int check_options(ir_graph *g, const fe_model *m, const ir_lower_options *opt)
{
    if (opt->batch < 1 || opt->seq < 1)
        return fail(g, "batch and sequence length must be at least 1 (got %lld and %lld)",
                    (long long)opt->batch, (long long)opt->seq);
    if (m->ctx > 0 && opt->seq > m->ctx)
        return fail(g, "sequence length %lld exceeds the model's context %lld", (long long)opt->seq,
                    (long long)m->ctx);
    if (m->output < 0 || m->output >= m->n_nodes) return fail(g, "the model has no output");
    return 0;
}

int ir_lower(ir_graph *g, const fe_model *m, const ir_lower_options *opt, ir_lowered *out)
{
    memset(out, 0, sizeof *out);
    out->token_loss = -1;
    if (check_options(g, m, opt) < 0) return -1;
    out->model = m;
    out->n_params = m->n_params;
    int n_moe = 0;
    for (int i = 0; i < m->n_nodes; i++) n_moe += m->nodes[i].op == FE_NODE_MOE;
    size_t nodes = (size_t)m->n_nodes + 1;
    lower_ctx c = {g, m, opt, out, moec_arena_alloc(&g->arena, sizeof(int) * nodes),
                   moec_arena_alloc(&g->arena, nodes), moec_arena_alloc(&g->arena, sizeof(const char *) * nodes)};
    out->params = moec_arena_alloc(&g->arena, sizeof(int) * (size_t)(m->n_params + 1));
    out->moe = moec_arena_alloc(&g->arena, sizeof(ir_moe_layer) * (size_t)(n_moe + 1));
    if (!c.map || !c.form || !c.why || !out->params || !out->moe) return fail(g, "out of memory lowering the model");
    if (lower_leaves(&c) < 0) return fail(g, "lowering the inputs and parameters failed");
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].expert_of >= 0 && moe_sparse(&c, m->nodes[i].expert_of)) {
            c.map[i] = SKIPPED;
            continue;
        }
        c.map[i] = lower_node(&c, i);
        if (c.map[i] < 0) return fail(g, "lowering node %d failed", i);
        if (check_shape(g, m, i, c.map[i], opt) < 0) return -1;
    }
    out->logits = c.map[m->output];
    return lower_loss(&c);
}
