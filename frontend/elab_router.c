/* frontend/elab_router.c -- routers, the loss and the train settings.
 * Router kinds (topk, noisy_topk, expert_choice, random, hash, label) as one
 * table of settings with defaults; the loss as a weighted sum of terms; the
 * train block and --set of train settings, checked against one table.
 * Writes fe_model routers, loss and train (doc/language.md has the tables). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "frontend/elab_internal.h"

#define REQ(n, t) { n, t, true, { .kind = EL_NONE } }
#define OPT_I(n, v) { n, ET_INT, false, { .kind = EL_INT, .i = v } }
#define OPT_F(n, v) { n, ET_FLOAT, false, { .kind = EL_FLOAT, .f = v } }
#define OPT_B(n, v) { n, ET_BOOL, false, { .kind = EL_BOOL, .b = v } }
#define OPT_S(n, v) { n, ET_STRING, false, { .kind = EL_STRING, .s = v } }

/* Reports at `loc`, or without a place when it came from the command line. */
static void report(el_ctx *c, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(el_ctx *c, moec_loc loc, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (loc.line > 0) fe_el_error(c, loc, "%s", buf);
    else moec_error(c->d, "%s", buf);
}

/* ---- routers ---- */

typedef struct router_kind {
    const char *name;
    fe_router_kind kind;
    int n_spec;
    el_argspec spec[EL_MAX_SPEC];
} router_kind;

static const router_kind KINDS[] = {
    { "topk", FE_ROUTER_TOPK, 8,
      { OPT_I("k", 1), OPT_B("straight_through", false), OPT_B("renormalize", true),
        OPT_F("noise_std", 0.0), OPT_F("noise_anneal", 0.0), OPT_F("capacity_factor", 0.0),
        OPT_S("unit", "token"), OPT_B("frozen", false) } },
    { "noisy_topk", FE_ROUTER_NOISY_TOPK, 4,
      { OPT_I("k", 2), OPT_F("capacity_factor", 0.0), OPT_S("unit", "token"), OPT_B("frozen", false) } },
    { "expert_choice", FE_ROUTER_EXPERT_CHOICE, 1, { OPT_F("capacity_factor", 2.0) } },
    { "random", FE_ROUTER_RANDOM, 1, { OPT_I("k", 1) } },
    { "hash", FE_ROUTER_HASH, 1, { OPT_I("k", 1) } },
    { "label", FE_ROUTER_LABEL, 1, { OPT_I("k", 1) } },
};
enum { N_KINDS = sizeof KINDS / sizeof KINDS[0] };

static const router_kind *find_kind(const char *name)
{
    for (int i = 0; i < N_KINDS; i++)
        if (!strcmp(KINDS[i].name, name)) return &KINDS[i];
    return NULL;
}

bool fe_el_is_router_kind(const char *name) { return find_kind(name) != NULL; }

int fe_el_router_kind_names(const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < N_KINDS && n < max; i++) out[n++] = KINDS[i].name;
    return n;
}

const char *fe_el_router_kind_name(fe_router_kind k)
{
    for (int i = 0; i < N_KINDS; i++)
        if (KINDS[i].kind == k) return KINDS[i].name;
    return "?";
}

/* Copies a bound setting into the router; false when out of range (reported). */
static bool apply_setting(el_ctx *c, fe_router *r, const char *name, el_value v, moec_loc loc)
{
    if (!strcmp(name, "k")) {
        if (v.i < 1 || v.i > 1024) { report(c, loc, "'k' must be between 1 and 1024, got %lld", (long long)v.i); return false; }
        r->k = (int)v.i;
    } else if (!strcmp(name, "straight_through")) r->straight_through = v.b;
    else if (!strcmp(name, "renormalize")) r->renormalize = v.b;
    else if (!strcmp(name, "frozen")) r->frozen = v.b;
    else if (!strcmp(name, "unit")) {
        if (strcmp(v.s, "token") && strcmp(v.s, "sequence")) {
            report(c, loc, "'unit' must be \"token\" or \"sequence\", got \"%s\"", v.s);
            return false;
        }
        r->unit = !strcmp(v.s, "token") ? FE_UNIT_TOKEN : FE_UNIT_SEQUENCE;
    } else {
        double f = v.f;
        bool anneal = !strcmp(name, "noise_anneal");
        if (f < 0.0 || (anneal && f > 1.0)) {
            report(c, loc, "'%s' must be %s, got %g", name, anneal ? "between 0 and 1" : ">= 0", f);
            return false;
        }
        if (!strcmp(name, "noise_std")) r->noise_std = f;
        else if (anneal) r->noise_anneal = f;
        else r->capacity_factor = f;
    }
    return true;
}

