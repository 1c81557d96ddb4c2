/* ir/kernel_verify.c -- the kernel program's checker (ir_kprogram_verify).
 * Runs after the fuser and the memory plan in tests and with --verify, so a
 * fusion bug is reported as "launch k12 (softmax_fwd_h0_attn) v4: ..." here,
 * not as a wrong number or a crash in generated code. Index expressions are
 * checked against their buffer's size over the whole loop space (the gather
 * term is data: it is bounds-checked when the gathered value is produced);
 * dtypes and the order of evaluation (a reduction is read only once its
 * pass is over) as doc/kernels.md describes them. */
#include "ir/kernel.h"

#include <inttypes.h>
#include <stdlib.h>

typedef struct vctx {
    const ir_kprogram *p;
    moec_diag *d;
    int launch;
} vctx;

static int fail(const vctx *v, int instr, const char *what)
{
    const ir_launch *l = &v->p->launches[v->launch];
    if (instr >= 0) moec_error(v->d, "kernel program: launch k%d (%s) v%d: %s", v->launch, l->name, instr, what);
    else moec_error(v->d, "kernel program: launch k%d (%s): %s", v->launch, l->name, what);
    return -1;
}

static bool buf_ok(const ir_kprogram *p, int b) { return b >= 0 && b < p->n_bufs; }

/* Smallest and largest element an index reaches over the loop space (without gather). */
static void index_range(const ir_kloop *k, const ir_kindex *ix, int64_t *lo, int64_t *hi)
{
    *lo = *hi = ix->base;
    for (int a = 0; a < IR_K_AXES; a++) {
        int64_t len = a == IR_K_REDUCE_AXIS ? k->reduce : a < k->rank ? k->dim[a] : 1;
        int64_t span = ix->stride[a] * (len > 0 ? len - 1 : 0);
        if (span < 0) *lo += span;
        else *hi += span;
    }
}

static int check_index(const vctx *v, const ir_kloop *k, int i, int buf, const ir_kindex *ix)
{
    for (int a = 0; a < IR_K_AXES; a++) {
        bool exists = a == IR_K_REDUCE_AXIS ? k->reduce > 0 : a < k->rank;
        if (ix->stride[a] && !exists) return fail(v, i, "index uses an axis the loop does not have");
    }
    if (ix->stride[IR_K_REDUCE_AXIS] && k->ins[i].pass == IR_KPASS_POINT)
        return fail(v, i, "a point value indexes the reduce axis");
    if (ix->gather >= i) return fail(v, i, "gather value defined after its use");
    if (ix->gather >= 0 && k->ins[ix->gather].dtype != IR_I32) return fail(v, i, "gather value is not i32");
    if (buf < 0) return 0;
    int64_t lo, hi;
    index_range(k, ix, &lo, &hi);
    if (ix->gather < 0 && (lo < 0 || hi >= v->p->bufs[buf].numel)) {
        char msg[160];
        snprintf(msg, sizeof msg, "index reaches [%" PRId64 ", %" PRId64 "] outside b%d's %" PRId64 " elements",
                 lo, hi, buf, v->p->bufs[buf].numel);
        return fail(v, i, msg);
    }
    return 0;
}

/* Operand ids of instruction i: src[0..2], then the gather value of an index. */
static void operands(const ir_kinstr *in, int ops[4])
{
    bool indexed = in->kind == IR_KI_LOAD || in->kind == IR_KI_STORE || in->kind == IR_KI_RANDOM;
    for (int s = 0; s < 3; s++) ops[s] = in->src[s];
    ops[3] = indexed ? in->index.gather : -1;
}

/* A point value may be used after it; a pass-p value only inside pass p; a
 * pass-p instruction may use a point value or a reduce only if it is ready
 * before pass p starts (stage <= p, ir_kloop_stages). */
static int check_operands(const vctx *v, const ir_kloop *k, const int *stage, int i)
{
    const ir_kinstr *in = &k->ins[i];
    int ops[4];
    operands(in, ops);
    for (int s = 0; s < 4; s++) {
        int src = ops[s];
        if (src < 0) continue;
        if (src >= i) return fail(v, i, "operand defined after its use");
        const ir_kinstr *o = &k->ins[src];
        if (o->kind == IR_KI_STORE) return fail(v, i, "operand is a store");
        bool point = o->pass == IR_KPASS_POINT || o->kind == IR_KI_REDUCE;
        if (!point && o->pass != in->pass) return fail(v, i, "uses a value of another reduce pass");
        if (point && in->pass != IR_KPASS_POINT && stage[src] > in->pass)
            return fail(v, i, "uses a reduction before its pass has ended");
    }
    return 0;
}

static bool math_op(ir_op op)
{
    return op == IR_EXP || op == IR_LOG || op == IR_TANH || op == IR_SQRT || op == IR_RSQRT || op == IR_ERF;
}

