/* tests/train/test_metrics.c -- runtime/train/metrics.h against values
 * known without it: a batch computed by hand (one top-1 layer, two
 * domains), then random batches for every router layout (top-2, a capacity
 * that drops, noisy top-2, expert choice, sequence routing, the label
 * router) drawn and evaluated by an independent Python reference
 * (tests/train/test_metrics_ref.py) from the definitions of
 * doc/names-and-metrics.md: every JSON key of the "train" and "eval" lines
 * and every rt_layer_use field must agree to 1e-9, and the key sets must be
 * the same. The seed is fresh each run (printed; MOEC_TEST_SEED repeats
 * one). Also: a step without the kept values is refused with nothing added. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cli_args.h"
#include "runtime/train/metrics.h"
#include "tests/tap.h"

static const double TOL = 1e-9;

/* ---- a reader over a JSON batch: {"scalars": {...}, "values": {...}} ---- */

static int json_reader(void *ctx, const char *name, double *out, int64_t numel)
{
    json_t *batch = ctx;
    json_t *v = json_object_get(json_object_get(batch, "scalars"), name);
    if (v && json_is_number(v)) {
        if (numel != 1) return -1;
        out[0] = json_number_value(v);
        return 0;
    }
    v = json_object_get(json_object_get(batch, "values"), name);
    if (!json_is_array(v) || (int64_t)json_array_size(v) != numel) return -1;
    for (int64_t i = 0; i < numel; i++) out[i] = json_number_value(json_array_get(v, (size_t)i));
    return 0;
}

/* A JSON array of integers as bytes (NULL for null). */
static uint8_t *bytes_of(json_t *a)
{
    if (!json_is_array(a)) return NULL;
    uint8_t *b = malloc(json_array_size(a) + 1);
    for (size_t i = 0; b && i < json_array_size(a); i++) b[i] = (uint8_t)json_integer_value(json_array_get(a, i));
    return b;
}

/* ---- helpers ---- */

static bool near(double a, double b)
{
    return fabs(a - b) <= TOL * fmax(1.0, fabs(b));
}

static int elaborate(rt_frontend *fe, const char *file, const char *const *sets, int n_sets)
{
    char path[512];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/models/%s", top ? top : ".", file);
    return rt_frontend_elaborate_sets(fe, path, sets, n_sets);
}

/* Compares two metric lines: the same keys, values within TOL (null = null). */
static bool same_line(json_t *got, json_t *want, const char *what)
{
    bool ok = json_object_size(got) == json_object_size(want);
    if (!ok) tap_diag("  %s: %zu keys, the reference has %zu", what, json_object_size(got), json_object_size(want));
    const char *key;
    json_t *w;
    json_object_foreach(want, key, w) {
        json_t *g = json_object_get(got, key);
        if (!g) {
            tap_diag("  %s: no key %s", what, key);
            ok = false;
        } else if (!near(json_number_value(g), json_number_value(w))) {
            tap_diag("  %s: %s = %.17g, the reference %.17g", what, key, json_number_value(g), json_number_value(w));
            ok = false;
        }
    }
    return ok;
}

/* ---- a batch by hand ---- */

static const char *const TINY[] = { "vocab=11", "d=8", "heads=2", "ctx=8", "seq=8", "layers=2", "moe_from=1",
                                    "experts=3" };

typedef struct hand_values { const double *probs, *assign, *token_loss; } hand_values;

static int hand_reader(void *ctx, const char *name, double *out, int64_t numel)
{
    const hand_values *h = ctx;
    static const double scalars[4] = { 3.0, 2.5, 1.25, 0.5 };
    static const char *const names[4] = { "loss", "lm_loss", "lb_loss", "z_loss" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) return numel == 1 ? (out[0] = scalars[i], 0) : -1;
    const double *src = !strcmp(name, "token_loss") ? h->token_loss : !strcmp(name, "h.1.mlp.probs") ? h->probs
                      : !strcmp(name, "h.1.mlp.assign") ? h->assign : NULL;
    int64_t want = !strcmp(name, "h.1.mlp.probs") ? 12 : 4;
    if (!src || numel != want) return -1;
    memcpy(out, src, sizeof(double) * (size_t)numel);
    return 0;
}

