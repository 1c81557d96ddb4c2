/* runtime/launch_cost.c -- FLOPs, bytes and class of a launch
 * (runtime/launch_cost.h). Products count 2 m n k per matrix; loop kernels
 * one operation per ALU or reduce instruction and point (and term of the
 * reduce axis inside a pass); bytes are each buffer's elements the launch
 * can touch, once. doc/performance.md, "moec bench", has the rules. */
#include "runtime/launch_cost.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[RT_KCLASS_COUNT] = {
    "GEMM", "fused elementwise", "row reductions", "MoE dispatch", "optimizer", "other templates",
};
static const char *const KEYS[RT_KCLASS_COUNT] = {
    "gemm", "elementwise", "reduction", "moe_dispatch", "optimizer", "template",
};

const char *rt_kclass_name(rt_kclass c) { return (unsigned)c < RT_KCLASS_COUNT ? NAMES[c] : "?"; }
const char *rt_kclass_key(rt_kclass c) { return (unsigned)c < RT_KCLASS_COUNT ? KEYS[c] : "?"; }

/* ---- the node a launch computes ---- */

/* The N of a name ending in "_nN", or -1. */
static int node_in_name(const char *name)
{
    const char *u = name ? strrchr(name, '_') : NULL;
    if (!u || u[1] != 'n' || !isdigit((unsigned char)u[2])) return -1;
    char *end;
    long v = strtol(u + 2, &end, 10);
    return *end || v > INT_MAX ? -1 : (int)v;
}

int rt_launch_node(const rt_cost_context *c, int launch)
{
    if (!c->g) return -1;
    const ir_launch *l = &c->p->launches[launch];
    int id = node_in_name(l->name);
    if ((id < 0 || id >= c->g->n_nodes) && l->n_writes > 0) id = c->p->bufs[l->writes[0]].node;
    return id >= 0 && id < c->g->n_nodes ? id : -1;
}

/* ---- classes ---- */

/* Whether scope is the own scope of one of the model's MoE layers ("h.3.mlp":
 * its router, dispatch plan, permutation and combine), not an expert's
 * inside it ("h.3.mlp.experts.c_fc"). */
static bool moe_layer_scope(const rt_cost_context *c, const char *scope)
{
    for (int i = 0; scope && i < c->n_moe; i++)
        if (c->moe[i].scope && !strcmp(scope, c->moe[i].scope)) return true;
    return false;
}

/* A load or store of k indexed by a value of the kernel (a gather or a scatter). */
static bool indexes_by_value(const ir_kloop *k)
{
    for (int i = 0; i < k->n_ins; i++)
        if ((k->ins[i].kind == IR_KI_LOAD || k->ins[i].kind == IR_KI_STORE) && k->ins[i].index.gather >= 0) return true;
    return false;
}

static rt_kclass classify(const rt_cost_context *c, const ir_launch *l, int node)
{
    if (l->kind == IR_LAUNCH_GEMM) return RT_KCLASS_GEMM;
    const ir_node *n = l->kind == IR_LAUNCH_TEMPLATE ? &l->tmpl.node : node >= 0 ? &c->g->nodes[node] : NULL;
    const char *scope = n ? n->scope : NULL;
    if (scope && (!strcmp(scope, "adamw") || !strcmp(scope, "grad"))) return RT_KCLASS_OPTIMIZER;
    bool moe = moe_layer_scope(c, scope);
    if (l->kind == IR_LAUNCH_TEMPLATE) return moe ? RT_KCLASS_MOE_DISPATCH : RT_KCLASS_TEMPLATE;
    if (moe && ((n && ir_op_kind(n->op) == IR_KIND_INDEX) || indexes_by_value(&l->loop))) return RT_KCLASS_MOE_DISPATCH;
    return l->loop.reduce ? RT_KCLASS_REDUCTION : RT_KCLASS_ELEMENTWISE;
}

/* ---- loop kernels ---- */

/* Bit a set when the index moves along axis a (IR_K_REDUCE_AXIS included). */
static unsigned index_axes(const ir_kindex *ix)
{
    unsigned m = 0;
    for (int a = 0; a < IR_K_AXES; a++)
        if (ix->stride[a]) m |= 1u << a;
    return m;
}

/* axes[i]: the axes value i of k varies along. */
static void value_axes(const ir_kloop *k, unsigned *axes)
{
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        unsigned m = 0;
        if (in->kind == IR_KI_LOAD || in->kind == IR_KI_STORE || in->kind == IR_KI_RANDOM)
            m = index_axes(&in->index) | (in->index.gather >= 0 ? axes[in->index.gather] : 0);
        else if (in->kind == IR_KI_AXIS)
            m = 1u << in->attr;
        for (int s = 0; s < 3 && in->kind != IR_KI_LOAD && in->kind != IR_KI_STORE; s++)
            if (in->src[s] >= 0) m |= axes[in->src[s]];
        if (in->kind == IR_KI_REDUCE) m &= ~(1u << IR_K_REDUCE_AXIS);
        axes[i] = m;
    }
}

