/* codegen/cuda_print.c -- loop kernels as CUDA C (codegen/cuda_print.h).
 * Each kernel's function is printed once per launch, with a placeholder
 * name; launches whose text is the same share one kernel. A translation
 * unit is a comment naming the launches and model-file lines, the helpers
 * the function uses (each under its own include guard, so translation
 * units may also be concatenated into one), and the function. Scalars are
 * the operations of the reference evaluator (ir/kinterp.c) in the same
 * order: exp and tanh written out from ir/kernel_math.h's constants,
 * Philox from ir/philox.c's algorithm, and NVRTC is asked for no FMA
 * contraction (codegen/nvrtc.c), so that only logf, erff and the normal
 * draw's log, cos may differ from the CPU (doc/kernels.md, "CUDA C"). */
#include "config.h"

#include "codegen/cuda_print.h"

#include "codegen/cuda_templates.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ir/kernel_math.h"

/* Helpers a kernel needs beyond the base set. */
enum { NEED_EXP = 1, NEED_TANH = 2, NEED_PHILOX = 4 };

typedef struct kprint {
    const ir_kprogram *p;
    const ir_launch *l;
    const ir_kloop *k;
    int *param;          /* per buffer id: parameter index, or -1 */
    bool rows;           /* one warp per point */
    unsigned need;
} kprint;

static const char *axis_name(int a)
{
    static const char *const names[IR_K_AXES] = { "i0", "i1", "i2", "i3", "i4", "i5", "r" };
    _Static_assert(IR_K_AXES == 7, "one name per kernel axis");
    return names[a];
}

static const char *ctype(ir_dtype t) { return t == IR_I32 ? "int" : "float"; }

static void indent(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++) fputs("    ", out);
}

/* A float constant exactly: a hex literal, or the helpers' infinity / NaN. */
static void print_float(FILE *out, double v)
{
    float f = (float)v;
    if (isnan(f)) fputs("__int_as_float(0x7fc00000)", out);
    else if (isinf(f)) fputs(f < 0 ? "(-MOEC_INF)" : "MOEC_INF", out);
    else if (f == 0) fputs(signbit(f) ? "-0.0f" : "0.0f", out);
    else fprintf(out, "%af", (double)f);
}

/* The element offset of an index: "256LL*i0 + r + 3LL", gathered through moec_gather. */
static void print_index(FILE *out, const ir_kindex *ix, int64_t limit)
{
    if (ix->gather >= 0 && limit >= 0) fputs("moec_gather(", out);
    bool first = true;
    for (int a = 0; a < IR_K_AXES; a++) {
        if (!ix->stride[a]) continue;
        fputs(first ? "" : " + ", out);
        if (ix->stride[a] != 1) fprintf(out, "%" PRId64 "LL*", ix->stride[a]);
        fputs(axis_name(a), out);
        first = false;
    }
    if (ix->gather >= 0) {
        fputs(first ? "" : " + ", out);
        fprintf(out, "%" PRId64 "LL*(long long)v%d", ix->gather_stride, ix->gather);
        first = false;
    }
    if (ix->base || first) fprintf(out, "%s%" PRId64 "LL", first ? "" : " + ", ix->base);
    if (ix->gather >= 0 && limit >= 0) fprintf(out, ", %" PRId64 "LL)", limit);
}

