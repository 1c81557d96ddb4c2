/* frontend/elab_builtins.c -- the builtin table of the model language.
 * One row per builtin: name, default scope, whether experts may use it, node
 * op, argument spec with defaults, and the function that checks shapes and
 * creates the node and its parameters (Hugging Face GPT-2 names). Also the
 * generic argument binder shared with router kinds. Writes nodes and params. */
#include <math.h>
#include <string.h>

#include "frontend/elab_internal.h"

typedef el_value (*el_builtin_fn)(el_ctx *c, const el_builtin *b, const el_call *k);

struct el_builtin {
    const char *name;
    const char *scope;      /* default scope; NULL: no parameters, no scope of its own */
    bool rowwise;           /* may be used inside an expert block */
    fe_node_op op;
    el_builtin_fn fn;
    int n_spec;             /* n_spec and spec: one EL_SPEC(...) list */
    el_argspec spec[EL_MAX_SPEC];
};

static const double INIT_STD = 0.02;

/* ---- shape checks shared by the builtins ---- */

static bool is_tokens(el_ctx *c, const el_call *k, int slot, const char *name)
{
    if (c->nodes[k->v[slot].node].op != FE_NODE_TOKENS) return false;
    fe_el_error(c, k->loc[slot], "'%s' expects activations, got the token ids [B, T]; "
                "use embedding(tokens, vocab, d) first", name);
    return true;
}

/* The last dimension of a tensor argument, which must be a known size; -1 after an error. */
static int64_t last_dim(el_ctx *c, const el_call *k, int slot, const char *name)
{
    if (is_tokens(c, k, slot, name)) return -1;
    const fe_shape *s = fe_el_shape_of(c, k->v[slot]);
    if (s->rank >= 1 && s->dim[s->rank - 1] > 0) return s->dim[s->rank - 1];
    fe_el_error(c, k->loc[slot], "'%s' needs a tensor whose last dimension has a known size, got %s",
                name, fe_el_shape_str(s).s);
    return -1;
}

/* d of a [B, T, d] tensor argument; -1 after an error. */
static int64_t btd(el_ctx *c, const el_call *k, int slot, const char *name)
{
    if (is_tokens(c, k, slot, name)) return -1;
    const fe_shape *s = fe_el_shape_of(c, k->v[slot]);
    if (s->rank == 3 && s->dim[0] == FE_DIM_B && s->dim[1] == FE_DIM_T && s->dim[2] > 0) return s->dim[2];
    fe_el_error(c, k->loc[slot], "'%s' expects a tensor of shape [B, T, d], got %s",
                name, fe_el_shape_str(s).s);
    return -1;
}

static bool check_prob(el_ctx *c, const el_call *k, int slot, const char *what)
{
    double p = k->v[slot].f;
    if (p >= 0.0 && p < 1.0) return true;
    fe_el_error(c, k->loc[slot], "%s must be in [0, 1), got %g", what, p);
    return false;
}

static el_value node1(el_ctx *c, const el_builtin *b, const el_call *k, fe_shape shape, int in)
{
    int ins[1] = { in };
    int id = fe_el_node(c, b->op, shape, ins, in >= 0 ? 1 : 0, k->expr->loc, k->scope);
    return id < 0 ? fe_el_poison() : fe_el_tensor(id);
}

static void set_params(el_ctx *c, el_value t, const int *p, int n)
{
    if (t.kind != EL_TENSOR) return;
    fe_node *nd = &c->nodes[t.node];
    for (int i = 0; i < n; i++) nd->param[i] = p[i];
    nd->n_param = n;
}

/* ---- the builtins: embedding [B,T] -> [B,T,d] ---- */

static el_value bi_embedding(el_ctx *c, const el_builtin *b, const el_call *k)
{
    if (c->nodes[k->v[0].node].op != FE_NODE_TOKENS) {
        fe_el_error(c, k->loc[0], "'embedding' expects the token ids [B, T] (forward's argument), got %s",
                    fe_el_shape_str(fe_el_shape_of(c, k->v[0])).s);
        return fe_el_poison();
    }
    int64_t vocab = k->v[1].i, d = k->v[2].i;
    if (!fe_el_check_dim(c, vocab, "'vocab'", k->loc[1]) || !fe_el_check_dim(c, d, "'d'", k->loc[2]))
        return fe_el_poison();
    int w = fe_el_param(c, k->scope, "weight", fe_el_shape(2, vocab, d, 0), FE_INIT_NORMAL, INIT_STD, k->expr->loc);
    if (w < 0) return fe_el_poison();
    el_value t = node1(c, b, k, fe_el_shape(3, FE_DIM_B, FE_DIM_T, d), k->v[0].node);
    set_params(c, t, &w, 1);
    if (c->n_embeddings++ == 0) { c->embedding_param = w; c->embedding_node = t.node; }
    return t;
}

