/* ir/kernel.c -- builders and the printer of the kernel program (ir/kernel.h).
 * The fuser and the tests build programs through these functions; the
 * checker lives in ir/kernel_verify.c. Arrays grow by doubling with realloc;
 * names live in the program's arena. doc/kernels.md describes the format. */
#include "ir/kernel.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void ir_kprogram_init(ir_kprogram *p, const char *source_name)
{
    memset(p, 0, sizeof *p);
    moec_arena_init(&p->arena);
    p->source_name = source_name;
}

void ir_kprogram_free(ir_kprogram *p)
{
    for (int i = 0; i < p->n_launches; i++) {
        free(p->launches[i].loop.ins);
        free(p->launches[i].reads);
        free(p->launches[i].writes);
    }
    free(p->launches);
    free(p->bufs);
    moec_arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

/* Makes room for one more element of size `size` in *items (count n, capacity *cap). */
static int grow(void **items, int n, int *cap, size_t size)
{
    if (n < *cap) return 0;
    int want = *cap ? *cap * 2 : 16;
    void *bigger = realloc(*items, size * (size_t)want);
    if (!bigger) return -1;
    *items = bigger;
    *cap = want;
    return 0;
}

int64_t ir_kbuf_bytes(const ir_kbuf *b)
{
    return b->numel * ir_dtype_size(b->dtype);
}

int ir_kbuf_add(ir_kprogram *p, const char *name, ir_dtype dtype, int64_t numel, ir_buf_role role, int node)
{
    if (grow((void **)&p->bufs, p->n_bufs, &p->cap_bufs, sizeof *p->bufs) < 0) return -1;
    const char *copy = moec_arena_strdup(&p->arena, name);
    if (!copy) return -1;
    p->bufs[p->n_bufs] = (ir_kbuf){ .name = copy, .dtype = dtype, .numel = numel, .role = role,
                                    .node = node, .parent = -1, .arena_offset = -1 };
    return p->n_bufs++;
}

int ir_kbuf_view(ir_kprogram *p, const char *name, int parent, int64_t offset, int64_t numel, ir_buf_role role,
                 int node)
{
    MOEC_ASSERT(parent >= 0 && parent < p->n_bufs);
    ir_dtype dtype = p->bufs[parent].dtype;
    int id = ir_kbuf_add(p, name, dtype, numel, role, node);
    if (id < 0) return -1;
    p->bufs[id].parent = parent;
    p->bufs[id].view_offset = offset;
    return id;
}

ir_launch *ir_launch_add(ir_kprogram *p, ir_launch_kind kind, const char *name)
{
    if (grow((void **)&p->launches, p->n_launches, &p->cap_launches, sizeof *p->launches) < 0) return NULL;
    const char *copy = moec_arena_strdup(&p->arena, name);
    if (!copy) return NULL;
    ir_launch *l = &p->launches[p->n_launches++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->name = copy;
    l->gemm.group_rows = -1;
    l->tmpl.out = -1;
    for (int i = 0; i < IR_MAX_INPUTS; i++) l->tmpl.in[i] = -1;
    return l;
}

void ir_launch_add_line(ir_launch *l, int line)
{
    if (line <= 0) return;
    int n = 0;
    while (n < IR_K_MAX_LINES && l->lines[n] && l->lines[n] < line) n++;
    if (n == IR_K_MAX_LINES || l->lines[n] == line) return;
    memmove(&l->lines[n + 1], &l->lines[n], sizeof l->lines[0] * (size_t)(IR_K_MAX_LINES - 1 - n));
    l->lines[n] = line;
}

/* Adds buf to a launch's read or write list once. */
static int note_buffer(int **list, int *n, int *cap, int buf)
{
    for (int i = 0; i < *n; i++)
        if ((*list)[i] == buf) return 0;
    if (grow((void **)list, *n, cap, sizeof **list) < 0) return -1;
    (*list)[(*n)++] = buf;
    return 0;
}

int ir_launch_reads(ir_launch *l, int b) { return note_buffer(&l->reads, &l->n_reads, &l->cap_reads, b); }
int ir_launch_writes(ir_launch *l, int b) { return note_buffer(&l->writes, &l->n_writes, &l->cap_writes, b); }

/* Appends an instruction to l's loop; returns its id or -1. */
static int add_instr(ir_launch *l, ir_kinstr in)
{
    MOEC_ASSERT(l->kind == IR_LAUNCH_LOOP);
    ir_kloop *k = &l->loop;
    if (grow((void **)&k->ins, k->n_ins, &k->cap_ins, sizeof *k->ins) < 0) return -1;
    k->ins[k->n_ins] = in;
    return k->n_ins++;
}

static ir_kinstr instr(ir_kinstr_kind kind, ir_dtype dtype, int pass)
{
    return (ir_kinstr){ .kind = kind, .dtype = dtype, .pass = pass, .src = { -1, -1, -1 }, .buf = -1,
                        .index = { .gather = -1 } };
}

int ir_k_load(ir_kprogram *p, ir_launch *l, int pass, int buf, ir_kindex index)
{
    MOEC_ASSERT(buf >= 0 && buf < p->n_bufs);
    ir_kinstr in = instr(IR_KI_LOAD, p->bufs[buf].dtype, pass);
    in.buf = buf;
    in.index = index;
    if (ir_launch_reads(l, buf) < 0) return -1;
    return add_instr(l, in);
}

int ir_k_const(ir_kprogram *p, ir_launch *l, int pass, ir_dtype dtype, double value)
{
    (void)p;
    ir_kinstr in = instr(IR_KI_CONST, dtype, pass);
    in.value = value;
    return add_instr(l, in);
}

int ir_k_axis(ir_kprogram *p, ir_launch *l, int pass, int axis)
{
    (void)p;
    ir_kinstr in = instr(IR_KI_AXIS, IR_F32, pass);
    in.attr = axis;
    return add_instr(l, in);
}

int ir_k_random(ir_kprogram *p, ir_launch *l, int pass, ir_random_dist dist, uint64_t seed, uint32_t stream,
                int step, ir_kindex element)
{
    (void)p;
    ir_kinstr in = instr(IR_KI_RANDOM, IR_F32, pass);
    in.attr = dist;
    in.seed = seed;
    in.stream = stream;
    in.src[0] = step;
    in.index = element;
    return add_instr(l, in);
}

/* The result dtype of an ALU op on its operands: comparisons give f32 (as
 * the graph's CMP does), CAST its target, WHERE its value operands, the
 * rest their first operand's. */
static ir_dtype alu_dtype(const ir_launch *l, ir_op op, int64_t attr, int a, int b)
{
    if (op == IR_CAST) return (ir_dtype)attr;
    if (op == IR_CMP) return IR_F32;
    if (op == IR_WHERE) return l->loop.ins[b].dtype;
    return l->loop.ins[a].dtype;
}

int ir_k_alu(ir_kprogram *p, ir_launch *l, int pass, ir_op op, int64_t attr, int a, int b, int c)
{
    (void)p;
    MOEC_ASSERT(a >= 0 && a < l->loop.n_ins);
    ir_kinstr in = instr(IR_KI_ALU, alu_dtype(l, op, attr, a, b), pass);
    in.op = op;
    in.attr = attr;
    in.src[0] = a;
    in.src[1] = b;
    in.src[2] = c;
    return add_instr(l, in);
}

int ir_k_reduce(ir_kprogram *p, ir_launch *l, int pass, ir_op op, int x)
{
    (void)p;
    MOEC_ASSERT(x >= 0 && x < l->loop.n_ins);
    ir_kinstr in = instr(IR_KI_REDUCE, l->loop.ins[x].dtype, pass);
    in.op = op;
    in.src[0] = x;
    return add_instr(l, in);
}

int ir_k_store(ir_kprogram *p, ir_launch *l, int pass, int buf, ir_kindex index, int x)
{
    MOEC_ASSERT(buf >= 0 && buf < p->n_bufs);
    ir_kinstr in = instr(IR_KI_STORE, p->bufs[buf].dtype, pass);
    in.buf = buf;
    in.index = index;
    in.src[0] = x;
    if (ir_launch_writes(l, buf) < 0) return -1;
    return add_instr(l, in);
}

ir_kindex ir_kindex_contiguous(const ir_kloop *loop, const ir_shape *s)
{
    ir_kindex ix = { .gather = -1 };
    MOEC_ASSERT(s->rank <= loop->rank);
    int64_t stride = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        int axis = loop->rank - s->rank + d;
        ix.stride[axis] = s->dim[d] == 1 ? 0 : stride;
        stride *= s->dim[d];
    }
    return ix;
}

int64_t ir_kloop_points(const ir_kloop *k)
{
    int64_t n = 1;
    for (int d = 0; d < k->rank; d++) n *= k->dim[d];
    return n;
}

void ir_kloop_stages(const ir_kloop *k, int *stage)
{
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->pass != IR_KPASS_POINT) {
            stage[i] = in->kind == IR_KI_REDUCE ? in->pass + 1 : in->pass;
            continue;
        }
        int s = 0;
        bool indexed = in->kind == IR_KI_LOAD || in->kind == IR_KI_STORE || in->kind == IR_KI_RANDOM;
        int ops[4] = { in->src[0], in->src[1], in->src[2], indexed ? in->index.gather : -1 };
        for (int o = 0; o < 4; o++)
            if (ops[o] >= 0 && ops[o] < i && stage[ops[o]] > s) s = stage[ops[o]];
        stage[i] = s;
    }
}