/* Operand count and dtypes of an elementwise op (doc/kernels.md, "Scalars"). */
static int check_alu(const vctx *v, const ir_kloop *k, int i)
{
    const ir_kinstr *in = &k->ins[i];
    ir_kind kind = ir_op_kind(in->op);
    int want = kind == IR_KIND_UNARY ? 1 : kind == IR_KIND_BINARY ? 2 : kind == IR_KIND_WHERE ? 3 : 0;
    if (!want) return fail(v, i, "not an elementwise op");
    for (int s = 0; s < 3; s++)
        if ((in->src[s] >= 0) != (s < want)) return fail(v, i, "wrong number of operands");
    ir_dtype a = k->ins[in->src[0]].dtype, b = want > 1 ? k->ins[in->src[1]].dtype : a;
    ir_dtype res = in->op == IR_CAST ? (ir_dtype)in->attr : in->op == IR_CMP ? IR_F32
                 : in->op == IR_WHERE ? b : a;
    if (in->op == IR_CAST && in->attr != IR_F32 && in->attr != IR_I32) return fail(v, i, "cast to an unknown dtype");
    if (in->op == IR_CMP && (in->attr < IR_CMP_LT || in->attr > IR_CMP_NE)) return fail(v, i, "unknown comparison");
    if (math_op(in->op) && a != IR_F32) return fail(v, i, "math function of an i32 value");
    if (kind == IR_KIND_BINARY && a != b) return fail(v, i, "operands of different dtypes");
    if (kind == IR_KIND_WHERE && k->ins[in->src[2]].dtype != b) return fail(v, i, "where: values of different dtypes");
    if (in->dtype != res) return fail(v, i, "result dtype does not follow from the operands");
    return 0;
}

/* Every value is f32 or i32 and agrees with its buffer or operands. */
static int check_types(const vctx *v, const ir_kloop *k, int i)
{
    const ir_kinstr *in = &k->ins[i];
    if (in->dtype != IR_F32 && in->dtype != IR_I32) return fail(v, i, "dtype is neither f32 nor i32");
    switch (in->kind) {
    case IR_KI_LOAD:
        return in->dtype != v->p->bufs[in->buf].dtype ? fail(v, i, "load dtype differs from its buffer's") : 0;
    case IR_KI_STORE:
        if (in->dtype != v->p->bufs[in->buf].dtype || k->ins[in->src[0]].dtype != in->dtype)
            return fail(v, i, "stored value's dtype differs from its buffer's");
        return 0;
    case IR_KI_RANDOM:
        if (in->src[0] < 0) return fail(v, i, "random draw without a step value");
        if (in->dtype != IR_F32 || (in->attr != IR_RANDOM_NORMAL && in->attr != IR_RANDOM_UNIFORM))
            return fail(v, i, "random draw: unknown distribution or not f32");
        return 0;
    case IR_KI_REDUCE:
        if (in->op != IR_SUM && in->op != IR_REDUCE_MAX) return fail(v, i, "reduction is neither sum nor max");
        if (in->src[0] < 0 || k->ins[in->src[0]].dtype != in->dtype) return fail(v, i, "reduction dtype differs from its operand's");
        return 0;
    case IR_KI_ALU: return check_alu(v, k, i);
    default: return 0;
    }
}

static int check_instr(const vctx *v, const ir_kloop *k, const int *stage, int i)
{
    const ir_kinstr *in = &k->ins[i];
    if (in->pass != IR_KPASS_POINT && (in->pass < 0 || in->pass >= k->n_passes))
        return fail(v, i, "pass out of range");
    if (in->kind == IR_KI_REDUCE && in->pass == IR_KPASS_POINT) return fail(v, i, "reduction outside a pass");
    if (check_operands(v, k, stage, i) < 0) return -1;
    switch (in->kind) {
    case IR_KI_LOAD:
    case IR_KI_STORE:
        if (!buf_ok(v->p, in->buf)) return fail(v, i, "no such buffer");
        if (in->kind == IR_KI_STORE && in->src[0] < 0) return fail(v, i, "store of nothing");
        if (check_index(v, k, i, in->buf, &in->index) < 0) return -1;
        break;
    case IR_KI_RANDOM:
        if (check_index(v, k, i, -1, &in->index) < 0) return -1;
        break;
    case IR_KI_AXIS:
        if (in->attr != IR_K_REDUCE_AXIS && (in->attr < 0 || in->attr >= k->rank)) return fail(v, i, "no such axis");
        if (in->attr == IR_K_REDUCE_AXIS && in->pass == IR_KPASS_POINT) return fail(v, i, "reduce axis outside a pass");
        break;
    case IR_KI_CONST:
    case IR_KI_ALU:
    case IR_KI_REDUCE: break;
    default: return fail(v, i, "unknown instruction kind");
    }
    return check_types(v, k, i);
}

/* Passes appear in order 0, 1, ... and each is one contiguous run. */
static int check_passes(const vctx *v, const ir_kloop *k)
{
    int last = -1;
    for (int i = 0; i < k->n_ins; i++) {
        int p = k->ins[i].pass;
        if (p == IR_KPASS_POINT) continue;
        if (p < last) return fail(v, i, "reduce passes out of order");
        if (p > last + 1) return fail(v, i, "a reduce pass is skipped");
        if (p == last + 1 && last >= 0) {
            for (int j = i - 1; j >= 0 && k->ins[j].pass != last; j--)
                if (k->ins[j].pass != IR_KPASS_POINT) return fail(v, i, "reduce pass split in two");
        }
        last = p;
    }
    if (last + 1 != k->n_passes) return fail(v, -1, "n_passes does not match the instructions");
    return 0;
}

