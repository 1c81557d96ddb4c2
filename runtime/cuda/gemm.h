/* runtime/cuda/gemm.h -- a matrix-product launch (ir_kgemm) as cuBLAS
 * calls (rt_dev_sgemm, runtime/cuda/device.h): the one place where the
 * kernel program's products, stored row-major or column-major as their
 * strides say, become cuBLAS's column-major arguments. Both devices take
 * exactly these arguments (the GPU hands them to cuBLAS, the emulator to
 * CBLAS in column-major mode), so the emulator runs this mapping.
 *
 * The mapping. cuBLAS reads a stored matrix S (leading dimension ld) column
 * by column: op N is S itself, op T is S transposed, so a matrix stored
 * row-major with ld is op T of the column-major S with that ld.
 *   - C column-major (its row stride 1): C = op(A) op(B) as is,
 *     sgemm(opA, opB, m, n, k, A, lda, B, ldb, C, ldc);
 *   - C row-major (its column stride 1): cuBLAS sees C's storage as the
 *     column-major C^T (n x m), and C^T = B^T A^T, so the operands swap
 *     and so do m and n: sgemm(opB, opA, n, m, k, B, ldb, A, lda, C, ldc).
 * Either way an operand stored in C's order is op N and one stored in the
 * other order op T (the transposition flips twice in the row-major case:
 * once for being row-major, once for the swap); its other stride is its ld. */
#ifndef MOEC_RUNTIME_CUDA_GEMM_H
#define MOEC_RUNTIME_CUDA_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/kernel.h"
#include "runtime/cuda/device.h"

/* How the operands of a product are stored. */
typedef struct rt_cuda_gemm_layout {
    bool row_major;              /* C's order: row-major (column stride 1) or column-major */
    bool a_same, b_same;         /* A, B stored in C's order (else in the other) */
    int64_t lda, ldb, ldc;
} rt_cuda_gemm_layout;

/* The layout of g, or -1 with the operand ("A", "B", "C") whose strides are
 * no BLAS layout (one stride 1, the other at least the extent) in *bad. */
int rt_cuda_gemm_layout_of(const ir_kgemm *g, rt_cuda_gemm_layout *L, const char **bad);

/* The call computing one matrix of g: C (rows x g->n) = alpha A (rows x k)
 * B (k x g->n) + beta C, its first elements at byte addresses a, b, c,
 * batch 1. */
rt_dev_sgemm rt_cuda_gemm_call(const ir_kgemm *g, const rt_cuda_gemm_layout *L, int64_t rows, int64_t k, rt_dev_ptr a,
                               rt_dev_ptr b, rt_dev_ptr c);

#endif