/* ---- printing ---- */

static const char *const role_names[] = {
    [IR_BUF_PARAM] = "param", [IR_BUF_GRAD] = "grad", [IR_BUF_OPT_STATE] = "opt_state",
    [IR_BUF_INPUT] = "input", [IR_BUF_OUTPUT] = "output", [IR_BUF_ACTIVATION] = "activation",
    [IR_BUF_SCRATCH] = "scratch",
};
_Static_assert(sizeof role_names / sizeof role_names[0] == IR_BUF_SCRATCH + 1, "one name per buffer role");

static void print_axis_name(FILE *out, int axis)
{
    if (axis == IR_K_REDUCE_AXIS) fputs("r", out);
    else fprintf(out, "i%d", axis);
}

/* "b3[64*i0 + r + 7 + 64*v2]" */
static void print_index(FILE *out, int buf, const ir_kindex *ix)
{
    fprintf(out, "b%d[", buf);
    bool first = true;
    for (int a = 0; a < IR_K_AXES; a++) {
        if (!ix->stride[a]) continue;
        if (!first) fputs(" + ", out);
        if (ix->stride[a] != 1) fprintf(out, "%" PRId64 "*", ix->stride[a]);
        print_axis_name(out, a);
        first = false;
    }
    if (ix->gather >= 0) {
        fprintf(out, "%s%" PRId64 "*v%d", first ? "" : " + ", ix->gather_stride, ix->gather);
        first = false;
    }
    if (ix->base || first) fprintf(out, "%s%" PRId64, first ? "" : " + ", ix->base);
    fputs("]", out);
}

