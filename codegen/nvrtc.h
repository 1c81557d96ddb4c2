/* codegen/nvrtc.h -- NVRTC, the CUDA run-time compiler: one printed
 * translation unit (codegen/cuda_print.h) to PTX for a GPU architecture.
 * Built only where configure found the CUDA toolkit (HAVE_CUDA); the options
 * are fixed here so that every caller compiles the same code: C++17, no fast
 * math, no FMA contraction (doc/kernels.md, "CUDA C"). The PTX can be
 * cached on disk (cg_nvrtc_compile_cached). */
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

/* Where cg_nvrtc_compile_cached's PTX came from. */
typedef enum cg_nvrtc_from {
    CG_NVRTC_CACHED,     /* the disk cache */
    CG_NVRTC_STORED,     /* compiled, and written to the cache */
    CG_NVRTC_COMPILED,   /* compiled; no cache folder, or it could not be written (a warning) */
} cg_nvrtc_from;

/* As cg_nvrtc_compile, through the disk cache of codegen/cache.h: cache_dir,
 * or NULL for $XDG_CACHE_HOME/moec (~/.cache/moec). The entry is
 * "cuda-<key>.ptx", the key SHA-256 of NVRTC's version, the architecture,
 * the options and the source; a corrupt entry is warned about, recompiled
 * and replaced. *from says which. */
int cg_nvrtc_compile_cached(const char *source, const char *name, const char *arch, const char *cache_dir, char **ptx,
                            cg_nvrtc_from *from, moec_diag *d);

/* 1 when arch is "sm_" followed by two or three digits. */
int cg_nvrtc_arch_ok(const char *arch);

#endif
