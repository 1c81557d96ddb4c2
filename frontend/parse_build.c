/* frontend/parse_build.c -- the parser's node constructors.
 * parser.y's actions call these to build the AST (ast.h) in the parse's
 * arena. They bound nesting: every expression records its depth, and a tree
 * deeper than FE_MAX_EXPR_DEPTH is reported once and not deepened, so every
 * later recursive walk (elaboration, printing) stays shallow. */
#include <stddef.h>
#include <string.h>

#include "frontend/parse_state.h"

void fe_parse_oom(fe_parse_state *ps)
{
    if (!ps->oom) moec_error(ps->d, "out of memory while parsing '%s'", ps->src->path);
    ps->oom = true;
}

void *fe_parse_alloc(fe_parse_state *ps, size_t size)
{
    void *p = moec_arena_alloc(ps->arena, size);
    if (!p) fe_parse_oom(ps);
    return p;
}

static int depth_of(const fe_expr *e) { return e ? e->depth : 0; }

static int max3(int a, int b, int c)
{
    int m = a > b ? a : b;
    return m > c ? m : c;
}

/* Reports the nesting limit once per file. */
static void too_deep(fe_parse_state *ps, moec_loc loc, const char *what)
{
    if (ps->depth_reported) return;
    ps->depth_reported = true;
    moec_error_at(ps->d, loc, "%s nested deeper than %d levels (FE_MAX_EXPR_DEPTH)",
                what, FE_MAX_EXPR_DEPTH);
}

