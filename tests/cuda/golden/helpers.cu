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
#ifndef MOEC_CUDA_PHILOX
#define MOEC_CUDA_PHILOX
/* Philox4x32-10 and its draws, as ir/philox.c: counter (element, stream,
 * step), key = seed; the uniform draw is bit-identical to the CPU's. */
static __device__ __forceinline__ void moec_philox(unsigned long long seed, unsigned long long step,
                                                   unsigned stream, unsigned long long element,
                                                   unsigned out[4])
{
    unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
    unsigned x0 = (unsigned)element, x1 = (unsigned)(element >> 32), x2 = stream, x3 = (unsigned)step;
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const unsigned long long p0 = 0xD2511F53ull * x0, p1 = 0xCD9E8D57ull * x2;
        const unsigned y0 = (unsigned)(p1 >> 32) ^ x1 ^ k0, y2 = (unsigned)(p0 >> 32) ^ x3 ^ k1;
        x1 = (unsigned)p1;
        x3 = (unsigned)p0;
        x0 = y0;
        x2 = y2;
    }
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}
/* The step counter: an i32 or a float holding a non-negative integer. */
static __device__ __forceinline__ unsigned long long moec_step(float s)
{
    const double d = rint((double)s);
    if (!(d >= 0.0 && d < 0x1p63)) __trap();
    return (unsigned long long)d;
}
static __device__ __forceinline__ float moec_philox_uniform(unsigned long long seed, unsigned long long step,
                                                            unsigned stream, unsigned long long element)
{
    unsigned w[4];
    moec_philox(seed, step, stream, element, w);
    return (float)((double)(w[0] >> 8) * (1.0 / 16777216.0));
}
/* Box-Muller in double, as the CPU; log and cos are CUDA's (within 1 ulp of
 * double, so the float result almost always equals the CPU's). */
static __device__ __forceinline__ float moec_philox_normal(unsigned long long seed, unsigned long long step,
                                                           unsigned stream, unsigned long long element)
{
    unsigned w[4];
    moec_philox(seed, step, stream, element, w);
    const double u1 = (double)(w[0] >> 8) * (1.0 / 16777216.0) + 1.0 / 16777216.0;
    const double u2 = (double)(w[1] >> 8) * (1.0 / 16777216.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 0x1.921fb54442d18p+1 * u2));
}
#endif /* MOEC_CUDA_PHILOX */
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
#ifndef MOEC_CUDA_TEMPLATES
#define MOEC_CUDA_TEMPLATES
/* ---- the templates (codegen/cuda_templates.h) ---- */
#define MOEC_TOPK_WARP_MAX 8
#define MOEC_WARPS (MOEC_BLOCK / 32)
/* a ranks before b when larger, or a number against a NaN (runtime/cpu/templates.c). */
static __device__ __forceinline__ bool moec_beats(float a, float b) { return a > b || (b != b && a == a); }
/* (a, ia) before (b, ib) in the top-k order: rank, then the lower index. */
static __device__ __forceinline__ bool moec_before(float a, long long ia, float b, long long ib)
{
    return moec_beats(a, b) || (!moec_beats(b, a) && ia < ib);
}

/* TOPK, k <= 8: x [rows, len] -> out [rows, k] indices, best first. One warp
 * per row: lane j keeps the best k of elements j, j + 32, .. (a newcomer passes
 * only those it beats: ties stay in index order); then k rounds each take the
 * best of the 32 lanes' heads by a butterfly of shuffles (every lane gets the
 * winner), and the lane that held it moves to its next. */
MOEC_KERNEL moec_topk_warp(const float *x, int *out, long long rows, long long len, long long k)
{
    const int lane = threadIdx.x % 32;
    const long long warps = (long long)gridDim.x * MOEC_WARPS;
    for (long long row = (long long)blockIdx.x * MOEC_WARPS + threadIdx.x / 32; row < rows; row += warps) {
        const float *xr = x + row * len;
        float v[MOEC_TOPK_WARP_MAX];
        int id[MOEC_TOPK_WARP_MAX];
        int filled = 0;
        for (long long i = lane; i < len; i += 32) {
            const float xi = xr[i];
            if (filled == k && !moec_beats(xi, v[k - 1])) continue;
            int at = filled < k ? filled++ : (int)k - 1;
            for (; at > 0 && moec_beats(xi, v[at - 1]); at--) {
                v[at] = v[at - 1];
                id[at] = id[at - 1];
            }
            v[at] = xi;
            id[at] = (int)i;
        }
        int head = 0;
        for (long long j = 0; j < k; j++) {
            float bv = head < filled ? v[head] : 0.0f;
            int bi = head < filled ? id[head] : -1;   /* -1: this lane has none left */
            for (int w = 16; w >= 1; w /= 2) {
                const float ov = __shfl_xor_sync(MOEC_FULL_WARP, bv, w);
                const int oi = __shfl_xor_sync(MOEC_FULL_WARP, bi, w);
                if (oi >= 0 && (bi < 0 || moec_before(ov, oi, bv, bi))) {
                    bv = ov;
                    bi = oi;
                }
            }
            if (bi % 32 == lane) head++;
            if (lane == 0) out[row * k + j] = bi;
        }
    }
}

