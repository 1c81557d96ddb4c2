/* tests/cuda/shim.h -- just enough of CUDA to run printed kernels
 * (codegen/cuda_print.h) and the templates (codegen/cuda_templates.h) on
 * the CPU, compiled as host C++ in front of them by tests/cuda/test_shim.c,
 * tests/cuda/test_templates.c and the emulated device (tests/cuda/emu_device.c).
 * __global__ functions become plain functions; moec_shim_launch runs one as
 * a grid of blocks, the blocks one after another (as a GPU may), each block
 * as blockDim.x POSIX threads that really run concurrently (started once
 * and reused by every block): __syncthreads is a barrier of the block's
 * threads, and the warp primitives a barrier of the warp's (32 consecutive
 * threads): each lane posts its value, all wait, each reads its partner's,
 * all wait. __shared__ variables are function statics, one copy shared by
 * the block's threads and reused by the next block, as on a GPU. __trap
 * aborts. A test helper only: its state is process-wide, one launch at a time. */
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

enum { MOEC_SHIM_MAX_BLOCK = 1024 };

struct moec_dim3 {
    unsigned x, y, z;
};
static thread_local moec_dim3 threadIdx, blockIdx;
static moec_dim3 blockDim, gridDim;

static pthread_barrier_t moec_shim_block_barrier;
static pthread_barrier_t moec_shim_warp_barrier[MOEC_SHIM_MAX_BLOCK / 32];
static unsigned long long moec_shim_slot[MOEC_SHIM_MAX_BLOCK];

static inline float __int_as_float(int i)
{
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

[[noreturn]] static inline void __trap(void) { abort(); }

static inline void __syncthreads(void) { pthread_barrier_wait(&moec_shim_block_barrier); }
static inline void __syncwarp(void) { pthread_barrier_wait(&moec_shim_warp_barrier[threadIdx.x / 32]); }

/* Lane `src`'s v (a lane of the caller's warp), or the caller's own when src
 * is outside the warp. */
template <class T> static T moec_shim_exchange(T v, int src)
{
    const unsigned warp = threadIdx.x / 32, size = blockDim.x - warp * 32 < 32 ? blockDim.x - warp * 32 : 32;
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof v);
    moec_shim_slot[threadIdx.x] = bits;
    pthread_barrier_wait(&moec_shim_warp_barrier[warp]);
    T r = v;
    if (src >= 0 && (unsigned)src < size) memcpy(&r, &moec_shim_slot[warp * 32 + (unsigned)src], sizeof r);
    pthread_barrier_wait(&moec_shim_warp_barrier[warp]);
    return r;
}

template <class T> static T __shfl_down_sync(unsigned, T v, int delta) { return moec_shim_exchange(v, (int)(threadIdx.x % 32) + delta); }
template <class T> static T __shfl_xor_sync(unsigned, T v, int mask) { return moec_shim_exchange(v, (int)(threadIdx.x % 32) ^ mask); }
template <class T> static T __shfl_sync(unsigned, T v, int src) { return moec_shim_exchange(v, src); }

typedef void (*moec_shim_kernel)(void **args);

struct moec_shim_lane {
    moec_shim_kernel fn;
    void **args;
    unsigned lane, block;
};

/* The threads that run a block's lanes: started once (as many as the
 * largest block so far) and reused by every block of every launch, each
 * waiting on its own semaphore; a block posts one per lane and waits for
 * as many "done"s. Stopped and joined when the library is unloaded. */
struct moec_shim_pool {
    pthread_t th[MOEC_SHIM_MAX_BLOCK];
    sem_t go[MOEC_SHIM_MAX_BLOCK];
    sem_t done;
    moec_shim_lane lanes[MOEC_SHIM_MAX_BLOCK];
    unsigned started;
    bool quit;
};
static moec_shim_pool moec_shim_workers;

static void *moec_shim_worker(void *p)
{
    const unsigned i = (unsigned)(unsigned long)p;
    for (;;) {
        sem_wait(&moec_shim_workers.go[i]);
        if (moec_shim_workers.quit) return NULL;
        moec_shim_lane *l = &moec_shim_workers.lanes[i];
        threadIdx = moec_dim3{ l->lane, 0, 0 };
        blockIdx = moec_dim3{ l->block, 0, 0 };
        l->fn(l->args);
        sem_post(&moec_shim_workers.done);
    }
}

__attribute__((destructor)) static void moec_shim_stop(void)
{
    moec_shim_workers.quit = true;
    for (unsigned i = 0; i < moec_shim_workers.started; i++) sem_post(&moec_shim_workers.go[i]);
    for (unsigned i = 0; i < moec_shim_workers.started; i++) pthread_join(moec_shim_workers.th[i], NULL);
}

/* Runs fn(args) on `grid` blocks of `block` threads (1..1024); 0, or -1 for
 * a bad geometry. A thread that cannot be started aborts the test (the
 * started ones would wait forever at a barrier). */
extern "C" int moec_shim_launch(moec_shim_kernel fn, void **args, unsigned grid, unsigned block)
{
    if (grid < 1 || block < 1 || block > MOEC_SHIM_MAX_BLOCK) return -1;
    moec_shim_pool *w = &moec_shim_workers;
    if (w->started == 0 && sem_init(&w->done, 0, 0) != 0) abort();
    for (; w->started < block; w->started++)
        if (sem_init(&w->go[w->started], 0, 0) != 0 ||
            pthread_create(&w->th[w->started], NULL, moec_shim_worker, (void *)(unsigned long)w->started) != 0)
            abort();
    gridDim = moec_dim3{ grid, 1, 1 };
    blockDim = moec_dim3{ block, 1, 1 };
    unsigned warps = (block + 31) / 32;
    pthread_barrier_init(&moec_shim_block_barrier, NULL, block);
    for (unsigned w_ = 0; w_ < warps; w_++)
        pthread_barrier_init(&moec_shim_warp_barrier[w_], NULL, block - w_ * 32 < 32 ? block - w_ * 32 : 32);
    for (unsigned b = 0; b < grid; b++) {
        for (unsigned i = 0; i < block; i++) {
            w->lanes[i] = moec_shim_lane{ fn, args, i, b };
            sem_post(&w->go[i]);
        }
        for (unsigned i = 0; i < block; i++)
            while (sem_wait(&w->done) != 0) {
            }
    }
    for (unsigned w_ = 0; w_ < warps; w_++) pthread_barrier_destroy(&moec_shim_warp_barrier[w_]);
    pthread_barrier_destroy(&moec_shim_block_barrier);
    return 0;
}

/* Runs fn(args) as one block of 1 or 32 threads (the printed loop kernels). */
extern "C" int moec_shim_run(moec_shim_kernel fn, void **args, int warp)
{
    return moec_shim_launch(fn, args, 1, warp ? 32 : 1);
}
