/* ir/ops.c -- the one ops table: for every op of ops.def its name, arity,
 * kind, shape rule, VJP rule and interpreter kernel; where each op keeps its
 * attributes; the names of attribute values (comparisons, distributions,
 * input slots). A RULES_<NAME> line per op below is required: an op added to
 * ops.def without one does not compile, and static asserts check every table
 * has IR_OP_COUNT rows and every attribute fits the node. Reads and writes
 * nothing at run time; the rest of the IR indexes these tables. */
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
#define RULES_GROUPED_MATMUL ir_shape_grouped_matmul, ir_vjp_grouped_matmul, ir_kern_grouped_matmul
#define RULES_GROUPED_OUTER  ir_shape_grouped_outer,  ir_vjp_grouped_outer,  ir_kern_grouped_outer
#define RULES_GATHER      ir_shape_gather,       ir_vjp_gather,       ir_kern_gather
#define RULES_SCATTER_ADD ir_shape_scatter_add,  ir_vjp_scatter_add,  ir_kern_scatter_add
#define RULES_TOPK        ir_shape_topk,         ir_vjp_none,         ir_kern_topk
#define RULES_TAKE        ir_shape_take,         ir_vjp_take,         ir_kern_take
#define RULES_PUT         ir_shape_put,          ir_vjp_put,          ir_kern_put
#define RULES_ONE_HOT     ir_shape_one_hot,      ir_vjp_none,         ir_kern_one_hot

const ir_op_info ir_ops[IR_OP_COUNT] = {
#define IR_OP(name, str, arity, kind) [IR_##name] = {str, arity, kind, RULES_##name},
#include "ir/ops.def"
};

/* The row count, counted from ops.def itself rather than trusted. */
enum {
#define IR_OP(name, str, arity, kind) IR_ROWS_##name,
#include "ir/ops.def"
    IR_ROWS
};
_Static_assert((int)IR_ROWS == (int)IR_OP_COUNT, "ops table and ops.def disagree");
_Static_assert(sizeof ir_ops / sizeof ir_ops[0] == IR_OP_COUNT, "ops table needs IR_OP_COUNT rows");

const char *ir_op_name(ir_op op) { return (unsigned)op < IR_OP_COUNT ? ir_ops[op].name : "?"; }

ir_kind ir_op_kind(ir_op op)
{
    MOEC_ASSERT((unsigned)op < IR_OP_COUNT);
    return ir_ops[op].kind;
}

/* ---- attributes ---- */

const ir_attr_info ir_attrs[IR_ATTR_COUNT] = {
#define IR_ATTR(name, type, length, printed) [IR_ATTR_##name] = {#name, IR_ATTR_TYPE_##type, length},
#include "ir/ops.def"
};
_Static_assert(sizeof ir_attrs / sizeof ir_attrs[0] == IR_ATTR_COUNT, "attribute table needs IR_ATTR_COUNT rows");

/* ---- attribute positions ----
 * Per attribute name: how many slots it takes, and how many the node has
 * for its type. */
enum { ROOM_INT = IR_MAX_INT_ATTRS, ROOM_INTS = IR_MAX_INT_ATTRS, ROOM_REAL = IR_MAX_REAL_ATTRS };
enum {
#define IR_ATTR(name, type, length, printed) LEN_##name = (length), ROOM_##name = ROOM_##type,
#include "ir/ops.def"
};

/* A sequence numbering ops.def's lines: op o's IR_OP line is o * STRIDE and
 * its IR_OP_ATTR lines count up from there (an INTS attribute takes one
 * number per entry), so an attribute's position is its distance from its
 * op's line, minus one. */
enum { STRIDE = 16 };
enum {
#define IR_OP(name, str, arity, kind) SEQ_##name = IR_##name * STRIDE,
#define IR_OP_ATTR(op, attr) SEQ_##op##_##attr, SEQ_END_##op##_##attr = SEQ_##op##_##attr + LEN_##attr - 1,
#include "ir/ops.def"
};
#define POS(op, attr) ((int)SEQ_##op##_##attr - (int)SEQ_##op - 1)

/* Each IR_OP_ATTR line sits under its own op's IR_OP line, and fits. */
#define IR_OP_ATTR(op, attr)                                                                     \
    _Static_assert((int)SEQ_##op##_##attr / STRIDE == (int)IR_##op && POS(op, attr) >= 0,       \
                   "IR_OP_ATTR(" #op ", " #attr ") must follow IR_OP(" #op ")");                \
    _Static_assert(POS(op, attr) + (int)LEN_##attr <= (int)ROOM_##attr,                        \
                   "attribute " #attr " of " #op " does not fit the node's ai[]/af[]");
#include "ir/ops.def"
_Static_assert((int)IR_MAX_INT_ATTRS < (int)STRIDE, "an op's attributes must fit between two op lines");

/* Position + 1, so that 0, every entry no line sets, means "no such
 * attribute". An op naming one attribute twice does not compile (duplicate
 * enumerator above). */
const unsigned char ir_op_attr_table[IR_OP_COUNT][IR_ATTR_COUNT] = {
#define IR_OP_ATTR(op, attr) [IR_##op][IR_ATTR_##attr] = POS(op, attr) + 1,
#include "ir/ops.def"
};
_Static_assert(sizeof ir_op_attr_table / sizeof ir_op_attr_table[0] == IR_OP_COUNT,
               "attribute table needs IR_OP_COUNT rows");

/* ---- names of attribute values ---- */

const ir_input_slot_info ir_input_slots[IR_INPUT_SLOT_COUNT] = {
    [IR_INPUT_TOKENS] = {"tokens", 2, IR_I32},
    [IR_INPUT_TARGETS] = {"targets", 2, IR_I32},
    [IR_INPUT_DOMAIN] = {"domain", 1, IR_I32},
    [IR_INPUT_STEP] = {"step", 0, IR_F32},
};
_Static_assert(IR_INPUT_SLOT_COUNT == 4, "one row per input slot above");

static const char *const cmp_names[IR_CMP_COUNT] = {
    [IR_CMP_LT] = "lt", [IR_CMP_LE] = "le", [IR_CMP_GT] = "gt",
    [IR_CMP_GE] = "ge", [IR_CMP_EQ] = "eq", [IR_CMP_NE] = "ne",
};
_Static_assert(IR_CMP_COUNT == 6, "one name per comparison above");

static const char *const dist_names[IR_RANDOM_DIST_COUNT] = {
    [IR_RANDOM_NORMAL] = "normal", [IR_RANDOM_UNIFORM] = "uniform",
};
_Static_assert(IR_RANDOM_DIST_COUNT == 2, "one name per distribution above");

const char *ir_cmp_name(ir_cmp c) { return (unsigned)c < IR_CMP_COUNT ? cmp_names[c] : "?"; }

const char *ir_cmp_c_operator(ir_cmp c)
{
    switch (c) {
    case IR_CMP_LT: return "<";
    case IR_CMP_LE: return "<=";
    case IR_CMP_GT: return ">";
    case IR_CMP_GE: return ">=";
    case IR_CMP_EQ: return "==";
    case IR_CMP_NE: return "!=";
    default: MOEC_UNREACHABLE();
    }
}
const char *ir_random_dist_name(ir_random_dist d) { return (unsigned)d < IR_RANDOM_DIST_COUNT ? dist_names[d] : "?"; }
const char *ir_input_slot_name(ir_input_slot s)
{
    return (unsigned)s < IR_INPUT_SLOT_COUNT ? ir_input_slots[s].name : "?";
}
