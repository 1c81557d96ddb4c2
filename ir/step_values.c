/* ir/step_values.c -- the fuse request of a step graph (ir/step_values.h). */
#include "ir/step_values.h"

#include <string.h>

typedef struct values {
    ir_fuse_value *v;
    int n, cap;
    moec_arena *arena;
    bool oom;
} values;

static void want(values *vs, int node, ir_buf_role role, const char *name, int into)
{
    if (node < 0) return;
    if (!name) vs->oom = true;
    MOEC_ASSERT(vs->n < vs->cap);
    vs->v[vs->n++] = (ir_fuse_value){ .node = node, .role = role, .name = name ? name : "", .into = into };
}

static void want_losses(values *vs, const ir_lowered *l)
{
    want(vs, l->loss, IR_BUF_OUTPUT, "loss", -1);
    want(vs, l->lm_loss, IR_BUF_OUTPUT, "lm_loss", -1);
    want(vs, l->lb_loss, IR_BUF_OUTPUT, "lb_loss", -1);
    want(vs, l->z_loss, IR_BUF_OUTPUT, "z_loss", -1);
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        want(vs, ml->routing.frac, IR_BUF_OUTPUT, moec_arena_printf(vs->arena, "%s.frac", ml->scope), -1);
        want(vs, ml->routing.dropped, IR_BUF_OUTPUT, moec_arena_printf(vs->arena, "%s.dropped", ml->scope), -1);
    }
}

/* A router's per-row assignment: the expert of each (row, slot), or for
 * expert choice the row each expert took. */
static int routing_assign(const ir_routing *r)
{
    return r->slot_expert >= 0 ? r->slot_expert : r->choice_row;
}

/* The values of ir_step_keep, when the step has them. */
static void want_kept(values *vs, const ir_lowered *l, const ir_step_keep *keep)
{
    if (keep->logits) want(vs, l->logits, IR_BUF_OUTPUT, "logits", -1);
    if (!keep->stats) return;
    want(vs, l->token_loss, IR_BUF_OUTPUT, "token_loss", -1);
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        const ir_routing *r = &ml->routing;
        want(vs, ml->clean_probs, IR_BUF_OUTPUT, moec_arena_printf(vs->arena, "%s.probs", ml->scope), -1);
        want(vs, routing_assign(r), IR_BUF_OUTPUT, moec_arena_printf(vs->arena, "%s.assign", ml->scope), -1);
        want(vs, r->slot_keep, IR_BUF_OUTPUT, moec_arena_printf(vs->arena, "%s.keep", ml->scope), -1);
    }
}

/* Leaves are declared with their own labels; updates go into them. */
static void want_param(values *vs, const ir_graph *g, const fe_model *m, const ir_step_graph *s, int i)
{
    want(vs, s->fwd.params[i], IR_BUF_PARAM, g->nodes[s->fwd.params[i]].label, -1);
    if (!s->grad) return;                          /* a forward-only (evaluation) step */
    want(vs, s->grad[i], IR_BUF_GRAD, moec_arena_printf(vs->arena, "grad.%s", m->params[i].name), -1);
    if (!s->optimizer) return;
    if (s->m_in[i] >= 0) {
        want(vs, s->m_in[i], IR_BUF_OPT_STATE, g->nodes[s->m_in[i]].label, -1);
        want(vs, s->v_in[i], IR_BUF_OPT_STATE, g->nodes[s->v_in[i]].label, -1);
        want(vs, s->new_m[i], IR_BUF_OPT_STATE, g->nodes[s->m_in[i]].label, s->m_in[i]);
        want(vs, s->new_v[i], IR_BUF_OPT_STATE, g->nodes[s->v_in[i]].label, s->v_in[i]);
    }
    want(vs, s->new_param[i], IR_BUF_PARAM, g->nodes[s->fwd.params[i]].label, s->fwd.params[i]);
}

