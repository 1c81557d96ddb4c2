/* frontend/elab_internal.h -- shared state of elaboration (AST -> fe_model).
 * Private to frontend/elab*.c: the elaboration context (one per fe_elaborate
 * call, no globals), compile-time values, environments, scopes and the
 * helpers each module offers the others. Reads ast.h, writes model.h.
 * Shape legend: B batch, T sequence, d width, V vocabulary, E experts. */
#ifndef MOEC_ELAB_INTERNAL_H
#define MOEC_ELAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"

/* ---- values (elab_value.c) ---- */

/* Kinds of compile-time values, by the words messages use for them. */
#define EL_KINDS(X) \
    X(EL_NONE, "nothing")              /* no value: an optional argument left out */ \
    X(EL_POISON, "an erroneous value") /* the result of an error: silences follow-on errors */ \
    X(EL_INT, "an integer") \
    X(EL_FLOAT, "a float") \
    X(EL_BOOL, "a bool") \
    X(EL_STRING, "a string") \
    X(EL_TENSOR, "a tensor")           /* node id; the shape is the node's */ \
    X(EL_ROUTER, "a router")           /* index into the model's routers */ \
    X(EL_BLOCK, "a block")             /* a block item */ \
    X(EL_TARGETS, "the targets")       /* `targets` in the loss: the inputs shifted by one */
typedef enum el_kind { EL_KINDS(FE_LIST_ENUM) } el_kind;
enum { EL_KIND_COUNT = 0 EL_KINDS(FE_LIST_COUNT) };

typedef struct el_value {
    el_kind kind;
    union {
        int64_t i;
        double f;
        bool b;
        const char *s;
        int node;
        int router;
        const fe_item *block;
    };
} el_value;

/* What an argument slot or a setting expects, by the words messages use. */
#define EL_TYPES(X) \
    X(ET_TENSOR, "a tensor") \
    X(ET_INT, "an integer") \
    X(ET_FLOAT, "a number")                /* an int is accepted too */ \
    X(ET_BOOL, "a bool (true or false)") \
    X(ET_STRING, "a string") \
    X(ET_ROUTER, "a router") \
    X(ET_BLOCK, "a block") \
    X(ET_TARGETS, "the targets")
typedef enum el_type { EL_TYPES(FE_LIST_ENUM) } el_type;
enum { EL_TYPE_COUNT = 0 EL_TYPES(FE_LIST_COUNT) };

/* One formal of a builtin or router kind; `def.kind == EL_NONE` and
 * !required means optional without a default. */
typedef struct el_argspec {
    const char *name;
    el_type type;
    bool required;
    el_value def;
} el_argspec;

enum { EL_MAX_SPEC = 8 };

/* Entries of an argument list: required, or optional with a default. */
#define EL_REQ(n, t) { n, t, true, { .kind = EL_NONE } }
#define EL_OPT_NONE(n, t) { n, t, false, { .kind = EL_NONE } }
#define EL_OPT_INT(n, v) { n, ET_INT, false, { .kind = EL_INT, .i = v } }
#define EL_OPT_FLOAT(n, v) { n, ET_FLOAT, false, { .kind = EL_FLOAT, .f = v } }
#define EL_OPT_BOOL(n, v) { n, ET_BOOL, false, { .kind = EL_BOOL, .b = v } }
#define EL_OPT_STRING(n, v) { n, ET_STRING, false, { .kind = EL_STRING, .s = v } }
/* An argument list written once, as the initializer of the members `n_spec`
 * and `spec[EL_MAX_SPEC]`: its length is counted from the list, and a list
 * longer than EL_MAX_SPEC does not compile (excess initializers). */
#define EL_SPEC(...) \
    .n_spec = (int)(sizeof (el_argspec[]){ __VA_ARGS__ } / sizeof (el_argspec)), .spec = { __VA_ARGS__ }

/* An evaluated argument of a call. */
typedef struct el_arg {
    const char *keyword;   /* NULL when positional */
    el_value v;
    moec_loc loc;
} el_arg;

/* ---- file scope: params, routers, blocks ---- */

#define EL_GLOBAL_KINDS(X) X(EG_PARAM, "param") X(EG_ROUTER, "router") X(EG_BLOCK, "block")
typedef enum el_global_kind { EL_GLOBAL_KINDS(FE_LIST_ENUM) } el_global_kind;
enum { EL_GLOBAL_KIND_COUNT = 0 EL_GLOBAL_KINDS(FE_LIST_COUNT) };

typedef struct el_global {
    el_global_kind kind;
    const char *name;
    const fe_item *item;
    bool ready;            /* params and routers: evaluated (usable) */
    bool used;             /* named somewhere else in the file (elab_unused.c) */
    el_value v;
} el_global;

/* A local binding of a block call or of forward. name NULL = dead slot. */
typedef struct el_binding {
    const char *name;
    el_value v;
} el_binding;