/* TOPK, any k (expert choice: an expert's top-C of the tokens): one block per
 * row; element i's rank is the number of elements before it in the top-k
 * order, counted against the row in tiles of MOEC_BLOCK staged in shared
 * memory; an element of rank < k is out[rank]. O(len^2 / MOEC_BLOCK) a thread. */
MOEC_KERNEL moec_topk_block(const float *x, int *out, long long rows, long long len, long long k)
{
    __shared__ float tile[MOEC_BLOCK];
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float *xr = x + row * len;
        for (long long base = 0; base < len; base += MOEC_BLOCK) {   /* the same trips in every thread */
            const long long i = base + threadIdx.x;
            const float xi = i < len ? xr[i] : 0.0f;
            long long rank = 0;
            for (long long t0 = 0; t0 < len; t0 += MOEC_BLOCK) {
                __syncthreads();
                if (t0 + threadIdx.x < len) tile[threadIdx.x] = xr[t0 + threadIdx.x];
                __syncthreads();
                const long long n = len - t0 < MOEC_BLOCK ? len - t0 : MOEC_BLOCK;
                for (long long j = 0; j < n; j++) rank += moec_before(tile[j], t0 + j, xi, i);
            }
            if (i < len && rank < k) out[row * k + rank] = (int)i;
        }
    }
}

/* CUMSUM along an axis of x viewed as [outer, len, inner]: one thread per
 * (outer, inner) column, the running sum in order (i32 wraps). */
MOEC_KERNEL moec_cumsum_f32(const float *x, float *out, long long outer, long long len, long long inner)
{
    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < outer * inner;
         c += (long long)gridDim.x * MOEC_BLOCK) {
        const long long at = c / inner * len * inner + c % inner;
        float acc = 0.0f;
        for (long long s = 0; s < len; s++) out[at + s * inner] = acc += x[at + s * inner];
    }
}
MOEC_KERNEL moec_cumsum_i32(const int *x, int *out, long long outer, long long len, long long inner)
{
    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < outer * inner;
         c += (long long)gridDim.x * MOEC_BLOCK) {
        const long long at = c / inner * len * inner + c % inner;
        int acc = 0;
        for (long long s = 0; s < len; s++) out[at + s * inner] = acc = moec_add_i32(acc, x[at + s * inner]);
    }
}

/* SCATTER_ADD: out [v, d] = zeros plus source row r [rows, d] added at row
 * idx[r], rows in order (the CPU's sum order): one thread per column. */
MOEC_KERNEL moec_scatter_add(const float *src, const int *idx, float *out, long long rows, long long v, long long d)
{
    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < d; c += (long long)gridDim.x * MOEC_BLOCK) {
        for (long long r = 0; r < v; r++) out[r * d + c] = 0.0f;
        for (long long r = 0; r < rows; r++) {
            if (idx[r] < 0 || idx[r] >= v) __trap();
            out[idx[r] * d + c] += src[r * d + c];
        }
    }
}

/* PUT: row r of out [rows, len] = zeros plus src [rows, k] added at idx
 * [rows, k]: one thread per output element, the row's k indices in order. */
MOEC_KERNEL moec_put(const float *src, const int *idx, float *out, long long rows, long long k, long long len)
{
    for (long long e = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; e < rows * len;
         e += (long long)gridDim.x * MOEC_BLOCK) {
        const long long r = e / len, c = e % len;
        float acc = 0.0f;
        for (long long i = 0; i < k; i++) {
            const int at = idx[r * k + i];
            if (at < 0 || at >= len) __trap();
            if (at == c) acc += src[r * k + i];
        }
        out[e] = acc;
    }
}

/* The token-choice dispatch plan (ir/moe_sparse.c), one block. Assignment a
 * (slot a % k of token a / k) goes to expert slot_expert[a]; keep (or NULL:
 * all kept) is 0 where a capacity dropped it. counts [E] = kept assignments
 * per expert; start [E] = their exclusive scan; pos [A] = start[e] + the
 * assignment's rank among e's kept ones in assignment order (stable), or
 * `trash` when dropped; rows [R] below R get their token (row_token) and
 * expert (row_expert), rows no assignment reaches 0. Chunks of MOEC_BLOCK
 * assignments: a thread's rank in its chunk is counted in shared memory, the
 * chunk's last thread of an expert advances that expert's running count. */
