/* runtime/cpu/launch.h -- what the CPU executor (exec.c) asks of the two
 * launch kinds it does not run itself: matrix products (gemm.c, through
 * CBLAS) and templates (templates.c, float32 C). Each has a check, run once
 * when the executor is made, and a run. Internal to runtime/cpu. */
#ifndef MOEC_RUNTIME_CPU_LAUNCH_H
#define MOEC_RUNTIME_CPU_LAUNCH_H

#include "ir/kernel.h"
#include "runtime/cpu/exec.h"
#include "runtime/cpu/pool.h"
#include "support/diag.h"

/* One launch being checked or run: messages start "launch kN (name): ". */
typedef struct rt_env {
    const ir_kprogram *p;
    int launch;
    void *const *bufs;      /* base address per buffer id (runs only) */
    rt_pool *pool;
    moec_diag *d;
} rt_env;

/* Reports "launch kN (name): <message>" to env->d; returns -1. */
int rt_launch_error(const rt_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gemm.c: every operand has a BLAS layout and sizes fit CBLAS's int. */
int rt_gemm_check(const rt_env *env, const ir_kgemm *g);
/* C = alpha A B + beta C over the batches or groups; -1 on bad group sizes
 * (negative, or summing past m) or out of memory. */
int rt_gemm_run(const rt_env *env, const ir_kgemm *g, rt_gemm_split how);

/* templates.c: the op has a CPU template, and operand buffers have the
 * dtypes and sizes of its shapes. */
int rt_template_check(const rt_env *env, const ir_ktemplate *t);
/* Runs it; -1 on an index out of range. */
int rt_template_run(const rt_env *env, const ir_ktemplate *t);

#endif
