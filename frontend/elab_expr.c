/* frontend/elab_expr.c -- evaluates expressions and runs statements at compile time.
 * Names resolve to locals, then params, routers and blocks; arithmetic follows
 * doc/language.md (/ float, // and % floor, overflow and division by zero are
 * errors); calls go to blocks, builtins or router kinds; if and for unroll.
 * An erroneous value is poison: everything built from it is poison, silently;
 * an error in a loop body ends the loop (doc/language.md, Decisions). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "frontend/elab_internal.h"

typedef enum x_status { X_NEXT, X_RETURN } x_status;

static x_status exec_list(el_ctx *c, const fe_stmt *s, el_value *ret);

bool fe_el_step(el_ctx *c, moec_loc loc)
{
    if (fe_el_halted(c)) return false;
    if (++c->steps <= FE_MAX_ELAB_STEPS) return true;
    c->limit_hit = true;
    fe_el_error(c, loc, "elaboration ran more than 10,000,000 steps (FE_MAX_ELAB_STEPS); "
                "is a loop much larger than meant?");
    return false;
}

static bool is_num(el_value v) { return v.kind == EL_INT || v.kind == EL_FLOAT; }
static double num(el_value v) { return v.kind == EL_INT ? (double)v.i : v.f; }

/* Closest name among the running call's locals and the file's globals. */
static const char *suggest_name(el_ctx *c, const char *name)
{
    const char *best = fe_el_suggest_global(c, name, 7);
    int best_d = best ? moec_edit_distance(name, best) : 3;
    for (int i = c->frame_base; i < c->n_locals; i++) {
        const char *one[1] = { c->locals[i].name };
        if (one[0] && fe_el_closest(name, one, 1) && moec_edit_distance(name, one[0]) < best_d) {
            best = one[0];
            best_d = moec_edit_distance(name, one[0]);
        }
    }
    return best;
}

static el_value eval_name(el_ctx *c, const fe_expr *e)
{
    el_binding *b = fe_el_local(c, e->name);
    if (b) return b->v;
    el_global *g = fe_el_global(c, e->name);
    if (g && g->kind == EG_BLOCK) return (el_value){ .kind = EL_BLOCK, .block = g->item };
    if (g && g->ready) return g->v;
    if (g) {
        fe_el_error(c, e->loc, "%s '%s' is used before its declaration", fe_el_global_kind_name(g->kind),
                    e->name);
        return fe_el_poison();
    }
    const char *near = suggest_name(c, e->name);
    if (near) fe_el_error(c, e->loc, "unknown name '%s'; did you mean '%s'?", e->name, near);
    else fe_el_error(c, e->loc, "unknown name '%s'", e->name);
    return fe_el_poison();
}

el_value fe_el_eval_as(el_ctx *c, const fe_expr *e, el_type want)
{
    bool named = e->kind == FE_EXPR_NAME && (want == ET_ROUTER || want == ET_BLOCK);
    if (!named || fe_el_local(c, e->name) || fe_el_global(c, e->name)) return fe_el_eval(c, e);
    const char *what = want == ET_ROUTER ? "router" : "block";
    if (want == ET_BLOCK && fe_el_builtin(e->name)) {
        fe_el_error(c, e->loc, "'%s' is a builtin; an expert is a block, e.g. block f(x) = %s(x, ...)",
                    e->name, e->name);
        return fe_el_poison();
    }
    const char *near = fe_el_suggest_global(c, e->name, 1 << (want == ET_ROUTER ? EG_ROUTER : EG_BLOCK));
    if (near) fe_el_error(c, e->loc, "unknown %s '%s'; did you mean '%s'?", what, e->name, near);
    else fe_el_error(c, e->loc, "unknown %s '%s'", what, e->name);
    return fe_el_poison();
}

static el_value int_arith(el_ctx *c, fe_op op, int64_t a, int64_t b, moec_loc loc)
{
    int64_t r = 0;
    bool over = false;
    switch (op) {
    case FE_OP_ADD: over = __builtin_add_overflow(a, b, &r); break;
    case FE_OP_SUB: over = __builtin_sub_overflow(a, b, &r); break;
    case FE_OP_MUL: over = __builtin_mul_overflow(a, b, &r); break;
    case FE_OP_IDIV:
    case FE_OP_MOD:
        if (b == 0) {
            fe_el_error(c, loc, "division by zero");
            return fe_el_poison();
        }
        if (a == INT64_MIN && b == -1) { over = op == FE_OP_IDIV; r = 0; break; }
        r = a / b;
        if (a % b != 0 && ((a < 0) != (b < 0))) r--;      /* floor, as in Python */
        if (op == FE_OP_MOD) r = a - r * b;
        break;
    default: MOEC_ASSERT(!"int_arith op");
    }
    if (over) {
        fe_el_error(c, loc, "integer overflow: the result does not fit in 64 bits");
        return fe_el_poison();
    }
    return fe_el_int(r);
}

