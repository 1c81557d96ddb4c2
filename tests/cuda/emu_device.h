/* tests/cuda/emu_device.h -- a device of runtime/cuda/device.h that runs
 * on the CPU, for the CUDA executor's tests (test-only):
 *   - device memory is host memory, filled with 0xFF bytes (NaN) when
 *     allocated, as a GPU's fresh memory holds anything; every copy, zeroing
 *     and sgemm operand is checked to lie inside one allocation;
 *   - the code's translation units are compiled together as host C++
 *     behind tests/cuda/shim.h (tests/cuda/shim_lib.h) and every kernel is
 *     launched by the shim's launcher, its grid capped at grid_cap blocks
 *     (the kernels stride over a grid of any size);
 *   - sgemm is CBLAS in column-major mode with exactly the cuBLAS arguments
 *     the executor passes (runtime/cuda/gemm.h's mapping), a strided batch
 *     as one call per matrix. wrong_transpose flips op(A) of every call
 *     whose op(A) is square (so the flipped A stays inside its buffer and
 *     the run completes): a deliberately wrong mapping the comparison must
 *     catch. */
#ifndef MOEC_TESTS_CUDA_EMU_DEVICE_H
#define MOEC_TESTS_CUDA_EMU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cuda/device.h"

typedef struct emu_options {
    const char *cxx;         /* the C++ compiler */
    const char *shim_h;      /* the absolute path of tests/cuda/shim.h */
    int grid_cap;            /* blocks per launch at most (>= 1) */
    bool wrong_transpose;
} emu_options;

/* What the emulator did. */
typedef struct emu_counts {
    int64_t launches, sgemms, matrices;
    int64_t flipped;         /* calls wrong_transpose changed */
} emu_counts;

rt_device *emu_device_new(const emu_options *o, moec_diag *d);
emu_counts emu_device_counts(const rt_device *dev);

#endif
