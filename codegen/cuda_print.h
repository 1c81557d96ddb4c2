/* codegen/cuda_print.h -- the CUDA C printer: the loop kernels of a kernel
 * program (ir/kernel.h) as CUDA C source, one `__global__` function per
 * distinct loop kernel, each in a complete translation unit that NVRTC
 * compiles alone (codegen/nvrtc.h), and the launch plan that runs them.
 * Pure C with no CUDA dependency: the printing works, and is tested, on a
 * machine without the toolkit. doc/kernels.md, "CUDA C", says what the
 * printed code looks like and why.
 *
 * Launch shapes (cg_cuda_geometry):
 *   - a kernel without a reduce axis is elementwise: one thread per point of
 *     the parallel space, grid-stride, blocks of CG_CUDA_BLOCK threads;
 *   - a kernel with a reduce axis is a row kernel: one warp (32 lanes) per
 *     point, lane j taking terms r = j, j + 32, ... of the reduce axis in
 *     order, the 32 partial results folded by warp shuffles (lane j with
 *     lane j + w, w = 16 .. 1): exactly the order of doc/kernels.md
 *     "Reductions" with L = CG_CUDA_LANES, so ir_kloop_run_ref(...,
 *     CG_CUDA_LANES, ...) computes the same values;
 * matrix products and templates are not printed: the plan names them as
 * library / template calls (their CUDA runtime is later work). */
#ifndef MOEC_CODEGEN_CUDA_PRINT_H
#define MOEC_CODEGEN_CUDA_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include "ir/kernel.h"
#include "support/diag.h"

enum {
    CG_CUDA_BLOCK = 256,      /* threads per block, every loop kernel */
    CG_CUDA_LANES = 32,       /* a row kernel's lanes per point: one warp */
    CG_CUDA_MAX_GRID = 65535, /* blocks at most; the kernels stride over the rest */
};

/* How a loop launch runs: grid x block threads, `rows` true for one warp per point. */
typedef struct cg_cuda_geometry {
    int64_t grid, block;
    int rows;
} cg_cuda_geometry;

cg_cuda_geometry cg_cuda_geometry_of(const ir_kloop *k);

/* One distinct loop kernel: its symbol (the first launch's name, made a C
 * identifier, unique in the program), the launches that run it, and its
 * complete translation unit. */
typedef struct cg_cuda_kernel {
    char *symbol;
    int *launches, n_launches;
    char *source;
} cg_cuda_kernel;

typedef struct cg_cuda_program {
    cg_cuda_kernel *kernels;
    int n_kernels;
    int *kernel_of;           /* per launch: its kernel, or -1 (a product or template) */
} cg_cuda_program;

/* Prints every loop kernel of p; launches whose printed code is the same up
 * to the function's name share one kernel. 0, or -1 (out of memory, reported). */
int cg_cuda_print_program(const ir_kprogram *p, cg_cuda_program *out, moec_diag *d);
void cg_cuda_program_free(cg_cuda_program *cp);

/* The buffers a loop launch passes, in the order of the kernel's parameters
 * (first use by an instruction). Fills bufs (room for l->n_reads + l->n_writes)
 * and returns the count. */
int cg_cuda_kernel_args(const ir_launch *l, int *bufs);

/* The launch plan (`moec emit --target cuda`'s plan.txt): every launch in
 * order, a loop kernel with its symbol, grid, block and arguments, a product
 * or template as the named call the runtime makes; then the buffers. */
void cg_cuda_print_plan(FILE *out, const ir_kprogram *p, const cg_cuda_program *cp);

/* The helpers every translation unit starts with (MOEC_KERNEL, MOEC_INF, i32
 * arithmetic, warp sums), and Philox4x32-10 with its uniform and normal
 * draws (moec_philox, moec_philox_uniform, moec_philox_normal), each under
 * its include guard: the templates (codegen/cuda_templates.h) print the same. */
void cg_cuda_print_base_helpers(FILE *out);
void cg_cuda_print_philox(FILE *out);

#endif