/* gpt2-moe-tiny with one MoE layer h.1.mlp (top-1, E = 3, no capacity),
 * B = 1, T = 4, positions of domains a a b b:
 *   assign 0 0 1 2; p = (1,0,0) (1/2,1/2,0) (1/3,1/3,1/3) (0,0,1); token_loss 1 2 3 4.
 * All: f = (1/2, 1/4, 1/4), imbalance 3/2, routing entropy (ln 2 + ln 3)/4,
 * P = (11/24, 5/24, 8/24); domain a: f = (1, 0, 0), imbalance 3, entropy
 * ln 2 / 2, use entropy 0; losses 2.5, a 1.5, b 3.5. */
static void test_hand(void)
{
    rt_frontend fe;
    memset(&fe, 0, sizeof fe);
    if (elaborate(&fe, "gpt2-moe-tiny.moe", TINY, 8)) {
        tap_ok(false, "hand: the model elaborates");
        rt_frontend_free(&fe);
        return;
    }
    char *domains[] = { "a", "b" };
    moec_diag diag;
    moec_diag_collect(&diag, 0);
    rt_metrics *mt = rt_metrics_new(&fe.model, domains, 2, 1, 4, &diag);
    const double third = 1.0 / 3.0;
    const double probs[12] = { 1, 0, 0, 0.5, 0.5, 0, third, third, third, 0, 0, 1 };
    const double assign[4] = { 0, 0, 1, 2 }, token_loss[4] = { 1, 2, 3, 4 };
    hand_values hv = { probs, assign, token_loss };
    const uint8_t dom[4] = { 0, 0, 1, 1 };
    bool added = mt && rt_metrics_add(mt, hand_reader, &hv, dom, NULL, NULL) == 0;
    tap_ok(added && rt_metrics_n_layers(mt) == 1, "hand: one batch added, one MoE layer");
    rt_layer_use u, a;
    bool got = added && rt_metrics_layer_use(mt, 0, -1, &u) == 0 && rt_metrics_layer_use(mt, 0, 0, &a) == 0;
    double pm[3] = { 11.0 / 24, 5.0 / 24, 8.0 / 24 }, dist = 0;
    for (int i = 0; i < 3; i++) dist -= pm[i] * log(pm[i]);
    tap_ok(got && u.layer == 1 && u.experts == 3 && u.rows == 4 && u.assignments == 4 && near(u.frac[0], 0.5) &&
               near(u.frac[1], 0.25) && near(u.frac[2], 0.25) && u.max_expert == 0 && near(u.max_frac, 0.5) &&
               near(u.imbalance, 1.5) && near(u.routing_entropy, (log(2) + log(3)) / 4) &&
               near(u.dist_entropy, dist) && near(u.dist_entropy_norm, dist / log(3)) && u.dropped == 0 &&
               u.unrouted == 0,
           "hand: layer h.1 over all rows: fractions, entropies, imbalance");
    tap_ok(got && a.rows == 2 && near(a.frac[0], 1) && a.frac[1] == 0 && near(a.imbalance, 3) &&
               near(a.routing_entropy, log(2) / 2) && a.use_entropy_norm == 0,
           "hand: layer h.1 over domain a");
    tap_ok(added && near(rt_metrics_lm_loss(mt), 2.5) && near(rt_metrics_loss(mt), 3.0) &&
               near(rt_metrics_domain_loss(mt, 0), 1.5) && near(rt_metrics_domain_loss(mt, 1), 3.5),
           "hand: lm_loss 2.5, loss 3, domains 1.5 and 3.5");
    json_t *line = json_object();
    bool wrote = added && rt_metrics_write(mt, "eval", line) == 0;
    tap_ok(wrote && near(json_real_value(json_object_get(line, "eval/perplexity")), exp(2.5)) &&
               near(json_real_value(json_object_get(line, "router/layer_1_expert_0_frac_a")), 1.0) &&
               near(json_real_value(json_object_get(line, "router/layer_1_entropy_b")), log(3) / 2) &&
               near(json_real_value(json_object_get(line, "eval/loss_b")), 3.5),
           "hand: the eval line by name");
    json_decref(line);

    /* No domains (moec sample): the same overall values, no per-domain names; position 3 left out. */
    rt_metrics *nd = rt_metrics_new(&fe.model, NULL, 0, 1, 4, &diag);
    const uint8_t valid[4] = { 1, 1, 1, 0 };
    rt_layer_use v;
    line = json_object();
    bool nd_ok = nd && rt_metrics_add(nd, hand_reader, &hv, NULL, valid, NULL) == 0 &&
                 rt_metrics_layer_use(nd, 0, -1, &v) == 0 && rt_metrics_layer_use(nd, 0, 0, &a) < 0 &&
                 rt_metrics_write(nd, "eval", line) == 0;
    tap_ok(nd_ok && v.rows == 3 && near(v.frac[0], 2.0 / 3) && near(v.frac[1], 1.0 / 3) && v.frac[2] == 0 &&
               near(v.routing_entropy, (log(2) + log(3)) / 3) && near(rt_metrics_lm_loss(nd), 2.0) &&
               json_object_size(line) == 5 + 3 + 5,
           "hand: without domains and with a position left out: 3 rows, f = (2/3, 1/3, 0), %zu keys",
           json_object_size(line));
    json_decref(line);
    rt_metrics_free(nd);

    /* Positions 1 and 3 predict nothing (the last of their blocks): every row is
     * still routed, the losses are over positions 0 and 2 only: 2, a 1, b 3. */
    rt_metrics *np = rt_metrics_new(&fe.model, domains, 2, 1, 4, &diag);
    const uint8_t predicts[4] = { 1, 0, 1, 0 };
    bool np_ok = np && rt_metrics_add(np, hand_reader, &hv, dom, NULL, predicts) == 0 &&
                 rt_metrics_layer_use(np, 0, -1, &v) == 0;
    tap_ok(np_ok && v.rows == 4 && near(v.frac[0], 0.5) && near(rt_metrics_lm_loss(np), 2.0) &&
               near(rt_metrics_domain_loss(np, 0), 1.0) && near(rt_metrics_domain_loss(np, 1), 3.0),
           "hand: positions without a target are routed but left out of the losses");
    rt_metrics_free(np);

    /* Refusals: a domain out of range, a step without token_loss; nothing added either time. */
    const uint8_t bad[4] = { 0, 2, 0, 0 };
    bool refused = mt && rt_metrics_add(mt, hand_reader, &hv, bad, NULL, NULL) < 0;
    hand_values missing = { probs, assign, NULL };
    refused = refused && rt_metrics_add(mt, hand_reader, &missing, dom, NULL, NULL) < 0;
    tap_ok(refused && rt_metrics_batches(mt) == 1 && near(rt_metrics_lm_loss(mt), 2.5) &&
               strstr(moec_diag_text(&diag), "keep_stats"),
           "hand: a bad domain and a step without token_loss are refused, nothing added");
    line = json_object();
    rt_metrics_reset(mt);
    tap_ok(mt && rt_metrics_batches(mt) == 0 && rt_metrics_write(mt, "eval", line) < 0 &&
               rt_metrics_layer_use(mt, 0, -1, &u) < 0,
           "hand: after reset nothing is left to write");
    json_decref(line);
    rt_metrics_free(mt);
    moec_diag_free(&diag);
    rt_frontend_free(&fe);
}

