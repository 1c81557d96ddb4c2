/* tests/elab/elab_test.c -- unit tests of elaboration through the library API.
 * Parses small model texts in memory, elaborates them with fe_elaborate and
 * checks the fe_model directly: graph invariants (topological order, expert
 * ranges), names, init, routers, --set order, arithmetic, error counts,
 * the once-per-place rule and errors that stop loops. Links libmoec_frontend.a; prints TAP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tests/tap.h"

/* One elaboration: diagnostics go to a memory stream kept in `err`. */
typedef struct run {
    moec_diag diag;
    moec_source src;
    moec_arena arena;
    fe_ast ast;
    fe_model m;
    char *err;
    size_t err_len;
    FILE *errf;
    int status;
} run;

static void elab(run *r, const char *text, const fe_override *sets, int n_sets)
{
    memset(r, 0, sizeof *r);
    r->errf = open_memstream(&r->err, &r->err_len);
    moec_diag_init(&r->diag, r->errf, 0);
    moec_arena_init(&r->arena);
    r->status = -1;
    if (moec_source_from_memory(&r->src, "t.moe", text, strlen(text), &r->diag) < 0) return;
    r->diag.src = &r->src;
    if (fe_parse(&r->src, &r->arena, &r->diag, &r->ast) < 0) return;
    r->status = fe_elaborate(&r->ast, sets, n_sets, &r->arena, &r->diag, &r->m);
    fflush(r->errf);
}

static void done(run *r)
{
    fclose(r->errf);
    free(r->err);
    moec_arena_free(&r->arena);
    moec_source_free(&r->src);
}

static const fe_param *param(const fe_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

static const fe_value_param *value(const fe_model *m, const char *name)
{
    for (int i = 0; i < m->n_values; i++)
        if (!strcmp(m->values[i].name, name)) return &m->values[i];
    return NULL;
}

/* Inputs before uses; expert nodes lie before their MoE node, in its expert ranges. */
static bool graph_ok(const fe_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        const fe_node *n = &m->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] < 0 || n->in[k] >= i) return false;
        for (int k = 0; k < n->n_param; k++)
            if (n->param[k] >= m->n_params) return false;
        if (n->expert_of >= 0 && (n->expert_of <= i || m->nodes[n->expert_of].op != FE_NODE_MOE))
            return false;
        if (n->op != FE_NODE_MOE) continue;
        for (int e = 0; e < n->attr_i[1]; e++) {
            const fe_expert *x = &n->experts[e];
            if (m->nodes[x->input].op != FE_NODE_EXPERT_INPUT || x->output < x->input || x->output >= i)
                return false;
        }
    }
    return m->output >= 0 && m->output < m->n_nodes;
}

#define GPT2_HEAD \
    "model g\nparam vocab = 50257 param ctx = 1024 param d = 768 param heads = 12 param layers = 12\n" \
    "param experts = 8\n" \
    "router top1 = topk(k = 1, straight_through = true, frozen = false)\n" \
    "block mlp(x) = linear(gelu(linear(x, 4 * d) as c_fc), d, residual = true) as c_proj\n"
#define GPT2_TAIL \
    "forward(tokens) {\n x = embedding(tokens, vocab, d) + position_embedding(ctx, d)\n" \
    " for i in 0 .. layers { x = layer(x, i) as h[i] }\n" \
    " return lm_head(layernorm(x) as ln_f, tied = true)\n}\n" \
    "loss = cross_entropy(logits, targets) + 0.01 * load_balance(top1)\n"

static const char GPT2_MOE[] = GPT2_HEAD
    "block layer(x, i) {\n"
    " x = x + causal_self_attention(layernorm(x) as ln_1, heads = heads) as attn\n"
    " x = x + (if i >= 8 then moe(layernorm(x) as ln_2, experts = experts, expert = mlp, router = top1,\n"
    "          upcycle = true) as mlp else mlp(layernorm(x) as ln_2))\n"
    " return x\n}\n" GPT2_TAIL;

