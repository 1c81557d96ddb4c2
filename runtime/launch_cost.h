/* runtime/launch_cost.h -- what one launch of a kernel program costs on
 * paper, and its class, for `moec bench`: the arithmetic it does (FLOPs),
 * the bytes it loads and stores, and which of the bench table's classes it
 * falls in. Reads a kernel program (ir/kernel.h) and the graph it was fused
 * from; writes nothing. The counting rules are in doc/performance.md,
 * "moec bench". */
#ifndef MOEC_RUNTIME_LAUNCH_COST_H
#define MOEC_RUNTIME_LAUNCH_COST_H

#include "ir/graph.h"
#include "ir/kernel.h"
#include "ir/lower.h"

/* The rows of the bench table, in the order they print. */
typedef enum rt_kclass {
    RT_KCLASS_GEMM,          /* matrix products, plain and grouped */
    RT_KCLASS_ELEMENTWISE,   /* loop kernels without a reduce axis */
    RT_KCLASS_REDUCTION,     /* loop kernels with a reduce axis */
    RT_KCLASS_MOE_DISPATCH,  /* in an MoE layer's own scope: templates, and loop kernels that gather or scatter */
    RT_KCLASS_OPTIMIZER,     /* gradient clipping and AdamW (scopes "grad" and "adamw") */
    RT_KCLASS_TEMPLATE,      /* the other templates (an embedding's gradient, cross-entropy's) */
    RT_KCLASS_COUNT
} rt_kclass;

/* "GEMM", "fused elementwise", ...: the table's words. */
const char *rt_kclass_name(rt_kclass c);
/* "gemm", "elementwise", ...: the JSON keys. */
const char *rt_kclass_key(rt_kclass c);

typedef struct rt_launch_cost {
    double flops;     /* arithmetic operations of one run of the launch */
    double bytes;     /* bytes it loads and stores in one run (an estimate: doc/performance.md) */
    rt_kclass cls;
    int node;         /* the graph node it computes, or -1 when unknown */
} rt_launch_cost;

/* What classifying needs besides the program: the graph it was fused from
 * (NULL: no scopes known, so no launch is MoE dispatch or optimizer) and
 * the MoE layers of the model (their scopes). */
typedef struct rt_cost_context {
    const ir_kprogram *p;
    const ir_graph *g;
    const ir_moe_layer *moe;
    int n_moe;
} rt_cost_context;

/* The graph node launch `launch` computes: the id its name ends in
 * ("..._n123", ir/fuse.c names every launch so), else the node of the
 * first buffer it writes; -1 when neither names a node of g. */
int rt_launch_node(const rt_cost_context *c, int launch);

/* The cost and class of launch `launch`. The FLOPs of a grouped product
 * use its static row bound (doc/performance.md). */
rt_launch_cost rt_launch_cost_of(const rt_cost_context *c, int launch);

#endif
