/* frontend/elab.c -- fe_elaborate: runs a model file at compile time.
 * The driver: collects the file's items, evaluates params (with --set),
 * routers, forward, the loss and the train settings in that order, checks
 * what spans them (seq <= ctx, the residual init scale), warns about unused
 * declarations and copies the result into the arena as an fe_model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/elab_internal.h"

static void train_defaults(fe_train *t)
{
    *t = (fe_train){ .steps = 1000, .batch = 8, .seq = 256, .lr = 3e-4, .min_lr = 0.0, .warmup = 0,
                     .schedule = FE_SCHEDULE_COSINE, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                     .weight_decay = 0.01, .clip = 1.0, .eval_every = 200, .eval_steps = 20,
                     .seed = 1337, .precision = FE_PRECISION_FP32, .accum = 1, .checkpoint_every = 0,
                     .keep_checkpoints = 2, .collapse_patience = 3, .collapse_threshold = 0.6,
                     .collapse_stop = false };
}

/* A second `model`, `forward`, `loss` or `train`: an error with the first place. */
static void single(el_ctx *c, const fe_item **slot, const fe_item *it, const char *what)
{
    if (!*slot) { *slot = it; return; }
    fe_el_error(c, it->loc, "a second '%s'; a model file has one", what);
    fe_el_note(c, (*slot)->loc, "the first is here");
}

static bool ends_in_return(const fe_stmt *s)
{
    while (s && s->next) s = s->next;
    return s && s->kind == FE_STMT_RETURN;
}

static void check_block(el_ctx *c, const fe_item *it)
{
    if (fe_el_builtin(it->name) || fe_el_is_router_kind(it->name) || fe_el_is_loss_term(it->name))
        fe_el_error(c, it->name_loc, "block '%s' has the name of a builtin; choose another name", it->name);
    for (const fe_formal *f = it->formals; f; f = f->next)
        for (const fe_formal *g = it->formals; g != f; g = g->next)
            if (!strcmp(f->name, g->name))
                fe_el_error(c, f->loc, "block '%s' has two arguments named '%s'", it->name, f->name);
    if (!ends_in_return(it->body))
        fe_el_error(c, it->name_loc, "block '%s' must end with 'return'", it->name);
}

static void declare(el_ctx *c, const fe_item *it, el_global_kind kind)
{
    el_global *old = fe_el_global(c, it->name);
    if (old) {
        fe_el_error(c, it->name_loc, "'%s' is declared twice", it->name);
        fe_el_note(c, old->item->name_loc, "first declared here");
        return;
    }
    if (kind == EG_BLOCK) check_block(c, it);
    if (!fe_el_grow(c, (void **)&c->globals, &c->cap_globals, c->n_globals + 1, sizeof *c->globals))
        return;
    c->globals[c->n_globals++] = (el_global){ .kind = kind, .name = it->name, .item = it };
}

static void collect(el_ctx *c, const fe_ast *ast)
{
    for (const fe_item *it = ast->items; it; it = it->next) {
        switch (it->kind) {
        case FE_ITEM_MODEL: single(c, &c->model_item, it, "model"); break;
        case FE_ITEM_PARAM: declare(c, it, EG_PARAM); break;
        case FE_ITEM_ROUTER: declare(c, it, EG_ROUTER); break;
        case FE_ITEM_BLOCK: declare(c, it, EG_BLOCK); break;
        case FE_ITEM_FORWARD: single(c, &c->forward_item, it, "forward"); break;
        case FE_ITEM_LOSS: single(c, &c->loss_item, it, "loss"); break;
        case FE_ITEM_TRAIN: single(c, &c->train_item, it, "train"); break;
        }
    }
    moec_loc top = ast->items->loc;
    if (!c->model_item)     /* moec_error_at: the three share a place and must all show */
        moec_error_at(c->d, top, "missing 'model NAME': a model file names its model first");
    if (!c->forward_item)
        moec_error_at(c->d, top, "missing 'forward(tokens) { ... }': the file has no forward computation");
    if (!c->loss_item)
        moec_error_at(c->d, top, "missing 'loss = ...': the file has no loss");
}

