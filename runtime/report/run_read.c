/* runtime/report/run_read.c -- loads one run directory for `moec report`
 * (runtime/report/run.h): config.json, metrics.jsonl line by line with
 * jansson, run_summary.json when present; finds the domains, the MoE layers
 * and the final and best evaluation. Every name taken from a metrics key is
 * parsed with bounds (digits in range, a known prefix and suffix). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/report/run.h"
#include "support/file.h"

enum { MAX_METRICS_BYTES = 1 << 30 };   /* 1 GiB of metrics.jsonl: far more than any run writes */

double rp_num(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double rp_final(const rp_run *r, const char *key)
{
    return r->final_eval >= 0 ? rp_num(r->evals[r->final_eval], key) : NAN;
}

double rp_best(const rp_run *r, const char *key)
{
    return r->best_eval >= 0 ? rp_num(r->evals[r->best_eval], key) : NAN;
}

double rp_min_over_evals(const rp_run *r, const char *key)
{
    double best = NAN;
    for (size_t i = 0; i < r->n_evals; i++) {
        double v = rp_num(r->evals[i], key);
        if (isfinite(v) && !(v >= best)) best = v;
    }
    return best;
}

const char *rp_stopped_reason(const rp_run *r)
{
    return r->summary ? json_string_value(json_object_get(r->summary, "stopped_reason")) : NULL;
}

int64_t rp_seed(const rp_run *r, bool *has)
{
    json_t *s = json_object_get(r->config, "seed");
    *has = json_is_integer(s);
    return *has ? (int64_t)json_integer_value(s) : 0;
}

void rp_run_free(rp_run *r)
{
    free(r->dir);
    free(r->name);
    json_decref(r->config);
    json_decref(r->summary);
    for (size_t i = 0; i < r->n_evals; i++) json_decref(r->evals[i]);
    free(r->evals);
    for (int i = 0; i < r->n_domains; i++) free(r->domains[i]);
    free(r->domains);
    free(r->layers);
    memset(r, 0, sizeof *r);
}

/* "DIR/NAME" in a new string, or NULL. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* A JSON object file of the run; *out NULL and 0 when it is absent and
 * `optional`. Returns 0, or -1 after reporting. */
static int load_object(const rp_run *r, const char *file, bool optional, json_t **out, moec_diag *d)
{
    *out = NULL;
    char *path = join(r->dir, file);
    if (!path) return moec_error(d, "%s: out of memory", r->dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        free(path);
        if (optional && e == ENOENT) return 0;
        return moec_error(d, "%s: no %s (%s); not a `moec train` run directory", r->dir, file, strerror(e));
    }
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    free(path);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return moec_error(d, "%s: %s is not a JSON object (line %d: %s)", r->dir, file, err.line, err.text);
    }
    *out = j;
    return 0;
}

/* Parses a decimal index of at most `max` at *p, advancing *p; -1 when none. */
static int parse_index(const char **p, int max)
{
    const char *s = *p;
    long v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > max) return -1;
        s++;
        digits++;
    }
    if (!digits) return -1;
    *p = s;
    return (int)v;
}

