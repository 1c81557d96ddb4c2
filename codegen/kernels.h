/* codegen/kernels.h -- the distinct loop kernels of a program. A training
 * step repeats the same kernel over other buffers (every layer's layernorm,
 * every parameter's AdamW): code is generated once per distinct kernel and
 * takes its buffers as arguments, in "slot" order (the order a kernel's
 * loads and stores first name them). Two loop launches are the same kernel
 * when their canonical text (loop shape, instructions with slots for
 * buffers, each slot's dtype and size) is the same. Knows nothing of LLVM;
 * doc/kernels.md, "The CPU backend". */
#ifndef MOEC_CODEGEN_KERNELS_H
#define MOEC_CODEGEN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "codegen/cache.h"
#include "codegen/cpu.h"

/* The buffers loop kernel k touches, in slot order, into slots (room for
 * k->n_ins, the most there can be); returns their count. */
int cg_kernel_slots(const ir_kloop *k, int *slots);

typedef struct cg_kernels {
    int n_unique;                      /* distinct loop kernels */
    int *rep;                          /* n_unique: the first launch of each */
    int *unique;                       /* per launch: its distinct kernel, -1 if not a loop */
    uint8_t (*hash)[CG_KEY_BYTES];     /* n_unique: SHA-256 of the canonical text */
} cg_kernels;

/* Finds the distinct loop kernels of p. Returns 0, or -1 when out of memory. */
int cg_kernels_find(const ir_kprogram *p, cg_kernels *k);
void cg_kernels_free(cg_kernels *k);

/* The symbol of distinct kernel u: its first launch's name, or NAME.kN
 * (N that launch's index) when another distinct kernel starts with the same
 * name. Writes into buf (size n); returns buf. */
char *cg_kernel_symbol(const ir_kprogram *p, const cg_kernels *k, int u, char *buf, size_t n);

#endif