/* position_embedding(ctx, d) -> [T, d] */
static el_value bi_position(el_ctx *c, const el_builtin *b, const el_call *k)
{
    int64_t ctx = k->v[0].i, d = k->v[1].i;
    if (!fe_el_check_dim(c, ctx, "'ctx'", k->loc[0]) || !fe_el_check_dim(c, d, "'d'", k->loc[1]))
        return fe_el_poison();
    int w = fe_el_param(c, k->scope, "weight", fe_el_shape(2, ctx, d, 0), FE_INIT_NORMAL, INIT_STD, k->expr->loc);
    if (w < 0) return fe_el_poison();
    el_value t = node1(c, b, k, fe_el_shape(2, FE_DIM_T, d, 0), -1);
    set_params(c, t, &w, 1);
    if (t.kind == EL_TENSOR && (c->pos_node < 0 || ctx < c->m->ctx)) {
        c->pos_node = t.node;
        c->m->ctx = ctx;
    }
    return t;
}

/* sinusoidal_positions(d) -> [T, d] */
static el_value bi_sinusoidal(el_ctx *c, const el_builtin *b, const el_call *k)
{
    if (!fe_el_check_dim(c, k->v[0].i, "'d'", k->loc[0])) return fe_el_poison();
    el_value t = node1(c, b, k, fe_el_shape(2, FE_DIM_T, k->v[0].i, 0), -1);
    if (t.kind == EL_TENSOR) c->nodes[t.node].attr_i[0] = k->v[0].i;
    return t;
}

/* layernorm(x [...,d], eps) -> [...,d] */
static el_value bi_layernorm(el_ctx *c, const el_builtin *b, const el_call *k)
{
    int64_t d = last_dim(c, k, 0, b->name);
    if (d < 0) return fe_el_poison();
    if (!(k->v[1].f > 0.0)) {
        fe_el_error(c, k->loc[1], "'eps' must be > 0, got %g", k->v[1].f);
        return fe_el_poison();
    }
    int p[2];
    p[0] = fe_el_param(c, k->scope, "weight", fe_el_shape(1, d, 0, 0), FE_INIT_ONES, 0.0, k->expr->loc);
    p[1] = p[0] < 0 ? -1 : fe_el_param(c, k->scope, "bias", fe_el_shape(1, d, 0, 0), FE_INIT_ZEROS, 0.0, k->expr->loc);
    if (p[1] < 0) return fe_el_poison();
    el_value t = node1(c, b, k, *fe_el_shape_of(c, k->v[0]), k->v[0].node);
    set_params(c, t, p, 2);
    if (t.kind == EL_TENSOR) c->nodes[t.node].attr_f[0] = k->v[1].f;
    return t;
}

/* linear(x [...,in], out, bias, residual) -> [...,out] */
static el_value bi_linear(el_ctx *c, const el_builtin *b, const el_call *k)
{
    int64_t in = last_dim(c, k, 0, b->name), out = k->v[1].i;
    if (in < 0 || !fe_el_check_dim(c, out, "'out'", k->loc[1])) return fe_el_poison();
    int p[2] = { -1, -1 };
    p[0] = fe_el_param(c, k->scope, "weight", fe_el_shape(2, in, out, 0), FE_INIT_NORMAL, INIT_STD, k->expr->loc);
    if (p[0] < 0) return fe_el_poison();
    c->params[p[0]].residual = k->v[3].b;
    if (k->v[2].b) {
        p[1] = fe_el_param(c, k->scope, "bias", fe_el_shape(1, out, 0, 0), FE_INIT_ZEROS, 0.0, k->expr->loc);
        if (p[1] < 0) return fe_el_poison();
    }
    fe_shape s = *fe_el_shape_of(c, k->v[0]);
    s.dim[s.rank - 1] = out;
    el_value t = node1(c, b, k, s, k->v[0].node);
    set_params(c, t, p, 2);
    return t;
}

