/* tests/model/fd.h -- finite-difference gradient checks on the interpreter.
 * A case is a graph with PARAM leaves (the inputs to differentiate), other
 * leaves bound to fixed values (targets, step, domains), and a scalar loss.
 * fd_check compares ir_grad's gradient with central differences in float64,
 * as a relative error of whole tensors: |g - fd| / max(|g|, |fd|) (L2 norms).
 * Inputs are drawn with Philox: never zeros, never the same twice. */
#ifndef MOEC_TESTS_MODEL_FD_H
#define MOEC_TESTS_MODEL_FD_H

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ir/autodiff.h"
#include "ir/composite.h"
#include "ir/interp.h"
#include "ir/moe.h"
#include "ir/philox.h"
#include "tests/sink.h"

enum { FD_MAX_LEAVES = 64 };

typedef struct fd_case {
    ir_graph g;
    int leaf[FD_MAX_LEAVES];       /* differentiated PARAM leaves */
    double *value[FD_MAX_LEAVES];  /* their values */
    int n_leaves;
    bool no_fd[FD_MAX_LEAVES];     /* leaves whose forward dependence the gradient ignores on
                                      purpose (a frozen gate): gradient computed, not compared */
    int fixed[FD_MAX_LEAVES];      /* other leaves, bound but not differentiated */
    double *fixed_value[FD_MAX_LEAVES];
    int n_fixed;
    int loss;                      /* scalar */
    uint64_t seed;                 /* draws of this case */
} fd_case;

static inline void fd_init(fd_case *c, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    ir_graph_init(&c->g);
    c->g.diag = sink();   /* failures are collected (tests/sink.h) and shown in the log */
    c->seed = seed;
}

static inline void fd_free(fd_case *c)
{
    for (int i = 0; i < c->n_leaves; i++) free(c->value[i]);
    for (int i = 0; i < c->n_fixed; i++) free(c->fixed_value[i]);
    ir_graph_free(&c->g);
}

static inline int64_t fd_numel(const fd_case *c, int node)
{
    return ir_shape_numel(&ir_node_at(&c->g, node)->shape);
}

/* A PARAM leaf of shape s filled with offset + scale * N(0,1), |values| kept
 * away from 0 by at least 1e-3 so that no kink (relu, |x|) sits on a draw. */
static inline int fd_leaf(fd_case *c, const char *name, ir_shape s, double offset, double scale)
{
    int id = ir_param(&c->g, 1000 + c->n_leaves, name, s);
    int64_t n = ir_shape_numel(&s);
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        double x = offset + scale * ir_philox_normal(c->seed, 7, (uint32_t)c->n_leaves, (uint64_t)i);
        if (fabs(x) < 1e-3) x = x < 0 ? -1e-3 : 1e-3;
        v[i] = x;
    }
    c->leaf[c->n_leaves] = id;
    c->value[c->n_leaves++] = v;
    return id;
}

/* A leaf bound to the given values (copied), not differentiated. */
static inline void fd_fix(fd_case *c, int node, const double *values)
{
    int64_t n = fd_numel(c, node);
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    memcpy(v, values, sizeof(double) * (size_t)n);
    c->fixed[c->n_fixed] = node;
    c->fixed_value[c->n_fixed++] = v;
}

/* loss = sum(out * R) with R fixed normal draws (a RANDOM node), so every
 * output element matters with its own weight. */
static inline int fd_project(fd_case *c, int out)
{
    if (out < 0) return -1;
    const ir_node *n = ir_node_at(&c->g, out);
    if (n->shape.rank == 0) return out;
    int r = ir_random(&c->g, ir_scalar(&c->g, 3.0), IR_RANDOM_NORMAL, 99, 4242, n->shape);
    return ir_sum_all(&c->g, ir_binary(&c->g, IR_MUL, out, r));
}

static inline int fd_bind(fd_case *c, ir_interp *it)
{
    int rc = 0;
    for (int i = 0; i < c->n_leaves; i++) rc |= ir_interp_bind(it, c->leaf[i], c->value[i]);
    for (int i = 0; i < c->n_fixed; i++) rc |= ir_interp_bind(it, c->fixed[i], c->fixed_value[i]);
    return rc;
}

/* Evaluates `node` (whole graph when node < 0) in f64; NULL on failure. */
static inline ir_interp *fd_run(fd_case *c, int node)
{
    ir_interp *it = ir_interp_new(&c->g, IR_PREC_F64);
    if (!it || fd_bind(c, it) < 0 || ir_interp_run(it, node, c->g.diag) < 0) {
        if (it) fprintf(stdout, "# run failed: %s\n", sink_text(c->g.diag));
        ir_interp_free(it);
        return NULL;
    }
    return it;
}

