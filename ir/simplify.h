/* ir/simplify.h -- the graph pass before fusion: a graph is rebuilt into a
 * new one holding only what its roots need (dead code gone), with equal
 * nodes merged (the builders hash-cons), constants folded, and identities
 * removed (x*1, x/1, x-0, neg neg x, reshape/broadcast/permute/slice/cast
 * that change nothing, chains of reshapes and of permutes). Only rewrites
 * exact in IEEE arithmetic: x+0 stays (-0 + 0 is +0), x*0 stays (inf*0).
 * doc/ir.md, "Simplification". */
#ifndef MOEC_IR_SIMPLIFY_H
#define MOEC_IR_SIMPLIFY_H

#include "ir/graph.h"

typedef struct ir_simplify_stats {
    int nodes_in, nodes_out;   /* all nodes of the old graph; nodes of the new one */
    int dead;                  /* old nodes no root needs */
    int folded;                /* nodes that became constants */
    int identities;            /* nodes replaced by an operand (or a shorter chain) */
} ir_simplify_stats;

/* Rebuilds the part of `in` that roots[0..n_roots) need into `out` (an
 * initialised, empty graph). map[i] gets old node i's new id (-1 when dead;
 * map has in->n_nodes entries). Returns 0, or -1 with out->error set. */
int ir_simplify(const ir_graph *in, const int *roots, int n_roots, ir_graph *out, int *map,
                ir_simplify_stats *stats);

#endif
