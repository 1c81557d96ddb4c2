/* frontend/parse_state.h -- what the lexer, the parser and the node builders share.
 * One fe_parse_state lives on fe_parse's stack for one file: it holds the
 * arena the AST goes into, the diagnostics sink, the flex scanner and the
 * position of the token being read. Reads source text, writes AST nodes.
 * Internal to the parsing half: nothing outside frontend/parse* includes it. */
#ifndef MOEC_PARSE_STATE_H
#define MOEC_PARSE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/arena.h"
#include "frontend/ast.h"
#include "support/diag.h"

typedef struct fe_parse_state {
    moec_arena *arena;          /* AST nodes and strings */
    moec_diag *d;               /* where errors go */
    const moec_source *src;     /* the file being read */
    void *scanner;            /* flex's yyscan_t */
    fe_ast *ast;              /* the result: items are set by the start rule */
    size_t off;               /* byte offset of the next unread byte */
    int line, col;            /* 1-based place of the next unread byte */
    size_t tok_off, tok_len;  /* text of the newest token (the parser's lookahead) */
    moec_loc tok_loc;           /* where the newest token starts */
    size_t prev_off, prev_len;/* text of the token before it */
    moec_loc prev_loc;          /* where that one starts */
    bool bad_bytes;           /* a lexical error since the last token */
    bool tok_after_bad;       /* the newest token follows a lexical error */
    bool quiet_eof;           /* a string ran to the end of the file: that says it all */
    moec_loc tok_end;           /* just after the newest token */
    moec_loc prev_end;          /* just after the token before it */
    bool depth_reported;      /* the nesting error is reported once per file */
    bool oom;                 /* out of memory was reported: stop quietly */
} fe_parse_state;

/* An AST statement with the nesting depth of its subtree, which fe_stmt has no
 * field for. Every fe_stmt the parser makes is the first member of one. */
typedef struct fe_parse_stmt {
    fe_stmt stmt;
    int depth;                /* 1 for a simple statement; 1 + deepest body for if/for */
} fe_parse_stmt;

/* Lists under construction: the parser appends at the tail in O(1). */
typedef struct fe_stmt_list { fe_stmt *head, *tail; } fe_stmt_list;
typedef struct fe_arg_list { fe_arg *head, *tail; } fe_arg_list;
typedef struct fe_formal_list { fe_formal *head, *tail; } fe_formal_list;
typedef struct fe_setting_list { fe_setting *head, *tail; } fe_setting_list;
typedef struct fe_seg_list { fe_name_seg *head, *tail; } fe_seg_list;
typedef struct fe_item_list { fe_item *head, *tail; } fe_item_list;

/* ---- parse_build.c: node constructors. Each returns NULL only when out of
 * memory (after reporting it once). Children may be NULL after a syntax
 * error was reported; such trees are never elaborated. Expressions deeper
 * than FE_MAX_EXPR_DEPTH are reported once and not deepened further. */
void *fe_parse_alloc(fe_parse_state *ps, size_t size);
void  fe_parse_oom(fe_parse_state *ps);
fe_expr *fe_parse_int(fe_parse_state *ps, moec_loc loc, int64_t v);
fe_expr *fe_parse_float(fe_parse_state *ps, moec_loc loc, double v);
fe_expr *fe_parse_bool(fe_parse_state *ps, moec_loc loc, bool v);
fe_expr *fe_parse_string(fe_parse_state *ps, moec_loc loc, const char *s);
fe_expr *fe_parse_name(fe_parse_state *ps, moec_loc loc, const char *name);
fe_expr *fe_parse_unary(fe_parse_state *ps, moec_loc loc, fe_op op, fe_expr *e);
fe_expr *fe_parse_binary(fe_parse_state *ps, moec_loc loc, fe_op op, fe_expr *l, fe_expr *r);
fe_expr *fe_parse_cond(fe_parse_state *ps, moec_loc loc, fe_expr *c, fe_expr *a, fe_expr *b);
fe_expr *fe_parse_call(fe_parse_state *ps, moec_loc loc, const char *name, fe_arg *args, fe_name_seg *as);
fe_arg *fe_parse_arg(fe_parse_state *ps, moec_loc loc, const char *keyword, fe_expr *value);
fe_name_seg *fe_parse_seg(fe_parse_state *ps, moec_loc loc, const char *name, fe_expr *index);
fe_formal *fe_parse_formal(fe_parse_state *ps, moec_loc loc, const char *name);
fe_setting *fe_parse_setting(fe_parse_state *ps, moec_loc loc, const char *key, fe_expr *value);

fe_stmt *fe_parse_assign(fe_parse_state *ps, moec_loc loc, const char *name, fe_expr *value);
fe_stmt *fe_parse_return(fe_parse_state *ps, moec_loc loc, fe_expr *value);
fe_stmt *fe_parse_if(fe_parse_state *ps, moec_loc loc, fe_expr *cond, fe_stmt *body, fe_stmt *orelse);
fe_stmt *fe_parse_for(fe_parse_state *ps, moec_loc loc, const char *var, fe_expr *lo, fe_expr *hi, fe_stmt *body);

fe_item *fe_parse_item(fe_parse_state *ps, fe_item_kind kind, moec_loc loc);

/* ---- parse_lex.c: what the lexer's actions do, kept out of flex's file. */
/* Moves the position over the `len` bytes just matched (any rule, comments
 * and blanks too); the match started at (ps->line, ps->col) before the call. */
void fe_lex_advance(fe_parse_state *ps, size_t len);
/* Records the match just advanced over as the newest token (for messages). */
void fe_lex_token(fe_parse_state *ps, moec_loc loc, size_t len);
/* An identifier copied into the arena (NULL when out of memory). */
const char *fe_lex_ident(fe_parse_state *ps, const char *text, size_t len);
/* Decimal integer; reports one that does not fit in 63 bits and gives 0. */
int64_t fe_lex_int(fe_parse_state *ps, moec_loc loc, const char *text, size_t len);
/* Float; reports one out of double's range and gives 0. `text` is NUL-terminated. */
double fe_lex_float(fe_parse_state *ps, moec_loc loc, const char *text, size_t len);
/* String literal text as matched (opening quote, maybe no closing one): reports
 * a missing quote, a newline, a NUL byte or an unknown escape, and returns the
 * value with escapes resolved (NULL when out of memory). `next` is the byte
 * after the match, or -1 at the end of the input. */
const char *fe_lex_string(fe_parse_state *ps, moec_loc loc, const char *text, size_t len, int next);
/* A run of bytes no token starts with: one error for the whole run. */
void fe_lex_bad_bytes(fe_parse_state *ps, moec_loc loc, const char *text, size_t len);

#endif