el_value fe_el_make_router(el_ctx *c, const fe_expr *call, const el_arg *args, int n_args)
{
    const router_kind *rk = find_kind(call->name);
    el_value v[EL_MAX_SPEC];
    moec_loc at[EL_MAX_SPEC];
    const char *what = fe_el_printf(c, "router kind '%s'", rk->name);
    if (!what || !fe_el_bind(c, what, rk->spec, rk->n_spec, args, n_args, call->loc, v, at))
        return fe_el_poison();
    fe_router r = { .name = c->router_name, .kind = rk->kind, .k = 1, .renormalize = true,
                    .init_std = 0.02, .loc = call->loc };
    if (rk->kind == FE_ROUTER_EXPERT_CHOICE) r.k = 0;
    bool ok = true;
    for (int i = 0; i < rk->n_spec; i++) ok &= apply_setting(c, &r, rk->spec[i].name, v[i], at[i]);
    if (ok && r.straight_through && r.k != 1) {
        fe_el_error(c, call->loc, "straight_through needs k = 1, got k = %d", r.k);
        ok = false;
    }
    if (ok && rk->kind == FE_ROUTER_EXPERT_CHOICE && !(r.capacity_factor > 0.0)) {
        fe_el_error(c, call->loc, "expert_choice needs capacity_factor > 0");
        ok = false;
    }
    if (!ok) return fe_el_poison();
    if (call->as) {
        fe_el_error(c, call->loc, "'as' names parameters; a router is named by its declaration");
        return fe_el_poison();
    }
    if (!fe_el_grow(c, (void **)&c->routers, &c->cap_routers, c->n_routers + 1, sizeof r))
        return fe_el_poison();
    c->routers[c->n_routers] = r;
    return (el_value){ .kind = EL_ROUTER, .router = c->n_routers++ };
}

/* ---- the loss: a sum of (coefficient * term) ---- */

static const struct { const char *name; fe_loss_kind kind; } TERMS[] = {
    { "cross_entropy", FE_LOSS_CROSS_ENTROPY }, { "load_balance", FE_LOSS_LOAD_BALANCE },
    { "z_loss", FE_LOSS_Z }, { "importance", FE_LOSS_IMPORTANCE }, { "load", FE_LOSS_LOAD },
};
enum { N_TERMS = sizeof TERMS / sizeof TERMS[0] };

static int find_term(const char *name)
{
    for (int i = 0; i < N_TERMS; i++)
        if (!strcmp(TERMS[i].name, name)) return i;
    return -1;
}

bool fe_el_is_loss_term(const char *name) { return find_term(name) >= 0; }

/* True when `e` contains a loss term in a position the loss walker accepts. */
static bool has_term(const fe_expr *e)
{
    if (e->kind == FE_EXPR_CALL) return fe_el_is_loss_term(e->name);
    if (e->kind == FE_EXPR_COND) return has_term(e->lhs) || has_term(e->rhs);
    if (e->kind != FE_EXPR_BINARY) return false;
    if (e->op == FE_OP_ADD || e->op == FE_OP_SUB) return has_term(e->lhs) || has_term(e->rhs);
    if (e->op == FE_OP_MUL) return has_term(e->lhs) || has_term(e->rhs);
    if (e->op == FE_OP_DIV) return has_term(e->lhs);
    return false;
}

