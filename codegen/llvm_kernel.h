/* codegen/llvm_kernel.h -- kernel IR loop kernels -> LLVM IR, through the
 * LLVM-C API: one function per distinct loop kernel (codegen/kernels.h),
 * named after its first launch, with the calling convention of
 * doc/kernels.md ("The CPU backend"):
 *
 *     int64_t name(void *const *args, int64_t point_begin, int64_t point_end)
 *
 * args[s] is the first element of the kernel's buffer in slot s; the
 * function runs the points [point_begin, point_end) of the flattened
 * parallel space and returns how many faults it met (gathered index outside
 * its buffer, f32 -> i32 cast out of range, i32 division by zero, bad
 * random step); 0 is success. Internal to codegen/ (its users see
 * codegen/cpu.h). */
#ifndef MOEC_CODEGEN_LLVM_KERNEL_H
#define MOEC_CODEGEN_LLVM_KERNEL_H

#include <llvm-c/Core.h>
#include <stddef.h>

#include "codegen/cpu.h"
#include "codegen/kernels.h"
#include "ir/kernel.h"

/* Names the code generator's design in cache keys (codegen/cpu.c), beside
 * a hash of its sources made at build time (codegen/source_hash.h). */
#define CG_LLVM_CODEGEN_REVISION "llvm-kernels-3"

/* True when the lanes of a reduce kernel run across points (8 points of
 * the last parallel axis, each reducing term by term) rather than along
 * the reduce axis: when no load or store of its passes is unit-stride in
 * r and one is unit-stride in the last parallel axis (column sums). */
bool cg_llvm_column_kernel(const ir_kloop *k);

/* Builds the functions of distinct kernels first .. last-1 of k (of p,
 * which must verify) into a new module of ctx. Returns 0, or -1 after
 * reporting to d. */
int cg_llvm_build_module(LLVMContextRef ctx, const ir_kprogram *p, const cg_kernels *k, int first, int last,
                         LLVMModuleRef *out, moec_diag *d);

#endif
