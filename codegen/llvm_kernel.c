/* codegen/llvm_kernel.c -- the loop structure of a loop kernel in LLVM IR
 * (codegen/llvm_kernel.h): a loop over the rows of the parallel space (all
 * axes but the last), then the row's points 8 at a time as vectors (no
 * reduce axis, or a column kernel) or one by one, each in the stage order
 * of ir_kloop_stages with every reduce pass walking r 8 terms at a time
 * into 8 lanes of partial results, folded pairwise at the end: vectors
 * written out, so nothing is ever reassociated. Reads a verified kernel
 * program, writes one function per loop launch into a module; single
 * instructions are lowered by codegen/llvm_ops.c. doc/kernels.md, "The CPU
 * backend". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kernels.h"
#include "codegen/llvm_gen.h"

/* A scalar i64 constant. */
static LLVMValueRef ci64(const cg_gen *g, int64_t v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }

bool cg_llvm_column_kernel(const ir_kloop *k)
{
    if (!k->reduce || !k->rank) return false;
    bool r_unit = false, last_unit = false;
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->pass == IR_KPASS_POINT || (in->kind != IR_KI_LOAD && in->kind != IR_KI_STORE)) continue;
        r_unit |= in->index.stride[IR_K_REDUCE_AXIS] == 1;
        last_unit |= in->index.stride[k->rank - 1] == 1;
    }
    return !r_unit && last_unit;
}

/* Which values are the same in every lane, lanes running along `axis`:
 * constants, other axes, loads and draws not moving along it, and what is
 * computed from those alone. In a kernel whose lanes run along r, point
 * values and reductions are scalars too. */
static void find_uniform(cg_gen *g, int axis)
{
    const ir_kloop *k = g->k;
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        bool u, rows = axis == IR_K_REDUCE_AXIS;
        if (rows && (in->pass == IR_KPASS_POINT || in->kind == IR_KI_REDUCE)) u = in->kind != IR_KI_STORE;
        else if (in->kind == IR_KI_CONST) u = true;
        else if (in->kind == IR_KI_AXIS) u = in->attr != axis;
        else if (in->kind == IR_KI_LOAD || in->kind == IR_KI_RANDOM)
            u = !in->index.stride[axis] && (in->index.gather < 0 || g->uniform[in->index.gather]) &&
                (in->kind != IR_KI_RANDOM || g->uniform[in->src[0]]);
        else if (in->kind == IR_KI_ALU)
            u = g->uniform[in->src[0]] && (in->src[1] < 0 || g->uniform[in->src[1]]) &&
                (in->src[2] < 0 || g->uniform[in->src[2]]);
        else u = false;
        g->uniform[i] = u;
    }
}

/* ---- counted loops: do { body } while (++i < hi), entered with lo < hi ---- */

typedef struct cg_loop {
    LLVMBasicBlockRef body;
    LLVMValueRef i;          /* the phi */
    LLVMValueRef hi;
} cg_loop;

static cg_loop loop_begin(cg_gen *g, LLVMValueRef lo, LLVMValueRef hi, const char *name)
{
    LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
    cg_loop l = { .body = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name), .hi = hi };
    LLVMBuildBr(g->b, l.body);
    LLVMPositionBuilderAtEnd(g->b, l.body);
    l.i = LLVMBuildPhi(g->b, g->i64, name);
    LLVMAddIncoming(l.i, &lo, &from, 1);
    return l;
}

static void loop_end(cg_gen *g, cg_loop *l, const char *name)
{
    LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->i, ci64(g, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
    LLVMAddIncoming(l->i, &next, &latch, 1);
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, next, l->hi, ""), l->body, done);
    LLVMPositionBuilderAtEnd(g->b, done);
}

/* ---- reduce passes ---- */

/* Instructions of pass s at the current width and mask. */
static void emit_pass_body(cg_gen *g, int s)
{
    for (int i = 0; i < g->k->n_ins; i++)
        if (g->k->ins[i].pass == s) cg_emit_instr(g, i);
}

