#ifndef MOEC_CUDA_BASE
#define MOEC_CUDA_BASE
/* moec's CUDA C helpers (doc/kernels.md, "CUDA C"). No header is included:
 * NVRTC declares the math functions and intrinsics used here. */
#define MOEC_BLOCK 256   /* threads per block, every kernel (plan.txt) */
#ifdef __cplusplus
#define MOEC_KERNEL extern "C" __global__ void __launch_bounds__(MOEC_BLOCK)
#else
#define MOEC_KERNEL __global__ void
#endif
#define MOEC_INF __int_as_float(0x7f800000)
#define MOEC_FULL_WARP 0xffffffffu
/* i32 arithmetic wraps (two's complement), as on the CPU. */
static __device__ __forceinline__ int moec_add_i32(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
static __device__ __forceinline__ int moec_sub_i32(int a, int b) { return (int)((unsigned)a - (unsigned)b); }
static __device__ __forceinline__ int moec_mul_i32(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
static __device__ __forceinline__ int moec_neg_i32(int a) { return (int)(0u - (unsigned)a); }
/* Faults the CPU backend reports (a division by zero, a cast or a gathered
 * index out of range) stop the kernel: the runtime sees a launch failure. */
static __device__ __forceinline__ int moec_div_i32(int a, int b)
{
    if (b == 0) __trap();
    return b == -1 ? moec_neg_i32(a) : a / b;
}
static __device__ __forceinline__ int moec_f32_to_i32(float x)
{
    if (!(x >= -2147483648.0f && x < 2147483648.0f)) __trap();
    return (int)x;
}
static __device__ __forceinline__ long long moec_gather(long long e, long long numel)
{
    if (e < 0 || e >= numel) __trap();
    return e;
}
/* Reductions: a maximum takes a larger or NaN term and keeps acc on ties. */
static __device__ __forceinline__ float moec_max_f32(float acc, float x) { return x != x || x > acc ? x : acc; }
static __device__ __forceinline__ int moec_max_i32(int acc, int x) { return x > acc ? x : acc; }
static __device__ __forceinline__ int moec_sum_i32(int acc, int x) { return moec_add_i32(acc, x); }
/* The warp's 32 partial results folded lane j with lane j + w, w = 16, 8, .., 1
 * (doc/kernels.md, "Reductions", L = 32); every lane gets lane 0's result. */
static __device__ __forceinline__ float moec_warp_sum_f32(float v)
{
    for (int w = 16; w >= 1; w /= 2) v = v + __shfl_down_sync(MOEC_FULL_WARP, v, w);
    return __shfl_sync(MOEC_FULL_WARP, v, 0);
}
static __device__ __forceinline__ int moec_warp_sum_i32(int v)
{
    for (int w = 16; w >= 1; w /= 2) v = moec_add_i32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));
    return __shfl_sync(MOEC_FULL_WARP, v, 0);
}
static __device__ __forceinline__ float moec_warp_max_f32(float v)
{
    for (int w = 16; w >= 1; w /= 2) v = moec_max_f32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));
    return __shfl_sync(MOEC_FULL_WARP, v, 0);
}
static __device__ __forceinline__ int moec_warp_max_i32(int v)
{
    for (int w = 16; w >= 1; w /= 2) v = moec_max_i32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));
    return __shfl_sync(MOEC_FULL_WARP, v, 0);
}
#endif /* MOEC_CUDA_BASE */
#ifndef MOEC_CUDA_EXP
#define MOEC_CUDA_EXP
/* exp as ir/kernel_math.h computes it, operation for operation. */
static __device__ __forceinline__ float moec_exp(float x)
{
    if (x != x) return x;
    if (x > 0x1.62e43p+6f) return MOEC_INF;
    if (x < -0x1.ap+6f) return 0.0f;
    const float n = fmaf(x, 0x1.715476p+0f, 0x1.8p+23f) - 0x1.8p+23f;
    float r = fmaf(n, -0x1.62e43p-1f, x);
    r = fmaf(n, 0x1.05c61p-29f, r);
    float q = 0x1.a0d2cep-13f;
    q = fmaf(q, r, 0x1.6e879cp-10f);
    q = fmaf(q, r, 0x1.11121p-7f);
    q = fmaf(q, r, 0x1.555382p-5f);
    q = fmaf(q, r, 0x1.555554p-3f);
    q = fmaf(q, r, 0x1p-1f);
    const float y = fmaf(q, r * r, r) + 1.0f;
    const int ni = (int)n, n1 = ni / 2, n2 = ni - n1;
    return y * __int_as_float((n1 + 127) * (1 << 23)) * __int_as_float((n2 + 127) * (1 << 23));
}
#endif /* MOEC_CUDA_EXP */
#ifndef MOEC_CUDA_TANH
#define MOEC_CUDA_TANH
/* tanh as ir/kernel_math.h computes it. */
static __device__ __forceinline__ float moec_tanh(float x)
{
    const float ax = fabsf(x);
    if (ax > 0x1.4p-1f) {
        const float z = 1.0f - 2.0f / (moec_exp(ax + ax) + 1.0f);
        return x < 0.0f ? -z : z;
    }
    const float s = x * x;
    float q = -0x1.75e1d4p-8f;
    q = fmaf(q, s, 0x1.52269cp-6f);
    q = fmaf(q, s, -0x1.b83c5ap-5f);
    q = fmaf(q, s, 0x1.110726p-3f);
    q = fmaf(q, s, -0x1.555532p-2f);
    return x == 0.0f ? x : fmaf(q * s, x, x);
}
#endif /* MOEC_CUDA_TANH */