/* gelu relu silu tanh exp softmax: same shape */
static el_value bi_unary(el_ctx *c, const el_builtin *b, const el_call *k)
{
    if (is_tokens(c, k, 0, b->name)) return fe_el_poison();
    return node1(c, b, k, *fe_el_shape_of(c, k->v[0]), k->v[0].node);
}

/* dropout(x, p): same shape */
static el_value bi_dropout(el_ctx *c, const el_builtin *b, const el_call *k)
{
    if (is_tokens(c, k, 0, b->name) || !check_prob(c, k, 1, "the dropout probability 'p'"))
        return fe_el_poison();
    el_value t = node1(c, b, k, *fe_el_shape_of(c, k->v[0]), k->v[0].node);
    if (t.kind == EL_TENSOR) c->nodes[t.node].attr_f[0] = k->v[1].f;
    return t;
}

/* causal_self_attention(x [B,T,d], heads, dropout) -> [B,T,d] */
static el_value bi_attention(el_ctx *c, const el_builtin *b, const el_call *k)
{
    int64_t d = btd(c, k, 0, b->name), heads = k->v[1].i;
    if (d < 0 || !fe_el_check_dim(c, heads, "'heads'", k->loc[1])) return fe_el_poison();
    if (d % heads != 0) {
        fe_el_error(c, k->loc[1], "the width d = %lld is not divisible by heads = %lld",
                    (long long)d, (long long)heads);
        return fe_el_poison();
    }
    if (!check_prob(c, k, 2, "'dropout'")) return fe_el_poison();
    if (3 * d > FE_MAX_DIM && !fe_el_check_dim(c, 3 * d, "3 * d", k->loc[0])) return fe_el_poison();
    moec_loc at = k->expr->loc;
    int p[4];
    p[0] = fe_el_param(c, k->scope, "c_attn.weight", fe_el_shape(2, d, 3 * d, 0), FE_INIT_NORMAL, INIT_STD, at);
    p[1] = p[0] < 0 ? -1 : fe_el_param(c, k->scope, "c_attn.bias", fe_el_shape(1, 3 * d, 0, 0), FE_INIT_ZEROS, 0.0, at);
    p[2] = p[1] < 0 ? -1 : fe_el_param(c, k->scope, "c_proj.weight", fe_el_shape(2, d, d, 0), FE_INIT_NORMAL, INIT_STD, at);
    p[3] = p[2] < 0 ? -1 : fe_el_param(c, k->scope, "c_proj.bias", fe_el_shape(1, d, 0, 0), FE_INIT_ZEROS, 0.0, at);
    if (p[3] < 0) return fe_el_poison();
    c->params[p[2]].residual = true;
    el_value t = node1(c, b, k, *fe_el_shape_of(c, k->v[0]), k->v[0].node);
    set_params(c, t, p, 4);
    if (t.kind == EL_TENSOR) {
        c->nodes[t.node].attr_i[0] = heads;
        c->nodes[t.node].attr_f[0] = k->v[2].f;
        c->n_attention++;
    }
    return t;
}

static el_value bi_moe(el_ctx *c, const el_builtin *b, const el_call *k)
{
    (void)b;
    return fe_el_moe(c, k);
}

/* lm_head(x [B,T,d], vocab, tied) -> [B,T,V] */
static el_value bi_lm_head(el_ctx *c, const el_builtin *b, const el_call *k)
{
    int64_t d = btd(c, k, 0, b->name);
    if (d < 0) return fe_el_poison();
    bool tied = k->v[2].b;
    int w;
    int64_t vocab;
    if (tied) {
        if (c->n_embeddings != 1) {
            fe_el_error(c, k->expr->loc, "a tied lm_head needs exactly one embedding before it; "
                        "this model has %d so far", c->n_embeddings);
            return fe_el_poison();
        }
        w = c->embedding_param;
        vocab = c->params[w].shape.dim[0];
        if (c->params[w].shape.dim[1] != d) {
            fe_el_error(c, k->loc[0], "expected a tensor of shape [B, T, %lld] here (the embedding's "
                        "width), got %s", (long long)c->params[w].shape.dim[1],
                        fe_el_shape_str(fe_el_shape_of(c, k->v[0])).s);
            return fe_el_poison();
        }
        if (k->v[1].kind == EL_INT && k->v[1].i != vocab) {
            fe_el_error(c, k->loc[1], "vocab = %lld differs from the tied embedding's vocab = %lld",
                        (long long)k->v[1].i, (long long)vocab);
            return fe_el_poison();
        }
    } else {
        if (k->v[1].kind != EL_INT) {
            fe_el_error(c, k->expr->loc, "an untied lm_head needs 'vocab': lm_head(x, vocab, tied = false)");
            return fe_el_poison();
        }
        vocab = k->v[1].i;
        if (!fe_el_check_dim(c, vocab, "'vocab'", k->loc[1])) return fe_el_poison();
        w = fe_el_param(c, k->scope, "weight", fe_el_shape(2, vocab, d, 0), FE_INIT_NORMAL, INIT_STD, k->expr->loc);
        if (w < 0) return fe_el_poison();
    }
    el_value t = node1(c, b, k, fe_el_shape(3, FE_DIM_B, FE_DIM_T, vocab), k->v[0].node);
    set_params(c, t, &w, 1);
    return t;
}