static fe_expr *leaf(fe_parse_state *ps, fe_expr_kind kind, moec_loc loc)
{
    fe_expr *e = fe_parse_alloc(ps, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    e->loc = loc;
    e->depth = 1;
    return e;
}

fe_expr *fe_parse_int(fe_parse_state *ps, moec_loc loc, int64_t v)
{
    fe_expr *e = leaf(ps, FE_EXPR_INT, loc);
    if (e) e->ival = v;
    return e;
}

fe_expr *fe_parse_float(fe_parse_state *ps, moec_loc loc, double v)
{
    fe_expr *e = leaf(ps, FE_EXPR_FLOAT, loc);
    if (e) e->fval = v;
    return e;
}

fe_expr *fe_parse_bool(fe_parse_state *ps, moec_loc loc, bool v)
{
    fe_expr *e = leaf(ps, FE_EXPR_BOOL, loc);
    if (e) e->bval = v;
    return e;
}

fe_expr *fe_parse_string(fe_parse_state *ps, moec_loc loc, const char *s)
{
    fe_expr *e = leaf(ps, FE_EXPR_STRING, loc);
    if (e) e->sval = s ? s : "";
    return e;
}

fe_expr *fe_parse_name(fe_parse_state *ps, moec_loc loc, const char *name)
{
    fe_expr *e = leaf(ps, FE_EXPR_NAME, loc);
    if (e) e->name = name ? name : "";
    return e;
}

/* An inner node over children at most `child_depth` deep. Past the limit the
 * deepest child stands in for the new node, so the tree stops growing. */
static fe_expr *inner(fe_parse_state *ps, fe_expr_kind kind, moec_loc loc, int child_depth,
                      fe_expr *deepest, bool *keep)
{
    *keep = true;
    if (child_depth + 1 > FE_MAX_EXPR_DEPTH) {
        too_deep(ps, loc, "expression");
        *keep = false;
        return deepest;
    }
    fe_expr *e = leaf(ps, kind, loc);
    if (e) e->depth = child_depth + 1;
    return e;
}

fe_expr *fe_parse_unary(fe_parse_state *ps, moec_loc loc, fe_op op, fe_expr *x)
{
    bool keep;
    fe_expr *e = inner(ps, FE_EXPR_UNARY, loc, depth_of(x), x, &keep);
    if (!keep || !e) return keep ? NULL : e;
    e->op = op;
    e->lhs = x;
    return e;
}

fe_expr *fe_parse_binary(fe_parse_state *ps, moec_loc loc, fe_op op, fe_expr *l, fe_expr *r)
{
    bool keep;
    fe_expr *deepest = depth_of(l) >= depth_of(r) ? l : r;
    fe_expr *e = inner(ps, FE_EXPR_BINARY, loc, depth_of(deepest), deepest, &keep);
    if (!keep || !e) return keep ? NULL : e;
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    return e;
}

fe_expr *fe_parse_cond(fe_parse_state *ps, moec_loc loc, fe_expr *c, fe_expr *a, fe_expr *b)
{
    bool keep;
    int d = max3(depth_of(c), depth_of(a), depth_of(b));
    fe_expr *deepest = depth_of(c) == d ? c : depth_of(a) == d ? a : b;
    fe_expr *e = inner(ps, FE_EXPR_COND, loc, d, deepest, &keep);
    if (!keep || !e) return keep ? NULL : e;
    e->cond = c;
    e->lhs = a;
    e->rhs = b;
    return e;
}

/* A call is as deep as its deepest argument or `as` index, plus one. */
fe_expr *fe_parse_call(fe_parse_state *ps, moec_loc loc, const char *name, fe_arg *args, fe_name_seg *as)
{
    fe_expr *deepest = NULL;
    for (fe_arg *a = args; a; a = a->next)
        if (depth_of(a->value) > depth_of(deepest)) deepest = a->value;
    for (fe_name_seg *s = as; s; s = s->next)
        if (depth_of(s->index) > depth_of(deepest)) deepest = s->index;
    bool keep;
    fe_expr *e = inner(ps, FE_EXPR_CALL, loc, depth_of(deepest), deepest, &keep);
    if (!keep || !e) return keep ? NULL : e;
    e->name = name ? name : "";
    e->args = args;
    e->as = as;
    return e;
}

fe_arg *fe_parse_arg(fe_parse_state *ps, moec_loc loc, const char *keyword, fe_expr *value)
{
    fe_arg *a = fe_parse_alloc(ps, sizeof *a);
    if (!a) return NULL;
    a->keyword = keyword;
    a->value = value;
    a->loc = loc;
    return a;
}

fe_name_seg *fe_parse_seg(fe_parse_state *ps, moec_loc loc, const char *name, fe_expr *index)
{
    fe_name_seg *s = fe_parse_alloc(ps, sizeof *s);
    if (!s) return NULL;
    s->name = name ? name : "";
    s->index = index;
    s->loc = loc;
    return s;
}

fe_formal *fe_parse_formal(fe_parse_state *ps, moec_loc loc, const char *name)
{
    fe_formal *f = fe_parse_alloc(ps, sizeof *f);
    if (!f) return NULL;
    f->name = name ? name : "";
    f->loc = loc;
    return f;
}

fe_setting *fe_parse_setting(fe_parse_state *ps, moec_loc loc, const char *key, fe_expr *value)
{
    fe_setting *s = fe_parse_alloc(ps, sizeof *s);
    if (!s) return NULL;
    s->key = key ? key : "";
    s->value = value;
    s->loc = loc;
    return s;
}

/* ---- statements: depth lives in the fe_parse_stmt around each fe_stmt ---- */

static int stmt_depth(const fe_stmt *s)
{
    return s ? ((const fe_parse_stmt *)(const void *)s)->depth : 0;
}

/* Deepest statement of a list: one level only, so the total work stays linear. */
static int list_depth(const fe_stmt *s)
{
    int d = 0;
    for (; s; s = s->next)
        if (stmt_depth(s) > d) d = stmt_depth(s);
    return d;
}

static fe_stmt *stmt(fe_parse_state *ps, fe_stmt_kind kind, moec_loc loc, int depth)
{
    fe_parse_stmt *p = fe_parse_alloc(ps, sizeof *p);
    if (!p) return NULL;
    p->stmt.kind = kind;
    p->stmt.loc = loc;
    p->depth = depth;
    return &p->stmt;
}

fe_stmt *fe_parse_assign(fe_parse_state *ps, moec_loc loc, const char *name, fe_expr *value)
{
    fe_stmt *s = stmt(ps, FE_STMT_ASSIGN, loc, 1);
    if (!s) return NULL;
    s->name = name ? name : "";
    s->value = value;
    return s;
}

fe_stmt *fe_parse_return(fe_parse_state *ps, moec_loc loc, fe_expr *value)
{
    fe_stmt *s = stmt(ps, FE_STMT_RETURN, loc, 1);
    if (s) s->value = value;
    return s;
}

/* Past the limit the nested bodies are dropped: the error is reported and the
 * tree is never elaborated, only kept shallow. */
static int nested_depth(fe_parse_state *ps, moec_loc loc, fe_stmt **body, fe_stmt **orelse)
{
    int inner = list_depth(*body);
    if (orelse && list_depth(*orelse) > inner) inner = list_depth(*orelse);
    if (inner + 1 <= FE_MAX_EXPR_DEPTH) return inner + 1;
    too_deep(ps, loc, "statements");
    *body = NULL;
    if (orelse) *orelse = NULL;
    return 1;
}

fe_stmt *fe_parse_if(fe_parse_state *ps, moec_loc loc, fe_expr *cond, fe_stmt *body, fe_stmt *orelse)
{
    int depth = nested_depth(ps, loc, &body, &orelse);
    fe_stmt *s = stmt(ps, FE_STMT_IF, loc, depth);
    if (!s) return NULL;
    s->cond = cond;
    s->body = body;
    s->orelse = orelse;
    return s;
}

fe_stmt *fe_parse_for(fe_parse_state *ps, moec_loc loc, const char *var, fe_expr *lo, fe_expr *hi, fe_stmt *body)
{
    int depth = nested_depth(ps, loc, &body, NULL);
    fe_stmt *s = stmt(ps, FE_STMT_FOR, loc, depth);
    if (!s) return NULL;
    s->name = var ? var : "";
    s->lo = lo;
    s->hi = hi;
    s->body = body;
    return s;
}

fe_item *fe_parse_item(fe_parse_state *ps, fe_item_kind kind, moec_loc loc)
{
    fe_item *it = fe_parse_alloc(ps, sizeof *it);
    if (!it) return NULL;
    it->kind = kind;
    it->loc = loc;
    it->name_loc = loc;
    return it;
}