static void test_gpt2_moe(void)
{
    run r;
    elab(&r, GPT2_MOE, NULL, 0);
    tap_ok(r.status == 0 && r.diag.n_errors == 0, "GPT-2 MoE elaborates (%s)", r.err ? r.err : "");
    tap_ok(fe_model_param_count(&r.m) == 256692480, "256,692,480 parameters (got %lld)",
           (long long)fe_model_param_count(&r.m));
    tap_ok(graph_ok(&r.m), "graph invariants hold");
    const fe_param *p = param(&r.m, "h.9.mlp.experts.5.c_proj.weight");
    tap_ok(p && p->shape.rank == 2 && p->shape.dim[0] == 3072 && p->shape.dim[1] == 768,
           "h.9.mlp.experts.5.c_proj.weight [3072, 768]");
    tap_ok(p && p->upcycle_from && !strcmp(p->upcycle_from, "h.9.mlp.c_proj.weight"), "upcycle_from the dense name");
    /* 1e-12: both sides are doubles of the same formula; it only absorbs a
     * different rounding order (a few ulps of 0.004, ~1e-18). */
    tap_ok(p && p->residual && fabs(p->init_std - 0.02 / sqrt(24.0)) < 1e-12, "residual init 0.02/sqrt(2*layers)");
    const fe_param *g = param(&r.m, "h.11.mlp.router.gate.weight");
    tap_ok(g && g->trainable && g->router == 0 && g->init == FE_INIT_NORMAL && g->init_std == 0.02,
           "router gate: trainable, N(0, 0.02), tagged with its router");
    tap_ok(r.m.n_routers == 1 && r.m.routers[0].n_layers == 4 && r.m.routers[0].straight_through,
           "one router used by 4 layers");
    tap_ok(param(&r.m, "h.3.mlp.c_fc.bias") && !param(&r.m, "h.8.mlp.c_fc.bias"), "dense MLP only in dense layers");
    const fe_node *out = &r.m.nodes[r.m.output];
    tap_ok(out->op == FE_NODE_LM_HEAD && out->shape.dim[2] == 50257 && r.m.vocab == 50257 && r.m.ctx == 1024,
           "logits [B, T, 50257] from lm_head; vocab and ctx recorded");
    tap_ok(r.m.n_loss == 2 && r.m.loss[0].logits == r.m.output && r.m.loss[1].coef == 0.01,
           "loss: cross-entropy of the logits + 0.01 load balance");
    done(&r);
}

static void test_set_order(void)
{
    static const char text[] =
        "model m\nparam vocab = 11 param d = 16 param ff = 4 * d param name = \"a\" param on = true\n"
        "param lr0 = 0.5\n"
        "forward(tokens) {\n x = embedding(tokens, vocab, d)\n"
        " x = x + linear(linear(x, ff), d)\n"
        " if on and name == \"b\" { x = gelu(x) }\n"
        " return lm_head(x, tied = true) * lr0\n}\n"
        "loss = cross_entropy(logits, targets)\n";
    fe_override sets[] = { { "d", "8" }, { "name", "\"b\"" }, { "lr0", "2" }, { "steps", "77" } };
    run r;
    elab(&r, text, sets, 4);
    tap_ok(r.status == 0, "--set of int, string, float-from-int and a train setting (%s)", r.err ? r.err : "");
    const fe_value_param *ff = value(&r.m, "ff"), *lr0 = value(&r.m, "lr0");
    tap_ok(ff && ff->i == 32, "a later default sees the --set of an earlier param (ff = 4 * 8)");
    tap_ok(lr0 && lr0->type == FE_PARAM_FLOAT && lr0->f == 2.0, "a float param takes an int text");
    tap_ok(r.m.train.steps == 77, "--set steps reaches the train settings");
    bool gelu = false;
    for (int i = 0; i < r.m.n_nodes; i++) gelu |= r.m.nodes[i].op == FE_NODE_GELU;
    tap_ok(gelu, "the quoted string value compares equal to \"b\"");
    done(&r);
}

