/* codegen/llvm_ops.c -- one kernel IR instruction -> LLVM IR, at width 1
 * or CG_LANES (codegen/llvm_gen.h): loads and stores through GEPs of the
 * affine index (a vector load when the lanes are consecutive elements, a
 * masked gather or scatter otherwise; gathered indices bounds-checked),
 * constants, axes, Philox draws written out in IR, the elementwise ops with
 * the graph interpreter's semantics (doc/kernels.md, "Scalars"), reduce
 * updates. No fast-math flags: every operation rounds as IEEE says; sqrt
 * is LLVM's intrinsic (correctly rounded); exp and tanh are written out as
 * the operations of ir/kernel_math.h (vectors, fused multiply-adds as
 * llvm.fma); log and erf are libm calls, one per lane, that LLVM may not
 * fold or rewrite. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm_gen.h"
#include "ir/kernel_math.h"

static const ir_kinstr *ins(const cg_gen *g, int i) { return &g->k->ins[i]; }

/* ---- types and constants at the current width ---- */

static LLVMTypeRef widen(const cg_gen *g, LLVMTypeRef t) { return g->width > 1 ? LLVMVectorType(t, (unsigned)g->width) : t; }

LLVMTypeRef cg_type(const cg_gen *g, ir_dtype t) { return widen(g, t == IR_I32 ? g->i32 : g->f32); }

/* A scalar constant, splat at the current width. */
static LLVMValueRef konst(const cg_gen *g, LLVMValueRef c)
{
    if (g->width == 1) return c;
    LLVMValueRef lanes[CG_LANES];
    for (int j = 0; j < g->width; j++) lanes[j] = c;
    return LLVMConstVector(lanes, (unsigned)g->width);
}

static LLVMValueRef cf32(const cg_gen *g, double v) { return konst(g, LLVMConstReal(g->f32, (double)(float)v)); }
static LLVMValueRef cf64(const cg_gen *g, double v) { return konst(g, LLVMConstReal(g->f64, v)); }
static LLVMValueRef ci32(const cg_gen *g, int64_t v) { return konst(g, LLVMConstInt(g->i32, (unsigned long long)v, 1)); }
LLVMValueRef cg_i64(const cg_gen *g, int64_t v) { return konst(g, LLVMConstInt(g->i64, (unsigned long long)v, 1)); }

LLVMValueRef cg_lane_ids(const cg_gen *g)
{
    LLVMValueRef lanes[CG_LANES];
    for (int j = 0; j < CG_LANES; j++) lanes[j] = LLVMConstInt(g->i64, (unsigned long long)j, 0);
    return LLVMConstVector(lanes, CG_LANES);
}

LLVMValueRef cg_splat(cg_gen *g, LLVMValueRef x)
{
    if (g->width == 1 || LLVMGetTypeKind(LLVMTypeOf(x)) == LLVMVectorTypeKind) return x;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)g->width);
    LLVMValueRef one = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), x, LLVMConstInt(g->i32, 0, 0), "");
    return LLVMBuildShuffleVector(g->b, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(g->i32, (unsigned)g->width)),
                                  "");
}

LLVMValueRef cg_value(cg_gen *g, int i) { return cg_splat(g, g->val[i]); }

/* The mask of active lanes, all on when g->mask is NULL. */
static LLVMValueRef active(const cg_gen *g)
{
    return g->mask ? g->mask : konst(g, LLVMConstInt(g->i1, 1, 0));
}

/* ---- calls ---- */

static LLVMValueRef call(cg_gen *g, LLVMValueRef f, LLVMValueRef *args, int n, const char *name)
{
    return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n, name);
}

/* An overloaded LLVM intrinsic ("llvm.exp" over types[0..n)). */
static LLVMValueRef intrinsic(cg_gen *g, const char *name, LLVMTypeRef *types, int n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    MOEC_ASSERT(id != 0);
    return LLVMGetIntrinsicDeclaration(g->mod, id, types, (size_t)n);
}

/* A unary intrinsic on x's type (scalar or vector). */
static LLVMValueRef math1(cg_gen *g, const char *name, LLVMValueRef x, const char *vname)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return call(g, intrinsic(g, name, &t, 1), &x, 1, vname);
}

