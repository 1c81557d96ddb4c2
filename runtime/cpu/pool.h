/* runtime/cpu/pool.h -- the CPU backend's thread pool: a fixed set of
 * pthreads that split a range of work items [0, n) into contiguous chunks,
 * the calling thread taking the first chunk. Idle workers sleep on a
 * semaphore (no spinning), so they cost nothing while OpenBLAS or anything
 * else runs. doc/kernels.md ("Running a program on the CPU") says how the
 * pool and OpenBLAS share the cores and what `--threads N` means. */
#ifndef MOEC_RUNTIME_CPU_POOL_H
#define MOEC_RUNTIME_CPU_POOL_H

#include <stdint.h>

#include "support/diag.h"

enum { RT_POOL_MAX_THREADS = 256 };   /* --threads above this is refused */

typedef struct rt_pool rt_pool;

/* One chunk of a job: items [begin, end), run by thread `worker` (0 is the
 * caller of rt_pool_run, 1 .. threads-1 the pool's own threads). */
typedef void rt_pool_fn(void *ctx, int64_t begin, int64_t end, int worker);

/* A pool of `threads` threads in all, the caller of rt_pool_run included
 * (threads - 1 are started); threads <= 0 means every core this process may
 * run on (rt_pool_default_threads). NULL after reporting to d: too many
 * threads, or a thread could not be started. */
rt_pool *rt_pool_new(int threads, moec_diag *d);
void rt_pool_free(rt_pool *p);

/* Threads the pool computes with (1 for a NULL pool). */
int rt_pool_threads(const rt_pool *p);

/* The cores this process may run on (its affinity mask), at least 1. */
int rt_pool_default_threads(void);

/* Runs fn over [0, n): chunk t of min(threads, n) equal contiguous chunks
 * goes to worker t; returns when all are done. A NULL pool runs fn(ctx, 0,
 * n, 0) on the caller. fn must not call rt_pool_run on the same pool, and
 * one pool serves one calling thread at a time. */
void rt_pool_run(rt_pool *p, int64_t n, rt_pool_fn *fn, void *ctx);

/* The same with at least `grain` items per chunk (fewer threads when n is
 * small): for work too cheap to be worth waking a thread for. */
void rt_pool_run_grain(rt_pool *p, int64_t n, int64_t grain, rt_pool_fn *fn, void *ctx);

#endif
