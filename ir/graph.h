/* ir/graph.h -- the graph IR: a tensor graph with static shapes.
 * Reads nothing; written by ir/lower.c (from the front end's fe_model),
 * extended by ir/autodiff.c (gradients) and ir/step.c (loss, optimizer), and
 * read by the interpreter (ir/interp.h), the printers and later the fuser.
 *
 * Nodes are immutable and appended in topological order; a node's id is its
 * index. Builders check shapes with the op's shape rule and return the new
 * node's id, or -1 when an operand is -1 or the rule fails. The first failure
 * is reported through the error sink the graph's owner attaches (g->diag),
 * naming the node, the op, the shapes and the node's model-file place, and
 * g->failed stays set: a lowering can build a whole subgraph and check once
 * at the end.
 * Every node records the model-file place and scope it came from
 * (ir_set_origin before building a call's nodes).
 * Shape legend: B batch, T sequence, d width, V vocabulary, E experts,
 * H heads, k selected per row, N = B*T tokens. */
#ifndef MOEC_IR_GRAPH_H
#define MOEC_IR_GRAPH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "support/arena.h"
#include "support/assert.h"
#include "support/diag.h"

enum { IR_MAX_RANK = 6, IR_MAX_INPUTS = 3 };
/* Room for attributes in a node: integers (a PERMUTE's perm takes one per
 * axis) and reals. ops.c checks every op's attributes fit. */
enum { IR_MAX_INT_ATTRS = IR_MAX_RANK, IR_MAX_REAL_ATTRS = 2 };

typedef enum ir_op {
#define IR_OP(name, str, arity, kind) IR_##name,
#include "ir/ops.def"
    IR_OP_COUNT
} ir_op;

/* Attribute names (ops.def): IR_ATTR_axis, IR_ATTR_keepdim, ... */
typedef enum ir_attr {
#define IR_ATTR(name, type, length, printed) IR_ATTR_##name,
#include "ir/ops.def"
    IR_ATTR_COUNT
} ir_attr;

typedef enum ir_kind {
    IR_KIND_LEAF, IR_KIND_UNARY, IR_KIND_BINARY, IR_KIND_WHERE, IR_KIND_REDUCE,
    IR_KIND_SCAN, IR_KIND_MOVE, IR_KIND_MATMUL, IR_KIND_INDEX,
} ir_kind;

/* Element types (dtypes.def): IR_F32, IR_I32, IR_BF16, IR_F16, IR_F64. */
typedef enum ir_dtype {
#define IR_DTYPE(name, str, bytes, ctype, cuda, is_float) IR_##name,
#include "ir/dtypes.def"
    IR_DTYPE_COUNT
} ir_dtype;

typedef struct ir_shape {
    int rank;                  /* 0 = scalar */
    int64_t dim[IR_MAX_RANK];  /* all >= 1 */
} ir_shape;

/* What an INPUT leaf is bound to at run time. */
typedef enum ir_input_slot {
    IR_INPUT_TOKENS,    /* i32 [B, T]  input token ids */
    IR_INPUT_TARGETS,   /* i32 [B, T]  next-token ids */
    IR_INPUT_DOMAIN,    /* i32 [B]     domain label of each sequence */
    IR_INPUT_STEP,      /* f32 []      optimizer step (0-based), for schedules and random keys */
    IR_INPUT_SLOT_COUNT
} ir_input_slot;

typedef enum ir_random_dist { IR_RANDOM_NORMAL, IR_RANDOM_UNIFORM, IR_RANDOM_DIST_COUNT } ir_random_dist;
typedef enum ir_cmp { IR_CMP_LT, IR_CMP_LE, IR_CMP_GT, IR_CMP_GE, IR_CMP_EQ, IR_CMP_NE, IR_CMP_COUNT } ir_cmp;

typedef struct ir_node {
    ir_op op;
    ir_dtype dtype;
    ir_shape shape;
    int in[IR_MAX_INPUTS];       /* operand ids, all smaller than this node's id */
    int n_in;
    int64_t ai[IR_MAX_INT_ATTRS];   /* integer attributes: through the accessors below only */
    double af[IR_MAX_REAL_ATTRS];   /* real attributes: likewise */
    moec_loc loc;                  /* model-file place of the call this node came from */
    const char *scope;           /* its dotted scope ("h.3.attn"), or NULL */
    const char *label;           /* PARAM: parameter name; INPUT: slot name; else NULL */
} ir_node;

typedef struct ir_graph {
    ir_node *nodes;              /* n_nodes entries, topological */
    int n_nodes;
    int cap;
    moec_arena arena;              /* labels and scopes */
    moec_loc cur_loc;              /* origin stamped on new nodes */
    const char *cur_scope;
    bool cse;                    /* builders return an existing equal node (default true) */
    void *cse_table;             /* owned by graph.c */
    moec_diag *diag;             /* where failures go: the owner sets it after ir_graph_init (NULL: not printed) */
    bool failed;                 /* a failure was reported; later ones are not (the first is worth reading) */
} ir_graph;