/* The last --set of `name`, or NULL. */
static const fe_override *find_set(el_ctx *c, const char *name)
{
    const fe_override *o = NULL;
    for (int i = 0; i < c->n_sets; i++)
        if (!strcmp(c->sets[i].name, name)) o = &c->sets[i];
    return o;
}

static el_value override_param(el_ctx *c, const char *name, el_value v, const fe_override *o)
{
    el_value nv;
    if (fe_el_parse_text(c, o->value, v.kind, &nv)) return nv;
    static const char *const want[] = { [EL_INT] = "an integer", [EL_FLOAT] = "a number",
                                        [EL_BOOL] = "true or false", [EL_STRING] = "a string" };
    if (!c->oom) moec_error(c->d, "param '%s' expects %s, got \"%s\"", name, want[v.kind], o->value);
    return fe_el_poison();
}

static void eval_param(el_ctx *c, el_global *g)
{
    c->mode = EM_PARAM;
    c->frame_base = c->n_locals = 0;
    el_value v = fe_el_eval(c, g->item->value);
    if (v.kind != EL_POISON && v.kind != EL_INT && v.kind != EL_FLOAT && v.kind != EL_BOOL &&
        v.kind != EL_STRING) {
        fe_el_error(c, g->item->value->loc, "param '%s' must be an integer, a float, a bool or "
                    "a string, got %s", g->name, fe_el_kind_name(v.kind));
        v = fe_el_poison();
    }
    const fe_override *o = find_set(c, g->name);
    if (o && v.kind != EL_POISON) v = override_param(c, g->name, v, o);
    g->v = v;
    g->ready = true;
    if (v.kind == EL_POISON ||
        !fe_el_grow(c, (void **)&c->values, &c->cap_values, c->n_values + 1, sizeof *c->values))
        return;
    fe_value_param *p = &c->values[c->n_values++];
    *p = (fe_value_param){ .name = g->name };
    p->type = v.kind == EL_INT ? FE_PARAM_INT : v.kind == EL_FLOAT ? FE_PARAM_FLOAT
            : v.kind == EL_BOOL ? FE_PARAM_BOOL : FE_PARAM_STRING;
    if (v.kind == EL_INT) p->i = v.i;
    else if (v.kind == EL_FLOAT) p->f = v.f;
    else if (v.kind == EL_BOOL) p->b = v.b;
    else p->s = v.s;
}

/* --set names that are neither params nor train settings. */
static void check_set_names(el_ctx *c)
{
    for (int i = 0; i < c->n_sets; i++) {
        const char *name = c->sets[i].name;
        el_global *g = fe_el_global(c, name);
        if ((g && g->kind == EG_PARAM) || fe_el_is_train_key(name)) continue;
        const char *names[64];
        int n = fe_el_train_keys(names, 32);
        for (int j = 0; j < c->n_globals && n < 64; j++)
            if (c->globals[j].kind == EG_PARAM) names[n++] = c->globals[j].name;
        const char *near = fe_el_closest(name, names, n);
        if (near) moec_error(c->d, "unknown param '%s'; did you mean '%s'?", name, near);
        else moec_error(c->d, "unknown param '%s' (not a param of this file nor a train setting)", name);
    }
}

static void eval_router(el_ctx *c, el_global *g)
{
    c->mode = EM_ROUTER;
    c->router_name = g->name;
    c->frame_base = c->n_locals = 0;
    el_value v = fe_el_eval(c, g->item->value);
    if (v.kind != EL_ROUTER && v.kind != EL_POISON) {
        fe_el_error(c, g->item->value->loc, "router '%s' must be made by a router kind: %s; got %s", g->name,
                    fe_el_join(fe_router_kind_names, FE_ROUTER_KIND_COUNT, "", "(...)", " or ").s,
                    fe_el_kind_name(v.kind));
        v = fe_el_poison();
    }
    g->v = v;
    g->ready = true;
}

