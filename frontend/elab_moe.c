/* frontend/elab_moe.c -- the moe builtin: router weights and expert subgraphs.
 * moe(x [B,T,d], experts = E, expert = BLOCK, router = R, upcycle) creates
 * router.gate.weight [E,d] (+ router.noise.weight [E,d] for noisy top-k) and
 * calls BLOCK once per expert in scope experts.{e} (without the block's own
 * name), each on an EXPERT_INPUT node; then appends the MOE node after them. */
#include <string.h>

#include "frontend/elab_internal.h"

/* The expression a block returns (its body ends in `return`), for error places. */
static moec_loc return_loc(const fe_item *blk, moec_loc fallback)
{
    const fe_stmt *s = blk->body;
    while (s && s->next) s = s->next;
    return s && s->kind == FE_STMT_RETURN && s->value ? s->value->loc : fallback;
}

/* True for router kinds with a gate weight [E, d] in each layer. */
static bool has_gate(fe_router_kind kind)
{
    _Static_assert(FE_ROUTER_KIND_COUNT == 6, "has_gate knows 6 router kinds");
    switch (kind) {
    case FE_ROUTER_TOPK:
    case FE_ROUTER_NOISY_TOPK:
    case FE_ROUTER_EXPERT_CHOICE: return true;
    case FE_ROUTER_RANDOM:
    case FE_ROUTER_HASH:
    case FE_ROUTER_LABEL: return false;
    default: MOEC_UNREACHABLE();
    }
}

/* Router weights of this layer in `scope`; false after an error. */
static bool router_params(el_ctx *c, const el_call *k, int r, int64_t E, int64_t d, int *gate, int *noise)
{
    const fe_router *ro = &c->routers[r];
    *gate = *noise = -1;
    if (!has_gate(ro->kind)) return true;
    moec_loc at = k->expr->loc;
    *gate = fe_el_param(c, k->scope, "router.gate.weight", fe_el_shape(2, E, d, 0), FE_INIT_NORMAL,
                        ro->init_std, at);
    if (*gate < 0) return false;
    c->params[*gate].trainable = !ro->frozen;
    c->params[*gate].router = r;
    if (ro->kind != FE_ROUTER_NOISY_TOPK) return true;
    *noise = fe_el_param(c, k->scope, "router.noise.weight", fe_el_shape(2, E, d, 0), FE_INIT_ZEROS, 0.0, at);
    if (*noise < 0) return false;
    c->params[*noise].trainable = !ro->frozen;
    c->params[*noise].router = r;
    return true;
}

/* Builds expert e: EXPERT_INPUT -> block -> output; false after an error. */
static bool build_expert(el_ctx *c, const el_call *k, int64_t e, fe_expert *out)
{
    const fe_item *blk = k->v[2].block;
    const fe_shape *xs = fe_el_shape_of(c, k->v[0]);
    fe_shape want = *xs;
    if (!fe_el_step(c, k->expr->loc)) return false;
    const char *rel = fe_el_printf(c, "experts.%lld", (long long)e);
    const char *scope = rel ? fe_el_scope_open_raw(c, rel) : NULL;
    if (!scope) return false;
    el_expert x = { k->scope, scope, k->v[4].b }, *saved = c->expert;
    c->expert = &x;
    out->input = fe_el_node(c, FE_NODE_EXPERT_INPUT, want, NULL, 0, k->expr->loc, scope);
    el_value r = fe_el_poison();
    if (out->input >= 0) {
        el_arg a = { NULL, fe_el_tensor(out->input), k->loc[0] };
        r = fe_el_call_block(c, blk, k->expr, &a, 1, false);
    }
    c->expert = saved;
    fe_el_scope_close(c);
    if (r.kind == EL_POISON) return false;
    moec_loc at = return_loc(blk, k->expr->loc);
    if (r.kind != EL_TENSOR || !fe_el_shape_eq(fe_el_shape_of(c, r), &want)) {
        if (r.kind == EL_TENSOR)
            fe_el_error(c, at, "expected a tensor of shape %s here, got %s",
                        fe_el_shape_str(&want).s, fe_el_shape_str(fe_el_shape_of(c, r)).s);
        else
            fe_el_error(c, at, "expected a tensor of shape %s here, got %s",
                        fe_el_shape_str(&want).s, fe_el_kind_name(r.kind));
        fe_el_note(c, k->loc[2], "expert block '%s' must map its input [..., d] to the same shape",
                   blk->name);
        return false;
    }
    out->output = r.node;
    return true;
}

/* Checks what moe's arguments can be checked before building anything. */
static bool moe_args_ok(el_ctx *c, const el_call *k, int64_t *d)
{
    const fe_shape *s = fe_el_shape_of(c, k->v[0]);
    if (!(s->rank == 3 && s->dim[0] == FE_DIM_B && s->dim[1] == FE_DIM_T && s->dim[2] > 0)) {
        fe_el_error(c, k->loc[0], "'moe' expects a tensor of shape [B, T, d], got %s", fe_el_shape_str(s).s);
        return false;
    }
    *d = s->dim[2];
    int64_t E = k->v[1].i;
    if (E < 1 || E > FE_MAX_EXPERTS) {
        fe_el_error(c, k->loc[1], "'experts' must be between 1 and %d (FE_MAX_EXPERTS), got %lld",
                    FE_MAX_EXPERTS, (long long)E);
        return false;
    }
    const fe_item *blk = k->v[2].block;
    int nf = 0;
    for (const fe_formal *f = blk->formals; f; f = f->next) nf++;
    if (nf != 1) {
        fe_el_error(c, k->loc[2], "expert block '%s' must take one argument (the rows it is given), "
                    "it takes %d", blk->name, nf);
        return false;
    }
    const fe_router *r = &c->routers[k->v[3].router];
    if (r->kind != FE_ROUTER_EXPERT_CHOICE && r->k > E) {
        fe_el_error(c, k->loc[3], "router '%s' picks k = %d experts per token, but this moe has "
                    "only %lld expert%s", r->name, r->k, (long long)E, E == 1 ? "" : "s");
        return false;
    }
    return true;
}

el_value fe_el_moe(el_ctx *c, const el_call *k)
{
    int64_t d, E = k->v[1].i;
    if (!moe_args_ok(c, k, &d)) return fe_el_poison();
    int r = k->v[3].router, gate, noise;
    if (!router_params(c, k, r, E, d, &gate, &noise)) return fe_el_poison();
    fe_expert *experts = moec_arena_alloc(c->arena, (size_t)E * sizeof *experts);
    if (!experts) { fe_el_oom(c); return fe_el_poison(); }
    int first = c->n_nodes;
    for (int64_t e = 0; e < E; e++)
        if (!build_expert(c, k, e, &experts[e])) return fe_el_poison();
    int in[1] = { k->v[0].node };
    int id = fe_el_node(c, FE_NODE_MOE, *fe_el_shape_of(c, k->v[0]), in, 1, k->expr->loc, k->scope);
    if (id < 0) return fe_el_poison();
    fe_node *n = &c->nodes[id];
    n->attr_i[0] = r;
    n->attr_i[1] = E;
    n->param[0] = gate;
    n->param[1] = noise;
    n->n_param = 2;
    n->experts = experts;
    for (int i = first; i < id; i++) c->nodes[i].expert_of = id;
    c->routers[r].n_layers++;
    return fe_el_tensor(id);
}