static inline double fd_loss_at(fd_case *c)
{
    ir_interp *it = fd_run(c, c->loss);
    double v = it ? ir_interp_value(it, c->loss)[0] : NAN;
    ir_interp_free(it);
    return v;
}

/* The smallest gap between the k-th and (k+1)-th largest value of each row
 * of v [rows, cols] (of each column with by_col): how far a router's
 * ranking is from a tie. INFINITY when k covers the whole line. */
static inline double fd_rank_gap(const double *v, int64_t rows, int64_t cols, int64_t k, bool by_col)
{
    int64_t lines = by_col ? cols : rows, len = by_col ? rows : cols;
    if (k < 1) k = 1;
    if (k >= len || len > 64) return len > 64 ? 0 : INFINITY;
    double worst = INFINITY;
    for (int64_t l = 0; l < lines; l++) {
        double a[64];
        for (int64_t i = 0; i < len; i++) a[i] = by_col ? v[i * cols + l] : v[l * cols + i];
        for (int64_t i = 0; i < len; i++)          /* sort descending */
            for (int64_t j = i + 1; j < len; j++)
                if (a[j] > a[i]) { double t = a[i]; a[i] = a[j]; a[j] = t; }
        worst = fmin(worst, a[k - 1] - a[k]);
    }
    return worst;
}

/* The worst relative error over the leaves (checking at most `max_elems`
 * elements per leaf, spread evenly), or a negative number when the graph
 * failed. grad[] (optional) receives the gradient node ids. */
static inline double fd_check(fd_case *c, int max_elems, int *grad_out)
{
    int grad[FD_MAX_LEAVES];
    if (c->loss < 0 || ir_grad(&c->g, c->loss, c->leaf, c->n_leaves, grad) < 0) {
        fprintf(stdout, "# graph failed: %s\n", sink_text(c->g.diag));
        return -1;
    }
    if (grad_out) memcpy(grad_out, grad, sizeof(int) * (size_t)c->n_leaves);
    ir_interp *it = fd_run(c, -1);
    if (!it) return -1;
    double worst = 0;
    for (int l = 0; l < c->n_leaves; l++) {
        if (c->no_fd[l]) continue;
        const double *ga = ir_interp_value(it, grad[l]);
        int64_t n = fd_numel(c, c->leaf[l]), stride = n > max_elems ? n / max_elems : 1;
        double diff2 = 0, a2 = 0, f2 = 0;
        for (int64_t i = 0; i < n; i += stride) {
            /* h = 1e-6 relative: truncation ~h^2 f'''/6 ~1e-13 and rounding
             * ~1e-16 |L| / h ~1e-10 |L|, both far below the tests' 1e-6 */
            double keep = c->value[l][i], h = 1e-6 * (fabs(keep) > 1 ? fabs(keep) : 1);
            c->value[l][i] = keep + h;
            double up = fd_loss_at(c);
            c->value[l][i] = keep - h;
            double down = fd_loss_at(c);
            c->value[l][i] = keep;
            double fd = (up - down) / (2 * h);
            diff2 += (fd - ga[i]) * (fd - ga[i]);
            a2 += ga[i] * ga[i];
            f2 += fd * fd;
        }
        double scale = sqrt(a2 > f2 ? a2 : f2);
        /* floor 1e-6: on a ~0 gradient the ~1e-10 FD noise is measured against 1e-6, not against itself */
        double rel = sqrt(diff2) / (scale > 1e-6 ? scale : 1e-6);
        if (!(rel <= worst)) worst = rel;   /* NaN sticks */
    }
    ir_interp_free(it);
    return worst;
}

/* The inputs a router reads besides its rows -- the step (2), token ids and
 * domain ids of a batch of B = 2 sequences of T = 3 tokens -- as fixed
 * leaves of c, and the router context that names them (seed 1234, streams
 * from 500, 10 train steps, vocabulary 11). */
static inline ir_moe_ctx fd_router_ctx(fd_case *c, int64_t b, int64_t t, bool training)
{
    static double step = 2, tok[6] = {3, 1, 4, 1, 5, 9}, dom[2] = {5, 2};
    int64_t d1[1] = {b}, d2[2] = {b, t};
    MOEC_ASSERT(b * t <= 6 && b <= 2);
    int s = ir_input(&c->g, IR_INPUT_STEP, ir_shape_of(0, NULL));
    int tokens = ir_input(&c->g, IR_INPUT_TOKENS, ir_shape_of(2, d2));
    int domain = ir_input(&c->g, IR_INPUT_DOMAIN, ir_shape_of(1, d1));
    fd_fix(c, s, &step);
    fd_fix(c, tokens, tok);
    fd_fix(c, domain, dom);
    return (ir_moe_ctx){training, s, tokens, domain, 1234, 500, 10, 11};
}

#endif
