/* ir/fuse.h -- fusion: a step graph (ir/graph.h) becomes a kernel program
 * (ir/kernel.h). Decides which values live in buffers and which are
 * recomputed inside the kernels that use them, by how each consumer indexes
 * its operands (doc/kernels.md, "How the fuser decides kernel boundaries"),
 * then writes one launch per materialised value in graph order. */
#ifndef MOEC_IR_FUSE_H
#define MOEC_IR_FUSE_H

#include <stdbool.h>

#include "ir/graph.h"
#include "ir/kernel.h"
#include "support/diag.h"

/* A value the program must produce, or a leaf's buffer declaration. */
typedef struct ir_fuse_value {
    int node;             /* graph node */
    ir_buf_role role;     /* OUTPUT or GRAD for computed values; for a leaf: PARAM, OPT_STATE or INPUT */
    const char *name;     /* its buffer's name (copied) */
    int into;             /* -1, or a PARAM leaf whose buffer receives this value in place
                             (the optimizer's new parameters and moments) */
} ir_fuse_value;

typedef struct ir_fuse_options {
    bool fuse;            /* false: every node gets its own buffer and launch (--no-fuse) */
    int max_inline_cost;  /* a value used by several kernels is stored when recomputing it
                             costs more than this many ops (0: the default, 8) */
} ir_fuse_options;

/* Builds the program for `want` into out (initialised by the caller).
 * Leaves not declared in want get a buffer named by their label (PARAM ->
 * IR_BUF_PARAM, INPUT -> IR_BUF_INPUT). Returns 0, or -1 after reporting to d. */
int ir_fuse(const ir_graph *g, const ir_fuse_value *want, int n_want, const ir_fuse_options *opt,
            ir_kprogram *out, moec_diag *d);

#endif
