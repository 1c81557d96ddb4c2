/* ir/step.c -- the training step as one graph: reads the forward graph of
 * ir_lower, appends the gradients (ir_step_grad) and then clipping, the
 * learning-rate schedule and AdamW (ir_step_optimizer): two passes of the
 * table in runtime/passes.c. The optimizer follows torch.optim.AdamW
 * (decoupled decay, bias correction) and clip_grad_norm_ (scale
 * clip / (norm + 1e-6) when the norm exceeds clip). */
#include "ir/step.h"

#include <math.h>
#include <string.h>

#include "ir/autodiff.h"
#include "ir/composite.h"

static ir_shape param_shape(const fe_param *p)
{
    ir_shape s = ir_shape_of(0, NULL);
    s.rank = p->shape.rank;
    memcpy(s.dim, p->shape.dim, sizeof p->shape.dim[0] * (size_t)p->shape.rank);
    return s;
}

/* clamp(x, 0, 1) */
static int clamp01(ir_graph *g, int x)
{
    int nonneg = ir_binary(g, IR_MAX, x, ir_scalar(g, 0.0));
    return ir_min(g, nonneg, ir_scalar(g, 1.0));
}

/* The decay fraction at `progress` (0 .. 1): 1 at the start of the decay, 0 at its end. */
static int decay_frac(ir_graph *g, int progress, fe_schedule s)
{
    _Static_assert(FE_SCHEDULE_COUNT == 3, "ir_lr_schedule builds 3 schedules");
    switch (s) {
    case FE_SCHEDULE_COSINE:
        return ir_mul_scalar(g, ir_add_scalar(g, ir_cos(g, ir_mul_scalar(g, progress, M_PI)), 1.0), 0.5);
    case FE_SCHEDULE_LINEAR: return ir_add_scalar(g, ir_unary(g, IR_NEG, progress), 1.0);
    case FE_SCHEDULE_CONSTANT:   /* no decay: ir_lr_schedule does not ask */
    default: MOEC_UNREACHABLE();
    }
}

int ir_lr_schedule(ir_graph *g, int step, const fe_train *t)
{
    double warm = (double)t->warmup, rest = (double)(t->steps - t->warmup);
    int decay = ir_scalar(g, t->lr);
    if (t->schedule != FE_SCHEDULE_CONSTANT) {
        int progress = clamp01(g, ir_mul_scalar(g, ir_add_scalar(g, step, -warm), 1.0 / (rest > 1 ? rest : 1)));
        int frac = decay_frac(g, progress, t->schedule);
        decay = ir_add_scalar(g, ir_mul_scalar(g, frac, t->lr - t->min_lr), t->min_lr);
    }
    if (t->warmup <= 0) return decay;
    int ramp = ir_mul_scalar(g, ir_add_scalar(g, step, 1.0), t->lr / warm);
    return ir_where(g, ir_compare(g, IR_CMP_LT, step, ir_scalar(g, warm)), ramp, decay);
}

/* sqrt(sum over trainable params of sum(g^2)) */
static int global_norm(ir_graph *g, const fe_model *m, const int *grad)
{
    int acc = ir_scalar(g, 0.0);
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].trainable)
            acc = ir_binary(g, IR_ADD, acc, ir_sum_all(g, ir_binary(g, IR_MUL, grad[i], grad[i])));
    return ir_unary(g, IR_SQRT, acc);
}

/* 1 - beta^(step+1), with beta^t = exp(t ln beta) (beta = 0 gives exp(-inf) = 0). */
static int bias_correction(ir_graph *g, int t, double beta)
{
    return ir_add_scalar(g, ir_unary(g, IR_NEG, ir_unary(g, IR_EXP, ir_mul_scalar(g, t, log(beta)))), 1.0);
}

