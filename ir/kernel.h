/* ir/kernel.h -- the kernel program: what fusion makes of a step graph, and
 * what both code generators render (LLVM IR for the CPU, CUDA C for the GPU).
 * Read by codegen/ and runtime/; written by the fuser (ir/fuse.c) and, in
 * tests, by hand through the builders below. doc/kernels.md explains every
 * field with examples; `moec ir --stage kernels` prints a program.
 *
 *   program = buffers + launches, in execution order
 *   launch  = loop kernel | matrix product (library call) | template
 *
 * Nothing here knows about a device: no threads, blocks, vector widths or
 * pointers. Shape legend as in ir/graph.h; R is a reduce axis's length. */
#ifndef MOEC_IR_KERNEL_H
#define MOEC_IR_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/graph.h"
#include "support/arena.h"
#include "support/diag.h"

/* Axis numbering inside a loop kernel: parallel axes 0 .. rank-1, the reduce
 * axis (if any) always at IR_K_REDUCE_AXIS. */
enum {
    IR_K_REDUCE_AXIS = IR_MAX_RANK,
    IR_K_AXES = IR_MAX_RANK + 1,
    IR_K_MAX_LINES = 8,      /* model-file lines remembered per launch */
};

/* ---- buffers ---- */

typedef enum ir_buf_role {
    IR_BUF_PARAM,       /* a model parameter: persistent, written only by the optimizer */
    IR_BUF_GRAD,        /* d loss / d parameter: persistent */
    IR_BUF_OPT_STATE,   /* AdamW moments: persistent */
    IR_BUF_INPUT,       /* tokens, targets, domain, step: filled by the runtime before a run */
    IR_BUF_OUTPUT,      /* losses, norms, statistics: persistent, read after a run */
    IR_BUF_ACTIVATION,  /* an intermediate value: in the arena from its first write to its last read */
    IR_BUF_SCRATCH,     /* workspace of one launch (a template's counters): in the arena */
} ir_buf_role;

typedef struct ir_kbuf {
    const char *name;    /* unique, readable: "h.3.attn.qkv", "grad.wte.weight" */
    ir_dtype dtype;
    int64_t numel;       /* elements */
    ir_buf_role role;
    int node;            /* the graph node whose value it holds, or -1 */
    int parent;          /* -1, or the buffer this one is a view of (expert weights
                            of one layer side by side, so a grouped product strides over them) */
    int64_t view_offset; /* first element inside parent (views only) */
    int64_t arena_offset;/* bytes into the arena (ACTIVATION, SCRATCH) once the memory plan ran; -1 before */
} ir_kbuf;

/* ---- loop kernels ---- */

/* The element a load or store touches:
 *   base + sum over axes a of stride[a] * i[a]  (+ gather_stride * value of `gather`)
 * A stride of 0 broadcasts along that axis. `gather` (-1 if none) is an
 * earlier i32 value of the same kernel: an embedding row, a dispatched row. */
typedef struct ir_kindex {
    int64_t base;
    int64_t stride[IR_K_AXES];
    int gather;
    int64_t gather_stride;
} ir_kindex;

/* Whether a and b address the same elements (field by field: the padding
 * after `gather` is undefined, so never memcmp two indices). */
static inline bool ir_kindex_equal(const ir_kindex *a, const ir_kindex *b)
{
    if (a->base != b->base || a->gather != b->gather || a->gather_stride != b->gather_stride) return false;
    for (int k = 0; k < IR_K_AXES; k++)
        if (a->stride[k] != b->stride[k]) return false;
    return true;
}

typedef enum ir_kinstr_kind {
    IR_KI_LOAD,     /* buf[index] */
    IR_KI_CONST,    /* value */
    IR_KI_AXIS,     /* the current position along `axis`, as a number (iota) */
    IR_KI_RANDOM,   /* Philox draw (seed, step = src[0], stream, element = index) */
    IR_KI_ALU,      /* an elementwise graph op on src[]: NEG .. ERF, CAST, ADD .. WHERE */
    IR_KI_REDUCE,   /* SUM or REDUCE_MAX of src[0] over the reduce axis; a point value after its pass */
    IR_KI_STORE,    /* buf[index] = src[0]; no result */
} ir_kinstr_kind;

/* IR_KI_*.pass: a value computed once per point of the parallel space, or
 * inside reduce pass p (a loop over the reduce axis). */
enum { IR_KPASS_POINT = -1 };