static const el_builtin BUILTINS[] = {
    { "embedding", "wte", false, FE_NODE_EMBEDDING, bi_embedding,
      EL_SPEC(EL_REQ("tokens", ET_TENSOR), EL_REQ("vocab", ET_INT), EL_REQ("d", ET_INT)) },
    { "position_embedding", "wpe", false, FE_NODE_POS_EMBEDDING, bi_position,
      EL_SPEC(EL_REQ("ctx", ET_INT), EL_REQ("d", ET_INT)) },
    { "sinusoidal_positions", NULL, false, FE_NODE_SINUSOIDAL, bi_sinusoidal, EL_SPEC(EL_REQ("d", ET_INT)) },
    { "layernorm", "ln", true, FE_NODE_LAYERNORM, bi_layernorm,
      EL_SPEC(EL_REQ("x", ET_TENSOR), EL_OPT_FLOAT("eps", 1e-5)) },
    { "linear", "linear", true, FE_NODE_LINEAR, bi_linear,
      EL_SPEC(EL_REQ("x", ET_TENSOR), EL_REQ("out", ET_INT), EL_OPT_BOOL("bias", true),
              EL_OPT_BOOL("residual", false)) },
    { "gelu", NULL, true, FE_NODE_GELU, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "relu", NULL, true, FE_NODE_RELU, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "silu", NULL, true, FE_NODE_SILU, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "tanh", NULL, true, FE_NODE_TANH, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "exp", NULL, true, FE_NODE_EXP, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "softmax", NULL, true, FE_NODE_SOFTMAX, bi_unary, EL_SPEC(EL_REQ("x", ET_TENSOR)) },
    { "dropout", NULL, true, FE_NODE_DROPOUT, bi_dropout, EL_SPEC(EL_REQ("x", ET_TENSOR), EL_REQ("p", ET_FLOAT)) },
    { "causal_self_attention", "attn", false, FE_NODE_ATTENTION, bi_attention,
      EL_SPEC(EL_REQ("x", ET_TENSOR), EL_REQ("heads", ET_INT), EL_OPT_FLOAT("dropout", 0.0)) },
    { "moe", "moe", false, FE_NODE_MOE, bi_moe,
      EL_SPEC(EL_REQ("x", ET_TENSOR), EL_REQ("experts", ET_INT), EL_REQ("expert", ET_BLOCK),
              EL_REQ("router", ET_ROUTER), EL_OPT_BOOL("upcycle", false)) },
    { "lm_head", "lm_head", false, FE_NODE_LM_HEAD, bi_lm_head,
      EL_SPEC(EL_REQ("x", ET_TENSOR), EL_OPT_NONE("vocab", ET_INT), EL_OPT_BOOL("tied", true)) },
};
enum { N_BUILTINS = sizeof BUILTINS / sizeof BUILTINS[0] };

const el_builtin *fe_el_builtin(const char *name)
{
    for (int i = 0; i < N_BUILTINS; i++)
        if (!strcmp(BUILTINS[i].name, name)) return &BUILTINS[i];
    return NULL;
}

int fe_el_builtin_names(const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < N_BUILTINS && n < max; i++) out[n++] = BUILTINS[i].name;
    return n;
}

