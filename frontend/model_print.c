/* frontend/model_print.c -- `moec ir --stage elab`: the elaborated model as text.
 * Deterministic and readable: the model's name, resolved params, parameter
 * tensors one a line, routers with every setting, forward nodes one a line
 * (expert 0 of each MoE in full, the others summarised), the loss, the train
 * settings, and the parameter count. Reads fe_model only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"

static void print_shape(FILE *out, const fe_shape *s)
{
    fputc('[', out);
    for (int i = 0; i < s->rank; i++) {
        if (i) fputs(", ", out);
        if (s->dim[i] == FE_DIM_B) fputc('B', out);
        else if (s->dim[i] == FE_DIM_T) fputc('T', out);
        else fprintf(out, "%" PRId64, s->dim[i]);
    }
    fputc(']', out);
}

/* 256692480 -> "256,692,480" */
static void print_thousands(FILE *out, int64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRId64, n);
    for (int i = 0; i < len; i++) {
        fputc(digits[i], out);
        int left = len - 1 - i;
        if (left > 0 && left % 3 == 0 && digits[i] != '-') fputc(',', out);
    }
}

int64_t fe_model_param_count(const fe_model *m)
{
    int64_t total = 0;
    for (int i = 0; i < m->n_params; i++) {
        int64_t n = 1;
        for (int k = 0; k < m->params[i].shape.rank; k++)
            if (__builtin_mul_overflow(n, m->params[i].shape.dim[k], &n)) return INT64_MAX;
        if (__builtin_add_overflow(total, n, &total)) return INT64_MAX;
    }
    return total;
}

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void print_float(FILE *out, double f)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", f);
    if (strtod(buf, NULL) != f) snprintf(buf, sizeof buf, "%.17g", f);
    fprintf(out, "%s%s\n", buf, strpbrk(buf, ".eEn") ? "" : ".0");
}

static void print_values(FILE *out, const fe_model *m)
{
    fputs("\nparams:\n", out);
    for (int i = 0; i < m->n_values; i++) {
        const fe_value_param *v = &m->values[i];
        fprintf(out, "  %s = ", v->name);
        switch (v->type) {
        case FE_PARAM_INT: fprintf(out, "%" PRId64 "\n", v->i); break;
        case FE_PARAM_FLOAT: print_float(out, v->f); break;
        case FE_PARAM_BOOL: fprintf(out, "%s\n", v->b ? "true" : "false"); break;
        case FE_PARAM_STRING: fprintf(out, "\"%s\"\n", v->s); break;
        }
    }
}

static void print_params(FILE *out, const fe_model *m)
{
    int w = 0;
    for (int i = 0; i < m->n_params; i++) {
        int n = (int)strlen(m->params[i].name);
        if (n > w) w = n;
    }
    fprintf(out, "\nparameters (%d tensors):\n", m->n_params);
    for (int i = 0; i < m->n_params; i++) {
        const fe_param *p = &m->params[i];
        fprintf(out, "  %-*s  ", w, p->name);
        print_shape(out, &p->shape);
        fprintf(out, "  %s", fe_init_kind_names[p->init]);
        if (p->init == FE_INIT_NORMAL) fprintf(out, "(%.6g)", p->init_std);
        if (p->residual) fputs("  residual", out);
        if (p->router >= 0) fprintf(out, "  router %s", m->routers[p->router].name);
        if (!p->trainable) fputs("  (frozen)", out);
        if (p->upcycle_from) fprintf(out, "  upcycle from %s", p->upcycle_from);
        fputc('\n', out);
    }
}

static void print_router(FILE *out, const fe_router *r)
{
    const char *unit = fe_routing_unit_names[r->unit];
    fprintf(out, "  %s = %s(", r->name, fe_router_kind_names[r->kind]);
    _Static_assert(FE_ROUTER_KIND_COUNT == 6, "print_router prints the settings of 6 router kinds");
    switch (r->kind) {
    case FE_ROUTER_TOPK:
        fprintf(out, "k = %d, straight_through = %s, renormalize = %s, noise_std = %g, "
                "noise_anneal = %g, capacity_factor = %g, unit = \"%s\", frozen = %s", r->k,
                r->straight_through ? "true" : "false", r->renormalize ? "true" : "false",
                r->noise_std, r->noise_anneal, r->capacity_factor, unit, r->frozen ? "true" : "false");
        break;
    case FE_ROUTER_NOISY_TOPK:
        fprintf(out, "k = %d, capacity_factor = %g, unit = \"%s\", frozen = %s", r->k, r->capacity_factor,
                unit, r->frozen ? "true" : "false");
        break;
    case FE_ROUTER_EXPERT_CHOICE: fprintf(out, "capacity_factor = %g", r->capacity_factor); break;
    case FE_ROUTER_RANDOM:
    case FE_ROUTER_HASH:
    case FE_ROUTER_LABEL: fprintf(out, "k = %d", r->k); break;
    default: MOEC_UNREACHABLE();
    }
    fprintf(out, ")  gate init normal(%g)  used by %d moe layer%s\n", r->init_std, r->n_layers,
            r->n_layers == 1 ? "" : "s");
}