/* ---- attributes (ops.def) ----
 * For each attribute name a getter and a setter, generated from ops.def:
 *     int64_t ir_attr_axis(const ir_node *n);       void ir_attr_set_axis(ir_node *n, int64_t v);
 *     double  ir_attr_value(const ir_node *n);      void ir_attr_set_value(ir_node *n, double v);
 *     int64_t ir_attr_perm(const ir_node *n, int i); void ir_attr_set_perm(ir_node *n, int i, int64_t v);
 * Using one on a node whose op has no such attribute is a bug (MOEC_ASSERT). */

typedef enum ir_attr_type { IR_ATTR_TYPE_INT, IR_ATTR_TYPE_INTS, IR_ATTR_TYPE_REAL } ir_attr_type;

/* Per attribute name: "axis", its type, and its length (entries of an INTS, else 1). */
typedef struct ir_attr_info {
    const char *name;
    ir_attr_type type;
    int length;
} ir_attr_info;

extern const ir_attr_info ir_attrs[IR_ATTR_COUNT];

/* Position + 1 of attribute a in a node of op o (ai[] or af[] by its type),
 * 0 when o has no attribute a. Derived from ops.def in ops.c. */
extern const unsigned char ir_op_attr_table[IR_OP_COUNT][IR_ATTR_COUNT];

/* Where op keeps attribute a: its position, or -1 if op has no attribute a. */
static inline int ir_op_attr(ir_op op, ir_attr a)
{
    MOEC_ASSERT((unsigned)op < IR_OP_COUNT && (unsigned)a < IR_ATTR_COUNT);
    return ir_op_attr_table[op][a] - 1;
}

static inline int ir_node_attr(const ir_node *n, ir_attr a)
{
    int pos = ir_op_attr(n->op, a);
    MOEC_ASSERT(pos >= 0);   /* the node's op has this attribute */
    return pos;
}

/* Any attribute by its name id, for code that walks an op's attributes (the
 * printer): entry i of an integer attribute (0 unless INTS), or a real one. */
static inline int64_t ir_node_int(const ir_node *n, ir_attr a, int i)
{
    int pos = ir_node_attr(n, a);
    MOEC_ASSERT(ir_attrs[a].type != IR_ATTR_TYPE_REAL && i >= 0 && i < ir_attrs[a].length);
    return n->ai[pos + i];
}

static inline void ir_node_set_int(ir_node *n, ir_attr a, int i, int64_t v)
{
    int pos = ir_node_attr(n, a);
    MOEC_ASSERT(ir_attrs[a].type != IR_ATTR_TYPE_REAL && i >= 0 && i < ir_attrs[a].length);
    n->ai[pos + i] = v;
}

static inline double ir_node_real(const ir_node *n, ir_attr a)
{
    int pos = ir_node_attr(n, a);
    MOEC_ASSERT(ir_attrs[a].type == IR_ATTR_TYPE_REAL);
    return n->af[pos];
}

static inline void ir_node_set_real(ir_node *n, ir_attr a, double v)
{
    int pos = ir_node_attr(n, a);
    MOEC_ASSERT(ir_attrs[a].type == IR_ATTR_TYPE_REAL);
    n->af[pos] = v;
}

#define IR_ATTR_ACCESSORS_INT(name)                                                                   \
    static inline int64_t ir_attr_##name(const ir_node *n) { return ir_node_int(n, IR_ATTR_##name, 0); } \
    static inline void ir_attr_set_##name(ir_node *n, int64_t v) { ir_node_set_int(n, IR_ATTR_##name, 0, v); }
#define IR_ATTR_ACCESSORS_INTS(name)                                                                         \
    static inline int64_t ir_attr_##name(const ir_node *n, int i) { return ir_node_int(n, IR_ATTR_##name, i); } \
    static inline void ir_attr_set_##name(ir_node *n, int i, int64_t v) { ir_node_set_int(n, IR_ATTR_##name, i, v); }
#define IR_ATTR_ACCESSORS_REAL(name)                                                                  \
    static inline double ir_attr_##name(const ir_node *n) { return ir_node_real(n, IR_ATTR_##name); } \
    static inline void ir_attr_set_##name(ir_node *n, double v) { ir_node_set_real(n, IR_ATTR_##name, v); }
#define IR_ATTR(name, type, length, printed) IR_ATTR_ACCESSORS_##type(name)
#include "ir/ops.def"
#undef IR_ATTR_ACCESSORS_INT
#undef IR_ATTR_ACCESSORS_INTS
#undef IR_ATTR_ACCESSORS_REAL

/* ---- names and dtypes ---- */