/* Default-name counters of one scope: `ln`, `ln_1`, ... */
typedef struct el_count {
    const char *name;
    int n;
    struct el_count *next;
} el_count;

typedef struct el_scope {
    const char *path;      /* full dotted path; "" at the root */
    el_count *counts;
} el_scope;

/* Set while an expert block runs inside a moe call. */
typedef struct el_expert {
    const char *moe_scope;     /* "h.8.mlp" */
    const char *expert_scope;  /* "h.8.mlp.experts.3" */
    bool upcycle;
} el_expert;

typedef enum el_mode {
    EM_PARAM,     /* a param default */
    EM_ROUTER,    /* a router declaration: router kinds allowed */
    EM_FORWARD,   /* forward and blocks: tensor builtins allowed */
    EM_LOSS,      /* the loss: coefficients */
    EM_TRAIN,     /* train settings */
} el_mode;

enum {
    EL_MAX_SCOPES = 2 * FE_MAX_CALL_DEPTH + 16,
    EL_MAX_ARGS = 16,          /* arguments of one call */
};

typedef struct el_ctx {
    moec_diag *d;
    moec_arena *arena;
    const fe_override *sets;
    int n_sets;
    fe_model *m;

    /* growing tables (malloc), copied into the arena at the end */
    fe_param *params;       int n_params, cap_params;
    fe_node *nodes;         int n_nodes, cap_nodes;
    fe_router *routers;     int n_routers, cap_routers;
    fe_loss_term *loss;     int n_loss, cap_loss;
    fe_value_param *values; int n_values, cap_values;
    el_global *globals;     int n_globals, cap_globals;
    el_binding *locals;     int n_locals, cap_locals;
    int frame_base;                                  /* first local of the running call */
    const char **name_tab;  int *name_ids; int cap_names, n_names; /* param name -> id */

    el_scope scopes[EL_MAX_SCOPES]; int n_scopes;
    const fe_item *calls[FE_MAX_CALL_DEPTH]; int n_calls; /* running blocks */
    el_expert *expert;      /* non-NULL inside an expert block */
    el_mode mode;
    int nest;               /* eval depth across calls (FE_MAX_EVAL_DEPTH) */
    int64_t steps;          /* statements and iterations run (FE_MAX_ELAB_STEPS) */
    const char *router_name;/* name of the router being declared */

    const fe_item *model_item, *forward_item, *loss_item, *train_item;
    int embedding_param;    /* weight of the model's embedding, -1 if none */
    int embedding_node;
    int n_embeddings;
    int n_attention;        /* causal_self_attention calls, for the residual scale */
    int pos_node;           /* position_embedding node, -1 if none */
    moec_loc train_seq_loc;   /* where train.seq was set; line 0 = default or --set */
    bool seq_set;           /* train.seq set by the file or --set */

    bool oom, limit_hit, dup_reported;
    moec_loc *reported;       int n_reported, cap_reported;  /* places with an error already */
    bool muted;             /* the last error was a repeat: drop its notes too */
    int64_t n_raised;       /* errors raised, repeats at a reported place included:
                               a loop whose body raises one stops (elab_expr.c) */
} el_ctx;

/* True once elaboration must stop everywhere: a work limit was hit, memory
 * ran out, or the sink reached its error limit. */
static inline bool fe_el_halted(const el_ctx *c)
{
    return c->limit_hit || c->oom || moec_diag_stop(c->d);
}

/* ---- elab_value.c: values, environments, text ---- */
el_value fe_el_poison(void);
el_value fe_el_int(int64_t i);
el_value fe_el_float(double f);
el_value fe_el_bool(bool b);
el_value fe_el_tensor(int node);
const char *fe_el_kind_name(el_kind k);        /* "an integer", "a tensor", ... */
const char *fe_el_type_name(el_type t);
const char *fe_el_global_kind_name(el_global_kind k);   /* "param", "router", "block" */
/* names[0 .. n) as one phrase: each between `pre` and `post`, joined by ", "
 * and by `last` before the last one ("\"a\", \"b\" or \"c\""); cut at 255 bytes. */
typedef struct el_text { char s[256]; } el_text;
el_text fe_el_join(const char *const *names, int n, const char *pre, const char *post, const char *last);
bool fe_el_grow(el_ctx *c, void **arr, int *cap, int need, size_t elem);
void fe_el_oom(el_ctx *c);
/* Errors and notes at a place; one error per place, so a mistake inside a block
 * called twelve times is reported once (every error counts in n_raised). */
