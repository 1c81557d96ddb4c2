/* runtime/train/metrics.c -- losses and router metrics accumulated over
 * batches (runtime/train/metrics.h; definitions in doc/names-and-metrics.md,
 * "Metrics"). Every MoE layer keeps one group of sums for all counted rows
 * and one per domain; a batch is read whole into scratch buffers and checked
 * before any sum changes, so a failed add leaves the metrics as they were. */
#include "runtime/train/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sums over the counted rows of one layer, overall or for one domain. */
typedef struct use_sums {
    double rows, assignments, dropped, unrouted, entropy;
    double *count;     /* [E] assignments to e, before capacity */
    double *psum;      /* [E] sum over rows of the clean p_e */
} use_sums;

/* One MoE layer: how its router lays out SCOPE.assign, and its sums. */
typedef struct layer {
    const char *scope;
    int index;          /* L of the names */
    int64_t experts;    /* E */
    bool choice;        /* expert choice: assign is [E,C] rows; else [n,k] experts */
    bool per_sequence;  /* a router row is a sequence (unit sequence, label): n = B */
    bool has_probs;
    bool capped;        /* slot router with a capacity: SCOPE.keep [n,k] exists */
    int64_t rows;       /* n */
    int64_t k;          /* slots per row (slot routers) */
    int64_t cap;        /* C (expert choice) */
    char *name_probs, *name_assign, *name_keep;
    double *probs, *assign, *keep;   /* scratch: the batch's values */
    use_sums *sums;     /* [1 + n_domains]: all rows, then each domain */
} layer;

struct rt_metrics {
    moec_diag *diag;
    int64_t batch, seq;
    char **domains;
    size_t n_domains;
    layer *layers;
    int n_layers;
    double *token_loss;         /* scratch [B*T] */
    int64_t *row_domain;        /* scratch [B*T]: the domain of a router row, or -1 when it does not count */
    int64_t *row_hits;          /* scratch [B*T]: kept assignments reaching a row */
    int64_t batches;
    double loss, lb_loss, z_loss;   /* sums of the batches' scalars */
    double *tok_sum, *tok_count;    /* [1 + n_domains] token_loss over counted positions */
};

/* ---- set-up ---- */

/* L of "h.3.mlp": its first component made only of digits; -1 when none. */
static int scope_index(const char *scope)
{
    for (const char *s = scope; s && *s;) {
        const char *end = strchr(s, '.');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        bool digits = len > 0 && len < 9;
        for (size_t i = 0; digits && i < len; i++) digits = isdigit((unsigned char)s[i]);
        if (digits) return atoi(s);
        s = end ? end + 1 : NULL;
    }
    return -1;
}

static char *dup_printf(const char *scope, const char *suffix)
{
    size_t n = strlen(scope) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", scope, suffix);
    return s;
}

/* The layout of layer l's values, as ir/moe.c builds them (doc/kernels.md,
 * "Buffers"): rows n = B*T, or B for a sequence unit and the label router;
 * expert choice keeps C = floor(n cf / E) in 1..n rows per expert. */
static void layer_geometry(layer *l, const fe_router *r, int64_t e, int64_t batch, int64_t seq)
{
    l->experts = e;
    l->choice = r->kind == FE_ROUTER_EXPERT_CHOICE;
    l->per_sequence = r->unit == FE_UNIT_SEQUENCE || r->kind == FE_ROUTER_LABEL;
    l->has_probs = r->kind != FE_ROUTER_HASH && r->kind != FE_ROUTER_LABEL;
    l->rows = l->per_sequence ? batch : batch * seq;
    l->k = l->choice ? 0 : r->k;
    l->capped = !l->choice && r->capacity_factor > 0.0;
    if (l->choice) {
        int64_t c = (int64_t)floor((double)l->rows * r->capacity_factor / (double)e);
        l->cap = c < 1 ? 1 : c > l->rows ? l->rows : c;
    }
}

static int64_t assign_numel(const layer *l)
{
    return l->choice ? l->experts * l->cap : l->rows * l->k;
}

