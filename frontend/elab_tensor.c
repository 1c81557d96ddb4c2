/* frontend/elab_tensor.c -- the graph that elaboration builds.
 * Appends nodes (topological by construction) and parameters to the model's
 * growing tables, prints shapes as "[B, T, 768]", and builds tensor
 * arithmetic with numpy broadcasting over symbolic B and T. Enforces
 * FE_MAX_NODES and FE_MAX_DIM. */
#include <stdio.h>
#include <string.h>

#include "frontend/elab_internal.h"

el_shape_text fe_el_shape_str(const fe_shape *s)
{
    el_shape_text t;
    size_t n = 0;
    t.s[n++] = '[';
    for (int i = 0; i < s->rank; i++) {
        int64_t d = s->dim[i];
        int w = d == FE_DIM_B ? snprintf(t.s + n, sizeof t.s - n, "%sB", i ? ", " : "")
              : d == FE_DIM_T ? snprintf(t.s + n, sizeof t.s - n, "%sT", i ? ", " : "")
              : snprintf(t.s + n, sizeof t.s - n, "%s%lld", i ? ", " : "", (long long)d);
        if (w > 0) n += (size_t)w;
        if (n >= sizeof t.s - 2) n = sizeof t.s - 2;
    }
    t.s[n++] = ']';
    t.s[n] = '\0';
    return t;
}

fe_shape fe_el_shape(int rank, int64_t d0, int64_t d1, int64_t d2)
{
    fe_shape s = { .rank = rank };
    s.dim[0] = d0;
    s.dim[1] = d1;
    s.dim[2] = d2;
    for (int i = rank; i < FE_MAX_RANK; i++) s.dim[i] = 0;
    return s;
}

bool fe_el_shape_eq(const fe_shape *a, const fe_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

bool fe_el_check_dim(el_ctx *c, int64_t v, const char *what, moec_loc loc)
{
    if (v >= 1 && v <= FE_MAX_DIM) return true;
    fe_el_error(c, loc, "%s must be between 1 and %d (FE_MAX_DIM), got %lld",
                what, FE_MAX_DIM, (long long)v);
    return false;
}

int fe_el_node(el_ctx *c, fe_node_op op, fe_shape shape, const int *in, int n_in,
               moec_loc loc, const char *scope)
{
    if (c->limit_hit || c->oom) return -1;
    if (c->n_nodes >= FE_MAX_NODES) {
        c->limit_hit = true;
        fe_el_error(c, loc, "the model has more than 1,000,000 graph nodes (FE_MAX_NODES); "
                    "is a loop much larger than meant?");
        return -1;
    }
    if (!fe_el_grow(c, (void **)&c->nodes, &c->cap_nodes, c->n_nodes + 1, sizeof *c->nodes))
        return -1;
    MOEC_ASSERT(n_in <= FE_MAX_NODE_INPUTS);
    fe_node *n = &c->nodes[c->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->shape = shape;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    n->n_in = n_in;
    for (int i = 0; i < FE_MAX_NODE_PARAMS; i++) n->param[i] = -1;
    n->expert_of = -1;
    n->scope = scope;
    n->loc = loc;
    return c->n_nodes++;
}

/* Creates scope.local with `shape`; -1 after an error (reported). */
int fe_el_param(el_ctx *c, const char *scope, const char *local, fe_shape shape,
                fe_init_kind init, double std, moec_loc loc)
{
    if (c->oom) return -1;
    const char *name = fe_el_printf(c, "%s.%s", scope, local);
    if (!name) return -1;
    if (!fe_el_grow(c, (void **)&c->params, &c->cap_params, c->n_params + 1, sizeof *c->params))
        return -1;
    int id = c->n_params;
    fe_param *p = &c->params[id];
    *p = (fe_param){ .name = name, .shape = shape, .init = init, .init_std = std,
                     .trainable = true, .router = -1, .loc = loc };
    const el_expert *x = c->expert;
    size_t xl = x ? strlen(x->expert_scope) : 0;
    if (x && x->upcycle && !strncmp(name, x->expert_scope, xl) && name[xl] == '.') {
        p->upcycle_from = fe_el_printf(c, "%s%s", x->moe_scope, name + xl);
        if (!p->upcycle_from) return -1;
    }
    c->n_params++;
    if (!fe_el_name_add(c, name, id)) return -1;
    return id;
}

const fe_shape *fe_el_shape_of(el_ctx *c, el_value v)
{
    MOEC_ASSERT(v.kind == EL_TENSOR && v.node >= 0 && v.node < c->n_nodes);
    return &c->nodes[v.node].shape;
}

/* numpy broadcasting, right-aligned; B and T only match themselves (or 1). */
static bool broadcast(const fe_shape *a, const fe_shape *b, fe_shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    *out = (fe_shape){ .rank = r };
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da == db || db == 1) out->dim[i] = da;
        else if (da == 1) out->dim[i] = db;
        else return false;
    }
    return true;
}