static el_value float_arith(el_ctx *c, fe_op op, double a, double b, moec_loc loc)
{
    double r;
    switch (op) {
    case FE_OP_ADD: r = a + b; break;
    case FE_OP_SUB: r = a - b; break;
    case FE_OP_MUL: r = a * b; break;
    case FE_OP_DIV:
        if (b == 0.0) {
            fe_el_error(c, loc, "division by zero");
            return fe_el_poison();
        }
        r = a / b;
        break;
    default:
        fe_el_error(c, loc, "'//' and '%%' need integers, got a float");
        return fe_el_poison();
    }
    if (!isfinite(r)) {
        fe_el_error(c, loc, "float overflow: the result is not a finite number");
        return fe_el_poison();
    }
    return fe_el_float(r);
}

static el_value compare(el_ctx *c, fe_op op, el_value a, el_value b, moec_loc loc)
{
    int cmp;
    if (is_num(a) && is_num(b)) {
        if (a.kind == EL_INT && b.kind == EL_INT) cmp = (a.i > b.i) - (a.i < b.i);
        else cmp = (num(a) > num(b)) - (num(a) < num(b));
    } else if (op != FE_OP_EQ && op != FE_OP_NE) {
        fe_el_error(c, loc, "'<', '<=', '>' and '>=' compare numbers, got %s and %s",
                    fe_el_kind_name(a.kind), fe_el_kind_name(b.kind));
        return fe_el_poison();
    } else if (a.kind == EL_STRING && b.kind == EL_STRING) {
        cmp = strcmp(a.s, b.s) != 0;
    } else if (a.kind == EL_BOOL && b.kind == EL_BOOL) {
        cmp = a.b != b.b;
    } else if (a.kind == EL_ROUTER && b.kind == EL_ROUTER) {
        cmp = a.router != b.router;
    } else {
        fe_el_error(c, loc, "cannot compare %s with %s", fe_el_kind_name(a.kind),
                    fe_el_kind_name(b.kind));
        return fe_el_poison();
    }
    switch (op) {
    case FE_OP_EQ: return fe_el_bool(cmp == 0);
    case FE_OP_NE: return fe_el_bool(cmp != 0);
    case FE_OP_LT: return fe_el_bool(cmp < 0);
    case FE_OP_LE: return fe_el_bool(cmp <= 0);
    case FE_OP_GT: return fe_el_bool(cmp > 0);
    default: return fe_el_bool(cmp >= 0);
    }
}

static el_value logic(el_ctx *c, const fe_expr *e)
{
    el_value a = fe_el_eval(c, e->lhs);
    if (a.kind == EL_POISON) return a;
    if (a.kind != EL_BOOL) {
        fe_el_error(c, e->lhs->loc, "'%s' needs bools, got %s", fe_op_text(e->op), fe_el_kind_name(a.kind));
        return fe_el_poison();
    }
    if (a.b == (e->op == FE_OP_OR)) return a;            /* short-circuit */
    el_value b = fe_el_eval(c, e->rhs);
    if (b.kind == EL_POISON) return b;
    if (b.kind != EL_BOOL) {
        fe_el_error(c, e->rhs->loc, "'%s' needs bools, got %s", fe_op_text(e->op), fe_el_kind_name(b.kind));
        return fe_el_poison();
    }
    return b;
}

