/* runtime/train/adamw.c -- clipping, the schedule and AdamW on the host
 * (runtime/train/adamw.h), the formulas of ir/step.c. */
#include "runtime/train/adamw.h"

#include <math.h>
#include <stdlib.h>

double rt_lr_at(const fe_train *t, int64_t step)
{
    double s = (double)step, warm = (double)t->warmup, rest = (double)(t->steps - t->warmup);
    if (t->warmup > 0 && s < warm) return (s + 1.0) * (t->lr / warm);
    if (t->schedule == FE_SCHEDULE_CONSTANT) return t->lr;
    double progress = (s - warm) * (1.0 / (rest > 1 ? rest : 1));
    progress = progress < 0 ? 0 : progress > 1 ? 1 : progress;
    double frac = t->schedule == FE_SCHEDULE_COSINE ? (cos(progress * M_PI) + 1.0) * 0.5 : 1.0 - progress;
    return frac * (t->lr - t->min_lr) + t->min_lr;
}

/* The trainable elements of the weights as one range [0, n): chunk [begin,
 * end) of it visits, per parameter i it meets, elements [lo, hi) of i. */
typedef void span_fn(void *ctx, int i, int64_t lo, int64_t hi, int worker);

typedef struct spans {
    const rt_weights *w;
    span_fn *fn;
    void *ctx;
} spans;

static void visit(void *arg, int64_t begin, int64_t end, int worker)
{
    const spans *sp = arg;
    const rt_weights *w = sp->w;
    int64_t start = 0;
    for (int i = 0; i < w->n && start < end; i++) {
        if (!w->model->params[i].trainable) continue;
        int64_t lo = begin > start ? begin - start : 0, hi = end - start < w->numel[i] ? end - start : w->numel[i];
        if (lo < hi) sp->fn(sp->ctx, i, lo, hi, worker);
        start += w->numel[i];
    }
}

static int64_t trainable_count(const rt_weights *w)
{
    int64_t n = 0;
    for (int i = 0; i < w->n; i++) n += w->model->params[i].trainable ? w->numel[i] : 0;
    return n;
}

/* Over the trainable elements, split among the pool's threads (NULL: one). */
static void over_elements(rt_pool *pool, const rt_weights *w, span_fn *fn, void *ctx)
{
    spans sp = { w, fn, ctx };
    rt_pool_run_grain(pool, trainable_count(w), 1 << 16, visit, &sp);
}

typedef struct norm_job {
    const rt_weights *g;
    double partial[RT_POOL_MAX_THREADS];   /* per worker: its chunk's sum of squares */
} norm_job;

static void norm_span(void *ctx, int i, int64_t lo, int64_t hi, int worker)
{
    norm_job *j = ctx;
    const float *g = j->g->data[i];
    double acc = j->partial[worker];
    for (int64_t e = lo; e < hi; e++) acc += (double)g[e] * g[e];
    j->partial[worker] = acc;
}

double rt_grad_norm(const rt_weights *g, rt_pool *pool)
{
    norm_job *j = calloc(1, sizeof *j);
    if (!j) {   /* no memory for the partial sums: one thread, no table */
        double acc = 0;
        for (int i = 0; i < g->n; i++)
            for (int64_t e = 0; g->model->params[i].trainable && e < g->numel[i]; e++)
                acc += (double)g->data[i][e] * g->data[i][e];
        return sqrt(acc);
    }
    j->g = g;
    over_elements(pool, g, norm_span, j);
    double acc = 0;
    for (int t = 0; t < RT_POOL_MAX_THREADS; t++) acc += j->partial[t];   /* in worker order: deterministic */
    free(j);
    return sqrt(acc);
}

typedef struct update_job {
    const fe_train *t;
    const rt_weights *g;
    rt_weights *p, *m, *v;
    double scale, lr, bc1, bc2;
} update_job;

static void update_span(void *ctx, int i, int64_t lo, int64_t hi, int worker)
{
    (void)worker;
    const update_job *j = ctx;
    const fe_train *t = j->t;
    float *pw = j->p->data[i], *mw = j->m->data[i], *vw = j->v->data[i];
    const float *gw = j->g->data[i];
    for (int64_t e = lo; e < hi; e++) {
        double gr = (double)gw[e] * j->scale;
        double me = (double)mw[e] * t->beta1 + gr * (1.0 - t->beta1);
        double ve = (double)vw[e] * t->beta2 + gr * gr * (1.0 - t->beta2);
        double upd = (me / j->bc1) / (sqrt(ve / j->bc2) + t->eps);
        pw[e] = (float)((double)pw[e] * (1.0 - j->lr * t->weight_decay) - j->lr * upd);
        mw[e] = (float)me;
        vw[e] = (float)ve;
    }
}

void rt_adamw_step(const fe_train *t, int64_t step, const rt_weights *g, rt_weights *p, rt_weights *m,
                   rt_weights *v, rt_pool *pool, double *lr_out, double *norm_out)
{
    double norm = rt_grad_norm(g, pool), scale = 1.0;
    if (t->clip > 0 && t->clip / (norm + 1e-6) < 1.0) scale = t->clip / (norm + 1e-6);
    double lr = rt_lr_at(t, step), tt = (double)step + 1.0;
    update_job j = { t, g, p, m, v, scale, lr, 1.0 - exp(tt * log(t->beta1)), 1.0 - exp(tt * log(t->beta2)) };
    over_elements(pool, g, update_span, &j);
    *lr_out = lr;
    *norm_out = norm;
}
