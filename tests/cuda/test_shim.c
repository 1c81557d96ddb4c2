/* tests/cuda/test_shim.c -- the printed CUDA C run on the CPU, the only
 * check of its values possible without a GPU. Two programs: the kernels of
 * tests/codegen/kernels.h (softmax, layernorm, a column sum, a gather,
 * random draws, comparisons, i32 arithmetic) with 60 random kernels
 * (tests/codegen/gen_kernels.h); and every loop kernel of the training step
 * of a tiny MoE model (gpt2-moe-tiny, one layer, vocab 256, B 2, T 8; f32
 * buffers random, i32 ones 0 or 1, launches in program order, products and
 * templates not run). Each is printed by codegen/cuda_print, compiled
 * as host C++ behind tests/cuda/shim.h (warp shuffles emulated by 32
 * threads), loaded with dlopen and run on fresh random inputs against the
 * reference evaluator with 32 lanes (CG_CUDA_LANES): every buffer must be
 * identical, bit for bit, since the host compiles the same operations in
 * the same order with the same libm (on a GPU only logf, erff and the normal
 * draw's log, cos are CUDA's). The C++ compiler is $MOEC_TEST_CXX, or c++;
 * without one the test is skipped. MOEC_TEST_SEED=S reruns a seed.
 * MOEC_TEST_DEVICE=1 (`make check-cuda`): the same programs on the GPU
 * instead, compiled by NVRTC for it, every launch on the reference's inputs
 * (check_program_device); skipped, saying why, where the driver does not open. */
#include "config.h"

#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cuda_print.h"
#include "runtime/pipeline.h"
#ifdef HAVE_CUDA
#include "codegen/nvrtc.h"
#include "runtime/cuda/driver.h"
#endif
#include "tests/codegen/gen_kernels.h"
#include "tests/codegen/kernels.h"

#if !defined SHIM_H || !defined MODELS_DIR
#error "SHIM_H, MODELS_DIR: absolute paths of tests/cuda/shim.h and models/"
#endif

enum { N_RANDOM = 60 };

typedef int shim_run_fn(void (*fn)(void **), void **args, int warp);

#ifdef HAVE_CUDA
/* The GPU of a device run (MOEC_TEST_DEVICE=1, `make check-cuda`), else NULL. */
static rt_cuda *dev;

/* Whether a kernel calls a function whose CUDA version may round otherwise
 * than the host's libm: logf, erff, or the normal draw's log and cos. */
static bool uses_cuda_libm(const char *source)
{
    return strstr(source, "logf(") || strstr(source, "erff(") || strstr(source, "= moec_philox_normal(");
}

/* Every loop launch of t on the GPU, each on the reference's inputs (copied
 * there before it runs), its outputs against the reference with 32 lanes:
 * bit for bit, or within 1e-5 relative where CUDA's libm is used. A launch
 * whose reference faults is not run (a __trap would end the context). */