/* The right-hand side of an ALU instruction, as ir/kinterp.c computes it. */
static void print_alu(FILE *out, kprint *c, const ir_kinstr *in)
{
    const int *s = in->src;
    ir_dtype ta = c->k->ins[s[0]].dtype;
    switch (ir_op_kind(in->op)) {
    case IR_KIND_UNARY:
        if (in->op == IR_CAST) {
            if (in->attr == ta) fprintf(out, "v%d", s[0]);
            else if (in->attr == IR_F32) fprintf(out, "(float)v%d", s[0]);
            else fprintf(out, "moec_f32_to_i32(v%d)", s[0]);
            return;
        }
        if (ta == IR_I32) {
            if (in->op == IR_NEG) fprintf(out, "moec_neg_i32(v%d)", s[0]);
            else fprintf(out, "v%d", s[0]);
            return;
        }
        switch (in->op) {
        case IR_NEG: fprintf(out, "-v%d", s[0]); return;
        case IR_EXP: c->need |= NEED_EXP; fprintf(out, "moec_exp(v%d)", s[0]); return;
        case IR_LOG: fprintf(out, "logf(v%d)", s[0]); return;
        case IR_TANH: c->need |= NEED_EXP | NEED_TANH; fprintf(out, "moec_tanh(v%d)", s[0]); return;
        case IR_SQRT: fprintf(out, "sqrtf(v%d)", s[0]); return;
        case IR_RSQRT: fprintf(out, "1.0f / sqrtf(v%d)", s[0]); return;
        case IR_ERF: fprintf(out, "erff(v%d)", s[0]); return;
        default: fprintf(out, "v%d", s[0]); return;   /* STOP_GRAD */
        }
    case IR_KIND_BINARY:
        if (in->op == IR_CMP) {
            fprintf(out, "v%d %s v%d ? %s", s[0], ir_cmp_c_operator((ir_cmp)in->attr), s[1],
                    in->dtype == IR_I32 ? "1 : 0" : "1.0f : 0.0f");
        } else if (in->op == IR_MAX) {
            fprintf(out, "v%d >= v%d ? v%d : v%d", s[0], s[1], s[0], s[1]);
        } else if (ta == IR_I32) {
            const char *fn = in->op == IR_ADD ? "add" : in->op == IR_SUB ? "sub" : in->op == IR_MUL ? "mul" : "div";
            fprintf(out, "moec_%s_i32(v%d, v%d)", fn, s[0], s[1]);
        } else {
            const char *op = in->op == IR_ADD ? "+" : in->op == IR_SUB ? "-" : in->op == IR_MUL ? "*" : "/";
            fprintf(out, "v%d %s v%d", s[0], op, s[1]);
        }
        return;
    case IR_KIND_WHERE:
        fprintf(out, "v%d != %s ? v%d : v%d", s[0], ta == IR_I32 ? "0" : "0.0f", s[1], s[2]);
        return;
    default: MOEC_UNREACHABLE();
    }
}

static const char *reduce_helper(const ir_kinstr *in)
{
    if (in->op == IR_SUM) return in->dtype == IR_F32 ? "sum_f32" : "sum_i32";
    return in->dtype == IR_F32 ? "max_f32" : "max_i32";
}

/* One statement; a reduce is its combining step inside the pass loop. */
static void print_statement(FILE *out, kprint *c, int id, int depth)
{
    const ir_kinstr *in = &c->k->ins[id];
    indent(out, depth);
    switch (in->kind) {
    case IR_KI_LOAD:
        fprintf(out, "const %s v%d = %s%d[", ctype(in->dtype), id, "arg", c->param[in->buf]);
        print_index(out, &in->index, c->p->bufs[in->buf].numel);
        fputs("];\n", out);
        return;
    case IR_KI_CONST:
        if (in->dtype == IR_I32) fprintf(out, "const int v%d = %d;\n", id, (int32_t)in->value);
        else {
            fprintf(out, "const float v%d = ", id);
            print_float(out, in->value);
            fputs(";\n", out);
        }
        return;
    case IR_KI_AXIS: fprintf(out, "const float v%d = (float)%s;\n", id, axis_name((int)in->attr)); return;
    case IR_KI_RANDOM:
        c->need |= NEED_PHILOX;
        fprintf(out, "const float v%d = moec_philox_%s(%" PRIu64 "ULL, moec_step(v%d), %" PRIu32 "u, ", id,
                in->attr == IR_RANDOM_NORMAL ? "normal" : "uniform", in->seed, in->src[0], in->stream);
        print_index(out, &in->index, -1);
        fputs(");\n", out);
        return;
    case IR_KI_ALU:
        fprintf(out, "const %s v%d = ", ctype(in->dtype), id);
        print_alu(out, c, in);
        fputs(";\n", out);
        return;
    case IR_KI_REDUCE:
        if (in->op == IR_SUM && in->dtype == IR_F32) fprintf(out, "v%d = v%d + v%d;\n", id, id, in->src[0]);
        else fprintf(out, "v%d = moec_%s(v%d, v%d);\n", id, reduce_helper(in), id, in->src[0]);
        return;
    case IR_KI_STORE:
        if (c->rows && in->pass == IR_KPASS_POINT) fputs("if (lane == 0) ", out);
        fprintf(out, "arg%d[", c->param[in->buf]);
        print_index(out, &in->index, c->p->bufs[in->buf].numel);
        fprintf(out, "] = v%d;\n", in->src[0]);
        return;
    default: MOEC_UNREACHABLE();
    }
}

/* Reduce pass `pass` (the instructions of that pass, in order, between
 * first and end): accumulators, the lane's terms, the warp fold. */
