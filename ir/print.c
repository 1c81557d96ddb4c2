/* ir/print.c -- the graph printer: one node a line, numbered values, no
 * pointers, so dumps are stable and diffable (golden tests):
 *   %12 = add %10 %11 : f32[2, 8, 64]  h.0.attn  @14:5
 * Attributes follow the operands in braces. Reads a graph; writes the FILE*
 * it is given and nothing else. */
#include <inttypes.h>

#include "ir/ops.h"

static const char *const cmp_names[] = {"lt", "le", "gt", "ge", "eq", "ne"};

static void print_attrs(FILE *out, const ir_node *n)
{
    switch (n->op) {
    case IR_INPUT: fprintf(out, " {%s}", n->label ? n->label : "?"); break;
    case IR_PARAM: fprintf(out, " {%" PRId64 " %s}", n->ai[0], n->label ? n->label : "?"); break;
    case IR_CONST: fprintf(out, " {%.17g}", n->af[0]); break;
    case IR_IOTA: fprintf(out, " {axis=%" PRId64 "}", n->ai[0]); break;
    case IR_RANDOM:
        fprintf(out, " {%s stream=%" PRId64 " seed=%" PRId64 "}", n->ai[0] == IR_RANDOM_NORMAL ? "normal" : "uniform",
                n->ai[1], n->ai[2]);
        break;
    case IR_CAST: fprintf(out, " {%s}", n->ai[0] == IR_F32 ? "f32" : "i32"); break;
    case IR_CMP: fprintf(out, " {%s}", (uint64_t)n->ai[0] < 6 ? cmp_names[n->ai[0]] : "?"); break;
    case IR_SUM: case IR_REDUCE_MAX:
        fprintf(out, " {axis=%" PRId64 "%s}", n->ai[0], n->ai[1] ? " keepdim" : "");
        break;
    case IR_CUMSUM: case IR_CONCAT: fprintf(out, " {axis=%" PRId64 "}", n->ai[0]); break;
    case IR_PERMUTE:
        fprintf(out, " {");
        for (int i = 0; i < n->shape.rank; i++) fprintf(out, "%s%" PRId64, i ? " " : "", n->ai[i]);
        fprintf(out, "}");
        break;
    case IR_SLICE:
        fprintf(out, " {axis=%" PRId64 " start=%" PRId64 " len=%" PRId64 "}", n->ai[0], n->ai[1], n->ai[2]);
        break;
    case IR_SCATTER_ADD: case IR_TOPK: case IR_PUT: case IR_ONE_HOT: fprintf(out, " {%" PRId64 "}", n->ai[0]); break;
    default: break;
    }
}

void ir_graph_print(FILE *out, const ir_graph *g)
{
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        char shape[96];
        fprintf(out, "%%%d = %s", id, ir_op_name(n->op));
        for (int k = 0; k < n->n_in; k++) fprintf(out, " %%%d", n->in[k]);
        print_attrs(out, n);
        fprintf(out, " : %s%s", n->dtype == IR_F32 ? "f32" : "i32", ir_shape_str(&n->shape, shape, sizeof shape));
        if (n->scope) fprintf(out, "  %s", n->scope);
        if (n->loc.line) fprintf(out, "  @%d:%d", n->loc.line, n->loc.col);
        fputc('\n', out);
    }
}
