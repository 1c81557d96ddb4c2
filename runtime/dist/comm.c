/* runtime/dist/comm.c -- the world of a data-parallel run, over MPI when
 * built with it (runtime/dist/comm.h). */
#include "config.h"

#include "runtime/dist/comm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

/* The world size a launcher gave this process through its environment, or 1. */
static long launched_size(void)
{
    static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n > 1) return n;
    }
    return 1;
}

bool rt_comm_launched(void)
{
    return launched_size() > 1;
}

int rt_comm_default_threads(const rt_comm *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long share = (cores > 0 ? cores : 1) / (c->local_size > 1 ? c->local_size : 1);
    return share > 1 ? (int)share : 1;
}

double rt_comm_take_seconds(rt_comm *c)
{
    double s = c->seconds;
    c->seconds = 0;
    return s;
}

/* The first 8 bytes of the SHA-256 of the parts. 0 or -1. */
static int digest(const void *const *part, const size_t *len, int n, uint64_t *out, moec_diag *diag)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (int i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(ctx, part[i], len[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len >= 8;
    EVP_MD_CTX_free(ctx);
    if (!ok) return moec_error(diag, "SHA-256 failed");
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h = h << 8 | md[i];
    *out = h;
    return 0;
}

int rt_comm_same_bytes(rt_comm *c, const void *const *part, const size_t *len, int n, int *differs,
                       uint64_t hash[2], moec_diag *diag)
{
    *differs = 0;
    if (c->size <= 1) return 0;
    uint64_t mine = 0, *all = malloc(sizeof *all * (size_t)c->size);
    if (!all) return moec_error(diag, "out of memory");
    int rc = digest(part, len, n, &mine, diag);
    if (rc == 0) rc = rt_comm_gather_u64(c, mine, all, diag);
    for (int k = 1; rc == 0 && k < c->size && !*differs; k++)
        if (all[k] != all[0]) {
            *differs = k;
            hash[0] = all[k];
            hash[1] = all[0];
        }
    free(all);
    return rc;
}

#ifdef HAVE_MPI

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *rt_comm_build_name(void)
{
#if defined(OMPI_MAJOR_VERSION)
    return "MPI " STR(MPI_VERSION) "." STR(MPI_SUBVERSION) " (Open MPI " STR(OMPI_MAJOR_VERSION) "." STR(
        OMPI_MINOR_VERSION) "." STR(OMPI_RELEASE_VERSION) ")";
#else
    return "MPI " STR(MPI_VERSION) "." STR(MPI_SUBVERSION);
#endif
}

static int shm_open(rt_comm *c, moec_diag *diag);
static void shm_close(rt_comm *c);

/* An MPI call's failure as a message. */
static int mpi_error(moec_diag *diag, const char *what, int code)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
    return moec_error(diag, "MPI: %s failed: %s", what, text);
}

int rt_comm_open(rt_comm *c, moec_diag *diag)
{
    memset(c, 0, sizeof *c);
    c->size = c->local_size = 1;
    if (!rt_comm_launched()) return 0;
    int rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS) return moec_error(diag, "MPI: MPI_Init failed (code %d)", rc);
    c->mpi = true;
    /* errors come back as codes and are reported, instead of MPI's default of aborting silently */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &c->rank)) != MPI_SUCCESS) return mpi_error(diag, "MPI_Comm_rank", rc);
    if ((rc = MPI_Comm_size(MPI_COMM_WORLD, &c->size)) != MPI_SUCCESS) return mpi_error(diag, "MPI_Comm_size", rc);
    return c->size > 1 ? shm_open(c, diag) : 0;
}

void rt_comm_close(rt_comm *c, bool failed)
{
    if (c->mpi) {
        if (failed && c->size > 1) MPI_Abort(MPI_COMM_WORLD, 1);   /* the others may be waiting in a collective */
        shm_close(c);
        MPI_Finalize();
    }
    free(c->fscratch);
    free(c->dscratch);
    memset(c, 0, sizeof *c);
}

/* Grows *buf to at least n elements of `size` bytes. 0 or -1. */
static int reserve(void **buf, size_t *have, size_t n, size_t size, moec_diag *diag)
{
    if (*have >= n) return 0;
    void *p = realloc(*buf, n * size);
    if (!p) return moec_error(diag, "out of memory for a reduction of %zu values", n);
    *buf = p;
    *have = n;
    return 0;
}

