/* codegen/cpu.h -- the CPU backend's compiler: the loop kernels of a kernel
 * program -> native code, through LLVM (codegen/llvm_kernel.c, jit.c) and
 * the disk cache (codegen/cache.c). Reads a verified ir_kprogram; gives a
 * callable function per loop launch (one per distinct kernel, shared by
 * its launches, each with its own buffers as arguments). The runtime's
 * thread pool splits each launch's points over its threads. doc/kernels.md,
 * "The CPU backend". Needs no LLVM header: the runtime includes only this. */
#ifndef MOEC_CODEGEN_CPU_H
#define MOEC_CODEGEN_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/kernel.h"

/* Partial results per reduction: a reduce pass walks the reduce axis 8
 * terms at a time into 8 lanes, folded pairwise at the end; the reference
 * evaluator computes the same order with ir_kloop_run_ref(..., CG_LANES,
 * ...), except in column kernels (cg_cpu_reduce_lanes). doc/kernels.md,
 * "Reductions". */
enum { CG_LANES = 8 };

/* A compiled loop kernel: runs points [point_begin, point_end) (clamped to
 * [0, ir_kloop_points)) with args[s] the first element of its buffer in
 * slot s (the order its loads and stores first name them: cg_cpu_args
 * fills args from buffer pointers), and returns the
 * number of faults met (a gathered index outside its buffer, an f32 -> i32
 * cast out of range, an i32 division by zero, a negative random step; a
 * value computed once for several points counts once): 0 is success,
 * anything else a run error to report. Launches running the same kernel
 * over other buffers share one function. Calls on disjoint point ranges
 * may run at the same time. */
typedef int64_t cg_kernel_fn(void *const *args, int64_t point_begin, int64_t point_end);

typedef struct cg_cpu_options {
    int opt_level;            /* 2 or 3; 0 means 3 */
    int threads;              /* compiling threads; 0: one per online CPU */
    const char *cache_dir;    /* NULL: $XDG_CACHE_HOME/moec or ~/.cache/moec */
    bool no_cache;            /* neither read nor write the disk cache */
} cg_cpu_options;

/* A program is compiled in parts of CG_PART_KERNELS distinct loop kernels,
 * one LLVM module, object file and cache entry each, on parallel threads. */
enum { CG_PART_KERNELS = 16 };

typedef struct cg_cpu_stats {
    int kernels;              /* loop launches */
    int unique;               /* distinct loop kernels: what is compiled */
    int parts;                /* object files (CG_PART_KERNELS distinct kernels each) */
    int parts_cached;         /* of them, loaded from the disk cache */
    int parts_stored;         /* of them, compiled and written to the cache */
    int unique_compiled;      /* distinct kernels in the parts compiled (not loaded from the cache) */
    bool cache_hit;           /* every part came from the cache: nothing was compiled */
    bool cache_bad;           /* an entry failed its checks: it was recompiled and replaced */
    char cache_note[512];     /* the first entry rejected or not written, and why; "" if none */
    char key[65];             /* the program's key, hex: SHA-256 of its parts' keys */
    size_t object_bytes;      /* object code, all parts */
    int threads;              /* threads that compiled (0 when nothing was compiled) */
    double wall_s;            /* the whole cg_cpu_compile */
    double key_s, load_s;     /* hashing the program; loading objects and looking up kernels */
    double build_s, optimise_s, emit_s;   /* LLVM IR, optimiser, code generator: summed over threads */
} cg_cpu_stats;

typedef struct cg_cpu_program cg_cpu_program;

/* Compiles (or loads from the cache) every loop launch of p. Returns 0 and
 * *out (to cg_cpu_free), or -1 after reporting to d: p does not verify,
 * LLVM failed. st (optional) says what happened and how long it took. */
int cg_cpu_compile(const ir_kprogram *p, const cg_cpu_options *o, cg_cpu_program **out, cg_cpu_stats *st,
                   moec_diag *d);

/* The function of launch `launch`; NULL for a product or template launch. */
cg_kernel_fn *cg_cpu_kernel(const cg_cpu_program *c, int launch);

/* The buffer ids of launch `launch` in slot order (*n of them; 0 and NULL
 * for a product or template): the function's args[s] is the first element
 * of buffer ids[s]. Owned by c. */
const int *cg_cpu_arg_buffers(const cg_cpu_program *c, int launch, int *n);

/* Fills args[s] = bufs[ids[s]] (bufs indexed by buffer id; args with room
 * for every slot) and returns the number of slots. */
int cg_cpu_args(const cg_cpu_program *c, int launch, void *const *bufs, void **args);

void cg_cpu_free(cg_cpu_program *c);

/* The order of reductions in the code of loop launch `launch`, as the
 * `lanes` argument of ir_kloop_run_ref: CG_LANES partial results per point,
 * or 1 (term by term) in a column kernel, whose lanes are 8 points
 * (doc/kernels.md, "The CPU backend"). */
int cg_cpu_reduce_lanes(const ir_kprogram *p, int launch);

/* The LLVM IR of p's loop kernels, before optimisation (opt_level 0) or
 * after it (2, 3), for `moec emit --target cpu` and for reading. 0 or -1. */
int cg_cpu_print_ir(FILE *out, const ir_kprogram *p, int opt_level, moec_diag *d);

/* Receives the LLVM IR of one distinct loop kernel (cg_cpu_each_kernel_ir):
 * its function's symbol, the loop launches that run it (launch indices,
 * ascending, n of them) and the text of a module holding that function
 * alone. Returns 0 to go on, anything else to stop. */
typedef int cg_kernel_ir_fn(void *ctx, const char *symbol, const int *launches, int n, const char *text);

/* The LLVM IR of every distinct loop kernel of p, each in a module of its
 * own, optimised at opt_level (0: as built, before optimisation; 2 or 3),
 * in the order of their first launches, to emit (`moec emit --target cpu`).
 * Each function carries its first launch's model-file lines as
 * !moec.source metadata. Returns 0, or -1 after reporting to d (p does not
 * verify, LLVM failed) or when emit returned non-zero (emit reports its own
 * failure). */
int cg_cpu_each_kernel_ir(const ir_kprogram *p, int opt_level, cg_kernel_ir_fn *emit, void *ctx, moec_diag *d);

#endif
