/* tests/codegen/test_cpu_random.c -- 200 random loop kernels
 * (tests/codegen/gen_kernels.h) in one program, compiled by the CPU backend
 * as one module and run against the reference evaluator in the backend's
 * order of partial results (cg_cpu_reduce_lanes) on fresh random inputs
 * (never zero): every buffer must be identical, bit for bit (NaN equal to
 * NaN), since both call the same libm functions and round every operation
 * alike. Each kernel runs its points in 3 pieces. A failing kernel is
 * named with its seed: MOEC_TEST_SEED=S reruns it. */
#include <time.h>

#include "tests/codegen/gen_kernels.h"

enum { N_KERNELS = 200, BUFS_PER_KERNEL = 9 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs launch i by the reference; 0 or -1 with the message in err. */
static int run_ref(const kt_prog *t, int i, void **bufs, char *err, size_t size)
{
    FILE *f = fmemopen(err, size, "w");
    moec_diag d;
    moec_diag_init(&d, f, 3);
    const ir_launch *l = &t->p.launches[i];
    int rc = ir_kloop_run_ref(&t->p, l, bufs, 0, ir_kloop_points(&l->loop), cg_cpu_reduce_lanes(&t->p, i), &d);
    fclose(f);
    return rc;
}

static void check_kernel(const kt_prog *t, const cg_cpu_program *c, int i, void **cpu, void **ref)
{
    const ir_kloop *k = &t->p.launches[i].loop;
    int64_t n = ir_kloop_points(k), faults = 0;
    cg_kernel_fn *fn = cg_cpu_kernel(c, i);
    void *args[KT_MAX_ARGS];
    cg_cpu_args(c, i, cpu, args);
    for (int piece = 0; piece < 3; piece++) faults += fn(args, n * piece / 3, n * (piece + 1) / 3);
    char err[512] = "";
    int rc = run_ref(t, i, ref, err, sizeof err);
    bool same = true;
    for (int b = i * BUFS_PER_KERNEL; b < (i + 1) * BUFS_PER_KERNEL; b++) same &= kt_close_buf(t, b, cpu[b], ref[b], 0, 0);
    tap_ok(faults == 0 && rc == 0 && same, "random kernel %d (rank %d, reduce %lld in %d passes%s, %d instructions)%s%s", i,
           k->rank, (long long)k->reduce, k->n_passes, cg_cpu_reduce_lanes(&t->p, i) == 1 && k->reduce ? ", columns" : "",
           k->n_ins, rc ? ": " : "", rc ? err : "");
}

int main(void)
{
    uint64_t seed = kt_seed((uint64_t)time(NULL));
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "random.moe");
    for (int i = 0; i < N_KERNELS; i++) kt_random_kernel(t, seed, i);
    int n_ins = 0;
    for (int i = 0; i < N_KERNELS; i++) n_ins += t->p.launches[i].loop.n_ins;
    char err[512];
    FILE *f = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, f, 3);
    int rc = ir_kprogram_verify(&t->p, &d);
    fclose(f);
    tap_ok(rc == 0 && t->p.n_bufs == N_KERNELS * BUFS_PER_KERNEL, "%d random kernels (%d instructions) verify%s%s",
           N_KERNELS, n_ins, rc ? ": " : "", rc ? err : "");
    cg_cpu_stats st;
    double t0 = now();
    cg_cpu_program *c = kt_compile(t, &st);
    tap_ok(c != NULL, "they compile as one module");
    tap_diag("%d distinct kernels compiled in %.2f s (build %.2f, optimise %.2f, emit %.2f, load %.2f), %zu bytes of code",
             st.unique, now() - t0, st.build_s, st.optimise_s, st.emit_s, st.load_s, st.object_bytes);
    void **cpu = kt_alloc(t, seed + 1), **ref = kt_alloc(t, seed + 1);
    for (int i = 0; c && i < N_KERNELS; i++) check_kernel(t, c, i, cpu, ref);
    kt_free_bufs(t, cpu);
    kt_free_bufs(t, ref);
    cg_cpu_free(c);
    ir_kprogram_free(&t->p);
    free(t);
    return tap_done();
}
