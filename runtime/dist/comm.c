/* runtime/dist/comm.c -- the world of a data-parallel run, over MPI when
 * built with it (runtime/dist/comm.h). */
#include "config.h"

#include "runtime/dist/comm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

double rt_comm_take_seconds(rt_comm *c)
{
    double s = c->seconds;
    c->seconds = 0;
    return s;
}

#ifdef HAVE_MPI

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
    c->size = 1;
    if (!rt_comm_launched()) return 0;
    int rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS) return moec_error(diag, "MPI: MPI_Init failed (code %d)", rc);
    c->mpi = true;
    /* errors come back as codes and are reported, instead of MPI's default of aborting silently */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &c->rank)) != MPI_SUCCESS) return mpi_error(diag, "MPI_Comm_rank", rc);
    if ((rc = MPI_Comm_size(MPI_COMM_WORLD, &c->size)) != MPI_SUCCESS) return mpi_error(diag, "MPI_Comm_size", rc);
    return 0;
}

void rt_comm_close(rt_comm *c, bool failed)
{
    if (c->mpi) {
        if (failed && c->size > 1) MPI_Abort(MPI_COMM_WORLD, 1);   /* the others may be waiting in a collective */
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

int rt_comm_sum_floats(rt_comm *c, float *x, size_t n, moec_diag *diag)
{
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
    c->size = 1;
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
