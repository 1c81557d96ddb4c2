/* runtime/train/adamw.c -- clipping, the schedule and AdamW on the host
 * (runtime/train/adamw.h), the formulas of ir/step.c. */
#include "runtime/train/adamw.h"

#include <math.h>

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

double rt_grad_norm(const rt_weights *g)
{
    double acc = 0;
    for (int i = 0; i < g->n; i++) {
        if (!g->model->params[i].trainable) continue;
        for (int64_t j = 0; j < g->numel[i]; j++) acc += (double)g->data[i][j] * g->data[i][j];
    }
    return sqrt(acc);
}

void rt_adamw_step(const fe_train *t, int64_t step, const rt_weights *g, rt_weights *p, rt_weights *m,
                   rt_weights *v, double *lr_out, double *norm_out)
{
    double norm = rt_grad_norm(g), scale = 1.0;
    if (t->clip > 0 && t->clip / (norm + 1e-6) < 1.0) scale = t->clip / (norm + 1e-6);
    double lr = rt_lr_at(t, step), tt = (double)step + 1.0;
    double bc1 = 1.0 - exp(tt * log(t->beta1)), bc2 = 1.0 - exp(tt * log(t->beta2));
    for (int i = 0; i < g->n; i++) {
        if (!g->model->params[i].trainable) continue;
        float *pw = p->data[i], *mw = m->data[i], *vw = v->data[i];
        const float *gw = g->data[i];
        for (int64_t j = 0; j < g->numel[i]; j++) {
            double gr = (double)gw[j] * scale;
            double mj = (double)mw[j] * t->beta1 + gr * (1.0 - t->beta1);
            double vj = (double)vw[j] * t->beta2 + gr * gr * (1.0 - t->beta2);
            double upd = (mj / bc1) / (sqrt(vj / bc2) + t->eps);
            pw[j] = (float)((double)pw[j] * (1.0 - lr * t->weight_decay) - lr * upd);
            mw[j] = (float)mj;
            vw[j] = (float)vj;
        }
    }
    *lr_out = lr;
    *norm_out = norm;
}