/* A libm function of one f32 or f64 (expf, tanhf, log, ...), called once
 * per lane. The calls are `nobuiltin`: LLVM neither folds them on constants
 * (it would round differently from libm) nor rewrites them; `readnone`
 * still lets it share and hoist them. */
static LLVMValueRef libm1(cg_gen *g, const char *name, LLVMValueRef x, const char *vname)
{
    LLVMTypeRef vt = LLVMTypeOf(x), t = g->width > 1 ? LLVMGetElementType(vt) : vt;
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
    if (!f) {
        f = LLVMAddFunction(g->mod, name, LLVMFunctionType(t, &t, 1, 0));
        static const char *const attrs[] = { "nounwind", "willreturn", "readnone" };
        for (int a = 0; a < 3; a++) {
            unsigned kind = LLVMGetEnumAttributeKindForName(attrs[a], strlen(attrs[a]));
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->ctx, kind, 0));
        }
    }
    LLVMAttributeRef nobuiltin = LLVMCreateEnumAttribute(g->ctx, LLVMGetEnumAttributeKindForName("nobuiltin", 9), 0);
    if (g->width == 1) {
        LLVMValueRef y = call(g, f, &x, 1, vname);
        LLVMAddCallSiteAttribute(y, LLVMAttributeFunctionIndex, nobuiltin);
        return y;
    }
    LLVMValueRef v = LLVMGetUndef(vt);
    for (int j = 0; j < g->width; j++) {
        LLVMValueRef at = LLVMConstInt(g->i32, (unsigned long long)j, 0);
        LLVMValueRef y = call(g, f, (LLVMValueRef[]){ LLVMBuildExtractElement(g->b, x, at, "") }, 1, "");
        LLVMAddCallSiteAttribute(y, LLVMAttributeFunctionIndex, nobuiltin);
        v = LLVMBuildInsertElement(g->b, v, y, at, j == g->width - 1 ? vname : "");
    }
    return v;
}

/* Adds the active lanes where ok (i1 or a vector of i1) is false to the fault count. */
static void fault_unless(cg_gen *g, LLVMValueRef ok)
{
    LLVMValueRef bad = LLVMBuildNot(g->b, ok, ""), n;
    if (g->width > 1) {
        if (g->mask) bad = LLVMBuildAnd(g->b, bad, g->mask, "");
        LLVMValueRef bits = LLVMBuildBitCast(g->b, bad, g->i8, "");
        n = LLVMBuildZExt(g->b, call(g, intrinsic(g, "llvm.ctpop", &g->i8, 1), &bits, 1, ""), g->i64, "");
    } else {
        n = LLVMBuildZExt(g->b, bad, g->i64, "");
    }
    LLVMValueRef old = LLVMBuildLoad2(g->b, g->i64, g->faults, "faults");
    LLVMBuildStore(g->b, LLVMBuildAdd(g->b, old, n, ""), g->faults);
}

/* ---- indices, loads and stores ---- */

/* base + sum stride[a] * i[a] at lane 0 (scalar): inside the buffer over
 * the whole loop space (the checker proved it), so nsw. */
static LLVMValueRef affine0(cg_gen *g, const ir_kindex *ix)
{
    LLVMValueRef e = LLVMConstInt(g->i64, (unsigned long long)ix->base, 1);
    for (int a = 0; a < IR_K_AXES; a++) {
        if (!ix->stride[a]) continue;
        LLVMValueRef t = g->pos[a];
        if (ix->stride[a] != 1) t = LLVMBuildNSWMul(g->b, t, LLVMConstInt(g->i64, (unsigned long long)ix->stride[a], 1), "");
        e = LLVMBuildNSWAdd(g->b, e, t, "");
    }
    return e;
}

/* The element of every lane, at the current width (+ the gathered term). */
static LLVMValueRef index_value(cg_gen *g, const ir_kindex *ix)
{
    LLVMValueRef e = cg_splat(g, affine0(g, ix));
    if (g->width > 1 && ix->stride[g->lane_axis])
        e = LLVMBuildNSWAdd(g->b, e, LLVMBuildNSWMul(g->b, cg_lane_ids(g), cg_i64(g, ix->stride[g->lane_axis]), ""), "");
    if (ix->gather >= 0) {
        LLVMValueRef v = LLVMBuildSExt(g->b, cg_value(g, ix->gather), widen(g, g->i64), "");
        e = LLVMBuildAdd(g->b, e, LLVMBuildMul(g->b, v, cg_i64(g, ix->gather_stride), ""), "");
    }
    return e;
}