/* ---- random batches against the Python reference ---- */

typedef struct ref_case {
    const char *file;
    const char *sets[10];
} ref_case;

#define T8 "vocab=11", "d=8", "heads=2", "ctx=8", "seq=8"
static const ref_case CASES[] = {
    {"gpt2-moe-tiny.moe", {T8, "layers=3", "moe_from=1", "experts=4", "top_k=2"}},
    {"chimera-tiny.moe", {T8, "experts=3"}},                            /* capacity 1.0: drops */
    {"chimera-tiny.moe", {T8, "experts=4", "noisy_gate=true", "top_k=2"}},
    {"small-moe-tiny.moe", {T8, "experts=3", "router_kind=expert_choice"}},
    {"fan-routing-tiny.moe", {T8, "experts=3", "unit=sequence", "top_k=2"}},
    {"fan-routing-tiny.moe", {T8, "experts=3", "router_mode=label"}},
};

/* SPEC for the reference: batch, seq, domains, seed and the MoE layers. */
static json_t *spec_of(const fe_model *m, int64_t b, int64_t t, char *const *domains, size_t nd, unsigned seed)
{
    json_t *layers = json_array(), *doms = json_array();
    for (size_t d = 0; d < nd; d++) json_array_append_new(doms, json_string(domains[d]));
    for (int i = 0; i < m->n_nodes; i++) {
        const fe_node *n = &m->nodes[i];
        if (n->op != FE_NODE_MOE) continue;
        const fe_router *r = &m->routers[n->attr_i[0]];
        json_array_append_new(layers, json_pack("{s:s, s:s, s:i, s:s, s:f, s:I}", "scope", n->scope, "kind",
                                                fe_router_kind_names[r->kind], "k", r->k, "unit",
                                                fe_routing_unit_names[r->unit], "capacity_factor", r->capacity_factor,
                                                "experts", (json_int_t)n->attr_i[1]));
    }
    return json_pack("{s:I, s:I, s:o, s:i, s:i, s:o}", "batch", (json_int_t)b, "seq", (json_int_t)t, "domains", doms,
                     "batches", 3, "seed", (int)seed, "layers", layers);
}