/* "f32", "bf16", ...; "?" for a value that is no dtype. */
const char *ir_dtype_name(ir_dtype d);
int ir_dtype_size(ir_dtype d);               /* bytes per element */
const char *ir_dtype_c_type(ir_dtype d);     /* host C storage: "float", "int32_t", "uint16_t" (bf16, f16 bits) */
const char *ir_dtype_cuda_type(ir_dtype d);  /* "float", "int", "__nv_bfloat16", "__half", "double" */
bool ir_dtype_is_float(ir_dtype d);
/* The graph IR and the interpreter compute with it today: f32 and i32. The
 * shape rules and the verifier reject nodes of any other dtype. */
bool ir_dtype_computed(ir_dtype d);
/* "lt", "normal", "tokens"; "?" for a value out of range. */
const char *ir_cmp_name(ir_cmp c);
/* The C (and CUDA C) operator of a comparison: "<", "<=", ... */
const char *ir_cmp_c_operator(ir_cmp c);
const char *ir_random_dist_name(ir_random_dist d);
const char *ir_input_slot_name(ir_input_slot s);

int  ir_graph_init(ir_graph *g);          /* 0, or -1 out of memory; then attach g->diag */
void ir_graph_free(ir_graph *g);
void ir_set_origin(ir_graph *g, moec_loc loc, const char *scope);
static inline const ir_node *ir_node_at(const ir_graph *g, int id) { return &g->nodes[id]; }
int64_t ir_shape_numel(const ir_shape *s);
ir_shape ir_shape_of(int rank, const int64_t *dims);
/* "[2, 8, 64]" into buf; returns buf. */
char *ir_shape_str(const ir_shape *s, char *buf, size_t size);
const char *ir_op_name(ir_op op);
ir_kind ir_op_kind(ir_op op);
/* Reports a failure that belongs to no node (a lowering setting, a bad
 * argument) through g->diag, unless an earlier one was reported; sets
 * g->failed and returns -1. */
int ir_graph_fail(ir_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ir_graph_vfail(ir_graph *g, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* ---- leaves ---- */
int ir_input(ir_graph *g, ir_input_slot slot, ir_shape shape);
int ir_param(ir_graph *g, int index, const char *name, ir_shape shape);
int ir_const(ir_graph *g, double value, ir_shape shape);
int ir_scalar(ir_graph *g, double value);                 /* rank-0 CONST */
int ir_iota(ir_graph *g, ir_shape shape, int axis);
int ir_random(ir_graph *g, int step, ir_random_dist dist, int64_t stream, int64_t seed, ir_shape shape);

/* ---- elementwise ---- */
int ir_unary(ir_graph *g, ir_op op, int x);               /* NEG EXP LOG TANH SQRT RSQRT ERF STOP_GRAD */
int ir_cast(ir_graph *g, int x, ir_dtype to);
int ir_binary(ir_graph *g, ir_op op, int a, int b);       /* ADD SUB MUL DIV MAX */
int ir_compare(ir_graph *g, ir_cmp cmp, int a, int b);
int ir_where(ir_graph *g, int cond, int a, int b);

/* ---- reductions and scans (axis may be negative: -1 is the last) ---- */
int ir_sum(ir_graph *g, int x, int axis, bool keepdim);
int ir_reduce_max(ir_graph *g, int x, int axis, bool keepdim);
int ir_cumsum(ir_graph *g, int x, int axis);

/* ---- movement ---- */
int ir_reshape(ir_graph *g, int x, ir_shape shape);
int ir_permute(ir_graph *g, int x, const int *perm);      /* perm has rank entries */
int ir_slice(ir_graph *g, int x, int axis, int64_t start, int64_t len);
int ir_concat(ir_graph *g, int a, int b, int axis);
int ir_broadcast(ir_graph *g, int x, ir_shape shape);

/* ---- contractions and indexing ---- */
int ir_matmul(ir_graph *g, int a, int b);
/* Grouped products over consecutive row groups (counts i32 [E], expert e's
 * rows after those of experts < e): x [R,K] by w [E,K,N] -> [R,N], row r of
 * group e is x[r] w[e], rows past sum(counts) are 0; and its weight
 * gradient x [R,K], dy [R,N] -> [E,K,N], per group e x_e^T dy_e. */
int ir_grouped_matmul(ir_graph *g, int x, int w, int counts);
int ir_grouped_outer(ir_graph *g, int x, int dy, int counts);
int ir_gather(ir_graph *g, int table, int idx);
int ir_scatter_add(ir_graph *g, int src, int idx, int64_t rows);
int ir_topk(ir_graph *g, int x, int k);
int ir_take(ir_graph *g, int x, int idx);
int ir_put(ir_graph *g, int src, int idx, int64_t n);
int ir_one_hot(ir_graph *g, int idx, int64_t n);

/* Checks every node against its op's rules (operand ids, arity, dtypes,
 * shapes). Returns 0, or -1 after reporting the first failure (ir_graph_fail's
 * rules). Run after every pass in tests. */
int ir_verify(ir_graph *g);

/* One node a line: "%12 = add %10 %11 : f32[2, 8, 64]  h.0.attn  @14:5". */
void ir_graph_print(FILE *out, const ir_graph *g);

#endif
