/* runtime/cuda/gemm.c -- products as cuBLAS's column-major calls
 * (runtime/cuda/gemm.h, which explains the mapping). */
#include "runtime/cuda/gemm.h"

/* The leading dimension of x (rows x cols) stored row-major, or -1: its
 * column stride 1 (or one column), and then its row stride (cols for one row). */
static int64_t ld_row_major(const ir_kmat *x, int64_t rows, int64_t cols)
{
    if (cols > 1 && x->col_stride != 1) return -1;
    int64_t ld = rows == 1 ? cols : x->row_stride;
    if (ld < 1) ld = 1;
    return ld >= cols ? ld : -1;
}

/* The same stored column-major. */
static int64_t ld_col_major(const ir_kmat *x, int64_t rows, int64_t cols)
{
    if (rows > 1 && x->row_stride != 1) return -1;
    int64_t ld = cols == 1 ? rows : x->col_stride;
    if (ld < 1) ld = 1;
    return ld >= rows ? ld : -1;
}

/* Operand x in C's order when it can be (*same), else in the other. */
static int64_t operand(const ir_kmat *x, int64_t rows, int64_t cols, bool row_major, bool *same)
{
    int64_t in_c = row_major ? ld_row_major(x, rows, cols) : ld_col_major(x, rows, cols);
    int64_t other = row_major ? ld_col_major(x, rows, cols) : ld_row_major(x, rows, cols);
    *same = in_c >= 0;
    return in_c >= 0 ? in_c : other;
}

int rt_cuda_gemm_layout_of(const ir_kgemm *g, rt_cuda_gemm_layout *L, const char **bad)
{
    L->ldc = ld_row_major(&g->c, g->m, g->n);
    L->row_major = L->ldc >= 0;
    if (!L->row_major) L->ldc = ld_col_major(&g->c, g->m, g->n);
    *bad = NULL;
    if (L->ldc < 0) *bad = "C";
    else if ((L->lda = operand(&g->a, g->m, g->k, L->row_major, &L->a_same)) < 0) *bad = "A";
    else if ((L->ldb = operand(&g->b, g->k, g->n, L->row_major, &L->b_same)) < 0) *bad = "B";
    return *bad ? -1 : 0;
}

rt_dev_sgemm rt_cuda_gemm_call(const ir_kgemm *g, const rt_cuda_gemm_layout *L, int64_t rows, int64_t k, rt_dev_ptr a,
                               rt_dev_ptr b, rt_dev_ptr c)
{
    rt_dev_op op_a = L->a_same ? RT_DEV_OP_N : RT_DEV_OP_T, op_b = L->b_same ? RT_DEV_OP_N : RT_DEV_OP_T;
    rt_dev_sgemm s = { .k = k, .alpha = (float)g->alpha, .beta = (float)g->beta, .c = c, .ldc = L->ldc, .batch = 1 };
    if (L->row_major) {   /* C^T = B^T A^T: B first, m and n swapped */
        s.ta = op_b, s.tb = op_a;
        s.m = g->n, s.n = rows;
        s.a = b, s.lda = L->ldb;
        s.b = a, s.ldb = L->lda;
    } else {
        s.ta = op_a, s.tb = op_b;
        s.m = rows, s.n = g->n;
        s.a = a, s.lda = L->lda;
        s.b = b, s.ldb = L->ldb;
    }
    return s;
}
