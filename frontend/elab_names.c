/* frontend/elab_names.c -- scopes and parameter names of elaboration.
 * A call opens a scope named by its `as` path (h[i] -> "h.3") or by its
 * default name with _1, _2 on repeats inside the enclosing scope; parameters
 * are named scope.local. Full names are kept in a hash table so that two
 * parameters with one name are reported with both places. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/elab_internal.h"

void fe_el_scope_root(el_ctx *c)
{
    c->n_scopes = 1;
    c->scopes[0] = (el_scope){ "", NULL };
}

const char *fe_el_scope_path(const el_ctx *c) { return c->scopes[c->n_scopes - 1].path; }

/* Pushes the scope `path` relative to the current one. */
const char *fe_el_scope_open_raw(el_ctx *c, const char *path)
{
    MOEC_ASSERT(c->n_scopes < EL_MAX_SCOPES);
    const char *parent = fe_el_scope_path(c);
    const char *full = *parent ? fe_el_printf(c, "%s.%s", parent, path) : path;
    if (!full) return NULL;
    c->scopes[c->n_scopes++] = (el_scope){ full, NULL };
    return full;
}

void fe_el_scope_close(el_ctx *c)
{
    MOEC_ASSERT(c->n_scopes > 1);
    c->n_scopes--;
}

/* `dflt` the first time in this scope, then dflt_1, dflt_2, ... */
static const char *default_name(el_ctx *c, const char *dflt)
{
    el_scope *s = &c->scopes[c->n_scopes - 1];
    el_count *k = s->counts;
    while (k && strcmp(k->name, dflt)) k = k->next;
    if (!k) {
        k = moec_arena_alloc(c->arena, sizeof *k);
        if (!k) { fe_el_oom(c); return NULL; }
        *k = (el_count){ dflt, 0, s->counts };
        s->counts = k;
    }
    int n = k->n++;
    return n == 0 ? dflt : fe_el_printf(c, "%s_%d", dflt, n);
}

/* "a.b[i].c" with i = 3 -> "a.b.3.c"; NULL after an error. */
static const char *as_path(el_ctx *c, const fe_name_seg *as)
{
    const char *path = NULL;
    for (const fe_name_seg *s = as; s; s = s->next) {
        const char *seg = s->name;
        if (s->index) {
            el_value v = fe_el_eval(c, s->index);
            if (v.kind == EL_POISON) return NULL;
            if (v.kind != EL_INT || v.i < 0) {
                if (v.kind != EL_INT)
                    fe_el_error(c, s->index->loc, "a name index must be an integer, got %s",
                                fe_el_kind_name(v.kind));
                else
                    fe_el_error(c, s->index->loc, "a name index must be >= 0, got %lld",
                                (long long)v.i);
                return NULL;
            }
            seg = fe_el_printf(c, "%s.%lld", s->name, (long long)v.i);
        }
        path = path ? fe_el_printf(c, "%s.%s", path, seg) : seg;
        if (!path || !seg) return NULL;
    }
    return path;
}

const char *fe_el_scope_open(el_ctx *c, const char *dflt, const fe_name_seg *as)
{
    const char *rel = as ? as_path(c, as) : default_name(c, dflt);
    if (!rel) return NULL;
    return fe_el_scope_open_raw(c, rel);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;      /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool rehash(el_ctx *c)
{
    int cap = c->cap_names ? c->cap_names * 2 : 1024;
    const char **tab = calloc((size_t)cap, sizeof *tab);
    int *ids = calloc((size_t)cap, sizeof *ids);
    if (!tab || !ids) { free(tab); free(ids); fe_el_oom(c); return false; }
    for (int i = 0; i < c->cap_names; i++) {
        if (!c->name_tab[i]) continue;
        size_t j = hash_name(c->name_tab[i]) & (size_t)(cap - 1);
        while (tab[j]) j = (j + 1) & (size_t)(cap - 1);
        tab[j] = c->name_tab[i];
        ids[j] = c->name_ids[i];
    }
    free(c->name_tab);
    free(c->name_ids);
    c->name_tab = tab;
    c->name_ids = ids;
    c->cap_names = cap;
    return true;
}

bool fe_el_name_add(el_ctx *c, const char *name, int id)
{
    if (2 * (c->n_names + 1) > c->cap_names && !rehash(c)) return false;
    size_t mask = (size_t)c->cap_names - 1, j = hash_name(name) & mask;
    for (; c->name_tab[j]; j = (j + 1) & mask) {
        if (strcmp(c->name_tab[j], name)) continue;
        if (!c->dup_reported) {   /* later duplicates follow from the same naming mistake */
            c->dup_reported = true;
            fe_el_error(c, c->params[id].loc, "two parameters are named '%s'; give one of "
                        "the calls another name with 'as'", name);
            fe_el_note(c, c->params[c->name_ids[j]].loc, "'%s' was first created here", name);
        }
        return false;
    }
    c->name_tab[j] = name;
    c->name_ids[j] = id;
    c->n_names++;
    return true;
}