static el_value eval_binary(el_ctx *c, const fe_expr *e)
{
    if (e->op == FE_OP_AND || e->op == FE_OP_OR) return logic(c, e);
    el_value a = fe_el_eval(c, e->lhs);
    if (a.kind == EL_POISON) return a;
    el_value b = fe_el_eval(c, e->rhs);
    if (b.kind == EL_POISON) return b;
    if (e->op >= FE_OP_EQ && e->op <= FE_OP_GE) {
        if (a.kind == EL_TENSOR || b.kind == EL_TENSOR) {
            fe_el_error(c, e->loc, "tensors cannot be compared at compile time");
            return fe_el_poison();
        }
        return compare(c, e->op, a, b, e->loc);
    }
    if (a.kind == EL_TENSOR || b.kind == EL_TENSOR) return fe_el_tensor_binary(c, e->op, a, b, e->loc);
    if (!is_num(a) || !is_num(b)) {
        fe_el_error(c, e->loc, "'%s' needs numbers or tensors, got %s and %s", fe_op_text(e->op),
                    fe_el_kind_name(a.kind), fe_el_kind_name(b.kind));
        return fe_el_poison();
    }
    if (a.kind == EL_INT && b.kind == EL_INT && e->op != FE_OP_DIV) return int_arith(c, e->op, a.i, b.i, e->loc);
    return float_arith(c, e->op, num(a), num(b), e->loc);
}

static el_value eval_unary(el_ctx *c, const fe_expr *e)
{
    el_value a = fe_el_eval(c, e->lhs);
    if (a.kind == EL_POISON) return a;
    if (e->op == FE_OP_NOT) {
        if (a.kind == EL_BOOL) return fe_el_bool(!a.b);
        fe_el_error(c, e->loc, "'not' needs a bool, got %s", fe_el_kind_name(a.kind));
        return fe_el_poison();
    }
    if (a.kind == EL_INT && a.i == INT64_MIN) {
        fe_el_error(c, e->loc, "integer overflow: the result does not fit in 64 bits");
        return fe_el_poison();
    }
    if (a.kind == EL_INT) return fe_el_int(-a.i);
    if (a.kind == EL_FLOAT) return fe_el_float(-a.f);
    if (a.kind == EL_TENSOR) return fe_el_tensor_neg(c, a, e->loc);
    fe_el_error(c, e->loc, "'-' needs a number or a tensor, got %s", fe_el_kind_name(a.kind));
    return fe_el_poison();
}

static el_value eval_cond(el_ctx *c, const fe_expr *e)
{
    el_value k = fe_el_eval(c, e->cond);
    if (k.kind == EL_POISON) return k;
    if (k.kind != EL_BOOL) {
        fe_el_error(c, e->cond->loc, "the condition of 'if' must be a bool, got %s",
                    fe_el_kind_name(k.kind));
        return fe_el_poison();
    }
    return fe_el_eval(c, k.b ? e->lhs : e->rhs);
}

/* Evaluates a call's arguments into args[]; `spec` (may be NULL) hints router/block slots. */
static bool eval_args(el_ctx *c, const fe_expr *e, const el_argspec *spec, int n_spec,
                      el_arg *args, int *n_args)
{
    int n = 0, pos = 0;
    bool poison = false;
    for (const fe_arg *a = e->args; a; a = a->next, n++) {
        if (n == EL_MAX_ARGS) {
            fe_el_error(c, a->loc, "a call takes at most %d arguments", EL_MAX_ARGS);
            return false;
        }
        el_type want = ET_INT;
        for (int i = 0; spec && i < n_spec; i++)
            if (a->keyword ? !strcmp(a->keyword, spec[i].name) : i == pos) want = spec[i].type;
        if (!a->keyword) pos++;
        args[n] = (el_arg){ a->keyword, fe_el_eval_as(c, a->value, want), a->value->loc };
        poison |= args[n].v.kind == EL_POISON;
    }
    *n_args = n;
    return !poison;
}

static el_value unknown_callee(el_ctx *c, const fe_expr *e)
{
    const char *names[64];
    if (c->mode == EM_ROUTER) {
        const char *near = fe_el_closest(e->name, fe_router_kind_names, FE_ROUTER_KIND_COUNT);
        if (near) fe_el_error(c, e->loc, "unknown router kind '%s'; did you mean '%s'?", e->name, near);
        else fe_el_error(c, e->loc, "unknown router kind '%s' (kinds: %s)", e->name,
                         fe_el_join(fe_router_kind_names, FE_ROUTER_KIND_COUNT, "", "", ", ").s);
        return fe_el_poison();
    }
    int n = fe_el_builtin_names(names, 48);
    for (int i = 0; i < c->n_globals && n < 64; i++)
        if (c->globals[i].kind == EG_BLOCK) names[n++] = c->globals[i].name;
    const char *near = fe_el_closest(e->name, names, n);
    if (near) fe_el_error(c, e->loc, "unknown builtin or block '%s'; did you mean '%s'?", e->name, near);
    else fe_el_error(c, e->loc, "unknown builtin or block '%s'", e->name);
    return fe_el_poison();
}