static int layer_init(rt_metrics *mt, layer *l, const fe_node *n, const fe_model *m)
{
    const fe_router *r = &m->routers[n->attr_i[0]];
    l->scope = n->scope ? n->scope : "moe";
    layer_geometry(l, r, n->attr_i[1], mt->batch, mt->seq);
    if (l->experts < 1 || l->experts > RT_METRICS_MAX_EXPERTS || (!l->choice && (l->k < 1 || l->k > l->experts)))
        return moec_error(mt->diag, "metrics: MoE layer %s has %lld experts and k %lld, which the metrics cannot count",
                          l->scope, (long long)l->experts, (long long)l->k);
    size_t e = (size_t)l->experts, groups = 1 + mt->n_domains;
    l->name_probs = dup_printf(l->scope, ".probs");
    l->name_assign = dup_printf(l->scope, ".assign");
    l->name_keep = dup_printf(l->scope, ".keep");
    l->probs = l->has_probs ? malloc(sizeof(double) * (size_t)l->rows * e) : NULL;
    l->assign = malloc(sizeof(double) * (size_t)assign_numel(l));
    l->keep = l->capped ? malloc(sizeof(double) * (size_t)(l->rows * l->k)) : NULL;
    l->sums = calloc(groups, sizeof *l->sums);
    bool ok = l->name_probs && l->name_assign && l->name_keep && l->assign && l->sums && (l->probs || !l->has_probs) &&
              (l->keep || !l->capped);
    for (size_t g = 0; ok && g < groups; g++) {
        l->sums[g].count = calloc(e, sizeof(double));
        l->sums[g].psum = calloc(e, sizeof(double));
        ok = l->sums[g].count && l->sums[g].psum;
    }
    return ok ? 0 : moec_error(mt->diag, "metrics: out of memory");
}

/* Every layer gets the index of its scope unless two would share one: then
 * each gets its place among the MoE layers (0, 1, ...). */
static void layer_indices(rt_metrics *mt)
{
    bool unique = true;
    for (int i = 0; i < mt->n_layers; i++) {
        mt->layers[i].index = scope_index(mt->layers[i].scope);
        if (mt->layers[i].index < 0) unique = false;
        for (int j = 0; j < i; j++) unique = unique && mt->layers[j].index != mt->layers[i].index;
    }
    for (int i = 0; !unique && i < mt->n_layers; i++) mt->layers[i].index = i;
}

rt_metrics *rt_metrics_new(const fe_model *m, char *const *domains, size_t n_domains, int64_t batch, int64_t seq,
                           moec_diag *diag)
{
    if (batch < 1 || seq < 1 || batch > (INT64_C(1) << 40) / seq || n_domains > 256 || (n_domains && !domains)) {
        moec_error(diag, "metrics: batch %lld x seq %lld with %zu domains cannot be counted", (long long)batch,
                   (long long)seq, n_domains);
        return NULL;
    }
    rt_metrics *mt = calloc(1, sizeof *mt);
    if (!mt) return moec_error(diag, "metrics: out of memory"), NULL;
    mt->diag = diag;
    mt->batch = batch;
    mt->seq = seq;
    size_t groups = 1 + n_domains, positions = (size_t)(batch * seq);
    int n_moe = 0;
    for (int i = 0; i < m->n_nodes; i++) n_moe += m->nodes[i].op == FE_NODE_MOE;
    mt->domains = calloc(n_domains + 1, sizeof(char *));
    mt->layers = calloc((size_t)n_moe + 1, sizeof(layer));
    mt->token_loss = malloc(sizeof(double) * positions);
    mt->row_domain = malloc(sizeof(int64_t) * positions);
    mt->row_hits = malloc(sizeof(int64_t) * positions);
    mt->tok_sum = calloc(groups, sizeof(double));
    mt->tok_count = calloc(groups, sizeof(double));
    bool ok = mt->domains && mt->layers && mt->token_loss && mt->row_domain && mt->row_hits && mt->tok_sum &&
              mt->tok_count;
    for (size_t d = 0; ok && d < n_domains; d++) {
        mt->domains[d] = strdup(domains[d] ? domains[d] : "");
        ok = mt->domains[d] != NULL;
        mt->n_domains = d + 1;
    }
    if (!ok) {
        moec_error(diag, "metrics: out of memory");
        rt_metrics_free(mt);
        return NULL;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].op != FE_NODE_MOE) continue;
        if (layer_init(mt, &mt->layers[mt->n_layers++], &m->nodes[i], m) < 0) {
            rt_metrics_free(mt);
            return NULL;
        }
    }
    layer_indices(mt);
    return mt;
}