static LLVMTypeRef elem_type(const cg_gen *g, const ir_kinstr *in) { return in->dtype == IR_I32 ? g->i32 : g->f32; }

/* Pointer(s) to the element(s) e of in's buffer. */
static LLVMValueRef element_ptr(cg_gen *g, const ir_kinstr *in, LLVMValueRef e)
{
    return LLVMBuildInBoundsGEP2(g->b, elem_type(g, in), g->buf[in->buf], &e, 1, "");
}

/* Lanes reading consecutive elements: one vector access at lane 0's
 * element (gathered by a value the same in every lane, or not gathered). */
static bool consecutive(const cg_gen *g, const ir_kindex *ix)
{
    return ix->stride[g->lane_axis] == 1 && (ix->gather < 0 || g->uniform[ix->gather]);
}

/* Lane 0's element as a pointer to a vector; not inbounds when gathered
 * (lane 0 may be outside the buffer, masked off). */
static LLVMValueRef vector_ptr(cg_gen *g, const ir_kinstr *in)
{
    const ir_kindex *ix = &in->index;
    LLVMValueRef e = affine0(g, ix), p;
    if (ix->gather < 0) {
        p = element_ptr(g, in, e);
    } else {
        LLVMValueRef v = LLVMBuildSExt(g->b, g->val[ix->gather], g->i64, "");
        e = LLVMBuildAdd(g->b, e, LLVMBuildMul(g->b, v, LLVMConstInt(g->i64, (unsigned long long)ix->gather_stride, 1), ""), "");
        p = LLVMBuildGEP2(g->b, elem_type(g, in), g->buf[in->buf], &e, 1, "");
    }
    return LLVMBuildBitCast(g->b, p, LLVMPointerType(cg_type(g, in->dtype), 0), "");
}

/* Bounds of a gathered element: ok where inside the buffer (the others
 * count as faults), and e moved to element 0 where not. */
static LLVMValueRef bounds(cg_gen *g, const ir_kinstr *in, LLVMValueRef *e)
{
    LLVMValueRef ok = LLVMBuildICmp(g->b, LLVMIntULT, *e, cg_i64(g, g->p->bufs[in->buf].numel), "inside");
    *e = LLVMBuildSelect(g->b, ok, *e, cg_i64(g, 0), "");
    fault_unless(g, ok);
    return ok;
}

/* The lanes to access: the active ones, inside the buffer when gathered. */
static LLVMValueRef access_mask(cg_gen *g, const ir_kinstr *in, LLVMValueRef *e)
{
    *e = NULL;
    if (in->index.gather < 0 && consecutive(g, &in->index)) return g->mask;
    *e = index_value(g, &in->index);
    LLVMValueRef m = g->mask;
    if (in->index.gather >= 0) {
        LLVMValueRef ok = bounds(g, in, e);
        m = m ? LLVMBuildAnd(g->b, m, ok, "") : ok;
    }
    return m;
}

static LLVMValueRef scalar_load(cg_gen *g, const ir_kinstr *in, const char *name)
{
    LLVMValueRef e = index_value(g, &in->index), ok = NULL;
    if (in->index.gather >= 0) ok = bounds(g, in, &e);
    LLVMValueRef v = LLVMBuildLoad2(g->b, elem_type(g, in), element_ptr(g, in, e), name);
    LLVMSetAlignment(v, 4);
    if (ok) v = LLVMBuildSelect(g->b, ok, v, LLVMConstNull(elem_type(g, in)), name);
    return v;
}

