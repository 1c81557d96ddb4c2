/* runtime/cuda/device.h -- what the CUDA executor (runtime/cuda/exec.h)
 * asks of a GPU: memory, the program's code, kernel launches, sgemm with
 * cuBLAS's semantics, and a sync. A device is a table of functions and a
 * context, so the executor runs unchanged on two of them:
 *   - the real one (rt_cuda_device_open, runtime/cuda/device_gpu.c): the
 *     driver API of runtime/cuda/driver.h, NVRTC (codegen/nvrtc.h) and
 *     cuBLAS opened with dlopen;
 *   - the test-only emulator (tests/cuda/emu_device.c): host memory, the
 *     printed kernels compiled as host C++ behind tests/cuda/shim.h, sgemm
 *     by CBLAS in column-major mode;
 * so everything but the driver and cuBLAS calls themselves runs, and is
 * checked, on a machine without a GPU. Device addresses are integers
 * (rt_dev_ptr, a CUdeviceptr on a GPU, a host address in the emulator).
 * Every function reports its failure to d and returns -1; none exits.
 * doc/kernels.md, "The CUDA executor". */
#ifndef MOEC_RUNTIME_CUDA_DEVICE_H
#define MOEC_RUNTIME_CUDA_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

typedef uint64_t rt_dev_ptr;

/* One translation unit of the program's code (a printed loop kernel, or the
 * templates): its text and the kernel symbols it defines. */
typedef struct rt_dev_unit {
    const char *name;          /* in messages: the kernel, or "templates" */
    const char *source;        /* a complete NVRTC translation unit */
    const char *const *symbols;
    int n_symbols;
} rt_dev_unit;

/* cuBLAS's transposition of an operand (cublasOperation_t's values). */
typedef enum rt_dev_op { RT_DEV_OP_N = 0, RT_DEV_OP_T = 1 } rt_dev_op;

/* One cublasSgemmStridedBatched call, column-major as cuBLAS reads it:
 * for i < batch, C_i = alpha op(A_i) op(B_i) + beta C_i with C_i m x n
 * (leading dimension ldc), op(A_i) m x k, op(B_i) k x n; X_i starts
 * stride_x elements after X_{i-1}. batch 1 is a plain cublasSgemm. The
 * executor's products are row-major or column-major by their strides:
 * runtime/cuda/gemm.h maps them to these calls. */
typedef struct rt_dev_sgemm {
    rt_dev_op ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    rt_dev_ptr a, b, c;        /* byte addresses of A_0, B_0, C_0 */
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;   /* elements */
    int64_t batch;
} rt_dev_sgemm;

typedef struct rt_device rt_device;
struct rt_device {
    void *ctx;
    const char *name;          /* "NVIDIA H100 80GB HBM3", "emulator" */
    /* Memory: bytes > 0; the contents of fresh memory are undefined. */
    int (*alloc)(void *ctx, size_t bytes, rt_dev_ptr *p, moec_diag *d);
    void (*free)(void *ctx, rt_dev_ptr p);
    int (*zero)(void *ctx, rt_dev_ptr p, size_t bytes, moec_diag *d);
    int (*upload)(void *ctx, rt_dev_ptr dst, const void *src, size_t bytes, moec_diag *d);
    int (*download)(void *ctx, void *dst, rt_dev_ptr src, size_t bytes, moec_diag *d);
    int (*copy)(void *ctx, rt_dev_ptr dst, rt_dev_ptr src, size_t bytes, moec_diag *d);
    /* The code of a program: every unit compiled and loaded; a later load
     * replaces it. Launches name a symbol of one of the units. */
    int (*load)(void *ctx, const rt_dev_unit *units, int n_units, moec_diag *d);
    /* Kernel `symbol` on grid x block threads; args[i] points at the value
     * of parameter i (an rt_dev_ptr for a pointer, a long long for a
     * scalar), as cuLaunchKernel takes them. Asynchronous on a GPU. */
    int (*launch)(void *ctx, const char *symbol, int64_t grid, int64_t block, void **args, moec_diag *d);
    int (*sgemm)(void *ctx, const rt_dev_sgemm *g, moec_diag *d);
    /* Waits for everything launched; a fault shows here. */
    int (*sync)(void *ctx, moec_diag *d);
    void (*close)(void *ctx);
};

/* The real GPU, device `ordinal`: the driver, a stream, cuBLAS on it
 * ($MOEC_CUBLAS_LIBRARY, else libcublas.so.13, .so.12, .so), PTX from
 * NVRTC through the disk cache in cache_dir (NULL: the default). NULL
 * after reporting (no driver: RT_CUDA_NO_DRIVER; no cuBLAS; a moec built
 * without NVRTC). rt_device_close frees it. */
rt_device *rt_cuda_device_open(int ordinal, const char *cache_dir, moec_diag *d);

/* Frees a device and everything it holds (dev->close frees dev too). */
static inline void rt_device_close(rt_device *dev)
{
    if (dev) dev->close(dev->ctx);
}

#endif
