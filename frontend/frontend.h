/* frontend/frontend.h -- the front end's public entry points, in pipeline order:
 * a model file is loaded (diag.h), parsed into an AST (ast.h), and elaborated
 * into a flat model (model.h). Each step reports through an moec_diag and
 * returns 0 on success, -1 when it reported errors. */
#ifndef MOEC_FRONTEND_H
#define MOEC_FRONTEND_H

#include <stdio.h>

#include "support/arena.h"
#include "frontend/ast.h"
#include "support/diag.h"
#include "frontend/model.h"

/* Parses src into *out (nodes in `arena`). Reports every syntax error it can
 * recover from, up to the sink's limit. */
int fe_parse(const moec_source *src, moec_arena *arena, moec_diag *d, fe_ast *out);

/* Prints the AST as an indented tree, one node a line, with line:col. */
void fe_ast_print(FILE *out, const fe_ast *ast);

/* One --set name=value from the command line, value as typed. */
typedef struct fe_override {
    const char *name;
    const char *value;
} fe_override;

/* Runs the model file at compile time (see model.h). `sets` override params
 * and train settings by name; a wrong name or type is an error naming it. */
int fe_elaborate(const fe_ast *ast, const fe_override *sets, int n_sets,
                 moec_arena *arena, moec_diag *d, fe_model *out);

/* Prints the elaborated model: params with shapes, routers, nodes, loss,
 * train settings and the parameter count (with thousands separators). */
void fe_model_print(FILE *out, const fe_model *m);

#endif