static void print_pass(FILE *out, kprint *c, int pass, int first, int end, int depth)
{
    const ir_kloop *k = c->k;
    bool stores = false;
    for (int i = first; i < end; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->pass != pass) continue;
        stores |= in->kind == IR_KI_STORE;
        if (in->kind != IR_KI_REDUCE) continue;
        indent(out, depth);
        fprintf(out, "%s v%d = %s;\n", ctype(in->dtype), i,
                in->op == IR_SUM ? (in->dtype == IR_I32 ? "0" : "0.0f")
                                 : (in->dtype == IR_I32 ? "(-2147483647 - 1)" : "(-MOEC_INF)"));
    }
    indent(out, depth);
    fprintf(out, "for (long long r = lane; r < %" PRId64 "LL; r += %d) {   /* pass %d */\n", k->reduce, CG_CUDA_LANES,
            pass);
    for (int i = first; i < end; i++)
        if (k->ins[i].pass == pass) print_statement(out, c, i, depth + 1);
    indent(out, depth);
    fputs("}\n", out);
    for (int i = first; i < end; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->kind != IR_KI_REDUCE || in->pass != pass) continue;
        indent(out, depth);
        fprintf(out, "v%d = moec_warp_%s(v%d);\n", i, reduce_helper(in), i);
    }
    if (stores) {
        indent(out, depth);
        fputs("__syncwarp();   /* the pass's stores, seen by every lane */\n", out);
    }
}

/* The point's coordinates from its flat number p (row-major). */
static void print_coordinates(FILE *out, const ir_kloop *k, int depth)
{
    if (k->rank == 0) return;
    if (k->rank > 1) {
        indent(out, depth);
        fputs("long long q = p;\n", out);
    }
    for (int a = k->rank - 1; a >= 1; a--) {
        indent(out, depth);
        fprintf(out, "const long long %s = q %% %" PRId64 "LL;\n", axis_name(a), k->dim[a]);
        indent(out, depth);
        fprintf(out, "q /= %" PRId64 "LL;\n", k->dim[a]);
    }
    indent(out, depth);
    fprintf(out, "const long long i0 = %s;\n", k->rank > 1 ? "q" : "p");
}

/* The function after its name: parameters and body. 0; -1 out of memory;
 * -2 when a buffer's dtype is neither f32 nor i32. */
static int print_function(FILE *out, kprint *c)
{
    const ir_launch *l = c->l;
    const ir_kloop *k = c->k;
    int *args = malloc((size_t)(l->n_reads + l->n_writes + 1) * sizeof *args);
    int *stage = malloc((size_t)(k->n_ins ? k->n_ins : 1) * sizeof *stage);
    if (!args || !stage) {
        free(args);
        free(stage);
        return -1;
    }
    int n = cg_cuda_kernel_args(l, args);
    fputc('(', out);
    int rc = 0;
    for (int j = 0; j < n; j++) {
        const ir_kbuf *b = &c->p->bufs[args[j]];
        if (b->dtype != IR_F32 && b->dtype != IR_I32) rc = -2;
        bool written = false;
        for (int w = 0; w < l->n_writes; w++) written |= l->writes[w] == args[j];
        fprintf(out, "%s%s%s *arg%d", j ? ", " : "", written ? "" : "const ", ctype(b->dtype), j);
        c->param[args[j]] = j;
    }
    free(args);
    fputs(")\n{\n", out);
    int64_t points = ir_kloop_points(k);
    int depth = 2;
    if (c->rows) {
        fprintf(out, "    const int lane = threadIdx.x %% %d;\n", CG_CUDA_LANES);
        fprintf(out, "    const long long first = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / %d;\n",
                CG_CUDA_LANES);
        fprintf(out, "    const long long stride = (long long)gridDim.x * blockDim.x / %d;\n", CG_CUDA_LANES);
        fprintf(out, "    for (long long p = first; p < %" PRId64 "LL; p += stride) {   /* one warp per point */\n",
                points);
    } else {
        fputs("    const long long first = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n", out);
        fputs("    const long long stride = (long long)gridDim.x * blockDim.x;\n", out);
        fprintf(out, "    for (long long p = first; p < %" PRId64 "LL; p += stride) {   /* one thread per point */\n",
                points);
    }
    print_coordinates(out, k, depth);
    ir_kloop_stages(k, stage);
    for (int s = 0; s <= k->n_passes; s++) {
        bool point_store = false;
        for (int i = 0; i < k->n_ins; i++) {
            if (k->ins[i].pass != IR_KPASS_POINT || stage[i] != s) continue;
            print_statement(out, c, i, depth);
            point_store |= k->ins[i].kind == IR_KI_STORE;
        }
        if (s == k->n_passes) break;
        if (point_store) {
            indent(out, depth);
            fputs("__syncwarp();   /* lane 0's stores, seen by every lane */\n", out);
        }
        int first = 0;
        while (first < k->n_ins && k->ins[first].pass != s) first++;
        int end = k->n_ins;
        while (end > first && k->ins[end - 1].pass != s) end--;
        if (first < end) print_pass(out, c, s, first, end, depth);
    }
    free(stage);
    fputs("    }\n}\n", out);
    return rc;
}

