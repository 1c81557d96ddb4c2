/* codegen/cpu.c -- the CPU backend's compile driver (codegen/cpu.h): the
 * cache key of a kernel program, then either the cached object code or
 * LLVM IR -> optimised -> object code (stored in the cache), loaded into
 * an LLJIT instance either way, one function looked up per loop launch.
 * The optimiser runs only on a cache miss. */
#include "config.h"

#include "codegen/cpu.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cache.h"
#include "codegen/jit.h"
#include "codegen/llvm_kernel.h"

struct cg_cpu_program {
    cg_jit *jit;
    int n;                    /* launches */
    cg_kernel_fn **fn;        /* per launch; NULL unless a loop */
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int opt_level(const cg_cpu_options *o) { return o && o->opt_level == 2 ? 2 : 3; }

/* SHA-256 of what decides the object code: the code generator's revision,
 * LLVM's version, the host, the options and the printed program. */
static int cache_key(const ir_kprogram *p, const cg_host *h, int opt, uint8_t key[CG_KEY_BYTES])
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    fprintf(f, "moec %s cpu kernels %s\nllvm %s\ntriple %s\ncpu %s\nfeatures %s\nopt %d lanes %d\nsource %s\n",
            PACKAGE_VERSION, CG_LLVM_CODEGEN_REVISION, MOEC_LLVM_VERSION, h->triple, h->cpu, h->features, opt,
            CG_LANES, p->source_name ? p->source_name : "");
    ir_kprogram_print(f, p, true);
    int rc = fclose(f) == 0 && text ? 0 : -1;
    if (rc == 0) cg_sha256(text, len, key);
    free(text);
    return rc;
}

/* LLVM IR of p for the host, optimised unless opt == 0. */
static int build(LLVMContextRef ctx, const ir_kprogram *p, const cg_host *h, int opt, LLVMModuleRef *m,
                 cg_cpu_stats *st, moec_diag *d)
{
    double t0 = now();
    if (cg_llvm_build_module(ctx, p, m, d) < 0) return -1;
    cg_host_adopt(h, *m);
    double t1 = now();
    st->build_s = t1 - t0;
    if (opt && cg_llvm_optimise(*m, h, opt, d) < 0) return -1;
    st->optimise_s = now() - t1;
    return 0;
}

/* Compiles p to object code (*obj, malloc'd) and stores it in the cache. */
static int compile(const ir_kprogram *p, const cg_host *h, int opt, const char *dir, const uint8_t *key, void **obj,
                   size_t *len, cg_cpu_stats *st, moec_diag *d)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    LLVMMemoryBufferRef buf = NULL;
    int rc = build(ctx, p, h, opt, &m, st, d);
    double t0 = now();
    if (rc == 0) rc = cg_llvm_emit_object(m, h, &buf, d);
    st->emit_s = now() - t0;
    if (rc == 0) {
        *len = LLVMGetBufferSize(buf);
        *obj = malloc(*len ? *len : 1);
        if (*obj) memcpy(*obj, LLVMGetBufferStart(buf), *len);
        else rc = -1, moec_error(d, "cpu backend: out of memory");
    }
    if (buf) LLVMDisposeMemoryBuffer(buf);
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    if (rc == 0 && dir) {
        char why[sizeof st->cache_note];
        st->cache_stored = cg_cache_store(dir, key, *obj, *len, why, sizeof why) == 0;
        if (!st->cache_stored) snprintf(st->cache_note, sizeof st->cache_note, "%s", why);
    }
    return rc;
}

/* An LLJIT holding obj, and the function of every loop launch. */
static int load(const ir_kprogram *p, const void *obj, size_t len, cg_cpu_program **out, moec_diag *d)
{
    cg_cpu_program *c = calloc(1, sizeof *c);
    if (!c || !(c->fn = calloc((size_t)(p->n_launches ? p->n_launches : 1), sizeof *c->fn))) {
        free(c);
        return moec_error(d, "cpu backend: out of memory"), -1;
    }
    c->n = p->n_launches;
    int rc = cg_jit_new(&c->jit, d);
    if (rc == 0) rc = cg_jit_add_object(c->jit, obj, len, d);
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

/* The cache folder (NULL: no cache), noting in st why there is none. */
static const char *cache_dir(const cg_cpu_options *o, char *buf, size_t size, cg_cpu_stats *st)
{
    if (o && o->no_cache) return NULL;
    if (o && o->cache_dir) return o->cache_dir;
    if (cg_cache_default_dir(buf, size) == 0) return buf;
    snprintf(st->cache_note, sizeof st->cache_note, "no cache: neither XDG_CACHE_HOME nor HOME is set");
    return NULL;
}

static int count_loops(const ir_kprogram *p)
{
    int n = 0;
    for (int i = 0; i < p->n_launches; i++) n += p->launches[i].kind == IR_LAUNCH_LOOP;
    return n;
}

int cg_cpu_compile(const ir_kprogram *p, const cg_cpu_options *o, cg_cpu_program **out, cg_cpu_stats *st,
                   moec_diag *d)
{
    cg_cpu_stats scratch;
    if (!st) st = &scratch;
    memset(st, 0, sizeof *st);
    st->kernels = count_loops(p);
    if (ir_kprogram_verify(p, d) < 0) return -1;
    int opt = opt_level(o);
    cg_host h;
    if (cg_host_init(&h, opt, d) < 0) return -1;
    char dirbuf[4096];
    const char *dir = cache_dir(o, dirbuf, sizeof dirbuf, st);
    double t0 = now();
    uint8_t key[CG_KEY_BYTES];
    int rc = cache_key(p, &h, opt, key);
    if (rc < 0) moec_error(d, "cpu backend: out of memory");
    for (int i = 0; i < CG_KEY_BYTES; i++) snprintf(st->key + 2 * i, 3, "%02x", key[i]);
    st->key_s = now() - t0;
    void *obj = NULL;
    size_t len = 0;
    if (rc == 0 && dir) {
        cg_cache_status s = cg_cache_load(dir, key, &obj, &len, st->cache_note, sizeof st->cache_note);
        st->cache_hit = s == CG_CACHE_HIT;
        st->cache_bad = s == CG_CACHE_BAD;
    }
    if (rc == 0 && !st->cache_hit) rc = compile(p, &h, opt, dir, key, &obj, &len, st, d);
    cg_host_free(&h);
    st->object_bytes = len;
    t0 = now();
    if (rc == 0) rc = load(p, obj, len, out, d);
    st->load_s = now() - t0;
    free(obj);
    return rc;
}

cg_kernel_fn *cg_cpu_kernel(const cg_cpu_program *c, int launch)
{
    return launch >= 0 && launch < c->n ? c->fn[launch] : NULL;
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
    cg_cpu_stats st;
    int rc = build(ctx, p, &h, opt_level, &m, &st, d);
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
