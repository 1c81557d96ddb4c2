/* tests/cuda/shim.h -- just enough of CUDA to run printed kernels
 * (codegen/cuda_print.h) on the CPU, compiled as host C++ in front of them
 * by tests/cuda/test_shim.c. __global__ functions become plain functions;
 * moec_shim_run calls one with gridDim 1 and blockDim 1 (an elementwise
 * kernel: one thread strides over every point) or blockDim 32 (a row
 * kernel: one warp, 32 POSIX threads, strides over every point), and the
 * warp primitives are emulated with a barrier: each lane posts its value,
 * all wait, each reads its partner's, all wait. __trap aborts. A test
 * helper only: the warp's slots are process-wide, one launch at a time. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)

struct moec_dim3 {
    unsigned x, y, z;
};
static thread_local moec_dim3 threadIdx, blockIdx;
static moec_dim3 blockDim, gridDim;

static pthread_barrier_t moec_shim_barrier;
static unsigned long long moec_shim_slot[32];

static inline float __int_as_float(int i)
{
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

[[noreturn]] static inline void __trap(void) { abort(); }

static inline void __syncwarp(void) { pthread_barrier_wait(&moec_shim_barrier); }

/* Lane `src`'s v, or the caller's own when src is outside the warp. */
template <class T> static T moec_shim_exchange(T v, int src)
{
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof v);
    moec_shim_slot[threadIdx.x] = bits;
    pthread_barrier_wait(&moec_shim_barrier);
    T r = v;
    if (src >= 0 && src < 32) memcpy(&r, &moec_shim_slot[src], sizeof r);
    pthread_barrier_wait(&moec_shim_barrier);
    return r;
}

template <class T> static T __shfl_down_sync(unsigned, T v, int delta) { return moec_shim_exchange(v, (int)threadIdx.x + delta); }
template <class T> static T __shfl_sync(unsigned, T v, int src) { return moec_shim_exchange(v, src); }

typedef void (*moec_shim_kernel)(void **args);

struct moec_shim_lane {
    moec_shim_kernel fn;
    void **args;
    unsigned lane;
};

static void *moec_shim_lane_main(void *p)
{
    moec_shim_lane *l = (moec_shim_lane *)p;
    threadIdx = moec_dim3{ l->lane, 0, 0 };
    blockIdx = moec_dim3{ 0, 0, 0 };
    l->fn(l->args);
    return NULL;
}

/* Runs fn(args) as one block of 1 or 32 threads; 0, or -1 when a thread
 * cannot be started. */
extern "C" int moec_shim_run(moec_shim_kernel fn, void **args, int warp)
{
    unsigned n = warp ? 32 : 1;
    gridDim = moec_dim3{ 1, 1, 1 };
    blockDim = moec_dim3{ n, 1, 1 };
    pthread_barrier_init(&moec_shim_barrier, NULL, n);
    pthread_t th[32];
    moec_shim_lane lanes[32];
    int rc = 0;
    unsigned started = 0;
    for (unsigned i = 0; i < n; i++) {
        lanes[i] = moec_shim_lane{ fn, args, i };
        if (pthread_create(&th[i], NULL, moec_shim_lane_main, &lanes[i]) != 0) {
            rc = -1;
            break;
        }
        started++;
    }
    if (rc < 0) abort();   /* the started lanes would wait forever at the barrier */
    for (unsigned i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&moec_shim_barrier);
    return rc;
}
