/* runtime/train/run_dir.c -- config.json, metrics.jsonl, model files and
 * JSON files of a run directory (runtime/train/run_dir.h). */
#include "runtime/train/run_dir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/json_file.h"
#include "support/atomic.h"
#include "support/file.h"

enum { PATH_MAX_LEN = 4096 };

int rt_run_create(const char *dir, moec_diag *diag)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return moec_error(diag, "%s: path too long", dir);
    for (char *p = path + 1; *p; p++) {           /* the parents */
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
            return moec_error(diag, "cannot create '%s': %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) < 0) {
        if (errno == EEXIST)
            return moec_error(diag, "the run directory '%s' exists; give another --out, or continue it with --resume %s",
                              dir, dir);
        return moec_error(diag, "cannot create '%s': %s", dir, strerror(errno));
    }
    return 0;
}

static json_t *train_json(const fe_model *m)
{
    const fe_train *t = &m->train;
    return json_pack("{s:I,s:I,s:I,s:f,s:f,s:I,s:s,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:b,s:f,s:I}",
                     "steps", (json_int_t)t->steps, "batch", (json_int_t)t->batch, "seq", (json_int_t)t->seq,
                     "lr", t->lr, "min_lr", t->min_lr, "warmup", (json_int_t)t->warmup, "schedule",
                     fe_schedule_names[t->schedule], "beta1", t->beta1, "beta2", t->beta2, "eps", t->eps,
                     "weight_decay", t->weight_decay, "clip", t->clip, "eval_every", (json_int_t)t->eval_every,
                     "eval_steps", (json_int_t)t->eval_steps, "seed", (json_int_t)t->seed, "precision",
                     fe_precision_names[t->precision], "accum", (json_int_t)t->accum, "checkpoint_every",
                     (json_int_t)(t->checkpoint_every ? t->checkpoint_every : t->eval_every), "keep_checkpoints",
                     (json_int_t)t->keep_checkpoints, "collapse_stop", t->collapse_stop, "collapse_threshold",
                     t->collapse_threshold, "collapse_patience", (json_int_t)t->collapse_patience);
}

static json_t *params_json(const fe_model *m)
{
    json_t *o = json_object();
    for (int i = 0; o && i < m->n_params; i++) {
        json_t *shape = json_array();
        for (int k = 0; shape && k < m->params[i].shape.rank; k++)
            json_array_append_new(shape, json_integer(m->params[i].shape.dim[k]));
        json_object_set_new(o, m->params[i].name, shape);
    }
    return o;
}

static json_t *sets_json(const rt_run_config *c)
{
    json_t *a = json_array();
    for (int i = 0; a && i < c->n_sets; i++) json_array_append_new(a, json_string(c->sets[i]));
    return a;
}

int rt_run_config_write(const char *dir, const rt_run_config *c, const fe_model *m, moec_diag *diag)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    json_t *o = json_object();
    if (!o) return moec_error(diag, "out of memory");
    json_object_set_new(o, "moec_version", json_string(c->moec_version));
    json_object_set_new(o, "model_file", json_string(c->model_file));
    json_object_set_new(o, "model_name", json_string(m->name ? m->name : ""));
    json_object_set_new(o, "model_source", json_string(c->model_source));
    json_object_set_new(o, "sets", sets_json(c));
    json_object_set_new(o, "data", json_string(c->data));
    json_object_set_new(o, "steps", json_integer(c->steps));
    json_object_set_new(o, "batch", json_integer(c->batch));
    json_object_set_new(o, "seq", json_integer(c->seq));
    json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(o, "backend", json_string(c->backend));
    json_object_set_new(o, "threads", json_integer(c->threads));
    json_object_set_new(o, "init", c->init ? json_string(c->init) : json_null());
    int64_t world = c->world_size > 1 ? c->world_size : 1;
    json_object_set_new(o, "world_size", json_integer(world));
    json_object_set_new(o, "global_batch", json_integer(c->batch * m->train.accum * world));
    json_object_set_new(o, "vocab", json_integer(m->vocab));
    json_object_set_new(o, "parameters", json_integer(fe_model_param_count(m)));
    json_object_set_new(o, "train", train_json(m));
    json_object_set_new(o, "params", params_json(m));
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = rt_json_write_file(path, o, true, diag);
    json_decref(o);
    return rc;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int rt_run_config_read(const char *dir, rt_run_config *c, moec_diag *diag)
{
    memset(c, 0, sizeof *c);
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t je;
    if (access(path, F_OK) != 0)
        return moec_error(diag, "%s: no such file; is '%s' a moec train run directory?", path, dir);
    if (!(c->root = json_load_file(path, 0, &je))) return moec_error(diag, "%s: %s", path, je.text);
    json_t *r = c->root, *sets = json_object_get(r, "sets");
    c->moec_version = get_str(r, "moec_version");
    c->model_file = get_str(r, "model_file");
    c->model_source = get_str(r, "model_source");
    c->data = get_str(r, "data");
    c->backend = get_str(r, "backend");
    c->init = get_str(r, "init");
    c->steps = json_integer_value(json_object_get(r, "steps"));
    c->batch = json_integer_value(json_object_get(r, "batch"));
    c->seq = json_integer_value(json_object_get(r, "seq"));
    c->seed = (uint64_t)json_integer_value(json_object_get(r, "seed"));
    c->threads = json_integer_value(json_object_get(r, "threads"));
    json_t *ws = json_object_get(r, "world_size");
    c->world_size = json_is_integer(ws) ? json_integer_value(ws) : 1;   /* runs before data parallelism: one process */
    if (!c->model_file || !c->model_source || !c->data || !c->backend || !json_is_array(sets) || c->steps < 1 ||
        c->batch < 1 || c->seq < 1) {
        rt_run_config_free(c);
        return moec_error(diag, "%s: lacks model_file, model_source, sets, data, backend, steps, batch or seq", path);
    }
    c->n_sets = (int)json_array_size(sets);
    if (!(c->sets = calloc((size_t)c->n_sets + 1, sizeof *c->sets))) {
        rt_run_config_free(c);
        return moec_error(diag, "out of memory");
    }
    for (int i = 0; i < c->n_sets; i++)
        if (!(c->sets[i] = json_string_value(json_array_get(sets, (size_t)i)))) {
            rt_run_config_free(c);
            return moec_error(diag, "%s: sets[%d] is not a string", path, i);
        }
    return 0;
}

