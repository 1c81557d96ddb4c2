/* frontend/elab_call.c -- calls of user blocks during elaboration.
 * Binds positional and keyword arguments to the block's formals, refuses
 * recursion and nesting past FE_MAX_CALL_DEPTH, opens the call's scope, and
 * runs the body in a fresh frame of locals. Reads the AST, builds graph
 * nodes only through the body it runs. */
#include <string.h>

#include "frontend/elab_internal.h"

static int count_formals(const fe_item *blk)
{
    int n = 0;
    for (const fe_formal *f = blk->formals; f; f = f->next) n++;
    return n;
}

static const char *formal_list(el_ctx *c, const fe_item *blk)
{
    const char *s = "";
    for (const fe_formal *f = blk->formals; f && s; f = f->next)
        s = *s ? fe_el_printf(c, "%s, %s", s, f->name) : f->name;
    return s ? s : "";
}

/* Puts each argument in the slot of its formal; false after an error. */
static bool bind(el_ctx *c, const fe_item *blk, moec_loc loc, const el_arg *args, int n_args,
                 el_value *vals)
{
    int nf = count_formals(blk), pos = 0;
    bool ok = true;
    for (int i = 0; i < nf; i++) vals[i].kind = EL_NONE;
    for (int a = 0; a < n_args; a++) {
        int slot = -1, i = 0;
        if (!args[a].keyword) {
            slot = pos++;
            if (slot >= nf) {
                fe_el_error(c, args[a].loc, "block '%s' takes %d argument%s, got %d", blk->name,
                            nf, nf == 1 ? "" : "s", n_args);
                return false;
            }
        } else {
            for (const fe_formal *f = blk->formals; f; f = f->next, i++)
                if (!strcmp(f->name, args[a].keyword)) slot = i;
            if (slot < 0) {
                fe_el_error(c, args[a].loc, "block '%s' has no argument '%s'; its arguments are: %s",
                            blk->name, args[a].keyword, formal_list(c, blk));
                ok = false;
                continue;
            }
        }
        if (vals[slot].kind != EL_NONE) {
            const fe_formal *f = blk->formals;
            for (int k = 0; k < slot; k++) f = f->next;
            fe_el_error(c, args[a].loc, "argument '%s' of block '%s' is given twice", f->name, blk->name);
            ok = false;
        }
        vals[slot] = args[a].v;
    }
    int i = 0;
    for (const fe_formal *f = blk->formals; f && ok; f = f->next, i++)
        if (vals[i].kind == EL_NONE) {
            fe_el_error(c, loc, "block '%s' is missing argument '%s'", blk->name, f->name);
            ok = false;
        }
    return ok;
}

/* Refuses a call that would recurse or nest too deep. */
static bool may_enter(el_ctx *c, const fe_item *blk, moec_loc loc)
{
    for (int i = 0; i < c->n_calls; i++) {
        if (c->calls[i] != blk) continue;
        const char *chain = blk->name;
        for (int j = i + 1; j < c->n_calls && chain; j++)
            chain = fe_el_printf(c, "%s -> %s", chain, c->calls[j]->name);
        if (chain) chain = fe_el_printf(c, "%s -> %s", chain, blk->name);
        fe_el_error(c, loc, "block '%s' calls itself (%s); blocks cannot be recursive",
                    blk->name, chain ? chain : blk->name);
        return false;
    }
    if (c->n_calls < FE_MAX_CALL_DEPTH) return true;
    fe_el_error(c, loc, "block calls nest more than %d deep (FE_MAX_CALL_DEPTH)", FE_MAX_CALL_DEPTH);
    return false;
}

el_value fe_el_call_block(el_ctx *c, const fe_item *blk, const fe_expr *call,
                          const el_arg *args, int n_args, bool open_scope)
{
    moec_loc loc = call ? call->loc : blk->loc;
    el_value vals[EL_MAX_ARGS];
    if (fe_el_halted(c)) return fe_el_poison();
    if (count_formals(blk) > EL_MAX_ARGS) {
        fe_el_error(c, loc, "block '%s' has more than %d arguments", blk->name, EL_MAX_ARGS);
        return fe_el_poison();
    }
    if (!may_enter(c, blk, loc) || !bind(c, blk, loc, args, n_args, vals)) return fe_el_poison();
    if (open_scope && !fe_el_scope_open(c, blk->name, call ? call->as : NULL)) return fe_el_poison();
    int saved_base = c->frame_base, saved_n = c->n_locals;
    c->frame_base = c->n_locals;
    c->calls[c->n_calls++] = blk;
    int i = 0;
    bool ok = true;
    for (const fe_formal *f = blk->formals; f && ok; f = f->next, i++)
        ok = fe_el_set_local(c, f->name, vals[i]) >= 0;
    el_value r = ok ? fe_el_run_body(c, blk->body) : fe_el_poison();
    c->n_calls--;
    c->n_locals = saved_n;
    c->frame_base = saved_base;
    if (open_scope) fe_el_scope_close(c);
    return r;
}
