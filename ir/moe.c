/* ir/moe.c -- routers, capacity, router statistics and the dense-oracle
 * combine of a mixture-of-experts layer, as graph-IR subgraphs. Reads the
 * front end's router settings (frontend/model.h); appends nodes. Every
 * routing decision (top-k, capacity positions, hash, label) is built from
 * ops that pass no gradient, so only the selected probabilities carry the
 * router's gradient. The assignments are kept in ir_routing for the sparse
 * lowering (ir/moe_sparse.c), which dispatches from them. */
#include "ir/moe.h"

#include <math.h>
#include <string.h>

#include "ir/composite.h"

static int fail(ir_graph *g, const char *msg)
{
    return ir_graph_fail(g, "%s", msg);
}

static ir_shape shape2(int64_t a, int64_t b)
{
    int64_t d[2] = {a, b};
    return ir_shape_of(2, d);
}

/* The rows a router sees: x [B,T,d] -> [N,d] per token, or the mean over T
 * [B,d] per sequence. *n gets the row count. */
static int router_rows(ir_graph *g, const fe_router *r, int x, int64_t *n)
{
    ir_shape s = ir_node_at(g, x)->shape;
    if (r->unit == FE_UNIT_SEQUENCE) {
        *n = s.dim[0];
        return ir_mean(g, x, 1, false);
    }
    *n = s.dim[0] * s.dim[1];
    return ir_reshape(g, x, shape2(*n, s.dim[2]));
}

/* rows [n,d] @ w [E,d]^T -> [n,E] (w in torch Linear layout). */
static int router_logits(ir_graph *g, int rows, int w)
{
    static const int tr[2] = {1, 0};
    return ir_matmul(g, rows, ir_permute(g, w, tr));
}

/* Decisions made per sequence ([B,E]) apply to all T positions: -> [N,E]. */
static int expand_to_tokens(ir_graph *g, int w, int64_t b, int64_t t, int64_t e)
{
    int64_t d3[3] = {b, 1, e}, f3[3] = {b, t, e};
    int w3 = ir_broadcast(g, ir_reshape(g, w, ir_shape_of(3, d3)), ir_shape_of(3, f3));
    return ir_reshape(g, w3, shape2(b * t, e));
}

/* sigma_t = noise_std * max(0, 1 - step / (noise_anneal * steps)), or
 * noise_std when noise_anneal is 0: a scalar node computed from the STEP input. */
static int noise_scale(ir_graph *g, const fe_router *r, const ir_moe_ctx *ctx)
{
    if (r->noise_anneal <= 0.0) return ir_scalar(g, r->noise_std);
    double span = r->noise_anneal * (double)ctx->total_steps;
    int left = ir_add_scalar(g, ir_mul_scalar(g, ctx->step, -1.0 / span), 1.0);
    return ir_mul_scalar(g, ir_binary(g, IR_MAX, left, ir_scalar(g, 0.0)), r->noise_std);
}

static int normal_draws(ir_graph *g, const ir_moe_ctx *ctx, int64_t stream, ir_shape s)
{
    return ir_random(g, ctx->step, IR_RANDOM_NORMAL, stream, ctx->seed, s);
}

/* keep [n,k] (1 kept, 0 dropped) for capacity `cap` per expert. Assignments
 * are ordered slot-major (every token's slot 0, then slot 1, ...); an
 * assignment's position in its expert is the running count of one-hot rows
 * up to it (CUMSUM), 1-based, and it is kept while the position <= cap. */
static int capacity_keep(ir_graph *g, int idx, int64_t n, int64_t k, int64_t e, int64_t cap)
{
    static const int swap01[3] = {1, 0, 2};
    static const int tr[2] = {1, 0};
    int oh = ir_permute(g, ir_one_hot(g, idx, e), swap01);                 /* [k,n,E] */
    int flat = ir_reshape(g, oh, shape2(k * n, e));
    int pos = ir_sum(g, ir_binary(g, IR_MUL, ir_cumsum(g, flat, 0), flat), -1, false);  /* [k n] */
    int keep = ir_compare(g, IR_CMP_LE, pos, ir_scalar(g, (double)cap));
    return ir_permute(g, ir_reshape(g, keep, shape2(k, n)), tr);           /* [n,k] */
}

