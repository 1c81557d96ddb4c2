/* ir/kinterp.h -- the reference evaluator of one loop kernel of a kernel
 * program (ir/kernel.h), over float32 and int32 buffers. Plain loops, one
 * point and one step of the reduce axis at a time: the oracle that the LLVM
 * code generator (codegen/llvm_kernel.c) and the fuser's tests compare
 * against. Its arithmetic is the graph interpreter's in float32 mode
 * (doc/kernels.md, "Scalars"). */
#ifndef MOEC_IR_KINTERP_H
#define MOEC_IR_KINTERP_H

#include <stdint.h>

#include "ir/kernel.h"

/* Runs points [point_begin, point_end) of loop launch l of p (point p is
 * the row-major flattening of the parallel axes, ir_kloop_points).
 * bufs[b] is buffer b's first element (float for f32, int32_t for i32).
 *
 * lanes says in which order reductions combine their terms: 1 is the
 * definition (term by term in the order of the reduce axis, from 0 or
 * -inf, as the graph interpreter sums); a power of two L is the order of a
 * backend with L partial results: term r goes to lane r mod L, each lane
 * combines its terms in order, then lanes j and j + w combine for
 * w = L/2, L/4, ..., 1 (doc/kernels.md, "Reductions"). The CPU backend
 * uses L = 8, or 1 in column kernels (cg_cpu_reduce_lanes, codegen/cpu.h).
 *
 * Returns 0, or -1 after reporting to d the first run error: a gathered
 * index outside its buffer, an f32 -> i32 cast out of range, an i32
 * division by zero, a random step that is not a non-negative integer, a
 * point range outside the loop. Elements written before an error stay
 * written. */
int ir_kloop_run_ref(const ir_kprogram *p, const ir_launch *l, void *const *bufs, int64_t point_begin,
                     int64_t point_end, int lanes, moec_diag *d);

#endif