/* Each reduction of pass s: its lane vector folded j with j + w, w = 4, 2, 1. */
static void fold_lanes(cg_gen *g, int s)
{
    for (int i = 0; i < g->k->n_ins; i++) {
        const ir_kinstr *in = &g->k->ins[i];
        if (in->pass != s || in->kind != IR_KI_REDUCE) continue;
        LLVMValueRef acc = LLVMBuildLoad2(g->b, cg_type(g, in->dtype), g->acc[i], "");
        for (int w = CG_LANES / 2; w >= 1; w /= 2) {
            LLVMValueRef pick[CG_LANES];
            for (int j = 0; j < CG_LANES; j++) pick[j] = LLVMConstInt(g->i32, (unsigned long long)(j < w ? j + w : j), 0);
            LLVMValueRef hi = LLVMBuildShuffleVector(g->b, acc, LLVMGetUndef(LLVMTypeOf(acc)), LLVMConstVector(pick, CG_LANES), "");
            acc = cg_combine(g, in->op, in->dtype, acc, hi);
        }
        char name[24];
        snprintf(name, sizeof name, "v%d", i);
        g->val[i] = LLVMBuildExtractElement(g->b, acc, LLVMConstInt(g->i32, 0, 0), name);
    }
}

/* Lanes j < n on. */
static LLVMValueRef first_lanes(const cg_gen *g, int64_t n)
{
    LLVMValueRef on[CG_LANES];
    for (int j = 0; j < CG_LANES; j++) on[j] = LLVMConstInt(g->i1, j < n, 0);
    return LLVMConstVector(on, CG_LANES);
}

/* Reduce pass s of CG_LANES points at once (a column kernel): the reduce
 * axis one term at a time, each lane reducing its own point in order. */
static void emit_column_pass(cg_gen *g, int s)
{
    for (int i = 0; i < g->k->n_ins; i++) {
        const ir_kinstr *in = &g->k->ins[i];
        if (in->pass == s && in->kind == IR_KI_REDUCE) LLVMBuildStore(g->b, cg_identity(g, in->op, in->dtype), g->acc[i]);
    }
    cg_loop r = loop_begin(g, ci64(g, 0), ci64(g, g->k->reduce), "r");
    g->pos[IR_K_REDUCE_AXIS] = r.i;
    emit_pass_body(g, s);
    loop_end(g, &r, "pass.end");
    for (int i = 0; i < g->k->n_ins; i++) {
        const ir_kinstr *in = &g->k->ins[i];
        if (in->pass == s && in->kind == IR_KI_REDUCE) g->val[i] = LLVMBuildLoad2(g->b, cg_type(g, in->dtype), g->acc[i], "");
    }
}

/* Reduce pass s, CG_LANES terms at a time, term r in lane r mod CG_LANES:
 * a loop over the whole blocks, then the last R mod CG_LANES terms with
 * the other lanes masked off; the reductions' lanes folded at the end. */
static void emit_pass(cg_gen *g, int s)
{
    if (g->columns) {
        emit_column_pass(g, s);
        return;
    }
    int64_t R = g->k->reduce, blocks = R / CG_LANES, tail = R % CG_LANES;
    g->width = CG_LANES;
    g->lane_axis = IR_K_REDUCE_AXIS;
    for (int i = 0; i < g->k->n_ins; i++) {
        const ir_kinstr *in = &g->k->ins[i];
        if (in->pass == s && in->kind == IR_KI_REDUCE) LLVMBuildStore(g->b, cg_identity(g, in->op, in->dtype), g->acc[i]);
    }
    if (blocks > 0) {
        cg_loop blk = loop_begin(g, ci64(g, 0), ci64(g, blocks), "rblock");
        g->pos[IR_K_REDUCE_AXIS] = LLVMBuildNSWMul(g->b, blk.i, ci64(g, CG_LANES), "r");
        g->mask = NULL;
        emit_pass_body(g, s);
        loop_end(g, &blk, "rblock.end");
    }
    if (tail > 0) {
        g->pos[IR_K_REDUCE_AXIS] = ci64(g, blocks * CG_LANES);
        g->mask = first_lanes(g, tail);
        emit_pass_body(g, s);
        g->mask = NULL;
    }
    fold_lanes(g, s);
    g->width = 1;
}