/* A gathered element outside its buffer reads 0 and counts a fault. */
static LLVMValueRef emit_load(cg_gen *g, const ir_kinstr *in, const char *name)
{
    if (g->width == 1) return scalar_load(g, in, name);
    LLVMTypeRef t = cg_type(g, in->dtype);
    LLVMValueRef e, m = access_mask(g, in, &e);
    if (consecutive(g, &in->index)) {
        LLVMValueRef p = vector_ptr(g, in);
        if (!m) {
            LLVMValueRef v = LLVMBuildLoad2(g->b, t, p, name);
            LLVMSetAlignment(v, 4);
            return v;
        }
        LLVMTypeRef types[2] = { t, LLVMTypeOf(p) };
        LLVMValueRef args[4] = { p, LLVMConstInt(g->i32, 4, 0), m, LLVMConstNull(t) };
        return call(g, intrinsic(g, "llvm.masked.load", types, 2), args, 4, name);
    }
    LLVMValueRef ptrs = element_ptr(g, in, e);
    LLVMTypeRef types[2] = { t, LLVMTypeOf(ptrs) };
    LLVMValueRef args[4] = { ptrs, LLVMConstInt(g->i32, 4, 0), m ? m : active(g), LLVMConstNull(t) };
    return call(g, intrinsic(g, "llvm.masked.gather", types, 2), args, 4, name);
}

/* One element: a gathered one outside its buffer is skipped (a fault). */
static void scalar_store(cg_gen *g, const ir_kinstr *in, LLVMValueRef x)
{
    LLVMValueRef e = index_value(g, &in->index);
    if (in->index.gather < 0) {
        LLVMSetAlignment(LLVMBuildStore(g->b, x, element_ptr(g, in, e)), 4);
        return;
    }
    LLVMValueRef ok = bounds(g, in, &e);
    LLVMBasicBlockRef store = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "store");
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "stored");
    LLVMBuildCondBr(g->b, ok, store, after);
    LLVMPositionBuilderAtEnd(g->b, store);
    LLVMSetAlignment(LLVMBuildStore(g->b, x, element_ptr(g, in, e)), 4);
    LLVMBuildBr(g->b, after);
    LLVMPositionBuilderAtEnd(g->b, after);
}

/* Lanes store in lane order (a scatter to one element keeps the last lane's value). */
static void emit_store(cg_gen *g, const ir_kinstr *in)
{
    LLVMValueRef x = cg_value(g, in->src[0]);
    if (g->width == 1) {
        scalar_store(g, in, x);
        return;
    }
    LLVMValueRef e, m = access_mask(g, in, &e);
    if (consecutive(g, &in->index)) {
        LLVMValueRef p = vector_ptr(g, in);
        if (!m) {
            LLVMSetAlignment(LLVMBuildStore(g->b, x, p), 4);
            return;
        }
        LLVMTypeRef types[2] = { LLVMTypeOf(x), LLVMTypeOf(p) };
        LLVMValueRef args[4] = { x, p, LLVMConstInt(g->i32, 4, 0), m };
        call(g, intrinsic(g, "llvm.masked.store", types, 2), args, 4, "");
        return;
    }
    LLVMValueRef ptrs = element_ptr(g, in, e);
    LLVMTypeRef types[2] = { LLVMTypeOf(x), LLVMTypeOf(ptrs) };
    LLVMValueRef args[4] = { x, ptrs, LLVMConstInt(g->i32, 4, 0), m ? m : active(g) };
    call(g, intrinsic(g, "llvm.masked.scatter", types, 2), args, 4, "");
}

/* ---- Philox4x32-10 (ir/philox.c), written out: the key schedule is
 * constant, so each round is two 32x32->64 products and four xors. ---- */

enum { PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u, PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u };

static LLVMValueRef cu32(const cg_gen *g, uint32_t v) { return konst(g, LLVMConstInt(g->i32, v, 0)); }

static void mulhilo(cg_gen *g, uint32_t m, LLVMValueRef x, LLVMValueRef *hi, LLVMValueRef *lo)
{
    LLVMTypeRef t64 = widen(g, g->i64), t32 = widen(g, g->i32);
    LLVMValueRef p = LLVMBuildMul(g->b, LLVMBuildZExt(g->b, x, t64, ""), konst(g, LLVMConstInt(g->i64, m, 0)), "");
    *lo = LLVMBuildTrunc(g->b, p, t32, "");
    *hi = LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, p, cg_i64(g, 32), ""), t32, "");
}

