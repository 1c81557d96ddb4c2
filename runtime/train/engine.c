/* runtime/train/engine.c -- the training and evaluation steps on the
 * compiled CPU backend or the interpreter (runtime/train/engine.h). */
#include "runtime/train/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/step_values.h"
#include "runtime/train/adamw.h"

/* ---- host state ---- */

static int alloc_state(rt_engine *e)
{
    const fe_model *m = e->model;
    if (rt_weights_alloc(&e->params, m, e->diag) < 0 || rt_weights_alloc(&e->m, m, e->diag) < 0 ||
        rt_weights_alloc(&e->v, m, e->diag) < 0)
        return -1;
    if (e->host_optimizer && rt_weights_alloc(&e->grad, m, e->diag) < 0) return -1;
    int64_t most = 1;
    for (int i = 0; i < e->params.n; i++) most = e->params.numel[i] > most ? e->params.numel[i] : most;
    int64_t bt = e->opt.batch * e->opt.seq;
    most = bt > most ? bt : most;
    if (!(e->scratch = malloc(sizeof(double) * (size_t)most))) return moec_error(e->diag, "out of memory");
    return 0;
}

/* ---- the compiled CPU steps ---- */

static int cpu_build(rt_engine *e)
{
    rt_pipeline_options po = { .model = e->opt.model_name, .model_text = e->opt.model_text, .sets = e->opt.sets,
                               .n_sets = e->opt.n_sets, .no_warnings = true, .batch = e->opt.batch,
                               .seq = e->opt.seq, .step = e->host_optimizer ? RT_STEP_GRAD : RT_STEP_TRAIN,
                               .keep_stats = e->opt.keep_stats };
    rt_cpu_step_options co = { .threads = e->opt.threads };
    e->have_train = true;
    if (rt_cpu_step_build(&e->train, &po, &co) < 0) return -1;
    e->arena_bytes = rt_exec_arena_bytes(e->train.exec);
    if (!e->opt.eval) return 0;
    po.step = RT_STEP_EVAL;
    e->have_eval = true;
    if (rt_cpu_step_build(&e->eval, &po, &co) < 0) return -1;
    e->arena_bytes += rt_exec_arena_bytes(e->eval.exec);
    return 0;
}

/* Copies one host tensor into buffer `name` of s (absent: skipped). */
static int cpu_put(rt_cpu_step *s, const char *name, const float *src, int64_t numel)
{
    int b = rt_cpu_step_find(s, name);
    return b < 0 ? 0 : rt_exec_write(s->exec, b, src, numel);
}

static int cpu_get(const rt_cpu_step *s, const char *name, float *dst, int64_t numel)
{
    int b = rt_cpu_step_find(s, name);
    return b < 0 ? 0 : rt_exec_read(s->exec, b, dst, numel);
}