void rt_metrics_free(rt_metrics *mt)
{
    if (!mt) return;
    for (int i = 0; i < mt->n_layers; i++) {
        layer *l = &mt->layers[i];
        for (size_t g = 0; l->sums && g < 1 + mt->n_domains; g++) {
            free(l->sums[g].count);
            free(l->sums[g].psum);
        }
        free(l->sums);
        free(l->name_probs);
        free(l->name_assign);
        free(l->name_keep);
        free(l->probs);
        free(l->assign);
        free(l->keep);
    }
    for (size_t d = 0; mt->domains && d < mt->n_domains; d++) free(mt->domains[d]);
    free(mt->domains);
    free(mt->layers);
    free(mt->token_loss);
    free(mt->row_domain);
    free(mt->row_hits);
    free(mt->tok_sum);
    free(mt->tok_count);
    free(mt);
}

void rt_metrics_reset(rt_metrics *mt)
{
    size_t groups = 1 + mt->n_domains;
    mt->batches = 0;
    mt->loss = mt->lb_loss = mt->z_loss = 0;
    memset(mt->tok_sum, 0, sizeof(double) * groups);
    memset(mt->tok_count, 0, sizeof(double) * groups);
    for (int i = 0; i < mt->n_layers; i++) {
        layer *l = &mt->layers[i];
        for (size_t g = 0; g < groups; g++) {
            use_sums *u = &l->sums[g];
            u->rows = u->assignments = u->dropped = u->unrouted = u->entropy = 0;
            memset(u->count, 0, sizeof(double) * (size_t)l->experts);
            memset(u->psum, 0, sizeof(double) * (size_t)l->experts);
        }
    }
}

/* ---- adding a batch ---- */

static int read_value(rt_metrics *mt, rt_value_reader *read, void *ctx, const char *name, double *out, int64_t n)
{
    if (read(ctx, name, out, n) == 0) return 0;
    return moec_error(mt->diag, "metrics: the step has no value '%s' of %lld elements (is it compiled with keep_stats?)",
                      name, (long long)n);
}

/* Every value of the batch into the scratch buffers, checked. */
static int read_batch(rt_metrics *mt, rt_value_reader *read, void *ctx, double scalars[4])
{
    static const char *const names[4] = { "loss", "lm_loss", "lb_loss", "z_loss" };
    for (int i = 0; i < 4; i++)
        if (read_value(mt, read, ctx, names[i], &scalars[i], 1) < 0) return -1;
    if (read_value(mt, read, ctx, "token_loss", mt->token_loss, mt->batch * mt->seq) < 0) return -1;
    for (int i = 0; i < mt->n_layers; i++) {
        layer *l = &mt->layers[i];
        if (read_value(mt, read, ctx, l->name_assign, l->assign, assign_numel(l)) < 0) return -1;
        if (l->has_probs && read_value(mt, read, ctx, l->name_probs, l->probs, l->rows * l->experts) < 0) return -1;
        if (l->capped && read_value(mt, read, ctx, l->name_keep, l->keep, l->rows * l->k) < 0) return -1;
        int64_t n = assign_numel(l), limit = l->choice ? l->rows : l->experts;
        for (int64_t j = 0; j < n; j++)
            if (!(l->assign[j] >= 0 && l->assign[j] < (double)limit && l->assign[j] == floor(l->assign[j])))
                return moec_error(mt->diag, "metrics: %s holds %g at %lld, not an index below %lld", l->name_assign,
                                  l->assign[j], (long long)j, (long long)limit);
    }
    return 0;
}

enum { ROW_SKIPPED = -1, ROW_NO_DOMAIN = -2 };