static void philox(cg_gen *g, uint64_t seed, LLVMValueRef x[4])
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        LLVMValueRef hi0, lo0, hi1, lo1;
        mulhilo(g, PHILOX_M0, x[0], &hi0, &lo0);
        mulhilo(g, PHILOX_M1, x[2], &hi1, &lo1);
        LLVMValueRef y0 = LLVMBuildXor(g->b, LLVMBuildXor(g->b, hi1, x[1], ""), cu32(g, k0), "");
        LLVMValueRef y2 = LLVMBuildXor(g->b, LLVMBuildXor(g->b, hi0, x[3], ""), cu32(g, k1), "");
        x[0] = y0;
        x[1] = lo1;
        x[2] = y2;
        x[3] = lo0;
    }
}

/* The step operand as the counter's 32-bit word: f32 rounded to nearest,
 * i32 as is; a negative (or f32 >= 2^63, NaN) step counts a fault, uses 0. */
static LLVMValueRef step_word(cg_gen *g, int src)
{
    LLVMValueRef s = cg_value(g, src), ok;
    if (ins(g, src)->dtype == IR_I32) {
        ok = LLVMBuildICmp(g->b, LLVMIntSGE, s, ci32(g, 0), "");
        fault_unless(g, ok);
        return LLVMBuildSelect(g->b, ok, s, ci32(g, 0), "step");
    }
    s = math1(g, "llvm.rint", s, "");
    ok = LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealOGE, s, cf32(g, 0), ""),
                      LLVMBuildFCmp(g->b, LLVMRealOLT, s, cf32(g, 0x1p63), ""), "");
    fault_unless(g, ok);
    s = LLVMBuildFPToUI(g->b, LLVMBuildSelect(g->b, ok, s, cf32(g, 0), ""), widen(g, g->i64), "");
    return LLVMBuildTrunc(g->b, s, widen(g, g->i32), "step");
}

/* 24 high bits of a word as a double in [0, 1) (exact). */
static LLVMValueRef unit24(cg_gen *g, LLVMValueRef w)
{
    LLVMValueRef top = LLVMBuildUIToFP(g->b, LLVMBuildLShr(g->b, w, cu32(g, 8), ""), widen(g, g->f64), "");
    return LLVMBuildFMul(g->b, top, cf64(g, 1.0 / 16777216.0), "");
}

/* ir_philox_uniform / ir_philox_normal, operation for operation in double
 * (libm's log and cos, so the bits agree), rounded to f32. */
static LLVMValueRef emit_random(cg_gen *g, const ir_kinstr *in, const char *name)
{
    LLVMValueRef e = index_value(g, &in->index);
    LLVMTypeRef t32 = widen(g, g->i32);
    LLVMValueRef x[4] = { LLVMBuildTrunc(g->b, e, t32, ""), LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, e, cg_i64(g, 32), ""), t32, ""),
                          cu32(g, in->stream), step_word(g, in->src[0]) };
    philox(g, in->seed, x);
    LLVMValueRef u1 = unit24(g, x[0]);
    LLVMTypeRef tf = widen(g, g->f32);
    if (in->attr == IR_RANDOM_UNIFORM) return LLVMBuildFPTrunc(g->b, u1, tf, name);
    u1 = LLVMBuildFAdd(g->b, u1, cf64(g, 1.0 / 16777216.0), "");
    LLVMValueRef u2 = unit24(g, x[1]);
    LLVMValueRef r = math1(g, "llvm.sqrt", LLVMBuildFMul(g->b, cf64(g, -2.0), libm1(g, "log", u1, ""), ""), "");
    LLVMValueRef c = libm1(g, "cos", LLVMBuildFMul(g->b, cf64(g, 2.0 * M_PI), u2, ""), "");
    return LLVMBuildFPTrunc(g->b, LLVMBuildFMul(g->b, r, c, ""), tf, name);
}

/* ---- exp and tanh: ir/kernel_math.h's operations, at the current width ---- */

static LLVMValueRef fmadd(cg_gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[3] = { a, b, c };
    return call(g, intrinsic(g, "llvm.fma", &t, 1), args, 3, "");
}

static LLVMValueRef kf(const cg_gen *g, float v) { return cf32(g, (double)v); }

/* 2^k as f32 for i32 k in [-126, 127]: k + 127 in the exponent bits. */
static LLVMValueRef pow2(cg_gen *g, LLVMValueRef k)
{
    LLVMValueRef bits = LLVMBuildShl(g->b, LLVMBuildAdd(g->b, k, ci32(g, 127), ""), ci32(g, 23), "");
    return LLVMBuildBitCast(g->b, bits, cg_type(g, IR_F32), "");
}

