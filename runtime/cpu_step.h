/* runtime/cpu_step.h -- a model's step compiled for the CPU and run: the
 * pass pipeline through the memory plan (runtime/pipeline.h), the loop
 * kernels compiled by LLVM (codegen/cpu.h), the program run by the executor
 * (runtime/cpu/exec.h) on a thread pool. Buffers are read and written by
 * the names of ir/step_values.h ("loss", "grad.wte.weight", parameter
 * names, "adam.m.NAME", "tokens", ...). `moec eval`, `moec grad` and
 * `moec bench` use it; doc/kernels.md, "Running a compiled step". */
#ifndef MOEC_RUNTIME_CPU_STEP_H
#define MOEC_RUNTIME_CPU_STEP_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/exec.h"
#include "runtime/cpu/pool.h"
#include "runtime/pipeline.h"
#include "runtime/weights/weights.h"

typedef struct cg_cpu_program cg_cpu_program;

/* What compiling a step did and cost. */
typedef struct rt_cpu_compile_info {
    double pipeline_s;     /* front end, graph passes, fusion, memory plan */
    double codegen_s;      /* LLVM (or loading from the cache) */
    double setup_s;        /* the pool and the executor: every buffer allocated and zeroed
                              (not compiling: rt_cpu_step_build's time is the three) */
    int kernels;           /* loop launches */
    int unique;            /* distinct loop kernels among them: what is compiled */
    int parts, parts_cached;
    int unique_compiled;   /* distinct kernels compiled by LLVM (the rest came from the cache) */
    int compile_threads;   /* threads that compiled them (0 when nothing was compiled) */
    double compile_wall_s; /* the code generator's own wall time (within codegen_s) */
    bool cache_hit;        /* nothing was compiled */
    char cache_note[512];  /* a rejected or unwritten cache entry and why, or "" */
} rt_cpu_compile_info;

typedef struct rt_cpu_step {
    rt_pipeline pipe;      /* the graph, the kernel program and its memory plan */
    rt_pool *pool;
    cg_cpu_program *code;
    rt_exec *exec;
    rt_cpu_compile_info info;
} rt_cpu_step;

/* Options of the compiled step besides the pipeline's. */
typedef struct rt_cpu_step_options {
    int threads;           /* --threads N; <= 0: every core */
    bool no_cache;         /* compile even when the disk cache has the code */
} rt_cpu_step_options;

/* Whether this build has the CPU backend (LLVM). */
bool rt_cpu_step_available(void);

/* Compiles the step `opt` describes. Returns 0, or -1 after reporting (to
 * the pipeline's sink, or to stderr before it exists). rt_cpu_step_free
 * either way. */
int rt_cpu_step_build(rt_cpu_step *s, const rt_pipeline_options *opt, const rt_cpu_step_options *co);
void rt_cpu_step_free(rt_cpu_step *s);

/* The buffer called `name`, or -1 (a value the step does not compute). */
int rt_cpu_step_find(const rt_cpu_step *s, const char *name);
/* Its element count and dtype. */
int64_t rt_cpu_step_numel(const rt_cpu_step *s, int buf);

/* Copies every parameter of w into the step's parameter buffers (by name;
 * a parameter the step does not read is skipped). 0 or -1 (reported). */
int rt_cpu_step_set_params(rt_cpu_step *s, const rt_weights *w);
/* Copies numel values into buffer `name`: f32 values, converted to i32 for
 * an i32 buffer (token ids). A name the step has no buffer for is skipped
 * (an input it does not read). 0 or -1 (reported: a wrong count). */
int rt_cpu_step_set(rt_cpu_step *s, const char *name, const double *values, int64_t numel);
/* Reads buffer `name` as doubles into out (numel of them). 0 or -1. */
int rt_cpu_step_get(const rt_cpu_step *s, const char *name, double *out, int64_t numel);

/* Runs the program once. 0, or -1 after reporting the failing launch. */
int rt_cpu_step_run(rt_cpu_step *s);

#endif
