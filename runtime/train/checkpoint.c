/* runtime/train/checkpoint.c -- writing, finding and reading checkpoint
 * directories (runtime/train/checkpoint.h). */
#include "runtime/train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/weights/safetensors.h"
#include "support/atomic.h"

enum { PATH_MAX_LEN = 4096 };

/* Removes a directory and the plain files in it (a checkpoint has no subdirectories). */
static int remove_dir(const char *path, moec_diag *diag)
{
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : moec_error(diag, "cannot read '%s': %s", path, strerror(errno));
    struct dirent *de;
    char f[PATH_MAX_LEN];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        unlink(f);
    }
    closedir(d);
    if (rmdir(path) < 0) return moec_error(diag, "cannot remove '%s': %s", path, strerror(errno));
    return 0;
}

/* fsync of a directory, so that a rename in it is durable. */
static int sync_dir(const char *path, moec_diag *diag)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return moec_error(diag, "cannot open '%s': %s", path, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc < 0 ? moec_error(diag, "cannot sync '%s': %s", path, strerror(errno)) : 0;
}

/* N of a name "checkpoint-step-N", or -1. */
static int64_t step_of(const char *name)
{
    static const char lead[] = "checkpoint-step-";
    if (strncmp(name, lead, sizeof lead - 1) != 0) return -1;
    const char *p = name + sizeof lead - 1;
    if (!*p) return -1;
    int64_t n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > INT64_MAX / 10 - 10) return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static int write_optimizer(const char *path, const rt_weights *m, const rt_weights *v, moec_diag *diag)
{
    const fe_model *model = m->model;
    int n = 0;
    rt_st_out *t = calloc((size_t)(2 * model->n_params + 1), sizeof *t);
    char **names = calloc((size_t)(2 * model->n_params + 1), sizeof *names);
    int rc = t && names ? 0 : moec_error(diag, "out of memory");
    for (int i = 0; rc == 0 && i < model->n_params; i++) {
        const fe_param *p = &model->params[i];
        if (!p->trainable) continue;
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(p->name) + 8;
            if (!(names[n] = malloc(len))) { rc = moec_error(diag, "out of memory"); break; }
            snprintf(names[n], len, "adam.%c.%s", k ? 'v' : 'm', p->name);
            t[n] = (rt_st_out){ names[n], p->shape.rank, p->shape.dim, (k ? v : m)->data[i] };
            n++;
        }
    }
    const char *meta[] = { "moec_kind", "adamw-moments" };
    if (rc == 0) rc = rt_st_write(path, t, n, meta, 1, diag);
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
    free(t);
    return rc;
}

static int write_state(const char *path, const rt_ckpt_state *st, moec_diag *diag)
{
    json_t *o = json_object();
    if (!o) return moec_error(diag, "out of memory");
    json_object_set_new(o, "format", json_string("moec-checkpoint"));
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "step", json_integer(st->step));
    json_object_set_new(o, "data_start", json_integer(st->data_start));
    json_object_set_new(o, "data_position", json_integer(st->data_position));
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
    json_object_set_new(o, "rng", json_pack("{s:s,s:s,s:I}", "generator", "philox4x32-10", "seed", seed,
                                            "step", (json_int_t)st->step));
    json_object_set_new(o, "metrics_bytes", json_integer(st->metrics_bytes));
    json_object_set_new(o, "best_eval_loss", st->has_best ? json_real(st->best_eval_loss) : json_null());
    json_object_set_new(o, "best_step", st->has_best ? json_integer(st->best_step) : json_null());
    json_object_set_new(o, "collapse_warnings", json_integer(st->collapse_warnings));
    json_object_set_new(o, "tokens", json_real(st->tokens));
    json_object_set_new(o, "train_seconds", json_real(st->train_seconds));
    char *text = json_dumps(o, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!text) return moec_error(diag, "out of memory");
    int rc = moec_atomic_write(path, text, strlen(text), diag);
    free(text);
    return rc;
}

/* Removes checkpoint-step-N without ever leaving it half deleted: it is
 * first renamed to its temporary name (atomic), which prune() also clears if
 * a kill stops the removal. */
