/* tests/dist/comm_main.c -- runtime/dist/comm.h on its own, run by
 * tests/dist/comm.sh as every rank of `mpirun -np N` (N = 2 and 3, with and
 * without the shared-memory window): float and double sums of every size
 * around the block and window thresholds against the rank-order sum (exact
 * where the values make every order exact), the same bits on every rank,
 * the maximum, the gather, the byte comparison, the default threads and the
 * sum timer. Every rank checks; rank 0 prints the TAP lines of the verdicts
 * all ranks agree on (a case fails when it fails on any rank). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dist/comm.h"
#include "tests/tap.h"

static rt_comm comm;
static moec_diag diag;

/* One case: fails when it fails on any rank; rank 0 prints it. */
static void check(bool ok, const char *name)
{
    int bad = 0;
    if (rt_comm_max_int(&comm, !ok, &bad, &diag) < 0) bad = 1;
    if (comm.rank == 0) tap_ok(!bad, "%d ranks: %s", comm.size, name);
}

/* Rank r's value at i: quarters below 2^10, so any order of adding them is exact. */
static float exact_value(int r, size_t i) { return (float)((int)((i * 7 + (size_t)r * 13) % 4000) - 2000) * 0.25f; }
/* And values whose sum depends on the order. */
static float rough_value(int r, size_t i) { return sinf((float)(i + 1) * 0.37f + (float)r) * 1e3f + 1e-3f * (float)r; }

/* A sum of n floats, the whole of every rank's x, through rt_comm_sum_floats. */
static void float_sums(size_t n)
{
    float *x = malloc(sizeof *x * (n ? n : 1)), *y = malloc(sizeof *y * (n ? n : 1));
    bool ok = x && y;
    for (int pass = 0; ok && pass < 2; pass++) {
        float (*value)(int, size_t) = pass ? rough_value : exact_value;
        for (size_t i = 0; i < n; i++) x[i] = value(comm.rank, i);
        ok = rt_comm_sum_floats(&comm, x, n, &diag) == 0;
        bool exact = true, close = true;
        for (size_t i = 0; ok && i < n; i++) {
            float want = 0;   /* the rank-order sum */
            for (int r = 0; r < comm.size; r++) want += value(r, i);
            exact = exact && x[i] == want;
            close = close && fabsf(x[i] - want) <= 1e-5f * (fabsf(want) + 1e3f);
            y[i] = x[i];
        }
        const void *part[1] = { y };
        size_t len[1] = { n * sizeof *y };
        int differs = 1;
        uint64_t hash[2];
        ok = ok && rt_comm_same_bytes(&comm, part, len, 1, &differs, hash, &diag) == 0;
        char name[160];
        snprintf(name, sizeof name, "%zu floats (%s values): %s, the same bits on every rank", n,
                 pass ? "order-dependent" : "exact", pass ? "the rank-order sum to 1e-5" : "exactly the sum");
        check(ok && (pass ? close : exact) && differs == 0, name);
    }
    free(x);
    free(y);
}

static void double_sums(size_t n)
{
    double *x = malloc(sizeof *x * (n ? n : 1));
    bool ok = x != NULL;
    for (size_t i = 0; ok && i < n; i++) x[i] = (double)(i + 1) * (comm.rank + 1);
    ok = ok && rt_comm_sum_doubles(&comm, x, n, &diag) == 0;
    double ranks = (double)comm.size * (comm.size + 1) / 2;
    for (size_t i = 0; ok && i < n; i++) ok = x[i] == (double)(i + 1) * ranks;
    char name[96];
    snprintf(name, sizeof name, "%zu doubles summed exactly", n);
    check(ok, name);
    free(x);
}

int main(void)
{
    moec_diag_init(&diag, stderr, 0);
    if (rt_comm_open(&comm, &diag) < 0) return fprintf(stderr, "comm_main: rt_comm_open failed\n"), 1;
    if (comm.size < 2) {
        printf("1..0 # SKIP not started by mpirun as one of several ranks\n");
        rt_comm_close(&comm, false);
        return 0;
    }
    int W = comm.size;
    const size_t sizes[] = { 0, 1, (size_t)W - 1, (size_t)W + 1, 1000, 65535, 65536, 300001 };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) float_sums(sizes[s]);
    double_sums(1);
    double_sums(7);
    double_sums(5000);
    (void)rt_comm_take_seconds(&comm);
    float big[70000];
    memset(big, 0, sizeof big);
    rt_comm_sum_floats(&comm, big, 70000, &diag);
    double took = rt_comm_take_seconds(&comm);
    check(took > 0 && rt_comm_take_seconds(&comm) == 0, "the sum timer counts the sums and restarts when read");
    int most = -1;
    check(rt_comm_max_int(&comm, comm.rank * 3, &most, &diag) == 0 && most == (W - 1) * 3, "the maximum of the ranks");
    uint64_t *all = calloc((size_t)W, sizeof *all);
    bool ok = all && rt_comm_gather_u64(&comm, (uint64_t)comm.rank * 7 + 1, all, &diag) == 0;
    for (int r = 0; ok && r < W; r++) ok = all[r] == (uint64_t)r * 7 + 1;
    check(ok, "the gather gives every rank's value in rank order");
    free(all);
    char bytes[64];
    memset(bytes, 'm', sizeof bytes);
    if (comm.rank == W - 1) bytes[63] = 'x';   /* the last rank's last byte */
    const void *part[2] = { bytes, "same" };
    size_t len[2] = { sizeof bytes, 5 };
    int differs = 0;
    uint64_t hash[2] = { 0, 0 };
    ok = rt_comm_same_bytes(&comm, part, len, 2, &differs, hash, &diag) == 0;
    check(ok && differs == W - 1 && hash[0] != hash[1], "a byte that differs on the last rank is found there");
    len[0] = 63;
    ok = rt_comm_same_bytes(&comm, part, len, 2, &differs, hash, &diag) == 0;
    check(ok && differs == 0, "the same bytes agree");
    check(comm.local_size == W && rt_comm_default_threads(&comm) >= 1,
          "every rank on this machine; each at least one thread by default");
    int failed = comm.rank == 0 ? tap_done() : 0;
    rt_comm_close(&comm, false);
    moec_diag_free(&diag);
    return failed;
}