static int check_loop(const vctx *v, const ir_kloop *k)
{
    if (k->rank < 0 || k->rank > IR_MAX_RANK) return fail(v, -1, "loop rank out of range");
    for (int d = 0; d < k->rank; d++)
        if (k->dim[d] < 1) return fail(v, -1, "empty loop axis");
    if ((k->reduce > 0) != (k->n_passes > 0)) return fail(v, -1, "reduce axis without passes, or passes without one");
    int *stage = malloc(sizeof *stage * (size_t)(k->n_ins ? k->n_ins : 1));
    if (!stage) return fail(v, -1, "out of memory");
    ir_kloop_stages(k, stage);
    int rc = 0;
    for (int i = 0; i < k->n_ins && rc == 0; i++) rc = check_instr(v, k, stage, i);
    free(stage);
    return rc < 0 ? -1 : check_passes(v, k);
}

/* The largest element a matrix operand reaches must lie inside its buffer. */
static int check_mat(const vctx *v, const ir_kmat *m, int64_t rows, int64_t cols, const int64_t batch[2])
{
    if (!buf_ok(v->p, m->buf)) return fail(v, -1, "product operand: no such buffer");
    if (m->row_stride != 1 && m->col_stride != 1) return fail(v, -1, "product operand is not unit-stride in rows or columns");
    if (m->col_stride == 1 ? m->row_stride < cols && rows > 1 : m->col_stride < rows && cols > 1)
        return fail(v, -1, "product operand's leading dimension is shorter than its rows");
    int64_t last = m->offset + (rows - 1) * m->row_stride + (cols - 1) * m->col_stride
                 + (batch[0] - 1) * m->batch_stride[0] + (batch[1] - 1) * m->batch_stride[1];
    if (m->offset < 0 || last >= v->p->bufs[m->buf].numel) return fail(v, -1, "product operand outside its buffer");
    return 0;
}

static int check_gemm(const vctx *v, const ir_kgemm *g)
{
    if (g->m < 1 || g->n < 1 || g->k < 1 || g->batch[0] < 1 || g->batch[1] < 1)
        return fail(v, -1, "product with an empty dimension");
    if (g->groups) {
        if (!buf_ok(v->p, g->group_rows) || v->p->bufs[g->group_rows].dtype != IR_I32 ||
            v->p->bufs[g->group_rows].numel < g->groups || g->batch[0] != g->groups || g->batch[1] != 1)
            return fail(v, -1, "grouped product: bad group sizes");
        const int64_t one[2] = { 1, 1 };
        if (g->split_k)
            return check_mat(v, &g->a, g->m, g->k, one) < 0 || check_mat(v, &g->b, g->k, g->n, one) < 0 ||
                   check_mat(v, &g->c, g->m, g->n, g->batch) < 0 ? -1 : 0;
        return check_mat(v, &g->a, g->m, g->k, one) < 0 || check_mat(v, &g->b, g->k, g->n, g->batch) < 0 ||
               check_mat(v, &g->c, g->m, g->n, one) < 0 ? -1 : 0;
    }
    return check_mat(v, &g->a, g->m, g->k, g->batch) < 0 || check_mat(v, &g->b, g->k, g->n, g->batch) < 0 ||
           check_mat(v, &g->c, g->m, g->n, g->batch) < 0 ? -1 : 0;
}

static int check_template(const vctx *v, const ir_ktemplate *t)
{
    if (!buf_ok(v->p, t->out)) return fail(v, -1, "template without an output buffer");
    for (int i = 0; i < IR_MAX_INPUTS; i++)
        if (t->in[i] != -1 && !buf_ok(v->p, t->in[i])) return fail(v, -1, "template operand: no such buffer");
    if (v->p->bufs[t->out].numel < ir_shape_numel(&t->node.shape)) return fail(v, -1, "template output buffer too small");
    return 0;
}

int ir_kprogram_verify(const ir_kprogram *p, moec_diag *d)
{
    vctx v = { .p = p, .d = d };
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (kb->numel < 1) return moec_error(d, "kernel program: buffer b%d (%s) is empty", b, kb->name), -1;
        if (kb->parent >= b || (kb->parent >= 0 && kb->view_offset + kb->numel > p->bufs[kb->parent].numel))
            return moec_error(d, "kernel program: buffer b%d (%s) is a bad view", b, kb->name), -1;
    }
    for (v.launch = 0; v.launch < p->n_launches; v.launch++) {
        const ir_launch *l = &p->launches[v.launch];
        int rc = l->kind == IR_LAUNCH_LOOP ? check_loop(&v, &l->loop)
               : l->kind == IR_LAUNCH_GEMM ? check_gemm(&v, &l->gemm)
               : check_template(&v, &l->tmpl);
        if (rc < 0) return -1;
    }
    return 0;
}