static void test_arith(void)
{
    static const char text[] =
        "model m\nparam a = -7 // 2 param b = -7 % 2 param c = 7 / 2 param e = 2 * 3 + 4 % 3\n"
        "param f = if a < b then 1.5 else 2 param g = not (a == -4) or false\n"
        "param vocab = 5 + a + b + e + g // 1 * 0 + c // 1 * 0 + f * 0\n"
        "forward(t) { return lm_head(embedding(t, 8, 4), tied = true) }\n"
        "loss = cross_entropy(logits, targets)\n";
    run r;
    elab(&r, text, NULL, 0);
    const fe_value_param *a = value(&r.m, "a"), *b = value(&r.m, "b"), *c = value(&r.m, "c"),
                         *e = value(&r.m, "e"), *f = value(&r.m, "f");
    tap_ok(a && a->i == -4 && b && b->i == 1, "// and %% floor like Python (-7 // 2 = -4, -7 %% 2 = 1)");
    tap_ok(c && c->type == FE_PARAM_FLOAT && c->f == 3.5, "/ gives a float");
    tap_ok(e && e->i == 7 && f && f->f == 1.5, "precedence and if-then-else");
    tap_ok(r.diag.n_errors > 0, "bool arithmetic is an error (%d errors)", r.diag.n_errors);
    done(&r);
}

static void test_errors_once(void)
{
    static const char text[] =
        "model m\nparam vocab = 11 param d = 16\n"
        "block layer(x) = x + linear(x, dd)\n"
        "forward(tokens) {\n x = embedding(tokens, vocab, d)\n"
        " for i in 0 .. 12 { x = layer(x) }\n"
        " return lm_head(x, tied = true)\n}\n"
        "loss = cross_entropy(logits, targets)\n";
    run r;
    elab(&r, text, NULL, 0);
    tap_ok(r.status == -1 && r.diag.n_errors == 1, "a mistake in a block called 12 times is reported once (%d)",
           r.diag.n_errors);
    done(&r);
}

/* Every name of a list finds its own value; train names set the enums. */
static void test_names(void)
{
    struct { const char *const *names; int n; } lists[] = {
        { fe_node_op_names, FE_NODE_OP_COUNT }, { fe_init_kind_names, FE_INIT_KIND_COUNT },
        { fe_router_kind_names, FE_ROUTER_KIND_COUNT }, { fe_routing_unit_names, FE_ROUTING_UNIT_COUNT },
        { fe_loss_kind_names, FE_LOSS_KIND_COUNT }, { fe_schedule_names, FE_SCHEDULE_COUNT },
        { fe_precision_names, FE_PRECISION_COUNT },
    };
    bool ok = true;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (int i = 0; i < lists[l].n; i++)
            ok &= lists[l].names[i] && fe_name_find(lists[l].names, lists[l].n, lists[l].names[i]) == i;
    tap_ok(ok && fe_name_find(fe_precision_names, FE_PRECISION_COUNT, "fp16") < 0,
           "each list's names are distinct and find their values");
    tap_ok(!strcmp(fe_router_kind_names[FE_ROUTER_EXPERT_CHOICE], "expert_choice") &&
           !strcmp(fe_precision_names[FE_PRECISION_BF16], "bf16") && !strcmp(fe_op_text(FE_OP_IDIV), "//"),
           "names follow their enums");
    static const char text[] =
        "model m\nparam vocab = 11\n"
        "forward(tokens) { return lm_head(embedding(tokens, vocab, 4), tied = true) }\n"
        "loss = cross_entropy(logits, targets)\ntrain { schedule = \"linear\" }\n";
    fe_override sets[] = { { "precision", "bf16" } };
    run r;
    elab(&r, text, NULL, 0);
    tap_ok(r.status == 0 && r.m.train.precision == FE_PRECISION_FP32 && r.m.train.schedule == FE_SCHEDULE_LINEAR,
           "precision fp32 by default; schedule \"linear\" (%s)", r.err ? r.err : "");
    done(&r);
    elab(&r, text, sets, 1);
    tap_ok(r.status == 0 && r.m.train.precision == FE_PRECISION_BF16, "--set precision=bf16");
    done(&r);
}