/* row_domain[r] for layer l: the domain of router row r, ROW_NO_DOMAIN
 * without domains, or ROW_SKIPPED when the row does not count. A sequence
 * row counts when one of its positions does, with the domain of its first
 * counted one. */
static void row_domains(rt_metrics *mt, const layer *l, const uint8_t *domain, const uint8_t *valid)
{
    int64_t t = mt->seq;
    for (int64_t r = 0; r < l->rows; r++) {
        mt->row_domain[r] = ROW_SKIPPED;
        int64_t first = l->per_sequence ? r * t : r, end = l->per_sequence ? (r + 1) * t : r + 1;
        for (int64_t p = first; p < end; p++) {
            if (valid && !valid[p]) continue;
            mt->row_domain[r] = domain ? domain[p] : ROW_NO_DOMAIN;
            break;
        }
    }
}

/* Adds one assignment of row r to expert e, and whether it was kept. */
static void add_assignment(rt_metrics *mt, layer *l, int64_t r, int64_t e, bool kept)
{
    int64_t d = mt->row_domain[r];
    if (d == ROW_SKIPPED) return;
    mt->row_hits[r] += kept;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && d < 0) break;
        use_sums *u = &l->sums[pass == 0 ? 0 : 1 + d];
        u->count[e] += 1;
        u->assignments += 1;
        u->dropped += !kept;
    }
}

static void add_layer(rt_metrics *mt, layer *l, const uint8_t *domain, const uint8_t *valid)
{
    int64_t e = l->experts;
    row_domains(mt, l, domain, valid);
    memset(mt->row_hits, 0, sizeof(int64_t) * (size_t)l->rows);
    if (l->choice) {
        for (int64_t x = 0; x < e; x++)
            for (int64_t c = 0; c < l->cap; c++) add_assignment(mt, l, (int64_t)l->assign[x * l->cap + c], x, true);
    } else {
        for (int64_t r = 0; r < l->rows; r++)
            for (int64_t s = 0; s < l->k; s++)
                add_assignment(mt, l, r, (int64_t)l->assign[r * l->k + s], !l->capped || l->keep[r * l->k + s] != 0.0);
    }
    for (int64_t r = 0; r < l->rows; r++) {
        int64_t d = mt->row_domain[r];
        if (d == ROW_SKIPPED) continue;
        double h = 0;
        const double *p = l->has_probs ? &l->probs[r * e] : NULL;
        for (int64_t x = 0; p && x < e; x++)
            if (p[x] > 0) h -= p[x] * log(p[x]);
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1 && d < 0) break;
            use_sums *u = &l->sums[pass == 0 ? 0 : 1 + d];
            u->rows += 1;
            u->unrouted += mt->row_hits[r] == 0;
            u->entropy += h;
            for (int64_t x = 0; p && x < e; x++) u->psum[x] += p[x];
        }
    }
}

int rt_metrics_add(rt_metrics *mt, rt_value_reader *read, void *ctx, const uint8_t *token_domain,
                   const uint8_t *token_valid, const uint8_t *token_predicts)
{
    int64_t n = mt->batch * mt->seq;
    for (int64_t p = 0; token_domain && p < n; p++)
        if ((!token_valid || token_valid[p]) && token_domain[p] >= mt->n_domains)
            return moec_error(mt->diag, "metrics: position %lld has domain %d of %zu", (long long)p, token_domain[p],
                              mt->n_domains);
    double scalars[4];
    if (read_batch(mt, read, ctx, scalars) < 0) return -1;
    mt->batches++;
    mt->loss += scalars[0];
    mt->lb_loss += scalars[2];
    mt->z_loss += scalars[3];
    for (int64_t p = 0; p < n; p++) {
        if ((token_valid && !token_valid[p]) || (token_predicts && !token_predicts[p])) continue;
        mt->tok_sum[0] += mt->token_loss[p];
        mt->tok_count[0] += 1;
        if (token_domain && mt->n_domains) {
            mt->tok_sum[1 + token_domain[p]] += mt->token_loss[p];
            mt->tok_count[1 + token_domain[p]] += 1;
        }
    }
    for (int i = 0; i < mt->n_layers; i++) add_layer(mt, &mt->layers[i], mt->n_domains ? token_domain : NULL, token_valid);
    return 0;
}

