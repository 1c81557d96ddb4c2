/* runtime/report/results.c -- results.json (results.h). A number the run
 * does not have yet (no evaluation) is null, never left out, so a reader can
 * rely on every field being present. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/json_file.h"
#include "runtime/report/results.h"

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *run_result(const rp_run *r)
{
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = 0;
    bad |= json_object_set_new(o, "name", json_string(r->name));
    json_t *model = json_object_get(r->config, "model_file");
    bad |= json_object_set_new(o, "model_file", json_is_string(model) ? json_copy(model) : json_null());
    json_t *sets = json_object_get(r->config, "sets");
    bad |= json_object_set_new(o, "sets", json_is_array(sets) ? json_deep_copy(sets) : json_array());
    bool has;
    int64_t seed = rp_seed(r, &has);
    bad |= json_object_set_new(o, "seed", has ? json_integer(seed) : json_null());
    bad |= json_object_set_new(o, "final_eval_loss", number_or_null(rp_final(r, "eval/lm_loss")));
    bad |= json_object_set_new(o, "best_eval_loss", number_or_null(rp_best(r, "eval/lm_loss")));
    json_t *dom = json_object();
    bad |= json_object_set_new(o, "eval_loss_by_domain", dom);
    for (int k = 0; dom && k < r->n_domains; k++) {
        char key[RP_MAX_NAME + 16];
        snprintf(key, sizeof key, "eval/loss_%s", r->domains[k]);
        double v = rp_final(r, key);
        if (isfinite(v)) bad |= json_object_set_new(dom, r->domains[k], json_real(v));
    }
    json_t *mx = json_object();
    bad |= json_object_set_new(o, "max_expert_fraction", mx);
    for (int l = 0; mx && l < r->n_layers; l++) {
        double m = NAN;
        for (int e = 0; e < r->layers[l].experts; e++) {
            char key[64];
            snprintf(key, sizeof key, "router/layer_%d_expert_%d_frac", r->layers[l].index, e);
            double v = rp_final(r, key);
            if (isfinite(v) && !(v <= m)) m = v;
        }
        if (!isfinite(m)) continue;
        char L[16];
        snprintf(L, sizeof L, "%d", r->layers[l].index);
        bad |= json_object_set_new(mx, L, json_real(m));
    }
    const char *why = rp_stopped_reason(r);
    bad |= json_object_set_new(o, "stopped_reason", why ? json_string(why) : json_null());
    if (bad || !dom || !mx) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int rp_write_results(const char *path, const rp_run *runs, const int *order, int n, moec_diag *d)
{
    json_t *root = json_object(), *arr = json_array();
    int bad = !root || !arr;
    if (!bad) {
        bad |= json_object_set_new(root, "format", json_string("moec-report-results"));
        bad |= json_object_set_new(root, "version", json_integer(1));
        bad |= json_object_set_new(root, "runs", arr);
        for (int i = 0; !bad && i < n; i++) {
            json_t *o = run_result(&runs[order[i]]);
            bad |= !o || json_array_append_new(arr, o);
        }
    } else if (arr && !root) json_decref(arr);
    int rc = bad ? moec_error(d, "%s: out of memory", path) : rt_json_write_file(path, root, true, d);
    json_decref(root);
    return rc;
}
