/* runtime/cmd_train.c -- `moec train`: trains a model on a `moec data`
 * directory and writes a run directory (doc/training.md).
 *   moec train MODEL.moe --data DIR [--set k=v]... [--steps N] [--batch B] [--seq T]
 *              [--out RUN] [--init W.safetensors] [--resume RUN]
 *              [--backend cpu|interp|cuda] [--threads N] [--quiet]
 *   moec train --resume RUN        (the model, data and settings of RUN/config.json)
 * This file reads the arguments, checks every input before any work (the
 * data, its vocabulary and sequence length, --init's shapes, the run
 * directory), sets up the run and hands it to runtime/train/loop.c.
 * Exit 0 done, 1 bad input or a run stopped by a failure, 2 usage or not
 * built, 130 interrupted (a checkpoint was written).
 * Started by `mpirun -np N`, each process is a rank of a data-parallel run
 * (runtime/dist/comm.h, doc/distributed.md): every rank checks its inputs,
 * rank 0 alone makes and writes the run directory, and the ranks agree
 * that all of them are ready before the first step. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/cpu_step.h"
#include "runtime/cuda/backend.h"
#include "runtime/data/dataset.h"
#include "runtime/data/shard.h"
#include "runtime/dist/comm.h"
#include "runtime/train/checkpoint.h"
#include "runtime/train/engine.h"
#include "runtime/train/loop.h"
#include "runtime/train/progress.h"
#include "runtime/train/run_dir.h"
#include "runtime/weights/weights.h"
#include "support/file.h"

typedef struct train_args {
    rt_model_args m;
    const char *data, *out, *init, *resume, *backend;
    uint64_t steps, batch, seq, threads;
    bool threads_given, quiet;
} train_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec train MODEL.moe --data DIR [--set k=v]... [--steps N] [--batch B] [--seq T] "
                    "[--out RUN] [--init W.safetensors] [--resume RUN] [--backend cpu|interp|cuda] [--threads N] "
                    "[--quiet]\n       moec train --resume RUN\n");
}

/* A whole number >= 1 for `option`. */
static int positive(const char *option, const char *v, uint64_t *out)
{
    if (rt_cli_parse_u64(option, v, out) < 0) return -1;
    if (*out == 0) return fprintf(stderr, "moec: %s must be at least 1\n", option), -1;
    return 0;
}

/* rt_cli_option_fn: train's own options. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    train_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--data"))) return a->data = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--out"))) return a->out = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--init"))) return a->init = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--resume"))) return a->resume = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--backend"))) return a->backend = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--steps"))) return positive("--steps", v, &a->steps);
    if ((v = rt_cli_option_value(argc, argv, i, "--batch"))) return positive("--batch", v, &a->batch);
    if ((v = rt_cli_option_value(argc, argv, i, "--seq"))) return positive("--seq", v, &a->seq);
    if ((v = rt_cli_option_value(argc, argv, i, "--threads")))
        return a->threads_given = true, rt_cli_parse_u64("--threads", v, &a->threads);
    if (!strcmp(argv[*i], "--quiet")) return a->quiet = true, 0;
    return 1;
}

static int parse_args(int argc, char **argv, train_args *a)
{
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    if (!a->resume && !a->m.model) return fprintf(stderr, "moec: train needs a model file (or --resume RUN)\n"), -1;
    if (!a->resume && !a->data) return fprintf(stderr, "moec: train needs --data DIR (a 'moec data' directory)\n"), -1;
    if (a->resume && a->out && strcmp(a->resume, a->out) != 0)
        return fprintf(stderr, "moec: --resume continues RUN in place; --out cannot name another directory\n"), -1;
    if (a->steps > 100000000 || a->batch > 1000000 || a->seq > 1000000 || a->threads > 4096)
        return fprintf(stderr, "moec: --steps at most 1e8, --batch and --seq at most 1e6, --threads at most 4096\n"), -1;
    if (a->backend && strcmp(a->backend, "cpu") && strcmp(a->backend, "interp") && strcmp(a->backend, "cuda"))
        return fprintf(stderr, "moec: --backend expects cpu, interp or cuda, got '%s'\n", a->backend), -1;
    return 0;
}

/* ---- the run's settings: from the command line, or from RUN/config.json ---- */