/* ---- the helpers ---- */

void cg_cuda_print_base_helpers(FILE *out)
{
    fputs("#ifndef MOEC_CUDA_BASE\n"
          "#define MOEC_CUDA_BASE\n"
          "/* moec's CUDA C helpers (doc/kernels.md, \"CUDA C\"). No header is included:\n"
          " * NVRTC declares the math functions and intrinsics used here. */\n", out);
    fprintf(out, "#define MOEC_BLOCK %d   /* threads per block, every kernel (plan.txt) */\n", CG_CUDA_BLOCK);
    fputs(
          "#ifdef __cplusplus\n"
          "#define MOEC_KERNEL extern \"C\" __global__ void __launch_bounds__(MOEC_BLOCK)\n"
          "#else\n"
          "#define MOEC_KERNEL __global__ void\n"
          "#endif\n"
          "#define MOEC_INF __int_as_float(0x7f800000)\n"
          "#define MOEC_FULL_WARP 0xffffffffu\n"
          "/* i32 arithmetic wraps (two's complement), as on the CPU. */\n"
          "static __device__ __forceinline__ int moec_add_i32(int a, int b) { return (int)((unsigned)a + (unsigned)b); }\n"
          "static __device__ __forceinline__ int moec_sub_i32(int a, int b) { return (int)((unsigned)a - (unsigned)b); }\n"
          "static __device__ __forceinline__ int moec_mul_i32(int a, int b) { return (int)((unsigned)a * (unsigned)b); }\n"
          "static __device__ __forceinline__ int moec_neg_i32(int a) { return (int)(0u - (unsigned)a); }\n"
          "/* Faults the CPU backend reports (a division by zero, a cast or a gathered\n"
          " * index out of range) stop the kernel: the runtime sees a launch failure. */\n"
          "static __device__ __forceinline__ int moec_div_i32(int a, int b)\n"
          "{\n"
          "    if (b == 0) __trap();\n"
          "    return b == -1 ? moec_neg_i32(a) : a / b;\n"
          "}\n"
          "static __device__ __forceinline__ int moec_f32_to_i32(float x)\n"
          "{\n"
          "    if (!(x >= -2147483648.0f && x < 2147483648.0f)) __trap();\n"
          "    return (int)x;\n"
          "}\n"
          "static __device__ __forceinline__ long long moec_gather(long long e, long long numel)\n"
          "{\n"
          "    if (e < 0 || e >= numel) __trap();\n"
          "    return e;\n"
          "}\n"
          "/* Reductions: a maximum takes a larger or NaN term and keeps acc on ties. */\n"
          "static __device__ __forceinline__ float moec_max_f32(float acc, float x) { return x != x || x > acc ? x : acc; }\n"
          "static __device__ __forceinline__ int moec_max_i32(int acc, int x) { return x > acc ? x : acc; }\n"
          "static __device__ __forceinline__ int moec_sum_i32(int acc, int x) { return moec_add_i32(acc, x); }\n"
          "/* The warp's 32 partial results folded lane j with lane j + w, w = 16, 8, .., 1\n"
          " * (doc/kernels.md, \"Reductions\", L = 32); every lane gets lane 0's result. */\n"
          "static __device__ __forceinline__ float moec_warp_sum_f32(float v)\n"
          "{\n"
          "    for (int w = 16; w >= 1; w /= 2) v = v + __shfl_down_sync(MOEC_FULL_WARP, v, w);\n"
          "    return __shfl_sync(MOEC_FULL_WARP, v, 0);\n"
          "}\n"
          "static __device__ __forceinline__ int moec_warp_sum_i32(int v)\n"
          "{\n"
          "    for (int w = 16; w >= 1; w /= 2) v = moec_add_i32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));\n"
          "    return __shfl_sync(MOEC_FULL_WARP, v, 0);\n"
          "}\n"
          "static __device__ __forceinline__ float moec_warp_max_f32(float v)\n"
          "{\n"
          "    for (int w = 16; w >= 1; w /= 2) v = moec_max_f32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));\n"
          "    return __shfl_sync(MOEC_FULL_WARP, v, 0);\n"
          "}\n"
          "static __device__ __forceinline__ int moec_warp_max_i32(int v)\n"
          "{\n"
          "    for (int w = 16; w >= 1; w /= 2) v = moec_max_i32(v, __shfl_down_sync(MOEC_FULL_WARP, v, w));\n"
          "    return __shfl_sync(MOEC_FULL_WARP, v, 0);\n"
          "}\n"
          "#endif /* MOEC_CUDA_BASE */\n",
          out);
}

