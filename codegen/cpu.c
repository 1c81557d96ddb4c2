/* codegen/cpu.c -- the CPU backend's compile driver (codegen/cpu.h). The
 * loop launches are cut into parts of CG_PART_KERNELS; each part's cache
 * key derives from the program's (what decides the object code: the
 * printed program, the host, LLVM, the options). Parts found in the cache
 * are loaded as they are; the others go to worker threads, each with its
 * own LLVM context and target machine: LLVM IR -> optimised -> object code,
 * stored in the cache. All objects are then loaded into one LLJIT and a
 * function looked up per loop launch. The optimiser runs only on a miss. */
#include "config.h"

#include "codegen/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cache.h"
#include "codegen/jit.h"
#include "codegen/llvm_kernel.h"
#include "codegen/source_hash.h"

struct cg_cpu_program {
    cg_jit *jit;
    int n;                    /* launches */
    cg_kernel_fn **fn;        /* per launch; NULL unless a loop */
};

/* One object file: launches [first, last). */
typedef struct part {
    int first, last;
    uint8_t key[CG_KEY_BYTES];
    void *obj;                /* malloc'd object code */
    size_t len;
    bool cached, bad, stored;
    char note[256];           /* why the entry was rejected or not written */
    char err[512];            /* the compile error, if rc < 0 */
    int rc;
    double build_s, optimise_s, emit_s;
} part;

/* What the worker threads share. */
typedef struct job {
    const ir_kprogram *p;
    const char *dir;          /* NULL: no cache */
    int opt;
    part *parts;
    int n_parts;
    int *todo, n_todo;        /* parts to compile */
    atomic_int next;          /* the next index into todo */
} job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- keys ---- */

/* SHA-256 of what decides the object code: the code generator's revision
 * and a hash of its sources (codegen/local.mk), LLVM's version, the host,
 * the options and the printed program. */
static int program_key(const ir_kprogram *p, const cg_host *h, int opt, uint8_t key[CG_KEY_BYTES])
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    fprintf(f, "moec %s cpu kernels %s %s\nllvm %s\ntriple %s\ncpu %s\nfeatures %s\nopt %d lanes %d part %d\nsource %s\n",
            PACKAGE_VERSION, CG_LLVM_CODEGEN_REVISION, CG_SOURCE_HASH, MOEC_LLVM_VERSION, h->triple, h->cpu, h->features,
            opt, CG_LANES, CG_PART_KERNELS, p->source_name ? p->source_name : "");
    ir_kprogram_print(f, p, true);
    int rc = fclose(f) == 0 && text ? 0 : -1;
    if (rc == 0) cg_sha256(text, len, key);
    free(text);
    return rc;
}

/* Parts of CG_PART_KERNELS loop launches each; keys from the program's. */
static part *cut_parts(const ir_kprogram *p, const uint8_t key[CG_KEY_BYTES], int *n_parts)
{
    part *parts = calloc((size_t)p->n_launches / CG_PART_KERNELS + 1, sizeof *parts);
    int n = 0, loops = 0;
    for (int i = 0; parts && i < p->n_launches; i++) {
        if (p->launches[i].kind != IR_LAUNCH_LOOP) continue;
        if (loops++ % CG_PART_KERNELS == 0) parts[n++].first = i;
        parts[n - 1].last = i + 1;
    }
    for (int k = 0; parts && k < n; k++) {
        uint8_t text[CG_KEY_BYTES + 2 * sizeof(int)];
        memcpy(text, key, CG_KEY_BYTES);
        memcpy(text + CG_KEY_BYTES, &parts[k].first, sizeof(int));
        memcpy(text + CG_KEY_BYTES + sizeof(int), &parts[k].last, sizeof(int));
        cg_sha256(text, sizeof text, parts[k].key);
    }
    *n_parts = n;
    return parts;
}

/* ---- compiling one part ---- */

/* LLVM IR of launches [first, last) for the host, optimised unless opt == 0. */
static int build(LLVMContextRef ctx, const ir_kprogram *p, int first, int last, const cg_host *h, int opt,
                 LLVMModuleRef *m, part *pt, moec_diag *d)
{
    double t0 = now();
    if (cg_llvm_build_module(ctx, p, first, last, m, d) < 0) return -1;
    cg_host_adopt(h, *m);
    double t1 = now();
    pt->build_s = t1 - t0;
    if (opt && cg_llvm_optimise(*m, h, opt, d) < 0) return -1;
    pt->optimise_s = now() - t1;
    return 0;
}

