/* frontend/ast_print.c -- `moec ir FILE --stage ast`: the AST as an indented tree.
 * One node a line, two spaces per level, each with its line:col, e.g.
 *     call linear @3:17
 *       arg #0 @3:24
 * Reads the parser's AST (ast.h); writes text only. Deterministic: no
 * pointers, floats in their shortest exact form. Depth is bounded by the
 * parser's FE_MAX_EXPR_DEPTH, so the recursion is too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"

static void indent(FILE *out, int level)
{
    for (int i = 0; i < level; i++) fputs("  ", out);
}

static void at(FILE *out, moec_loc loc)
{
    fprintf(out, " @%d:%d\n", loc.line, loc.col);
}

static const char *const OP_TEXT[] = { FE_OPS(FE_LIST_NAME) };
_Static_assert(sizeof OP_TEXT / sizeof OP_TEXT[0] == FE_OP_COUNT, "a text for every operator");

const char *fe_op_text(fe_op op)
{
    return (unsigned)op < FE_OP_COUNT ? OP_TEXT[op] : "?";
}

/* The shortest %g form that reads back as the same double, with a '.' or an
 * exponent so a float never prints like an int. */
static void print_float(FILE *out, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".eEn")) fputs(".0", out);
}

/* A string with its escapes written back, so the line stays one line. */
static void print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02X", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void print_expr(FILE *out, const fe_expr *e, int level);

static void print_as(FILE *out, const fe_name_seg *seg, int level)
{
    for (; seg; seg = seg->next) {
        indent(out, level);
        fprintf(out, "as %s%s", seg->name, seg->index ? "[]" : "");
        at(out, seg->loc);
        if (seg->index) print_expr(out, seg->index, level + 1);
    }
}

static void print_call(FILE *out, const fe_expr *e, int level)
{
    fprintf(out, "call %s", e->name);
    at(out, e->loc);
    int i = 0;
    for (const fe_arg *a = e->args; a; a = a->next) {
        indent(out, level + 1);
        if (a->keyword) fprintf(out, "arg %s =", a->keyword);
        else fprintf(out, "arg #%d", i++);
        at(out, a->loc);
        print_expr(out, a->value, level + 2);
    }
    print_as(out, e->as, level + 1);
}

static void print_expr(FILE *out, const fe_expr *e, int level)
{
    indent(out, level);
    if (!e) { fputs("(missing)\n", out); return; }
    switch (e->kind) {
    case FE_EXPR_INT: fprintf(out, "int %lld", (long long)e->ival); break;
    case FE_EXPR_FLOAT: fputs("float ", out); print_float(out, e->fval); break;
    case FE_EXPR_BOOL: fputs(e->bval ? "bool true" : "bool false", out); break;
    case FE_EXPR_STRING: fputs("string ", out); print_string(out, e->sval); break;
    case FE_EXPR_NAME: fprintf(out, "name %s", e->name); break;
    case FE_EXPR_UNARY: fprintf(out, "unary %s", fe_op_text(e->op)); break;
    case FE_EXPR_BINARY: fprintf(out, "binary %s", fe_op_text(e->op)); break;
    case FE_EXPR_COND: fputs("if-then-else", out); break;
    case FE_EXPR_CALL: print_call(out, e, level); return;
    }
    at(out, e->loc);
    if (e->kind == FE_EXPR_COND) print_expr(out, e->cond, level + 1);
    if (e->kind == FE_EXPR_UNARY || e->kind == FE_EXPR_BINARY || e->kind == FE_EXPR_COND)
        print_expr(out, e->lhs, level + 1);
    if (e->kind == FE_EXPR_BINARY || e->kind == FE_EXPR_COND)
        print_expr(out, e->rhs, level + 1);
}

static void print_stmts(FILE *out, const fe_stmt *s, int level);

/* A labelled list of statements: "then", "else", "do". */
static void print_body(FILE *out, const char *label, const fe_stmt *body, int level)
{
    indent(out, level);
    fprintf(out, "%s\n", label);
    print_stmts(out, body, level + 1);
}

static void print_stmt(FILE *out, const fe_stmt *s, int level)
{
    indent(out, level);
    switch (s->kind) {
    case FE_STMT_ASSIGN:
        fprintf(out, "assign %s", s->name);
        at(out, s->loc);
        print_expr(out, s->value, level + 1);
        break;
    case FE_STMT_RETURN:
        fputs("return", out);
        at(out, s->loc);
        print_expr(out, s->value, level + 1);
        break;
    case FE_STMT_IF:
        fputs("if", out);
        at(out, s->loc);
        print_expr(out, s->cond, level + 1);
        print_body(out, "then", s->body, level + 1);
        if (s->orelse) print_body(out, "else", s->orelse, level + 1);
        break;
    case FE_STMT_FOR:
        fprintf(out, "for %s", s->name);
        at(out, s->loc);
        print_expr(out, s->lo, level + 1);
        print_expr(out, s->hi, level + 1);
        print_body(out, "do", s->body, level + 1);
        break;
    }
}

static void print_stmts(FILE *out, const fe_stmt *s, int level)
{
    for (; s; s = s->next) print_stmt(out, s, level);
}

static void print_formals(FILE *out, const fe_formal *f)
{
    fputc('(', out);
    for (; f; f = f->next) fprintf(out, "%s%s", f->name, f->next ? ", " : "");
    fputc(')', out);
}

static void print_item(FILE *out, const fe_item *it)
{
    static const char *kinds[] = {
        [FE_ITEM_MODEL] = "model", [FE_ITEM_PARAM] = "param", [FE_ITEM_ROUTER] = "router",
        [FE_ITEM_BLOCK] = "block", [FE_ITEM_FORWARD] = "forward", [FE_ITEM_LOSS] = "loss",
        [FE_ITEM_TRAIN] = "train",
    };
    fputs(kinds[it->kind], out);
    if (it->name) fprintf(out, " %s", it->name);
    if (it->kind == FE_ITEM_BLOCK || it->kind == FE_ITEM_FORWARD) print_formals(out, it->formals);
    at(out, it->loc);
    if (it->value) print_expr(out, it->value, 1);
    print_stmts(out, it->body, 1);
    for (const fe_setting *s = it->settings; s; s = s->next) {
        fprintf(out, "  set %s", s->key);
        at(out, s->loc);
        print_expr(out, s->value, 2);
    }
}

void fe_ast_print(FILE *out, const fe_ast *ast)
{
    for (const fe_item *it = ast->items; it; it = it->next) print_item(out, it);
}
