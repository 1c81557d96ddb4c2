/* runtime/cuda/exec.h -- runs a kernel program (ir/kernel.h) on a device
 * (runtime/cuda/device.h): the GPU, or in the tests the emulator that runs
 * the same calls on the CPU. It mirrors the CPU executor
 * (runtime/cpu/exec.h): it places every buffer on the device (persistent
 * ones each in their own allocation, planned activations and scratch in one
 * arena at their offsets, views inside their parent), all zeroed; lets the
 * caller fill and read them by id or name; and runs the launches in order
 * on the device's one stream: loop kernels as printed by codegen/cuda_print.h
 * (cg_cuda_geometry_of, cg_cuda_kernel_args), matrix products as cuBLAS
 * calls (runtime/cuda/gemm.h), templates as cg_cuda_template_call says.
 * A grouped product reads its group sizes back from the device (a sync)
 * and makes one call per non-empty group. doc/kernels.md, "The CUDA executor". */
#ifndef MOEC_RUNTIME_CUDA_EXEC_H
#define MOEC_RUNTIME_CUDA_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/kernel.h"
#include "runtime/cuda/device.h"
#include "support/diag.h"

typedef struct rt_cuda_exec rt_cuda_exec;

/* An executor for p on dev: p checked (ir_kprogram_verify; every product
 * f32 with a BLAS layout and sizes in cuBLAS's int; a grouped product's beta
 * 0 or 1; every template covered by a CUDA template), its loop kernels
 * printed and, with the templates, loaded on the device (dev->load), every
 * buffer allocated and zeroed. p, dev and d must outlive it. NULL after
 * reporting to d. */
rt_cuda_exec *rt_cuda_exec_new(const ir_kprogram *p, rt_device *dev, moec_diag *d);
void rt_cuda_exec_free(rt_cuda_exec *ex);

/* The id of the buffer named `name`, or -1. */
int rt_cuda_exec_find(const rt_cuda_exec *ex, const char *name);
/* Buffer b's device address (a view's inside its parent's), 0 for no such buffer. */
rt_dev_ptr rt_cuda_exec_ptr(const rt_cuda_exec *ex, int b);

/* Copies numel elements (the buffer's exact count) to or from buffer b.
 * 0, or -1 after reporting (no such buffer, a wrong count, the device). */
int rt_cuda_exec_write(rt_cuda_exec *ex, int b, const void *src, int64_t numel);
int rt_cuda_exec_read(const rt_cuda_exec *ex, int b, void *dst, int64_t numel);

/* Makes persistent buffer b, no view, live at the caller's device memory
 * `ptr` (numel elements, outliving the executor or the next bind): weights
 * shared by two executors. Its views follow. 0, or -1 after reporting. */
int rt_cuda_exec_bind(rt_cuda_exec *ex, int b, rt_dev_ptr ptr, int64_t numel);

/* With `each`, every launch is followed by a sync, so that a fault names
 * its launch rather than the run (slower; off by default). */
void rt_cuda_exec_sync_each(rt_cuda_exec *ex, bool each);

/* Runs every launch in order, then syncs. 0, or -1 after reporting the
 * launch that failed ("launch k7 (name): ..."); the later ones do not run. */
int rt_cuda_exec_run(rt_cuda_exec *ex);

/* Loop launches, and distinct loop kernels (translation units) loaded. */
int rt_cuda_exec_kernels(const rt_cuda_exec *ex, int *distinct);

#endif