void fe_el_error(el_ctx *c, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fe_el_note(el_ctx *c, moec_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *fe_el_printf(el_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
el_global *fe_el_global(el_ctx *c, const char *name);
el_binding *fe_el_local(el_ctx *c, const char *name);
int fe_el_set_local(el_ctx *c, const char *name, el_value v);
/* Best "did you mean" among `n` names (NULL if none is close). */
const char *fe_el_closest(const char *name, const char *const *names, int n);
const char *fe_el_suggest_global(el_ctx *c, const char *name, int kinds_mask);
/* Parses --set text as a value of kind `k` (INT, FLOAT, BOOL, STRING). */
bool fe_el_parse_text(el_ctx *c, const char *text, el_kind k, el_value *out);
/* Converts to `t` where allowed (int -> float); false if the kind is wrong. */
bool fe_el_coerce(el_value *v, el_type t);

/* ---- elab_expr.c: expressions, statements, calls ---- */
el_value fe_el_eval(el_ctx *c, const fe_expr *e);
/* Evaluates an argument expected to be a router or a block: a bare unknown
 * name gets "unknown router 'x'; did you mean ...". */
el_value fe_el_eval_as(el_ctx *c, const fe_expr *e, el_type want);

/* ---- elab_call.c: block calls ---- */
el_value fe_el_call_block(el_ctx *c, const fe_item *blk, const fe_expr *call,
                          const el_arg *args, int n_args, bool open_scope);
bool fe_el_step(el_ctx *c, moec_loc loc);  /* counts a step; false past the limit */
bool fe_el_eval_call_args(el_ctx *c, const fe_expr *e, const el_argspec *spec, int n_spec,
                          el_arg *args, int *n_args);
el_value fe_el_run_body(el_ctx *c, const fe_stmt *body);

/* ---- elab_tensor.c: graph nodes, parameters, shapes ---- */
typedef struct el_shape_text { char s[112]; } el_shape_text;
el_shape_text fe_el_shape_str(const fe_shape *s);
fe_shape fe_el_shape(int rank, int64_t d0, int64_t d1, int64_t d2);
bool fe_el_shape_eq(const fe_shape *a, const fe_shape *b);
int fe_el_node(el_ctx *c, fe_node_op op, fe_shape shape, const int *in, int n_in,
               moec_loc loc, const char *scope);
int fe_el_param(el_ctx *c, const char *scope, const char *local, fe_shape shape,
                fe_init_kind init, double std, moec_loc loc);
const fe_shape *fe_el_shape_of(el_ctx *c, el_value v);
el_value fe_el_tensor_binary(el_ctx *c, fe_op op, el_value a, el_value b, moec_loc loc);
el_value fe_el_tensor_neg(el_ctx *c, el_value a, moec_loc loc);
bool fe_el_check_dim(el_ctx *c, int64_t v, const char *what, moec_loc loc);

/* ---- elab_builtins.c: the builtin table ---- */
typedef struct el_call {
    const fe_expr *expr;         /* the call */
    const char *scope;           /* scope path of the call */
    el_value v[EL_MAX_SPEC];     /* arguments in spec order */
    moec_loc loc[EL_MAX_SPEC];     /* where each came from (the call when defaulted) */
} el_call;

typedef struct el_builtin el_builtin;
const el_builtin *fe_el_builtin(const char *name);
el_value fe_el_call_builtin(el_ctx *c, const el_builtin *b, const fe_expr *call);
int fe_el_builtin_names(const char **out, int max);
/* Binds args to a spec: positional in order, then keywords. `what` names the
 * callee in messages ("'linear'", "router kind 'topk'"). */
bool fe_el_bind(el_ctx *c, const char *what, const el_argspec *spec, int n_spec,
                const el_arg *args, int n_args, moec_loc call_loc, el_value *out, moec_loc *out_loc);
el_value fe_el_moe(el_ctx *c, const el_call *k);   /* elab_moe.c */

/* ---- elab_router.c: routers, loss, train ---- */
bool fe_el_is_router_kind(const char *name);
el_value fe_el_make_router(el_ctx *c, const fe_expr *call, const el_arg *args, int n_args);
bool fe_el_is_loss_term(const char *name);
void fe_el_loss(el_ctx *c, const fe_item *loss, el_value logits);
void fe_el_train(el_ctx *c, const fe_item *train);
bool fe_el_train_override(el_ctx *c, const char *name, const char *value);
bool fe_el_is_train_key(const char *name);
int fe_el_train_keys(const char **out, int max);

/* ---- elab_names.c: scopes and parameter names ---- */
void fe_el_scope_root(el_ctx *c);
/* Opens the scope of a call: its `as` path, or `dflt` with _1, _2 on repeats.
 * Returns the full path, or NULL after an error. */
const char *fe_el_scope_open(el_ctx *c, const char *dflt, const fe_name_seg *as);
const char *fe_el_scope_open_raw(el_ctx *c, const char *path);
void fe_el_scope_close(el_ctx *c);
const char *fe_el_scope_path(const el_ctx *c);
/* Registers a full parameter name; reports a duplicate (false). */
bool fe_el_name_add(el_ctx *c, const char *name, int id);

/* ---- elab_unused.c: syntactic use of params and blocks ---- */
void fe_el_warn_unused(el_ctx *c, const fe_ast *ast);

#endif
