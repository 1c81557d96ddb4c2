/* frontend/elab_router.c -- routers, the loss and the train settings.
 * Router kinds with their settings and defaults, expanded from model.h's
 * FE_ROUTER_KINDS; the loss as a weighted sum of terms (FE_LOSS_KINDS); the
 * train block and --set of train settings, checked against one table.
 * Writes fe_model routers, loss and train (doc/language.md has the tables). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "frontend/elab_internal.h"

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

/* A router kind's settings with their defaults, from FE_ROUTER_KINDS. */
typedef struct router_kind {
    int n_spec;
    el_argspec spec[EL_MAX_SPEC];
} router_kind;

#define FE_SET_INT(n, v) EL_OPT_INT(#n, v)
#define FE_SET_FLOAT(n, v) EL_OPT_FLOAT(#n, v)
#define FE_SET_BOOL(n, v) EL_OPT_BOOL(#n, v)
#define FE_SET_STRING(n, v) EL_OPT_STRING(#n, v)
#define KIND_ROW(id, name, ...) [id] = { EL_SPEC(__VA_ARGS__) },
static const router_kind KINDS[] = { FE_ROUTER_KINDS(KIND_ROW) };
#undef KIND_ROW
_Static_assert(sizeof KINDS / sizeof KINDS[0] == FE_ROUTER_KIND_COUNT, "settings for every router kind");

/* Every router setting, as named in FE_ROUTER_KINDS; apply_setting stores each. */
#define ROUTER_SETTINGS(X) \
    X(RS_K, "k") X(RS_STRAIGHT_THROUGH, "straight_through") X(RS_RENORMALIZE, "renormalize") \
    X(RS_NOISE_STD, "noise_std") X(RS_NOISE_ANNEAL, "noise_anneal") \
    X(RS_CAPACITY_FACTOR, "capacity_factor") X(RS_UNIT, "unit") X(RS_FROZEN, "frozen")
typedef enum router_setting { ROUTER_SETTINGS(FE_LIST_ENUM) } router_setting;
enum { RS_COUNT = 0 ROUTER_SETTINGS(FE_LIST_COUNT) };
static const char *const SETTING_NAMES[] = { ROUTER_SETTINGS(FE_LIST_NAME) };
_Static_assert(sizeof SETTING_NAMES / sizeof SETTING_NAMES[0] == RS_COUNT, "a name for every router setting");

bool fe_el_is_router_kind(const char *name)
{
    return fe_name_find(fe_router_kind_names, FE_ROUTER_KIND_COUNT, name) >= 0;
}

/* A float setting >= 0 (noise_anneal also <= 1); false when out of range (reported). */
static bool float_setting(el_ctx *c, const char *name, bool unit_interval, double f, moec_loc loc)
{
    if (f >= 0.0 && !(unit_interval && f > 1.0)) return true;
    report(c, loc, "'%s' must be %s, got %g", name, unit_interval ? "between 0 and 1" : ">= 0", f);
    return false;
}

/* Copies a bound setting into the router; false when out of range (reported:
 * the caller then drops the router, so a value stored before its check is harmless). */
static bool apply_setting(el_ctx *c, fe_router *r, const char *name, el_value v, moec_loc loc)
{
    int unit;
    int id = fe_name_find(SETTING_NAMES, RS_COUNT, name);
    switch ((router_setting)id) {
    case RS_K:
        if (v.i < 1 || v.i > 1024) {
            report(c, loc, "'k' must be between 1 and 1024, got %lld", (long long)v.i);
            return false;
        }
        r->k = (int)v.i;
        return true;
    case RS_STRAIGHT_THROUGH: r->straight_through = v.b; return true;
    case RS_RENORMALIZE: r->renormalize = v.b; return true;
    case RS_FROZEN: r->frozen = v.b; return true;
    case RS_UNIT:
        unit = fe_name_find(fe_routing_unit_names, FE_ROUTING_UNIT_COUNT, v.s);
        if (unit < 0) {
            report(c, loc, "'unit' must be %s, got \"%s\"",
                   fe_el_join(fe_routing_unit_names, FE_ROUTING_UNIT_COUNT, "\"", "\"", " or ").s, v.s);
            return false;
        }
        r->unit = (fe_routing_unit)unit;
        return true;
    case RS_NOISE_STD: r->noise_std = v.f; return float_setting(c, name, false, v.f, loc);
    case RS_NOISE_ANNEAL: r->noise_anneal = v.f; return float_setting(c, name, true, v.f, loc);
    case RS_CAPACITY_FACTOR: r->capacity_factor = v.f; return float_setting(c, name, false, v.f, loc);
    default: MOEC_UNREACHABLE();   /* a setting in FE_ROUTER_KINDS missing from ROUTER_SETTINGS */
    }
}