/* What a run is built from, owned here. */
typedef struct run_input {
    rt_run_config cfg;           /* strings point into the fields below or into cfg.root */
    char *model_text;            /* a fresh run: the model file read */
    char *data_abs;              /* a fresh run: realpath of --data */
    char **set_text;             /* a fresh run: "name=value" */
    fe_override *sets;           /* parsed for the front end, n_sets */
    char *set_buf;               /* the name/value strings of `sets` */
    int n_sets;
    char out_dir[4096];
} run_input;

static void free_input(run_input *in)
{
    for (int i = 0; in->set_text && i < in->cfg.n_sets; i++) free(in->set_text[i]);
    free(in->set_text);               /* a fresh run's cfg.sets */
    if (in->cfg.root) rt_run_config_free(&in->cfg);
    free(in->model_text);
    free(in->data_abs);
    free(in->sets);
    free(in->set_buf);
}

/* in->sets from in->cfg.sets ("name=value" each). */
static int split_sets(run_input *in)
{
    int n = in->cfg.n_sets;
    size_t len = 0;
    for (int i = 0; i < n; i++) len += strlen(in->cfg.sets[i]) + 1;
    in->sets = calloc((size_t)n + 1, sizeof *in->sets);
    in->set_buf = malloc(len + 1);
    if (!in->sets || !in->set_buf) return fprintf(stderr, "moec: out of memory\n"), -1;
    char *p = in->set_buf;
    for (int i = 0; i < n; i++) {
        strcpy(p, in->cfg.sets[i]);
        char *eq = strchr(p, '=');
        if (!eq) return fprintf(stderr, "moec: config.json: set '%s' is not name=value\n", p), -1;
        *eq = '\0';
        in->sets[i] = (fe_override){ .name = p, .value = eq + 1 };
        p = eq + 1 + strlen(eq + 1) + 1;
    }
    in->n_sets = n;
    return 0;
}

/* The --set values as the command line gives them, then steps/batch/seq
 * from their flags, as "name=value" strings (the caller frees each and the array). */
static int command_sets(const train_args *a, char ***out, int *n_out)
{
    int n = a->m.n_sets + 3, k = 0;
    char **s = calloc((size_t)n, sizeof *s);
    if (!s) return -1;
    const uint64_t v[3] = { a->steps, a->batch, a->seq };
    const char *name[3] = { "steps", "batch", "seq" };
    for (int i = 0; i < a->m.n_sets + 3; i++) {
        bool flag = i >= a->m.n_sets;
        if (flag && !v[i - a->m.n_sets]) continue;
        const char *key = flag ? name[i - a->m.n_sets] : a->m.sets[i].name;
        char num[32];
        if (flag) snprintf(num, sizeof num, "%llu", (unsigned long long)v[i - a->m.n_sets]);
        const char *value = flag ? num : a->m.sets[i].value;
        size_t len = strlen(key) + strlen(value) + 2;
        if (!(s[k] = malloc(len))) {
            while (k > 0) free(s[--k]);
            free(s);
            return -1;
        }
        snprintf(s[k++], len, "%s=%s", key, value);
    }
    *out = s;
    *n_out = k;
    return 0;
}

static const char *backend_name(const train_args *a)
{
    if (a->backend) return a->backend;
    return rt_cpu_step_available() ? "cpu" : "interp";
}

/* runs/<model file's base name without .moe>-<local time>. */
static void default_out(const char *model, char *out, size_t n)
{
    const char *base = strrchr(model, '/');
    base = base ? base + 1 : model;
    size_t len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".moe")) len -= 4;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, n, "runs/%.*s-%s", (int)len, base, stamp);
}