/* One point: for each stage s, its point values, then reduce pass s. */
static void emit_point(cg_gen *g)
{
    for (int s = 0; s <= g->k->n_passes; s++) {
        for (int i = 0; i < g->k->n_ins; i++)
            if (g->k->ins[i].pass == IR_KPASS_POINT && g->stage[i] == s) cg_emit_instr(g, i);
        if (s < g->k->n_passes) emit_pass(g, s);
    }
}

/* ---- the function ---- */

/* Allocas (entry block) and typed buffer pointers loaded from args[], one
 * per slot (cg_kernel_slots). */
static void emit_prologue(cg_gen *g, LLVMValueRef args)
{
    g->faults = LLVMBuildAlloca(g->b, g->i64, "faults");
    LLVMBuildStore(g->b, ci64(g, 0), g->faults);
    for (int i = 0; i < g->k->n_ins; i++) {
        const ir_kinstr *in = &g->k->ins[i];
        if (in->kind == IR_KI_REDUCE)
            g->acc[i] = LLVMBuildAlloca(g->b, LLVMVectorType(in->dtype == IR_I32 ? g->i32 : g->f32, CG_LANES), "acc");
    }
    int *slots = g->slots, n = cg_kernel_slots(g->k, slots);
    for (int s = 0; s < n; s++) {
        const ir_kbuf *b = &g->p->bufs[slots[s]];
        LLVMValueRef at = ci64(g, s);
        LLVMValueRef raw = LLVMBuildLoad2(g->b, g->i8p, LLVMBuildInBoundsGEP2(g->b, g->i8p, args, &at, 1, ""), b->name);
        g->buf[slots[s]] = LLVMBuildBitCast(g->b, raw, LLVMPointerType(b->dtype == IR_I32 ? g->i32 : g->f32, 0), "");
    }
}

/* Position on axes 0 .. rank-2 of `row` (the point index / dim[rank-1]). */
static void split_row(cg_gen *g, LLVMValueRef row)
{
    for (int a = g->k->rank - 2; a >= 0; a--) {
        LLVMValueRef d = ci64(g, g->k->dim[a]);
        g->pos[a] = a == 0 ? row : LLVMBuildURem(g->b, row, d, "");
        if (a > 0) row = LLVMBuildUDiv(g->b, row, d, "");
    }
}

