/* ir/kernel_listing.c -- the kernel program as C-like text for people
 * (`moec emit`'s kernels.c): every loop kernel as the loop nest it stands
 * for, products and templates as one call each, each launch headed by the
 * model-file lines it came from. Not compiled: it shows what the code
 * generators render (doc/kernels.md, "Reading a program"). */
#include "ir/kernel.h"

#include <inttypes.h>
#include <stdlib.h>
#include <math.h>

static const char *axis_name(int a)
{
    static const char *const names[IR_K_AXES] = { "i0", "i1", "i2", "i3", "i4", "i5", "r" };
    _Static_assert(IR_K_AXES == 7, "one name per kernel axis");
    return names[a];
}

/* "b5[8*i0 + r + 3]"; buf < 0 prints the bare expression. */
static void print_index(FILE *out, int buf, const ir_kindex *ix)
{
    if (buf >= 0) fprintf(out, "b%d[", buf);
    bool first = true;
    for (int a = 0; a < IR_K_AXES; a++) {
        if (!ix->stride[a]) continue;
        fprintf(out, "%s", first ? "" : " + ");
        if (ix->stride[a] != 1) fprintf(out, "%" PRId64 "*", ix->stride[a]);
        fputs(axis_name(a), out);
        first = false;
    }
    if (ix->gather >= 0) {
        fprintf(out, "%s", first ? "" : " + ");
        if (ix->gather_stride != 1) fprintf(out, "%" PRId64 "*", ix->gather_stride);
        fprintf(out, "v%d", ix->gather);
        first = false;
    }
    if (ix->base || first) fprintf(out, "%s%" PRId64, first ? "" : " + ", ix->base);
    if (buf >= 0) fputc(']', out);
}

static const char *c_function(ir_op op)
{
    switch (op) {
    case IR_EXP: return "expf";
    case IR_LOG: return "logf";
    case IR_TANH: return "tanhf";
    case IR_SQRT: return "sqrtf";
    case IR_ERF: return "erff";
    default: return NULL;
    }
}

static const char *c_operator(ir_op op)
{
    switch (op) {
    case IR_ADD: return "+";
    case IR_SUB: return "-";
    case IR_MUL: return "*";
    case IR_DIV: return "/";
    default: return NULL;
    }
}

/* The right-hand side of an ALU instruction. */
static void print_alu(FILE *out, const ir_kinstr *in)
{
    const int *s = in->src;
    const char *fn = c_function(in->op), *op = c_operator(in->op);
    if (fn) fprintf(out, "%s(v%d)", fn, s[0]);
    else if (op) fprintf(out, "v%d %s v%d", s[0], op, s[1]);
    else if (in->op == IR_NEG) fprintf(out, "-v%d", s[0]);
    else if (in->op == IR_RSQRT) fprintf(out, "1.0f / sqrtf(v%d)", s[0]);
    else if (in->op == IR_MAX) fprintf(out, "v%d >= v%d ? v%d : v%d", s[0], s[1], s[0], s[1]);
    else if (in->op == IR_CMP) fprintf(out, "v%d %s v%d ? 1.0f : 0.0f", s[0], ir_cmp_c_operator((ir_cmp)in->attr), s[1]);
    else if (in->op == IR_WHERE) fprintf(out, "v%d != 0 ? v%d : v%d", s[0], s[1], s[2]);
    else if (in->op == IR_CAST) fprintf(out, "(%s)v%d", ir_dtype_c_type((ir_dtype)in->attr), s[0]);
    else fprintf(out, "%s(v%d)", ir_op_name(in->op), s[0]);
}

static void indent(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++) fputs("    ", out);
}

static void print_statement(FILE *out, const ir_kinstr *ins, int id, int depth)
{
    const ir_kinstr *in = &ins[id];
    const char *type = ir_dtype_c_type(in->dtype);
    indent(out, depth);
    switch (in->kind) {
    case IR_KI_LOAD: fprintf(out, "%s v%d = ", type, id); print_index(out, in->buf, &in->index); break;
    case IR_KI_CONST:
        if (isinf(in->value)) fprintf(out, "%s v%d = %sINFINITY", type, id, in->value < 0 ? "-" : "");
        else fprintf(out, "%s v%d = %.9g", type, id, in->value);
        break;
    case IR_KI_AXIS: fprintf(out, "float v%d = (float)%s", id, axis_name((int)in->attr)); break;
    case IR_KI_RANDOM:
        fprintf(out, "float v%d = philox_%s(seed=%" PRIu64 ", step=v%d, stream=%" PRIu32 ", element=", id,
                ir_random_dist_name((ir_random_dist)in->attr), in->seed, in->src[0], in->stream);
        print_index(out, -1, &in->index);
        fputc(')', out);
        break;
    case IR_KI_ALU: fprintf(out, "%s v%d = ", type, id); print_alu(out, in); break;
    case IR_KI_REDUCE:
        if (in->op == IR_SUM) fprintf(out, "v%d += v%d", id, in->src[0]);
        else fprintf(out, "v%d = v%d >= v%d ? v%d : v%d", id, id, in->src[0], id, in->src[0]);
        break;
    case IR_KI_STORE: print_index(out, in->buf, &in->index); fprintf(out, " = v%d", in->src[0]); break;
    default: MOEC_UNREACHABLE();
    }
    fputs(";\n", out);
}