/* "router/layer_L_expert_e_frac" (nothing after): L and e; 0, or -1 for any other key. */
static int parse_frac_key(const char *key, int *layer, int *expert)
{
    static const char pre[] = "router/layer_", mid[] = "_expert_", post[] = "_frac";
    if (strncmp(key, pre, sizeof pre - 1) != 0) return -1;
    const char *p = key + sizeof pre - 1;
    if ((*layer = parse_index(&p, RP_MAX_LAYER)) < 0) return -1;
    if (strncmp(p, mid, sizeof mid - 1) != 0) return -1;
    p += sizeof mid - 1;
    if ((*expert = parse_index(&p, RP_MAX_EXPERTS - 1)) < 0) return -1;
    return strcmp(p, post) == 0 ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_layer(const void *a, const void *b)
{
    const rp_layer *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Domains and MoE layers from the keys of every evaluation line. */
static int find_names(rp_run *r, moec_diag *d)
{
    static const char loss_pre[] = "eval/loss_";
    for (size_t i = 0; i < r->n_evals; i++) {
        const char *key;
        json_t *v;
        json_object_foreach(r->evals[i], key, v) {
            int L, e;
            if (!json_is_number(v)) continue;
            if (!strncmp(key, loss_pre, sizeof loss_pre - 1)) {
                const char *dom = key + sizeof loss_pre - 1;
                size_t n = strlen(dom);
                if (n == 0 || n > RP_MAX_NAME) continue;
                int k = 0;
                while (k < r->n_domains && strcmp(r->domains[k], dom) != 0) k++;
                if (k < r->n_domains) continue;
                char **grown = realloc(r->domains, (size_t)(r->n_domains + 1) * sizeof *grown);
                if (!grown) return moec_error(d, "%s: out of memory", r->dir);
                r->domains = grown;
                if (!(r->domains[r->n_domains] = strdup(dom))) return moec_error(d, "%s: out of memory", r->dir);
                r->n_domains++;
            } else if (parse_frac_key(key, &L, &e) == 0) {
                int k = 0;
                while (k < r->n_layers && r->layers[k].index != L) k++;
                if (k == r->n_layers) {
                    rp_layer *grown = realloc(r->layers, (size_t)(r->n_layers + 1) * sizeof *grown);
                    if (!grown) return moec_error(d, "%s: out of memory", r->dir);
                    r->layers = grown;
                    r->layers[k] = (rp_layer){.index = L, .experts = 0};
                    r->n_layers++;
                }
                if (e + 1 > r->layers[k].experts) r->layers[k].experts = e + 1;
            }
        }
    }
    if (r->n_domains > 1) qsort(r->domains, (size_t)r->n_domains, sizeof *r->domains, cmp_str);
    if (r->n_layers > 1) qsort(r->layers, (size_t)r->n_layers, sizeof *r->layers, cmp_layer);
    return 0;
}

/* Keeps one evaluation line. A resumed run logs again from its checkpoint's
 * step: a line whose step is not after the last kept one replaces the kept
 * lines from that step on. */
static int keep_eval(rp_run *r, json_t *line, size_t *cap, moec_diag *d)
{
    double step = rp_num(line, "step");
    while (r->n_evals > 0 && !(rp_num(r->evals[r->n_evals - 1], "step") < step)) json_decref(r->evals[--r->n_evals]);
    if (r->n_evals == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        json_t **grown = realloc(r->evals, c * sizeof *grown);
        if (!grown) return moec_error(d, "%s: out of memory", r->dir);
        r->evals = grown;
        *cap = c;
    }
    r->evals[r->n_evals++] = json_incref(line);
    return 0;
}

static int read_metrics(rp_run *r, moec_diag *d)
{
    char *path = join(r->dir, "metrics.jsonl");
    if (!path) return moec_error(d, "%s: out of memory", r->dir);
    char *buf;
    size_t len;
    moec_diag quiet;
    if (moec_diag_collect(&quiet, 1) != 0) {
        free(path);
        return moec_error(d, "%s: out of memory", r->dir);
    }
    int rc = moec_file_read_all(path, MAX_METRICS_BYTES, NULL, &buf, &len, &quiet);
    free(path);
    if (rc != 0) {
        /* The file helper's message names the path; the run's name leads. */
        const char *t = moec_diag_text(&quiet);
        const char *m = strstr(t, "cannot");
        size_t n = strcspn(m ? m : t, "\n");
        moec_error(d, "%s: metrics.jsonl: %.*s; not a `moec train` run directory", r->dir, (int)n, m ? m : t);
        moec_diag_free(&quiet);
        return -1;
    }
    moec_diag_free(&quiet);
    size_t cap = 0, pos = 0, lineno = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && buf[end] != '\n') end++;
        bool last = end >= len;
        lineno++;
        size_t n = end - pos;
        if (n > 0) {
            json_error_t err;
            json_t *line = json_loadb(buf + pos, n, 0, &err);
            if (!line || !json_is_object(line)) {
                json_decref(line);
                if (!last) {
                    free(buf);
                    return moec_error(d, "%s: metrics.jsonl:%zu: not a JSON object (%s)", r->dir, lineno, err.text);
                }
                r->truncated = true;
            } else {
                r->n_lines++;
                double step = rp_num(line, "step");
                if (isfinite(step) && !(step <= r->last_step)) r->last_step = step;
                int kept = 0;
                if (json_is_number(json_object_get(line, "eval/loss")) && isfinite(rp_num(line, "step")))
                    kept = keep_eval(r, line, &cap, d);
                json_decref(line);
                if (kept != 0) {
                    free(buf);
                    return -1;
                }
            }
        }
        pos = end + 1;
    }
    free(buf);
    return 0;
}

static bool has_router_params(const json_t *config)
{
    json_t *params = json_object_get(config, "params"), *v;
    const char *key;
    json_object_foreach(params, key, v) {
        (void)v;
        if (strstr(key, ".router.") || strstr(key, ".experts.")) return true;
    }
    return false;
}