/* Runs the reference on spec; its output, or NULL. */
static json_t *run_reference(json_t *spec, const char *dir)
{
    char in[600], out[600], cmd[2048];
    snprintf(in, sizeof in, "%s/spec.json", dir);
    snprintf(out, sizeof out, "%s/ref.json", dir);
    if (json_dump_file(spec, in, 0) < 0) return NULL;
    const char *top = getenv("top_srcdir");
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/train/test_metrics_ref.py' '%s' '%s'", top ? top : ".", in, out);
    if (system(cmd) != 0) return tap_diag("  '%s' failed (python3 is needed)", cmd), NULL;
    json_error_t err;
    json_t *ref = json_load_file(out, 0, &err);
    remove(in);
    remove(out);
    return ref;
}

static bool same_use(const rt_metrics *mt, json_t *uses, const char *name)
{
    size_t i;
    json_t *w;
    int matched = 0, defined = 0;
    bool ok = true;
    json_array_foreach(uses, i, w) {
        rt_layer_use u;
        int index = (int)json_integer_value(json_object_get(w, "index"));
        int domain = (int)json_integer_value(json_object_get(w, "domain"));
        if (rt_metrics_layer_use(mt, index, domain, &u) < 0) {
            tap_diag("  %s: layer %d domain %d: no use, the reference has one", name, index, domain);
            ok = false;
            continue;
        }
        matched++;
        const struct { const char *key; double v; } f[] = {
            {"rows", u.rows}, {"assignments", u.assignments}, {"max_frac", u.max_frac}, {"max_expert", u.max_expert},
            {"imbalance", u.imbalance}, {"use_entropy_norm", u.use_entropy_norm}, {"dropped", u.dropped},
            {"unrouted", u.unrouted}, {"routing_entropy", u.routing_entropy}, {"dist_entropy", u.dist_entropy},
            {"dist_entropy_norm", u.dist_entropy_norm}, {"layer", u.layer},
        };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
            json_t *x = json_object_get(w, f[k].key);
            if (!x && !u.has_probs && strstr(f[k].key, "entropy") && strcmp(f[k].key, "use_entropy_norm")) continue;
            if (!x || !near(f[k].v, json_number_value(x))) {
                tap_diag("  %s: layer %d domain %d: %s = %.17g, the reference %.17g", name, index, domain, f[k].key,
                         f[k].v, x ? json_number_value(x) : NAN);
                ok = false;
            }
        }
        json_t *frac = json_object_get(w, "frac");
        for (int e = 0; e < u.experts; e++) ok = ok && near(u.frac[e], json_number_value(json_array_get(frac, (size_t)e)));
    }
    for (int l = 0; l < rt_metrics_n_layers(mt); l++)
        for (int d = -1; d < 3; d++) {
            rt_layer_use u;
            defined += rt_metrics_layer_use(mt, l, d, &u) == 0;
        }
    if (defined != matched) tap_diag("  %s: %d layer uses defined, the reference has %d", name, defined, matched);
    return ok && defined == matched && matched > 0;
}

