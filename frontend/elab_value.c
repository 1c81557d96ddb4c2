/* frontend/elab_value.c -- compile-time values and environments of elaboration.
 * Value constructors and type names, the file scope (params, routers, blocks),
 * the locals of running calls, "did you mean" suggestions, and the parsing of
 * --set text into typed values. No graph or AST walking here. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/elab_internal.h"

el_value fe_el_poison(void) { return (el_value){ .kind = EL_POISON }; }
el_value fe_el_int(int64_t i) { return (el_value){ .kind = EL_INT, .i = i }; }
el_value fe_el_float(double f) { return (el_value){ .kind = EL_FLOAT, .f = f }; }
el_value fe_el_bool(bool b) { return (el_value){ .kind = EL_BOOL, .b = b }; }
el_value fe_el_tensor(int node) { return (el_value){ .kind = EL_TENSOR, .node = node }; }

static const char *const KIND_NAMES[] = { EL_KINDS(FE_LIST_NAME) };
_Static_assert(sizeof KIND_NAMES / sizeof KIND_NAMES[0] == EL_KIND_COUNT, "a name for every value kind");
static const char *const TYPE_NAMES[] = { EL_TYPES(FE_LIST_NAME) };
_Static_assert(sizeof TYPE_NAMES / sizeof TYPE_NAMES[0] == EL_TYPE_COUNT, "a name for every type");
static const char *const GLOBAL_NAMES[] = { EL_GLOBAL_KINDS(FE_LIST_NAME) };
_Static_assert(sizeof GLOBAL_NAMES / sizeof GLOBAL_NAMES[0] == EL_GLOBAL_KIND_COUNT, "a name for every global kind");

const char *fe_el_kind_name(el_kind k)
{
    MOEC_ASSERT((unsigned)k < EL_KIND_COUNT);
    return KIND_NAMES[k];
}

const char *fe_el_type_name(el_type t)
{
    MOEC_ASSERT((unsigned)t < EL_TYPE_COUNT);
    return TYPE_NAMES[t];
}

const char *fe_el_global_kind_name(el_global_kind k)
{
    MOEC_ASSERT((unsigned)k < EL_GLOBAL_KIND_COUNT);
    return GLOBAL_NAMES[k];
}

el_text fe_el_join(const char *const *names, int n, const char *pre, const char *post, const char *last)
{
    el_text t = { "" };
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof t.s; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? last : ", ";
        int w = snprintf(t.s + len, sizeof t.s - len, "%s%s%s%s", sep, pre, names[i], post);
        if (w < 0) break;
        len += (size_t)w;
    }
    return t;
}

void fe_el_oom(el_ctx *c)
{
    if (!c->oom) moec_error(c->d, "out of memory during elaboration");
    c->oom = true;
}

void fe_el_error(el_ctx *c, moec_loc loc, const char *fmt, ...)
{
    c->n_raised++;
    for (int i = 0; i < c->n_reported && loc.line > 0; i++)
        if (c->reported[i].line == loc.line && c->reported[i].col == loc.col) {
            c->muted = true;
            return;
        }
    c->muted = false;
    if (loc.line > 0 &&
        fe_el_grow(c, (void **)&c->reported, &c->cap_reported, c->n_reported + 1, sizeof loc))
        c->reported[c->n_reported++] = loc;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    moec_error_at(c->d, loc, "%s", buf);
}

void fe_el_note(el_ctx *c, moec_loc loc, const char *fmt, ...)
{
    if (c->muted) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    moec_note_at(c->d, loc, "%s", buf);
}

/* Makes room for `need` elements in a malloc'd array; false (reported) when out of memory. */
bool fe_el_grow(el_ctx *c, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int n = *cap ? *cap : 16;
    while (n < need) {
        if (n > INT32_MAX / 2) { fe_el_oom(c); return false; }
        n *= 2;
    }
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p) { fe_el_oom(c); return false; }
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *arr = p;
    *cap = n;
    return true;
}

