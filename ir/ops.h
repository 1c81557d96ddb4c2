/* ir/ops.h -- the row type of the one ops table and the per-op rules it points
 * to. Internal to the IR core: graph.c (shape rules), interp.c (kernels) and
 * autodiff.c (VJP rules) read the table that ops.c derives from ops.def;
 * shape.c, vjp.c and interp_kernels.c define the rules. Lowering code uses
 * graph.h, interp.h and autodiff.h, never this header. */
#ifndef MOEC_IR_OPS_H
#define MOEC_IR_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/graph.h"
#include "ir/interp.h"

/* "No gradient flows into this operand", as opposed to -1, a failed builder. */
enum { IR_NO_GRAD = -2 };

/* What a kernel may read besides its operands: the graph (operand shapes),
 * the precision (f32 mode rounds accumulators) and where a run error goes. */
typedef struct ir_kctx {
    const ir_graph *g;
    ir_precision prec;
    moec_diag *diag;             /* run errors (may be NULL) */
} ir_kctx;

/* Shape rule: checks n's operands and attributes, and sets n->shape (unless
 * the op takes its shape from the builder: leaves, RESHAPE, BROADCAST) and
 * n->dtype. On failure reports it (ir_fail) and returns -1. id is the
 * node's id (the next id while building). */
typedef int ir_shape_fn(ir_graph *g, int id, ir_node *n);
/* VJP rule: given gout = d loss / d node (the node's shape), appends nodes
 * computing d loss / d in[i] (in[i]'s shape) for each i with want[i], into
 * gin[i]; gin[i] stays IR_NO_GRAD where nothing flows. Returns 0 or -1. */
typedef int ir_vjp_fn(ir_graph *g, int id, int gout, const bool want[IR_MAX_INPUTS], int gin[IR_MAX_INPUTS]);
/* Kernel: writes numel(n) values to out from its operands' values. The
 * interpreter rounds out to float32 afterwards in f32 mode; kernels round
 * only their intermediates (ir_kround). Returns 0, or -1 after reporting
 * through c->diag. */
typedef int ir_kernel_fn(const ir_kctx *c, const ir_node *n, const double *const in[IR_MAX_INPUTS], double *out);

typedef struct ir_op_info {
    const char *name;        /* printed name */
    int arity;               /* operand count; -1 variable */
    ir_kind kind;
    ir_shape_fn *shape;
    ir_vjp_fn *vjp;
    ir_kernel_fn *kernel;
} ir_op_info;

extern const ir_op_info ir_ops[IR_OP_COUNT];

/* What an INPUT leaf of each slot is: its name (the node's label), rank and dtype. */
typedef struct ir_input_slot_info {
    const char *name;
    int rank;
    ir_dtype dtype;
} ir_input_slot_info;

extern const ir_input_slot_info ir_input_slots[IR_INPUT_SLOT_COUNT];

/* Reports "%id op in scope @line:col: message" about node n (numbered id)
 * through g->diag unless an earlier failure was reported; sets g->failed and
 * returns -1, so rules can `return ir_fail(...)`. */
int ir_fail(ir_graph *g, int id, const ir_node *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Numpy broadcasting of two shapes (right-aligned; a 1 stretches). 0 or -1. */
int ir_broadcast_shapes(const ir_shape *a, const ir_shape *b, ir_shape *out);
bool ir_shape_eq(const ir_shape *a, const ir_shape *b);
/* rank within [0, IR_MAX_RANK], every dim >= 1, numel <= 2^40. */
bool ir_shape_valid(const ir_shape *s);
/* The f32 rounding of the interpreter for an intermediate of node n, such
 * as an accumulator: to float32 in f32 mode for f32 nodes; i32 values and
 * f64 mode are left exact. */
static inline double ir_kround(const ir_kctx *c, const ir_node *n, double v)
{
    return c->prec == IR_PREC_F32 && n->dtype == IR_F32 ? (double)(float)v : v;
}

/* ---- shape rules (shape.c) ---- */
ir_shape_fn ir_shape_input, ir_shape_param, ir_shape_const, ir_shape_iota, ir_shape_random,
    ir_shape_unary, ir_shape_cast, ir_shape_binary, ir_shape_where, ir_shape_reduce,
    ir_shape_cumsum, ir_shape_reshape, ir_shape_permute, ir_shape_slice, ir_shape_concat,
    ir_shape_broadcast_to, ir_shape_matmul, ir_shape_grouped_matmul, ir_shape_grouped_outer,
    ir_shape_gather, ir_shape_scatter_add, ir_shape_topk, ir_shape_take, ir_shape_put, ir_shape_one_hot;

/* ---- VJP rules (vjp.c) ---- */
ir_vjp_fn ir_vjp_none, ir_vjp_neg, ir_vjp_exp, ir_vjp_log, ir_vjp_tanh, ir_vjp_sqrt,
    ir_vjp_rsqrt, ir_vjp_erf, ir_vjp_cast, ir_vjp_add, ir_vjp_sub, ir_vjp_mul, ir_vjp_div, ir_vjp_max,
    ir_vjp_where, ir_vjp_sum, ir_vjp_reduce_max, ir_vjp_cumsum, ir_vjp_reshape,
    ir_vjp_permute, ir_vjp_slice, ir_vjp_concat, ir_vjp_broadcast, ir_vjp_matmul,
    ir_vjp_grouped_matmul, ir_vjp_grouped_outer,
    ir_vjp_gather, ir_vjp_scatter_add, ir_vjp_take, ir_vjp_put;

/* ---- interpreter kernels (interp_kernels.c) ---- */
ir_kernel_fn ir_kern_leaf, ir_kern_const, ir_kern_iota, ir_kern_random, ir_kern_unary,
    ir_kern_cast, ir_kern_binary, ir_kern_where, ir_kern_reduce, ir_kern_cumsum,
    ir_kern_copy, ir_kern_permute, ir_kern_slice, ir_kern_concat, ir_kern_broadcast,
    ir_kern_matmul, ir_kern_grouped_matmul, ir_kern_grouped_outer, ir_kern_gather,
    ir_kern_scatter_add, ir_kern_topk, ir_kern_take, ir_kern_put, ir_kern_one_hot;

#endif
