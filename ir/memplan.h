/* ir/memplan.h -- the memory plan of a kernel program: every activation and
 * scratch buffer gets an offset in one arena, so that buffers whose lives
 * (first write .. last read, in launch order) overlap never share bytes.
 * Persistent buffers (parameters, gradients, optimizer state, inputs,
 * outputs) are not in the arena. doc/kernels.md, "Memory plan". */
#ifndef MOEC_IR_MEMPLAN_H
#define MOEC_IR_MEMPLAN_H

#include <stdint.h>
#include <stdio.h>

#include "ir/kernel.h"

enum { IR_ARENA_ALIGN = 64 };   /* bytes: a cache line, and wide enough for any vector load */

typedef struct ir_memplan_stats {
    int64_t arena_bytes;    /* the arena's size */
    int64_t peak_bytes;     /* most bytes live at once (a lower bound for any plan) */
    int64_t naive_bytes;    /* every arena buffer apart, as without a plan */
    int64_t persistent_bytes; /* parameters, gradients, optimizer state, inputs, outputs */
    int n_arena;            /* buffers placed in the arena */
} ir_memplan_stats;

/* Sets arena_offset of every arena buffer (views: parent's offset plus
 * theirs) and p->arena_bytes. Returns 0, or -1 out of memory (reported). */
int ir_memplan(ir_kprogram *p, ir_memplan_stats *stats, moec_diag *d);

/* `moec ir --stage memory`: the totals, then one line per arena buffer. */
void ir_memplan_print(FILE *out, const ir_kprogram *p, const ir_memplan_stats *stats);

#endif