/* Checks forward's result: logits [B, T, V]. */
static el_value check_logits(el_ctx *c, const fe_item *fwd, el_value r)
{
    const fe_stmt *s = fwd->body;
    while (s && s->next) s = s->next;
    moec_loc at = s && s->value ? s->value->loc : fwd->loc;
    if (r.kind == EL_POISON) return r;
    const fe_shape *sh = r.kind == EL_TENSOR ? fe_el_shape_of(c, r) : NULL;
    if (!sh || sh->rank != 3 || sh->dim[0] != FE_DIM_B || sh->dim[1] != FE_DIM_T || sh->dim[2] < 1) {
        fe_el_error(c, at, "forward must return logits of shape [B, T, V], got %s",
                    sh ? fe_el_shape_str(sh).s : fe_el_kind_name(r.kind));
        return fe_el_poison();
    }
    if (c->embedding_param >= 0 && c->params[c->embedding_param].shape.dim[0] != sh->dim[2]) {
        fe_el_error(c, at, "forward must return logits of shape [B, T, %lld] (V = the embedding's "
                    "vocab), got %s", (long long)c->params[c->embedding_param].shape.dim[0],
                    fe_el_shape_str(sh).s);
        return fe_el_poison();
    }
    c->m->output = r.node;
    c->m->vocab = sh->dim[2];
    return r;
}

static el_value run_forward(el_ctx *c, const fe_item *fwd)
{
    c->mode = EM_FORWARD;
    c->frame_base = c->n_locals = 0;
    int nf = 0;
    for (const fe_formal *f = fwd->formals; f; f = f->next) nf++;
    if (nf != 1) {
        fe_el_error(c, fwd->loc, "forward takes one argument, the token ids [B, T]; it has %d", nf);
        return fe_el_poison();
    }
    if (!ends_in_return(fwd->body)) {
        fe_el_error(c, fwd->loc, "forward must end with 'return' of the logits");
        return fe_el_poison();
    }
    int tok = fe_el_node(c, FE_NODE_TOKENS, fe_el_shape(2, FE_DIM_B, FE_DIM_T, 0), NULL, 0,
                         fwd->formals->loc, "");
    if (tok < 0 || fe_el_set_local(c, fwd->formals->name, fe_el_tensor(tok)) < 0) return fe_el_poison();
    return check_logits(c, fwd, fe_el_run_body(c, fwd->body));
}

static void check_seq(el_ctx *c)
{
    const fe_train *t = &c->m->train;
    if (c->pos_node < 0 || t->seq <= c->m->ctx || c->limit_hit || c->oom) return;
    moec_loc pos = c->nodes[c->pos_node].loc;
    if (c->seq_set && c->train_seq_loc.line > 0)
        fe_el_error(c, c->train_seq_loc, "train setting seq = %lld is longer than the position "
                    "embedding's ctx = %lld", (long long)t->seq, (long long)c->m->ctx);
    else if (c->seq_set)
        moec_error(c->d, "train setting seq = %lld is longer than the position embedding's ctx = %lld",
                 (long long)t->seq, (long long)c->m->ctx);
    else
        fe_el_error(c, pos, "the default train seq = %lld is longer than this position embedding's "
                    "ctx = %lld; set seq in the train block", (long long)t->seq, (long long)c->m->ctx);
    if (c->seq_set) fe_el_note(c, pos, "ctx is set here");
}

/* GPT-2's residual scale: 0.02/sqrt(2 * layers); layers = the int param `layers`,
 * else the number of causal_self_attention calls (see doc/language.md, Decisions). */
static void residual_init(el_ctx *c)
{
    el_global *g = fe_el_global(c, "layers");
    int64_t layers = g && g->kind == EG_PARAM && g->v.kind == EL_INT && g->v.i > 0 ? g->v.i : c->n_attention;
    if (layers < 1) layers = 1;
    for (int i = 0; i < c->n_params; i++)
        if (c->params[i].residual) c->params[i].init_std = 0.02 / sqrt(2.0 * (double)layers);
}

