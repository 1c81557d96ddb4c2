/* runtime/weights/load.c -- a safetensors file into a model's weights (rt_weights_load).
 * Two passes: first every file tensor is matched to a param by the name
 * rules (doc/weights.md#name-rules-loading-into-a-model) and every param is
 * checked to be covered, collecting all the problems; only a clean match
 * reads data. Upcycling fills expert params from
 * the dense tensors they name (fe_param.upcycle_from) plus scaled Philox noise. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/philox.h"
#include "runtime/weights/safetensors.h"
#include "runtime/weights/weights.h"

enum { UPCYCLE_NOISE_STEP = 1 };   /* Philox step of upcycle noise; init uses step 0 */
enum { BAD_TENSOR = -2 };          /* file_of: present but wrong; already reported, not "missing" */

typedef struct load_ctx {
    rt_weights *w;
    const rt_st_file *f;
    bool upcycle;
    double perturb;
    uint64_t seed;
    moec_diag *diag;
    int *file_of;           /* [params]: file tensor loaded into it, -1 none, BAD_TENSOR reported */
    int *source_of;         /* [params]: upcycle source file tensor, or -1 */
    int tied_head;          /* file tensor `lm_head.weight` of a tied model, or -1 */
    int embedding;          /* param the tied head reuses, or -1 when untied */
    int status;             /* -1 once any error was added */
} load_ctx;

/* The file's name without the `transformer.` prefix of Hugging Face files. */
static const char *strip_prefix(const char *name)
{
    static const char PREFIX[] = "transformer.";
    return strncmp(name, PREFIX, sizeof PREFIX - 1) ? name : name + sizeof PREFIX - 1;
}

/* True when `name` is `suffix` or ends in ".suffix". */
static bool ends_with_part(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && !strcmp(name + n - k, suffix) && (n == k || name[n - k - 1] == '.');
}

static bool same_shape(const rt_st_tensor *t, const fe_shape *s)
{
    if (t->rank != s->rank) return false;
    for (int k = 0; k < t->rank; k++)
        if (t->shape[k] != s->dim[k]) return false;
    return true;
}

/* Tensor t must have param p's shape and a float dtype; else an error naming both shapes. */
static bool check_tensor(load_ctx *c, const rt_st_tensor *t, int p, const char *role)
{
    const fe_param *param = &c->w->model->params[p];
    char fs[160], ms[160];
    if (!same_shape(t, &param->shape)) {
        c->status = moec_error(c->diag, "%s: tensor '%s'%s: shape %s in the file, %s in the model", c->f->path,
                               t->name, role, rt_st_shape_str(fs, sizeof fs, t->rank, t->shape),
                               rt_st_shape_str(ms, sizeof ms, param->shape.rank, param->shape.dim));
        return false;
    }
    if (t->dtype != RT_ST_F32 && t->dtype != RT_ST_F16 && t->dtype != RT_ST_BF16) {
        c->status = moec_error(c->diag, "%s: tensor '%s'%s: dtype %s; moec reads F32, F16 and BF16", c->f->path,
                               t->name, role, rt_st_dtype_name(t->dtype));
        return false;
    }
    return true;
}

/* First param whose upcycle source is `name`, or -1. */
static int upcycle_target(const load_ctx *c, const char *name)
{
    for (int p = 0; p < c->w->n; p++) {
        const char *from = c->w->model->params[p].upcycle_from;
        if (from && !strcmp(from, name)) return p;
    }
    return -1;
}

/* moe-emergence's integer router buffers: kept in w->router, not as params. */
static void read_router_buffer(load_ctx *c, int i, const char *name)
{
    int64_t v;
    bool step = ends_with_part(name, "router.training_step");
    bool *has = step ? &c->w->router.has_training_step : &c->w->router.has_anneal_steps;
    if (rt_st_read_scalar_i64(c->f, i, &v, c->diag) < 0) {
        c->status = -1;
        return;
    }
    if (*has) return;   /* one value per model: the first layer's */
    *has = true;
    *(step ? &c->w->router.training_step : &c->w->router.anneal_steps) = v;
}