static void check_program_device(const kt_prog *t, const char *what, const cg_cuda_program *cp, uint64_t seed)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    char *all = NULL, *ptx = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&all, &len);
    for (int k = 0; f && k < cp->n_kernels; k++) fputs(cp->kernels[k].source, f);
    if (f) fclose(f);
    cg_nvrtc_from from;
    rt_cuda_module *mod = NULL;
    bool ok = tap_ok(all && cg_nvrtc_compile_cached(all, what, rt_cuda_arch(dev), NULL, &ptx, &from, &d) == 0,
                     "%s: the %d kernels compile for %s", what, cp->n_kernels, rt_cuda_arch(dev));
    ok = ok && tap_ok(rt_cuda_module_load(dev, ptx, what, &mod, &d) == 0, "%s: the driver loads them", what);
    void **ref = ok ? kt_alloc(t, seed) : NULL, **got = ok ? kt_alloc(t, seed) : NULL;
    rt_cuda_ptr *dp = calloc((size_t)t->p.n_bufs + 1, sizeof *dp);
    for (int b = 0; ok && dp && b < t->p.n_bufs; b++) ok = rt_cuda_alloc(dev, (size_t)t->p.bufs[b].numel * 4, &dp[b], &d) == 0;
    int exact = 0, close = 0, faults = 0;
    for (int i = 0; ok && ref && got && dp && i < t->p.n_launches; i++) {
        const ir_launch *l = &t->p.launches[i];
        if (l->kind != IR_LAUNCH_LOOP) continue;
        for (int j = 0; j < l->n_reads; j++)
            ok &= rt_cuda_upload(dev, dp[l->reads[j]], ref[l->reads[j]], (size_t)t->p.bufs[l->reads[j]].numel * 4, &d) == 0;
        for (int j = 0; j < l->n_writes; j++)
            ok &= rt_cuda_upload(dev, dp[l->writes[j]], ref[l->writes[j]], (size_t)t->p.bufs[l->writes[j]].numel * 4, &d) == 0;
        char msg[512] = "";
        FILE *mf = fmemopen(msg, sizeof msg, "w");
        moec_diag dr;
        moec_diag_init(&dr, mf, 3);
        int rc_ref = ir_kloop_run_ref(&t->p, l, ref, 0, ir_kloop_points(&l->loop), CG_CUDA_LANES, &dr);
        fclose(mf);
        if (rc_ref < 0) {
            faults++;
            continue;
        }
        int args[KT_MAX_ARGS * 2];
        int n = cg_cuda_kernel_args(l, args);
        void *params[KT_MAX_ARGS * 2];
        for (int j = 0; j < n; j++) params[j] = &dp[args[j]];
        cg_cuda_geometry g = cg_cuda_geometry_of(&l->loop);
        const cg_cuda_kernel *k = &cp->kernels[cp->kernel_of[i]];
        bool ran = rt_cuda_launch(dev, mod, k->symbol, (uint64_t)g.grid, (uint64_t)g.block, params, &d) == 0 &&
                   rt_cuda_sync(dev, &d) == 0;
        for (int w = 0; ran && w < l->n_writes; w++)
            ran = rt_cuda_download(dev, got[l->writes[w]], dp[l->writes[w]], (size_t)t->p.bufs[l->writes[w]].numel * 4, &d) == 0;
        bool libm = uses_cuda_libm(k->source), same = ran;
        for (int w = 0; same && w < l->n_writes; w++)
            same &= kt_close_buf(t, l->writes[w], got[l->writes[w]], ref[l->writes[w]], libm ? 1e-5 : 0, libm ? 1e-6 : 0);
        exact += same && !libm;
        close += same && libm;
        tap_ok(same, "%s: %s on the GPU (grid %lld, block %lld) as the reference with %d lanes, %s", what, l->name,
               (long long)g.grid, (long long)g.block, CG_CUDA_LANES, libm ? "within 1e-5 (CUDA's libm)" : "bit for bit");
        if (!ran) ok = false;   /* a fault ends the context: nothing after it can run */
    }
    tap_diag("%s on %s: %d launches bit for bit, %d within 1e-5, %d not run (the reference faults)", what, rt_cuda_name(dev),
             exact, close, faults);
    for (int b = 0; dp && b < t->p.n_bufs; b++) rt_cuda_free(dev, dp[b]);
    free(dp);
    kt_free_bufs(t, ref);
    kt_free_bufs(t, got);
    rt_cuda_module_unload(dev, mod);
    free(all);
    free(ptx);
    moec_diag_free(&d);
}
#endif

/* The translation unit: the shim, every kernel, one wrapper per launch
 * (moec_launch_I(args) calls the kernel with its buffers). */
static bool write_source(const char *path, const kt_prog *t, const cg_cuda_program *cp)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fprintf(f, "#include \"%s\"\n", SHIM_H);
    for (int k = 0; k < cp->n_kernels; k++) fputs(cp->kernels[k].source, f);
    for (int i = 0; i < t->p.n_launches; i++) {
        const ir_launch *l = &t->p.launches[i];
        if (l->kind != IR_LAUNCH_LOOP) continue;
        int args[KT_MAX_ARGS * 2];
        int n = cg_cuda_kernel_args(l, args);
        fprintf(f, "extern \"C\" void moec_launch_%d(void **a)\n{\n    %s(", i, cp->kernels[cp->kernel_of[i]].symbol);
        for (int j = 0; j < n; j++)
            fprintf(f, "%s(%s *)a[%d]", j ? ", " : "", t->p.bufs[args[j]].dtype == IR_I32 ? "int" : "float", args[j]);
        fputs(");\n}\n", f);
    }
    return fclose(f) == 0;
}