/* An error in a loop body stops the loop, and the loops around it. */
static void test_loop_errors(void)
{
    static const char nested[] =
        "model m\nparam vocab = 11 param d = 4\n"
        "forward(tokens) {\n x = embedding(tokens, vocab, d)\n"
        " for i in 0 .. 1000 { for j in 0 .. 30 { y = linear(x, d) as l[30 * i + j]\n z = nosuch(x) } }\n"
        " return lm_head(x, tied = true)\n}\n"
        "loss = cross_entropy(logits, targets)\n";
    run r;
    elab(&r, nested, NULL, 0);
    tap_ok(r.status == -1 && r.diag.n_errors == 1, "an error in a nested loop body is reported once (%d)",
           r.diag.n_errors);
    tap_ok(param(&r.m, "l.0.weight") && !param(&r.m, "l.1.weight") && !param(&r.m, "l.30.weight"),
           "the loop and the loop around it stop after the iteration that raised it (%d params)",
           r.m.n_params);
    done(&r);

    static const char after[] =
        "model m\nparam vocab = 11 param d = 4\n"
        "block f(x) = x + nosuch(x)\n"
        "forward(tokens) {\n x = embedding(tokens, vocab, d)\n"
        " for i in 0 .. 3 { if i == 0 { a = f(x) } else { b = linear(x, d) as b[i] } }\n"
        " x = x + b + a\n"
        " for i in 0 .. 5 { x = f(x) }\n"
        " w = gelu(tokens)\n"
        " return lm_head(x, tied = true)\n}\n"
        "loss = cross_entropy(logits, targets)\n";
    elab(&r, after, NULL, 0);
    tap_ok(r.status == -1 && r.diag.n_errors == 2 && r.err && strstr(r.err, "nosuch") &&
           strstr(r.err, "expects activations"),
           "what a stopped loop binds is poison, a repeated error stops a loop too, and statements "
           "after the loops still report (%d errors)", r.diag.n_errors);
    tap_ok(!param(&r.m, "b.1.weight"), "no iteration after the one with the error ran");
    done(&r);

    char text[4096] = "model m\nparam vocab = 11\nforward(tokens) {\n x = embedding(tokens, vocab, 4)\n"
                      " for i in 0 .. 100000 {\n";
    for (int i = 0; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof line, "  y%d = nosuch%d + i\n", i, i);
        strcat(text, line);
    }
    strcat(text, " }\n return lm_head(x, tied = true)\n}\nloss = cross_entropy(logits, targets)\n");
    elab(&r, text, NULL, 0);
    tap_ok(r.status == -1 && r.diag.n_errors == 20 && r.diag.stopped, "30 errors in a loop body stop at the limit of 20");
    done(&r);
}

static void test_limits(void)
{
    char text[4096] = "model m\nparam vocab = 11\nforward(tokens) {\n x = embedding(tokens, vocab, 4)\n";
    for (int i = 0; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof line, " y%d = nosuch%d + 1\n", i, i);
        strcat(text, line);
    }
    strcat(text, " return lm_head(x, tied = true)\n}\nloss = cross_entropy(logits, targets)\n");
    run r;
    elab(&r, text, NULL, 0);
    tap_ok(r.status == -1 && r.diag.n_errors == 20 && r.diag.stopped, "30 errors stop at the limit of 20");
    done(&r);

    fe_ast empty = { NULL };
    fe_model m;
    moec_arena a;
    moec_diag d;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    moec_diag_init(&d, f, 0);
    moec_arena_init(&a);
    int st = fe_elaborate(&empty, NULL, 0, &a, &d, &m);
    fclose(f);
    tap_ok(st == -1 && buf && strstr(buf, "empty model file"), "an empty AST is an error");
    free(buf);
    moec_arena_free(&a);
}

static void test_residual_without_layers(void)
{
    static const char text[] =
        "model m\nparam vocab = 11 param d = 8\n"
        "block blk(x) = x + causal_self_attention(layernorm(x) as ln, heads = 2) as attn\n"
        "forward(tokens) {\n x = embedding(tokens, vocab, d)\n"
        " for i in 0 .. 8 { x = blk(x) as h[i] }\n"
        " return lm_head(x, tied = true)\n}\n"
        "loss = cross_entropy(logits, targets)\n";
    run r;
    elab(&r, text, NULL, 0);
    const fe_param *p = param(&r.m, "h.7.attn.c_proj.weight");
    /* 1e-12: the same formula in doubles, as above. */
    tap_ok(r.status == 0 && p && fabs(p->init_std - 0.02 / 4.0) < 1e-12,
           "without a 'layers' param the residual scale counts attention calls (8)");
    tap_ok(graph_ok(&r.m), "graph invariants hold");
    done(&r);
}

int main(void)
{
    test_gpt2_moe();
    test_set_order();
    test_arith();
    test_names();
    test_errors_once();
    test_loop_errors();
    test_limits();
    test_residual_without_layers();
    return tap_done();
}
