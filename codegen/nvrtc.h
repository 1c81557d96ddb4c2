/* codegen/nvrtc.h -- NVRTC, the CUDA run-time compiler: one printed
 * translation unit (codegen/cuda_print.h) to PTX for a GPU architecture.
 * Built only where configure found the CUDA toolkit (HAVE_CUDA); the options
 * are fixed here so that every caller compiles the same code: C++17, no fast
 * math, no FMA contraction (doc/kernels.md, "CUDA C"). */
#ifndef MOEC_CODEGEN_NVRTC_H
#define MOEC_CODEGEN_NVRTC_H

#include <stddef.h>

#include "support/diag.h"

/* "NVRTC 13.0", for --version and error messages. */
const char *cg_nvrtc_version(char *buf, size_t size);

/* Compiles `source` (named `name` in messages: the kernel) for `arch`
 * ("sm_80", "sm_90": PTX for compute_80, compute_90). On success *ptx is
 * the NUL-terminated PTX (free it) and 0 is returned; else -1 after
 * reporting the kernel, the architecture and NVRTC's log to d. */
int cg_nvrtc_compile(const char *source, const char *name, const char *arch, char **ptx, moec_diag *d);

/* 1 when arch is "sm_" followed by two or three digits. */
int cg_nvrtc_arch_ok(const char *arch);

#endif