/* ir_kexpf: the core on x clamped to [LO, HI] (NaN to 0, so that nothing
 * converts a NaN to an integer), then +inf, 0 or the NaN selected. */
static LLVMValueRef kexp(cg_gen *g, LLVMValueRef x, const char *name)
{
    const float *c = ir_kexp_c;
    LLVMBuilderRef b = g->b;
    LLVMValueRef lo = kf(g, c[IR_KEXP_LO]), hi = kf(g, c[IR_KEXP_HI]), round = kf(g, c[IR_KEXP_ROUND]);
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, x, "");
    LLVMValueRef under = LLVMBuildFCmp(b, LLVMRealOLT, x, lo, ""), over = LLVMBuildFCmp(b, LLVMRealOGT, x, hi, "");
    LLVMValueRef xc = LLVMBuildSelect(b, nan, kf(g, 0), x, "");
    xc = LLVMBuildSelect(b, under, lo, LLVMBuildSelect(b, over, hi, xc, ""), "");
    LLVMValueRef n = LLVMBuildFSub(b, fmadd(g, xc, kf(g, c[IR_KEXP_LOG2E]), round), round, "");
    LLVMValueRef r = fmadd(g, n, kf(g, -c[IR_KEXP_LN2_HI]), xc);
    r = fmadd(g, n, kf(g, -c[IR_KEXP_LN2_LO]), r);
    LLVMValueRef p = kf(g, c[IR_KEXP_P0]);
    for (int i = IR_KEXP_P1; i <= IR_KEXP_P5; i++) p = fmadd(g, p, r, kf(g, c[i]));
    LLVMValueRef y = LLVMBuildFAdd(b, fmadd(g, p, LLVMBuildFMul(b, r, r, ""), r), kf(g, 1.0f), "");
    LLVMValueRef ni = LLVMBuildFPToSI(b, n, cg_type(g, IR_I32), "");
    LLVMValueRef n1 = LLVMBuildSDiv(b, ni, ci32(g, 2), ""), n2 = LLVMBuildSub(b, ni, n1, "");
    LLVMValueRef e = LLVMBuildFMul(b, LLVMBuildFMul(b, y, pow2(g, n1), ""), pow2(g, n2), "");
    e = LLVMBuildSelect(b, over, kf(g, INFINITY), e, "");
    e = LLVMBuildSelect(b, under, kf(g, 0), e, "");
    return LLVMBuildSelect(b, nan, x, e, name);
}

/* ir_ktanhf: both branches, the one for |x| selected. */
static LLVMValueRef ktanh(cg_gen *g, LLVMValueRef x, const char *name)
{
    const float *c = ir_ktanh_c;
    LLVMBuilderRef b = g->b;
    LLVMValueRef ax = math1(g, "llvm.fabs", x, "");
    LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGT, ax, kf(g, c[IR_KTANH_SMALL]), "");
    LLVMValueRef e = kexp(g, LLVMBuildFAdd(b, ax, ax, ""), "");
    LLVMValueRef z = LLVMBuildFSub(b, kf(g, 1.0f), LLVMBuildFDiv(b, kf(g, 2.0f), LLVMBuildFAdd(b, e, kf(g, 1.0f), ""), ""), "");
    z = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, kf(g, 0.0f), ""), LLVMBuildFNeg(b, z, ""), z, "");
    LLVMValueRef s = LLVMBuildFMul(b, x, x, ""), q = kf(g, c[IR_KTANH_Q0]);
    for (int i = IR_KTANH_Q1; i <= IR_KTANH_Q4; i++) q = fmadd(g, q, s, kf(g, c[i]));
    LLVMValueRef small = fmadd(g, LLVMBuildFMul(b, q, s, ""), x, x);
    small = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, x, kf(g, 0.0f), ""), x, small, "");
    return LLVMBuildSelect(b, big, z, small, name);
}

/* ---- elementwise ops ---- */

