/* codegen/cpu.c -- the CPU backend's compile driver (codegen/cpu.h). The
 * distinct loop kernels (codegen/kernels.c) are cut into parts of
 * CG_PART_KERNELS, each keyed by content (its kernels' hashes and names,
 * the host, LLVM, the options). Parts found in the cache are loaded as
 * they are; the others go to worker threads, each with its own LLVM
 * context and target machine: LLVM IR -> optimised -> object code, stored
 * in the cache. All objects are then loaded into one LLJIT and every loop
 * launch bound to its kernel's function and its buffers' slots. The
 * optimiser runs only on a miss. */
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
#include "codegen/kernels.h"
#include "codegen/llvm_kernel.h"
#include "codegen/source_hash.h"

struct cg_cpu_program {
    cg_jit *jit;
    int n;                    /* launches */
    cg_kernel_fn **fn;        /* per launch; NULL unless a loop */
    int *n_args;              /* per launch: slots */
    int **args;               /* per launch: the buffer id of each slot */
};

/* One object file: distinct kernels [first, last). */
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
    const cg_kernels *k;
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

/* SHA-256 of what decides the object code besides the kernels themselves:
 * the code generator's revision and a hash of its sources (codegen/local.mk),
 * LLVM's version, the host and the options. */
static void prefix_key(const cg_host *h, int opt, uint8_t key[CG_KEY_BYTES])
{
    char text[8192];
    int n = snprintf(text, sizeof text, "moec %s cpu kernels %s %s\nllvm %s\ntriple %s\ncpu %s\nfeatures %s\nopt %d lanes %d\n",
                     PACKAGE_VERSION, CG_LLVM_CODEGEN_REVISION, CG_SOURCE_HASH, MOEC_LLVM_VERSION, h->triple, h->cpu,
                     h->features, opt, CG_LANES);
    cg_sha256(text, n > 0 && (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, key);
}

/* A part's key: SHA-256 of the prefix and, per kernel, its symbol and the
 * hash of its canonical text; the same kernels under the same names make
 * the same part in any program. Returns 0 or -1 (out of memory). */
static int part_key(const job *j, const uint8_t prefix[CG_KEY_BYTES], part *pt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    fwrite(prefix, 1, CG_KEY_BYTES, f);
    for (int u = pt->first; u < pt->last; u++) {
        char name[256];
        fprintf(f, "%s", cg_kernel_symbol(j->p, j->k, u, name, sizeof name));
        fputc('\0', f);
        fwrite(j->k->hash[u], 1, CG_KEY_BYTES, f);
    }
    int rc = fclose(f) == 0 && text ? 0 : -1;
    if (rc == 0) cg_sha256(text, len, pt->key);
    free(text);
    return rc;
}

/* Parts of CG_PART_KERNELS distinct kernels each, with their keys. */
static int cut_parts(job *j, const uint8_t prefix[CG_KEY_BYTES])
{
    j->n_parts = (j->k->n_unique + CG_PART_KERNELS - 1) / CG_PART_KERNELS;
    j->parts = calloc((size_t)j->n_parts + 1, sizeof *j->parts);
    j->todo = calloc((size_t)j->n_parts + 1, sizeof *j->todo);
    if (!j->parts || !j->todo) return -1;
    for (int i = 0; i < j->n_parts; i++) {
        j->parts[i].first = i * CG_PART_KERNELS;
        j->parts[i].last = i == j->n_parts - 1 ? j->k->n_unique : (i + 1) * CG_PART_KERNELS;
        if (part_key(j, prefix, &j->parts[i]) < 0) return -1;
    }
    return 0;
}

/* The program's key: SHA-256 of its parts' keys, in hex. */
static void program_key(const job *j, char hex[65])
{
    uint8_t key[CG_KEY_BYTES];
    uint8_t *keys = malloc((size_t)(j->n_parts + 1) * CG_KEY_BYTES);
    for (int i = 0; keys && i < j->n_parts; i++) memcpy(keys + (size_t)i * CG_KEY_BYTES, j->parts[i].key, CG_KEY_BYTES);
    cg_sha256(keys ? keys : (uint8_t *)"", keys ? (size_t)j->n_parts * CG_KEY_BYTES : 0, key);
    free(keys);
    for (int i = 0; i < CG_KEY_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
}

/* ---- compiling one part ---- */

/* LLVM IR of distinct kernels [first, last) for the host, optimised unless opt == 0. */
static int build(LLVMContextRef ctx, const ir_kprogram *p, const cg_kernels *k, int first, int last,
                 const cg_host *h, int opt, LLVMModuleRef *m, part *pt, moec_diag *d)
{
    double t0 = now();
    if (cg_llvm_build_module(ctx, p, k, first, last, m, d) < 0) return -1;
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
    int rc = build(ctx, j->p, j->k, pt->first, pt->last, h, j->opt, &m, pt, d);
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

/* The function and the slots of every loop launch, from the addresses of
 * the distinct kernels. */
static int bind_launches(cg_cpu_program *c, const ir_kprogram *p, const cg_kernels *k, moec_diag *d)
{
    void **addr = calloc((size_t)k->n_unique + 1, sizeof *addr);
    int rc = addr ? 0 : (moec_error(d, "cpu backend: out of memory"), -1);
    for (int u = 0; u < k->n_unique && rc == 0; u++) {
        char name[256];
        addr[u] = cg_jit_lookup(c->jit, cg_kernel_symbol(p, k, u, name, sizeof name), d);
        if (!addr[u]) rc = -1;
    }
    for (int i = 0; i < p->n_launches && rc == 0; i++) {
        if (k->unique[i] < 0) continue;
        c->fn[i] = (cg_kernel_fn *)addr[k->unique[i]];
        const ir_kloop *loop = &p->launches[i].loop;
        if (!(c->args[i] = malloc(sizeof *c->args[i] * (size_t)(loop->n_ins + 1)))) {
            rc = (moec_error(d, "cpu backend: out of memory"), -1);
            break;
        }
        c->n_args[i] = cg_kernel_slots(loop, c->args[i]);
    }
    free(addr);
    return rc;
}

/* An LLJIT holding every part's object, and the function of every loop launch. */
static int load(const ir_kprogram *p, const cg_kernels *k, const part *parts, int n_parts, cg_cpu_program **out,
                moec_diag *d)
{
    size_t n = (size_t)(p->n_launches ? p->n_launches : 1);
    cg_cpu_program *c = calloc(1, sizeof *c);
    if (!c || !(c->fn = calloc(n, sizeof *c->fn)) || !(c->n_args = calloc(n, sizeof *c->n_args)) ||
        !(c->args = calloc(n, sizeof *c->args))) {
        cg_cpu_free(c);
        return moec_error(d, "cpu backend: out of memory"), -1;
    }
    c->n = p->n_launches;
    int rc = cg_jit_new(&c->jit, d);
    for (int i = 0; i < n_parts && rc == 0; i++) rc = cg_jit_add_object(c->jit, parts[i].obj, parts[i].len, d);
    if (rc == 0) rc = bind_launches(c, p, k, d);
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
        if (!pt->cached) st->unique_compiled += pt->last - pt->first;
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

/* Hashes the program's distinct kernels and cuts them into keyed parts. */
static int plan(job *j, const cg_cpu_options *o, char *dirbuf, size_t size, cg_cpu_stats *st, moec_diag *d)
{
    cg_host h;
    if (cg_host_init(&h, j->opt, d) < 0) return -1;
    uint8_t prefix[CG_KEY_BYTES];
    prefix_key(&h, j->opt, prefix);
    cg_host_free(&h);
    j->dir = cache_dir(o, dirbuf, size, st);
    if (cut_parts(j, prefix) < 0) return moec_error(d, "cpu backend: out of memory"), -1;
    program_key(j, st->key);
    st->unique = j->k->n_unique;
    st->parts = j->n_parts;
    return 0;
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
    cg_kernels k;
    if (cg_kernels_find(p, &k) < 0) return moec_error(d, "cpu backend: out of memory"), -1;
    job j = { .p = p, .k = &k, .opt = o && o->opt_level == 2 ? 2 : 3 };
    char dirbuf[4096];
    int rc = plan(&j, o, dirbuf, sizeof dirbuf, st, d);
    st->key_s = now() - t0;
    if (rc == 0) {
        look_up_parts(&j, st);
        st->cache_hit = j.n_todo == 0;
        if (j.n_todo) st->threads = run_workers(&j, threads_wanted(o));
        rc = collect(&j, st, d);
    }
    double t1 = now();
    if (rc == 0) rc = load(p, &k, j.parts, j.n_parts, out, d);
    st->load_s = now() - t1;
    free_parts(j.parts, j.n_parts);
    free(j.todo);
    cg_kernels_free(&k);
    st->wall_s = now() - t0;
    return rc;
}

cg_kernel_fn *cg_cpu_kernel(const cg_cpu_program *c, int launch)
{
    return launch >= 0 && launch < c->n ? c->fn[launch] : NULL;
}

const int *cg_cpu_arg_buffers(const cg_cpu_program *c, int launch, int *n)
{
    bool ok = launch >= 0 && launch < c->n;
    *n = ok ? c->n_args[launch] : 0;
    return ok ? c->args[launch] : NULL;
}

int cg_cpu_args(const cg_cpu_program *c, int launch, void *const *bufs, void **args)
{
    int n;
    const int *ids = cg_cpu_arg_buffers(c, launch, &n);
    for (int s = 0; s < n; s++) args[s] = bufs[ids[s]];
    return n;
}

int cg_cpu_reduce_lanes(const ir_kprogram *p, int launch)
{
    return cg_llvm_column_kernel(&p->launches[launch].loop) ? 1 : CG_LANES;
}

void cg_cpu_free(cg_cpu_program *c)
{
    if (!c) return;
    cg_jit_free(c->jit);
    for (int i = 0; c->args && i < c->n; i++) free(c->args[i]);
    free(c->fn);
    free(c->n_args);
    free(c->args);
    free(c);
}

int cg_cpu_print_ir(FILE *out, const ir_kprogram *p, int opt_level, moec_diag *d)
{
    if (ir_kprogram_verify(p, d) < 0) return -1;
    cg_kernels k;
    if (cg_kernels_find(p, &k) < 0) return moec_error(d, "cpu backend: out of memory"), -1;
    cg_host h;
    int rc = cg_host_init(&h, opt_level ? opt_level : 3, d);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    part scratch = { 0 };
    if (rc == 0) rc = build(ctx, p, &k, 0, k.n_unique, &h, opt_level, &m, &scratch, d);
    if (rc == 0) {
        char *text = LLVMPrintModuleToString(m);
        fputs(text, out);
        LLVMDisposeMessage(text);
    }
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    if (h.tm) cg_host_free(&h);
    cg_kernels_free(&k);
    return rc;
}

/* Distinct kernel u's module, printed and handed to emit with the loop
 * launches that run it (list: room for every launch). 0, -1 (LLVM,
 * reported), or 1 (emit asked to stop). */
static int emit_kernel_ir(const ir_kprogram *p, const cg_kernels *k, int u, const cg_host *h, int opt, int *list,
                          cg_kernel_ir_fn *emit, void *emit_ctx, moec_diag *d)
{
    int n = 0;
    for (int i = 0; i < p->n_launches; i++)
        if (k->unique[i] == u) list[n++] = i;
    LLVMContextRef ctx = LLVMContextCreate();   /* one a module: memory stays flat over hundreds */
    LLVMModuleRef m = NULL;
    part scratch = { 0 };
    int rc = build(ctx, p, k, u, u + 1, h, opt, &m, &scratch, d);
    if (rc == 0) {
        char symbol[256];
        char *text = LLVMPrintModuleToString(m);
        rc = emit(emit_ctx, cg_kernel_symbol(p, k, u, symbol, sizeof symbol), list, n, text) ? 1 : 0;
        LLVMDisposeMessage(text);
    }
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return rc;
}

int cg_cpu_each_kernel_ir(const ir_kprogram *p, int opt_level, cg_kernel_ir_fn *emit, void *ctx, moec_diag *d)
{
    if (ir_kprogram_verify(p, d) < 0) return -1;
    cg_kernels k;
    if (cg_kernels_find(p, &k) < 0) return moec_error(d, "cpu backend: out of memory"), -1;
    int *list = malloc(sizeof *list * (size_t)(p->n_launches + 1));
    cg_host h = { 0 };
    int rc = list ? cg_host_init(&h, opt_level ? opt_level : 3, d) : moec_error(d, "cpu backend: out of memory");
    for (int u = 0; rc == 0 && u < k.n_unique; u++) rc = emit_kernel_ir(p, &k, u, &h, opt_level, list, emit, ctx, d);
    if (h.tm) cg_host_free(&h);
    free(list);
    cg_kernels_free(&k);
    return rc == 0 ? 0 : -1;
}