static const char *spec_list(el_ctx *c, const el_argspec *spec, int n)
{
    const char *s = "";
    for (int i = 0; i < n && s; i++) s = *s ? fe_el_printf(c, "%s, %s", s, spec[i].name) : spec[i].name;
    return s ? s : "";
}

/* The slot a keyword names, or -1 (reported). */
static int keyword_slot(el_ctx *c, const char *what, const el_argspec *spec, int n_spec, const el_arg *a)
{
    const char *names[EL_MAX_SPEC];
    for (int i = 0; i < n_spec; i++) {
        if (!strcmp(spec[i].name, a->keyword)) return i;
        names[i] = spec[i].name;
    }
    const char *near = fe_el_closest(a->keyword, names, n_spec);
    if (near)
        fe_el_error(c, a->loc, "%s has no argument '%s'; did you mean '%s'? (arguments: %s)",
                    what, a->keyword, near, spec_list(c, spec, n_spec));
    else
        fe_el_error(c, a->loc, "%s has no argument '%s' (arguments: %s)", what, a->keyword,
                    spec_list(c, spec, n_spec));
    return -1;
}

bool fe_el_bind(el_ctx *c, const char *what, const el_argspec *spec, int n_spec,
                const el_arg *args, int n_args, moec_loc call_loc, el_value *out, moec_loc *out_loc)
{
    bool set[EL_MAX_SPEC] = { false }, ok = true;
    for (int i = 0; i < n_spec; i++) { out[i] = spec[i].def; out_loc[i] = call_loc; }
    for (int a = 0, pos = 0; a < n_args; a++) {
        int slot = args[a].keyword ? keyword_slot(c, what, spec, n_spec, &args[a]) : pos++;
        if (slot >= n_spec) {
            fe_el_error(c, args[a].loc, "%s takes at most %d argument%s, got %d", what, n_spec,
                        n_spec == 1 ? "" : "s", n_args);
            return false;
        }
        if (slot < 0) { ok = false; continue; }
        if (set[slot]) {
            fe_el_error(c, args[a].loc, "argument '%s' of %s is given twice", spec[slot].name, what);
            ok = false;
        }
        set[slot] = true;
        out[slot] = args[a].v;
        out_loc[slot] = args[a].loc;
        if (!fe_el_coerce(&out[slot], spec[slot].type)) {
            fe_el_error(c, args[a].loc, "'%s' must be %s, got %s", spec[slot].name,
                        fe_el_type_name(spec[slot].type), fe_el_kind_name(args[a].v.kind));
            ok = false;
        }
    }
    for (int i = 0; i < n_spec && ok; i++)
        if (spec[i].required && !set[i]) {
            fe_el_error(c, call_loc, "%s needs argument '%s' (arguments: %s)", what, spec[i].name,
                        spec_list(c, spec, n_spec));
            ok = false;
        }
    return ok;
}

/* Where the builtin may run: forward and blocks only, and rowwise inside experts. */
static bool allowed_here(el_ctx *c, const el_builtin *b, const fe_expr *e)
{
    if (c->mode != EM_FORWARD) {
        fe_el_error(c, e->loc, "'%s' builds the model's graph; it can only be used in forward "
                    "and in blocks", b->name);
        return false;
    }
    if (c->expert && !b->rowwise) {
        fe_el_error(c, e->loc, "'%s' cannot be used inside an expert: experts see rows of tokens; "
                    "they may use linear, layernorm, activations, dropout and arithmetic", b->name);
        return false;
    }
    return true;
}

el_value fe_el_call_builtin(el_ctx *c, const el_builtin *b, const fe_expr *e)
{
    if (!allowed_here(c, b, e)) return fe_el_poison();
    el_arg args[EL_MAX_ARGS];
    int n = 0;
    if (!fe_el_eval_call_args(c, e, b->spec, b->n_spec, args, &n)) return fe_el_poison();
    el_call k = { .expr = e };
    const char *what = fe_el_printf(c, "'%s'", b->name);
    if (!what || !fe_el_bind(c, what, b->spec, b->n_spec, args, n, e->loc, k.v, k.loc))
        return fe_el_poison();
    bool scoped = b->scope || e->as;
    k.scope = scoped ? fe_el_scope_open(c, b->scope ? b->scope : b->name, e->as) : fe_el_scope_path(c);
    if (!k.scope) return fe_el_poison();
    el_value r = b->fn(c, b, &k);
    if (scoped) fe_el_scope_close(c);
    return r;
}