el_value fe_el_make_router(el_ctx *c, const fe_expr *call, const el_arg *args, int n_args)
{
    int kind = fe_name_find(fe_router_kind_names, FE_ROUTER_KIND_COUNT, call->name);
    MOEC_ASSERT(kind >= 0);
    const router_kind *rk = &KINDS[kind];
    el_value v[EL_MAX_SPEC];
    moec_loc at[EL_MAX_SPEC];
    const char *what = fe_el_printf(c, "router kind '%s'", call->name);
    if (!what || !fe_el_bind(c, what, rk->spec, rk->n_spec, args, n_args, call->loc, v, at))
        return fe_el_poison();
    fe_router r = { .name = c->router_name, .kind = (fe_router_kind)kind, .k = 1, .renormalize = true,
                    .init_std = 0.02, .loc = call->loc };
    if (r.kind == FE_ROUTER_EXPERT_CHOICE) r.k = 0;
    bool ok = true;
    for (int i = 0; i < rk->n_spec; i++) ok &= apply_setting(c, &r, rk->spec[i].name, v[i], at[i]);
    if (ok && r.straight_through && r.k != 1) {
        fe_el_error(c, call->loc, "straight_through needs k = 1, got k = %d", r.k);
        ok = false;
    }
    if (ok && r.kind == FE_ROUTER_EXPERT_CHOICE && !(r.capacity_factor > 0.0)) {
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

bool fe_el_is_loss_term(const char *name)
{
    return fe_name_find(fe_loss_kind_names, FE_LOSS_KIND_COUNT, name) >= 0;
}

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
                    "'%s' is %s", ro->name, fe_router_kind_names[ro->kind]);
        return false;
    }
    if (ro->kind == FE_ROUTER_HASH || ro->kind == FE_ROUTER_LABEL) {
        fe_el_error(c, e->loc, "'%s' needs router probabilities; router '%s' is %s, which has none",
                    e->name, ro->name, fe_router_kind_names[ro->kind]);
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
    static const el_argspec CE[2] = { EL_REQ("logits", ET_TENSOR), EL_REQ("targets", ET_TARGETS) };
    static const el_argspec AUX[1] = { EL_REQ("router", ET_ROUTER) };
    int term = fe_name_find(fe_loss_kind_names, FE_LOSS_KIND_COUNT, e->name);
    MOEC_ASSERT(term >= 0);
    fe_loss_kind kind = (fe_loss_kind)term;
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

/* What a train setting accepts: numbers in a range (the text names it), or a name of a list. */
#define TRAIN_CHECKS(X) \
    X(TC_AT_LEAST_1, ">= 1") X(TC_AT_LEAST_0, ">= 0") X(TC_BETA, "in [0, 1)") X(TC_POSITIVE, "> 0") \
    X(TC_FRACTION, "in (0, 1]") X(TC_SCHEDULE, "a schedule") X(TC_PRECISION, "a precision") \
    X(TC_BOOL, "true or false")
typedef enum train_check { TRAIN_CHECKS(FE_LIST_ENUM) } train_check;
enum { TC_COUNT = 0 TRAIN_CHECKS(FE_LIST_COUNT) };
static const char *const CHECK_TEXT[] = { TRAIN_CHECKS(FE_LIST_NAME) };
_Static_assert(sizeof CHECK_TEXT / sizeof CHECK_TEXT[0] == TC_COUNT, "a text for every train check");

typedef struct train_key {
    const char *name;
    el_type type;
    size_t off;          /* into fe_train (numbers and bools; names are stored by check) */
    train_check check;
} train_key;

#define TK(n, t, chk) { #n, t, offsetof(fe_train, n), chk }
static const train_key KEYS[] = {
    TK(steps, ET_INT, TC_AT_LEAST_1), TK(batch, ET_INT, TC_AT_LEAST_1), TK(seq, ET_INT, TC_AT_LEAST_1),
    TK(lr, ET_FLOAT, TC_AT_LEAST_0), TK(min_lr, ET_FLOAT, TC_AT_LEAST_0), TK(warmup, ET_INT, TC_AT_LEAST_0),
    TK(schedule, ET_STRING, TC_SCHEDULE), TK(beta1, ET_FLOAT, TC_BETA), TK(beta2, ET_FLOAT, TC_BETA),
    TK(eps, ET_FLOAT, TC_POSITIVE), TK(weight_decay, ET_FLOAT, TC_AT_LEAST_0), TK(clip, ET_FLOAT, TC_AT_LEAST_0),
    TK(eval_every, ET_INT, TC_AT_LEAST_1), TK(eval_steps, ET_INT, TC_AT_LEAST_0), TK(seed, ET_INT, TC_AT_LEAST_0),
    TK(precision, ET_STRING, TC_PRECISION), TK(accum, ET_INT, TC_AT_LEAST_1),
    TK(checkpoint_every, ET_INT, TC_AT_LEAST_0), TK(keep_checkpoints, ET_INT, TC_AT_LEAST_1),
    TK(collapse_stop, ET_BOOL, TC_BOOL), TK(collapse_threshold, ET_FLOAT, TC_FRACTION),
    TK(collapse_patience, ET_INT, TC_AT_LEAST_1),
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

/* The index of `s` in names[0 .. n), or -1 (reported). */
static int find_choice(el_ctx *c, const train_key *k, const char *const *names, int n, const char *s,
                       moec_loc loc)
{
    int i = fe_name_find(names, n, s);
    if (i < 0)
        report(c, loc, "train setting '%s' must be %s, got \"%s\"", k->name,
               fe_el_join(names, n, "\"", "\"", " or ").s, s);
    return i;
}

static bool in_range(train_check check, double x)
{
    switch (check) {
    case TC_AT_LEAST_1: return x >= 1;
    case TC_AT_LEAST_0: return x >= 0;
    case TC_BETA: return x >= 0 && x < 1.0;
    case TC_POSITIVE: return x > 0.0;
    case TC_FRACTION: return x > 0.0 && x <= 1.0;
    case TC_SCHEDULE:
    case TC_PRECISION:
    case TC_BOOL:
    default: MOEC_UNREACHABLE();    /* names are not numbers */
    }
}

/* Stores a number of the right kind, checking its range. */
static bool store_number(el_ctx *c, const train_key *k, el_value v, moec_loc loc)
{
    char *base = (char *)&c->m->train;
    double x = k->type == ET_INT ? (double)v.i : v.f;
    if (!in_range(k->check, x)) {
        report(c, loc, "train setting '%s' must be %s, got %g", k->name, CHECK_TEXT[k->check], x);
        return false;
    }
    bool seq = k->off == offsetof(fe_train, seq);
    if (seq && !fe_el_check_dim(c, v.i, "train setting 'seq'", loc)) return false;
    if (k->type == ET_INT) memcpy(base + k->off, &v.i, sizeof v.i);
    else memcpy(base + k->off, &v.f, sizeof v.f);
    if (seq) { c->train_seq_loc = loc; c->seq_set = true; }
    return true;
}

/* Stores a value of the right kind, checking it. */
static bool store_key(el_ctx *c, const train_key *k, el_value v, moec_loc loc)
{
    fe_train *t = &c->m->train;
    int i;
    switch (k->check) {
    case TC_AT_LEAST_1:
    case TC_AT_LEAST_0:
    case TC_BETA:
    case TC_POSITIVE:
    case TC_FRACTION: return store_number(c, k, v, loc);
    case TC_BOOL:
        memcpy((char *)t + k->off, &v.b, sizeof v.b);
        return true;
    case TC_SCHEDULE:
        if ((i = find_choice(c, k, fe_schedule_names, FE_SCHEDULE_COUNT, v.s, loc)) < 0) return false;
        t->schedule = (fe_schedule)i;
        return true;
    case TC_PRECISION:
        if ((i = find_choice(c, k, fe_precision_names, FE_PRECISION_COUNT, v.s, loc)) < 0) return false;
        t->precision = (fe_precision)i;
        return true;
    default: MOEC_UNREACHABLE();
    }
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
    el_kind kind = k->type == ET_INT ? EL_INT : k->type == ET_FLOAT ? EL_FLOAT : k->type == ET_BOOL ? EL_BOOL : EL_STRING;
    el_value v;
    if (!fe_el_parse_text(c, text, kind, &v)) {
        if (!c->oom)
            moec_error(c->d, "train setting '%s' expects %s, got \"%s\"", name,
                     kind == EL_INT ? "an integer" : kind == EL_BOOL ? "true or false" : "a number", text);
        return true;
    }
    store_key(c, k, v, (moec_loc){ 0, 0 });
    return true;
}