static void print_instr(FILE *out, const ir_kinstr *in, int id)
{
    fprintf(out, "      ");
    if (in->kind != IR_KI_STORE) fprintf(out, "v%d = ", id);
    switch (in->kind) {
    case IR_KI_LOAD: fputs("load ", out); print_index(out, in->buf, &in->index); break;
    case IR_KI_CONST: fprintf(out, "const %.17g", in->value); break;
    case IR_KI_AXIS: fputs("axis ", out); print_axis_name(out, (int)in->attr); break;
    case IR_KI_RANDOM:
        fprintf(out, "random %s seed=%" PRIu64 " stream=%" PRIu32 " step=v%d element=",
                ir_random_dist_name((ir_random_dist)in->attr), in->seed, in->stream, in->src[0]);
        print_index(out, -1, &in->index);
        break;
    case IR_KI_ALU:
        fprintf(out, "%s", ir_op_name(in->op));
        for (int i = 0; i < 3 && in->src[i] >= 0; i++) fprintf(out, " v%d", in->src[i]);
        if (in->op == IR_CMP) fprintf(out, " {%s}", ir_cmp_name((ir_cmp)in->attr));
        if (in->op == IR_CAST) fprintf(out, " {%s}", ir_dtype_name((ir_dtype)in->attr));
        break;
    case IR_KI_REDUCE: fprintf(out, "reduce %s v%d", ir_op_name(in->op), in->src[0]); break;
    case IR_KI_STORE: fputs("store ", out); print_index(out, in->buf, &in->index); fprintf(out, " = v%d", in->src[0]); break;
    default: MOEC_UNREACHABLE();
    }
    fprintf(out, " : %s", ir_dtype_name(in->dtype));
    if (in->pass != IR_KPASS_POINT) fprintf(out, "  pass %d", in->pass);
    fputc('\n', out);
}