/* CV^2 = Var/Mean^2 of v [E] -> [], population variance (divide by E), no
 * epsilon: importance and load are sums of positive probabilities. */
static int cv_squared(ir_graph *g, int v)
{
    int mu = ir_mean(g, v, 0, false);
    int dev = ir_binary(g, IR_SUB, v, mu);
    int var = ir_mean(g, ir_binary(g, IR_MUL, dev, dev), 0, false);
    return ir_binary(g, IR_DIV, var, ir_binary(g, IR_MUL, mu, mu));
}

/* The router statistics (doc/model-semantics.md#router-statistics) from
 * probabilities p [n,E] (or -1), raw logits z [n,E] and assignment counts
 * mask [n,E] of `assigns` assignments. */
static void router_stats(ir_graph *g, int p, int z, int mask, double assigns, int64_t e, ir_routing *out)
{
    out->frac = ir_mul_scalar(g, ir_sum(g, mask, 0, false), 1.0 / assigns);   /* [E] */
    out->has_probs = p >= 0;
    out->probs = p;
    out->lb = out->z = out->importance = -1;
    if (p < 0) return;
    int pm = ir_mean(g, p, 0, false);                                          /* P_e [E] */
    out->lb = ir_mul_scalar(g, ir_sum(g, ir_binary(g, IR_MUL, out->frac, pm), 0, false), (double)e);
    int lse = ir_logsumexp(g, z, false);                                       /* [n] */
    out->z = ir_mean_all(g, ir_binary(g, IR_MUL, lse, lse));
    out->importance = cv_squared(g, ir_sum(g, p, 0, false));                  /* sum_rows p [E] */
}

int ir_smooth_load(ir_graph *g, int clean, int scale, int thr)
{
    static const double sqrt2 = 1.4142135623730951;
    int margin = ir_binary(g, IR_SUB, clean, thr);
    int zs = ir_binary(g, IR_DIV, margin, ir_mul_scalar(g, scale, sqrt2));
    int p = ir_mul_scalar(g, ir_add_scalar(g, ir_unary(g, IR_ERF, zs), 1.0), 0.5);   /* Phi [n,E] */
    return cv_squared(g, ir_sum(g, p, 0, false));                                     /* load [E] */
}

/* The k-th largest of h [n,E] excluding column e, for every e (k < E): the
 * (k+1)-th largest of the row where e is among the row's top k, else the
 * k-th. Under STOP_GRAD: P(e selected) is over e's own noise with the other
 * experts' values held where they were drawn, so only c_e and s_e carry
 * the gradient. -> [n,E] */
static int kth_excluding(ir_graph *g, int h, int64_t k, int64_t e)
{
    int top = ir_topk(g, h, k + 1);                                              /* i32 [n,k+1] */
    int vals = ir_unary(g, IR_STOP_GRAD, ir_take(g, h, top));                    /* [n,k+1] descending */
    int kth = ir_slice(g, vals, 1, k - 1, 1), next = ir_slice(g, vals, 1, k, 1); /* [n,1] each */
    int in_top = ir_sum(g, ir_one_hot(g, ir_slice(g, top, 1, 0, k), e), 1, false);   /* [n,E] 1 or 0 */
    return ir_where(g, in_top, next, kth);
}

/* noisy_topk's load loss (Shazeer 2017, eq. 8-10) from clean logits z, the
 * ranked logits h (z + noise in training, z in evaluation) and the noise
 * scale s, all [n,E]. With k = E every expert is always selected: P = 1,
 * load_e = n and CV^2 = 0, a constant. */
static void smooth_load_of(ir_graph *g, int z, int h, int scale, int64_t k, int64_t e, ir_routing *out)
{
    out->noise_scale = scale;
    if (k >= e) {
        out->load = ir_scalar(g, 0.0);
        return;
    }
    out->load_threshold = kth_excluding(g, h, k, e);
    out->load = ir_smooth_load(g, z, scale, out->load_threshold);
}

/* Slot routers end here: idx [n,k] i32 experts, wsel [n,k] their weights,
 * p and z for the statistics (or -1). Applies the capacity, scatters the
 * weights into [n,E] and expands sequence decisions to tokens. */
