/* codegen/cuda_templates.h -- the CUDA templates: hand-written kernels for
 * what loop kernels express badly, written once in CUDA C and compiled by
 * NVRTC like the printed loop kernels (codegen/nvrtc.h). One translation
 * unit holds them all (cg_cuda_templates_source); every kernel computes
 * bit for bit what the CPU backend computes (runtime/cpu/templates.c,
 * ir/philox.c, the dispatch plan of ir/moe_sparse.c), on a GPU with no
 * atomics in any floating-point sum, so the order of every sum is fixed.
 * doc/kernels.md, "CUDA C", lists them. Shape legend: rows x len inputs,
 * A assignments, E experts, R rows of the dispatch plan, N tokens, d width.
 *
 *   moec_topk_warp    TOPK, k <= CG_CUDA_TOPK_WARP_MAX (the router's top-k
 *                     over experts): one warp per row, each lane's best k
 *                     of its strided elements merged by warp shuffles
 *   moec_topk_block   TOPK, any k (expert choice: each expert's top-C
 *                     tokens): one block per row, each element's rank
 *                     counted against the row in shared-memory tiles
 *   moec_cumsum_f32/_i32  CUMSUM: one thread per column, in order
 *   moec_scatter_add  SCATTER_ADD (expert choice's combine): one thread per
 *                     output column, source rows in order
 *   moec_put          PUT: one thread per output element, indices in order
 *   moec_moe_dispatch the token-choice dispatch plan: per-expert counts,
 *                     their exclusive scan, each kept assignment's stable
 *                     row, each row's token and expert (one block)
 *   moec_moe_combine  the token-choice combine: each token's k slot rows,
 *                     weighted, summed in slot order (the zero row R for a
 *                     dropped slot)
 *   moec_philox_words / moec_philox_fill  Philox4x32-10's four words, and
 *                     its uniform or normal draws, of elements first..
 *
 * Ties and NaN in TOPK: a larger value first, a number before a NaN, equal
 * values (and NaNs) by lower index -- the CPU's order. Faults (an index out
 * of range, an expert outside 0..E-1) __trap: the launch fails and the
 * runtime names the kernel. */
#ifndef MOEC_CODEGEN_CUDA_TEMPLATES_H
#define MOEC_CODEGEN_CUDA_TEMPLATES_H

#include <stdint.h>

#include "ir/kernel.h"

enum {
    CG_CUDA_TOPK_WARP_MAX = 8,   /* the largest k of moec_topk_warp */
};

/* The templates' translation unit (the helpers of codegen/cuda_print.h
 * first), NUL-terminated; NULL when out of memory. Free it. */
char *cg_cuda_templates_source(void);

/* One template launch: the kernel, its geometry and its arguments, in the
 * order of the kernel's parameters: buffer ids (bufs) then the scalars
 * (each a long long, except where the signature says int). */
typedef struct cg_cuda_tcall {
    const char *symbol;          /* "moec_topk_warp" */
    int64_t grid, block;
    int bufs[4], n_bufs;
    long long scalars[4];
    int n_scalars;
} cg_cuda_tcall;

/* The call that runs kernel-IR template t (TOPK, CUMSUM, SCATTER_ADD, PUT).
 * 0, or -1 for an op no template covers (its name in *why). */
int cg_cuda_template_call(const ir_ktemplate *t, cg_cuda_tcall *call, const char **why);

#endif