/* An aux term's router: must route something and have probabilities. */
static bool aux_router_ok(el_ctx *c, const fe_expr *e, fe_loss_kind kind, int r)
{
    const fe_router *ro = &c->routers[r];
    if (kind == FE_LOSS_LOAD && ro->kind != FE_ROUTER_NOISY_TOPK) {
        fe_el_error(c, e->loc, "load(...) is Shazeer's load loss of noisy top-k routing; router "
                    "'%s' is %s", ro->name, fe_el_router_kind_name(ro->kind));
        return false;
    }
    if (ro->kind == FE_ROUTER_HASH || ro->kind == FE_ROUTER_LABEL) {
        fe_el_error(c, e->loc, "'%s' needs router probabilities; router '%s' is %s, which has none",
                    e->name, ro->name, fe_el_router_kind_name(ro->kind));
        return false;
    }
    if (ro->n_layers == 0 && c->m->output >= 0) {
        moec_warning_at(c->d, e->loc, "router '%s' is used by no moe layer; this %s term is dropped",
                      ro->name, e->name);
        return false;
    }
    return true;
}

static void add_term(el_ctx *c, const fe_expr *e, double coef)
{
    static const el_argspec CE[2] = { REQ("logits", ET_TENSOR), REQ("targets", ET_TARGETS) };
    static const el_argspec AUX[1] = { REQ("router", ET_ROUTER) };
    fe_loss_kind kind = TERMS[find_term(e->name)].kind;
    bool ce = kind == FE_LOSS_CROSS_ENTROPY;
    el_arg args[EL_MAX_ARGS];
    el_value v[2];
    moec_loc at[2];
    int n = 0;
    const char *what = fe_el_printf(c, "'%s'", e->name);
    if (!what || !fe_el_eval_call_args(c, e, ce ? CE : AUX, ce ? 2 : 1, args, &n)) return;
    if (!fe_el_bind(c, what, ce ? CE : AUX, ce ? 2 : 1, args, n, e->loc, v, at)) return;
    if (coef < 0.0) {
        fe_el_error(c, e->loc, "the coefficient of %s is %g; loss coefficients must be >= 0", e->name, coef);
        return;
    }
    int r = ce ? -1 : v[0].router;
    if (!ce && (!aux_router_ok(c, e, kind, r) || c->routers[r].n_layers == 0)) return;
    for (int i = 0; i < c->n_loss; i++)
        if (c->loss[i].kind == kind && c->loss[i].router == r) {
            fe_el_error(c, e->loc, "%s%s%s%s appears twice in the loss", e->name, ce ? "" : "(",
                        ce ? "" : c->routers[r].name, ce ? "" : ")");
            fe_el_note(c, c->loss[i].loc, "first here");
            return;
        }
    if (!fe_el_grow(c, (void **)&c->loss, &c->cap_loss, c->n_loss + 1, sizeof *c->loss)) return;
    c->loss[c->n_loss++] = (fe_loss_term){ .kind = kind, .coef = coef, .router = r,
                                            .logits = ce ? v[0].node : -1, .loc = e->loc };
}

/* A number factor of the loss; false (reported or poison) otherwise. */
static bool coefficient(el_ctx *c, const fe_expr *e, double *out)
{
    el_value v = fe_el_eval(c, e);
    if (v.kind == EL_POISON) return false;
    if (!fe_el_coerce(&v, ET_FLOAT)) {
        fe_el_error(c, e->loc, "a loss coefficient must be a number, got %s", fe_el_kind_name(v.kind));
        return false;
    }
    *out = v.f;
    return true;
}