static int finish_slots(ir_graph *g, const fe_router *r, int idx, int wsel, int p, int z,
                        int64_t n, int64_t e, ir_shape xs, ir_routing *out)
{
    int64_t k = r->k;
    int mask = ir_sum(g, ir_one_hot(g, idx, e), 1, false);                      /* [n,E] */
    out->dropped = ir_scalar(g, 0.0);
    out->assigns = n * k;
    out->capped = r->capacity_factor > 0.0;
    if (out->capped) {
        out->capacity = (int64_t)ceil(r->capacity_factor * (double)n * (double)k / (double)e);
        out->slot_keep = capacity_keep(g, idx, n, k, e, out->capacity);
        wsel = ir_binary(g, IR_MUL, wsel, out->slot_keep);
        out->dropped = ir_add_scalar(g, ir_unary(g, IR_NEG, ir_sum_all(g, out->slot_keep)), (double)(n * k));
    }
    out->rows = n;
    out->slot_expert = idx;
    out->slot_weight = wsel;
    int w = ir_put(g, wsel, idx, e);                                            /* [n,E] */
    router_stats(g, p, z, mask, (double)(n * k), e, out);
    out->weights = n == xs.dim[0] * xs.dim[1] ? w : expand_to_tokens(g, w, xs.dim[0], xs.dim[1], e);
    return out->weights < 0 ? -1 : 0;
}

/* The k slot weights of topk and random routers from the selected
 * probabilities psel [n,k]. Straight-through top-1: psel - stop_grad(psel) + 1
 * is exactly 1 forward (x - x = 0 and 0 + 1 = 1 in IEEE) with psel's gradient. */
static int slot_weights(ir_graph *g, const fe_router *r, int psel)
{
    bool renorm = r->kind == FE_ROUTER_RANDOM || (r->k >= 2 && r->renormalize);
    if (r->k == 1 && r->straight_through)
        return ir_add_scalar(g, ir_binary(g, IR_SUB, psel, ir_unary(g, IR_STOP_GRAD, psel)), 1.0);
    if (renorm) return ir_binary(g, IR_DIV, psel, ir_sum(g, psel, -1, true));
    return psel;
}

/* What a slot router selected: probabilities p [n,E] and experts idx i32
 * [n,k]; the pick_* functions return the slot weights [n,k]. */
typedef struct slot_pick {
    int p, idx;
} slot_pick;

/* noisy_topk: h = z + N(0,1) softplus(rows W_noise^T) in training, h = z in
 * evaluation; top k of h, softmax over the kept. The noise scale is built in
 * both: the load loss divides by it. */
static int pick_noisy(ir_graph *g, const fe_router *r, int rows, int z, int noise_w, ir_shape zs,
                      const ir_moe_ctx *ctx, slot_pick *pk, ir_routing *out)
{
    if (noise_w < 0) return fail(g, "moe: noisy_topk needs its noise weight");
    if (r->frozen) noise_w = ir_unary(g, IR_STOP_GRAD, noise_w);
    int scale = ir_softplus(g, router_logits(g, rows, noise_w));                    /* s [n,E] */
    int h = z;
    if (ctx->training)
        h = ir_binary(g, IR_ADD, z, ir_binary(g, IR_MUL, normal_draws(g, ctx, ctx->stream, zs), scale));
    pk->p = ir_softmax(g, h);
    pk->idx = ir_topk(g, h, r->k);
    out->ranked = h;
    smooth_load_of(g, z, h, scale, r->k, zs.dim[1], out);
    return ir_softmax(g, ir_take(g, h, pk->idx));
}

/* topk and random: p = softmax(z + sigma_t N(0,1)) (noise: topk in training), top k of p. */
static int pick_topk(ir_graph *g, const fe_router *r, int z, ir_shape zs, const ir_moe_ctx *ctx, slot_pick *pk,
                     ir_routing *out)
{
    int s = z;
    if (ctx->training && r->noise_std > 0.0 && r->kind == FE_ROUTER_TOPK) {
        int draws = normal_draws(g, ctx, ctx->stream, zs);
        s = ir_binary(g, IR_ADD, z, ir_binary(g, IR_MUL, draws, noise_scale(g, r, ctx)));
    }
    pk->p = ir_softmax(g, s);
    pk->idx = ir_topk(g, pk->p, r->k);
    out->ranked = pk->p;
    return slot_weights(g, r, ir_take(g, pk->p, pk->idx));
}

