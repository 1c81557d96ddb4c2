/* runtime/train/loop.c -- the training loop (runtime/train/loop.h). */
#include "runtime/train/loop.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "runtime/json_file.h"
#include "runtime/train/batches.h"
#include "runtime/train/divergence.h"
#include "runtime/train/metrics.h"

double rt_train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Why a run stopped (run_summary.json's stopped_reason). */
typedef enum stop_reason { STOP_NONE, STOP_COMPLETED, STOP_INTERRUPTED, STOP_NONFINITE, STOP_COLLAPSE, STOP_ERROR } stop_reason;
static const char *const STOP_NAMES[] = { "", "completed", "interrupted", "non-finite", "collapse", "error" };

/* Everything the loop changes as it goes. */
typedef struct run_state {
    const rt_train_setup *s;
    int rank, world;                /* this process in the data-parallel world */
    bool root;                      /* rank 0: writes the run directory, prints progress */
    bool agreed_error;              /* the error that stopped the loop stopped every rank alike */
    rt_ckpt_state st;               /* what the next checkpoint records */
    rt_metrics_log log;
    rt_batcher reader;
    rt_batch *micro;                /* [accum] */
    rt_batch eval_batch;
    rt_metrics *train_metrics;      /* one step's micro-batches */
    rt_metrics *eval_metrics;       /* one evaluation's batches */
    int64_t accum;
    json_t *last_eval;              /* the latest evaluation line */
    double last_loss;
    double step_seconds;            /* this session's time in steps */
    double allreduce_seconds;       /* the last step's: its gradient and loss sums over the ranks */
    int64_t session_steps;
    bool checkpointed;              /* this session wrote a checkpoint */
    char collapse_note[512];
} run_state;

/* ---- evaluation ---- */

/* rt_value_reader of the training and the evaluation step. */
static int read_train(void *ctx, const char *name, double *out, int64_t numel)
{
    return rt_engine_read(((run_state *)ctx)->s->engine, false, name, out, numel);
}

static int read_eval(void *ctx, const char *name, double *out, int64_t numel)
{
    return rt_engine_read(((run_state *)ctx)->s->engine, true, name, out, numel);
}

/* rt_engine_hook: a training micro-batch into the step's metrics. */
static int add_train(void *ctx, int micro)
{
    run_state *r = ctx;
    return rt_metrics_add(r->train_metrics, read_train, r, r->micro[micro].token_domain, NULL,
                          r->micro[micro].token_valid);
}

/* The sums of mt over every rank (nothing alone). 0 or -1. */
static int sum_metrics(run_state *r, rt_metrics *mt)
{
    if (r->world <= 1) return 0;
    size_t n = rt_metrics_n_sums(mt);
    double *v = malloc(sizeof *v * (n ? n : 1));
    if (!v) return moec_error(r->s->diag, "out of memory");
    rt_metrics_export(mt, v);
    int rc = rt_comm_sum_doubles(r->s->comm, v, n, r->s->diag);
    if (rc == 0) rt_metrics_import(mt, v);
    free(v);
    return rc;
}

/* The MoE layers of the evaluation step (or the training step without one). */
static const ir_lowered *lowered(const rt_engine *e)
{
    if (e->opt.backend == RT_BACKEND_INTERP) return &e->el;
    return &e->eval.pipe.step.fwd;
}

/* Collapse: a layer giving one expert more than the threshold of its assignments.
 * frac_sum[layer][e] summed over the batches; writes the worst into r->collapse_note.
 * A layer of one expert (a dense baseline written as an MoE) cannot collapse. */
static bool collapsed(run_state *r, const ir_lowered *l, double *const *frac_sum, int64_t batches)
{
    double thr = r->s->model->train.collapse_threshold;
    bool any = false;
    r->collapse_note[0] = '\0';
    for (int i = 0; i < l->n_moe; i++) {
        if (l->moe[i].experts < 2) continue;
        int best = 0;
        for (int64_t e = 1; e < l->moe[i].experts; e++) best = frac_sum[i][e] > frac_sum[i][best] ? (int)e : best;
        double f = frac_sum[i][best] / (double)batches;
        if (f > thr && !any) {
            snprintf(r->collapse_note, sizeof r->collapse_note, "%s: expert %d takes %.1f%% of the assignments (> %.0f%%)",
                     l->moe[i].scope, best, 100.0 * f, 100.0 * thr);
            any = true;
        }
    }
    return any;
}

/* router/layer_{L}_weight_divergence of every MoE layer into the eval line,
 * from the current weights (L as the other router names, from the metrics). */
static int write_divergence(run_state *r, json_t *line)
{
    const rt_train_setup *s = r->s;
    int n = rt_divergence_layers(s->model);
    if (n == 0) return 0;
    if (rt_engine_download(s->engine) < 0) return -1;
    rt_layer_use *u = malloc(sizeof *u);   /* large: the fractions of FE_MAX_EXPERTS experts */
    if (!u) return moec_error(s->diag, "out of memory");
    int rc = 0;
    for (int i = 0; rc == 0 && i < n && i < rt_metrics_n_layers(r->eval_metrics); i++) {
        double d;
        rt_metrics_layer_use(r->eval_metrics, i, -1, u);   /* u->layer is set even when no row counted */
        rc = rt_divergence_layer(s->model, &s->engine->params, i, &d, s->diag);
        if (rc < 0 || (u->experts < 2)) continue;
        char key[64];
        snprintf(key, sizeof key, "router/layer_%d_weight_divergence", u->layer);
        json_t *v = isfinite(d) ? json_real(d) : json_null();
        if (!v || json_object_set_new(line, key, v) < 0) rc = moec_error(s->diag, "out of memory");
    }
    free(u);
    return rc;
}

/* An evaluation's sums over every rank: the losses, the expert fractions
 * frac[layer][e] and the metrics (nothing alone). 0 or -1. */
static int sum_eval(run_state *r, rt_step_result *sum, const ir_lowered *l, double **frac)
{
    if (r->world <= 1) return 0;
    size_t n = 4;
    for (int i = 0; i < l->n_moe; i++) n += (size_t)l->moe[i].experts;
    double *v = malloc(sizeof *v * n);
    if (!v) return moec_error(r->s->diag, "out of memory");
    size_t at = 4;
    v[0] = sum->loss, v[1] = sum->lm_loss, v[2] = sum->lb_loss, v[3] = sum->z_loss;
    for (int i = 0; i < l->n_moe; i++)
        for (int64_t k = 0; k < l->moe[i].experts; k++) v[at++] = frac[i][k];
    int rc = rt_comm_sum_doubles(r->s->comm, v, n, r->s->diag);
    if (rc == 0) {
        sum->loss = v[0], sum->lm_loss = v[1], sum->lb_loss = v[2], sum->z_loss = v[3];
        at = 4;
        for (int i = 0; i < l->n_moe; i++)
            for (int64_t k = 0; k < l->moe[i].experts; k++) frac[i][k] = v[at++];
        rc = sum_metrics(r, r->eval_metrics);
    }
    free(v);
    return rc;
}

/* Runs eval_steps batches of the eval split after `done` steps and logs the
 * line (the ranks share the batches out and sum them). *stop is set when the
 * collapse detector stops the run. 0 or -1. */
static int evaluate(run_state *r, int64_t done, bool *stop)
{
    const rt_train_setup *s = r->s;
    rt_engine *e = s->engine;
    int64_t n = s->model->train.eval_steps;
    if (n <= 0) return 0;
    const ir_lowered *l = lowered(e);
    double **frac = calloc((size_t)l->n_moe + 1, sizeof *frac);
    int rc = frac ? 0 : moec_error(s->diag, "out of memory");
    for (int i = 0; rc == 0 && i < l->n_moe; i++)
        if (!(frac[i] = calloc((size_t)l->moe[i].experts, sizeof **frac))) rc = moec_error(s->diag, "out of memory");
    rt_batcher reader;
    rt_step_result sum = {0}, one;
    if (rc == 0) rc = rt_engine_eval_begin(e);
    rt_metrics_reset(r->eval_metrics);
    for (int64_t b = r->rank; rc == 0 && b < n; b += r->world) {   /* batch b of the n: rank b mod world's */
        rt_batcher_init(&reader, s->eval, 0, b * r->eval_batch.batch);
        rt_batcher_next(&reader, &r->eval_batch);
        rc = rt_engine_eval_batch(e, &r->eval_batch, done, &one);
        if (rc == 0) rc = rt_metrics_add(r->eval_metrics, read_eval, r, r->eval_batch.token_domain, NULL,
                                              r->eval_batch.token_valid);
        sum.loss += one.loss;
        sum.lm_loss += one.lm_loss;
        sum.lb_loss += one.lb_loss;
        sum.z_loss += one.z_loss;
        char name[512];
        for (int i = 0; rc == 0 && i < l->n_moe; i++) {
            int64_t E = l->moe[i].experts;
            double *f = malloc(sizeof *f * (size_t)E);
            snprintf(name, sizeof name, "%s.frac", l->moe[i].scope);
            if (f && rt_engine_read(e, true, name, f, E) == 0)
                for (int64_t k = 0; k < E; k++) frac[i][k] += f[k];
            free(f);
        }
    }
    if (rc == 0) rc = sum_eval(r, &sum, l, frac);
    if (rc == 0) {
        double loss = sum.loss / (double)n, lm = sum.lm_loss / (double)n;
        json_t *line = json_object();
        json_object_set_new(line, "step", json_integer(done));
        json_object_set_new(line, "eval/loss", json_real(loss));
        json_object_set_new(line, "eval/lm_loss", json_real(lm));
        json_object_set_new(line, "eval/lb_loss", json_real(sum.lb_loss / (double)n));
        json_object_set_new(line, "eval/z_loss", json_real(sum.z_loss / (double)n));
        json_object_set_new(line, "eval/perplexity", json_real(exp(lm)));
        rc = rt_metrics_write(r->eval_metrics, "eval", line);
        if (rc == 0 && r->root) rc = write_divergence(r, line);
        if (rc == 0 && r->root) rc = rt_metrics_log_append(&r->log, line, s->diag);
        json_decref(r->last_eval);
        r->last_eval = line;
        rt_progress_note(s->progress, false, "eval step %" PRId64 ": loss %.4f  perplexity %.2f", done, loss, exp(lm));
        if (rc == 0 && isfinite(loss) && (!r->st.has_best || loss < r->st.best_eval_loss)) {
            rc = r->root ? rt_engine_download(e) : 0;
            if (rc == 0 && r->root)
                rc = rt_run_write_model(s->run_dir, "best-model", &e->params, s->cfg, done, line, s->diag);
            r->st.has_best = true;
            r->st.best_eval_loss = loss;
            r->st.best_step = done;
        }
        if (rc == 0 && collapsed(r, l, frac, n)) {
            r->st.collapse_warnings++;
            if (r->root)
                rt_progress_note(s->progress, true, "moec: warning: routing collapse at step %" PRId64 " (%" PRId64 " of %" PRId64 "): %s",
                             done, r->st.collapse_warnings, s->model->train.collapse_patience, r->collapse_note);
            *stop = s->model->train.collapse_stop && r->st.collapse_warnings >= s->model->train.collapse_patience;
        } else {
            r->st.collapse_warnings = 0;
        }
    }
    for (int i = 0; frac && i < l->n_moe; i++) free(frac[i]);
    free(frac);
    return rc;
}

/* ---- checkpoints, the summary ---- */

/* The ranks agree that they hold the same weights and optimizer state
 * (alone: nothing to check). A difference stops every rank alike: -1 with
 * r->agreed_error, before anything of this step is written. */
static int agree_on_weights(run_state *r, int64_t done)
{
    const rt_train_setup *s = r->s;
    if (r->world <= 1) return 0;
    const rt_engine *e = s->engine;
    const void *part[3] = { e->params.memory, e->m.memory, e->v.memory };
    size_t len[3] = { sizeof(float) * (size_t)e->params.stored, sizeof(float) * (size_t)e->m.stored,
                      sizeof(float) * (size_t)e->v.stored };
    int differs = 0;
    uint64_t hash[2];
    if (rt_engine_download(s->engine) < 0 || rt_comm_same_bytes(s->comm, part, len, 3, &differs, hash, s->diag) < 0)
        return -1;
    if (!differs) return 0;
    r->agreed_error = true;
    if (r->root)
        moec_error(s->diag, "the ranks' weights differ at step %" PRId64 ": rank %d's state hashes to %016" PRIx64
                   ", rank 0's to %016" PRIx64 "%s; nothing of this step was written", done, differs, hash[0], hash[1],
                   done == s->start.step ? " (do all ranks read the same --init and run directory?)" : "");
    return -1;
}

static int checkpoint(run_state *r, int64_t done)
{
    const rt_train_setup *s = r->s;
    r->st.step = done;
    r->st.data_position = r->reader.position;
    if (agree_on_weights(r, done) < 0) return -1;
    r->checkpointed = true;
    if (!r->root) return 0;
    if (rt_metrics_log_sync(&r->log, s->diag) < 0 || rt_engine_download(s->engine) < 0) return -1;
    r->st.metrics_bytes = r->log.bytes;
    rt_engine *e = s->engine;
    if (rt_ckpt_write(s->run_dir, &r->st, &e->params, &e->m, &e->v, s->model->train.keep_checkpoints, s->diag) < 0)
        return -1;
    r->checkpointed = true;
    rt_progress_note(s->progress, false, "checkpoint-step-%" PRId64 " written", done);
    return 0;
}

static int write_summary(run_state *r, stop_reason why, int64_t done, const char *detail)
{
    const rt_train_setup *s = r->s;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *o = json_object();
    if (!o) return moec_error(s->diag, "out of memory");
    json_object_set_new(o, "stopped_reason", json_string(STOP_NAMES[why]));
    if (detail) json_object_set_new(o, "detail", json_string(detail));
    json_object_set_new(o, "steps_done", json_integer(done));
    json_object_set_new(o, "steps", json_integer(s->model->train.steps));
    json_object_set_new(o, "resumed_from", s->resumed ? json_integer(s->start.step) : json_null());
    json_object_set_new(o, "train/loss", r->session_steps ? json_real(r->last_loss) : json_null());
    json_object_set_new(o, "last_eval", r->last_eval ? json_deep_copy(r->last_eval) : json_null());
    json_object_set_new(o, "best_eval_loss", r->st.has_best ? json_real(r->st.best_eval_loss) : json_null());
    json_object_set_new(o, "best_step", r->st.has_best ? json_integer(r->st.best_step) : json_null());
    json_object_set_new(o, "tokens", json_real(r->st.tokens));
    json_object_set_new(o, "tokens_per_sec", json_real(r->st.train_seconds > 0 ? r->st.tokens / r->st.train_seconds : 0));
    json_object_set_new(o, "train_seconds", json_real(r->st.train_seconds));
    json_object_set_new(o, "wall_seconds", json_real(rt_train_now() - s->wall_start));
    json_object_set_new(o, "peak_memory", json_pack("{s:I,s:I}", "arena_bytes", (json_int_t)s->engine->arena_bytes,
                                                    "resident_bytes", (json_int_t)ru.ru_maxrss * 1024));
    json_object_set_new(o, "backend", json_string(s->cfg->backend));
    char path[4096];
    snprintf(path, sizeof path, "%s/run_summary.json", s->run_dir);
    int rc = rt_json_write_file(path, o, true, s->diag);
    json_decref(o);
    return rc;
}

/* ---- the steps ---- */

/* The first non-finite value of a step's results, or NULL. */
static const char *nonfinite(const rt_step_result *x)
{
    return !isfinite(x->lm_loss) ? "lm_loss" : !isfinite(x->lb_loss) ? "lb_loss" : !isfinite(x->z_loss) ? "z_loss"
         : !isfinite(x->loss) ? "loss" : !isfinite(x->grad_norm) ? "grad_norm" : NULL;
}

static int log_step(run_state *r, int64_t step, const rt_step_result *x, double tokens_per_s)
{
    json_t *line = json_object();
    if (!line) return moec_error(r->s->diag, "out of memory");
    json_object_set_new(line, "step", json_integer(step));
    json_object_set_new(line, "train/loss", json_real(x->loss));
    json_object_set_new(line, "train/lm_loss", json_real(x->lm_loss));
    json_object_set_new(line, "train/lb_loss", json_real(x->lb_loss));
    json_object_set_new(line, "train/z_loss", json_real(x->z_loss));
    json_object_set_new(line, "train/lr", json_real(x->lr));
    json_object_set_new(line, "train/grad_norm", json_real(x->grad_norm));
    json_object_set_new(line, "perf/tokens_per_sec", json_real(tokens_per_s));
    if (r->world > 1) json_object_set_new(line, "perf/allreduce_sec", json_real(r->allreduce_seconds));
    int rc = rt_metrics_write(r->train_metrics, "train", line);
    if (rc == 0 && r->root) rc = rt_metrics_log_append(&r->log, line, r->s->diag);
    json_decref(line);
    return rc;
}

static int setup(run_state *r, const rt_train_setup *s)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->rank = s->comm ? s->comm->rank : 0;
    r->world = s->comm ? s->comm->size : 1;
    r->root = r->rank == 0;
    r->st = s->start;
    r->accum = s->model->train.accum;
    if (r->root && rt_metrics_log_open(&r->log, s->run_dir, s->resumed ? s->start.metrics_bytes : -1, s->diag) < 0)
        return -1;
    rt_batcher_init(&r->reader, s->train, s->start.data_start, s->start.data_position);
    if (!(r->micro = calloc((size_t)r->accum, sizeof *r->micro))) return moec_error(s->diag, "out of memory");
    int64_t b = s->cfg->batch, t = s->cfg->seq;
    r->train_metrics = rt_metrics_new(s->model, s->train->domains, s->train->n_domains, b, t, s->diag);
    r->eval_metrics = rt_metrics_new(s->model, s->train->domains, s->train->n_domains, b, t, s->diag);
    if (!r->train_metrics || !r->eval_metrics) return -1;
    for (int64_t k = 0; k < r->accum; k++)
        if (rt_batch_alloc(&r->micro[k], b, t, s->diag) < 0) return -1;
    return rt_batch_alloc(&r->eval_batch, b, t, s->diag);
}