static void loss_sum(el_ctx *c, const fe_expr *e, double coef)
{
    double k;
    bool bin = e->kind == FE_EXPR_BINARY;
    if (e->kind == FE_EXPR_CALL && fe_el_is_loss_term(e->name)) {
        add_term(c, e, coef);
    } else if (e->kind == FE_EXPR_COND && has_term(e)) {
        el_value k = fe_el_eval(c, e->cond);
        if (k.kind == EL_BOOL) loss_sum(c, k.b ? e->lhs : e->rhs, coef);
        else if (k.kind != EL_POISON)
            fe_el_error(c, e->cond->loc, "the condition of 'if' must be a bool, got %s",
                        fe_el_kind_name(k.kind));
    } else if (bin && (e->op == FE_OP_ADD || e->op == FE_OP_SUB)) {
        loss_sum(c, e->lhs, coef);
        loss_sum(c, e->rhs, e->op == FE_OP_SUB ? -coef : coef);
    } else if (bin && e->op == FE_OP_MUL && has_term(e->lhs) && !has_term(e->rhs)) {
        if (coefficient(c, e->rhs, &k)) loss_sum(c, e->lhs, coef * k);
    } else if (bin && e->op == FE_OP_MUL && has_term(e->rhs) && !has_term(e->lhs)) {
        if (coefficient(c, e->lhs, &k)) loss_sum(c, e->rhs, coef * k);
    } else if (bin && e->op == FE_OP_DIV && has_term(e->lhs) && !has_term(e->rhs)) {
        if (!coefficient(c, e->rhs, &k)) return;
        if (k == 0.0) fe_el_error(c, e->rhs->loc, "division by zero");
        else loss_sum(c, e->lhs, coef / k);
    } else {
        fe_el_error(c, e->loc, "the loss must be a sum of terms such as cross_entropy(logits, targets) "
                    "and coef * load_balance(router)");
    }
}

void fe_el_loss(el_ctx *c, const fe_item *loss, el_value logits)
{
    c->mode = EM_LOSS;
    c->frame_base = c->n_locals = 0;
    if (fe_el_set_local(c, "logits", logits) < 0 ||
        fe_el_set_local(c, "targets", (el_value){ .kind = EL_TARGETS }) < 0)
        return;
    int errors = c->d->n_errors;
    loss_sum(c, loss->value, 1.0);
    bool has_ce = false;
    for (int i = 0; i < c->n_loss; i++) has_ce |= c->loss[i].kind == FE_LOSS_CROSS_ENTROPY;
    if (!has_ce && errors == c->d->n_errors && logits.kind != EL_POISON)
        fe_el_error(c, loss->value->loc, "the loss has no cross_entropy(logits, targets) term");
    c->n_locals = 0;
}

/* ---- train settings ---- */

typedef struct train_key {
    const char *name;
    el_type type;
    size_t off;          /* into fe_train; schedule and precision are strings checked by name */
    double min;          /* smallest value allowed */
} train_key;

#define TK(n, t, m) { #n, t, offsetof(fe_train, n), m }
static const train_key KEYS[] = {
    TK(steps, ET_INT, 1), TK(batch, ET_INT, 1), TK(seq, ET_INT, 1), TK(lr, ET_FLOAT, 0),
    TK(min_lr, ET_FLOAT, 0), TK(warmup, ET_INT, 0), TK(schedule, ET_STRING, 0),
    TK(beta1, ET_FLOAT, 0), TK(beta2, ET_FLOAT, 0), TK(eps, ET_FLOAT, 0),
    TK(weight_decay, ET_FLOAT, 0), TK(clip, ET_FLOAT, 0), TK(eval_every, ET_INT, 1),
    TK(eval_steps, ET_INT, 0), TK(seed, ET_INT, 0), TK(precision, ET_STRING, 0),
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

static const train_key *find_key(const char *name)
{
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].name, name)) return &KEYS[i];
    return NULL;
}

bool fe_el_is_train_key(const char *name) { return find_key(name) != NULL; }

int fe_el_train_keys(const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < N_KEYS && n < max; i++) out[n++] = KEYS[i].name;
    return n;
}

