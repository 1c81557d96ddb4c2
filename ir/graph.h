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
#include "support/diag.h"

enum { IR_MAX_RANK = 6, IR_MAX_INPUTS = 3 };

typedef enum ir_op {
#define IR_OP(name, str, arity, kind) IR_##name,
#include "ir/ops.def"
#undef IR_OP
    IR_OP_COUNT
} ir_op;

typedef enum ir_kind {
    IR_KIND_LEAF, IR_KIND_UNARY, IR_KIND_BINARY, IR_KIND_WHERE, IR_KIND_REDUCE,
    IR_KIND_SCAN, IR_KIND_MOVE, IR_KIND_MATMUL, IR_KIND_INDEX,
} ir_kind;

typedef enum ir_dtype {
    IR_F32,   /* a real number: float32 on devices, float64 or float32 in the interpreter */
    IR_I32,   /* token ids, expert ids, positions */
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

typedef enum ir_random_dist { IR_RANDOM_NORMAL, IR_RANDOM_UNIFORM } ir_random_dist;
typedef enum ir_cmp { IR_CMP_LT, IR_CMP_LE, IR_CMP_GT, IR_CMP_GE, IR_CMP_EQ, IR_CMP_NE } ir_cmp;

typedef struct ir_node {
    ir_op op;
    ir_dtype dtype;
    ir_shape shape;
    int in[IR_MAX_INPUTS];       /* operand ids, all smaller than this node's id */
    int n_in;
    int64_t ai[IR_MAX_RANK];     /* int attributes (see ops.def); PERMUTE: ai[i] = perm[i] */
    double af[2];                /* float attributes */
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