static int discard_checkpoint(const char *run_dir, int64_t step, moec_diag *diag)
{
    char path[PATH_MAX_LEN], gone[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/checkpoint-step-%" PRId64, run_dir, step);
    snprintf(gone, sizeof gone, "%s/.checkpoint-step-%" PRId64 ".tmp", run_dir, step);
    if (remove_dir(gone, diag) < 0) return -1;
    if (rename(path, gone) < 0) return moec_error(diag, "cannot rename '%s': %s", path, strerror(errno));
    return remove_dir(gone, diag);
}

/* Removes every checkpoint but the newest `keep`, and stale temporary directories. */
static int prune(const char *run_dir, int64_t keep, moec_diag *diag)
{
    DIR *d = opendir(run_dir);
    if (!d) return moec_error(diag, "cannot read '%s': %s", run_dir, strerror(errno));
    int64_t *steps = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    char path[PATH_MAX_LEN];
    while (rc == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (!strncmp(de->d_name, ".checkpoint-step-", 17) && len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
            snprintf(path, sizeof path, "%s/%s", run_dir, de->d_name);   /* a write a kill cut short */
            remove_dir(path, NULL);
            continue;
        }
        int64_t s = step_of(de->d_name);
        if (s < 0) continue;
        if (n == cap) {
            int64_t *grown = realloc(steps, sizeof *steps * (cap = cap ? 2 * cap : 16));
            if (!grown) rc = moec_error(diag, "out of memory");
            else steps = grown;
        }
        if (rc == 0) steps[n++] = s;
    }
    closedir(d);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t newer = 0;
        for (size_t j = 0; j < n; j++) newer += steps[j] > steps[i];
        if ((int64_t)newer < keep) continue;
        rc = discard_checkpoint(run_dir, steps[i], diag);
    }
    free(steps);
    return rc;
}

int rt_ckpt_write(const char *run_dir, const rt_ckpt_state *st, const rt_weights *p, const rt_weights *m,
                  const rt_weights *v, int64_t keep, moec_diag *diag)
{
    char tmp[PATH_MAX_LEN], dst[PATH_MAX_LEN], f[PATH_MAX_LEN + 64];
    snprintf(tmp, sizeof tmp, "%s/.checkpoint-step-%" PRId64 ".tmp", run_dir, st->step);
    if (snprintf(dst, sizeof dst, "%s/checkpoint-step-%" PRId64, run_dir, st->step) >= (int)sizeof dst)
        return moec_error(diag, "%s: path too long", run_dir);
    if (remove_dir(tmp, diag) < 0) return -1;
    if (mkdir(tmp, 0777) < 0) return moec_error(diag, "cannot create '%s': %s", tmp, strerror(errno));
    char step[32];
    snprintf(step, sizeof step, "%" PRId64, st->step);
    rt_meta meta[2] = { { "moec_model", p->model->name }, { "moec_step", step } };
    snprintf(f, sizeof f, "%s/model.safetensors", tmp);
    int rc = rt_weights_save(p, f, meta, 2, diag);
    snprintf(f, sizeof f, "%s/optimizer.safetensors", tmp);
    if (rc == 0) rc = write_optimizer(f, m, v, diag);
    snprintf(f, sizeof f, "%s/state.json", tmp);
    if (rc == 0) rc = write_state(f, st, diag);
    if (rc == 0) rc = sync_dir(tmp, diag);
    /* A resumed run may write step N again: the complete new directory and
     * the old one swap names in one step, so checkpoint-step-N is whole at
     * every moment; the old one, now under the temporary name, goes after. */
    bool exists = access(dst, F_OK) == 0;
    if (rc == 0 && exists && renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_EXCHANGE) < 0)
        rc = moec_error(diag, "cannot replace '%s': %s", dst, strerror(errno));
    if (rc == 0 && !exists && rename(tmp, dst) < 0)
        rc = moec_error(diag, "cannot rename '%s': %s", tmp, strerror(errno));
    if (rc == 0) rc = sync_dir(run_dir, diag);
    if (rc == 0 && exists) rc = remove_dir(tmp, diag);   /* the replaced checkpoint */
    if (rc != 0) {
        remove_dir(tmp, NULL);
        return -1;
    }
    return prune(run_dir, keep, diag);
}