static void print_space(FILE *out, const ir_launch *l)
{
    switch (l->kind) {
    case IR_LAUNCH_LOOP: {
        const ir_kloop *k = &l->loop;
        fputs("loop [", out);
        for (int d = 0; d < k->rank; d++) fprintf(out, "%s%" PRId64, d ? ", " : "", k->dim[d]);
        fputs("]", out);
        if (k->reduce) fprintf(out, " x reduce [%" PRId64 "] passes %d", k->reduce, k->n_passes);
        break;
    }
    case IR_LAUNCH_GEMM: {
        const ir_kgemm *g = &l->gemm;
        fprintf(out, "%s [%" PRId64 " x %" PRId64 "] m=%" PRId64 " n=%" PRId64 " k=%" PRId64,
                g->groups ? "grouped_gemm" : "gemm", g->batch[0], g->batch[1], g->m, g->n, g->k);
        if (g->groups) fprintf(out, " groups=%d %s=b%d", g->groups, g->split_k ? "split_k" : "rows", g->group_rows);
        break;
    }
    case IR_LAUNCH_TEMPLATE: fprintf(out, "template %s", ir_op_name(l->tmpl.node.op)); break;
    default: MOEC_UNREACHABLE();
    }
}

static void print_launch(FILE *out, const ir_kprogram *p, const ir_launch *l, int id, bool body)
{
    fprintf(out, "k%d %s  ", id, l->name);
    print_space(out, l);
    fputs("  reads", out);
    for (int i = 0; i < l->n_reads; i++) fprintf(out, " b%d", l->reads[i]);
    fputs("  writes", out);
    for (int i = 0; i < l->n_writes; i++) fprintf(out, " b%d", l->writes[i]);
    for (int i = 0; i < IR_K_MAX_LINES && l->lines[i]; i++)
        fprintf(out, "%s%d", i ? "," : "  @", l->lines[i]);
    fputc('\n', out);
    if (body && l->kind == IR_LAUNCH_LOOP)
        for (int i = 0; i < l->loop.n_ins; i++) print_instr(out, &l->loop.ins[i], i);
    (void)p;
}

void ir_kprogram_print(FILE *out, const ir_kprogram *p, bool body)
{
    fprintf(out, "# %d buffers, %d launches\n", p->n_bufs, p->n_launches);
    for (int i = 0; i < p->n_bufs; i++) {
        const ir_kbuf *b = &p->bufs[i];
        fprintf(out, "b%d %s : %s[%" PRId64 "] %s", i, b->name, ir_dtype_name(b->dtype), b->numel,
                role_names[b->role]);
        if (b->parent >= 0) fprintf(out, " view of b%d at %" PRId64, b->parent, b->view_offset);
        if (b->arena_offset >= 0) fprintf(out, " @arena+%" PRId64, b->arena_offset);
        fputc('\n', out);
    }
    for (int i = 0; i < p->n_launches; i++) print_launch(out, p, &p->launches[i], i, body);
}