/* A file tensor no param claims: a known extra (ignored, read aside, a tied
 * head, an upcycle source) or an error. */
static void match_extra(load_ctx *c, int i, const char *name)
{
    const rt_st_tensor *t = &c->f->tensors[i];
    if (ends_with_part(name, "attn.bias") || ends_with_part(name, "attn.masked_bias")) return;
    if (ends_with_part(name, "router.training_step") || ends_with_part(name, "router.anneal_steps")) {
        read_router_buffer(c, i, name);
        return;
    }
    if (!strcmp(name, "lm_head.weight") && c->embedding >= 0) {
        if (check_tensor(c, t, c->embedding, " (tied to the embedding)")) c->tied_head = i;
        return;
    }
    int target = upcycle_target(c, name);
    if (target >= 0 && c->upcycle) return;   /* consumed by the experts */
    char fs[160];
    c->status = moec_error(c->diag, "%s: unknown tensor '%s' %s: the model has no parameter of that name%s",
                           c->f->path, t->name, rt_st_shape_str(fs, sizeof fs, t->rank, t->shape),
                           target >= 0 ? " (its experts copy it: a dense checkpoint? load it with --upcycle)" : "");
}

/* Pass 1a: every file tensor to a param, or to one of the rules for extras. */
static void match_file(load_ctx *c)
{
    for (int i = 0; i < c->f->n_tensors; i++) {
        const rt_st_tensor *t = &c->f->tensors[i];
        const char *name = strip_prefix(t->name);
        int p = rt_weights_find(c->w, name);
        if (p < 0) {
            match_extra(c, i, name);
        } else if (c->file_of[p] != -1) {
            c->status = moec_error(c->diag, "%s: tensor '%s' appears twice (as '%s' and '%s')", c->f->path, name,
                                   c->file_of[p] >= 0 ? c->f->tensors[c->file_of[p]].name : name, t->name);
        } else {
            c->file_of[p] = check_tensor(c, t, p, "") ? i : BAD_TENSOR;
        }
    }
}

/* The file tensor called `name`, with or without the prefix, or -1. */
static int find_in_file(const rt_st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(strip_prefix(f->tensors[i].name), name)) return i;
    return -1;
}

/* Pass 1b: every param the file does not hold is upcycled, kept fresh, or missing. */
static void match_params(load_ctx *c)
{
    for (int p = 0; p < c->w->n; p++) {
        if (c->file_of[p] != -1) continue;
        const fe_param *param = &c->w->model->params[p];
        if (c->upcycle && param->upcycle_from) {
            int s = find_in_file(c->f, param->upcycle_from);
            if (s >= 0) {
                char role[256];
                snprintf(role, sizeof role, " (upcycle source of '%s')", param->name);
                if (check_tensor(c, &c->f->tensors[s], p, role)) c->source_of[p] = s;
                continue;
            }
        }
        if (c->upcycle && param->router >= 0) continue;   /* the router stays freshly initialised */
        char ms[160];
        c->status = moec_error(c->diag, "%s: missing tensor '%s' %s: the model has it, the file does not%s",
                               c->f->path, param->name,
                               rt_st_shape_str(ms, sizeof ms, param->shape.rank, param->shape.dim),
                               c->upcycle && param->upcycle_from ? " (nor its upcycle source)" : "");
    }
}

/* The param a tied LM head reuses (the embedding), or -1 when the head has its own. */
static int tied_embedding(const fe_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        const fe_node *n = &m->nodes[i];
        if (n->op != FE_NODE_LM_HEAD || n->n_param < 1 || n->param[0] < 0) continue;
        return strcmp(m->params[n->param[0]].name, "lm_head.weight") ? n->param[0] : -1;
    }
    return -1;
}