static const char *op_word(fe_op op)
{
    switch (op) {
    case FE_OP_ADD: return "add";
    case FE_OP_SUB: return "subtract";
    case FE_OP_MUL: return "multiply";
    case FE_OP_DIV: return "divide";
    default: return "combine";
    }
}

/* tensor (op) number: a SCALE or OFFSET node. */
static el_value tensor_number(el_ctx *c, fe_op op, el_value t, double k, bool number_first, moec_loc loc)
{
    fe_node_op nop = FE_NODE_SCALE;
    double attr = k;
    if (op == FE_OP_ADD) nop = FE_NODE_OFFSET;
    else if (op == FE_OP_SUB && !number_first) { nop = FE_NODE_OFFSET; attr = -k; }
    else if (op == FE_OP_SUB) {               /* k - t = (-t) + k */
        t = fe_el_tensor_neg(c, t, loc);
        if (t.kind == EL_POISON) return t;
        nop = FE_NODE_OFFSET;
    } else if (op == FE_OP_DIV && number_first) {
        fe_el_error(c, loc, "cannot divide a number by a tensor");
        return fe_el_poison();
    } else if (op == FE_OP_DIV) {
        if (k == 0.0) {
            fe_el_error(c, loc, "division by zero");
            return fe_el_poison();
        }
        attr = 1.0 / k;
    } else if (op != FE_OP_MUL) {
        fe_el_error(c, loc, "cannot %s a tensor and a number with this operator", op_word(op));
        return fe_el_poison();
    }
    int in[1] = { t.node };
    int id = fe_el_node(c, nop, c->nodes[t.node].shape, in, 1, loc, fe_el_scope_path(c));
    if (id < 0) return fe_el_poison();
    c->nodes[id].attr_f[0] = attr;
    return fe_el_tensor(id);
}

el_value fe_el_tensor_neg(el_ctx *c, el_value a, moec_loc loc)
{
    int in[1] = { a.node };
    int id = fe_el_node(c, FE_NODE_SCALE, c->nodes[a.node].shape, in, 1, loc, fe_el_scope_path(c));
    if (id < 0) return fe_el_poison();
    c->nodes[id].attr_f[0] = -1.0;
    return fe_el_tensor(id);
}

/* a (op) b where at least one side is a tensor and neither is poison. */
el_value fe_el_tensor_binary(el_ctx *c, fe_op op, el_value a, el_value b, moec_loc loc)
{
    bool an = a.kind == EL_INT || a.kind == EL_FLOAT, bn = b.kind == EL_INT || b.kind == EL_FLOAT;
    if (a.kind == EL_TENSOR && bn)
        return tensor_number(c, op, a, b.kind == EL_INT ? (double)b.i : b.f, false, loc);
    if (an && b.kind == EL_TENSOR)
        return tensor_number(c, op, b, a.kind == EL_INT ? (double)a.i : a.f, true, loc);
    static const fe_node_op nops[] = { [FE_OP_ADD] = FE_NODE_ADD, [FE_OP_SUB] = FE_NODE_SUB,
                                       [FE_OP_MUL] = FE_NODE_MUL, [FE_OP_DIV] = FE_NODE_DIV };
    if (a.kind != EL_TENSOR || b.kind != EL_TENSOR || op > FE_OP_DIV) {
        fe_el_error(c, loc, "cannot %s %s and %s", op_word(op),
                    fe_el_kind_name(a.kind), fe_el_kind_name(b.kind));
        return fe_el_poison();
    }
    const fe_shape *sa = fe_el_shape_of(c, a), *sb = fe_el_shape_of(c, b);
    fe_shape out;
    if (!broadcast(sa, sb, &out)) {
        fe_el_error(c, loc, "cannot %s tensors of shapes %s and %s: they do not broadcast",
                    op_word(op), fe_el_shape_str(sa).s, fe_el_shape_str(sb).s);
        return fe_el_poison();
    }
    int in[2] = { a.node, b.node };
    int id = fe_el_node(c, nops[op], out, in, 2, loc, fe_el_scope_path(c));
    return id < 0 ? fe_el_poison() : fe_el_tensor(id);
}