void rt_run_config_free(rt_run_config *c)
{
    free(c->sets);
    json_decref(c->root);
    memset(c, 0, sizeof *c);
}

int rt_run_write_model(const char *dir, const char *base, const rt_weights *w, const rt_run_config *c,
                       int64_t step, json_t *metrics, moec_diag *diag)
{
    char path[PATH_MAX_LEN], st[32];
    snprintf(st, sizeof st, "%" PRId64, step);
    rt_meta meta[3] = { { "moec_model", w->model->name }, { "moec_step", st }, { "moec_kind", base } };
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, base);
    if (rt_weights_save(w, path, meta, 3, diag) < 0) return -1;
    json_t *o = json_object();
    if (!o) return moec_error(diag, "out of memory");
    json_object_set_new(o, "step", json_integer(step));
    json_object_set_new(o, "model_file", json_string(c->model_file));
    json_object_set_new(o, "model_name", json_string(w->model->name ? w->model->name : ""));
    json_object_set_new(o, "sets", sets_json(c));
    json_object_set_new(o, "parameters", json_integer(w->total));
    json_object_set_new(o, "config", json_string("config.json"));
    if (metrics) json_object_set(o, "metrics", metrics);
    snprintf(path, sizeof path, "%s/%s.json", dir, base);
    int rc = rt_json_write_file(path, o, true, diag);
    json_decref(o);
    return rc;
}

int rt_metrics_log_open(rt_metrics_log *log, const char *dir, int64_t keep_bytes, moec_diag *diag)
{
    memset(log, 0, sizeof *log);
    size_t n = strlen(dir) + sizeof "/metrics.jsonl";
    if (!(log->path = malloc(n))) return moec_error(diag, "out of memory");
    snprintf(log->path, n, "%s/metrics.jsonl", dir);
    char *old = NULL;
    size_t len = 0;
    if (keep_bytes > 0) {
        if (moec_file_read_all(log->path, MOEC_FILE_NO_LIMIT, NULL, &old, &len, diag) < 0) return -1;
        if ((int64_t)len < keep_bytes) {
            free(old);
            return moec_error(diag, "%s: %zu bytes, the checkpoint recorded %lld", log->path, len,
                              (long long)keep_bytes);
        }
    }
    int64_t keep = keep_bytes > 0 ? keep_bytes : 0;
    int rc = moec_atomic_write(log->path, old ? old : "", (size_t)keep, diag);
    free(old);
    if (rc < 0) return -1;
    if (!(log->f = fopen(log->path, "ab"))) return moec_error(diag, "cannot open '%s': %s", log->path, strerror(errno));
    log->bytes = keep;
    return 0;
}

int rt_metrics_log_append(rt_metrics_log *log, json_t *line, moec_diag *diag)
{
    char *text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
    if (!text) return moec_error(diag, "out of memory");
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, log->f) != n || fputc('\n', log->f) == EOF || fflush(log->f) != 0;
    free(text);
    if (bad) return moec_error(diag, "cannot write '%s': %s", log->path, strerror(errno));
    log->bytes += (int64_t)n + 1;
    return 0;
}

int rt_metrics_log_sync(rt_metrics_log *log, moec_diag *diag)
{
    if (fflush(log->f) != 0 || fsync(fileno(log->f)) != 0)
        return moec_error(diag, "cannot sync '%s': %s", log->path, strerror(errno));
    return 0;
}

void rt_metrics_log_close(rt_metrics_log *log)
{
    if (log->f) fclose(log->f);
    free(log->path);
    memset(log, 0, sizeof *log);
}