/* topk, random and noisy_topk. */
static int route_topk(ir_graph *g, const fe_router *r, int x, int gate, int noise_w, int64_t e,
                      const ir_moe_ctx *ctx, ir_routing *out)
{
    int64_t n;
    int rows = router_rows(g, r, x, &n);
    if (r->kind == FE_ROUTER_RANDOM) {      /* a fresh N(0, init_std^2) gate every step */
        double std = r->init_std > 0 ? r->init_std : 0.02;
        int64_t d = ir_node_at(g, x)->shape.dim[2];
        gate = ir_mul_scalar(g, normal_draws(g, ctx, ctx->stream + 1, shape2(e, d)), std);
    }
    if (gate < 0) return fail(g, "moe: the router has no gate weight");
    if (r->frozen) gate = ir_unary(g, IR_STOP_GRAD, gate);
    int z = router_logits(g, rows, gate);                                       /* [n,E] */
    out->logits = z;
    slot_pick pk = {-1, -1};
    int wsel = r->kind == FE_ROUTER_NOISY_TOPK ? pick_noisy(g, r, rows, z, noise_w, shape2(n, e), ctx, &pk, out)
                                               : pick_topk(g, r, z, shape2(n, e), ctx, &pk, out);
    if (wsel < 0) return -1;
    return finish_slots(g, r, pk.idx, wsel, pk.p, z, n, e, ir_node_at(g, x)->shape, out);
}

/* Zhou et al. 2022: each expert takes its top-C rows by s[:,e]. */
static int route_expert_choice(ir_graph *g, const fe_router *r, int x, int gate, int64_t e, ir_routing *out)
{
    static const int tr[2] = {1, 0};
    int64_t n;
    int rows = router_rows(g, r, x, &n);
    if (gate < 0) return fail(g, "moe: the router has no gate weight");
    if (r->frozen) gate = ir_unary(g, IR_STOP_GRAD, gate);
    int z = router_logits(g, rows, gate);
    out->logits = z;
    int p = ir_softmax(g, z);                                                   /* [n,E] */
    int64_t c = (int64_t)floor((double)n * r->capacity_factor / (double)e);
    c = c < 1 ? 1 : c > n ? n : c;
    int pt = ir_permute(g, p, tr);                                              /* [E,n] */
    int idx = ir_topk(g, pt, c);                                                /* [E,C] */
    out->ranked = p;
    out->rows = n;
    out->capacity = c;
    out->choice_row = idx;
    out->choice_weight = ir_take(g, pt, idx);                                   /* [E,C] */
    int w = ir_permute(g, ir_put(g, out->choice_weight, idx, n), tr);          /* [n,E] */
    int mask = ir_permute(g, ir_put(g, ir_const(g, 1.0, shape2(e, c)), idx, n), tr);
    router_stats(g, p, z, mask, (double)(e * c), e, out);
    out->dropped = ir_scalar(g, 0.0);
    ir_shape xs = ir_node_at(g, x)->shape;
    out->weights = n == xs.dim[0] * xs.dim[1] ? w : expand_to_tokens(g, w, xs.dim[0], xs.dim[1], e);
    return out->weights < 0 ? -1 : 0;
}

/* x mod e for non-negative integer-valued f32 x (exact below 2^24). */
static int mod_int(ir_graph *g, int x, int64_t e)
{
    int q = ir_floor(g, ir_mul_scalar(g, x, 1.0 / (double)e));
    int r = ir_binary(g, IR_SUB, x, ir_mul_scalar(g, q, (double)e));
    /* 1/e is rounded: correct a remainder that landed one period off. */
    int below = ir_compare(g, IR_CMP_LT, r, ir_scalar(g, 0.0));
    r = ir_where(g, below, ir_add_scalar(g, r, (double)e), r);
    int above = ir_compare(g, IR_CMP_GE, r, ir_scalar(g, (double)e));
    return ir_where(g, above, ir_add_scalar(g, r, -(double)e), r);
}

/* hash: expert(t) = min(floor(E u_t), E-1), u_t = Philox uniform (IR_HASH_SEED,
 * step 0, IR_HASH_STREAM, element t): a fixed random table over the vocabulary. */