/* ---- results ---- */

/* ---- the sums as one vector ---- */

/* Copies n doubles between a sum and the vector at *at (out: sum -> vector;
 * else vector -> sum); a NULL vector only counts. */
static void move(double *sum, size_t n, double *vec, size_t *at, bool out)
{
    if (vec) {
        if (out) memcpy(vec + *at, sum, sizeof(double) * n);
        else memcpy(sum, vec + *at, sizeof(double) * n);
    }
    *at += n;
}

/* Every sum in a fixed order: batches, the batches' scalars, the token
 * losses, then per layer and group (all rows, each domain) its row sums and
 * expert counts. Returns the number of values. */
static size_t walk(rt_metrics *mt, double *vec, bool out)
{
    size_t at = 0, groups = 1 + mt->n_domains;
    double batches = (double)mt->batches;
    move(&batches, 1, vec, &at, out);
    if (vec && !out) mt->batches = (int64_t)batches;
    move(&mt->loss, 1, vec, &at, out);
    move(&mt->lb_loss, 1, vec, &at, out);
    move(&mt->z_loss, 1, vec, &at, out);
    move(mt->tok_sum, groups, vec, &at, out);
    move(mt->tok_count, groups, vec, &at, out);
    for (int i = 0; i < mt->n_layers; i++) {
        layer *l = &mt->layers[i];
        for (size_t g = 0; g < groups; g++) {
            use_sums *u = &l->sums[g];
            move(&u->rows, 1, vec, &at, out);
            move(&u->assignments, 1, vec, &at, out);
            move(&u->dropped, 1, vec, &at, out);
            move(&u->unrouted, 1, vec, &at, out);
            move(&u->entropy, 1, vec, &at, out);
            move(u->count, (size_t)l->experts, vec, &at, out);
            move(u->psum, (size_t)l->experts, vec, &at, out);
        }
    }
    return at;
}

/* walk with out = true writes nothing into mt: the casts below only let one walker serve both ways. */
size_t rt_metrics_n_sums(const rt_metrics *mt) { return walk((rt_metrics *)mt, NULL, true); }
void rt_metrics_export(const rt_metrics *mt, double *out) { walk((rt_metrics *)mt, out, true); }
void rt_metrics_import(rt_metrics *mt, const double *in) { walk(mt, (double *)in, false); }

int64_t rt_metrics_batches(const rt_metrics *mt) { return mt->batches; }
double rt_metrics_loss(const rt_metrics *mt) { return mt->batches ? mt->loss / (double)mt->batches : NAN; }
double rt_metrics_lm_loss(const rt_metrics *mt) { return mt->tok_count[0] > 0 ? mt->tok_sum[0] / mt->tok_count[0] : NAN; }

double rt_metrics_domain_loss(const rt_metrics *mt, int domain)
{
    if (domain < 0 || (size_t)domain >= mt->n_domains || !(mt->tok_count[1 + domain] > 0)) return NAN;
    return mt->tok_sum[1 + domain] / mt->tok_count[1 + domain];
}

int rt_metrics_n_layers(const rt_metrics *mt) { return mt->n_layers; }