/* Sample standard deviation (n - 1, as torch.std), in double. */
static double tensor_std(const float *x, int64_t n)
{
    if (n < 2) return 0.0;
    double mean = 0.0, ss = 0.0;
    for (int64_t e = 0; e < n; e++) mean += x[e];
    mean /= (double)n;
    for (int64_t e = 0; e < n; e++) ss += (x[e] - mean) * (x[e] - mean);
    return sqrt(ss / (double)(n - 1));
}

/* Expert param p = its dense source + perturb * std(source) * N(0, 1). */
static int upcycle_param(load_ctx *c, int p)
{
    float *x = c->w->data[p];
    if (rt_st_read_f32(c->f, c->source_of[p], x, c->diag) < 0) return -1;
    double scale = c->perturb * tensor_std(x, c->w->numel[p]);
    if (scale == 0.0) return 0;
    for (int64_t e = 0; e < c->w->numel[p]; e++)
        x[e] += (float)(scale * ir_philox_normal(c->seed, UPCYCLE_NOISE_STEP, (uint32_t)p, (uint64_t)e));
    return 0;
}

/* A tied model accepts the file's lm_head only when it equals the embedding. */
static int check_tied_head(load_ctx *c)
{
    const rt_st_tensor *t = &c->f->tensors[c->tied_head];
    const float *emb = c->w->data[c->embedding];
    float *head = malloc((size_t)t->numel * sizeof *head + 1);
    if (!head) return moec_error(c->diag, "%s: out of memory", c->f->path);
    int status = rt_st_read_f32(c->f, c->tied_head, head, c->diag);
    for (uint64_t e = 0; status == 0 && e < t->numel; e++) {
        if (head[e] == emb[e]) continue;
        status = moec_error(c->diag, "%s: tensor '%s' differs from '%s' (element %" PRIu64 ": %g vs %g), but the "
                            "model ties the LM head to the embedding", c->f->path, t->name,
                            c->w->model->params[c->embedding].name, e, (double)head[e], (double)emb[e]);
    }
    free(head);
    return status;
}

/* Pass 2: the data, once pass 1 found nothing wrong. */
static int read_all(load_ctx *c)
{
    for (int p = 0; p < c->w->n; p++) {
        if (c->file_of[p] >= 0 && rt_st_read_f32(c->f, c->file_of[p], c->w->data[p], c->diag) < 0) return -1;
        if (c->source_of[p] >= 0 && upcycle_param(c, p) < 0) return -1;
    }
    return c->tied_head >= 0 ? check_tied_head(c) : 0;
}

/* Runs both passes over an open file. */
static int load_file(load_ctx *c)
{
    memset(&c->w->router, 0, sizeof c->w->router);
    if (c->upcycle) rt_weights_init(c->w, c->seed);
    match_file(c);
    match_params(c);
    if (c->status < 0) return -1;
    return read_all(c);
}

int rt_weights_load(rt_weights *w, const char *path, const rt_load_options *opt, moec_diag *diag)
{
    rt_st_file f;
    if (rt_st_open(&f, path, diag) < 0) return -1;
    load_ctx c = {
        .w = w, .f = &f, .diag = diag, .tied_head = -1, .embedding = tied_embedding(w->model),
        .upcycle = opt && opt->upcycle, .perturb = opt ? opt->perturb : 0.0, .seed = opt ? opt->seed : 0,
    };
    c.file_of = malloc(((size_t)w->n + 1) * sizeof *c.file_of);
    c.source_of = malloc(((size_t)w->n + 1) * sizeof *c.source_of);
    int status;
    if (!c.file_of || !c.source_of) {
        status = moec_error(diag, "%s: out of memory", path);
    } else {
        for (int p = 0; p < w->n; p++) c.file_of[p] = c.source_of[p] = -1;
        status = load_file(&c);
    }
    free(c.file_of);
    free(c.source_of);
    rt_st_close(&f);
    return status;
}