static el_value eval_call(el_ctx *c, const fe_expr *e)
{
    el_arg args[EL_MAX_ARGS];
    int n = 0;
    el_binding *lb = fe_el_local(c, e->name);
    el_global *g = fe_el_global(c, e->name);
    const fe_item *blk = lb && lb->v.kind == EL_BLOCK ? lb->v.block
                       : g && g->kind == EG_BLOCK ? g->item : NULL;
    if (blk) {
        if (!eval_args(c, e, NULL, 0, args, &n)) return fe_el_poison();
        return fe_el_call_block(c, blk, e, args, n, true);
    }
    /* builtins, router kinds and loss terms are called, never shadowed by values */
    const el_builtin *b = fe_el_builtin(e->name);
    if (b) return fe_el_call_builtin(c, b, e);
    if (fe_el_is_router_kind(e->name)) {
        if (c->mode == EM_ROUTER) {
            if (!eval_args(c, e, NULL, 0, args, &n)) return fe_el_poison();
            return fe_el_make_router(c, e, args, n);
        }
        fe_el_error(c, e->loc, "'%s' makes a router; declare it at file scope: router NAME = %s(...)",
                    e->name, e->name);
        return fe_el_poison();
    }
    if (fe_el_is_loss_term(e->name)) {
        fe_el_error(c, e->loc, "'%s' can only be a term of the loss (loss = ...)", e->name);
        return fe_el_poison();
    }
    if (lb || g) {
        fe_el_error(c, e->loc, "'%s' is %s, not a block or builtin; it cannot be called",
                    e->name, lb ? fe_el_kind_name(lb->v.kind) : g->kind == EG_PARAM ? "a param" : "a router");
        return fe_el_poison();
    }
    return unknown_callee(c, e);
}

/* Builtins evaluate their own arguments (they know which slots want routers or blocks). */
bool fe_el_eval_call_args(el_ctx *c, const fe_expr *e, const el_argspec *spec, int n_spec,
                          el_arg *args, int *n_args)
{
    return eval_args(c, e, spec, n_spec, args, n_args);
}

el_value fe_el_eval(el_ctx *c, const fe_expr *e)
{
    if (fe_el_halted(c)) return fe_el_poison();
    if (c->nest >= FE_MAX_EVAL_DEPTH) {
        c->limit_hit = true;
        fe_el_error(c, e->loc, "expressions nest more than %d deep across block calls "
                    "(FE_MAX_EVAL_DEPTH)", FE_MAX_EVAL_DEPTH);
        return fe_el_poison();
    }
    c->nest++;
    el_value v;
    switch (e->kind) {
    case FE_EXPR_INT: v = fe_el_int(e->ival); break;
    case FE_EXPR_FLOAT: v = fe_el_float(e->fval); break;
    case FE_EXPR_BOOL: v = fe_el_bool(e->bval); break;
    case FE_EXPR_STRING: v = (el_value){ .kind = EL_STRING, .s = e->sval }; break;
    case FE_EXPR_NAME: v = eval_name(c, e); break;
    case FE_EXPR_UNARY: v = eval_unary(c, e); break;
    case FE_EXPR_BINARY: v = eval_binary(c, e); break;
    case FE_EXPR_CALL: v = eval_call(c, e); break;
    case FE_EXPR_COND: v = eval_cond(c, e); break;
    default: v = fe_el_poison(); MOEC_ASSERT(!"expression kind");
    }
    c->nest--;
    return v;
}

/* ---- statements ---- */

/* Binds every name the statements assign, or loop over, to poison; false when
 * out of memory. */
static bool poison_bound(el_ctx *c, const fe_stmt *s)
{
    for (; s; s = s->next) {
        bool ok = true;
        switch (s->kind) {
        case FE_STMT_ASSIGN: ok = fe_el_set_local(c, s->name, fe_el_poison()) >= 0; break;
        case FE_STMT_IF: ok = poison_bound(c, s->body) && poison_bound(c, s->orelse); break;
        case FE_STMT_FOR:
            ok = fe_el_set_local(c, s->name, fe_el_poison()) >= 0 && poison_bound(c, s->body);
            break;
        case FE_STMT_RETURN: break;
        }
        if (!ok) return false;
    }
    return true;
}

/* An iteration of loop `s` raised an error: the iterations left would repeat
 * it, so the loop stops, and what it binds is poison (a partial unrolling would
 * only give follow-on errors); the statements after it still run
 * (doc/language.md, Decisions). */