/* Elements a load or store can touch: the size of the part of the loop
 * space its index (and the gathered value) depends on, at most the buffer's. */
static double touched(const ir_kprogram *p, const ir_kloop *k, const ir_kinstr *in, const unsigned *axes)
{
    unsigned m = index_axes(&in->index) | (in->index.gather >= 0 ? axes[in->index.gather] : 0);
    double n = 1;
    for (int a = 0; a < IR_K_AXES; a++)
        if (m >> a & 1) n *= (double)(a == IR_K_REDUCE_AXIS ? k->reduce : a < k->rank ? k->dim[a] : 1);
    double cap = (double)p->bufs[in->buf].numel;
    return n < cap ? n : cap;
}

/* Bytes of buffer b that loads (or stores) of k touch: the most any one of them does. */
static double buffer_bytes(const ir_kprogram *p, const ir_kloop *k, int b, ir_kinstr_kind kind, const unsigned *axes)
{
    double most = 0;
    for (int i = 0; i < k->n_ins; i++)
        if (k->ins[i].kind == kind && k->ins[i].buf == b) {
            double t = touched(p, k, &k->ins[i], axes);
            if (t > most) most = t;
        }
    return most * ir_dtype_size(p->bufs[b].dtype);
}

static void loop_cost(const ir_kprogram *p, const ir_launch *l, rt_launch_cost *c)
{
    const ir_kloop *k = &l->loop;
    double points = (double)ir_kloop_points(k);
    for (int i = 0; i < k->n_ins; i++)
        if (k->ins[i].kind == IR_KI_ALU || k->ins[i].kind == IR_KI_REDUCE)
            c->flops += points * (k->ins[i].pass == IR_KPASS_POINT ? 1.0 : (double)k->reduce);
    unsigned *axes = calloc((size_t)k->n_ins + 1, sizeof *axes);
    if (!axes) return;   /* bytes unknown (0): out of memory only */
    value_axes(k, axes);
    for (int r = 0; r < l->n_reads; r++) c->bytes += buffer_bytes(p, k, l->reads[r], IR_KI_LOAD, axes);
    for (int w = 0; w < l->n_writes; w++) c->bytes += buffer_bytes(p, k, l->writes[w], IR_KI_STORE, axes);
    free(axes);
}

/* ---- products and templates ---- */

/* Elements of a rows x cols operand over the batch pairs it moves along. */
static double matrix_elems(const ir_kprogram *p, const ir_kgemm *g, const ir_kmat *m, int64_t rows, int64_t cols)
{
    double n = (double)rows * (double)cols;
    for (int d = 0; d < 2; d++)
        if (m->batch_stride[d]) n *= (double)g->batch[d];
    double cap = (double)p->bufs[m->buf].numel;
    return (n < cap ? n : cap) * ir_dtype_size(p->bufs[m->buf].dtype);
}

static void gemm_cost(const ir_kprogram *p, const ir_kgemm *g, rt_launch_cost *c)
{
    double mnk = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    /* Grouped: the groups share the m rows (or k) bound; not one matrix each. */
    c->flops = g->groups ? mnk : mnk * (double)g->batch[0] * (double)g->batch[1];
    double cbytes = matrix_elems(p, g, &g->c, g->m, g->n);
    c->bytes = matrix_elems(p, g, &g->a, g->m, g->k) + matrix_elems(p, g, &g->b, g->k, g->n) + cbytes +
               (g->beta != 0 ? cbytes : 0);
    if (g->groups) c->bytes += (double)g->groups * ir_dtype_size(p->bufs[g->group_rows].dtype);
}

static double buffers_bytes(const ir_kprogram *p, const int *bufs, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)p->bufs[bufs[i]].numel * ir_dtype_size(p->bufs[bufs[i]].dtype);
    return s;
}

static void template_cost(const ir_kprogram *p, const ir_launch *l, rt_launch_cost *c)
{
    const ir_ktemplate *t = &l->tmpl;
    if (t->node.op == IR_CUMSUM || t->node.op == IR_SCATTER_ADD) c->flops = (double)ir_shape_numel(&t->in_shape[0]);
    c->bytes = buffers_bytes(p, l->reads, l->n_reads) + buffers_bytes(p, l->writes, l->n_writes);
}

rt_launch_cost rt_launch_cost_of(const rt_cost_context *c, int launch)
{
    const ir_launch *l = &c->p->launches[launch];
    rt_launch_cost r = { .node = rt_launch_node(c, launch) };
    r.cls = classify(c, l, r.node);
    if (l->kind == IR_LAUNCH_GEMM) gemm_cost(c->p, &l->gemm, &r);
    else if (l->kind == IR_LAUNCH_TEMPLATE) template_cost(c->p, l, &r);
    else loop_cost(c->p, l, &r);
    return r;
}
