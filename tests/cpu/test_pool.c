/* tests/cpu/test_pool.c -- the CPU thread pool (runtime/cpu/pool.h): with 1,
 * 2 and 3 threads and with fewer items than threads, every item runs exactly
 * once, each worker gets one contiguous chunk in worker order, and the grain
 * limits the chunks; a thousand jobs in a row lose no wake-up; a refused
 * thread count is reported. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/pool.h"
#include "tests/sink.h"
#include "tests/tap.h"

enum { MAX_ITEMS = 1000, MAX_WORKERS = 8 };

typedef struct record {
    atomic_int hits[MAX_ITEMS];           /* runs of each item */
    int64_t begin[MAX_WORKERS], end[MAX_WORKERS];
    atomic_int calls[MAX_WORKERS];        /* chunks each worker ran */
    atomic_int bad_worker;                /* a worker index out of range */
    int threads;
} record;

static void visit(void *ctx, int64_t begin, int64_t end, int worker)
{
    record *r = ctx;
    if (worker < 0 || worker >= r->threads || worker >= MAX_WORKERS) {
        atomic_store(&r->bad_worker, 1);
        return;
    }
    atomic_fetch_add(&r->calls[worker], 1);
    r->begin[worker] = begin;
    r->end[worker] = end;
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&r->hits[i], 1);
}

/* Whether r shows every item of [0, n) run once, by one contiguous chunk
 * per worker in worker order, in want_parts chunks; else why not. */
static bool covered(const record *r, int64_t n, int want_parts, char *why, size_t size)
{
    if (atomic_load(&r->bad_worker)) return snprintf(why, size, "a worker index out of range"), false;
    for (int64_t i = 0; i < n; i++)
        if (atomic_load(&r->hits[i]) != 1)
            return snprintf(why, size, "item %lld ran %d times", (long long)i, atomic_load(&r->hits[i])), false;
    int64_t next = 0;
    int parts = 0;
    for (int w = 0; w < r->threads && w < MAX_WORKERS; w++) {
        int calls = atomic_load(&r->calls[w]);
        if (calls > 1 || (calls && r->begin[w] != next))
            return snprintf(why, size, "worker %d: %d chunks from %lld", w, calls, (long long)r->begin[w]), false;
        if (calls) parts++, next = r->end[w];
    }
    if (next != n || parts != want_parts)
        return snprintf(why, size, "%d chunks ending at %lld", parts, (long long)next), false;
    return true;
}

/* Runs [0, n) with grain on p and checks what ran. */
static bool run_once(rt_pool *p, int64_t n, int64_t grain, int want_parts, char *why, size_t size)
{
    record *r = calloc(1, sizeof *r);
    if (!r) return false;
    r->threads = rt_pool_threads(p);
    rt_pool_run_grain(p, n, grain, visit, r);
    bool ok = covered(r, n, want_parts, why, size);
    free(r);
    return ok;
}

static void test_threads(int threads)
{
    rt_pool *p = rt_pool_new(threads, sink());
    if (!tap_ok(p && rt_pool_threads(p) == threads, "pool of %d threads", threads)) return;
    static const int64_t sizes[] = { 0, 1, 2, 3, 5, 997 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int64_t n = sizes[i];
        int want = n < threads ? (int)n : threads;
        char why[128] = "";
        tap_ok(run_once(p, n, 1, want, why, sizeof why), "%d threads, %lld items: each once, %d contiguous chunks %s",
               threads, (long long)n, want, why);
    }
    char why[128] = "";
    int want = threads < 2 ? threads : 2;   /* 10 items, at least 4 per chunk: 2 chunks */
    tap_ok(run_once(p, 10, 4, want, why, sizeof why), "%d threads, grain 4 of 10 items: %d chunks %s", threads, want, why);
    bool all = true;
    for (int rep = 0; rep < 1000 && all; rep++) all = run_once(p, 7 + rep % 5, 1, threads < 7 ? threads : 7, why, sizeof why);
    tap_ok(all, "%d threads: 1000 jobs in a row %s", threads, why);
    rt_pool_free(p);
}

static void test_edges(void)
{
    char why[128] = "";
    tap_ok(run_once(NULL, 5, 1, 1, why, sizeof why) && rt_pool_threads(NULL) == 1, "a NULL pool runs on the caller %s", why);
    moec_diag *d = sink();
    rt_pool *p = rt_pool_new(RT_POOL_MAX_THREADS + 1, d);
    tap_ok(!p && moec_diag_errors(d) == 1 && strstr(sink_text(d), "RT_POOL_MAX_THREADS"), "too many threads refused: %s", sink_text(d));
    p = rt_pool_new(0, d);
    tap_ok(p && rt_pool_threads(p) == rt_pool_default_threads() && rt_pool_default_threads() >= 1,
           "threads 0: every core this process may use (%d)", rt_pool_default_threads());
    rt_pool_free(p);
}

int main(void)
{
    for (int t = 1; t <= 3; t++) test_threads(t);
    test_edges();
    sink_close();
    return tap_done();
}