static void print_exp(FILE *out)
{
    const float *e = ir_kexp_c;
    fputs("#ifndef MOEC_CUDA_EXP\n#define MOEC_CUDA_EXP\n"
          "/* exp as ir/kernel_math.h computes it, operation for operation. */\n"
          "static __device__ __forceinline__ float moec_exp(float x)\n{\n"
          "    if (x != x) return x;\n", out);
    fprintf(out, "    if (x > %af) return MOEC_INF;\n", (double)e[IR_KEXP_HI]);
    fprintf(out, "    if (x < %af) return 0.0f;\n", (double)e[IR_KEXP_LO]);
    fprintf(out, "    const float n = fmaf(x, %af, %af) - %af;\n", (double)e[IR_KEXP_LOG2E], (double)e[IR_KEXP_ROUND],
            (double)e[IR_KEXP_ROUND]);
    fprintf(out, "    float r = fmaf(n, %af, x);\n", -(double)e[IR_KEXP_LN2_HI]);
    fprintf(out, "    r = fmaf(n, %af, r);\n", -(double)e[IR_KEXP_LN2_LO]);
    fprintf(out, "    float q = %af;\n", (double)e[IR_KEXP_P0]);
    for (int i = IR_KEXP_P1; i <= IR_KEXP_P5; i++) fprintf(out, "    q = fmaf(q, r, %af);\n", (double)e[i]);
    fputs("    const float y = fmaf(q, r * r, r) + 1.0f;\n"
          "    const int ni = (int)n, n1 = ni / 2, n2 = ni - n1;\n"
          "    return y * __int_as_float((n1 + 127) * (1 << 23)) * __int_as_float((n2 + 127) * (1 << 23));\n"
          "}\n#endif /* MOEC_CUDA_EXP */\n", out);
}

static void print_tanh(FILE *out)
{
    const float *t = ir_ktanh_c;
    fputs("#ifndef MOEC_CUDA_TANH\n#define MOEC_CUDA_TANH\n"
          "/* tanh as ir/kernel_math.h computes it. */\n"
          "static __device__ __forceinline__ float moec_tanh(float x)\n{\n"
          "    const float ax = fabsf(x);\n", out);
    fprintf(out, "    if (ax > %af) {\n", (double)t[IR_KTANH_SMALL]);
    fputs("        const float z = 1.0f - 2.0f / (moec_exp(ax + ax) + 1.0f);\n"
          "        return x < 0.0f ? -z : z;\n    }\n"
          "    const float s = x * x;\n", out);
    fprintf(out, "    float q = %af;\n", (double)t[IR_KTANH_Q0]);
    for (int i = IR_KTANH_Q1; i <= IR_KTANH_Q4; i++) fprintf(out, "    q = fmaf(q, s, %af);\n", (double)t[i]);
    fputs("    return x == 0.0f ? x : fmaf(q * s, x, x);\n}\n#endif /* MOEC_CUDA_TANH */\n", out);
}