/* Object code of the part (then written to the cache). */
static int compile_part(const job *j, const cg_host *h, part *pt, moec_diag *d)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    LLVMMemoryBufferRef buf = NULL;
    int rc = build(ctx, j->p, pt->first, pt->last, h, j->opt, &m, pt, d);
    double t0 = now();
    if (rc == 0) rc = cg_llvm_emit_object(m, h, &buf, d);
    pt->emit_s = now() - t0;
    if (rc == 0) {
        pt->len = LLVMGetBufferSize(buf);
        pt->obj = malloc(pt->len ? pt->len : 1);
        if (pt->obj) memcpy(pt->obj, LLVMGetBufferStart(buf), pt->len);
        else rc = -1, moec_error(d, "cpu backend: out of memory");
    }
    if (buf) LLVMDisposeMemoryBuffer(buf);
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    if (rc == 0 && j->dir) pt->stored = cg_cache_store(j->dir, pt->key, pt->obj, pt->len, pt->note, sizeof pt->note) == 0;
    return rc;
}

/* A thread: its own target machine; parts taken from the shared list.
 * Errors are kept per part (a sink is not shared between threads). */
static void *worker(void *arg)
{
    job *j = arg;
    cg_host h;
    char herr[512] = "";
    FILE *hf = fmemopen(herr, sizeof herr, "w");
    moec_diag hd;
    moec_diag_init(&hd, hf, 1);
    int host = cg_host_init(&h, j->opt, &hd);
    fclose(hf);
    for (int t; (t = atomic_fetch_add(&j->next, 1)) < j->n_todo;) {
        part *pt = &j->parts[j->todo[t]];
        if (host < 0) {
            snprintf(pt->err, sizeof pt->err, "%s", herr);
            pt->rc = -1;
            continue;
        }
        FILE *f = fmemopen(pt->err, sizeof pt->err, "w");
        moec_diag d;
        moec_diag_init(&d, f, 5);
        pt->rc = compile_part(j, &h, pt, &d);
        fclose(f);
    }
    if (host == 0) cg_host_free(&h);
    return NULL;
}

/* Compiles the parts in j->todo on up to `threads` threads (this one included). */
static int run_workers(job *j, int threads)
{
    if (threads > j->n_todo) threads = j->n_todo;
    pthread_t *tid = calloc((size_t)(threads > 1 ? threads - 1 : 1), sizeof *tid);
    int started = 0;
    for (int t = 0; tid && t < threads - 1; t++, started++)
        if (pthread_create(&tid[t], NULL, worker, j) != 0) break;
    worker(j);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    free(tid);
    return started + 1;
}

/* ---- loading ---- */