static void print_node(FILE *out, const fe_model *m, int i)
{
    const fe_node *n = &m->nodes[i];
    fprintf(out, "  %s%%%d = %s", n->expert_of >= 0 ? "  " : "", i, fe_node_op_names[n->op]);
    for (int k = 0; k < n->n_in; k++) fprintf(out, " %%%d", n->in[k]);
    switch (n->op) {
    case FE_NODE_LAYERNORM: fprintf(out, " eps=%g", n->attr_f[0]); break;
    case FE_NODE_DROPOUT: fprintf(out, " p=%g", n->attr_f[0]); break;
    case FE_NODE_SCALE: case FE_NODE_OFFSET: fprintf(out, " %g", n->attr_f[0]); break;
    case FE_NODE_SINUSOIDAL: fprintf(out, " d=%" PRId64, n->attr_i[0]); break;
    case FE_NODE_ATTENTION: fprintf(out, " heads=%" PRId64 " dropout=%g", n->attr_i[0], n->attr_f[0]); break;
    case FE_NODE_LINEAR: if (n->param[1] < 0) fputs(" bias=false", out); break;
    case FE_NODE_LM_HEAD: fprintf(out, " weight=%s", m->params[n->param[0]].name); break;
    case FE_NODE_MOE:
        fprintf(out, " router=%s experts=%" PRId64, m->routers[n->attr_i[0]].name, n->attr_i[1]);
        break;
    default: break;
    }
    fputs(" -> ", out);
    print_shape(out, &n->shape);
    if (n->scope && *n->scope) fprintf(out, "  %s", n->scope);
    if (n->op == FE_NODE_EXPERT_INPUT) fprintf(out, "  (expert of %%%d)", n->expert_of);
    if (n->loc.line > 0) fprintf(out, "  @%d:%d", n->loc.line, n->loc.col);
    fputc('\n', out);
}

static void print_nodes(FILE *out, const fe_model *m)
{
    fprintf(out, "\nnodes (%d):\n", m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++) {
        const fe_node *n = &m->nodes[i];
        if (n->op == FE_NODE_EXPERT_INPUT && n->expert_of > i) {
            const fe_node *moe = &m->nodes[n->expert_of];
            if (moe->attr_i[1] > 1 && i == moe->experts[1].input) {
                fprintf(out, "    ... experts 1..%" PRId64 " of %%%d: %%%d .. %%%d, the ops of expert 0 "
                        "with their own parameters\n", moe->attr_i[1] - 1, n->expert_of, i, n->expert_of - 1);
                i = n->expert_of - 1;
                continue;
            }
        }
        print_node(out, m, i);
    }
    fprintf(out, "output: %%%d\n", m->output);
}

static void print_loss(FILE *out, const fe_model *m)
{
    fputs("\nloss:\n", out);
    for (int i = 0; i < m->n_loss; i++) {
        const fe_loss_term *t = &m->loss[i];
        fprintf(out, "  %g * %s(", t->coef, fe_loss_kind_names[t->kind]);
        if (t->kind == FE_LOSS_CROSS_ENTROPY) fprintf(out, "%%%d, targets)\n", t->logits);
        else fprintf(out, "%s)\n", m->routers[t->router].name);
    }
}

static void print_train(FILE *out, const fe_model *m)
{
    const fe_train *t = &m->train;
    fprintf(out, "\ntrain:\n  steps = %" PRId64 "\n  batch = %" PRId64 "\n  seq = %" PRId64 "\n",
            t->steps, t->batch, t->seq);
    fprintf(out, "  lr = %g\n  min_lr = %g\n  warmup = %" PRId64 "\n  schedule = \"%s\"\n",
            t->lr, t->min_lr, t->warmup, fe_schedule_names[t->schedule]);
    fprintf(out, "  beta1 = %g\n  beta2 = %g\n  eps = %g\n  weight_decay = %g\n  clip = %g\n",
            t->beta1, t->beta2, t->eps, t->weight_decay, t->clip);
    fprintf(out, "  eval_every = %" PRId64 "\n  eval_steps = %" PRId64 "\n  seed = %" PRId64 "\n"
            "  precision = \"%s\"\n", t->eval_every, t->eval_steps, t->seed,
            fe_precision_names[t->precision]);
    fprintf(out, "  accum = %" PRId64 "\n  checkpoint_every = %" PRId64 "\n  keep_checkpoints = %" PRId64 "\n"
            "  collapse_stop = %s\n  collapse_threshold = %g\n  collapse_patience = %" PRId64 "\n", t->accum,
            t->checkpoint_every, t->keep_checkpoints, t->collapse_stop ? "true" : "false", t->collapse_threshold,
            t->collapse_patience);
}

void fe_model_print(FILE *out, const fe_model *m)
{
    fprintf(out, "model %s\n", m->name ? m->name : "?");
    fprintf(out, "vocab %" PRId64 ", ctx %" PRId64 "%s\n", m->vocab, m->ctx, m->ctx ? "" : " (unbounded)");
    print_values(out, m);
    print_params(out, m);
    fputs("\nrouters:\n", out);
    for (int i = 0; i < m->n_routers; i++) print_router(out, &m->routers[i]);
    print_nodes(out, m);
    print_loss(out, m);
    print_train(out, m);
    fputs("\nparameters: ", out);
    print_thousands(out, fe_model_param_count(m));
    fputc('\n', out);
}