void cg_cuda_print_philox(FILE *out)
{
    fputs("#ifndef MOEC_CUDA_PHILOX\n#define MOEC_CUDA_PHILOX\n"
          "/* Philox4x32-10 and its draws, as ir/philox.c: counter (element, stream,\n"
          " * step), key = seed; the uniform draw is bit-identical to the CPU's. */\n"
          "static __device__ __forceinline__ void moec_philox(unsigned long long seed, unsigned long long step,\n"
          "                                                   unsigned stream, unsigned long long element,\n"
          "                                                   unsigned out[4])\n{\n"
          "    unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);\n"
          "    unsigned x0 = (unsigned)element, x1 = (unsigned)(element >> 32), x2 = stream, x3 = (unsigned)step;\n"
          "    for (int round = 0; round < 10; round++) {\n"
          "        if (round > 0) {\n"
          "            k0 += 0x9E3779B9u;\n"
          "            k1 += 0xBB67AE85u;\n"
          "        }\n"
          "        const unsigned long long p0 = 0xD2511F53ull * x0, p1 = 0xCD9E8D57ull * x2;\n"
          "        const unsigned y0 = (unsigned)(p1 >> 32) ^ x1 ^ k0, y2 = (unsigned)(p0 >> 32) ^ x3 ^ k1;\n"
          "        x1 = (unsigned)p1;\n"
          "        x3 = (unsigned)p0;\n"
          "        x0 = y0;\n"
          "        x2 = y2;\n"
          "    }\n"
          "    out[0] = x0;\n    out[1] = x1;\n    out[2] = x2;\n    out[3] = x3;\n"
          "}\n"
          "/* The step counter: an i32 or a float holding a non-negative integer. */\n"
          "static __device__ __forceinline__ unsigned long long moec_step(float s)\n{\n"
          "    const double d = rint((double)s);\n"
          "    if (!(d >= 0.0 && d < 0x1p63)) __trap();\n"
          "    return (unsigned long long)d;\n"
          "}\n"
          "static __device__ __forceinline__ float moec_philox_uniform(unsigned long long seed, unsigned long long step,\n"
          "                                                            unsigned stream, unsigned long long element)\n{\n"
          "    unsigned w[4];\n"
          "    moec_philox(seed, step, stream, element, w);\n"
          "    return (float)((double)(w[0] >> 8) * (1.0 / 16777216.0));\n"
          "}\n"
          "/* Box-Muller in double, as the CPU; log and cos are CUDA's (within 1 ulp of\n"
          " * double, so the float result almost always equals the CPU's). */\n"
          "static __device__ __forceinline__ float moec_philox_normal(unsigned long long seed, unsigned long long step,\n"
          "                                                           unsigned stream, unsigned long long element)\n{\n"
          "    unsigned w[4];\n"
          "    moec_philox(seed, step, stream, element, w);\n"
          "    const double u1 = (double)(w[0] >> 8) * (1.0 / 16777216.0) + 1.0 / 16777216.0;\n"
          "    const double u2 = (double)(w[1] >> 8) * (1.0 / 16777216.0);\n"
          "    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 0x1.921fb54442d18p+1 * u2));\n"
          "}\n#endif /* MOEC_CUDA_PHILOX */\n", out);
}

/* ---- the program ---- */

cg_cuda_geometry cg_cuda_geometry_of(const ir_kloop *k)
{
    cg_cuda_geometry g = { .block = CG_CUDA_BLOCK, .rows = k->reduce > 0 };
    int64_t per_block = g.rows ? CG_CUDA_BLOCK / CG_CUDA_LANES : CG_CUDA_BLOCK;
    int64_t points = ir_kloop_points(k);
    g.grid = (points + per_block - 1) / per_block;
    if (g.grid < 1) g.grid = 1;
    if (g.grid > CG_CUDA_MAX_GRID) g.grid = CG_CUDA_MAX_GRID;
    return g;
}

int cg_cuda_kernel_args(const ir_launch *l, int *bufs)
{
    int n = 0;
    const ir_kloop *k = &l->loop;
    for (int i = 0; i < k->n_ins; i++) {
        int b = k->ins[i].buf;
        if ((k->ins[i].kind != IR_KI_LOAD && k->ins[i].kind != IR_KI_STORE) || b < 0) continue;
        bool seen = false;
        for (int j = 0; j < n; j++) seen |= bufs[j] == b;
        if (!seen) bufs[n++] = b;
    }
    return n;
}

/* A C identifier from a launch name. */
static char *identifier(const char *name)
{
    size_t n = strlen(name);
    char *s = malloc(n + 2);
    if (!s) return NULL;
    size_t j = 0;
    if (!(name[0] >= 'a' && name[0] <= 'z') && !(name[0] >= 'A' && name[0] <= 'Z') && name[0] != '_') s[j++] = 'k';
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        s[j++] = ok ? ch : '_';
    }
    s[j] = 0;
    return s;
}

/* One launch's function text and helpers; NULL when out of memory. *bad:
 * print_function's result. */
static char *function_text(const ir_kprogram *p, const ir_launch *l, int *param, unsigned *need, int *bad)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    kprint c = { .p = p, .l = l, .k = &l->loop, .param = param, .rows = l->loop.reduce > 0 };
    *bad = print_function(f, &c);
    *need = c.need;
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static void print_lines(FILE *out, const ir_kprogram *p, const ir_launch *l)
{
    if (!l->lines[0]) {
        fputs("no model-file line (the step's own code)", out);
        return;
    }
    fprintf(out, "%s:", p->source_name ? p->source_name : "line");
    for (int i = 0; i < IR_K_MAX_LINES && l->lines[i]; i++) fprintf(out, "%s%d", i ? "," : "", l->lines[i]);
}

