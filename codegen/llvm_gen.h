/* codegen/llvm_gen.h -- the state of building one loop kernel's LLVM
 * function, shared by the loop structure (codegen/llvm_kernel.c) and the
 * lowering of single instructions (codegen/llvm_ops.c). Code is built at a
 * width: 1 (scalar values, one position) or CG_LANES (one vector value
 * holding CG_LANES consecutive positions along `lane_axis`, some of them
 * switched off by `mask` at the end of an axis). Internal to those files. */
#ifndef MOEC_CODEGEN_LLVM_GEN_H
#define MOEC_CODEGEN_LLVM_GEN_H

#include "codegen/llvm_kernel.h"

typedef struct cg_gen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, f64, i1, i8, i8p, i32, i64;
    const ir_kprogram *p;
    const ir_kloop *k;
    LLVMValueRef fn;
    LLVMValueRef *buf;                   /* by buffer id: typed pointers from args[] (NULL: unused) */
    LLVMValueRef faults;                 /* i64 alloca: the fault count */
    LLVMValueRef pos[IR_K_AXES];         /* i64 position on each axis (lane_axis: lane 0's) */
    int width;                           /* 1 or CG_LANES */
    int lane_axis;                       /* the axis lanes run along (width CG_LANES) */
    LLVMValueRef mask;                   /* <CG_LANES x i1> active lanes; NULL: all */
    bool columns;                        /* a reduce kernel vectorised across points (cg_llvm_column_kernel) */
    bool *uniform;                       /* n_ins: the same in every lane: computed once, as a scalar */
    LLVMValueRef *val;                   /* n_ins: uniform values scalar, the rest at their width */
    LLVMValueRef *acc;                   /* n_ins: allocas of reductions' lane vectors */
    int *stage;                          /* ir_kloop_stages */
    int *slots;                          /* n_ins: the buffer of each slot (cg_kernel_slots) */
} cg_gen;

/* The value of instruction i at the current width (a point value is splat). */
LLVMValueRef cg_value(cg_gen *g, int i);

/* Emits instruction i at the builder's position and current width, setting
 * its value; a reduce updates its partial results (active lanes only). */
void cg_emit_instr(cg_gen *g, int i);

/* acc combined with x by reduction `op` (IR_SUM or IR_REDUCE_MAX), lane by lane. */
LLVMValueRef cg_combine(cg_gen *g, ir_op op, ir_dtype t, LLVMValueRef acc, LLVMValueRef x);

/* The identity of reduction op in dtype t (0, -inf or INT32_MIN), at the current width. */
LLVMValueRef cg_identity(cg_gen *g, ir_op op, ir_dtype t);

/* f32 or i32, scalar or a vector of the current width. */
LLVMTypeRef cg_type(const cg_gen *g, ir_dtype t);

/* i64 constant, splat at the current width. */
LLVMValueRef cg_i64(const cg_gen *g, int64_t v);

/* x at the current width: a scalar is splat, a vector returned as is. */
LLVMValueRef cg_splat(cg_gen *g, LLVMValueRef x);

/* The vector <0, 1, ..., CG_LANES-1> of i64. */
LLVMValueRef cg_lane_ids(const cg_gen *g);

#endif