MOEC_KERNEL moec_moe_dispatch(const int *slot_expert, const float *keep, int *counts, int *start, int *pos,
                              int *row_token, int *row_expert, long long a_n, long long e_n, long long k,
                              long long r_n, long long trash)
{
    __shared__ int chunk[MOEC_BLOCK];
    if (blockIdx.x != 0) return;
    for (long long e = threadIdx.x; e < e_n; e += MOEC_BLOCK) counts[e] = 0;
    for (long long r = threadIdx.x; r < r_n; r += MOEC_BLOCK) row_token[r] = row_expert[r] = 0;
    for (long long base = 0; base < a_n; base += MOEC_BLOCK) {
        const long long a = base + threadIdx.x;
        int e = -1;   /* -1: past the end, or dropped */
        if (a < a_n) {
            if (slot_expert[a] < 0 || slot_expert[a] >= e_n) __trap();
            if (!keep || keep[a] != 0.0f) e = slot_expert[a];
        }
        __syncthreads();   /* the previous chunk's counts are in */
        chunk[threadIdx.x] = e;
        __syncthreads();
        int before = 0, last = 1;
        for (int t = 0; t < MOEC_BLOCK; t++)
            if (chunk[t] == e) {
                before += t < (int)threadIdx.x;
                last &= t <= (int)threadIdx.x;
            }
        const int rank = e >= 0 ? counts[e] + before : 0;
        __syncthreads();   /* every thread has read counts[e] */
        if (e >= 0) {
            pos[a] = rank;   /* the rank for now; the row below */
            if (last) counts[e] = rank + 1;
        } else if (a < a_n) {
            pos[a] = -1;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {   /* E is small: one thread scans, in order */
        int s = 0;
        for (long long e = 0; e < e_n; e++) {
            start[e] = s;
            s = moec_add_i32(s, counts[e]);
        }
    }
    __syncthreads();
    for (long long a = threadIdx.x; a < a_n; a += MOEC_BLOCK) {
        if (pos[a] < 0) {
            pos[a] = (int)trash;
            continue;
        }
        const int e = slot_expert[a], p = start[e] + pos[a];
        pos[a] = p;
        if (p < r_n) {
            row_token[p] = (int)(a / k);
            row_expert[p] = e;
        }
    }
}

/* The token-choice combine: out [N, d] = for each token its k slots' rows of
 * y [R, d] (row R: the zero row of a dropped slot) times the slot weights
 * w [N, k], summed from 0 in slot order: one thread per output element. */
MOEC_KERNEL moec_moe_combine(const float *y, const int *slot_row, const float *w, float *out, long long n,
                             long long k, long long d, long long r_n)
{
    for (long long e = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; e < n * d;
         e += (long long)gridDim.x * MOEC_BLOCK) {
        const long long t = e / d, c = e % d;
        float acc = 0.0f;
        for (long long j = 0; j < k; j++) {
            const int row = slot_row[t * k + j];
            if (row < 0 || row > r_n) __trap();
            const float picked = row == r_n ? 0.0f : y[row * d + c];
            acc = acc + picked * w[t * k + j];
        }
        out[e] = acc;
    }
}

/* Philox: the four words of elements first .. first + n - 1 (out [n, 4]), and
 * their uniform (normal = 0) or normal (1) draws (out [n]). */
MOEC_KERNEL moec_philox_words(unsigned *out, long long n, long long seed, long long step, long long stream,
                              long long first)
{
    for (long long i = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; i < n; i += (long long)gridDim.x * MOEC_BLOCK)
        moec_philox((unsigned long long)seed, (unsigned long long)step, (unsigned)stream,
                    (unsigned long long)(first + i), out + 4 * i);
}
MOEC_KERNEL moec_philox_fill(float *out, long long n, long long seed, long long step, long long stream,
                             long long first, long long normal)
{
    for (long long i = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; i < n; i += (long long)gridDim.x * MOEC_BLOCK) {
        const unsigned long long s = (unsigned long long)seed, t = (unsigned long long)step;
        const unsigned long long el = (unsigned long long)(first + i);
        out[i] = normal ? moec_philox_normal(s, t, (unsigned)stream, el)
                        : moec_philox_uniform(s, t, (unsigned)stream, el);
    }
}
#endif /* MOEC_CUDA_TEMPLATES */