/* One parameter's AdamW update with gradient gr (already clipped). */
static void adamw_param(ir_graph *g, const fe_train *t, int i, int p, int gr, int lr, int bc1, int bc2,
                        ir_step_graph *o)
{
    int m_old = ir_mul_scalar(g, o->m_in[i], t->beta1);
    int m = ir_binary(g, IR_ADD, m_old, ir_mul_scalar(g, gr, 1.0 - t->beta1));
    int v_old = ir_mul_scalar(g, o->v_in[i], t->beta2);
    int v = ir_binary(g, IR_ADD, v_old, ir_mul_scalar(g, ir_binary(g, IR_MUL, gr, gr), 1.0 - t->beta2));
    int mhat = ir_binary(g, IR_DIV, m, bc1), vhat = ir_binary(g, IR_DIV, v, bc2);
    int upd = ir_binary(g, IR_DIV, mhat, ir_add_scalar(g, ir_unary(g, IR_SQRT, vhat), t->eps));
    int decayed = ir_binary(g, IR_MUL, p,
                            ir_add_scalar(g, ir_mul_scalar(g, lr, -t->weight_decay), 1.0));
    o->new_param[i] = ir_binary(g, IR_SUB, decayed, ir_binary(g, IR_MUL, lr, upd));
    o->new_m[i] = m;
    o->new_v[i] = v;
}

static int build_optimizer(ir_graph *g, const fe_model *m, ir_step_graph *o)
{
    const fe_train *t = &m->train;
    int n = m->n_params;
    int step = o->fwd.step;
    o->grad_norm = global_norm(g, m, o->grad);
    o->clip_scale = ir_scalar(g, 1.0);
    if (t->clip > 0) {
        int clip = ir_scalar(g, t->clip);
        int ratio = ir_binary(g, IR_DIV, clip, ir_add_scalar(g, o->grad_norm, 1e-6));
        o->clip_scale = ir_min(g, o->clip_scale, ratio);
    }
    o->lr = ir_lr_schedule(g, step, t);
    int tt = ir_add_scalar(g, step, 1.0);
    int bc1 = bias_correction(g, tt, t->beta1), bc2 = bias_correction(g, tt, t->beta2);
    for (int i = 0; i < n; i++) {
        const fe_param *p = &m->params[i];
        o->m_in[i] = o->v_in[i] = o->new_m[i] = o->new_v[i] = -1;
        o->new_param[i] = o->fwd.params[i];
        if (!p->trainable) continue;
        ir_set_origin(g, p->loc, "adamw");
        char *mn = moec_arena_printf(&g->arena, "adam.m.%s", p->name);
        char *vn = moec_arena_printf(&g->arena, "adam.v.%s", p->name);
        if (!mn || !vn) return -1;
        o->m_in[i] = ir_param(g, n + i, mn, param_shape(p));
        o->v_in[i] = ir_param(g, 2 * n + i, vn, param_shape(p));
        int gr = ir_binary(g, IR_MUL, o->grad[i], o->clip_scale);
        adamw_param(g, t, i, o->fwd.params[i], gr, o->lr, bc1, bc2, o);
        if (o->new_param[i] < 0) return -1;
    }
    return 0;
}

static int *arena_ints(ir_graph *g, int n)
{
    return moec_arena_alloc(&g->arena, sizeof(int) * (size_t)(n + 1));
}

int ir_step_grad(ir_graph *g, const fe_model *m, ir_step_graph *s)
{
    int n = m->n_params;
    s->optimizer = false;
    s->grad = arena_ints(g, n);
    int *wrt = arena_ints(g, n);
    if (!s->grad || !wrt) return -1;
    memcpy(wrt, s->fwd.params, sizeof(int) * (size_t)n);
    ir_set_origin(g, (moec_loc){0}, "grad");
    if (ir_grad(g, s->fwd.loss, wrt, n, s->grad) < 0) return -1;
    for (int i = 0; i < n; i++)       /* frozen: exactly zero, whatever the graph says */
        if (!m->params[i].trainable) s->grad[i] = ir_const(g, 0.0, param_shape(&m->params[i]));
    return 0;
}

int ir_step_optimizer(ir_graph *g, const fe_model *m, ir_step_graph *s)
{
    int n = m->n_params;
    s->optimizer = true;
    s->m_in = arena_ints(g, n);
    s->v_in = arena_ints(g, n);
    s->new_param = arena_ints(g, n);
    s->new_m = arena_ints(g, n);
    s->new_v = arena_ints(g, n);
    if (!s->m_in || !s->v_in || !s->new_param || !s->new_m || !s->new_v) return -1;
    return build_optimizer(g, m, s);
}

int ir_step_build(ir_graph *g, const fe_model *m, const ir_lower_options *opt, bool optimizer,
                  ir_step_graph *out)
{
    memset(out, 0, sizeof *out);
    if (ir_lower(g, m, opt, &out->fwd) < 0 || ir_step_grad(g, m, out) < 0) return -1;
    return optimizer ? ir_step_optimizer(g, m, out) : 0;
}
