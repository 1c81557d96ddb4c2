/* codegen/cuda_templates.c -- the CUDA templates (codegen/cuda_templates.h).
 * The kernels are CUDA C text below; every scalar parameter is a long long
 * so that the runtime passes all of them the same way. Each keeps the CPU's
 * order of operations: a sum runs over its terms in index order in one
 * thread (never atomics), and selections compare with the CPU's total
 * order, so integer and float results are the CPU's bit for bit. */
#include "codegen/cuda_templates.h"

#include <stdio.h>
#include <stdlib.h>

#include "codegen/cuda_print.h"
#include "ir/ops.h"

static const char TEMPLATES[] =
    "\n#ifndef MOEC_CUDA_TEMPLATES\n#define MOEC_CUDA_TEMPLATES\n"
    "/* ---- the templates (codegen/cuda_templates.h) ---- */\n"
    "#define MOEC_TOPK_WARP_MAX 8\n"
    "#define MOEC_WARPS (MOEC_BLOCK / 32)\n"
    "/* a ranks before b when larger, or a number against a NaN (runtime/cpu/templates.c). */\n"
    "static __device__ __forceinline__ bool moec_beats(float a, float b) { return a > b || (b != b && a == a); }\n"
    "/* (a, ia) before (b, ib) in the top-k order: rank, then the lower index. */\n"
    "static __device__ __forceinline__ bool moec_before(float a, long long ia, float b, long long ib)\n"
    "{\n"
    "    return moec_beats(a, b) || (!moec_beats(b, a) && ia < ib);\n"
    "}\n"
    "\n"
    "/* TOPK, k <= 8: x [rows, len] -> out [rows, k] indices, best first. One warp\n"
    " * per row: lane j keeps the best k of elements j, j + 32, .. (a newcomer passes\n"
    " * only those it beats: ties stay in index order); then k rounds each take the\n"
    " * best of the 32 lanes' heads by a butterfly of shuffles (every lane gets the\n"
    " * winner), and the lane that held it moves to its next. */\n"
    "MOEC_KERNEL moec_topk_warp(const float *x, int *out, long long rows, long long len, long long k)\n"
    "{\n"
    "    const int lane = threadIdx.x % 32;\n"
    "    const long long warps = (long long)gridDim.x * MOEC_WARPS;\n"
    "    for (long long row = (long long)blockIdx.x * MOEC_WARPS + threadIdx.x / 32; row < rows; row += warps) {\n"
    "        const float *xr = x + row * len;\n"
    "        float v[MOEC_TOPK_WARP_MAX];\n"
    "        int id[MOEC_TOPK_WARP_MAX];\n"
    "        int filled = 0;\n"
    "        for (long long i = lane; i < len; i += 32) {\n"
    "            const float xi = xr[i];\n"
    "            if (filled == k && !moec_beats(xi, v[k - 1])) continue;\n"
    "            int at = filled < k ? filled++ : (int)k - 1;\n"
    "            for (; at > 0 && moec_beats(xi, v[at - 1]); at--) {\n"
    "                v[at] = v[at - 1];\n"
    "                id[at] = id[at - 1];\n"
    "            }\n"
    "            v[at] = xi;\n"
    "            id[at] = (int)i;\n"
    "        }\n"
    "        int head = 0;\n"
    "        for (long long j = 0; j < k; j++) {\n"
    "            float bv = head < filled ? v[head] : 0.0f;\n"
    "            int bi = head < filled ? id[head] : -1;   /* -1: this lane has none left */\n"
    "            for (int w = 16; w >= 1; w /= 2) {\n"
    "                const float ov = __shfl_xor_sync(MOEC_FULL_WARP, bv, w);\n"
    "                const int oi = __shfl_xor_sync(MOEC_FULL_WARP, bi, w);\n"
    "                if (oi >= 0 && (bi < 0 || moec_before(ov, oi, bv, bi))) {\n"
    "                    bv = ov;\n"
    "                    bi = oi;\n"
    "                }\n"
    "            }\n"
    "            if (bi % 32 == lane) head++;\n"
    "            if (lane == 0) out[row * k + j] = bi;\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "/* TOPK, any k (expert choice: an expert's top-C of the tokens): one block per\n"
    " * row; element i's rank is the number of elements before it in the top-k\n"
    " * order, counted against the row in tiles of MOEC_BLOCK staged in shared\n"
    " * memory; an element of rank < k is out[rank]. O(len^2 / MOEC_BLOCK) a thread. */\n"
    "MOEC_KERNEL moec_topk_block(const float *x, int *out, long long rows, long long len, long long k)\n"
    "{\n"
    "    __shared__ float tile[MOEC_BLOCK];\n"
    "    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {\n"
    "        const float *xr = x + row * len;\n"
    "        for (long long base = 0; base < len; base += MOEC_BLOCK) {   /* the same trips in every thread */\n"
    "            const long long i = base + threadIdx.x;\n"
    "            const float xi = i < len ? xr[i] : 0.0f;\n"
    "            long long rank = 0;\n"
    "            for (long long t0 = 0; t0 < len; t0 += MOEC_BLOCK) {\n"
    "                __syncthreads();\n"
    "                if (t0 + threadIdx.x < len) tile[threadIdx.x] = xr[t0 + threadIdx.x];\n"
    "                __syncthreads();\n"
    "                const long long n = len - t0 < MOEC_BLOCK ? len - t0 : MOEC_BLOCK;\n"
    "                for (long long j = 0; j < n; j++) rank += moec_before(tile[j], t0 + j, xi, i);\n"
    "            }\n"
    "            if (i < len && rank < k) out[row * k + rank] = (int)i;\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "/* CUMSUM along an axis of x viewed as [outer, len, inner]: one thread per\n"
    " * (outer, inner) column, the running sum in order (i32 wraps). */\n"
    "MOEC_KERNEL moec_cumsum_f32(const float *x, float *out, long long outer, long long len, long long inner)\n"
    "{\n"
    "    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < outer * inner;\n"
    "         c += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        const long long at = c / inner * len * inner + c % inner;\n"
    "        float acc = 0.0f;\n"
    "        for (long long s = 0; s < len; s++) out[at + s * inner] = acc += x[at + s * inner];\n"
    "    }\n"
    "}\n"
    "MOEC_KERNEL moec_cumsum_i32(const int *x, int *out, long long outer, long long len, long long inner)\n"
    "{\n"
    "    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < outer * inner;\n"
    "         c += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        const long long at = c / inner * len * inner + c % inner;\n"
    "        int acc = 0;\n"
    "        for (long long s = 0; s < len; s++) out[at + s * inner] = acc = moec_add_i32(acc, x[at + s * inner]);\n"
    "    }\n"
    "}\n"
    "\n"
    "/* SCATTER_ADD: out [v, d] = zeros plus source row r [rows, d] added at row\n"
    " * idx[r], rows in order (the CPU's sum order): one thread per column. */\n"
    "MOEC_KERNEL moec_scatter_add(const float *src, const int *idx, float *out, long long rows, long long v, long long d)\n"
    "{\n"
    "    for (long long c = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; c < d; c += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        for (long long r = 0; r < v; r++) out[r * d + c] = 0.0f;\n"
    "        for (long long r = 0; r < rows; r++) {\n"
    "            if (idx[r] < 0 || idx[r] >= v) __trap();\n"
    "            out[idx[r] * d + c] += src[r * d + c];\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "/* PUT: row r of out [rows, len] = zeros plus src [rows, k] added at idx\n"
    " * [rows, k]: one thread per output element, the row's k indices in order. */\n"
    "MOEC_KERNEL moec_put(const float *src, const int *idx, float *out, long long rows, long long k, long long len)\n"
    "{\n"
    "    for (long long e = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; e < rows * len;\n"
    "         e += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        const long long r = e / len, c = e % len;\n"
    "        float acc = 0.0f;\n"
    "        for (long long i = 0; i < k; i++) {\n"
    "            const int at = idx[r * k + i];\n"
    "            if (at < 0 || at >= len) __trap();\n"
    "            if (at == c) acc += src[r * k + i];\n"
    "        }\n"
    "        out[e] = acc;\n"
    "    }\n"
    "}\n"
    "\n"
    "/* The token-choice dispatch plan (ir/moe_sparse.c), one block. Assignment a\n"
    " * (slot a % k of token a / k) goes to expert slot_expert[a]; keep (or NULL:\n"
    " * all kept) is 0 where a capacity dropped it. counts [E] = kept assignments\n"
    " * per expert; start [E] = their exclusive scan; pos [A] = start[e] + the\n"
    " * assignment's rank among e's kept ones in assignment order (stable), or\n"
    " * `trash` when dropped; rows [R] below R get their token (row_token) and\n"
    " * expert (row_expert), rows no assignment reaches 0. Chunks of MOEC_BLOCK\n"
    " * assignments: a thread's rank in its chunk is counted in shared memory, the\n"
    " * chunk's last thread of an expert advances that expert's running count. */\n"
    "MOEC_KERNEL moec_moe_dispatch(const int *slot_expert, const float *keep, int *counts, int *start, int *pos,\n"
    "                              int *row_token, int *row_expert, long long a_n, long long e_n, long long k,\n"
    "                              long long r_n, long long trash)\n"
    "{\n"
    "    __shared__ int chunk[MOEC_BLOCK];\n"
    "    if (blockIdx.x != 0) return;\n"
    "    for (long long e = threadIdx.x; e < e_n; e += MOEC_BLOCK) counts[e] = 0;\n"
    "    for (long long r = threadIdx.x; r < r_n; r += MOEC_BLOCK) row_token[r] = row_expert[r] = 0;\n"
    "    for (long long base = 0; base < a_n; base += MOEC_BLOCK) {\n"
    "        const long long a = base + threadIdx.x;\n"
    "        int e = -1;   /* -1: past the end, or dropped */\n"
    "        if (a < a_n) {\n"
    "            if (slot_expert[a] < 0 || slot_expert[a] >= e_n) __trap();\n"
    "            if (!keep || keep[a] != 0.0f) e = slot_expert[a];\n"
    "        }\n"
    "        __syncthreads();   /* the previous chunk's counts are in */\n"
    "        chunk[threadIdx.x] = e;\n"
    "        __syncthreads();\n"
    "        int before = 0, last = 1;\n"
    "        for (int t = 0; t < MOEC_BLOCK; t++)\n"
    "            if (chunk[t] == e) {\n"
    "                before += t < (int)threadIdx.x;\n"
    "                last &= t <= (int)threadIdx.x;\n"
    "            }\n"
    "        const int rank = e >= 0 ? counts[e] + before : 0;\n"
    "        __syncthreads();   /* every thread has read counts[e] */\n"
    "        if (e >= 0) {\n"
    "            pos[a] = rank;   /* the rank for now; the row below */\n"
    "            if (last) counts[e] = rank + 1;\n"
    "        } else if (a < a_n) {\n"
    "            pos[a] = -1;\n"
    "        }\n"
    "    }\n"
    "    __syncthreads();\n"
    "    if (threadIdx.x == 0) {   /* E is small: one thread scans, in order */\n"
    "        int s = 0;\n"
    "        for (long long e = 0; e < e_n; e++) {\n"
    "            start[e] = s;\n"
    "            s = moec_add_i32(s, counts[e]);\n"
    "        }\n"
    "    }\n"
    "    __syncthreads();\n"
    "    for (long long a = threadIdx.x; a < a_n; a += MOEC_BLOCK) {\n"
    "        if (pos[a] < 0) {\n"
    "            pos[a] = (int)trash;\n"
    "            continue;\n"
    "        }\n"
    "        const int e = slot_expert[a], p = start[e] + pos[a];\n"
    "        pos[a] = p;\n"
    "        if (p < r_n) {\n"
    "            row_token[p] = (int)(a / k);\n"
    "            row_expert[p] = e;\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "/* The token-choice combine: out [N, d] = for each token its k slots' rows of\n"
    " * y [R, d] (row R: the zero row of a dropped slot) times the slot weights\n"
    " * w [N, k], summed from 0 in slot order: one thread per output element. */\n"
    "MOEC_KERNEL moec_moe_combine(const float *y, const int *slot_row, const float *w, float *out, long long n,\n"
    "                             long long k, long long d, long long r_n)\n"
    "{\n"
    "    for (long long e = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; e < n * d;\n"
    "         e += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        const long long t = e / d, c = e % d;\n"
    "        float acc = 0.0f;\n"
    "        for (long long j = 0; j < k; j++) {\n"
    "            const int row = slot_row[t * k + j];\n"
    "            if (row < 0 || row > r_n) __trap();\n"
    "            const float picked = row == r_n ? 0.0f : y[row * d + c];\n"
    "            acc = acc + picked * w[t * k + j];\n"
    "        }\n"
    "        out[e] = acc;\n"
    "    }\n"
    "}\n"
    "\n"
    "/* Philox: the four words of elements first .. first + n - 1 (out [n, 4]), and\n"
    " * their uniform (normal = 0) or normal (1) draws (out [n]). */\n"
    "MOEC_KERNEL moec_philox_words(unsigned *out, long long n, long long seed, long long step, long long stream,\n"
    "                              long long first)\n"
    "{\n"
    "    for (long long i = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; i < n; i += (long long)gridDim.x * MOEC_BLOCK)\n"
    "        moec_philox((unsigned long long)seed, (unsigned long long)step, (unsigned)stream,\n"
    "                    (unsigned long long)(first + i), out + 4 * i);\n"
    "}\n"
    "MOEC_KERNEL moec_philox_fill(float *out, long long n, long long seed, long long step, long long stream,\n"
    "                             long long first, long long normal)\n"
    "{\n"
    "    for (long long i = (long long)blockIdx.x * MOEC_BLOCK + threadIdx.x; i < n; i += (long long)gridDim.x * MOEC_BLOCK) {\n"
    "        const unsigned long long s = (unsigned long long)seed, t = (unsigned long long)step;\n"
    "        const unsigned long long el = (unsigned long long)(first + i);\n"
    "        out[i] = normal ? moec_philox_normal(s, t, (unsigned)stream, el)\n"
    "                        : moec_philox_uniform(s, t, (unsigned)stream, el);\n"
    "    }\n"
    "}\n"
    "#endif /* MOEC_CUDA_TEMPLATES */\n";

