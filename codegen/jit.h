/* codegen/jit.h -- LLVM's side of the CPU backend: the host target machine,
 * the optimisation pipeline (O2/O3 with the loop and SLP vectorisers, no
 * fast-math), object code emission, and ORC LLJIT instances that load
 * object code and look up kernels. Every LLVM error is reported to the
 * sink, never printed or fatal. Internal to codegen/ (users see
 * codegen/cpu.h). */
#ifndef MOEC_CODEGEN_JIT_H
#define MOEC_CODEGEN_JIT_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "support/diag.h"

/* The machine moec runs on: what code is generated for, and part of every
 * cache key (a different CPU never loads another's object code). */
typedef struct cg_host {
    char *triple;               /* "x86_64-pc-linux-gnu" */
    char *cpu;                  /* "sapphirerapids" */
    char *features;             /* "+avx2,+fma,..." */
    LLVMTargetMachineRef tm;    /* -O level of opt_level, JIT code model */
} cg_host;

/* Fills h for opt_level 2 or 3. Returns 0, or -1 after reporting to d. */
int cg_host_init(cg_host *h, int opt_level, moec_diag *d);
void cg_host_free(cg_host *h);
/* Sets the module's triple and data layout to the host's. */
void cg_host_adopt(const cg_host *h, LLVMModuleRef m);

/* Verifies m, then runs default<O2> or default<O3> with the loop and SLP
 * vectorisers on, for the host CPU. Returns 0 or -1 (reported). */
int cg_llvm_optimise(LLVMModuleRef m, const cg_host *h, int opt_level, moec_diag *d);

/* m as an ELF object in memory (*obj, to LLVMDisposeMemoryBuffer). 0 or -1. */
int cg_llvm_emit_object(LLVMModuleRef m, const cg_host *h, LLVMMemoryBufferRef *obj, moec_diag *d);

/* An LLJIT instance whose code may call libm (expf, tanhf, erff, log, cos,
 * ...) and the C library's memset/memcpy. */
typedef struct cg_jit cg_jit;

int cg_jit_new(cg_jit **out, moec_diag *d);
/* Loads an object file (copied). 0, or -1 reported. */
int cg_jit_add_object(cg_jit *j, const void *data, size_t len, moec_diag *d);
/* The address of `symbol`, or NULL after reporting to d. */
void *cg_jit_lookup(cg_jit *j, const char *symbol, moec_diag *d);
void cg_jit_free(cg_jit *j);

#endif