/* Reduce pass p: its accumulators declared, then the loop over r with every instruction of the pass. */
static void print_pass(FILE *out, const ir_kloop *k, int pass, int depth)
{
    for (int i = 0; i < k->n_ins; i++) {
        if (k->ins[i].pass != pass || k->ins[i].kind != IR_KI_REDUCE) continue;
        indent(out, depth);
        fprintf(out, "%s v%d = %s;\n", ir_dtype_c_type(k->ins[i].dtype), i,
                k->ins[i].op == IR_SUM ? "0" : "-INFINITY");
    }
    indent(out, depth);
    fprintf(out, "for (int64_t r = 0; r < %" PRId64 "; r++) {   /* pass %d */\n", k->reduce, pass);
    for (int i = 0; i < k->n_ins; i++)
        if (k->ins[i].pass == pass) print_statement(out, k->ins, i, depth + 1);
    indent(out, depth);
    fputs("}\n", out);
}

/* The loop nest in the order a backend runs it (doc/kernels.md, "Order of
 * evaluation"): per point, the point values of stage s, then pass s. */
static void print_loop(FILE *out, const ir_kloop *k)
{
    for (int d = 0; d < k->rank; d++) {
        indent(out, d + 1);
        fprintf(out, "for (int64_t %s = 0; %s < %" PRId64 "; %s++)%s\n", axis_name(d), axis_name(d), k->dim[d],
                axis_name(d), d + 1 == k->rank ? " {" : "");
    }
    int depth = k->rank ? k->rank + 1 : 1;
    int *stage = malloc(sizeof *stage * (size_t)(k->n_ins ? k->n_ins : 1));
    if (!stage) {
        indent(out, depth);
        fputs("/* out of memory listing this kernel */\n", out);
    }
    if (stage) ir_kloop_stages(k, stage);
    for (int s = 0; stage && s <= k->n_passes; s++) {
        for (int i = 0; i < k->n_ins; i++)
            if (k->ins[i].pass == IR_KPASS_POINT && stage[i] == s) print_statement(out, k->ins, i, depth);
        if (s < k->n_passes) print_pass(out, k, s, depth);
    }
    free(stage);
    if (k->rank) {
        indent(out, k->rank);
        fputs("}\n", out);
    }
}

static void print_mat(FILE *out, const char *name, const ir_kmat *m)
{
    fprintf(out, "%s = b%d + %" PRId64 " (row stride %" PRId64 ", column stride %" PRId64, name, m->buf, m->offset,
            m->row_stride, m->col_stride);
    if (m->batch_stride[0] || m->batch_stride[1])
        fprintf(out, ", batch strides %" PRId64 " %" PRId64, m->batch_stride[0], m->batch_stride[1]);
    fputs(")", out);
}

static void print_gemm(FILE *out, const ir_kgemm *g)
{
    fprintf(out, "    /* C = %g A B + %g C over %" PRId64 " x %" PRId64 " batches; A %" PRId64 " x %" PRId64
                 ", B %" PRId64 " x %" PRId64 " */\n",
            g->alpha, g->beta, g->batch[0], g->batch[1], g->m, g->k, g->k, g->n);
    if (g->groups)
        fprintf(out, "    /* grouped: %d groups of %s sizes b%d[0..%d) */\n", g->groups, g->split_k ? "k" : "row",
                g->group_rows, g->groups);
    fputs("    ", out);
    print_mat(out, "A", &g->a);
    fputs(";\n    ", out);
    print_mat(out, "B", &g->b);
    fputs(";\n    ", out);
    print_mat(out, "C", &g->c);
    fputs(";\n", out);
}

static void print_launch(FILE *out, const ir_kprogram *p, const ir_launch *l, int id)
{
    fprintf(out, "/* k%d", id);
    for (int i = 0; i < IR_K_MAX_LINES && l->lines[i]; i++) {
        if (i == 0) fprintf(out, "  from %s:", p->source_name ? p->source_name : "line");
        fprintf(out, "%s%d", i ? "," : "", l->lines[i]);
    }
    fputs(" */\n", out);
    fprintf(out, "void %s(void)\n{\n", l->name);
    switch (l->kind) {
    case IR_LAUNCH_LOOP: print_loop(out, &l->loop); break;
    case IR_LAUNCH_GEMM: print_gemm(out, &l->gemm); break;
    case IR_LAUNCH_TEMPLATE: {
        const ir_ktemplate *t = &l->tmpl;
        fprintf(out, "    b%d = %s(", t->out, ir_op_name(t->node.op));
        for (int i = 0; i < IR_MAX_INPUTS && t->in[i] >= 0; i++) fprintf(out, "%sb%d", i ? ", " : "", t->in[i]);
        fputs(");   /* a template */\n", out);
        break;
    }
    default: MOEC_UNREACHABLE();
    }
    fputs("}\n\n", out);
}

void ir_kprogram_listing(FILE *out, const ir_kprogram *p)
{
    fprintf(out, "/* The kernel program of %s: %d buffers, %d launches, run in this order. */\n\n",
            p->source_name ? p->source_name : "a model", p->n_bufs, p->n_launches);
    for (int b = 0; b < p->n_bufs; b++)
        fprintf(out, "%s b%d[%" PRId64 "];   /* %s */\n", ir_dtype_c_type(p->bufs[b].dtype), b, p->bufs[b].numel,
                p->bufs[b].name);
    fputc('\n', out);
    for (int i = 0; i < p->n_launches; i++) print_launch(out, p, &p->launches[i], i);
}