static LLVMValueRef smin(cg_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef smax(cg_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* Blocks are emitted only when there is one: `if (cond) { ... }`. */
static LLVMBasicBlockRef if_begin(cg_gen *g, LLVMValueRef cond, const char *name)
{
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "endif");
    LLVMBuildCondBr(g->b, cond, then, after);
    LLVMPositionBuilderAtEnd(g->b, then);
    return after;
}

static void if_end(cg_gen *g, LLVMBasicBlockRef after)
{
    LLVMBuildBr(g->b, after);
    LLVMPositionBuilderAtEnd(g->b, after);
}

/* Points jlo .. jhi-1 of a row of a kernel without reduce passes (or a
 * column kernel), CG_LANES at a time along the last axis: whole blocks,
 * then the rest masked. */
static void emit_row_vector(cg_gen *g, LLVMValueRef jlo, LLVMValueRef jhi)
{
    int last = g->k->rank - 1;
    LLVMValueRef n = LLVMBuildNSWSub(g->b, jhi, jlo, "");
    LLVMValueRef blocks = LLVMBuildSDiv(g->b, n, ci64(g, CG_LANES), "blocks");
    LLVMValueRef rest = LLVMBuildSRem(g->b, n, ci64(g, CG_LANES), "rest");
    g->width = CG_LANES;
    g->lane_axis = last;
    LLVMBasicBlockRef after = if_begin(g, LLVMBuildICmp(g->b, LLVMIntSGT, blocks, ci64(g, 0), ""), "blocks");
    cg_loop blk = loop_begin(g, ci64(g, 0), blocks, "jblock");
    g->pos[last] = LLVMBuildNSWAdd(g->b, jlo, LLVMBuildNSWMul(g->b, blk.i, ci64(g, CG_LANES), ""), "j");
    emit_point(g);
    loop_end(g, &blk, "jblock.end");
    if_end(g, after);
    after = if_begin(g, LLVMBuildICmp(g->b, LLVMIntSGT, rest, ci64(g, 0), ""), "rest");
    g->pos[last] = LLVMBuildNSWSub(g->b, jhi, rest, "j");
    g->mask = LLVMBuildICmp(g->b, LLVMIntSLT, cg_lane_ids(g), cg_splat(g, rest), "lanes");
    emit_point(g);
    g->mask = NULL;
    if_end(g, after);
    g->width = 1;
}

/* for row in rows of [begin, end): the points of that row's part, one by
 * one (kernels with reduce passes: each point walks the reduce axis in
 * vectors) or CG_LANES at a time (kernels without). */
static void emit_points(cg_gen *g, LLVMValueRef begin, LLVMValueRef end)
{
    int64_t last = g->k->rank ? g->k->dim[g->k->rank - 1] : 1;
    LLVMValueRef L = ci64(g, last);
    LLVMValueRef row0 = LLVMBuildSDiv(g->b, begin, L, "row0");
    LLVMValueRef rows = LLVMBuildNSWAdd(g->b, LLVMBuildSDiv(g->b, LLVMBuildNSWSub(g->b, end, ci64(g, 1), ""), L, ""),
                                        ci64(g, 1), "rows");
    cg_loop row = loop_begin(g, row0, rows, "row");
    LLVMValueRef first = LLVMBuildNSWMul(g->b, row.i, L, "");
    LLVMValueRef jlo = smax(g, LLVMBuildNSWSub(g->b, begin, first, ""), ci64(g, 0));
    LLVMValueRef jhi = smin(g, LLVMBuildNSWSub(g->b, end, first, ""), L);
    split_row(g, row.i);
    if ((g->k->n_passes == 0 || g->columns) && g->k->rank > 0) {
        emit_row_vector(g, jlo, jhi);
    } else {
        cg_loop j = loop_begin(g, jlo, jhi, "j");
        if (g->k->rank) g->pos[g->k->rank - 1] = j.i;
        emit_point(g);
        loop_end(g, &j, "row.end");
    }
    loop_end(g, &row, "done");
}

/* "model.moe:9,14" as the function's !moec.source metadata. */
static void attach_lines(cg_gen *g, const ir_launch *l)
{
    char text[160];
    int n = snprintf(text, sizeof text, "%s:", g->p->source_name ? g->p->source_name : "?");
    for (int i = 0; i < IR_K_MAX_LINES && l->lines[i] && n > 0 && (size_t)n < sizeof text; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s%d", i ? "," : "", l->lines[i]);
    LLVMMetadataRef s = LLVMMDStringInContext2(g->ctx, text, strlen(text));
    LLVMGlobalSetMetadata(g->fn, LLVMGetMDKindIDInContext(g->ctx, "moec.source", 11), LLVMMDNodeInContext2(g->ctx, &s, 1));
}

static void add_attr(cg_gen *g, LLVMValueRef fn, unsigned idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

static void declare_kernel(cg_gen *g, const ir_launch *l, const char *name)
{
    LLVMTypeRef params[3] = { LLVMPointerType(g->i8p, 0), g->i64, g->i64 };
    g->fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(g->i64, params, 3, 0));
    add_attr(g, g->fn, LLVMAttributeFunctionIndex, "nounwind");
    add_attr(g, g->fn, 1, "noalias");
    add_attr(g, g->fn, 1, "nocapture");
    add_attr(g, g->fn, 1, "readonly");
    /* FP exceptions are not observed (as clang's default); rounding is untouched. */
    LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(g->ctx, "no-trapping-math", 16, "true", 4));
    attach_lines(g, l);
    static const char *const pnames[3] = { "args", "point_begin", "point_end" };
    for (int i = 0; i < 3; i++) LLVMSetValueName2(LLVMGetParam(g->fn, (unsigned)i), pnames[i], strlen(pnames[i]));
}

static void emit_kernel(cg_gen *g, const ir_launch *l, const char *name)
{
    declare_kernel(g, l, name);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "entry");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "run");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "exit");
    LLVMPositionBuilderAtEnd(g->b, entry);
    emit_prologue(g, LLVMGetParam(g->fn, 0));
    /* [begin, end) clamped to [0, points) */
    LLVMValueRef begin = smax(g, LLVMGetParam(g->fn, 1), ci64(g, 0));
    LLVMValueRef end = smin(g, LLVMGetParam(g->fn, 2), ci64(g, ir_kloop_points(g->k)));
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, begin, end, ""), run, exit);
    LLVMPositionBuilderAtEnd(g->b, run);
    emit_points(g, begin, end);
    LLVMBuildBr(g->b, exit);
    LLVMPositionBuilderAtEnd(g->b, exit);
    LLVMBuildRet(g->b, LLVMBuildLoad2(g->b, g->i64, g->faults, "faults"));
}

