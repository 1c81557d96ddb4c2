/* runtime/cpu/exec.h -- runs a kernel program (ir/kernel.h) on the CPU:
 * owns its buffers (persistent ones each on their own, activations and
 * scratch in one arena), lets the caller fill and read them by id or name,
 * and runs the launches in order: loop kernels through functions the caller
 * supplies (the LLVM JIT's, or hand-written ones in tests), matrix products
 * through CBLAS, templates through runtime/cpu/templates.c. Per-launch
 * timers. doc/kernels.md, "Running a program on the CPU". */
#ifndef MOEC_RUNTIME_CPU_EXEC_H
#define MOEC_RUNTIME_CPU_EXEC_H

#include <stdint.h>

#include "ir/kernel.h"
#include "runtime/cpu/pool.h"
#include "support/diag.h"

/* A compiled loop kernel: runs the points [point_begin, point_end) of its
 * launch's parallel space, flattened row-major (axis rank-1 fastest; a
 * rank-0 space has the one point 0). bufs[b] is the base address of buffer
 * b of the program (every buffer, indexed by id; a view's address is inside
 * its parent's). The executor calls it from several threads at once on
 * disjoint point ranges. It returns the number of faults it met (a gathered
 * index outside its buffer, an f32 -> i32 cast out of range, ...): 0 is
 * success, anything else a run error the executor reports with the launch's
 * name. The CPU code generator's functions have exactly this type
 * (cg_kernel_fn, codegen/cpu.h). */
typedef int64_t rt_loop_fn(void *const *bufs, int64_t point_begin, int64_t point_end);

/* Who splits a matrix product over the cores. */
typedef enum rt_gemm_split {
    RT_GEMM_POOL,   /* default: the pool cuts C into tiles, each one single-threaded sgemm */
    RT_GEMM_BLAS,   /* one sgemm per matrix on the caller, OpenBLAS threaded with the pool's count */
} rt_gemm_split;

/* Time spent in one launch, summed over runs. */
typedef struct rt_launch_time {
    int64_t ns;     /* wall-clock nanoseconds */
    int64_t runs;   /* rt_exec_run calls that ran it */
} rt_launch_time;

typedef struct rt_exec rt_exec;

/* An executor for p (checked with ir_kprogram_verify, then each product's
 * layout and each template's operands), with every buffer allocated and
 * zeroed. p, pool (NULL: one thread) and d must outlive it. NULL after
 * reporting to d. */
rt_exec *rt_exec_new(const ir_kprogram *p, rt_pool *pool, moec_diag *d);
void rt_exec_free(rt_exec *ex);

/* The function of loop launch `launch`. Returns 0, or -1 after reporting
 * (not a loop launch). Every loop launch needs one before rt_exec_run. */
int rt_exec_set_loop(rt_exec *ex, int launch, rt_loop_fn *fn);
/* The same for a function that takes the launch's buffers as arguments:
 * it is called with args[s] = the base address of buffer ids[s], s < n
 * (the CPU code generator's kernels: cg_cpu_arg_buffers). ids is copied. */
int rt_exec_set_loop_args(rt_exec *ex, int launch, rt_loop_fn *fn, const int *ids, int n);
void rt_exec_set_gemm_split(rt_exec *ex, rt_gemm_split how);

/* The id of the buffer named `name`, or -1. */
int rt_exec_find(const rt_exec *ex, const char *name);
/* The base address of buffer b (what loop kernels see as bufs[b]). */
void *rt_exec_data(const rt_exec *ex, int b);

/* Copies numel elements (the buffer's exact count) in or out of buffer b.
 * Returns 0, or -1 after reporting (no such buffer, wrong count). */
int rt_exec_write(rt_exec *ex, int b, const void *src, int64_t numel);
int rt_exec_read(const rt_exec *ex, int b, void *dst, int64_t numel);

/* Makes persistent, non-view buffer b live in the caller's memory `host`
 * (numel elements, 4-byte aligned, outliving the executor or the next bind)
 * instead of its own: weights loaded elsewhere are used in place. Views of b
 * follow it. Returns 0, or -1 after reporting. */
int rt_exec_bind(rt_exec *ex, int b, void *host, int64_t numel);

/* Runs every launch in order. Returns 0, or -1 after reporting the launch
 * that failed (a loop launch without a function, an index out of range in
 * a template, bad group sizes of a grouped product); the launches after it
 * do not run. */
int rt_exec_run(rt_exec *ex);

/* Per-launch times, p->n_launches entries, and their reset. */
const rt_launch_time *rt_exec_times(const rt_exec *ex);
void rt_exec_reset_times(rt_exec *ex);

/* Bytes of the arena (activations and scratch placed by the memory plan). */
int64_t rt_exec_arena_bytes(const rt_exec *ex);

#endif