/* Copies a malloc'd table into the arena; false when out of memory. */
static bool to_arena(el_ctx *c, void **dst, const void *src, int n, size_t elem)
{
    *dst = NULL;
    if (n == 0) return true;
    *dst = moec_arena_alloc(c->arena, (size_t)n * elem);
    if (!*dst) { fe_el_oom(c); return false; }
    memcpy(*dst, src, (size_t)n * elem);
    return true;
}

static void finish(el_ctx *c)
{
    fe_model *m = c->m;
    m->name = c->model_item ? c->model_item->name : NULL;
    m->n_params = c->n_params; m->n_nodes = c->n_nodes; m->n_routers = c->n_routers;
    m->n_loss = c->n_loss; m->n_values = c->n_values;
    if (!to_arena(c, (void **)&m->params, c->params, c->n_params, sizeof *c->params) ||
        !to_arena(c, (void **)&m->nodes, c->nodes, c->n_nodes, sizeof *c->nodes) ||
        !to_arena(c, (void **)&m->routers, c->routers, c->n_routers, sizeof *c->routers) ||
        !to_arena(c, (void **)&m->loss, c->loss, c->n_loss, sizeof *c->loss) ||
        !to_arena(c, (void **)&m->values, c->values, c->n_values, sizeof *c->values))
        m->n_params = m->n_nodes = m->n_routers = m->n_loss = m->n_values = 0;
}

static void free_ctx(el_ctx *c)
{
    free(c->params); free(c->nodes); free(c->routers); free(c->loss); free(c->values);
    free(c->globals); free(c->locals); free(c->name_tab); free(c->name_ids); free(c->reported);
}

/* Params (with --set), routers, forward, loss, train; each phase in file order. */
static void run(el_ctx *c, const fe_ast *ast)
{
    collect(c, ast);
    for (int i = 0; i < c->n_globals && !moec_diag_stop(c->d); i++)
        if (c->globals[i].kind == EG_PARAM) eval_param(c, &c->globals[i]);
    check_set_names(c);
    for (int i = 0; i < c->n_globals && !moec_diag_stop(c->d); i++)
        if (c->globals[i].kind == EG_ROUTER) eval_router(c, &c->globals[i]);
    el_value logits = fe_el_poison();
    if (c->forward_item && !moec_diag_stop(c->d)) logits = run_forward(c, c->forward_item);
    if (c->loss_item && !moec_diag_stop(c->d)) fe_el_loss(c, c->loss_item, logits);
    if (c->train_item && !moec_diag_stop(c->d)) fe_el_train(c, c->train_item);
    for (int i = 0; i < c->n_sets && !moec_diag_stop(c->d); i++) {
        el_global *g = fe_el_global(c, c->sets[i].name);
        if (!(g && g->kind == EG_PARAM)) fe_el_train_override(c, c->sets[i].name, c->sets[i].value);
    }
    check_seq(c);
    residual_init(c);
    if (!moec_diag_stop(c->d)) fe_el_warn_unused(c, ast);   /* the sink would drop them */
}

int fe_elaborate(const fe_ast *ast, const fe_override *sets, int n_sets,
                 moec_arena *arena, moec_diag *d, fe_model *out)
{
    memset(out, 0, sizeof *out);
    out->output = -1;
    train_defaults(&out->train);
    int errors = d->n_errors;
    if (!ast || !ast->items) {
        moec_error_at(d, (moec_loc){ 1, 1 }, "empty model file: expected 'model NAME' followed by params, "
                    "blocks, forward, loss and train");
        return -1;
    }
    el_ctx c = { .d = d, .arena = arena, .sets = sets, .n_sets = n_sets, .m = out,
                 .embedding_param = -1, .embedding_node = -1, .pos_node = -1 };
    fe_el_scope_root(&c);
    run(&c, ast);
    finish(&c);
    free_ctx(&c);
    return d->n_errors > errors ? -1 : 0;
}