static LLVMValueRef unary(cg_gen *g, const ir_kinstr *in, LLVMValueRef a, bool i32, const char *name)
{
    switch (in->op) {
    case IR_NEG: return i32 ? LLVMBuildNeg(g->b, a, name) : LLVMBuildFNeg(g->b, a, name);
    case IR_EXP: return kexp(g, a, name);
    case IR_LOG: return libm1(g, "logf", a, name);
    case IR_TANH: return ktanh(g, a, name);
    case IR_SQRT: return math1(g, "llvm.sqrt", a, name);
    case IR_RSQRT: return LLVMBuildFDiv(g->b, cf32(g, 1), math1(g, "llvm.sqrt", a, ""), name);
    case IR_ERF: return libm1(g, "erff", a, name);
    default: return a;   /* STOP_GRAD */
    }
}

/* f32 -> i32 truncates; outside [-2^31, 2^31) or NaN it saturates (NaN: 0)
 * and counts a fault. */
static LLVMValueRef cast(cg_gen *g, const ir_kinstr *in, LLVMValueRef a, ir_dtype from, const char *name)
{
    if (in->attr == from) return a;
    if (in->attr == IR_F32) return LLVMBuildSIToFP(g->b, a, cg_type(g, IR_F32), name);
    LLVMValueRef ok = LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealOGE, a, cf32(g, -0x1p31), ""),
                                   LLVMBuildFCmp(g->b, LLVMRealOLT, a, cf32(g, 0x1p31), ""), "");
    fault_unless(g, ok);
    LLVMTypeRef types[2] = { cg_type(g, IR_I32), cg_type(g, IR_F32) };
    return call(g, intrinsic(g, "llvm.fptosi.sat", types, 2), &a, 1, name);
}

static LLVMValueRef compare(cg_gen *g, int64_t cmp, LLVMValueRef a, LLVMValueRef b, bool i32)
{
    static const LLVMRealPredicate fp[] = { LLVMRealOLT, LLVMRealOLE, LLVMRealOGT, LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE };
    static const LLVMIntPredicate ip[] = { LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE, LLVMIntEQ, LLVMIntNE };
    return i32 ? LLVMBuildICmp(g->b, ip[cmp], a, b, "") : LLVMBuildFCmp(g->b, fp[cmp], a, b, "");
}

/* i32 division toward zero; by 0 gives 0 and a fault; INT32_MIN / -1 wraps. */
static LLVMValueRef idiv(cg_gen *g, LLVMValueRef a, LLVMValueRef b, const char *name)
{
    LLVMValueRef zero = LLVMBuildICmp(g->b, LLVMIntEQ, b, ci32(g, 0), "");
    LLVMValueRef minus1 = LLVMBuildICmp(g->b, LLVMIntEQ, b, ci32(g, -1), "");
    fault_unless(g, LLVMBuildNot(g->b, zero, ""));
    LLVMValueRef safe = LLVMBuildSelect(g->b, LLVMBuildOr(g->b, zero, minus1, ""), ci32(g, 1), b, "");
    LLVMValueRef q = LLVMBuildSDiv(g->b, a, safe, "");
    q = LLVMBuildSelect(g->b, minus1, LLVMBuildNeg(g->b, a, ""), q, "");
    return LLVMBuildSelect(g->b, zero, ci32(g, 0), q, name);
}

static LLVMValueRef binary(cg_gen *g, const ir_kinstr *in, LLVMValueRef a, LLVMValueRef b, bool i32, const char *name)
{
    switch (in->op) {
    case IR_ADD: return i32 ? LLVMBuildAdd(g->b, a, b, name) : LLVMBuildFAdd(g->b, a, b, name);
    case IR_SUB: return i32 ? LLVMBuildSub(g->b, a, b, name) : LLVMBuildFSub(g->b, a, b, name);
    case IR_MUL: return i32 ? LLVMBuildMul(g->b, a, b, name) : LLVMBuildFMul(g->b, a, b, name);
    case IR_DIV: return i32 ? idiv(g, a, b, name) : LLVMBuildFDiv(g->b, a, b, name);
    case IR_MAX: return LLVMBuildSelect(g->b, compare(g, IR_CMP_GE, a, b, i32), a, b, name);   /* ties: a */
    default: return LLVMBuildUIToFP(g->b, compare(g, in->attr, a, b, i32), cg_type(g, IR_F32), name);
    }
}