int ir_step_values(const ir_graph *g, const fe_model *m, const ir_step_graph *s, const ir_step_keep *keep,
                   moec_arena *arena, ir_fuse_value **out, int *n_out)
{
    int cap = 10 + 5 * s->fwd.n_moe + 7 * m->n_params;   /* want_param: at most 7 each */
    values vs = { .v = moec_arena_alloc(arena, sizeof(ir_fuse_value) * (size_t)cap), .cap = cap, .arena = arena };
    if (!vs.v) return -1;
    want_losses(&vs, &s->fwd);
    if (keep) want_kept(&vs, &s->fwd, keep);
    if (s->optimizer) {
        want(&vs, s->grad_norm, IR_BUF_OUTPUT, "grad_norm", -1);
        want(&vs, s->lr, IR_BUF_OUTPUT, "lr", -1);
    }
    for (int i = 0; i < m->n_params; i++) want_param(&vs, g, m, s, i);
    *out = vs.v;
    *n_out = vs.n;
    return vs.oom ? -1 : 0;
}

int ir_step_value_node(const ir_lowered *l, const char *name)
{
    const struct { const char *name; int node; } whole[] = {
        { "loss", l->loss }, { "lm_loss", l->lm_loss }, { "lb_loss", l->lb_loss }, { "z_loss", l->z_loss },
        { "token_loss", l->token_loss }, { "logits", l->logits },
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        if (!strcmp(name, whole[i].name)) return whole[i].node;
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        size_t n = strlen(ml->scope);
        if (strncmp(name, ml->scope, n) != 0 || name[n] != '.') continue;
        const char *what = name + n + 1;
        if (!strcmp(what, "frac")) return ml->routing.frac;
        if (!strcmp(what, "dropped")) return ml->routing.dropped;
        if (!strcmp(what, "probs")) return ml->clean_probs;
        if (!strcmp(what, "assign")) return routing_assign(&ml->routing);
        if (!strcmp(what, "keep")) return ml->routing.slot_keep;
    }
    return -1;
}

/* ---- the named nodes of a step, for passes that rebuild the graph ---- */

/* Calls fn on every node id field of s (scalars and arrays; -1 ids included). */
static void each_id(ir_step_graph *s, void (*fn)(int *id, void *ctx), void *ctx)
{
    ir_lowered *l = &s->fwd;
    int *scalars[] = { &l->tokens, &l->targets, &l->domain, &l->step, &l->logits, &l->lm_loss, &l->token_loss,
                       &l->lb_loss, &l->z_loss, &l->loss, &s->grad_norm, &s->clip_scale, &s->lr };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) fn(scalars[i], ctx);
    for (int i = 0; i < l->n_moe; i++) {
        fn(&l->moe[i].clean_probs, ctx);
        ir_routing *r = &l->moe[i].routing;
        int *f[] = { &r->weights, &r->frac, &r->probs, &r->ranked, &r->lb, &r->z, &r->importance, &r->logits,
                     &r->noise_scale, &r->load_threshold, &r->load, &r->dropped, &r->slot_expert,
                     &r->slot_weight, &r->slot_keep, &r->choice_row, &r->choice_weight };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) fn(f[k], ctx);
    }
    int *arrays[] = { l->params, s->grad, s->m_in, s->v_in, s->new_param, s->new_m, s->new_v };
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++)
        for (int i = 0; arrays[a] && i < l->n_params; i++) fn(&arrays[a][i], ctx);
}

typedef struct roots_acc { int *ids; int n; } roots_acc;

static void count_id(int *id, void *ctx) { (void)id; ((roots_acc *)ctx)->n++; }
static void take_id(int *id, void *ctx)
{
    roots_acc *acc = ctx;
    acc->ids[acc->n++] = *id;
}

int ir_step_roots(const ir_step_graph *s, moec_arena *arena, int **roots)
{
    roots_acc acc = {0};
    each_id((ir_step_graph *)s, count_id, &acc);   /* each_id writes only through fn */
    acc.ids = moec_arena_alloc(arena, sizeof(int) * (size_t)(acc.n + 1));
    if (!acc.ids) return -1;
    acc.n = 0;
    each_id((ir_step_graph *)s, take_id, &acc);
    *roots = acc.ids;
    return acc.n;
}

static void remap_id(int *id, void *ctx)
{
    if (*id >= 0) *id = ((const int *)ctx)[*id];
}

void ir_step_remap(ir_step_graph *s, const int *map)
{
    each_id(s, remap_id, (void *)map);
}