static int fresh_input(const train_args *a, const rt_comm *comm, run_input *in)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 0);
    d.prefix = "moec: ";
    size_t len;
    int rc = moec_file_read_all(a->m.model, 16u << 20, NULL, &in->model_text, &len, &d);
    moec_diag_free(&d);
    if (rc < 0) return -1;
    if (!(in->data_abs = realpath(a->data, NULL))) {
        fprintf(stderr, "moec: the data directory '%s' does not exist (%s); make one with 'moec data'\n", a->data,
                strerror(errno));
        return -1;
    }
    char **sets;
    int n;
    if (command_sets(a, &sets, &n) < 0) return fprintf(stderr, "moec: out of memory\n"), -1;
    in->set_text = sets;
    in->cfg = (rt_run_config){ .moec_version = PACKAGE_VERSION, .model_file = a->m.model,
                               .model_source = in->model_text, .sets = (const char **)sets, .n_sets = n,
                               .data = in->data_abs, .backend = backend_name(a),
                               .threads = (int64_t)a->threads, .init = a->init, .world_size = comm->size };
    if (a->out) snprintf(in->out_dir, sizeof in->out_dir, "%s", a->out);
    else default_out(a->m.model, in->out_dir, sizeof in->out_dir);
    return split_sets(in);
}

/* --resume RUN: the recorded settings; whatever the command line gives again must agree. */
static int resumed_input(const train_args *a, const rt_comm *comm, run_input *in)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 0);
    d.prefix = "moec: ";
    int rc = rt_run_config_read(a->resume, &in->cfg, &d);
    moec_diag_free(&d);
    if (rc < 0) return -1;
    snprintf(in->out_dir, sizeof in->out_dir, "%s", a->resume);
    const rt_run_config *c = &in->cfg;
    if (c->world_size != comm->size) {
        fprintf(stderr, "moec: %s was trained by %lld process%s (world_size in its config.json) and this resume has "
                "%d; resume it with the same number (%s)\n", a->resume, (long long)c->world_size,
                c->world_size == 1 ? "" : "es", comm->size,
                c->world_size == 1 ? "one process, without mpirun" : "mpirun -np N with N = world_size");
        return -1;
    }
    const char *differs = NULL;
    if (a->m.model) {
        char *text = NULL;
        size_t len;
        moec_diag_init(&d, stderr, 0);
        d.prefix = "moec: ";
        rc = moec_file_read_all(a->m.model, 16u << 20, NULL, &text, &len, &d);
        moec_diag_free(&d);
        if (rc < 0) return -1;
        if (strcmp(text, c->model_source) != 0) differs = "the model file's text";
        free(text);
    }
    if (!differs && a->data) {
        char *abs = realpath(a->data, NULL);
        if (!abs || strcmp(abs, c->data) != 0) differs = "--data";
        free(abs);
    }
    if (!differs && a->backend && strcmp(a->backend, c->backend) != 0) differs = "--backend";
    if (!differs && a->threads_given && (int64_t)a->threads != c->threads) differs = "--threads";
    if (!differs && a->init && (!c->init || strcmp(a->init, c->init) != 0)) differs = "--init";
    if (!differs && (a->m.n_sets || a->steps || a->batch || a->seq)) {
        char **sets;
        int n;
        if (command_sets(a, &sets, &n) < 0) return fprintf(stderr, "moec: out of memory\n"), -1;
        bool same = n == c->n_sets;
        for (int i = 0; i < n; i++) {
            same = same && !strcmp(sets[i], c->sets[i]);
            free(sets[i]);
        }
        free(sets);
        if (!same) differs = "the --set, --steps, --batch and --seq values";
    }
    if (differs) {
        fprintf(stderr, "moec: %s given with --resume differ from %s/config.json's; give the same, or only --resume %s\n",
                differs, a->resume, a->resume);
        return -1;
    }
    return split_sets(in);
}

/* ---- checks before any work ---- */

