/* tests/cpu/helpers.h -- shared by the CPU runtime tests (and the CUDA
 * templates' test, which runs the same launches): the collecting error sink
 * (tests/sink.h), a pool of a given size, a program of one template launch.
 * Included by one test file each. */
#ifndef MOEC_TESTS_CPU_HELPERS_H
#define MOEC_TESTS_CPU_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/exec.h"
#include "tests/sink.h"
#include "tests/tap.h"

/* A pool of n threads (NULL for one), or exits: tests cannot go on without it. */
static inline rt_pool *test_pool(int n)
{
    if (n <= 1) return NULL;
    moec_diag d;
    moec_diag_init(&d, stderr, 20);
    rt_pool *p = rt_pool_new(n, &d);
    if (!p) exit(1);
    return p;
}

/* A program of one template launch computing node `op` of g: its operands
 * are input buffers 0.., its result the output buffer. Exits when out of
 * memory. */
static inline void test_one_launch(ir_kprogram *p, const ir_graph *g, int op)
{
    const ir_node *n = &g->nodes[op];
    ir_kprogram_init(p, "test.moe");
    ir_launch *l = ir_launch_add(p, IR_LAUNCH_TEMPLATE, "template_test");
    if (!l) exit(1);
    l->tmpl.node = *n;
    for (int i = 0; i < n->n_in; i++) {
        const ir_node *x = &g->nodes[n->in[i]];
        l->tmpl.in[i] = ir_kbuf_add(p, "in", x->dtype, ir_shape_numel(&x->shape), IR_BUF_INPUT, n->in[i]);
        l->tmpl.in_shape[i] = x->shape;
    }
    l->tmpl.out = ir_kbuf_add(p, "out", n->dtype, ir_shape_numel(&n->shape), IR_BUF_OUTPUT, op);
}

#endif