static int route_hash(ir_graph *g, const fe_router *r, int x, int64_t e, const ir_moe_ctx *ctx, ir_routing *out)
{
    int64_t v = ctx->vocab;
    ir_shape xs = ir_node_at(g, x)->shape;
    int64_t n = xs.dim[0] * xs.dim[1];
    int u = ir_random(g, ir_scalar(g, 0.0), IR_RANDOM_UNIFORM, IR_HASH_STREAM, IR_HASH_SEED, ir_shape_of(1, &v));
    int bucket = ir_floor(g, ir_mul_scalar(g, u, (double)e));
    int table = ir_min(g, bucket, ir_scalar(g, (double)(e - 1)));
    int ex = ir_gather(g, ir_reshape(g, table, shape2(v, 1)), ctx->tokens);     /* [B,T,1] */
    int idx = ir_cast(g, ir_reshape(g, ex, shape2(n, 1)), IR_I32);
    return finish_slots(g, r, idx, ir_const(g, 1.0, shape2(n, 1)), -1, -1, n, e, xs, out);
}

/* label: expert = domain id of the sequence mod E, weight 1, for all its tokens. */
static int route_label(ir_graph *g, const fe_router *r, int x, int64_t e, const ir_moe_ctx *ctx, ir_routing *out)
{
    ir_shape xs = ir_node_at(g, x)->shape;
    int64_t b = xs.dim[0];
    int ex = mod_int(g, ir_cast(g, ctx->domain, IR_F32), e);                    /* [B] */
    int idx = ir_cast(g, ir_reshape(g, ex, shape2(b, 1)), IR_I32);
    return finish_slots(g, r, idx, ir_const(g, 1.0, shape2(b, 1)), -1, -1, b, e, xs, out);
}

int ir_route(ir_graph *g, const fe_router *r, int x, int gate, int noise_w, int64_t e,
             const ir_moe_ctx *ctx, ir_routing *out)
{
    memset(out, 0, sizeof *out);
    out->weights = out->frac = out->lb = out->z = out->importance = out->dropped = -1;
    out->probs = out->ranked = out->logits = out->noise_scale = out->load_threshold = out->load = -1;
    out->slot_expert = out->slot_weight = out->slot_keep = out->choice_row = out->choice_weight = -1;
    if (x < 0) return -1;
    ir_shape xs = ir_node_at(g, x)->shape;
    if (xs.rank != 3) return fail(g, "moe: the input must be [B,T,d]");
    bool slots = r->kind != FE_ROUTER_EXPERT_CHOICE;
    if (slots && (r->k < 1 || r->k > e)) return fail(g, "moe: the router's k must be between 1 and the number of experts");
    if ((r->kind == FE_ROUTER_HASH || r->kind == FE_ROUTER_LABEL) && r->k != 1)
        return fail(g, "moe: hash and label routers choose one expert (k = 1)");
    _Static_assert(FE_ROUTER_KIND_COUNT == 6, "ir_route routes 6 router kinds");
    switch (r->kind) {
    case FE_ROUTER_TOPK:
    case FE_ROUTER_NOISY_TOPK:
    case FE_ROUTER_RANDOM: return route_topk(g, r, x, gate, noise_w, e, ctx, out);
    case FE_ROUTER_EXPERT_CHOICE: return route_expert_choice(g, r, x, gate, e, out);
    case FE_ROUTER_HASH: return route_hash(g, r, x, e, ctx, out);
    case FE_ROUTER_LABEL: return route_label(g, r, x, e, ctx, out);
    default: MOEC_UNREACHABLE();
    }
}

int ir_moe_combine(ir_graph *g, int weights, const int *y, int64_t e)
{
    if (weights < 0 || e < 1 || y[0] < 0) return -1;
    ir_shape ys = ir_node_at(g, y[0])->shape;
    int64_t d = ys.dim[ys.rank - 1], n = ir_shape_numel(&ys) / d;
    int acc = -1;
    for (int64_t i = 0; i < e; i++) {
        int we = ir_slice(g, weights, 1, i, 1);                                 /* [N,1] */
        int term = ir_binary(g, IR_MUL, we, ir_reshape(g, y[i], shape2(n, d)));
        acc = acc < 0 ? term : ir_binary(g, IR_ADD, acc, term);
    }
    return ir_reshape(g, acc, ys);
}
