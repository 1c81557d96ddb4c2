/* frontend/ast.h -- the syntax tree of one model file.
 * Written by the parser (parser.y), read by the elaborator (elab.c) and the
 * AST printer (ast_print.c). Every node keeps the place it came from. All
 * nodes live in the parse's arena; lists are chained through `next`.
 * The grammar these nodes come from is in doc/language.md. */
#ifndef MOEC_AST_H
#define MOEC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/lists.h"
#include "support/arena.h"
#include "support/diag.h"

typedef struct fe_expr fe_expr;
typedef struct fe_stmt fe_stmt;
typedef struct fe_item fe_item;

typedef enum fe_expr_kind {
    FE_EXPR_INT,      /* 42                     ival */
    FE_EXPR_FLOAT,    /* 5e-5                   fval */
    FE_EXPR_BOOL,     /* true / false           bval */
    FE_EXPR_STRING,   /* "cosine"               sval (escapes resolved) */
    FE_EXPR_NAME,     /* d                      name */
    FE_EXPR_UNARY,    /* -x, not b              op, lhs */
    FE_EXPR_BINARY,   /* a + b                  op, lhs, rhs */
    FE_EXPR_CALL,     /* f(a, k = v) as path    name, args, as */
    FE_EXPR_COND,     /* if c then a else b     cond, lhs (then), rhs (else) */
} fe_expr_kind;

/* Operators, X(ENUM, "as written"): the enum and fe_op_text come from this
 * one list (lists.h). */
#define FE_OPS(X) \
    X(FE_OP_ADD, "+") X(FE_OP_SUB, "-") X(FE_OP_MUL, "*") X(FE_OP_DIV, "/") \
    X(FE_OP_IDIV, "//") X(FE_OP_MOD, "%") \
    X(FE_OP_EQ, "==") X(FE_OP_NE, "!=") X(FE_OP_LT, "<") X(FE_OP_LE, "<=") X(FE_OP_GT, ">") X(FE_OP_GE, ">=") \
    X(FE_OP_AND, "and") X(FE_OP_OR, "or") X(FE_OP_NOT, "not") X(FE_OP_NEG, "-")
typedef enum fe_op { FE_OPS(FE_LIST_ENUM) } fe_op;
enum { FE_OP_COUNT = 0 FE_OPS(FE_LIST_COUNT) };

/* The operator as written ("+", "//", "not"); "?" for a value out of range (ast_print.c). */
const char *fe_op_text(fe_op op);

/* One argument of a call: positional when `keyword` is NULL. */
typedef struct fe_arg {
    const char *keyword;
    fe_expr *value;
    moec_loc loc;
    struct fe_arg *next;
} fe_arg;

/* One segment of an explicit name after `as`: `h[i]` is name "h" with
 * index expression i and becomes "h.<value of i>"; `ln_1` has no index. */
typedef struct fe_name_seg {
    const char *name;
    fe_expr *index;          /* NULL when the segment has no [index] */
    moec_loc loc;
    struct fe_name_seg *next;
} fe_name_seg;

struct fe_expr {
    fe_expr_kind kind;
    moec_loc loc;
    int depth;               /* nesting depth of this subtree (bounded by FE_MAX_EXPR_DEPTH) */
    union {
        int64_t ival;
        double fval;
        bool bval;
        const char *sval;
        const char *name;
    };
    fe_op op;
    fe_expr *cond, *lhs, *rhs;
    fe_arg *args;            /* CALL */
    fe_name_seg *as;         /* CALL: explicit name, or NULL */
};

typedef enum fe_stmt_kind {
    FE_STMT_ASSIGN,  /* name = value */
    FE_STMT_IF,      /* if cond { body } else { orelse }   (else-if chains nest in orelse) */
    FE_STMT_FOR,     /* for name in lo .. hi { body }      (hi exclusive) */
    FE_STMT_RETURN,  /* return value */
} fe_stmt_kind;

struct fe_stmt {
    fe_stmt_kind kind;
    moec_loc loc;
    const char *name;        /* ASSIGN target, FOR variable */
    fe_expr *value;          /* ASSIGN, RETURN */
    fe_expr *cond;           /* IF */
    fe_expr *lo, *hi;        /* FOR */
    fe_stmt *body;           /* IF then-branch, FOR body */
    fe_stmt *orelse;         /* IF else-branch, or NULL */
    fe_stmt *next;
};

/* A formal parameter of a block or of forward. */
typedef struct fe_formal {
    const char *name;
    moec_loc loc;
    struct fe_formal *next;
} fe_formal;

/* One `key = value` of a train block. */
typedef struct fe_setting {
    const char *key;
    fe_expr *value;
    moec_loc loc;
    struct fe_setting *next;
} fe_setting;

typedef enum fe_item_kind {
    FE_ITEM_MODEL,    /* model NAME                               name */
    FE_ITEM_PARAM,    /* param NAME = value                       name, value */
    FE_ITEM_ROUTER,   /* router NAME = value                      name, value */
    FE_ITEM_BLOCK,    /* block NAME(formals) { body }             name, formals, body
                         block NAME(formals) = value  is parsed as a body of one return */
    FE_ITEM_FORWARD,  /* forward(formals) { body }                formals, body */
    FE_ITEM_LOSS,     /* loss = value                             value */
    FE_ITEM_TRAIN,    /* train { key = value ... }                settings */
} fe_item_kind;

struct fe_item {
    fe_item_kind kind;
    moec_loc loc;              /* of the keyword */
    moec_loc name_loc;         /* of the name, where there is one */
    const char *name;
    fe_expr *value;
    fe_formal *formals;
    fe_stmt *body;
    fe_setting *settings;
    fe_item *next;
};

/* A parsed file. `items` is NULL for an empty file (which elaboration rejects). */
typedef struct fe_ast {
    fe_item *items;
} fe_ast;

/* Limits the parser enforces, so later recursive walks stay shallow. */
enum {
    FE_MAX_EXPR_DEPTH = 256,   /* nesting of expressions and statements */
};

#endif
