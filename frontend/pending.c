/* frontend/pending.c -- TEMPORARY: placeholders until parser.y and elab.c land. */
#include "frontend/frontend.h"
int fe_parse(const fe_source *src, fe_arena *arena, fe_diag *d, fe_ast *out)
{ (void)src; (void)arena; (void)out; fe_error(d, "parser not built yet"); return -1; }
void fe_ast_print(FILE *out, const fe_ast *ast) { (void)out; (void)ast; }
int fe_elaborate(const fe_ast *ast, const fe_override *sets, int n_sets, fe_arena *arena, fe_diag *d, fe_model *out)
{ (void)ast; (void)sets; (void)n_sets; (void)arena; (void)out; fe_error(d, "elaboration not built yet"); return -1; }
void fe_model_print(FILE *out, const fe_model *m) { (void)out; (void)m; }
