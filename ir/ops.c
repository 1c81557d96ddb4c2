/* ir/ops.c -- the one ops table: for every op of ops.def its name, arity,
 * kind, shape rule, VJP rule and interpreter kernel. A RULES_<NAME> line per
 * op below is required: an op added to ops.def without one does not compile,
 * and the static assert checks the table has IR_OP_COUNT rows. Reads and
 * writes nothing at run time; graph.c, interp.c and autodiff.c index it. */
#include "ir/ops.h"

/*        op            shape rule               VJP rule             kernel */
#define RULES_INPUT       ir_shape_input,        ir_vjp_none,         ir_kern_leaf
#define RULES_PARAM       ir_shape_param,        ir_vjp_none,         ir_kern_leaf
#define RULES_CONST       ir_shape_const,        ir_vjp_none,         ir_kern_const
#define RULES_IOTA        ir_shape_iota,         ir_vjp_none,         ir_kern_iota
#define RULES_RANDOM      ir_shape_random,       ir_vjp_none,         ir_kern_random
#define RULES_NEG         ir_shape_unary,        ir_vjp_neg,          ir_kern_unary
#define RULES_EXP         ir_shape_unary,        ir_vjp_exp,          ir_kern_unary
#define RULES_LOG         ir_shape_unary,        ir_vjp_log,          ir_kern_unary
#define RULES_TANH        ir_shape_unary,        ir_vjp_tanh,         ir_kern_unary
#define RULES_SQRT        ir_shape_unary,        ir_vjp_sqrt,         ir_kern_unary
#define RULES_RSQRT       ir_shape_unary,        ir_vjp_rsqrt,        ir_kern_unary
#define RULES_ERF         ir_shape_unary,        ir_vjp_erf,          ir_kern_unary
#define RULES_STOP_GRAD   ir_shape_unary,        ir_vjp_none,         ir_kern_unary
#define RULES_CAST        ir_shape_cast,         ir_vjp_cast,         ir_kern_cast
#define RULES_ADD         ir_shape_binary,       ir_vjp_add,          ir_kern_binary
#define RULES_SUB         ir_shape_binary,       ir_vjp_sub,          ir_kern_binary
#define RULES_MUL         ir_shape_binary,       ir_vjp_mul,          ir_kern_binary
#define RULES_DIV         ir_shape_binary,       ir_vjp_div,          ir_kern_binary
#define RULES_MAX         ir_shape_binary,       ir_vjp_max,          ir_kern_binary
#define RULES_CMP         ir_shape_binary,       ir_vjp_none,         ir_kern_binary
#define RULES_WHERE       ir_shape_where,        ir_vjp_where,        ir_kern_where
#define RULES_SUM         ir_shape_reduce,       ir_vjp_sum,          ir_kern_reduce
#define RULES_REDUCE_MAX  ir_shape_reduce,       ir_vjp_reduce_max,   ir_kern_reduce
#define RULES_CUMSUM      ir_shape_cumsum,       ir_vjp_cumsum,       ir_kern_cumsum
#define RULES_RESHAPE     ir_shape_reshape,      ir_vjp_reshape,      ir_kern_copy
#define RULES_PERMUTE     ir_shape_permute,      ir_vjp_permute,      ir_kern_permute
#define RULES_SLICE       ir_shape_slice,        ir_vjp_slice,        ir_kern_slice
#define RULES_CONCAT      ir_shape_concat,       ir_vjp_concat,       ir_kern_concat
#define RULES_BROADCAST   ir_shape_broadcast_to, ir_vjp_broadcast,    ir_kern_broadcast
#define RULES_MATMUL      ir_shape_matmul,       ir_vjp_matmul,       ir_kern_matmul
#define RULES_GATHER      ir_shape_gather,       ir_vjp_gather,       ir_kern_gather
#define RULES_SCATTER_ADD ir_shape_scatter_add,  ir_vjp_scatter_add,  ir_kern_scatter_add
#define RULES_TOPK        ir_shape_topk,         ir_vjp_none,         ir_kern_topk
#define RULES_TAKE        ir_shape_take,         ir_vjp_take,         ir_kern_take
#define RULES_PUT         ir_shape_put,          ir_vjp_put,          ir_kern_put
#define RULES_ONE_HOT     ir_shape_one_hot,      ir_vjp_none,         ir_kern_one_hot

const ir_op_info ir_ops[IR_OP_COUNT] = {
#define IR_OP(name, str, arity, kind) [IR_##name] = {str, arity, kind, RULES_##name},
#include "ir/ops.def"
#undef IR_OP
};

/* The row count, counted from ops.def itself rather than trusted. */
enum {
#define IR_OP(name, str, arity, kind) IR_ROWS_##name,
#include "ir/ops.def"
#undef IR_OP
    IR_ROWS
};
_Static_assert((int)IR_ROWS == (int)IR_OP_COUNT, "ops table and ops.def disagree");
_Static_assert(sizeof ir_ops / sizeof ir_ops[0] == IR_OP_COUNT, "ops table needs IR_OP_COUNT rows");

const char *ir_op_name(ir_op op) { return (unsigned)op < IR_OP_COUNT ? ir_ops[op].name : "?"; }
ir_kind ir_op_kind(ir_op op) { return ir_ops[(unsigned)op < IR_OP_COUNT ? op : 0].kind; }