static bool set_string_key(el_ctx *c, const train_key *k, const char *s, moec_loc loc)
{
    fe_train *t = &c->m->train;
    if (!strcmp(k->name, "precision")) {
        if (strcmp(s, "fp32") && strcmp(s, "bf16")) {
            report(c, loc, "train setting 'precision' must be \"fp32\" or \"bf16\", got \"%s\"", s);
            return false;
        }
        t->precision = s;
        return true;
    }
    static const char *const sched[] = { "cosine", "constant", "linear" };
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, sched[i])) { t->schedule = (fe_schedule)i; return true; }
    report(c, loc, "train setting 'schedule' must be \"cosine\", \"constant\" or \"linear\", got \"%s\"", s);
    return false;
}

/* Stores a value of the right kind, checking its range. */
static bool store_key(el_ctx *c, const train_key *k, el_value v, moec_loc loc)
{
    char *base = (char *)&c->m->train;
    if (k->type == ET_STRING) return set_string_key(c, k, v.s, loc);
    double x = k->type == ET_INT ? (double)v.i : v.f;
    bool beta = !strncmp(k->name, "beta", 4);
    if (x < k->min || (beta && x >= 1.0) || (!strcmp(k->name, "eps") && x <= 0.0)) {
        report(c, loc, "train setting '%s' must be %s, got %g", k->name,
               beta ? "in [0, 1)" : !strcmp(k->name, "eps") ? "> 0" : k->min > 0 ? ">= 1" : ">= 0", x);
        return false;
    }
    if (!strcmp(k->name, "seq") && !fe_el_check_dim(c, v.i, "train setting 'seq'", loc)) return false;
    if (k->type == ET_INT) memcpy(base + k->off, &v.i, sizeof v.i);
    else memcpy(base + k->off, &v.f, sizeof v.f);
    if (!strcmp(k->name, "seq")) { c->train_seq_loc = loc; c->seq_set = true; }
    return true;
}

static void unknown_key(el_ctx *c, const char *name, moec_loc loc)
{
    const char *names[N_KEYS];
    int n = fe_el_train_keys(names, N_KEYS);
    const char *near = fe_el_closest(name, names, n);
    if (near) fe_el_error(c, loc, "unknown train setting '%s'; did you mean '%s'?", name, near);
    else fe_el_error(c, loc, "unknown train setting '%s'", name);
}

void fe_el_train(el_ctx *c, const fe_item *train)
{
    c->mode = EM_TRAIN;
    for (const fe_setting *s = train->settings; s; s = s->next) {
        const train_key *k = find_key(s->key);
        if (!k) { unknown_key(c, s->key, s->loc); continue; }
        for (const fe_setting *p = train->settings; p != s; p = p->next)
            if (!strcmp(p->key, s->key)) {
                fe_el_error(c, s->loc, "train setting '%s' is set twice", s->key);
                fe_el_note(c, p->loc, "first set here");
                k = NULL;
                break;
            }
        if (!k) continue;
        el_value v = fe_el_eval(c, s->value);
        if (v.kind == EL_POISON) continue;
        if (!fe_el_coerce(&v, k->type)) {
            fe_el_error(c, s->value->loc, "train setting '%s' must be %s, got %s", k->name,
                        fe_el_type_name(k->type), fe_el_kind_name(v.kind));
            continue;
        }
        store_key(c, k, v, s->value->loc);
    }
}

bool fe_el_train_override(el_ctx *c, const char *name, const char *text)
{
    const train_key *k = find_key(name);
    if (!k) return false;
    el_kind kind = k->type == ET_INT ? EL_INT : k->type == ET_FLOAT ? EL_FLOAT : EL_STRING;
    el_value v;
    if (!fe_el_parse_text(c, text, kind, &v)) {
        if (!c->oom)
            moec_error(c->d, "train setting '%s' expects %s, got \"%s\"", name,
                     kind == EL_INT ? "an integer" : "a number", text);
        return true;
    }
    store_key(c, k, v, (moec_loc){ 0, 0 });
    return true;
}