/* The vocabulary size domains.json records, or -1 (rt_split_load reports a bad file). */
static int64_t data_vocab(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/domains.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *v = json_object_get(root, "vocab_size");
    int64_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(root);
    return n;
}

static int load_data(const run_input *in, const fe_model *m, rt_split_data *train, rt_split_data *eval,
                     moec_diag *diag)
{
    const char *dir = in->cfg.data;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return moec_error(diag, "the data directory '%s' does not exist; make one with 'moec data'", dir);
    int64_t dv = data_vocab(dir);
    if (dv > m->vocab)
        return moec_error(diag, "the data in '%s' has a vocabulary of %lld tokens; the model's has %lld (set vocab)",
                          dir, (long long)dv, (long long)m->vocab);
    uint32_t vocab = m->vocab > RT_SHARD_MAX_VOCAB ? RT_SHARD_MAX_VOCAB : (uint32_t)m->vocab;
    if (rt_split_load(dir, "train", vocab, train, diag) < 0) return -1;
    if (rt_split_load(dir, "eval", vocab, eval, diag) < 0)
        return moec_error(diag, "'%s' has no usable eval split; build it with 'moec data' (--eval-fraction)", dir);
    int64_t t = m->train.seq;
    if ((int64_t)train->seq < t)
        return moec_error(diag, "the sequences in '%s' are %u tokens, shorter than seq %lld; rebuild the data "
                          "with 'moec data --seq %lld' or train with --seq %u", dir, train->seq, (long long)t,
                          (long long)t, train->seq);
    if (train->n_blocks == 0) return moec_error(diag, "'%s' has no train sequences", dir);
    if (eval->n_blocks == 0 && m->train.eval_steps > 0)
        return moec_error(diag, "'%s' has an empty eval split; evaluation needs sequences (or set eval_steps=0)", dir);
    return 0;
}

/* True when some parameter is an expert that upcycles from a dense tensor. */
static bool upcycles(const fe_model *m)
{
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].upcycle_from) return true;
    return false;
}

/* The start: --init's weights or a fresh initialisation (a new run), or the latest checkpoint. */
static int load_start(const train_args *a, const run_input *in, const fe_model *m, rt_weights *p, rt_weights *mo,
                      rt_weights *v, rt_ckpt_state *st, moec_diag *diag)
{
    if (rt_weights_alloc(p, m, diag) < 0 || rt_weights_alloc(mo, m, diag) < 0 || rt_weights_alloc(v, m, diag) < 0)
        return -1;
    if (a->resume) {
        int64_t step;
        int rc = rt_ckpt_latest(in->out_dir, &step, diag);
        if (rc < 0) return -1;
        if (rc == 1)
            return moec_error(diag, "'%s' has no checkpoint to resume from (checkpoint-step-N/)", in->out_dir);
        return rt_ckpt_read(in->out_dir, step, st, p, mo, v, diag);
    }
    memset(st, 0, sizeof *st);
    st->seed = (uint64_t)m->train.seed;
    if (!a->init) {
        rt_weights_init(p, (uint64_t)m->train.seed);
        return 0;
    }
    rt_load_options lo = { .upcycle = upcycles(m), .perturb = 1e-3, .seed = (uint64_t)m->train.seed };
    return rt_weights_load(p, a->init, &lo, diag);
}

/* ---- signals ---- */

/* SIGINT and SIGTERM set this; the loop checks it between steps. A signal
 * handler can only reach a static object: this is the command's one. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;     /* a second Ctrl-C ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- the command ---- */

/* The ranks agree that all of them got here with status 0; a rank that
 * failed has reported why. Returns the status to go on with. */
static int all_ready(rt_comm *comm, int status, moec_diag *diag)
{
    int worst = 0;
    if (rt_comm_max_int(comm, status != 0, &worst, diag) < 0) return 1;
    if (worst && status == 0) {
        if (comm->rank == 0) fprintf(stderr, "moec: another rank could not start (its message is above); stopping\n");
        return 1;
    }
    return status;
}

