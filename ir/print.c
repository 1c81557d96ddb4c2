/* ir/print.c -- the graph printer: one node a line, numbered values, no
 * pointers, so dumps are stable and diffable (golden tests):
 *   %12 = add %10 %11 : f32[2, 8, 64]  h.0.attn  @14:5
 * Attributes follow the operands in braces, in the op's order and each as
 * ops.def's `printed` column says; a PARAM's name comes last. Reads a graph;
 * writes the FILE* it is given and nothing else. */
#include <inttypes.h>
#include <stdarg.h>

#include "ir/ops.h"

typedef enum style { P_KEY, P_NUM, P_FLAG, P_SLOT, P_DTYPE, P_CMP, P_DIST } style;

static const style styles[IR_ATTR_COUNT] = {
#define IR_ATTR(name, type, length, printed) [IR_ATTR_##name] = P_##printed,
#include "ir/ops.def"
};
_Static_assert(sizeof styles / sizeof styles[0] == IR_ATTR_COUNT, "a print style per attribute");

/* One item inside the braces: " {" before the first, " " before the others. */
static void item(FILE *out, int *items, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void item(FILE *out, int *items, const char *fmt, ...)
{
    va_list ap;
    fputs((*items)++ ? " " : " {", out);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
}

static void print_int(FILE *out, int *items, ir_attr a, int64_t v)
{
    const char *name = ir_attrs[a].name;
    switch (styles[a]) {
    case P_KEY: item(out, items, "%s=%" PRId64, name, v); break;
    case P_NUM: item(out, items, "%" PRId64, v); break;
    case P_FLAG:
        if (v) item(out, items, "%s", name);
        break;
    case P_SLOT: item(out, items, "%s", ir_input_slot_name((ir_input_slot)v)); break;
    case P_DTYPE: item(out, items, "%s", ir_dtype_name((ir_dtype)v)); break;
    case P_CMP: item(out, items, "%s", ir_cmp_name((ir_cmp)v)); break;
    case P_DIST: item(out, items, "%s", ir_random_dist_name((ir_random_dist)v)); break;
    default: MOEC_UNREACHABLE();
    }
}

static void print_attr(FILE *out, int *items, const ir_node *n, ir_attr a)
{
    switch (ir_attrs[a].type) {
    case IR_ATTR_TYPE_INT: print_int(out, items, a, ir_node_int(n, a, 0)); break;
    case IR_ATTR_TYPE_INTS:   /* one entry per axis of the node */
        for (int i = 0; i < n->shape.rank && i < ir_attrs[a].length; i++)
            print_int(out, items, a, ir_node_int(n, a, i));
        break;
    case IR_ATTR_TYPE_REAL:
        MOEC_ASSERT(styles[a] == P_KEY || styles[a] == P_NUM);
        if (styles[a] == P_KEY) item(out, items, "%s=%.17g", ir_attrs[a].name, ir_node_real(n, a));
        else item(out, items, "%.17g", ir_node_real(n, a));
        break;
    default: MOEC_UNREACHABLE();
    }
}

static void print_attrs(FILE *out, const ir_node *n)
{
    int items = 0;
    for (int pos = 0; pos < IR_MAX_INT_ATTRS; pos++)   /* in the op's order */
        for (int a = 0; a < IR_ATTR_COUNT; a++)
            if (ir_op_attr(n->op, (ir_attr)a) == pos) print_attr(out, &items, n, (ir_attr)a);
    if (n->op == IR_PARAM) item(out, &items, "%s", n->label ? n->label : "?");
    if (items) fputs("}", out);
}

void ir_graph_print(FILE *out, const ir_graph *g)
{
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = &g->nodes[id];
        char shape[96];
        fprintf(out, "%%%d = %s", id, ir_op_name(n->op));
        for (int k = 0; k < n->n_in; k++) fprintf(out, " %%%d", n->in[k]);
        print_attrs(out, n);
        fprintf(out, " : %s%s", ir_dtype_name(n->dtype), ir_shape_str(&n->shape, shape, sizeof shape));
        if (n->scope) fprintf(out, "  %s", n->scope);
        if (n->loc.line) fprintf(out, "  @%d:%d", n->loc.line, n->loc.col);
        fputc('\n', out);
    }
}
