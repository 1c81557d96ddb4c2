/* tests/ir/helpers.h -- shared helpers of the IR core tests: shapes in one
 * call, graphs reporting into a collecting sink, seeded random inputs
 * (Philox, never zero), running the interpreter
 * and comparing arrays with the first mismatching pairs and the max
 * difference in the log and the op coverage
 * every test program ends with (doc/ir.md, "Tests"). Included by one test file each. */
#ifndef MOEC_TESTS_IR_HELPERS_H
#define MOEC_TESTS_IR_HELPERS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/interp.h"
#include "ir/philox.h"
#include "tests/sink.h"
#include "tests/tap.h"

#define SH(...) ir_shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define SCALAR ((ir_shape){0})

/* A fresh graph that reports into the program's collecting sink (tests/sink.h). */
static inline int graph_init(ir_graph *g)
{
    int rc = ir_graph_init(g);
    g->diag = sink();
    return rc;
}

/* What the graph's sink received: its failure, or "". */
static inline const char *graph_error(ir_graph *g)
{
    return sink_text(g->diag);
}

/* Forgets the graph's failure, so the next case reports its own. */
static inline void graph_clear_error(ir_graph *g)
{
    g->failed = false;
    g->diag = sink();
}

/* n values in ±[0.5, 1.5) from Philox (seed, stream): random, never near zero. */
static inline void fill_random(double *v, int64_t n, uint64_t seed, uint32_t stream)
{
    for (int64_t i = 0; i < n; i++) {
        double u = ir_philox_uniform(seed, 0, stream, (uint64_t)i);
        double s = ir_philox_uniform(seed, 1, stream, (uint64_t)i) < 0.5 ? -1.0 : 1.0;
        v[i] = s * (0.5 + u);
    }
}

/* True when every |got - want| <= atol + rtol |want|; otherwise logs the
 * first few mismatching pairs, the count and the max difference. */
static inline bool close_arrays(const double *got, const double *want, int64_t n, double rtol, double atol)
{
    int64_t bad = 0;
    double maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (d > maxd || isnan(d)) maxd = d;
        if (!(d <= atol + rtol * fabs(want[i]))) {
            if (bad < 4) tap_diag("  [%lld] got %.17g want %.17g (diff %.3g)", (long long)i, got[i], want[i], d);
            bad++;
        }
    }
    if (bad) tap_diag("  %lld of %lld differ, max diff %.3g (rtol %.0e, atol %.0e)", (long long)bad, (long long)n, maxd, rtol, atol);
    return bad == 0;
}

static inline bool equal_values(const double *got, const double *want, int64_t n)
{
    return close_arrays(got, want, n, 0, 0);
}

/* ---- op coverage ----
 * A test program marks each op whose result one of its cases checked
 * (cover: the op of the node checked) and ends with check_coverage: one TAP
 * line per op of ops.def, failing for an op neither checked nor exempted
 * with a reason. So an op added to ops.def without its tests fails here. */
typedef struct op_cover {
    const char *what;             /* "shape test", "interpreter test", ... */
    bool hit[IR_OP_COUNT];
} op_cover;

typedef struct op_exempt {
    ir_op op;
    const char *why;
} op_exempt;

/* Marks the op of node id (when id is a node); returns id. */
static inline int cover(op_cover *c, const ir_graph *g, int id)
{
    if (id >= 0 && id < g->n_nodes) c->hit[g->nodes[id].op] = true;
    return id;
}

static inline void check_coverage(const op_cover *c, const op_exempt *exempt, size_t n_exempt)
{
    for (int op = 0; op < IR_OP_COUNT; op++) {
        const char *why = NULL;
        for (size_t i = 0; i < n_exempt; i++)
            if (exempt[i].op == (ir_op)op) why = exempt[i].why;
        if (why && !c->hit[op]) tap_ok(true, "coverage: %s has no %s: %s", ir_op_name((ir_op)op), c->what, why);
        else tap_ok(c->hit[op], "coverage: %s has a %s", ir_op_name((ir_op)op), c->what);
    }
}

#endif
