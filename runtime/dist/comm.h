/* runtime/dist/comm.h -- the processes of a data-parallel run and the few
 * collective operations `moec train` needs from them (doc/distributed.md).
 *
 * Built with MPI (configure found OpenMPI), a process started by `mpirun`
 * (or any launcher that sets the MPI environment) joins MPI_COMM_WORLD; a
 * process started alone never initialises MPI and is rank 0 of 1, so every
 * other command, and `moec train` without a launcher, is unaffected. Built
 * without MPI, a process that a launcher started as one of several refuses
 * to run (two processes each believing they are alone would write the same
 * run directory).
 *
 * Every operation is collective: each rank calls it, in the same order, with
 * the same sizes. Reductions are deterministic and give every rank the same
 * bits: a sum is computed once per element, adding the ranks' values in rank
 * order, and then copied to all, so the ranks' weights stay identical.
 * When every rank runs on one machine, large float sums go through an MPI
 * shared-memory window (each rank adds its block of every rank's buffer in
 * place: the cost of a few memory copies); otherwise, or for small sums,
 * through MPI_Reduce_scatter_block and MPI_Allgather. */
#ifndef MOEC_RUNTIME_DIST_COMM_H
#define MOEC_RUNTIME_DIST_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

typedef struct rt_comm {
    int rank, size;          /* this process, the world: 0 and 1 when alone */
    int local_size;          /* the world's ranks on this machine (1 alone) */
    bool mpi;                /* MPI was initialised here (finalise it) */
    double seconds;          /* time spent in reductions since the last rt_comm_take_seconds */
    float *fscratch;         /* the padded buffer of rt_comm_sum_floats */
    size_t fscratch_n;
    double *dscratch;        /* and of rt_comm_sum_doubles */
    size_t dscratch_n;
    struct rt_comm_shm *shm; /* every rank on one machine: large sums through shared memory */
} rt_comm;

/* "MPI (Open MPI 4.1.4)" or "not built": what moec --version says. */
const char *rt_comm_build_name(void);

/* True when the environment says a launcher started this process as one of
 * several (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_SIZE above 1). */
bool rt_comm_launched(void);

/* Joins the world when launched (see above), else makes a world of one.
 * 0, or -1 after reporting (a launcher's world without MPI built in, or MPI
 * failing to start). */
int rt_comm_open(rt_comm *c, moec_diag *diag);
/* Leaves the world (MPI_Finalize after a barrier when all went well; after a
 * failure, `failed`, the other ranks may be gone: aborts the job instead, so
 * that no rank waits for ever on one that stopped). */
void rt_comm_close(rt_comm *c, bool failed);

/* The threads a rank should use when told "every core" (--threads 0): the
 * machine's cores shared out among its ranks, at least 1. */
int rt_comm_default_threads(const rt_comm *c);

/* In-place sums over the ranks of x[0..n). Alone: nothing to do. 0 or -1. */
int rt_comm_sum_floats(rt_comm *c, float *x, size_t n, moec_diag *diag);
int rt_comm_sum_doubles(rt_comm *c, double *x, size_t n, moec_diag *diag);

/* The largest of each rank's v, on every rank (agreeing on a stop, a failure). */
int rt_comm_max_int(rt_comm *c, int v, int *out, moec_diag *diag);

/* Every rank's 64-bit value, in rank order: all[0..size). */
int rt_comm_gather_u64(rt_comm *c, uint64_t v, uint64_t *all, moec_diag *diag);

/* Whether every rank holds the same bytes: the SHA-256 of the n parts
 * (part i: len[i] bytes at part[i]) of each rank, compared with rank 0's.
 * *differs is the first rank whose bytes differ (hash[0] its digest's
 * first 8 bytes, hash[1] rank 0's), or 0 when all agree. 0 or -1. */
int rt_comm_same_bytes(rt_comm *c, const void *const *part, const size_t *len, int n, int *differs,
                       uint64_t hash[2], moec_diag *diag);

/* Seconds spent in the sums since the last call (the all-reduce time of a step). */
double rt_comm_take_seconds(rt_comm *c);

#endif