/* Prints, compiles behind the shim, runs and compares every loop launch of t. */
static void check_program(const kt_prog *t, const char *what, const char *cxx, uint64_t seed)
{
    char err[512] = "";
    FILE *ef = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, ef, 3);
    tap_ok(ir_kprogram_verify(&t->p, &d) == 0, "%s: the program verifies", what);
    cg_cuda_program cp;
    int printed = cg_cuda_print_program(&t->p, &cp, &d);
    fclose(ef);
    tap_ok(printed == 0, "%s: %d launches printed as CUDA C%s%s", what, t->p.n_launches, printed ? ": " : "", err);
    if (printed < 0) return;
    tap_diag("%s: %d launches, %d distinct kernels", what, t->p.n_launches, cp.n_kernels);
#ifdef HAVE_CUDA
    if (dev) {
        check_program_device(t, what, &cp, seed);
        cg_cuda_program_free(&cp);
        return;
    }
#endif
    const char *tmpdir = getenv("TMPDIR");
    char dir[512], src[600], so[600], cmd[2048];
    snprintf(dir, sizeof dir, "%s/moec-shim-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!tap_ok(mkdtemp(dir) != NULL, "%s: a temporary folder", what)) {
        cg_cuda_program_free(&cp);
        return;
    }
    snprintf(src, sizeof src, "%s/kernels.cpp", dir);
    snprintf(so, sizeof so, "%s/kernels.so", dir);
    bool built = tap_ok(write_source(src, t, &cp), "%s: the kernels and the shim written", what);
    snprintf(cmd, sizeof cmd, "%s -std=c++17 -O0 -ffp-contract=off -fno-fast-math -fPIC -shared -w -o %s %s -lpthread -lm",
             cxx, so, src);
    built = built && tap_ok(system(cmd) == 0, "%s: the printed CUDA C compiles as host C++ behind the shim", what);
    void *lib = built ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
    shim_run_fn *run = lib ? (shim_run_fn *)dlsym(lib, "moec_shim_run") : NULL;
    if (built && !tap_ok(run != NULL, "%s: the shim library loads", what)) built = false;
    if (built) {
        void **ref = kt_alloc(t, seed), **got = kt_alloc(t, seed);
        int rows = 0, elementwise = 0, faults = 0;
        for (int i = 0; i < t->p.n_launches && ref && got; i++) {
            const ir_launch *l = &t->p.launches[i];
            if (l->kind != IR_LAUNCH_LOOP) continue;
            char sym[64], msg[512] = "";
            snprintf(sym, sizeof sym, "moec_launch_%d", i);
            void (*fn)(void **);
            *(void **)&fn = dlsym(lib, sym);
            bool warp = l->loop.reduce > 0;
            rows += warp;
            elementwise += !warp;
            FILE *f = fmemopen(msg, sizeof msg, "w");
            moec_diag dr;
            moec_diag_init(&dr, f, 3);
            int rc_ref = ir_kloop_run_ref(&t->p, l, ref, 0, ir_kloop_points(&l->loop), CG_CUDA_LANES, &dr);
            fclose(f);
            if (rc_ref < 0) {
                /* A fault (a gathered index of random data): CUDA would trap; not run,
                 * and what the reference wrote before it copied, so later launches agree. */
                faults++;
                msg[strcspn(msg, "\n")] = '\0';
                tap_diag("%s: %s not run: the reference faults: %s", what, l->name, msg);
                for (int w = 0; w < l->n_writes; w++)
                    memcpy(got[l->writes[w]], ref[l->writes[w]], (size_t)t->p.bufs[l->writes[w]].numel * 4);
                continue;
            }
            int rc_shim = fn ? run(fn, got, warp) : -1;
            bool same = true;
            for (int w = 0; w < l->n_writes; w++)
                same &= kt_close_buf(t, l->writes[w], got[l->writes[w]], ref[l->writes[w]], 0, 0);
            tap_ok(rc_shim == 0 && same, "%s: %s (%s, rank %d, reduce %lld in %d passes, %d instructions) "
                   "as the reference with %d lanes", what, l->name, warp ? "row" : "elementwise", l->loop.rank,
                   (long long)l->loop.reduce, l->loop.n_passes, l->loop.n_ins, CG_CUDA_LANES);
        }
        tap_diag("%s: %d row kernels (one warp each), %d elementwise, %d not run", what, rows, elementwise, faults);
        tap_ok(faults * 10 <= rows + elementwise, "%s: at most a tenth of the launches fault on random data (%d)", what,
               faults);
        kt_free_bufs(t, ref);
        kt_free_bufs(t, got);
    }
    if (lib) dlclose(lib);
    unlink(src);
    unlink(so);
    rmdir(dir);
    cg_cuda_program_free(&cp);
}

