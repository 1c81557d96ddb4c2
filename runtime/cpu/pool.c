/* runtime/cpu/pool.c -- the fixed thread pool (runtime/cpu/pool.h). Each
 * worker sleeps on its own semaphore; rt_pool_run writes the job, posts the
 * workers that have a chunk, runs chunk 0 itself and sleeps on `done` until
 * the last worker posts it. Nothing spins, so the pool is idle, not busy,
 * while OpenBLAS computes (doc/kernels.md, "Running a program on the CPU"). */
#include "runtime/cpu/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct rt_worker {
    struct rt_pool *pool;
    int index;              /* 1 .. threads-1 */
    sem_t go;               /* posted once per job this worker has a chunk of, and at shutdown */
    pthread_t thread;
    bool started;
} rt_worker;

struct rt_pool {
    int threads;            /* computing threads, the caller included */
    rt_worker *workers;     /* threads - 1 of them */
    sem_t done;             /* posted by the last worker to finish a job */
    atomic_int pending;     /* workers still running the current job */
    atomic_bool busy;       /* a job is in flight (catches nested or concurrent use) */
    bool quit;              /* set before the shutdown posts */
    /* the current job, written before the posts that start it */
    rt_pool_fn *fn;
    void *ctx;
    int64_t n;
    int parts;
};

int rt_pool_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
}

int rt_pool_threads(const rt_pool *p) { return p ? p->threads : 1; }

/* Items of chunk t when [0, n) is cut into `parts` near-equal pieces. */
static void chunk(int64_t n, int parts, int t, int64_t *begin, int64_t *end)
{
    *begin = n / parts * t + (t < n % parts ? t : n % parts);
    *end = *begin + n / parts + (t < n % parts ? 1 : 0);
}

static void *worker_main(void *arg)
{
    rt_worker *w = arg;
    rt_pool *p = w->pool;
    for (;;) {
        while (sem_wait(&w->go) != 0 && errno == EINTR) {}
        if (p->quit) return NULL;
        int64_t begin, end;
        chunk(p->n, p->parts, w->index, &begin, &end);
        p->fn(p->ctx, begin, end, w->index);
        if (atomic_fetch_sub(&p->pending, 1) == 1) sem_post(&p->done);
    }
}

/* Stops and joins the started workers, then frees everything. */
void rt_pool_free(rt_pool *p)
{
    if (!p) return;
    p->quit = true;
    for (int i = 0; i < p->threads - 1; i++)
        if (p->workers[i].started) sem_post(&p->workers[i].go);
    for (int i = 0; i < p->threads - 1; i++) {
        if (!p->workers[i].started) continue;
        pthread_join(p->workers[i].thread, NULL);
        sem_destroy(&p->workers[i].go);
    }
    sem_destroy(&p->done);
    free(p->workers);
    free(p);
}

static int start_workers(rt_pool *p, moec_diag *d)
{
    for (int i = 0; i < p->threads - 1; i++) {
        rt_worker *w = &p->workers[i];
        w->pool = p;
        w->index = i + 1;
        if (sem_init(&w->go, 0, 0) != 0) return moec_error(d, "thread pool: cannot make a semaphore"), -1;
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            sem_destroy(&w->go);
            moec_error(d, "thread pool: cannot start thread %d of %d: %s", i + 2, p->threads, strerror(rc));
            return -1;
        }
        w->started = true;
    }
    return 0;
}

rt_pool *rt_pool_new(int threads, moec_diag *d)
{
    if (threads <= 0) threads = rt_pool_default_threads();
    if (threads > RT_POOL_MAX_THREADS) {
        moec_error(d, "--threads %d: at most RT_POOL_MAX_THREADS = %d threads", threads, RT_POOL_MAX_THREADS);
        return NULL;
    }
    rt_pool *p = calloc(1, sizeof *p);
    rt_worker *workers = calloc((size_t)threads, sizeof *workers);
    if (!p || !workers || sem_init(&p->done, 0, 0) != 0) {
        free(p);
        free(workers);
        moec_error(d, "thread pool: out of memory");
        return NULL;
    }
    p->threads = threads;
    p->workers = workers;
    atomic_init(&p->pending, 0);
    atomic_init(&p->busy, false);
    if (start_workers(p, d) < 0) {
        rt_pool_free(p);
        return NULL;
    }
    return p;
}

void rt_pool_run_grain(rt_pool *p, int64_t n, int64_t grain, rt_pool_fn *fn, void *ctx)
{
    if (n <= 0) return;
    int64_t most = grain > 1 ? (n / grain > 0 ? n / grain : 1) : n;
    int parts = p ? (most < p->threads ? (int)most : p->threads) : 1;
    if (parts == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    MOEC_ASSERT(!atomic_exchange(&p->busy, true));   /* fn called rt_pool_run, or two callers share a pool */
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->parts = parts;
    atomic_store(&p->pending, parts - 1);
    for (int t = 1; t < parts; t++) sem_post(&p->workers[t - 1].go);
    int64_t begin, end;
    chunk(n, parts, 0, &begin, &end);
    fn(ctx, begin, end, 0);
    while (sem_wait(&p->done) != 0 && errno == EINTR) {}
    atomic_store(&p->busy, false);
}

void rt_pool_run(rt_pool *p, int64_t n, rt_pool_fn *fn, void *ctx)
{
    rt_pool_run_grain(p, n, 1, fn, ctx);
}