/* An LLJIT holding every part's object, and the function of every loop launch. */
static int load(const ir_kprogram *p, const part *parts, int n_parts, cg_cpu_program **out, moec_diag *d)
{
    cg_cpu_program *c = calloc(1, sizeof *c);
    if (!c || !(c->fn = calloc((size_t)(p->n_launches ? p->n_launches : 1), sizeof *c->fn))) {
        free(c);
        return moec_error(d, "cpu backend: out of memory"), -1;
    }
    c->n = p->n_launches;
    int rc = cg_jit_new(&c->jit, d);
    for (int k = 0; k < n_parts && rc == 0; k++) rc = cg_jit_add_object(c->jit, parts[k].obj, parts[k].len, d);
    for (int i = 0; i < p->n_launches && rc == 0; i++) {
        if (p->launches[i].kind != IR_LAUNCH_LOOP) continue;
        char name[256];
        void *addr = cg_jit_lookup(c->jit, cg_llvm_symbol(p, i, name, sizeof name), d);
        if (!addr) rc = -1;
        c->fn[i] = (cg_kernel_fn *)addr;
    }
    if (rc < 0) {
        cg_cpu_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* ---- the driver ---- */

/* The cache folder (NULL: no cache), noting in st why there is none. */
static const char *cache_dir(const cg_cpu_options *o, char *buf, size_t size, cg_cpu_stats *st)
{
    if (o && o->no_cache) return NULL;
    if (o && o->cache_dir) return o->cache_dir;
    if (cg_cache_default_dir(buf, size) == 0) return buf;
    snprintf(st->cache_note, sizeof st->cache_note, "no cache: neither XDG_CACHE_HOME nor HOME is set");
    return NULL;
}

/* Parts already in the cache are loaded; the others listed in j->todo. */
static void look_up_parts(job *j, cg_cpu_stats *st)
{
    for (int k = 0; k < j->n_parts; k++) {
        part *pt = &j->parts[k];
        cg_cache_status s = j->dir ? cg_cache_load(j->dir, pt->key, &pt->obj, &pt->len, pt->note, sizeof pt->note)
                                   : CG_CACHE_MISS;
        pt->cached = s == CG_CACHE_HIT;
        pt->bad = s == CG_CACHE_BAD;
        if (!pt->cached) j->todo[j->n_todo++] = k;
        st->parts_cached += pt->cached;
    }
}

/* Sums the parts into st; forwards their errors to d. Returns 0 or -1. */
static int collect(const job *j, cg_cpu_stats *st, moec_diag *d)
{
    int rc = 0;
    for (int k = 0; k < j->n_parts; k++) {
        const part *pt = &j->parts[k];
        st->build_s += pt->build_s;
        st->optimise_s += pt->optimise_s;
        st->emit_s += pt->emit_s;
        st->object_bytes += pt->len;
        st->parts_stored += pt->stored;
        st->cache_bad |= pt->bad;
        if (pt->note[0] && !st->cache_note[0]) snprintf(st->cache_note, sizeof st->cache_note, "%s", pt->note);
        if (pt->rc < 0) {
            const char *msg = strncmp(pt->err, "moec: error: ", 13) ? pt->err : pt->err + 13;
            moec_error(d, "%.*s", (int)strcspn(msg, "\n"), msg);
            rc = -1;
        }
    }
    return rc;
}

static int threads_wanted(const cg_cpu_options *o)
{
    if (o && o->threads > 0) return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void free_parts(part *parts, int n)
{
    for (int k = 0; parts && k < n; k++) free(parts[k].obj);
    free(parts);
}

int cg_cpu_compile(const ir_kprogram *p, const cg_cpu_options *o, cg_cpu_program **out, cg_cpu_stats *st,
                   moec_diag *d)
{
    cg_cpu_stats scratch;
    if (!st) st = &scratch;
    memset(st, 0, sizeof *st);
    double t0 = now();
    for (int i = 0; i < p->n_launches; i++) st->kernels += p->launches[i].kind == IR_LAUNCH_LOOP;
    if (ir_kprogram_verify(p, d) < 0) return -1;
    job j = { .p = p, .opt = o && o->opt_level == 2 ? 2 : 3 };
    cg_host h;
    if (cg_host_init(&h, j.opt, d) < 0) return -1;
    char dirbuf[4096];
    j.dir = cache_dir(o, dirbuf, sizeof dirbuf, st);
    uint8_t key[CG_KEY_BYTES];
    int rc = program_key(p, &h, j.opt, key);
    cg_host_free(&h);
    if (rc == 0) j.parts = cut_parts(p, key, &j.n_parts);
    if (rc < 0 || !j.parts || !(j.todo = calloc((size_t)j.n_parts + 1, sizeof *j.todo))) {
        free(j.parts);
        return moec_error(d, "cpu backend: out of memory"), -1;
    }
    for (int i = 0; i < CG_KEY_BYTES; i++) snprintf(st->key + 2 * i, 3, "%02x", key[i]);
    st->key_s = now() - t0;
    st->parts = j.n_parts;
    look_up_parts(&j, st);
    st->cache_hit = j.n_todo == 0;
    if (j.n_todo) st->threads = run_workers(&j, threads_wanted(o));
    rc = collect(&j, st, d);
    double t1 = now();
    if (rc == 0) rc = load(p, j.parts, j.n_parts, out, d);
    st->load_s = now() - t1;
    free_parts(j.parts, j.n_parts);
    free(j.todo);
    st->wall_s = now() - t0;
    return rc;
}

cg_kernel_fn *cg_cpu_kernel(const cg_cpu_program *c, int launch)
{
    return launch >= 0 && launch < c->n ? c->fn[launch] : NULL;
}

int cg_cpu_reduce_lanes(const ir_kprogram *p, int launch)
{
    return cg_llvm_column_kernel(&p->launches[launch].loop) ? 1 : CG_LANES;
}

void cg_cpu_free(cg_cpu_program *c)
{
    if (!c) return;
    cg_jit_free(c->jit);
    free(c->fn);
    free(c);
}

int cg_cpu_print_ir(FILE *out, const ir_kprogram *p, int opt_level, moec_diag *d)
{
    if (ir_kprogram_verify(p, d) < 0) return -1;
    cg_host h;
    if (cg_host_init(&h, opt_level ? opt_level : 3, d) < 0) return -1;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    part scratch = { 0 };
    int rc = build(ctx, p, 0, p->n_launches, &h, opt_level, &m, &scratch, d);
    if (rc == 0) {
        char *text = LLVMPrintModuleToString(m);
        fputs(text, out);
        LLVMDisposeMessage(text);
    }
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    cg_host_free(&h);
    return rc;
}