static void test_reference(const ref_case *rc, unsigned seed, const char *dir)
{
    char name[256];
    int n_sets = 0;
    while (n_sets < 10 && rc->sets[n_sets]) n_sets++;
    int used = snprintf(name, sizeof name, "%s", rc->file);
    for (int i = 5; i < n_sets && used < (int)sizeof name; i++) used += snprintf(name + used, sizeof name - (size_t)used, " %s", rc->sets[i]);
    rt_frontend fe;
    memset(&fe, 0, sizeof fe);
    moec_diag diag;
    moec_diag_collect(&diag, 0);
    char *domains[] = { "code", "math", "prose" };
    const int64_t b = 3, t = 5;
    rt_metrics *mt = NULL;
    json_t *spec = NULL, *ref = NULL;
    if (elaborate(&fe, rc->file, rc->sets, n_sets) == 0) {
        mt = rt_metrics_new(&fe.model, domains, 3, b, t, &diag);
        spec = spec_of(&fe.model, b, t, domains, 3, seed);
        ref = spec ? run_reference(spec, dir) : NULL;
    }
    bool ok = mt && ref;
    size_t i;
    json_t *batch;
    json_array_foreach(ok ? json_object_get(ref, "batches") : NULL, i, batch) {
        uint8_t *dom = bytes_of(json_object_get(batch, "token_domain"));
        uint8_t *valid = bytes_of(json_object_get(batch, "token_valid"));
        if (!dom || !valid || rt_metrics_add(mt, json_reader, batch, dom, valid, NULL) < 0) {
            tap_diag("  %s: batch %zu not added: %s", name, i, moec_diag_text(&diag));
            ok = false;
        }
        free(dom);
        free(valid);
    }
    tap_ok(ok && rt_metrics_batches(mt) == 3, "%s: 3 random batches added (seed %u)", name, seed);
    json_t *train = json_object(), *eval = json_object();
    bool wrote = ok && rt_metrics_write(mt, "train", train) == 0 && rt_metrics_write(mt, "eval", eval) == 0;
    tap_ok(wrote && same_line(train, json_object_get(ref, "train"), "train") &&
               same_line(eval, json_object_get(ref, "eval"), "eval"),
           "%s: the train line and the eval line (%zu keys) agree with the reference within %g", name,
           json_object_size(eval), TOL);
    tap_ok(ok && same_use(mt, json_object_get(ref, "use"), name),
           "%s: every layer's use, overall and per domain, agrees with the reference", name);
    json_decref(train);
    json_decref(eval);
    json_decref(spec);
    json_decref(ref);
    rt_metrics_free(mt);
    moec_diag_free(&diag);
    rt_frontend_free(&fe);
}

int main(void)
{
    test_hand();
    const char *env = getenv("MOEC_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
    tap_diag("seed %u (MOEC_TEST_SEED=%u repeats this run)", seed, seed);
    char dir[] = "/tmp/moec-test-metrics-XXXXXX";
    if (!mkdtemp(dir)) {
        tap_ok(false, "a temporary folder");
        return tap_done();
    }
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) test_reference(&CASES[c], seed + (unsigned)c, dir);
    rmdir(dir);
    return tap_done();
}