static x_status stop_loop(el_ctx *c, const fe_stmt *s, el_value *ret)
{
    if (fe_el_set_local(c, s->name, fe_el_poison()) >= 0 && poison_bound(c, s->body)) return X_NEXT;
    *ret = fe_el_poison();
    return X_RETURN;
}

static x_status exec_for(el_ctx *c, const fe_stmt *s, el_value *ret)
{
    el_value lo = fe_el_eval(c, s->lo), hi = lo.kind == EL_POISON ? lo : fe_el_eval(c, s->hi);
    *ret = fe_el_poison();
    if (lo.kind == EL_POISON || hi.kind == EL_POISON) return X_RETURN;
    if (lo.kind != EL_INT || hi.kind != EL_INT) {
        const fe_expr *bad = lo.kind != EL_INT ? s->lo : s->hi;
        fe_el_error(c, bad->loc, "the bounds of 'for' must be integers, got %s",
                    fe_el_kind_name(lo.kind != EL_INT ? lo.kind : hi.kind));
        return X_RETURN;
    }
    uint64_t count = hi.i > lo.i ? (uint64_t)hi.i - (uint64_t)lo.i : 0;
    if (count > FE_MAX_LOOP_ITERATIONS) {
        fe_el_error(c, s->loc, "this loop runs %" PRIu64 " times; a loop may run at most "
                    "100,000 times (FE_MAX_LOOP_ITERATIONS)", count);
        return X_RETURN;
    }
    for (uint64_t k = 0; k < count; k++) {
        if (!fe_el_step(c, s->loc)) return X_RETURN;
        int slot = fe_el_set_local(c, s->name, fe_el_int(lo.i + (int64_t)k));
        if (slot < 0) return X_RETURN;
        int64_t raised = c->n_raised;
        if (exec_list(c, s->body, ret) == X_RETURN) return X_RETURN;
        if (c->n_raised != raised) return stop_loop(c, s, ret);
    }
    return X_NEXT;
}

static x_status exec_if(el_ctx *c, const fe_stmt *s, el_value *ret)
{
    el_value k = fe_el_eval(c, s->cond);
    if (k.kind != EL_BOOL) {
        if (k.kind != EL_POISON)
            fe_el_error(c, s->cond->loc, "the condition of 'if' must be a bool, got %s",
                        fe_el_kind_name(k.kind));
        *ret = fe_el_poison();
        return X_RETURN;        /* abandon the body: its results would be guesses */
    }
    return exec_list(c, k.b ? s->body : s->orelse, ret);
}

static x_status exec_stmt(el_ctx *c, const fe_stmt *s, el_value *ret)
{
    if (!fe_el_step(c, s->loc)) { *ret = fe_el_poison(); return X_RETURN; }
    switch (s->kind) {
    case FE_STMT_ASSIGN: {
        el_value v = fe_el_eval(c, s->value);
        if (fe_el_set_local(c, s->name, v) < 0) { *ret = fe_el_poison(); return X_RETURN; }
        return X_NEXT;
    }
    case FE_STMT_IF: return exec_if(c, s, ret);
    case FE_STMT_FOR: return exec_for(c, s, ret);
    case FE_STMT_RETURN: *ret = fe_el_eval(c, s->value); return X_RETURN;
    }
    MOEC_ASSERT(!"statement kind");
    return X_NEXT;
}

static x_status exec_list(el_ctx *c, const fe_stmt *s, el_value *ret)
{
    if (c->nest >= FE_MAX_EVAL_DEPTH) {
        if (!c->limit_hit && s)
            fe_el_error(c, s->loc, "statements nest more than %d deep across block calls "
                        "(FE_MAX_EVAL_DEPTH)", FE_MAX_EVAL_DEPTH);
        c->limit_hit = true;
        *ret = fe_el_poison();
        return X_RETURN;
    }
    c->nest++;
    x_status st = X_NEXT;
    for (; s && st == X_NEXT; s = s->next) st = exec_stmt(c, s, ret);
    c->nest--;
    return st;
}

/* Runs a body (forward's or a block's) in the current frame; poison if it never returns. */
el_value fe_el_run_body(el_ctx *c, const fe_stmt *body)
{
    el_value ret = fe_el_poison();
    if (exec_list(c, body, &ret) == X_NEXT) return fe_el_poison();
    return ret;
}