static void teardown(run_state *r)
{
    for (int64_t k = 0; r->micro && k < r->accum; k++) rt_batch_free(&r->micro[k]);
    free(r->micro);
    rt_batch_free(&r->eval_batch);
    rt_metrics_free(r->train_metrics);
    rt_metrics_free(r->eval_metrics);
    rt_metrics_log_close(&r->log);
    json_decref(r->last_eval);
}

/* Fills micro[0 .. accum) with this rank's share of the step's global batch:
 * of its world x accum micro-batches, read in order, rank q takes the q-th
 * run of accum (one process with accum x world reads the same batches). */
static void read_micro_batches(run_state *r, rt_batch **micro)
{
    for (int64_t k = 0; k < r->accum * r->world; k++) {
        if (k / r->accum == r->rank) rt_batcher_next(&r->reader, micro[k % r->accum]);
        else rt_batcher_skip(&r->reader, micro[0]->batch);
    }
}

int rt_train_loop(const rt_train_setup *s)
{
    run_state r;
    const fe_train *t = &s->model->train;
    int64_t steps = t->steps, ckpt_every = t->checkpoint_every ? t->checkpoint_every : t->eval_every;
    int rc = setup(&r, s);
    stop_reason why = STOP_NONE;
    int64_t done = s->start.step;
    char detail[600] = "";
    rt_batch **micro = malloc(sizeof *micro * (size_t)(r.accum ? r.accum : 1));
    if (!micro) rc = moec_error(s->diag, "out of memory");
    for (int64_t k = 0; micro && k < r.accum; k++) micro[k] = &r.micro[k];
    double tokens_per_step = (double)(s->cfg->batch * s->cfg->seq * r.accum * r.world);
    if (rc == 0) rc = agree_on_weights(&r, done);   /* every rank starts from the same state */
    while (rc == 0 && why == STOP_NONE) {
        int stop = 0;
        if ((rc = rt_comm_max_int(s->comm, *s->stop, &stop, s->diag)) < 0) break;   /* any rank's signal stops all */
        if (stop) {
            why = STOP_INTERRUPTED;
            break;
        }
        if (done >= steps) {
            why = STOP_COMPLETED;
            break;
        }
        int64_t step = done;
        read_micro_batches(&r, micro);
        rt_step_result x;
        double t0 = rt_train_now();
        rt_metrics_reset(r.train_metrics);
        if ((rc = rt_engine_train(s->engine, micro, step, &x, add_train, &r)) < 0) break;
        r.allreduce_seconds = rt_comm_take_seconds(s->comm);
        if ((rc = sum_metrics(&r, r.train_metrics)) < 0) break;
        double dt = rt_train_now() - t0;
        const char *bad = nonfinite(&x);
        if (bad) {
            const char *param = NULL;
            if (!strcmp(bad, "grad_norm") && rt_engine_download(s->engine) == 0) param = rt_engine_first_nonfinite(s->engine);
            snprintf(detail, sizeof detail, "step %" PRId64 ": %s is %g%s%s", step, bad,
                     !strcmp(bad, "grad_norm") ? x.grad_norm : !strcmp(bad, "loss") ? x.loss
                     : !strcmp(bad, "lm_loss") ? x.lm_loss : !strcmp(bad, "lb_loss") ? x.lb_loss : x.z_loss,
                     param ? "; the first non-finite parameter after the update: " : "", param ? param : "");
            why = STOP_NONFINITE;
            break;
        }
        r.st.tokens += tokens_per_step;
        r.st.train_seconds += dt;
        r.step_seconds += dt;
        r.session_steps++;
        r.last_loss = x.loss;
        done = step + 1;
        double tps = dt > 0 ? tokens_per_step / dt : 0;
        if ((rc = log_step(&r, step, &x, tps)) < 0) break;
        double left = (double)(steps - done) * (r.step_seconds / (double)r.session_steps);
        if (r.root) rt_progress_step(s->progress, step, x.loss, x.lr, tps, left);
        bool collapse = false;
        if ((done % t->eval_every == 0 || done == steps) && (rc = evaluate(&r, done, &collapse)) < 0) break;
        if (collapse) {
            why = STOP_COLLAPSE;
            snprintf(detail, sizeof detail, "%" PRId64 " evaluations in a row over the threshold, the last: %s",
                     r.st.collapse_warnings, r.collapse_note);
        }
        /* a signal is seen at the top of the next step, which checkpoints then */
        if (done % ckpt_every == 0 && (rc = checkpoint(&r, done)) < 0) break;
    }
    rt_progress_end(s->progress);
    int status = 0;
    if (rc < 0) {
        why = STOP_ERROR;
        status = 1;
    } else if (why == STOP_INTERRUPTED) {
        /* the step the loop last checkpointed, or a fresh run stopped before its first step */
        if (r.st.step != done || (!s->resumed && done == 0)) rc = checkpoint(&r, done);
        status = rc == 0 ? 130 : 1;
        char launcher[32] = "";
        if (r.world > 1) snprintf(launcher, sizeof launcher, "mpirun -np %d ", r.world);
        if (rc == 0 && r.root)
            rt_progress_note(s->progress, true, "moec: interrupted after %" PRId64 " steps; checkpoint-step-%" PRId64
                             " written. Continue with: %smoec train --resume %s", done, done, launcher, s->run_dir);
    } else if (why == STOP_NONFINITE) {
        status = 1;
        if (!r.root) {
            /* rank 0 reports the stop that every rank saw */
        } else if (s->resumed || r.checkpointed)
            moec_error(s->diag, "training stopped: a non-finite value at %s; nothing of this step was written "
                       "(the last checkpoint is step %" PRId64 ")", detail, r.st.step);
        else
            moec_error(s->diag, "training stopped: a non-finite value at %s; nothing of this step was written "
                       "(no checkpoint yet)", detail);
    } else {
        if (why == STOP_COLLAPSE) {
            status = 1;
            if (r.root)
                moec_error(s->diag, "training stopped: routing collapsed (collapse_stop): %s", detail);
        }
        rc = agree_on_weights(&r, done);   /* the final model is every rank's */
        if (rc < 0) {
            why = STOP_ERROR;
            status = 1;
        }
        if (rc == 0) rc = rt_engine_download(s->engine);
        json_t *m = r.last_eval ? json_incref(r.last_eval) : NULL;
        if (rc == 0 && r.root) rc = rt_run_write_model(s->run_dir, "final-model", &s->engine->params, s->cfg, done, m, s->diag);
        json_decref(m);
        if (rc < 0) status = 1;
    }
    if (rc < 0 && s->failed_alone) *s->failed_alone = !r.agreed_error;
    if (r.root && write_summary(&r, why, done, detail[0] ? detail : NULL) < 0) status = status ? status : 1;
    if (status == 0 && r.root)
        rt_progress_note(s->progress, false, "done: %" PRId64 " steps, %.0f tokens/s; %s/final-model.safetensors",
                         done, r.st.train_seconds > 0 ? r.st.tokens / r.st.train_seconds : 0.0, s->run_dir);
    free(micro);
    teardown(&r);
    return status;
}
