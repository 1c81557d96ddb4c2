/* runtime/dist/nccl.h -- NCCL 2, opened at run time with
 * dlopen("libnccl.so.2") and never linked, as runtime/cuda/driver.h opens
 * the CUDA driver: the same moec binary builds and runs where NCCL is not
 * installed, and says so clearly when GPU data parallel asks for it. What
 * moec needs of it: the library's version, a unique id (made by one rank
 * and sent to the others by the caller, through MPI), a communicator per
 * rank, an in-place all-reduce sum of a float32 device buffer on a stream,
 * and group calls around several of those. Every failure is reported to
 * the diag with what was being done and NCCL's own words, and returns -1.
 * doc/distributed.md, "NCCL on GPUs".
 *
 * No global state: the caller owns the rt_nccl (on its stack or in its
 * trainer) and passes it to every call. Written against NCCL's documented
 * C signatures; what needs a GPU (a communicator that initialises, an
 * all-reduce) has not been run on one yet (doc/distributed.md says what
 * is). */
#ifndef MOEC_RUNTIME_DIST_NCCL_H
#define MOEC_RUNTIME_DIST_NCCL_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

/* The library opened when $MOEC_NCCL_LIBRARY is unset or empty. */
#define RT_NCCL_LIBRARY "libnccl.so.2"

/* ncclUniqueId: 128 opaque bytes, the same on every rank of a
 * communicator. NCCL takes it by value; this struct has its size and
 * alignment, so it is passed the same way. */
enum { RT_NCCL_ID_BYTES = 128 };
typedef struct rt_nccl_id {
    char bytes[RT_NCCL_ID_BYTES];
} rt_nccl_id;

/* A communicator (NCCL's ncclComm_t), opaque. */
typedef struct rt_nccl_comm rt_nccl_comm;

/* The entry points used. Each returns an ncclResult_t (an int, 0 =
 * ncclSuccess) except the two string functions. A CUstream is a void *; a
 * device buffer is passed as the pointer its CUdeviceptr value is. */
typedef struct rt_nccl_api {
    int (*GetVersion)(int *version);
    int (*GetUniqueId)(rt_nccl_id *id);
    int (*CommInitRank)(rt_nccl_comm **comm, int nranks, rt_nccl_id id, int rank);
    int (*CommDestroy)(rt_nccl_comm *comm);
    int (*AllReduce)(const void *send, void *recv, size_t count, int datatype, int op, rt_nccl_comm *comm,
                     void *stream);
    int (*GroupStart)(void);
    int (*GroupEnd)(void);
    const char *(*GetErrorString)(int result);
    const char *(*GetLastError)(rt_nccl_comm *comm);   /* NULL when the library predates it */
} rt_nccl_api;

/* An opened library. All zero before rt_nccl_open and after rt_nccl_close
 * or a failed open. */
typedef struct rt_nccl {
    void *lib;
    rt_nccl_api nccl;
    int version;          /* NCCL's version code: 22809 for 2.28.9, 2804 for 2.8.4 */
    char file[256];       /* the library as given to dlopen: what messages name */
} rt_nccl;

/* Opens NCCL (the file named by $MOEC_NCCL_LIBRARY, else libnccl.so.2),
 * resolves its entry points and reads its version. 0, or -1 after
 * reporting and with *n all zero: "NCCL is not available: FILE could not
 * be opened (dlerror's words); GPU data parallel needs NCCL 2", or a
 * library that lacks an entry point, or one that is not NCCL 2. Needs no
 * GPU. */
int rt_nccl_open(rt_nccl *n, moec_diag *d);
/* Drops the library; harmless on a zeroed or closed rt_nccl. Communicators
 * are destroyed first by the caller. */
void rt_nccl_close(rt_nccl *n);

/* The version code of an open library, and "2.28.9" for it. */
int rt_nccl_version(const rt_nccl *n);
const char *rt_nccl_version_text(int version, char *buf, size_t size);

/* NCCL's words for a result code: "ncclUnhandledCudaError: unhandled cuda
 * error (run with NCCL_DEBUG=INFO for details)"; n may be a closed rt_nccl
 * (then the name alone). */
const char *rt_nccl_error(const rt_nccl *n, int result, char *buf, size_t size);

/* A new unique id (ncclGetUniqueId), made on one rank (rank 0) and sent
 * as RT_NCCL_ID_BYTES bytes to every other rank before any of them calls
 * rt_nccl_comm_init. */
int rt_nccl_unique_id(rt_nccl *n, rt_nccl_id *id, moec_diag *d);

/* This rank's communicator among nranks (ncclCommInitRank): 0 <= rank <
 * nranks, the same id on every rank, one GPU per rank, the rank's device
 * current (its CUDA context set) before the call. Blocks until every rank
 * has called it. */
int rt_nccl_comm_init(rt_nccl *n, rt_nccl_comm **comm, int nranks, const rt_nccl_id *id, int rank, moec_diag *d);
/* Destroys a communicator (NULL: nothing); a failure is reported. */
int rt_nccl_comm_destroy(rt_nccl *n, rt_nccl_comm *comm, moec_diag *d);

/* In place, count float32 values at the device address buf [count]: every
 * rank's buffer becomes the sum over ranks, element by element. Enqueued on
 * `stream` (a CUstream; NULL: the default stream) and asynchronous: the sum
 * is there once the stream reaches it. count 0 does nothing. */
int rt_nccl_all_reduce_sum_f32(rt_nccl *n, rt_nccl_comm *comm, uint64_t buf, size_t count, void *stream,
                               moec_diag *d);

/* ncclGroupStart / ncclGroupEnd: the calls between them are launched
 * together (several buckets' all-reduces as one). */
int rt_nccl_group_start(rt_nccl *n, moec_diag *d);
int rt_nccl_group_end(rt_nccl *n, moec_diag *d);

#endif
