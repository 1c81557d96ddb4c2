/* bench/ceilings.c -- this machine's ceilings at N threads, the figures
 * doc/performance.md holds every step time against: OpenBLAS sgemm GFLOP/s at
 * given shapes (best of R calls, 2·M·K·N FLOPs a call) and memory-copy GB/s
 * (N threads memcpy one slice each of a large buffer; read + write bytes).
 * Usage: ceilings [--threads N] [--runs R] [--mib S] [--json] [MxKxN[t]]...
 * (t: B is stored [N,K] and used transposed, as a tied LM head's weight). */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int m, k, n, bt;     /* C[m,n] = A[m,k] · B[k,n], B stored [n,k] when bt */
    double gflops;
} shape;

typedef struct {
    char *dst;
    const char *src;
    size_t len;
} slice;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *filled(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = (float)((i * 7919u) % 1000u) * 1e-3f - 0.5f;
    return p;
}

/* Best GFLOP/s of runs sgemm calls after one warm-up call; -1 without memory. */
static double sgemm_rate(const shape *s, int runs)
{
    float *a = filled((size_t)s->m * s->k), *b = filled((size_t)s->k * s->n);
    float *c = filled((size_t)s->m * s->n);
    double best = -1;
    if (a && b && c) {
        for (int r = 0; r <= runs; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, s->bt ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f,
                        a, s->k, b, s->bt ? s->k : s->n, 0.0f, c, s->n);
            double g = 2.0 * s->m * s->k * s->n / (now() - t0) / 1e9;
            if (r > 0 && g > best) best = g;
        }
    }
    free(a), free(b), free(c);
    return best;
}

static void *copy_slice(void *arg)
{
    slice *s = arg;
    memcpy(s->dst, s->src, s->len);
    return NULL;
}

/* One copy of len bytes split over threads (slice 0 on this thread); seconds,
 * or -1 when a thread could not start (its slice is copied, the time is not). */
static double copy_once(char *dst, const char *src, size_t len, int threads)
{
    pthread_t tid[64];
    slice sl[64];
    int started[64] = {0}, ok = 1;
    size_t part = len / (size_t)threads;
    double t0 = now();
    for (int i = 0; i < threads; i++)
        sl[i] = (slice){dst + i * part, src + i * part, i == threads - 1 ? len - i * part : part};
    for (int i = 1; i < threads; i++) started[i] = pthread_create(&tid[i], NULL, copy_slice, &sl[i]) == 0;
    copy_slice(&sl[0]);
    for (int i = 1; i < threads; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else ok = 0, copy_slice(&sl[i]);
    }
    return ok ? now() - t0 : -1;
}

/* Best GB/s, counting each byte once read and once written (2·len a copy). */
static double copy_rate(size_t mib, int threads, int runs)
{
    size_t len = mib << 20;
    char *src = malloc(len), *dst = malloc(len);
    double best = -1;
    if (src && dst) {
        memset(src, 1, len), memset(dst, 2, len);     /* fault every page in first */
        for (int r = 0; r <= runs; r++) {
            double s = copy_once(dst, src, len, threads);
            if (r > 0 && s > 0 && 2.0 * len / s / 1e9 > best) best = 2.0 * len / s / 1e9;
        }
    }
    free(src), free(dst);
    return best;
}

/* Busy and total jiffies of the machine (/proc/stat's first line); 0 when unreadable. */
static int machine_jiffies(double *busy, double *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                         &v[6], &v[7])
                : 0;
    if (f) fclose(f);
    *total = 0;
    for (int i = 0; i < 8; i++) *total += (double)v[i];
    *busy = *total - (double)v[3] - (double)v[4];
    return got == 8;
}

static double self_cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

/* The share of the machine's CPU time other processes took since busy0/total0/self0; -1 unknown. */
static double others_share(double busy0, double total0, double self0)
{
    double busy, total;
    if (!machine_jiffies(&busy, &total) || total <= total0) return -1;
    double other = busy - busy0 - (self_cpu_s() - self0) * (double)sysconf(_SC_CLK_TCK);
    return other > 0 ? other / (total - total0) : 0;
}

static int parse_shape(const char *arg, shape *s)
{
    char t = 0;
    int got = sscanf(arg, "%dx%dx%d%c", &s->m, &s->k, &s->n, &t);
    s->bt = got == 4 && t == 't';
    return (got == 3 || (got == 4 && t == 't')) && s->m > 0 && s->k > 0 && s->n > 0 ? 0 : -1;
}

static void report(const shape *sh, int ns, double gbps, double others, int threads, size_t mib, int json)
{
    double peak = 0;
    for (int i = 0; i < ns; i++) peak = sh[i].gflops > peak ? sh[i].gflops : peak;
    if (!json) {
        printf("OpenBLAS %s, core %s, %d threads\n", openblas_get_config(), openblas_get_corename(), threads);
        for (int i = 0; i < ns; i++)
            printf("sgemm %5d x %5d x %5d%s  %8.1f GFLOP/s\n", sh[i].m, sh[i].k, sh[i].n, sh[i].bt ? "t" : " ",
                   sh[i].gflops);
        printf("sgemm peak (best shape)      %8.1f GFLOP/s\n", peak);
        printf("memcpy %zu MiB (read+write)   %8.1f GB/s\n", mib, gbps);
        printf("other processes took %.0f%% of the CPUs meanwhile\n", 100 * others);
        return;
    }
    printf("{\"threads\":%d,\"openblas\":\"%s\",\"core\":\"%s\",\"sgemm\":[", threads, openblas_get_config(),
           openblas_get_corename());
    for (int i = 0; i < ns; i++)
        printf("%s{\"m\":%d,\"k\":%d,\"n\":%d,\"b_transposed\":%s,\"gflops\":%.2f}", i ? "," : "", sh[i].m, sh[i].k,
               sh[i].n, sh[i].bt ? "true" : "false", sh[i].gflops);
    printf("],\"sgemm_peak_gflops\":%.2f,\"memcpy_mib\":%zu,\"memcpy_gbps\":%.2f,\"others_cpu\":%.3f}\n", peak, mib,
           gbps, others);
}

static const char *const defaults[] = {"1024x768x3072", "1024x3072x768", "1024x768x50257t", "256x768x3072",
                                       "256x768x50257t", "128x768x3072", "1024x64x50257t"};

int main(int argc, char **argv)
{
    int threads = 2, runs = 5, json = 0, ns = 0;
    size_t mib = 512;
    shape sh[64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) mib = (size_t)atol(argv[++i]);
        else if (ns < 64 && parse_shape(argv[i], &sh[ns]) == 0) ns++;
        else threads = 0;
    }
    if (threads < 1 || threads > 64 || runs < 1 || mib < 1) {
        fprintf(stderr, "usage: ceilings [--threads N] [--runs R] [--mib S] [--json] [MxKxN[t]]...\n");
        return 2;
    }
    if (ns == 0)
        for (; ns < (int)(sizeof defaults / sizeof *defaults); ns++) parse_shape(defaults[ns], &sh[ns]);
    double busy0, total0, self0 = self_cpu_s();
    machine_jiffies(&busy0, &total0);
    openblas_set_num_threads(threads);
    for (int i = 0; i < ns; i++)
        if ((sh[i].gflops = sgemm_rate(&sh[i], runs)) < 0) return fprintf(stderr, "ceilings: out of memory\n"), 1;
    double gbps = copy_rate(mib, threads, runs);
    if (gbps < 0) return fprintf(stderr, "ceilings: out of memory or threads\n"), 1;
    report(sh, ns, gbps, others_share(busy0, total0, self0), threads, mib, json);
    return 0;
}