static char *unit_text(const ir_kprogram *p, const cg_cuda_kernel *kern, const char *function, unsigned need)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    const ir_launch *l0 = &p->launches[kern->launches[0]];
    cg_cuda_geometry g = cg_cuda_geometry_of(&l0->loop);
    fprintf(f, "/* moec emit --target cuda: kernel %s, %s, run by %d launch%s:\n", kern->symbol,
            g.rows ? "a row kernel (one warp per point, warp-shuffle reductions)"
                   : "elementwise (one thread per point, grid-stride)",
            kern->n_launches, kern->n_launches == 1 ? "" : "es");
    for (int i = 0; i < kern->n_launches; i++) {
        const ir_launch *l = &p->launches[kern->launches[i]];
        fprintf(f, " *   k%d %s from ", kern->launches[i], l->name);
        print_lines(f, p, l);
        fputc('\n', f);
    }
    fputs(" * A complete NVRTC translation unit (options: codegen/nvrtc.c); grid, block\n"
          " * and arguments of each launch in plan.txt. */\n", f);
    cg_cuda_print_base_helpers(f);
    if (need & NEED_EXP) print_exp(f);
    if (need & NEED_TANH) print_tanh(f);
    if (need & NEED_PHILOX) cg_cuda_print_philox(f);
    fprintf(f, "\n/* ");
    print_lines(f, p, l0);
    fprintf(f, " */\nMOEC_KERNEL %s%s", kern->symbol, function);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

void cg_cuda_program_free(cg_cuda_program *cp)
{
    for (int i = 0; i < cp->n_kernels; i++) {
        free(cp->kernels[i].symbol);
        free(cp->kernels[i].launches);
        free(cp->kernels[i].source);
    }
    free(cp->kernels);
    free(cp->kernel_of);
    *cp = (cg_cuda_program){0};
}

int cg_cuda_print_program(const ir_kprogram *p, cg_cuda_program *out, moec_diag *d)
{
    *out = (cg_cuda_program){0};
    int n = p->n_launches;
    char **fn = calloc((size_t)(n ? n : 1), sizeof *fn);
    unsigned *need = calloc((size_t)(n ? n : 1), sizeof *need);
    int *param = malloc((size_t)(p->n_bufs ? p->n_bufs : 1) * sizeof *param);
    out->kernel_of = malloc((size_t)(n ? n : 1) * sizeof *out->kernel_of);
    out->kernels = calloc((size_t)(n ? n : 1), sizeof *out->kernels);
    int rc = 0;
    if (!fn || !need || !param || !out->kernel_of || !out->kernels) {
        rc = moec_error(d, "out of memory printing CUDA C");
        goto done;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const ir_launch *l = &p->launches[i];
        out->kernel_of[i] = -1;
        if (l->kind != IR_LAUNCH_LOOP) continue;
        int bad = 0;
        fn[i] = function_text(p, l, param, &need[i], &bad);
        if (!fn[i] || bad == -1) {
            rc = moec_error(d, "out of memory printing CUDA C");
            break;
        }
        if (bad) {
            rc = moec_error(d, "launch k%d (%s): a buffer is neither f32 nor i32; the CUDA printer takes those only", i,
                            l->name);
            break;
        }
        int same = -1;
        for (int j = 0; j < out->n_kernels && same < 0; j++)
            if (!strcmp(fn[out->kernels[j].launches[0]], fn[i])) same = j;
        if (same < 0) {
            cg_cuda_kernel *kn = &out->kernels[out->n_kernels];
            kn->symbol = identifier(l->name);
            kn->launches = malloc((size_t)n * sizeof *kn->launches);
            if (!kn->symbol || !kn->launches) {
                free(kn->symbol);
                free(kn->launches);
                *kn = (cg_cuda_kernel){0};
                rc = moec_error(d, "out of memory printing CUDA C");
                break;
            }
            same = out->n_kernels++;
            for (int j = 0; j < same; j++) {
                if (strcmp(out->kernels[j].symbol, kn->symbol)) continue;
                char *u = malloc(strlen(kn->symbol) + 16);
                if (!u) {
                    rc = moec_error(d, "out of memory printing CUDA C");
                    break;
                }
                sprintf(u, "%s_k%d", kn->symbol, i);
                free(kn->symbol);
                kn->symbol = u;
                break;
            }
        }
        cg_cuda_kernel *kn = &out->kernels[same];
        kn->launches[kn->n_launches++] = i;
        out->kernel_of[i] = same;
    }
    for (int j = 0; j < out->n_kernels && rc == 0; j++) {
        cg_cuda_kernel *kn = &out->kernels[j];
        kn->source = unit_text(p, kn, fn[kn->launches[0]], need[kn->launches[0]]);
        if (!kn->source) rc = moec_error(d, "out of memory printing CUDA C");
    }
done:
    if (fn)
        for (int i = 0; i < n; i++) free(fn[i]);
    free(fn);
    free(need);
    free(param);
    if (rc < 0) cg_cuda_program_free(out);
    return rc;
}