/* Every parameter (and moment, when `moments`) between the host and s. */
static int cpu_transfer(rt_engine *e, rt_cpu_step *s, bool up, bool moments)
{
    char name[512];
    for (int i = 0; i < e->params.n; i++) {
        const char *pn = e->model->params[i].name;
        int64_t n = e->params.numel[i];
        int rc = up ? cpu_put(s, pn, e->params.data[i], n) : cpu_get(s, pn, e->params.data[i], n);
        if (rc == 0 && moments) {
            snprintf(name, sizeof name, "adam.m.%s", pn);
            rc = up ? cpu_put(s, name, e->m.data[i], n) : cpu_get(s, name, e->m.data[i], n);
            snprintf(name, sizeof name, "adam.v.%s", pn);
            if (rc == 0) rc = up ? cpu_put(s, name, e->v.data[i], n) : cpu_get(s, name, e->v.data[i], n);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

static int cpu_inputs(rt_cpu_step *s, const rt_batch *b, int64_t step)
{
    double st = (double)step;
    int64_t n = b->batch * b->seq;
    return rt_cpu_step_set(s, "tokens", b->tokens, n) < 0 || rt_cpu_step_set(s, "targets", b->targets, n) < 0 ||
           rt_cpu_step_set(s, "domain", b->domain, b->batch) < 0 || rt_cpu_step_set(s, "step", &st, 1) < 0 ? -1 : 0;
}

static double cpu_scalar(const rt_cpu_step *s, const char *name)
{
    double v = 0;
    return rt_cpu_step_get(s, name, &v, 1) == 0 ? v : 0.0;
}

static void cpu_losses(const rt_cpu_step *s, rt_step_result *r, double w)
{
    r->loss += w * cpu_scalar(s, "loss");
    r->lm_loss += w * cpu_scalar(s, "lm_loss");
    r->lb_loss += w * cpu_scalar(s, "lb_loss");
    r->z_loss += w * cpu_scalar(s, "z_loss");
}

static int world(const rt_engine *e)
{
    return e->opt.comm ? e->opt.comm->size : 1;
}

/* The host optimizer: gradients of each micro-batch summed into e->grad,
 * summed over the ranks, averaged over every micro-batch of every rank,
 * then rt_adamw_step. The losses are weighed by 1 / (accum * ranks) before
 * their sum over the ranks, so that one process with accum = k * n and n
 * ranks with accum = k add the same terms. */
static int cpu_train_accum(rt_engine *e, rt_batch *const *micro, int64_t step, rt_step_result *r,
                           rt_engine_hook *hook, void *ctx)
{
    if (cpu_transfer(e, &e->train, true, false) < 0) return -1;
    memset(e->grad.memory, 0, sizeof(float) * (size_t)e->grad.stored);
    double w = 1.0 / (double)(e->opt.accum * world(e));
    char name[512];
    for (int64_t k = 0; k < e->opt.accum; k++) {
        if (cpu_inputs(&e->train, micro[k], step) < 0 || rt_cpu_step_run(&e->train) < 0) return -1;
        cpu_losses(&e->train, r, w);
        for (int i = 0; i < e->grad.n; i++) {
            snprintf(name, sizeof name, "grad.%s", e->model->params[i].name);
            int b = rt_cpu_step_find(&e->train, name);
            if (b < 0 || !e->model->params[i].trainable) continue;
            const float *g = rt_exec_data(e->train.exec, b);
            float *acc = e->grad.data[i];
            for (int64_t j = 0; j < e->grad.numel[i]; j++) acc[j] += g[j];
        }
        if (hook && hook(ctx, (int)k) < 0) return -1;
    }
    if (world(e) > 1) {
        double losses[4] = { r->loss, r->lm_loss, r->lb_loss, r->z_loss };
        if (rt_comm_sum_floats(e->opt.comm, e->grad.memory, (size_t)e->grad.stored, e->diag) < 0 ||
            rt_comm_sum_doubles(e->opt.comm, losses, 4, e->diag) < 0)
            return -1;
        r->loss = losses[0], r->lm_loss = losses[1], r->lb_loss = losses[2], r->z_loss = losses[3];
    }
    for (int i = 0; i < e->grad.n; i++)
        for (int64_t j = 0; j < e->grad.numel[i]; j++) e->grad.data[i][j] *= (float)w;
    rt_adamw_step(&e->model->train, step, &e->grad, &e->params, &e->m, &e->v, e->train.pool, &r->lr, &r->grad_norm);
    return 0;
}

static int cpu_train(rt_engine *e, rt_batch *const *micro, int64_t step, rt_step_result *r, rt_engine_hook *hook,
                     void *ctx)
{
    if (e->host_optimizer) return cpu_train_accum(e, micro, step, r, hook, ctx);
    if (cpu_inputs(&e->train, micro[0], step) < 0 || rt_cpu_step_run(&e->train) < 0) return -1;
    e->device_newer = true;
    cpu_losses(&e->train, r, 1.0);
    r->lr = cpu_scalar(&e->train, "lr");
    r->grad_norm = cpu_scalar(&e->train, "grad_norm");
    return hook ? hook(ctx, 0) : 0;
}

/* ---- the interpreter ---- */

static int interp_build(rt_engine *e)
{
    rt_frontend *fe = &e->fe;
    e->have_fe = true;
    if (rt_frontend_parse_text(fe, e->opt.model_name, e->opt.model_text, 0, true, stderr) != 0 ||
        rt_frontend_finish(fe, e->opt.sets, e->opt.n_sets) != 0)
        return -1;
    const fe_model *m = &fe->model;
    if (ir_graph_init(&e->tg) < 0) return moec_error(e->diag, "out of memory");
    e->have_tg = true;
    e->tg.diag = e->diag;
    ir_lower_options lo = { e->opt.batch, e->opt.seq, true, IR_MOE_SPARSE, e->opt.keep_stats };
    if (ir_step_build(&e->tg, m, &lo, true, &e->ts) < 0) return -1;
    if (!(e->ti = ir_interp_new(&e->tg, IR_PREC_F64))) return moec_error(e->diag, "out of memory");
    if (!e->opt.eval) return 0;
    if (ir_graph_init(&e->eg) < 0) return moec_error(e->diag, "out of memory");
    e->have_eg = true;
    e->eg.diag = e->diag;
    lo.training = false;
    if (ir_lower(&e->eg, m, &lo, &e->el) < 0) return -1;
    if (!(e->ei = ir_interp_new(&e->eg, IR_PREC_F64))) return moec_error(e->diag, "out of memory");
    return 0;
}

static int bind_floats(rt_engine *e, ir_interp *it, int node, const float *src, int64_t n)
{
    for (int64_t j = 0; j < n; j++) e->scratch[j] = src[j];
    return ir_interp_bind(it, node, e->scratch);
}

static int interp_inputs(ir_interp *it, const ir_lowered *l, const rt_batch *b, int64_t step)
{
    double st = (double)step;
    return ir_interp_bind(it, l->tokens, b->tokens) | ir_interp_bind(it, l->targets, b->targets) |
           ir_interp_bind(it, l->domain, b->domain) | ir_interp_bind(it, l->step, &st);
}

static double node_scalar(ir_interp *it, int node)
{
    const double *v = node >= 0 ? ir_interp_value(it, node) : NULL;
    return v ? v[0] : 0.0;
}

static void interp_losses(ir_interp *it, const ir_lowered *l, rt_step_result *r)
{
    r->loss = node_scalar(it, l->loss);
    r->lm_loss = node_scalar(it, l->lm_loss);
    r->lb_loss = node_scalar(it, l->lb_loss);
    r->z_loss = node_scalar(it, l->z_loss);
}

static int copy_out(ir_interp *it, int node, float *dst, int64_t n)
{
    const double *v = ir_interp_value(it, node);
    if (!v) return -1;
    for (int64_t j = 0; j < n; j++) dst[j] = (float)v[j];
    return 0;
}

static int interp_train(rt_engine *e, rt_batch *const *micro, int64_t step, rt_step_result *r, rt_engine_hook *hook,
                        void *ctx)
{
    const ir_step_graph *s = &e->ts;
    int rc = interp_inputs(e->ti, &s->fwd, micro[0], step);
    for (int i = 0; rc == 0 && i < e->params.n; i++) {
        int64_t n = e->params.numel[i];
        rc = bind_floats(e, e->ti, s->fwd.params[i], e->params.data[i], n);
        if (rc == 0 && s->m_in[i] >= 0) rc = bind_floats(e, e->ti, s->m_in[i], e->m.data[i], n);
        if (rc == 0 && s->v_in[i] >= 0) rc = bind_floats(e, e->ti, s->v_in[i], e->v.data[i], n);
    }
    if (rc != 0) return moec_error(e->diag, "the interpreter refused an input");
    if (ir_interp_run(e->ti, -1, e->diag) < 0) return -1;
    interp_losses(e->ti, &s->fwd, r);
    r->lr = node_scalar(e->ti, s->lr);
    r->grad_norm = node_scalar(e->ti, s->grad_norm);
    for (int i = 0; i < e->params.n; i++) {
        int64_t n = e->params.numel[i];
        if (copy_out(e->ti, s->new_param[i], e->params.data[i], n) < 0 ||
            (s->new_m[i] >= 0 && copy_out(e->ti, s->new_m[i], e->m.data[i], n) < 0) ||
            (s->new_v[i] >= 0 && copy_out(e->ti, s->new_v[i], e->v.data[i], n) < 0))
            return moec_error(e->diag, "the interpreter computed no update of %s", e->model->params[i].name);
    }
    return hook ? hook(ctx, 0) : 0;
}

/* ---- the interface ---- */

int rt_engine_build(rt_engine *e, const rt_engine_options *o, const fe_model *m, moec_diag *diag)
{
    memset(e, 0, sizeof *e);
    e->opt = *o;
    e->model = m;
    e->diag = diag;
    if (o->backend == RT_BACKEND_INTERP && o->accum > 1)
        return moec_error(diag, "accum > 1 needs --backend cpu (the interpreter runs whole steps)");
    if (o->backend == RT_BACKEND_INTERP && world(e) > 1)
        return moec_error(diag, "training across %d processes needs --backend cpu (the interpreter runs whole steps)",
                          world(e));
    e->host_optimizer = o->backend == RT_BACKEND_CPU && (o->accum > 1 || world(e) > 1);
    if (alloc_state(e) < 0) return -1;
    return o->backend == RT_BACKEND_CPU ? cpu_build(e) : interp_build(e);
}

void rt_engine_free(rt_engine *e)
{
    if (e->have_train) rt_cpu_step_free(&e->train);
    if (e->have_eval) rt_cpu_step_free(&e->eval);
    ir_interp_free(e->ti);
    ir_interp_free(e->ei);
    if (e->have_tg) ir_graph_free(&e->tg);
    if (e->have_eg) ir_graph_free(&e->eg);
    if (e->have_fe) rt_frontend_free(&e->fe);
    rt_weights_free(&e->params);
    rt_weights_free(&e->m);
    rt_weights_free(&e->v);
    rt_weights_free(&e->grad);
    free(e->scratch);
    memset(e, 0, sizeof *e);
}

int rt_engine_upload(rt_engine *e)
{
    if (e->opt.backend != RT_BACKEND_CPU || e->host_optimizer) return 0;   /* the host is the master */
    e->device_newer = false;
    return cpu_transfer(e, &e->train, true, true);
}

int rt_engine_download(rt_engine *e)
{
    if (!e->device_newer) return 0;
    e->device_newer = false;
    return cpu_transfer(e, &e->train, false, true);
}

int rt_engine_train(rt_engine *e, rt_batch *const *micro, int64_t step, rt_step_result *r, rt_engine_hook *hook,
                    void *ctx)
{
    memset(r, 0, sizeof *r);
    return e->opt.backend == RT_BACKEND_CPU ? cpu_train(e, micro, step, r, hook, ctx)
                                            : interp_train(e, micro, step, r, hook, ctx);
}

int rt_engine_eval_begin(rt_engine *e)
{
    if (e->opt.backend == RT_BACKEND_INTERP) {
        for (int i = 0; i < e->params.n; i++)
            if (bind_floats(e, e->ei, e->el.params[i], e->params.data[i], e->params.numel[i]) != 0)
                return moec_error(e->diag, "the interpreter refused a parameter");
        return 0;
    }
    if (!e->device_newer) return cpu_transfer(e, &e->eval, true, false);
    for (int i = 0; i < e->params.n; i++) {      /* program to program, no host copy */
        const char *pn = e->model->params[i].name;
        int src = rt_cpu_step_find(&e->train, pn), dst = rt_cpu_step_find(&e->eval, pn);
        if (src < 0 || dst < 0) continue;
        if (rt_exec_write(e->eval.exec, dst, rt_exec_data(e->train.exec, src), e->params.numel[i]) < 0) return -1;
    }
    return 0;
}

int rt_engine_eval_batch(rt_engine *e, const rt_batch *b, int64_t step, rt_step_result *r)
{
    memset(r, 0, sizeof *r);
    if (e->opt.backend == RT_BACKEND_INTERP) {
        if (interp_inputs(e->ei, &e->el, b, step) != 0) return moec_error(e->diag, "the interpreter refused an input");
        if (ir_interp_run(e->ei, -1, e->diag) < 0) return -1;
        interp_losses(e->ei, &e->el, r);
        return 0;
    }
    if (cpu_inputs(&e->eval, b, step) < 0 || rt_cpu_step_run(&e->eval) < 0) return -1;
    cpu_losses(&e->eval, r, 1.0);
    return 0;
}

int rt_engine_read(rt_engine *e, bool eval, const char *name, double *out, int64_t numel)
{
    if (e->opt.backend == RT_BACKEND_CPU) return rt_cpu_step_get(eval ? &e->eval : &e->train, name, out, numel);
    ir_interp *it = eval ? e->ei : e->ti;
    int node = ir_step_value_node(eval ? &e->el : &e->ts.fwd, name);
    const ir_graph *g = eval ? &e->eg : &e->tg;
    const double *v = node >= 0 ? ir_interp_value(it, node) : NULL;
    if (!v || ir_shape_numel(&g->nodes[node].shape) != numel) return -1;
    memcpy(out, v, sizeof(double) * (size_t)numel);
    return 0;
}

const char *rt_engine_first_nonfinite(const rt_engine *e)
{
    for (int i = 0; i < e->params.n; i++)
        for (int64_t j = 0; j < e->params.numel[i]; j++)
            if (!isfinite(e->params.data[i][j])) return e->model->params[i].name;
    return NULL;
}
