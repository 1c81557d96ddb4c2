/* tests/cuda/test_shim.c -- the printed CUDA C run on the CPU, the only
 * check of its values possible without a GPU: the kernels of
 * tests/codegen/kernels.h (softmax, layernorm, a column sum, a gather,
 * random draws, comparisons, i32 arithmetic) and 60 random kernels
 * (tests/codegen/gen_kernels.h) are printed by codegen/cuda_print, compiled
 * as host C++ behind tests/cuda/shim.h (warp shuffles emulated by 32
 * threads), loaded with dlopen and run on fresh random inputs against the
 * reference evaluator with 32 lanes (CG_CUDA_LANES): every buffer must be
 * identical, bit for bit, since the host compiles the same operations in
 * the same order with the same libm (on a GPU only logf, erff and the normal
 * draw's log, cos are CUDA's). The C++ compiler is $MOEC_TEST_CXX, or c++;
 * without one the test is skipped. MOEC_TEST_SEED=S reruns a seed. */
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cuda_print.h"
#include "tests/codegen/gen_kernels.h"
#include "tests/codegen/kernels.h"

#ifndef SHIM_H
#error "SHIM_H: the absolute path of tests/cuda/shim.h"
#endif

enum { N_RANDOM = 60 };

typedef int shim_run_fn(void (*fn)(void **), void **args, int warp);

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

int main(void)
{
    uint64_t seed = kt_seed((uint64_t)time(NULL));
    const char *cxx = getenv("MOEC_TEST_CXX");
    if (!cxx || !*cxx) cxx = "c++";
    char probe[512];
    snprintf(probe, sizeof probe, "%s --version >/dev/null 2>&1", cxx);
    if (system(probe) != 0) {
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
    int hand = t->p.n_launches;
    for (int i = 0; i < N_RANDOM; i++) kt_random_kernel(t, seed, i);
    char err[512] = "";
    FILE *ef = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, ef, 3);
    tap_ok(ir_kprogram_verify(&t->p, &d) == 0, "the test program verifies");
    cg_cuda_program cp;
    int printed = cg_cuda_print_program(&t->p, &cp, &d);
    fclose(ef);
    tap_ok(printed == 0, "%d launches printed as CUDA C%s%s", t->p.n_launches, printed ? ": " : "", err);
    if (printed < 0) return tap_done();
    tap_diag("%d hand-built and %d random launches, %d distinct kernels", hand, N_RANDOM, cp.n_kernels);

    char dir[] = "/tmp/moec-shim-XXXXXX", src[600], so[600], cmd[2048];
    const char *tmpdir = getenv("TMPDIR");
    char dir_buf[512];
    snprintf(dir_buf, sizeof dir_buf, "%s/moec-shim-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    char *dp = mkdtemp(dir_buf);
    if (!dp) dp = mkdtemp(dir);
    if (!tap_ok(dp != NULL, "a temporary folder")) return tap_done();
    snprintf(src, sizeof src, "%s/kernels.cpp", dp);
    snprintf(so, sizeof so, "%s/kernels.so", dp);
    tap_ok(write_source(src, t, &cp), "the kernels and the shim written to %s", src);
    snprintf(cmd, sizeof cmd, "%s -std=c++17 -O1 -ffp-contract=off -fno-fast-math -fPIC -shared -w -o %s %s -lpthread -lm",
             cxx, so, src);
    bool built = tap_ok(system(cmd) == 0, "the printed CUDA C compiles as host C++ behind the shim");
    void *lib = built ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
    shim_run_fn *run = lib ? (shim_run_fn *)dlsym(lib, "moec_shim_run") : NULL;
    if (built && !tap_ok(run != NULL, "the shim library loads (%s)", lib ? "" : dlerror())) built = false;
    if (built) {
        void **ref = kt_alloc(t, seed), **got = kt_alloc(t, seed);
        int rows = 0, elementwise = 0;
        for (int i = 0; i < t->p.n_launches && ref && got; i++) {
            const ir_launch *l = &t->p.launches[i];
            char sym[64], msg[512] = "";
            snprintf(sym, sizeof sym, "moec_launch_%d", i);
            void (*fn)(void **);
            *(void **)&fn = dlsym(lib, sym);
            bool warp = l->loop.reduce > 0;
            rows += warp;
            elementwise += !warp;
            int rc_shim = fn ? run(fn, got, warp) : -1;
            FILE *f = fmemopen(msg, sizeof msg, "w");
            moec_diag dr;
            moec_diag_init(&dr, f, 3);
            int rc_ref = ir_kloop_run_ref(&t->p, l, ref, 0, ir_kloop_points(&l->loop), CG_CUDA_LANES, &dr);
            fclose(f);
            bool same = true;
            for (int w = 0; w < l->n_writes; w++)
                same &= kt_close_buf(t, l->writes[w], got[l->writes[w]], ref[l->writes[w]], 0, 0);
            tap_ok(rc_shim == 0 && rc_ref == 0 && same, "%s (%s, rank %d, reduce %lld in %d passes, %d instructions) "
                   "as the reference with %d lanes%s%s", l->name, warp ? "row" : "elementwise", l->loop.rank,
                   (long long)l->loop.reduce, l->loop.n_passes, l->loop.n_ins, CG_CUDA_LANES, rc_ref ? ": " : "", msg);
        }
        tap_diag("%d row kernels (one warp each), %d elementwise", rows, elementwise);
        kt_free_bufs(t, ref);
        kt_free_bufs(t, got);
    }
    if (lib) dlclose(lib);
    unlink(src);
    unlink(so);
    rmdir(dp);
    cg_cuda_program_free(&cp);
    ir_kprogram_free(&t->p);
    free(t);
    return tap_done();
}