char *cg_cuda_templates_source(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fputs("/* moec's CUDA templates (codegen/cuda_templates.h): one complete NVRTC\n"
          " * translation unit, compiled with the options of codegen/nvrtc.c. */\n", f);
    cg_cuda_print_base_helpers(f);
    cg_cuda_print_philox(f);
    fputs(TEMPLATES, f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int64_t numel(const ir_shape *s) { return ir_shape_numel(s); }
static int64_t last_dim(const ir_shape *s) { return s->rank ? s->dim[s->rank - 1] : 1; }

/* Blocks for `threads` threads (one per item), at most CG_CUDA_MAX_GRID. */
static int64_t blocks_for(int64_t threads)
{
    int64_t g = (threads + CG_CUDA_BLOCK - 1) / CG_CUDA_BLOCK;
    return g < 1 ? 1 : g > CG_CUDA_MAX_GRID ? CG_CUDA_MAX_GRID : g;
}

int cg_cuda_template_call(const ir_ktemplate *t, cg_cuda_tcall *c, const char **why)
{
    *c = (cg_cuda_tcall){ .block = CG_CUDA_BLOCK };
    switch (t->node.op) {
    case IR_TOPK: {
        int64_t len = last_dim(&t->in_shape[0]), k = ir_attr_k(&t->node), rows = numel(&t->in_shape[0]) / len;
        bool warp = k <= CG_CUDA_TOPK_WARP_MAX;
        c->symbol = warp ? "moec_topk_warp" : "moec_topk_block";
        c->grid = warp ? blocks_for(rows * 32) : (rows < 1 ? 1 : rows > CG_CUDA_MAX_GRID ? CG_CUDA_MAX_GRID : rows);
        c->n_bufs = 2;
        c->bufs[0] = t->in[0], c->bufs[1] = t->out;
        c->n_scalars = 3;
        c->scalars[0] = rows, c->scalars[1] = len, c->scalars[2] = k;
        return 0;
    }
    case IR_CUMSUM: {
        const ir_shape *s = &t->node.shape;
        int axis = (int)ir_attr_axis(&t->node);
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= s->dim[i];
        for (int i = axis + 1; i < s->rank; i++) inner *= s->dim[i];
        c->symbol = t->node.dtype == IR_I32 ? "moec_cumsum_i32" : "moec_cumsum_f32";
        c->grid = blocks_for(outer * inner);
        c->n_bufs = 2;
        c->bufs[0] = t->in[0], c->bufs[1] = t->out;
        c->n_scalars = 3;
        c->scalars[0] = outer, c->scalars[1] = s->dim[axis], c->scalars[2] = inner;
        return 0;
    }
    case IR_SCATTER_ADD: {
        int64_t d = t->node.shape.dim[1];
        c->symbol = "moec_scatter_add";
        c->grid = blocks_for(d);
        c->n_bufs = 3;
        c->bufs[0] = t->in[0], c->bufs[1] = t->in[1], c->bufs[2] = t->out;
        c->n_scalars = 3;
        c->scalars[0] = numel(&t->in_shape[1]), c->scalars[1] = t->node.shape.dim[0], c->scalars[2] = d;
        return 0;
    }
    case IR_PUT: {
        int64_t k = last_dim(&t->in_shape[0]), rows = numel(&t->in_shape[0]) / k, len = ir_attr_size(&t->node);
        c->symbol = "moec_put";
        c->grid = blocks_for(rows * len);
        c->n_bufs = 3;
        c->bufs[0] = t->in[0], c->bufs[1] = t->in[1], c->bufs[2] = t->out;
        c->n_scalars = 3;
        c->scalars[0] = rows, c->scalars[1] = k, c->scalars[2] = len;
        return 0;
    }
    default:
        *why = ir_op_name(t->node.op);
        return -1;
    }
}
