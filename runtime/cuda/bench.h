/* runtime/cuda/bench.h -- `moec bench --backend cuda`: a model's training
 * step on the GPU through the CUDA executor (runtime/cuda/exec.h) on the
 * real device (rt_cuda_device_open), timed. The GPU is opened first, so
 * that a machine without one gets the driver's message alone
 * (RT_CUDA_NO_DRIVER) and exit 2 before anything is compiled. Not run on
 * a GPU yet (doc/kernels.md, "The CUDA executor"). */
#ifndef MOEC_RUNTIME_CUDA_BENCH_H
#define MOEC_RUNTIME_CUDA_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include <stdio.h>

#include "runtime/cuda/device.h"
#include "runtime/pipeline.h"

/* Compiles the step opt describes, runs it steps + 1 times on Philox tokens
 * of seed token_seed (the first warms up; the same batches as the CPU
 * bench) from the train seed's initial weights, and prints the median step;
 * with json, then one line of the CPU bench's first keys (step_s,
 * tokens_per_s, compile_s, kernels, arena_bytes, gflops) and device,
 * loop_kernels, distinct_kernels, steps, batch, seq, flop_per_step.
 * Returns the exit status: 0, 1 (the model or a run failed), 2 (no GPU). */
int rt_cuda_bench(const rt_pipeline_options *opt, int steps, uint64_t token_seed, bool json);

/* The same on device dev (kept open), printing to out (the tests run it on
 * the emulated device). Returns 0, or 1 after reporting. */
int rt_cuda_bench_on(rt_device *dev, const rt_pipeline_options *opt, int steps, uint64_t token_seed, bool json,
                     FILE *out);

#endif