/* The tiny model's training step through the pipeline, as `moec emit` builds it. */
static bool check_model(const char *cxx, uint64_t seed)
{
    fe_override sets[] = { { "layers", "1" }, { "moe_from", "0" }, { "experts", "2" }, { "vocab", "256" } };
    /* MOEC_TEST_MODELS: the models folder where the build's is not (scripts/gpu-check). */
    const char *models = getenv("MOEC_TEST_MODELS");
    char model[4096];
    snprintf(model, sizeof model, "%s/gpt2-moe-tiny.moe", models && *models ? models : MODELS_DIR);
    rt_pipeline_options opt = { .model = model, .sets = sets, .n_sets = 4, .batch = 2,
                                .seq = 8, .step = RT_STEP_TRAIN };
    int n;
    const rt_pass *passes = rt_passes(&n);
    rt_pipeline p;
    rt_pipeline_init(&p, &opt);
    rt_pipeline_request req = { .last = n - 1, .stage = -1, .out = stdout };
    bool ok = tap_ok(rt_pipeline_run(&p, passes, n, &req) == 0, "gpt2-moe-tiny: the training step compiles");
    kt_prog *t = ok ? calloc(1, sizeof *t) : NULL;
    if (t && p.kernels.n_bufs <= KT_MAX_BUFS) {
        t->p = p.kernels;   /* borrowed: freed with the pipeline */
        for (int b = 0; b < t->p.n_bufs; b++)
            t->fill[b] = t->p.bufs[b].dtype == IR_I32 ? (kt_fill){ 0, 2, false } : (kt_fill){ 0.25, 1.5, true };
        check_program(t, "gpt2-moe-tiny", cxx, seed);
    } else if (ok) {
        ok = tap_ok(false, "gpt2-moe-tiny: a test program of at most %d buffers", KT_MAX_BUFS);
    }
    free(t);
    rt_pipeline_free(&p);
    return ok;
}

int main(void)
{
    const char *device = getenv("MOEC_TEST_DEVICE");
    bool on_device = device && !strcmp(device, "1");
    if (on_device) {
#ifdef HAVE_CUDA
        char said[1024] = "";
        FILE *f = fmemopen(said, sizeof said, "w");
        moec_diag d;
        moec_diag_init(&d, f, 5);
        int rc = rt_cuda_open(&dev, 0, &d);
        fclose(f);
        moec_diag_free(&d);
        if (rc < 0) {
            said[strcspn(said, "\n")] = '\0';
            printf("1..0 # SKIP no GPU here: %s\n", said);
            return 0;
        }
#else
        printf("1..0 # SKIP no CUDA toolkit at configure time (no NVRTC)\n");
        return 0;
#endif
    }
    uint64_t seed = kt_seed((uint64_t)time(NULL));
    const char *cxx = getenv("MOEC_TEST_CXX");
    if (!cxx || !*cxx) cxx = "c++";
    char probe[512];
    snprintf(probe, sizeof probe, "%s --version >/dev/null 2>&1", cxx);
    if (!on_device && system(probe) != 0) {
        printf("1..0 # SKIP no C++ compiler (%s) to build the shim\n", cxx);
        return 0;
    }
    kt_prog *t = calloc(1, sizeof *t);
    if (!t) return 1;
    kt_init(t, "shim.moe");
    kt_elementwise(t);
    kt_softmax(t, 5, 70);
    kt_layernorm(t, 4, 33);
    kt_colsum(t, 9, 6);
    kt_gather(t, 7, 11, 5, 10);
    kt_random(t);
    kt_compare(t);
    kt_int(t);
    for (int i = 0; i < N_RANDOM; i++) kt_random_kernel(t, seed, i);
    check_program(t, "hand-built and random", cxx, seed);
    ir_kprogram_free(&t->p);
    free(t);
    check_model(cxx, seed);
#ifdef HAVE_CUDA
    rt_cuda_close(dev);
#endif
    return tap_done();
}
