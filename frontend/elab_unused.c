/* frontend/elab_unused.c -- warnings for params, routers and blocks never used.
 * A syntactic walk over every expression and statement of the file: a name
 * counts as used when it appears anywhere outside its own declaration (a
 * block calling itself does not count). Reads the AST only; the walk is as
 * deep as the parser allows (FE_MAX_EXPR_DEPTH). */
#include <string.h>

#include "frontend/elab_internal.h"

static void mark(el_ctx *c, const char *name, const fe_item *self)
{
    el_global *g = fe_el_global(c, name);
    if (g && g->item != self) g->used = true;
}

static void walk_expr(el_ctx *c, const fe_expr *e, const fe_item *self)
{
    if (!e) return;
    switch (e->kind) {
    case FE_EXPR_NAME: mark(c, e->name, self); return;
    case FE_EXPR_CALL:
        mark(c, e->name, self);
        for (const fe_arg *a = e->args; a; a = a->next) walk_expr(c, a->value, self);
        for (const fe_name_seg *s = e->as; s; s = s->next) walk_expr(c, s->index, self);
        return;
    case FE_EXPR_UNARY:
    case FE_EXPR_BINARY:
    case FE_EXPR_COND:
        walk_expr(c, e->cond, self);
        walk_expr(c, e->lhs, self);
        walk_expr(c, e->rhs, self);
        return;
    default: return;
    }
}

static void walk_stmts(el_ctx *c, const fe_stmt *s, const fe_item *self)
{
    for (; s; s = s->next) {
        walk_expr(c, s->value, self);
        walk_expr(c, s->cond, self);
        walk_expr(c, s->lo, self);
        walk_expr(c, s->hi, self);
        walk_stmts(c, s->body, self);
        walk_stmts(c, s->orelse, self);
    }
}

void fe_el_warn_unused(el_ctx *c, const fe_ast *ast)
{
    for (const fe_item *it = ast->items; it; it = it->next) {
        walk_expr(c, it->value, it);
        walk_stmts(c, it->body, it);
        for (const fe_setting *s = it->settings; s; s = s->next) walk_expr(c, s->value, it);
    }
    for (int i = 0; i < c->n_globals; i++) {
        const el_global *g = &c->globals[i];
        if (!g->used && !(g->ready && g->v.kind == EL_POISON))   /* its error says enough */
            moec_warning_at(c->d, g->item->name_loc, "%s '%s' is never used", fe_el_global_kind_name(g->kind),
                          g->name);
    }
}