char *fe_el_printf(el_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *p = NULL;
    if (n >= 0 && (size_t)n < sizeof buf) {
        p = moec_arena_strndup(c->arena, buf, (size_t)n);
    } else if (n >= 0) {
        p = moec_arena_alloc(c->arena, (size_t)n + 1);
        if (p) {
            va_start(ap, fmt);
            vsnprintf(p, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
    }
    if (!p) fe_el_oom(c);
    return p;
}

el_global *fe_el_global(el_ctx *c, const char *name)
{
    for (int i = 0; i < c->n_globals; i++)
        if (!strcmp(c->globals[i].name, name)) return &c->globals[i];
    return NULL;
}

/* The innermost live binding of `name` in the running call, or NULL. */
el_binding *fe_el_local(el_ctx *c, const char *name)
{
    for (int i = c->n_locals - 1; i >= c->frame_base; i--)
        if (c->locals[i].name && !strcmp(c->locals[i].name, name)) return &c->locals[i];
    return NULL;
}

/* Binds or rebinds a local; returns its slot, or -1 when out of memory. */
int fe_el_set_local(el_ctx *c, const char *name, el_value v)
{
    el_binding *b = fe_el_local(c, name);
    if (b) {
        b->v = v;
        return (int)(b - c->locals);
    }
    if (!fe_el_grow(c, (void **)&c->locals, &c->cap_locals, c->n_locals + 1, sizeof *c->locals))
        return -1;
    c->locals[c->n_locals] = (el_binding){ name, v };
    return c->n_locals++;
}

const char *fe_el_closest(const char *name, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 3;
    size_t len = strlen(name);
    for (int i = 0; i < n; i++) {
        if (!names[i] || !strcmp(names[i], name)) continue;
        int d = moec_edit_distance(name, names[i]);
        if (d < best_d && (size_t)d < len) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

/* Suggests among globals whose kind bit is set in `kinds_mask` (1 << el_global_kind). */
const char *fe_el_suggest_global(el_ctx *c, const char *name, int kinds_mask)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < c->n_globals; i++) {
        const el_global *g = &c->globals[i];
        if (!(kinds_mask & (1 << g->kind))) continue;
        const char *one[1] = { g->name };
        if (fe_el_closest(name, one, 1)) {
            int d = moec_edit_distance(name, g->name);
            if (d < best_d) { best = g->name; best_d = d; }
        }
    }
    return best;
}

static bool parse_int_text(const char *text, int64_t *out)
{
    if (!*text) return false;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_float_text(const char *text, double *out)
{
    if (!*text) return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

bool fe_el_parse_text(el_ctx *c, const char *text, el_kind k, el_value *out)
{
    switch (k) {
    case EL_INT: out->kind = EL_INT; return parse_int_text(text, &out->i);
    case EL_FLOAT: out->kind = EL_FLOAT; return parse_float_text(text, &out->f);
    case EL_BOOL:
        out->kind = EL_BOOL;
        if (!strcmp(text, "true")) { out->b = true; return true; }
        if (!strcmp(text, "false")) { out->b = false; return true; }
        return false;
    case EL_STRING: {
        size_t n = strlen(text);
        bool quoted = n >= 2 && text[0] == '"' && text[n - 1] == '"';   /* --set k="v" == --set k=v */
        out->kind = EL_STRING;
        out->s = quoted ? moec_arena_strndup(c->arena, text + 1, n - 2) : moec_arena_strdup(c->arena, text);
        if (!out->s) fe_el_oom(c);
        return out->s != NULL;
    }
    default:
        return false;
    }
}

bool fe_el_coerce(el_value *v, el_type t)
{
    switch (t) {
    case ET_TENSOR: return v->kind == EL_TENSOR;
    case ET_INT: return v->kind == EL_INT;
    case ET_FLOAT:
        if (v->kind == EL_INT) *v = fe_el_float((double)v->i);
        return v->kind == EL_FLOAT;
    case ET_BOOL: return v->kind == EL_BOOL;
    case ET_STRING: return v->kind == EL_STRING;
    case ET_ROUTER: return v->kind == EL_ROUTER;
    case ET_BLOCK: return v->kind == EL_BLOCK;
    case ET_TARGETS: return v->kind == EL_TARGETS;
    }
    return false;
}