/* Every rank was given the same model text and --set/--steps/--batch/--seq
 * values (a launcher can start each rank with its own command line). */
static int same_settings(rt_comm *comm, const run_input *in, moec_diag *diag)
{
    int n = in->cfg.n_sets + 1, differs = 0;
    uint64_t hash[2];
    const void **part = calloc((size_t)n, sizeof *part);
    size_t *len = calloc((size_t)n, sizeof *len);
    int rc = part && len ? 0 : moec_error(diag, "out of memory");
    if (rc == 0) {
        part[0] = in->cfg.model_source;
        len[0] = strlen(in->cfg.model_source) + 1;
        for (int i = 1; i < n; i++) part[i] = in->cfg.sets[i - 1], len[i] = strlen(in->cfg.sets[i - 1]) + 1;
        rc = rt_comm_same_bytes(comm, part, len, n, &differs, hash, diag);
    }
    free(part);
    free(len);
    if (rc == 0 && differs) {
        if (comm->rank == 0)
            moec_error(diag, "rank %d was given another model file text or other --set, --steps, --batch or --seq "
                       "values than rank 0; every rank must run the same command", differs);
        rc = -1;
    }
    return rc;
}

static int train(const train_args *a, run_input *in, rt_comm *comm, bool *failed_alone)
{
    double wall_start = rt_train_now();
    bool root = comm->rank == 0;
    rt_frontend fe;
    const char *name = in->cfg.model_file;
    int status = rt_frontend_parse_text(&fe, name, in->cfg.model_source, a->m.max_errors, a->resume != NULL, stderr);
    if (status == 0) status = rt_frontend_finish(&fe, in->sets, in->n_sets);
    const fe_model *m = &fe.model;
    moec_diag *diag = &fe.diag;
    char prefix[48];
    snprintf(prefix, sizeof prefix, "moec: rank %d: ", comm->rank);
    diag->prefix = root ? "moec: " : prefix;
    rt_split_data tr = {0}, ev = {0};
    rt_weights p = {0}, mo = {0}, v = {0};
    rt_ckpt_state st = {0};
    rt_engine e;
    memset(&e, 0, sizeof e);
    bool built = false;
    rt_backend backend = !strcmp(in->cfg.backend, "interp") ? RT_BACKEND_INTERP : RT_BACKEND_CPU;
    if (status == 0 && backend == RT_BACKEND_CPU && !rt_cpu_step_available()) {
        fprintf(stderr, "moec: --backend cpu is not built (configure found no LLVM 14); --backend interp is\n");
        status = 2;
    }
    if (status == 0 && backend == RT_BACKEND_INTERP && m->train.accum > 1)
        status = (moec_error(diag, "accum > 1 needs --backend cpu (the interpreter runs whole steps)"), 1);
    if (status == 0 && backend == RT_BACKEND_INTERP && comm->size > 1) {
        if (root) moec_error(diag, "training across %d processes needs --backend cpu (the interpreter runs whole steps)",
                             comm->size);
        status = 1;   /* every rank sees it; rank 0 says it */
    }
    if (status == 0 && root && !a->resume && access(in->out_dir, F_OK) == 0)
        status = (moec_error(diag, "the run directory '%s' exists; give another --out, or continue it with --resume %s",
                             in->out_dir, in->out_dir), 1);
    if (status == 0 && load_data(in, m, &tr, &ev, diag) < 0) status = 1;
    if (status == 0 && load_start(a, in, m, &p, &mo, &v, &st, diag) < 0) status = 1;
    if (status == 0 && !a->resume) {
        st.data_start = rt_batcher_start(st.seed, tr.n_blocks);
        in->cfg.steps = m->train.steps;
        in->cfg.batch = m->train.batch;
        in->cfg.seq = m->train.seq;
        in->cfg.seed = (uint64_t)m->train.seed;
        if (root && (rt_run_create(in->out_dir, diag) < 0 || rt_run_config_write(in->out_dir, &in->cfg, m, diag) < 0))
            status = 1;
    }
    status = all_ready(comm, status, diag);
    rt_progress prog;
    rt_progress_init(&prog, stderr, m->train.steps, a->quiet || !root);
    /* "every core" on a machine shared by several ranks: each its share */
    int threads = in->cfg.threads || comm->size == 1 ? (int)in->cfg.threads : rt_comm_default_threads(comm);
    if (status == 0) {
        if (a->resume)
            rt_progress_note(&prog, false, "moec: resuming %s from checkpoint-step-%lld", in->out_dir,
                             (long long)st.step);
        else if (comm->size > 1)
            rt_progress_note(&prog, false, "moec: training %s (%lld parameters) for %lld steps into %s: %d ranks "
                             "(%d thread%s each), a global batch of %lld sequences", name,
                             (long long)fe_model_param_count(m), (long long)m->train.steps, in->out_dir, comm->size,
                             threads, threads == 1 ? "" : "s",
                             (long long)(m->train.batch * m->train.accum * comm->size));
        else
            rt_progress_note(&prog, false, "moec: training %s (%lld parameters) for %lld steps into %s", name,
                             (long long)fe_model_param_count(m), (long long)m->train.steps, in->out_dir);
        catch_signals();
        rt_engine_options eo = { .backend = backend, .model_name = name, .model_text = in->cfg.model_source,
                                 .sets = in->sets, .n_sets = in->n_sets, .batch = m->train.batch,
                                 .seq = m->train.seq, .threads = threads, .accum = m->train.accum,
                                 .eval = m->train.eval_steps > 0, .keep_stats = true, .comm = comm };
        built = true;
        if (rt_engine_build(&e, &eo, m, diag) < 0) status = 1;
        status = all_ready(comm, status, diag);
    }
    if (status == 0) {
        rt_weights_copy(&e.params, &p);
        rt_weights_copy(&e.m, &mo);
        rt_weights_copy(&e.v, &v);
        if (rt_engine_upload(&e) < 0) status = 1;
    }
    if (status == 0) {
        rt_train_setup s = { .run_dir = in->out_dir, .cfg = &in->cfg, .model = m, .engine = &e, .train = &tr,
                             .eval = &ev, .start = st, .resumed = a->resume != NULL, .progress = &prog,
                             .diag = diag, .stop = &interrupted, .wall_start = wall_start, .comm = comm,
                             .failed_alone = failed_alone };
        status = rt_train_loop(&s);
    }
    if (built) rt_engine_free(&e);
    rt_weights_free(&p);
    rt_weights_free(&mo);
    rt_weights_free(&v);
    rt_split_free(&tr);
    rt_split_free(&ev);
    rt_frontend_free(&fe);
    return status;
}

int rt_cmd_train(int argc, char **argv)
{
    train_args a = {0};
    if (parse_args(argc, argv, &a) < 0) return usage(), 2;
    if (a.backend && !strcmp(a.backend, "cuda")) return rt_cuda_backend_refuse("train");
    moec_diag d;
    moec_diag_init(&d, stderr, 0);
    d.prefix = "moec: ";
    rt_comm comm;
    run_input in;
    memset(&in, 0, sizeof in);
    bool failed_alone = false;
    int status = rt_comm_open(&comm, &d) < 0 ? 1 : 0;
    if (status != 0) failed_alone = true;
    else {
        status = (a.resume ? resumed_input(&a, &comm, &in) : fresh_input(&a, &comm, &in)) < 0 ? 1 : 0;
        status = all_ready(&comm, status, &d);    /* every rank read its settings */
        if (status == 0 && same_settings(&comm, &in, &d) < 0) status = 1;
    }
    if (status == 0) status = train(&a, &in, &comm, &failed_alone);
    free_input(&in);
    rt_comm_close(&comm, failed_alone);
    moec_diag_free(&d);
    return status;
}