/* x[0..n) summed over the ranks: the buffer padded to a multiple of the
 * world size, each rank sums one block (MPI_Reduce_scatter_block), then
 * every rank receives every block (MPI_Allgather). One rank computes each
 * sum, so every rank gets the same bits. */
static int sum(rt_comm *c, void *x, size_t n, size_t elem, MPI_Datatype type, void **scratch, size_t *have,
               moec_diag *diag)
{
    if (c->size <= 1 || n == 0) return 0;
    double t0 = now();
    size_t p = (size_t)c->size, block = (n + p - 1) / p, padded = block * p;
    if (block > (size_t)INT32_MAX) return moec_error(diag, "a reduction of %zu values is too large for MPI", n);
    if (reserve(scratch, have, padded + block, elem, diag) < 0) return -1;
    char *buf = *scratch, *mine = buf + padded * elem;
    memcpy(buf, x, n * elem);
    memset(buf + n * elem, 0, (padded - n) * elem);
    int rc = MPI_Reduce_scatter_block(buf, mine, (int)block, type, MPI_SUM, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_error(diag, "MPI_Reduce_scatter_block", rc);
    rc = MPI_Allgather(mine, (int)block, type, buf, (int)block, type, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_error(diag, "MPI_Allgather", rc);
    memcpy(x, buf, n * elem);
    c->seconds += now() - t0;
    return 0;
}

/* ---- large float sums through shared memory (every rank on one machine) ---- */

/* A window of `cap` floats per rank that every rank of the machine maps. */
struct rt_comm_shm {
    MPI_Comm node;       /* the ranks that share memory with this one (all of the world) */
    MPI_Win win;
    bool have_win;
    size_t cap;          /* floats per rank */
    float **slot;        /* [size]: rank k's floats, mapped here */
};

enum { SHM_MIN_FLOATS = 1 << 16 };   /* below 256 KB the MPI collectives are as quick */

static void shm_free_window(struct rt_comm_shm *m)
{
    if (m->have_win) {
        MPI_Win_unlock_all(m->win);
        MPI_Win_free(&m->win);
    }
    m->have_win = false;
    m->cap = 0;
}

/* The machine's ranks (NULL when some rank is on another machine: no shared memory). */
static int shm_open(rt_comm *c, moec_diag *diag)
{
    MPI_Comm node;
    int rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return mpi_error(diag, "MPI_Comm_split_type", rc);
    int n = 0;
    MPI_Comm_size(node, &n);
    c->local_size = n > 0 ? n : 1;
    if (n != c->size || getenv("MOEC_NO_SHM")) {   /* some rank elsewhere, or told not to */
        MPI_Comm_free(&node);
        return 0;
    }
    struct rt_comm_shm *m = calloc(1, sizeof *m);
    if (m) m->slot = calloc((size_t)n, sizeof *m->slot);
    if (!m || !m->slot) {
        free(m);
        MPI_Comm_free(&node);
        return moec_error(diag, "out of memory");
    }
    m->node = node;
    c->shm = m;
    return 0;
}

static void shm_close(rt_comm *c)
{
    if (!c->shm) return;
    shm_free_window(c->shm);
    MPI_Comm_free(&c->shm->node);
    free(c->shm->slot);
    free(c->shm);
    c->shm = NULL;
}

/* A window of at least n floats per rank (collective: every rank asks for the same n). */
static int shm_reserve(rt_comm *c, size_t n, moec_diag *diag)
{
    struct rt_comm_shm *m = c->shm;
    if (m->cap >= n) return 0;
    shm_free_window(m);
    float *mine;
    int rc = MPI_Win_allocate_shared((MPI_Aint)(n * sizeof(float)), sizeof(float), MPI_INFO_NULL, m->node, &mine,
                                     &m->win);
    if (rc != MPI_SUCCESS) return mpi_error(diag, "MPI_Win_allocate_shared", rc);
    m->have_win = true;
    m->cap = n;
    for (int k = 0; k < c->size; k++) {
        MPI_Aint bytes;
        int unit;
        if ((rc = MPI_Win_shared_query(m->win, k, &bytes, &unit, &m->slot[k])) != MPI_SUCCESS)
            return mpi_error(diag, "MPI_Win_shared_query", rc);
    }
    /* one passive epoch for the window's life: MPI_Win_sync + a barrier order the loads and stores */
    if ((rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, m->win)) != MPI_SUCCESS) return mpi_error(diag, "MPI_Win_lock_all", rc);
    return 0;
}

/* Everything written before it is seen by every rank after it. */
static int shm_fence(struct rt_comm_shm *m, moec_diag *diag)
{
    MPI_Win_sync(m->win);
    int rc = MPI_Barrier(m->node);
    MPI_Win_sync(m->win);
    return rc == MPI_SUCCESS ? 0 : mpi_error(diag, "MPI_Barrier", rc);
}

/* x summed over the ranks: each rank's x into its slot; rank r adds block r
 * of every slot, in rank order, into slot 0; every rank copies slot 0 out. */
static int shm_sum(rt_comm *c, float *x, size_t n, moec_diag *diag)
{
    struct rt_comm_shm *m = c->shm;
    if (shm_reserve(c, n, diag) < 0) return -1;
    memcpy(m->slot[c->rank], x, n * sizeof *x);
    if (shm_fence(m, diag) < 0) return -1;
    size_t p = (size_t)c->size, block = (n + p - 1) / p, lo = block * (size_t)c->rank;
    size_t hi = lo + block < n ? lo + block : n;
    float *out = m->slot[0];
    for (size_t k = 1; k < p; k++) {
        const float *in = m->slot[k];
        for (size_t i = lo; i < hi; i++) out[i] += in[i];
    }
    if (shm_fence(m, diag) < 0) return -1;
    memcpy(x, out, n * sizeof *x);
    return shm_fence(m, diag);   /* nobody writes its slot again before all have read slot 0 */
}

int rt_comm_sum_floats(rt_comm *c, float *x, size_t n, moec_diag *diag)
{
    if (c->size > 1 && c->shm && n >= SHM_MIN_FLOATS) {
        double t0 = now();
        int rc = shm_sum(c, x, n, diag);
        c->seconds += now() - t0;
        return rc;
    }
    return sum(c, x, n, sizeof *x, MPI_FLOAT, (void **)&c->fscratch, &c->fscratch_n, diag);
}

int rt_comm_sum_doubles(rt_comm *c, double *x, size_t n, moec_diag *diag)
{
    return sum(c, x, n, sizeof *x, MPI_DOUBLE, (void **)&c->dscratch, &c->dscratch_n, diag);
}

int rt_comm_max_int(rt_comm *c, int v, int *out, moec_diag *diag)
{
    *out = v;
    if (c->size <= 1) return 0;
    int rc = MPI_Allreduce(&v, out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_error(diag, "MPI_Allreduce", rc);
}

int rt_comm_gather_u64(rt_comm *c, uint64_t v, uint64_t *all, moec_diag *diag)
{
    all[0] = v;
    if (c->size <= 1) return 0;
    int rc = MPI_Allgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_error(diag, "MPI_Allgather", rc);
}

#else /* no MPI: a world of one */

const char *rt_comm_build_name(void)
{
    return "not built (configure found no MPI)";
}

int rt_comm_open(rt_comm *c, moec_diag *diag)
{
    memset(c, 0, sizeof *c);
    c->size = c->local_size = 1;
    if (rt_comm_launched())
        return moec_error(diag, "a launcher started this process as one of %ld, but this moec was built without MPI "
                          "(configure found no OpenMPI: apt-get install libopenmpi-dev, then rebuild); "
                          "run it as one process instead", launched_size());
    return 0;
}

void rt_comm_close(rt_comm *c, bool failed)
{
    (void)failed;
    memset(c, 0, sizeof *c);
}

int rt_comm_sum_floats(rt_comm *c, float *x, size_t n, moec_diag *diag)
{
    (void)c, (void)x, (void)n, (void)diag;
    return 0;
}

int rt_comm_sum_doubles(rt_comm *c, double *x, size_t n, moec_diag *diag)
{
    (void)c, (void)x, (void)n, (void)diag;
    return 0;
}

int rt_comm_max_int(rt_comm *c, int v, int *out, moec_diag *diag)
{
    (void)c, (void)diag;
    *out = v;
    return 0;
}

int rt_comm_gather_u64(rt_comm *c, uint64_t v, uint64_t *all, moec_diag *diag)
{
    (void)c, (void)diag;
    all[0] = v;
    return 0;
}

#endif