int rt_ckpt_latest(const char *run_dir, int64_t *step, moec_diag *diag)
{
    DIR *d = opendir(run_dir);
    if (!d) return moec_error(diag, "cannot read '%s': %s", run_dir, strerror(errno));
    int64_t best = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t s = step_of(de->d_name);
        if (s > best) best = s;
    }
    closedir(d);
    if (best < 0) return 1;
    *step = best;
    return 0;
}

static int read_optimizer(const char *path, rt_weights *m, rt_weights *v, moec_diag *diag)
{
    rt_st_file f;
    if (rt_st_open(&f, path, diag) < 0) return -1;
    int rc = 0;
    char name[512];
    for (int i = 0; rc == 0 && i < m->n; i++) {
        const fe_param *p = &m->model->params[i];
        if (!p->trainable) continue;
        for (int k = 0; rc == 0 && k < 2; k++) {
            snprintf(name, sizeof name, "adam.%c.%s", k ? 'v' : 'm', p->name);
            int t = rt_st_find(&f, name);
            if (t < 0) rc = moec_error(diag, "%s: no tensor '%s'", path, name);
            else if ((int64_t)f.tensors[t].numel != m->numel[i])
                rc = moec_error(diag, "%s: '%s' has %" PRIu64 " elements, the model %" PRId64, path, name,
                                f.tensors[t].numel, m->numel[i]);
            else rc = rt_st_read_f32(&f, t, (k ? v : m)->data[i], diag);
        }
    }
    rt_st_close(&f);
    return rc;
}

static int get_int(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return -1;
    *out = json_integer_value(v);
    return 0;
}

static int read_state(const char *path, rt_ckpt_state *st, moec_diag *diag)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) return moec_error(diag, "%s: %s", path, je.text);
    memset(st, 0, sizeof *st);
    const char *seed = json_string_value(json_object_get(json_object_get(o, "rng"), "seed"));
    int rc = get_int(o, "step", &st->step) | get_int(o, "data_start", &st->data_start) |
             get_int(o, "data_position", &st->data_position) | get_int(o, "metrics_bytes", &st->metrics_bytes) |
             get_int(o, "collapse_warnings", &st->collapse_warnings);
    if (rc == 0 && seed) st->seed = strtoull(seed, NULL, 10);
    json_t *best = json_object_get(o, "best_eval_loss");
    st->has_best = json_is_number(best);
    st->best_eval_loss = json_number_value(best);
    st->best_step = json_integer_value(json_object_get(o, "best_step"));
    st->tokens = json_number_value(json_object_get(o, "tokens"));
    st->train_seconds = json_number_value(json_object_get(o, "train_seconds"));
    json_decref(o);
    if (rc != 0 || !seed || st->step < 0 || st->data_position < 0 || st->metrics_bytes < 0)
        return moec_error(diag, "%s: not a moec checkpoint state (step, data_position, rng, metrics_bytes)", path);
    return 0;
}

int rt_ckpt_read(const char *run_dir, int64_t step, rt_ckpt_state *st, rt_weights *p, rt_weights *m, rt_weights *v,
                 moec_diag *diag)
{
    char f[PATH_MAX_LEN];
    snprintf(f, sizeof f, "%s/checkpoint-step-%" PRId64 "/state.json", run_dir, step);
    if (read_state(f, st, diag) < 0) return -1;
    if (st->step != step) return moec_error(diag, "%s: says step %" PRId64, f, st->step);
    snprintf(f, sizeof f, "%s/checkpoint-step-%" PRId64 "/model.safetensors", run_dir, step);
    if (rt_weights_load(p, f, NULL, diag) < 0) return -1;
    snprintf(f, sizeof f, "%s/checkpoint-step-%" PRId64 "/optimizer.safetensors", run_dir, step);
    return read_optimizer(f, m, v, diag);
}
