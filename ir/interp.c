/* ir/interp.c -- the reference interpreter's driver: binds leaf values,
 * walks the nodes in id order (which is topological), allocates each value
 * and calls the op's kernel from the ops table, then rounds f32 results in
 * float32 mode. Reads a graph and bound values; writes only its own buffers.
 * The kernels are in interp_kernels.c. */
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/ops.h"

struct ir_interp {
    const ir_graph *g;
    ir_precision prec;
    int n;              /* g->n_nodes when created: later nodes are not evaluated */
    double **bound;     /* per node: bound leaf values, or NULL */
    double **value;     /* per node: last computed value, or NULL */
};

ir_interp *ir_interp_new(const ir_graph *g, ir_precision prec)
{
    ir_interp *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->g = g;
    it->prec = prec;
    it->n = g->n_nodes;
    it->bound = calloc((size_t)it->n + 1, sizeof *it->bound);
    it->value = calloc((size_t)it->n + 1, sizeof *it->value);
    if (!it->bound || !it->value) {
        ir_interp_free(it);
        return NULL;
    }
    return it;
}

void ir_interp_free(ir_interp *it)
{
    if (!it) return;
    for (int i = 0; i < it->n; i++) {
        if (it->bound) free(it->bound[i]);
        if (it->value) free(it->value[i]);
    }
    free(it->bound);
    free(it->value);
    free(it);
}

static double *alloc_values(const ir_node *n)
{
    /* ir_shape_valid bounds numel by 2^40, so the byte count cannot overflow. */
    return malloc((size_t)ir_shape_numel(&n->shape) * sizeof(double));
}

int ir_interp_bind(ir_interp *it, int node, const double *values)
{
    if (node < 0 || node >= it->n) return -1;
    const ir_node *n = &it->g->nodes[node];
    if (n->op != IR_INPUT && n->op != IR_PARAM) return -1;
    if (!it->bound[node] && !(it->bound[node] = alloc_values(n))) return -1;
    memcpy(it->bound[node], values, (size_t)ir_shape_numel(&n->shape) * sizeof(double));
    return 0;
}

/* Marks `wanted` and everything it reads (all nodes when wanted < 0). */
static int mark_needed(const ir_interp *it, int wanted, bool *need)
{
    if (wanted < 0) {
        for (int i = 0; i < it->n; i++) need[i] = true;
        return 0;
    }
    need[wanted] = true;
    for (int i = wanted; i >= 0; i--)
        if (need[i])
            for (int k = 0; k < it->g->nodes[i].n_in; k++) need[it->g->nodes[i].in[k]] = true;
    return 0;
}

static int eval_node(ir_interp *it, int id, const ir_kctx *c)
{
    const ir_node *n = &it->g->nodes[id];
    int64_t numel = ir_shape_numel(&n->shape);
    if (!ir_dtype_computed(n->dtype))   /* the verifier rejects these too */
        return moec_error_node(c->diag, (moec_loc){0}, id, "%s: the interpreter computes in f32 and i32, not %s",
                               ir_op_name(n->op), ir_dtype_name(n->dtype));
    if (!it->value[id] && !(it->value[id] = alloc_values(n)))
        return moec_error_node(c->diag, (moec_loc){0}, id, "%s: out of memory", ir_op_name(n->op));
    double *out = it->value[id];
    if (n->op == IR_INPUT || n->op == IR_PARAM) {
        if (!it->bound[id])
            return moec_error_node(c->diag, (moec_loc){0}, id, "%s '%s' is not bound", ir_op_name(n->op),
                                   n->label ? n->label : "");
        memcpy(out, it->bound[id], (size_t)numel * sizeof *out);
    } else {
        const double *in[IR_MAX_INPUTS] = {NULL};
        for (int k = 0; k < n->n_in; k++) in[k] = it->value[n->in[k]];
        if (ir_ops[n->op].kernel(c, n, in, out)) return -1;
    }
    if (it->prec == IR_PREC_F32 && n->dtype == IR_F32)
        for (int64_t i = 0; i < numel; i++) out[i] = (double)(float)out[i];
    return 0;
}

int ir_interp_run(ir_interp *it, int wanted, moec_diag *d)
{
    ir_kctx c = {it->g, it->prec, d};
    if (wanted >= it->n) return moec_error(d, "node %d is not in the graph the interpreter was made for", wanted);
    bool *need = calloc((size_t)it->n + 1, sizeof *need);
    if (!need) return moec_error(d, "out of memory");
    mark_needed(it, wanted, need);
    int rc = 0;
    for (int id = 0; id < it->n && rc == 0; id++)
        if (need[id]) rc = eval_node(it, id, &c);
    free(need);
    return rc;
}

const double *ir_interp_value(const ir_interp *it, int node)
{
    return node >= 0 && node < it->n ? it->value[node] : NULL;
}