static LLVMValueRef alu(cg_gen *g, const ir_kinstr *in, const char *name)
{
    LLVMValueRef a = cg_value(g, in->src[0]);
    ir_dtype ta = ins(g, in->src[0])->dtype;
    switch (ir_op_kind(in->op)) {
    case IR_KIND_UNARY:
        return in->op == IR_CAST ? cast(g, in, a, ta, name) : unary(g, in, a, ta == IR_I32, name);
    case IR_KIND_BINARY: return binary(g, in, a, cg_value(g, in->src[1]), ta == IR_I32, name);
    case IR_KIND_WHERE: {
        LLVMValueRef c = ta == IR_I32 ? LLVMBuildICmp(g->b, LLVMIntNE, a, ci32(g, 0), "")
                                      : LLVMBuildFCmp(g->b, LLVMRealUNE, a, cf32(g, 0), "");
        return LLVMBuildSelect(g->b, c, cg_value(g, in->src[1]), cg_value(g, in->src[2]), name);
    }
    default: MOEC_UNREACHABLE();
    }
}

/* ---- reductions ---- */

LLVMValueRef cg_identity(cg_gen *g, ir_op op, ir_dtype t)
{
    if (t == IR_I32) return ci32(g, op == IR_SUM ? 0 : INT32_MIN);
    return op == IR_SUM ? cf32(g, 0) : cf32(g, -INFINITY);
}

/* A sum, or a maximum that keeps acc on ties and propagates NaN: the same
 * result whatever the lanes (doc/kernels.md, "Reductions"). */
LLVMValueRef cg_combine(cg_gen *g, ir_op op, ir_dtype t, LLVMValueRef acc, LLVMValueRef x)
{
    if (op == IR_SUM) return t == IR_I32 ? LLVMBuildAdd(g->b, acc, x, "") : LLVMBuildFAdd(g->b, acc, x, "");
    if (t == IR_I32) return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, x, acc, ""), x, acc, "");
    LLVMValueRef take = LLVMBuildOr(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, x, x, ""),
                                    LLVMBuildFCmp(g->b, LLVMRealOGT, x, acc, ""), "");
    return LLVMBuildSelect(g->b, take, x, acc, "");
}

/* ---- one instruction ---- */

/* Emits instruction i at width 1 (a value the same in every lane). */
static void emit_scalar(cg_gen *g, int i)
{
    int width = g->width;
    LLVMValueRef mask = g->mask;
    g->width = 1;
    g->mask = NULL;
    cg_emit_instr(g, i);
    g->width = width;
    g->mask = mask;
}

void cg_emit_instr(cg_gen *g, int i)
{
    const ir_kinstr *in = ins(g, i);
    if (g->width > 1 && g->uniform[i] && in->kind != IR_KI_STORE && in->kind != IR_KI_REDUCE) {
        emit_scalar(g, i);
        return;
    }
    char name[24];
    snprintf(name, sizeof name, "v%d", i);
    LLVMValueRef v = NULL;
    switch (in->kind) {
    case IR_KI_LOAD: v = emit_load(g, in, name); break;
    case IR_KI_STORE: emit_store(g, in); return;
    case IR_KI_CONST: v = in->dtype == IR_I32 ? ci32(g, (int32_t)in->value) : cf32(g, in->value); break;
    case IR_KI_AXIS: {
        LLVMValueRef at = cg_splat(g, g->pos[in->attr]);
        if (g->width > 1 && in->attr == g->lane_axis) at = LLVMBuildNSWAdd(g->b, at, cg_lane_ids(g), "");
        v = LLVMBuildSIToFP(g->b, at, cg_type(g, IR_F32), name);
        break;
    }
    case IR_KI_RANDOM: v = emit_random(g, in, name); break;
    case IR_KI_ALU: v = alu(g, in, name); break;
    case IR_KI_REDUCE: {
        LLVMValueRef acc = LLVMBuildLoad2(g->b, cg_type(g, in->dtype), g->acc[i], "");
        LLVMValueRef next = cg_combine(g, in->op, in->dtype, acc, cg_value(g, in->src[0]));
        if (g->mask) next = LLVMBuildSelect(g->b, g->mask, next, acc, "");
        LLVMBuildStore(g->b, next, g->acc[i]);
        return;
    }
    default: MOEC_UNREACHABLE();
    }
    g->val[i] = v;
}