int rp_run_load(rp_run *r, const char *dir, moec_diag *d)
{
    memset(r, 0, sizeof *r);
    r->final_eval = r->best_eval = -1;
    r->last_step = NAN;
    struct stat st;
    if (stat(dir, &st) != 0) return moec_error(d, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return moec_error(d, "%s: not a directory (a `moec train` run directory)", dir);
    if (!(r->dir = strdup(dir))) return moec_error(d, "%s: out of memory", dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    if (!(r->name = strndup(dir + start, n - start))) return moec_error(d, "%s: out of memory", dir);
    if (load_object(r, "config.json", false, &r->config, d) != 0) return -1;
    if (read_metrics(r, d) != 0) return -1;
    if (load_object(r, "run_summary.json", true, &r->summary, d) != 0) return -1;
    if (find_names(r, d) != 0) return -1;
    r->moe = r->n_layers > 0 || has_router_params(r->config);
    if (r->n_evals > 0) {
        r->final_eval = (int)r->n_evals - 1;
        r->best_eval = 0;
        for (size_t i = 1; i < r->n_evals; i++)
            if (rp_num(r->evals[i], "eval/loss") < rp_num(r->evals[r->best_eval], "eval/loss")) r->best_eval = (int)i;
    }
    if (r->truncated)
        moec_warning_at(d, (moec_loc){0}, "%s: the last line of metrics.jsonl is cut short (a run still writing, "
                        "or killed); it is left out", dir);
    if (r->n_evals == 0)
        moec_warning_at(d, (moec_loc){0}, "%s: no evaluation in metrics.jsonl yet; the report lists the run "
                        "without evaluation numbers", dir);
    return 0;
}

/* ---- configurations ---- */

/* A copy of config.json with what does not make a configuration left out:
 * the seed (top level, train.seed, a "seed=" --set), and how the run was
 * executed (moec_version, backend, threads). model_file is the path as
 * typed; the model's text (model_source) is compared instead. */
static json_t *config_key(const json_t *config)
{
    json_t *c = json_deep_copy(config);
    if (!c) return NULL;
    static const char *const drop[] = {"seed", "moec_version", "backend", "threads", "model_file"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) json_object_del(c, drop[i]);
    json_t *train = json_object_get(c, "train");
    if (json_is_object(train)) json_object_del(train, "seed");
    json_t *sets = json_object_get(c, "sets");
    if (json_is_array(sets))
        for (size_t i = json_array_size(sets); i-- > 0;) {
            const char *s = json_string_value(json_array_get(sets, i));
            if (s && !strncmp(s, "seed=", 5)) json_array_remove(sets, i);
        }
    return c;
}

void rp_group_runs(rp_run *runs, int n)
{
    json_t **keys = calloc((size_t)(n > 0 ? n : 1), sizeof *keys);
    for (int i = 0; i < n; i++) {
        runs[i].config_id = i;
        if (keys) keys[i] = config_key(runs[i].config);
        for (int j = 0; j < i && keys && keys[i]; j++)
            if (runs[j].config_id == j && keys[j] && json_equal(keys[i], keys[j])) {
                runs[i].config_id = j;
                break;
            }
    }
    if (keys)
        for (int i = 0; i < n; i++) json_decref(keys[i]);
    free(keys);
    for (int i = 0; i < n; i++) {
        if (runs[i].config_id != i) {
            memcpy(runs[i].config_name, runs[runs[i].config_id].config_name, sizeof runs[i].config_name);
            continue;
        }
        char base[RP_MAX_NAME + 1];
        rp_config_name(runs[i].name, base, sizeof base);
        snprintf(runs[i].config_name, sizeof runs[i].config_name, "%s", base);
        for (int k = 2;; k++) {
            bool taken = false;
            for (int j = 0; j < i && !taken; j++)
                taken = runs[j].config_id == j && !strcmp(runs[j].config_name, runs[i].config_name);
            if (!taken) break;
            snprintf(runs[i].config_name, sizeof runs[i].config_name, "%s #%d", base, k);
        }
    }
}

void rp_config_name(const char *run_name, char *buf, size_t size)
{
    size_t n = strlen(run_name), k = n;
    while (k > 0 && run_name[k - 1] >= '0' && run_name[k - 1] <= '9') k--;
    if (k < n && k >= 2 && run_name[k - 1] == 's' && run_name[k - 2] == '-' && k - 2 > 0) n = k - 2;
    snprintf(buf, size, "%.*s", (int)n, run_name);
}