/* Per-launch state: values, accumulators, buffer pointers, stages. */
static int gen_reset(cg_gen *g, const ir_kloop *k)
{
    size_t n = (size_t)(k->n_ins ? k->n_ins : 1);
    free(g->val);
    free(g->acc);
    free(g->stage);
    free(g->uniform);
    free(g->slots);
    g->slots = malloc(n * sizeof *g->slots);
    g->val = calloc(n, sizeof *g->val);
    g->acc = calloc(n, sizeof *g->acc);
    g->stage = malloc(n * sizeof *g->stage);
    g->uniform = calloc(n, sizeof *g->uniform);
    if (!g->val || !g->acc || !g->stage || !g->uniform || !g->slots) return -1;
    memset(g->buf, 0, sizeof *g->buf * (size_t)g->p->n_bufs);
    memset(g->pos, 0, sizeof g->pos);
    g->width = 1;
    g->mask = NULL;
    g->k = k;
    ir_kloop_stages(k, g->stage);
    g->columns = cg_llvm_column_kernel(k);
    find_uniform(g, k->reduce && !g->columns ? IR_K_REDUCE_AXIS : k->rank ? k->rank - 1 : 0);
    return 0;
}

static void gen_types(cg_gen *g)
{
    g->f32 = LLVMFloatTypeInContext(g->ctx);
    g->f64 = LLVMDoubleTypeInContext(g->ctx);
    g->i1 = LLVMInt1TypeInContext(g->ctx);
    g->i8 = LLVMInt8TypeInContext(g->ctx);
    g->i32 = LLVMInt32TypeInContext(g->ctx);
    g->i64 = LLVMInt64TypeInContext(g->ctx);
    g->i8p = LLVMPointerType(LLVMInt8TypeInContext(g->ctx), 0);
}

int cg_llvm_build_module(LLVMContextRef ctx, const ir_kprogram *p, const cg_kernels *k, int first, int last,
                         LLVMModuleRef *out, moec_diag *d)
{
    cg_gen g = { .ctx = ctx, .p = p };
    gen_types(&g);
    g.mod = LLVMModuleCreateWithNameInContext(p->source_name ? p->source_name : "kernels", ctx);
    g.b = LLVMCreateBuilderInContext(ctx);
    g.buf = calloc((size_t)(p->n_bufs ? p->n_bufs : 1), sizeof *g.buf);
    int rc = g.buf ? 0 : -1;
    for (int u = first; u < last && rc == 0; u++) {
        const ir_launch *l = &p->launches[k->rep[u]];
        char name[256];
        rc = gen_reset(&g, &l->loop);
        if (rc == 0) emit_kernel(&g, l, cg_kernel_symbol(p, k, u, name, sizeof name));
    }
    if (rc < 0) moec_error(d, "cpu backend: out of memory building LLVM IR");
    free(g.val);
    free(g.acc);
    free(g.stage);
    free(g.uniform);
    free(g.slots);
    free(g.buf);
    LLVMDisposeBuilder(g.b);
    if (rc < 0) {
        LLVMDisposeModule(g.mod);
        return -1;
    }
    *out = g.mod;
    return 0;
}