typedef struct ir_kinstr {
    ir_kinstr_kind kind;
    ir_dtype dtype;       /* of the result: IR_F32 or IR_I32 */
    int pass;             /* IR_KPASS_POINT, or 0 .. n_passes-1 */
    int src[3];           /* operand values (earlier instructions), -1 unused */
    ir_op op;             /* ALU: the graph op; REDUCE: IR_SUM or IR_REDUCE_MAX */
    int64_t attr;         /* ALU CMP: ir_cmp; ALU CAST: target ir_dtype; AXIS: the axis;
                             RANDOM: ir_random_dist */
    int buf;              /* LOAD, STORE: the buffer; -1 otherwise */
    ir_kindex index;      /* LOAD, STORE, RANDOM (the element counter) */
    double value;         /* CONST */
    uint64_t seed;        /* RANDOM */
    uint32_t stream;      /* RANDOM */
} ir_kinstr;

/* A loop nest: parallel axes dim[0..rank) (rank 0: one point), an optional
 * reduce axis of length `reduce` walked n_passes times per point (softmax:
 * a max pass, a sum pass, a normalising pass). Instructions are in
 * dependency order; those of one pass are contiguous. */
typedef struct ir_kloop {
    int rank;
    int64_t dim[IR_MAX_RANK];
    int64_t reduce;       /* 0: no reduce axis */
    int n_passes;         /* 0 when reduce == 0 */
    ir_kinstr *ins;
    int n_ins, cap_ins;
} ir_kloop;

/* ---- matrix products (library calls) ---- */

/* Element (i, j) of matrix b1 b0 of an operand is
 *   buf[offset + b0*batch_stride[0] + b1*batch_stride[1] + i*row_stride + j*col_stride]
 * with row_stride == 1 or col_stride == 1 (what BLAS accepts: the fuser
 * copies anything else into a fresh buffer first). */
typedef struct ir_kmat {
    int buf;
    int64_t offset;
    int64_t row_stride, col_stride;
    int64_t batch_stride[2];
} ir_kmat;

/* C = alpha A B + beta C, for every batch pair (b0 < batch[0], b1 < batch[1]);
 * A is m x k, B is k x n, C is m x n.
 * Grouped (groups > 0), the group sizes are the i32 values of group_rows,
 * known only at run time; groups are consecutive and a group of size zero
 * does nothing (an unused expert costs nothing):
 *   - split_k false: the m rows of A and C are split; group g's rows are
 *     multiplied by B's batch g (the expert FFN: rows of tokens times the
 *     expert's weight). Rows past the sum of the sizes become beta C.
 *   - split_k true: the k dimension is split (A's columns, B's rows) and
 *     group g writes C's batch g = alpha A_g B_g + beta C_g (the expert
 *     weight gradient: x_g^T dy_g); a group of size zero leaves beta C_g,
 *     so an accumulated gradient (beta 1) of an unused expert is kept.
 * batch[0] = groups, batch[1] = 1 for grouped products. */
typedef struct ir_kgemm {
    int64_t batch[2];
    int64_t m, n, k;
    ir_kmat a, b, c;
    double alpha, beta;
    int groups;           /* 0: a plain (batched) product */
    bool split_k;         /* grouped: the groups split k instead of m */
    int group_rows;       /* buffer of i32[groups] (grouped only), else -1 */
} ir_kgemm;

/* ---- templates ---- */

/* A hand-written parallel algorithm that loop IR expresses badly. It
 * computes exactly what graph op `node.op` computes (same shapes and
 * attributes, copied from the graph), reading buffers in[] and writing out. */
typedef struct ir_ktemplate {
    ir_node node;                           /* op, dtype, shape, attributes */
    ir_shape in_shape[IR_MAX_INPUTS];
    int in[IR_MAX_INPUTS];                  /* buffers of the operands, -1 unused */
    int out;                                /* buffer of the result */
} ir_ktemplate;

/* ---- launches and the program ---- */

typedef enum ir_launch_kind { IR_LAUNCH_LOOP, IR_LAUNCH_GEMM, IR_LAUNCH_TEMPLATE } ir_launch_kind;

typedef struct ir_launch {
    ir_launch_kind kind;
    const char *name;               /* "layernorm_fwd_h3_ln_2": what and where */
    int lines[IR_K_MAX_LINES];      /* model-file lines it came from, ascending, 0-padded */
    int *reads, n_reads, cap_reads;    /* buffers read, each once, for liveness */
    int *writes, n_writes, cap_writes; /* buffers written, each once */
    ir_kloop loop;                  /* IR_LAUNCH_LOOP */
    ir_kgemm gemm;                  /* IR_LAUNCH_GEMM */
    ir_ktemplate tmpl;              /* IR_LAUNCH_TEMPLATE */
} ir_launch;