int rt_metrics_layer_use(const rt_metrics *mt, int index, int domain, rt_layer_use *out)
{
    memset(out, 0, sizeof *out);
    if (index < 0 || index >= mt->n_layers || (domain >= 0 && (size_t)domain >= mt->n_domains)) return -1;
    const layer *l = &mt->layers[index];
    const use_sums *u = &l->sums[domain < 0 ? 0 : 1 + domain];
    int64_t e = l->experts;
    out->scope = l->scope;
    out->layer = l->index;
    out->experts = (int)e;
    out->has_probs = l->has_probs;
    out->rows = u->rows;
    out->assignments = u->assignments;
    if (!(u->rows > 0) || !(u->assignments > 0)) return -1;
    double lne = log((double)e), use_h = 0, dist_h = 0;
    out->max_expert = 0;
    for (int64_t x = 0; x < e; x++) {
        double f = u->count[x] / u->assignments, pm = u->psum[x] / u->rows;
        out->frac[x] = f;
        if (f > out->frac[out->max_expert]) out->max_expert = (int)x;
        if (f > 0) use_h -= f * log(f);
        if (pm > 0) dist_h -= pm * log(pm);
    }
    out->max_frac = out->frac[out->max_expert];
    out->use_entropy_norm = e > 1 ? use_h / lne : 1.0;
    out->imbalance = (double)e * out->max_frac;
    out->dropped = u->dropped / u->assignments;
    out->unrouted = u->unrouted / u->rows;
    if (l->has_probs) {
        out->routing_entropy = u->entropy / u->rows;
        out->dist_entropy = dist_h;
        out->dist_entropy_norm = e > 1 ? dist_h / lne : 1.0;
    }
    return 0;
}

/* ---- JSON ---- */

static int put(json_t *line, const char *key, double v)
{
    json_t *x = json_real(v);   /* NULL for NaN or an infinity */
    if (!x) x = json_null();
    return x && json_object_set_new(line, key, x) == 0 ? 0 : -1;
}

static int write_layer(const rt_metrics *mt, int i, int domain, json_t *line)
{
    rt_layer_use u;
    if (rt_metrics_layer_use(mt, i, domain, &u) < 0) return 0;   /* no row of that domain */
    char suffix[300] = "", key[512];
    if (domain >= 0) snprintf(suffix, sizeof suffix, "_%s", mt->domains[domain]);
    int rc = 0;
    for (int x = 0; x < u.experts; x++) {
        snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac%s", u.layer, x, suffix);
        rc |= put(line, key, u.frac[x]);
    }
    const struct { const char *name; double v; bool on; } more[] = {
        { "entropy", u.routing_entropy, u.has_probs },
        { "dist_entropy", u.dist_entropy_norm, u.has_probs },
        { "imbalance", u.imbalance, true },
        { "dropped", u.dropped, true },
        { "unrouted", u.unrouted, true },
    };
    for (size_t j = 0; j < sizeof more / sizeof more[0]; j++) {
        if (!more[j].on) continue;
        snprintf(key, sizeof key, "router/layer_%d_%s%s", u.layer, more[j].name, suffix);
        rc |= put(line, key, more[j].v);
    }
    return rc;
}

int rt_metrics_write(const rt_metrics *mt, const char *kind, json_t *line)
{
    bool eval = kind && !strcmp(kind, "eval");
    if (!eval && !(kind && !strcmp(kind, "train")))
        return moec_error(mt->diag, "metrics: unknown kind '%s' (train or eval)", kind ? kind : "(null)");
    if (mt->batches == 0) return moec_error(mt->diag, "metrics: no batch was added");
    double nb = (double)mt->batches, lm = rt_metrics_lm_loss(mt);
    char key[320];
    int rc = 0;
    const struct { const char *name; double v; } losses[] = {
        { "loss", mt->loss / nb }, { "lm_loss", lm }, { "lb_loss", mt->lb_loss / nb }, { "z_loss", mt->z_loss / nb },
    };
    for (size_t j = 0; j < sizeof losses / sizeof losses[0]; j++) {
        snprintf(key, sizeof key, "%s/%s", kind, losses[j].name);
        rc |= put(line, key, losses[j].v);
    }
    if (eval) rc |= put(line, "eval/perplexity", exp(lm));
    for (size_t d = 0; d < mt->n_domains; d++) {
        if (!(mt->tok_count[1 + d] > 0)) continue;
        snprintf(key, sizeof key, "%s/loss_%s", kind, mt->domains[d]);
        rc |= put(line, key, rt_metrics_domain_loss(mt, (int)d));
    }
    for (int i = 0; eval && i < mt->n_layers; i++)
        for (int d = -1; d < (int)mt->n_domains; d++) rc |= write_layer(mt, i, d, line);
    return rc ? moec_error(mt->diag, "metrics: out of memory writing the metrics") : 0;
}