/* ---- the plan ---- */

static void print_mat(FILE *out, const ir_kprogram *p, const char *name, const ir_kmat *m)
{
    fprintf(out, " %s=b%d(%s)+%" PRId64 " rs %" PRId64 " cs %" PRId64 " bs %" PRId64 ",%" PRId64, name, m->buf,
            p->bufs[m->buf].name, m->offset, m->row_stride, m->col_stride, m->batch_stride[0], m->batch_stride[1]);
}

void cg_cuda_print_plan(FILE *out, const ir_kprogram *p, const cg_cuda_program *cp)
{
    fprintf(out, "# moec emit --target cuda: the launch plan of %s, %d launches in order on one stream.\n",
            p->source_name ? p->source_name : "a model", p->n_launches);
    fputs("# loop: KERNEL.cu's function <<<grid, block>>>(arg0, arg1, ...), each arg a buffer bN(name);\n"
          "# gemm: a cuBLAS call, C = alpha A B + beta C (rs/cs: row and column strides, bs: batch strides);\n"
          "# template: a kernel of templates.cu (codegen/cuda_templates.h) <<<grid, block>>>(buffers, then\n"
          "# scalars, each a long long). Buffers at the end.\n", out);
    for (int i = 0; i < p->n_launches; i++) {
        const ir_launch *l = &p->launches[i];
        fprintf(out, "k%d ", i);
        if (l->kind == IR_LAUNCH_LOOP) {
            const cg_cuda_kernel *kn = &cp->kernels[cp->kernel_of[i]];
            cg_cuda_geometry g = cg_cuda_geometry_of(&l->loop);
            fprintf(out, "loop %s grid %" PRId64 " block %" PRId64 " (%s, %" PRId64 " points", kn->symbol, g.grid,
                    g.block, g.rows ? "row" : "elementwise", ir_kloop_points(&l->loop));
            if (l->loop.reduce) fprintf(out, " x %" PRId64, l->loop.reduce);
            fputs(") args", out);
            int *args = malloc((size_t)(l->n_reads + l->n_writes + 1) * sizeof *args);
            int n = args ? cg_cuda_kernel_args(l, args) : 0;
            for (int j = 0; j < n; j++) fprintf(out, " b%d(%s)", args[j], p->bufs[args[j]].name);
            free(args);
        } else if (l->kind == IR_LAUNCH_GEMM) {
            const ir_kgemm *g = &l->gemm;
            fprintf(out, "gemm %s m %" PRId64 " n %" PRId64 " k %" PRId64 " batch %" PRId64 "x%" PRId64
                         " alpha %g beta %g", l->name, g->m, g->n, g->k, g->batch[0], g->batch[1], g->alpha, g->beta);
            if (g->groups)
                fprintf(out, " grouped %d (%s) sizes b%d(%s)", g->groups, g->split_k ? "k" : "rows", g->group_rows,
                        p->bufs[g->group_rows].name);
            print_mat(out, p, "A", &g->a);
            print_mat(out, p, "B", &g->b);
            print_mat(out, p, "C", &g->c);
        } else {
            const ir_ktemplate *t = &l->tmpl;
            cg_cuda_tcall c;
            const char *why = "";
            if (cg_cuda_template_call(t, &c, &why) == 0) {
                fprintf(out, "template %s %s grid %" PRId64 " block %" PRId64 " (%s) args", c.symbol, l->name, c.grid,
                        c.block, ir_op_name(t->node.op));
                for (int j = 0; j < c.n_bufs; j++) fprintf(out, " b%d(%s)", c.bufs[j], p->bufs[c.bufs[j]].name);
                for (int j = 0; j < c.n_scalars; j++) fprintf(out, " %lld", c.scalars[j]);
            } else {
                fprintf(out, "template %s %s (no CUDA template) out b%d(%s) in", l->name, why, t->out,
                        p->bufs[t->out].name);
                for (int j = 0; j < IR_MAX_INPUTS && t->in[j] >= 0; j++)
                    fprintf(out, " b%d(%s)", t->in[j], p->bufs[t->in[j]].name);
            }
        }
        fputs("  from ", out);
        print_lines(out, p, l);
        fputc('\n', out);
    }
    static const char *const roles[] = { "param", "grad", "opt_state", "input", "output", "activation", "scratch" };
    fputs("# buffers: id dtype elements role name\n", out);
    for (int b = 0; b < p->n_bufs; b++)
        fprintf(out, "b%d %s %" PRId64 " %s %s\n", b, ir_dtype_name(p->bufs[b].dtype), p->bufs[b].numel,
                roles[p->bufs[b].role], p->bufs[b].name);
}