typedef struct ir_kprogram {
    ir_kbuf *bufs;
    int n_bufs, cap_bufs;
    ir_launch *launches;
    int n_launches, cap_launches;
    int64_t arena_bytes;            /* after the memory plan; 0 before */
    moec_arena arena;               /* names and instruction arrays */
    const char *source_name;        /* model file name, for printers' line references */
} ir_kprogram;

/* ---- building ---- */

void ir_kprogram_init(ir_kprogram *p, const char *source_name);
void ir_kprogram_free(ir_kprogram *p);

/* A new buffer; returns its id, or -1 when out of memory. The name is copied. */
int ir_kbuf_add(ir_kprogram *p, const char *name, ir_dtype dtype, int64_t numel, ir_buf_role role, int node);
/* A view of `parent` starting at element `offset`. */
int ir_kbuf_view(ir_kprogram *p, const char *name, int parent, int64_t offset, int64_t numel, ir_buf_role role,
                 int node);

/* A new launch of `kind` named `name` (copied); returns it, or NULL. The
 * pointer is valid until the next ir_launch_add. */
ir_launch *ir_launch_add(ir_kprogram *p, ir_launch_kind kind, const char *name);
/* Records a model-file line (kept sorted, duplicates dropped, at most IR_K_MAX_LINES). */
void ir_launch_add_line(ir_launch *l, int line);
/* Records that l reads / writes buffer b (each buffer once). 0, or -1 out of memory. */
int ir_launch_reads(ir_launch *l, int b);
int ir_launch_writes(ir_launch *l, int b);

/* Loop-kernel instructions; each returns the value's id, or -1 when out of
 * memory. `l` must be an IR_LAUNCH_LOOP whose loop shape is set. Loads and
 * stores record their buffer in the launch's reads / writes. */
int ir_k_load(ir_kprogram *p, ir_launch *l, int pass, int buf, ir_kindex index);
int ir_k_const(ir_kprogram *p, ir_launch *l, int pass, ir_dtype dtype, double value);
int ir_k_axis(ir_kprogram *p, ir_launch *l, int pass, int axis);
int ir_k_random(ir_kprogram *p, ir_launch *l, int pass, ir_random_dist dist, uint64_t seed, uint32_t stream,
                int step, ir_kindex element);
int ir_k_alu(ir_kprogram *p, ir_launch *l, int pass, ir_op op, int64_t attr, int a, int b, int c);
int ir_k_reduce(ir_kprogram *p, ir_launch *l, int pass, ir_op op, int x);
int ir_k_store(ir_kprogram *p, ir_launch *l, int pass, int buf, ir_kindex index, int x);

/* The index of a contiguous row-major tensor of shape s read along the
 * kernel's parallel axes 0..s.rank-1 (numpy broadcasting: size-1 dims get
 * stride 0; s is right-aligned against the kernel's rank). */
ir_kindex ir_kindex_contiguous(const ir_kloop *loop, const ir_shape *s);

/* Points of the parallel space: dim[0] * ... * dim[rank-1], 1 for rank 0.
 * A backend splits [0, points) into ranges; point p is the row-major
 * flattening of (i0, ..., i(rank-1)). */
int64_t ir_kloop_points(const ir_kloop *k);

/* When each value of a loop kernel exists, as a stage 0 .. n_passes
 * (doc/kernels.md, "Order of evaluation"): a point instruction's stage is
 * the latest stage of its operands (0 without any), and it runs after
 * reduce pass stage-1 and before pass `stage`; an instruction of pass p
 * has stage p; a reduce of pass p has stage p + 1, when its value is
 * ready. Fills stage[0 .. n_ins). */
void ir_kloop_stages(const ir_kloop *k, int *stage);

/* ---- checking and printing ---- */

/* Checks every launch: buffer ids, operand ids earlier than their users,
 * passes contiguous and used in order, index expressions inside their
 * buffers for every point of the loop space, dtypes, product shapes.
 * Returns 0, or -1 after reporting the first problem to d (naming the
 * launch and instruction). */
int ir_kprogram_verify(const ir_kprogram *p, moec_diag *d);

/* One launch a line with its loop space, reads, writes and model-file
 * lines (`moec ir --stage kernels`); with `body`, every instruction too. */
void ir_kprogram_print(FILE *out, const ir_kprogram *p, bool body);

/* The program as C-like text (ir/kernel_listing.c): buffers, then every
 * launch as the loop nest, product or template call it stands for. */
void ir_kprogram_listing(FILE *out, const ir_kprogram *p);

/* Elements a buffer's arena bytes hold, and its byte size. */
int64_t ir_kbuf_bytes(const ir_kbuf *b);

#endif
