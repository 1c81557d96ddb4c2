/* runtime/dist/nccl.c -- NCCL 2 through dlopen (runtime/dist/nccl.h).
 * nccl.h is not included: the few types and constants used are declared
 * here from NCCL's documented header (ncclResult_t, ncclDataType_t and
 * ncclRedOp_t are C enums, passed as int), so this file builds without NCCL
 * or the CUDA toolkit.
 *
 * The library is opened RTLD_NODELETE: NCCL starts threads that outlive
 * the call that made them (ncclGetUniqueId's bootstrap root waits for the
 * ranks; a communicator has a proxy thread), and unmapping the code they
 * run at rt_nccl_close would crash them. Closing only drops the handle. */
#include "runtime/dist/nccl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NCCL_SUCCESS = 0,        /* ncclSuccess */
    NCCL_FLOAT32 = 7,        /* ncclFloat32 (ncclFloat) */
    NCCL_SUM = 0,            /* ncclSum */
};

/* ncclResult_t's names, by value (ncclSuccess = 0 .. ncclTimeout = 8). */
static const char *const RESULT_NAMES[] = {
    "ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError", "ncclInvalidArgument",
    "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress", "ncclTimeout",
};

/* The entry points: name in the library, and where the pointer goes. */
#define ENTRY(field, sym) { sym, offsetof(rt_nccl_api, field) }
static const struct {
    const char *sym;
    size_t at;
} ENTRIES[] = {
    ENTRY(GetVersion, "ncclGetVersion"),
    ENTRY(GetUniqueId, "ncclGetUniqueId"),
    ENTRY(CommInitRank, "ncclCommInitRank"),
    ENTRY(CommDestroy, "ncclCommDestroy"),
    ENTRY(AllReduce, "ncclAllReduce"),
    ENTRY(GroupStart, "ncclGroupStart"),
    ENTRY(GroupEnd, "ncclGroupEnd"),
    ENTRY(GetErrorString, "ncclGetErrorString"),
};

const char *rt_nccl_version_text(int version, char *buf, size_t size)
{
    /* NCCL_VERSION(X,Y,Z): X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z after. */
    if (version >= 10000) snprintf(buf, size, "%d.%d.%d", version / 10000, version / 100 % 100, version % 100);
    else snprintf(buf, size, "%d.%d.%d", version / 1000, version / 100 % 10, version % 100);
    return buf;
}

static int version_major(int version) { return version >= 10000 ? version / 10000 : version / 1000; }

const char *rt_nccl_error(const rt_nccl *n, int result, char *buf, size_t size)
{
    const char *name = result >= 0 && result < (int)(sizeof RESULT_NAMES / sizeof *RESULT_NAMES) ? RESULT_NAMES[result]
                                                                                                  : NULL;
    const char *text = n && n->lib && n->nccl.GetErrorString ? n->nccl.GetErrorString(result) : NULL;
    if (name && text) snprintf(buf, size, "%s: %s", name, text);
    else if (name) snprintf(buf, size, "%s", name);
    else snprintf(buf, size, "NCCL error %d%s%s", result, text ? ": " : "", text ? text : "");
    return buf;
}

/* "NCCL: WHAT failed: NAME: TEXT; LAST ERROR"; returns -1. The last error
 * (ncclGetLastError, documented from NCCL 2.13 on) is the detail that
 * NCCL_DEBUG would print, such as the CUDA failure under an
 * ncclUnhandledCudaError. */
static int fail(const rt_nccl *n, rt_nccl_comm *comm, moec_diag *d, int r, const char *what)
{
    char e[256];
    const char *last = n->nccl.GetLastError ? n->nccl.GetLastError(comm) : NULL;
    if (last && *last) return moec_error(d, "NCCL: %s failed: %s; %s", what, rt_nccl_error(n, r, e, sizeof e), last);
    return moec_error(d, "NCCL: %s failed: %s", what, rt_nccl_error(n, r, e, sizeof e));
}

void rt_nccl_close(rt_nccl *n)
{
    if (!n) return;
    if (n->lib) dlclose(n->lib);
    memset(n, 0, sizeof *n);
}

int rt_nccl_open(rt_nccl *n, moec_diag *d)
{
    memset(n, 0, sizeof *n);
    const char *file = getenv("MOEC_NCCL_LIBRARY");
    if (!file || !*file) file = RT_NCCL_LIBRARY;
    if (strlen(file) >= sizeof n->file)
        return moec_error(d, "NCCL is not available: the library name in MOEC_NCCL_LIBRARY is longer than %zu bytes",
                          sizeof n->file - 1);
    snprintf(n->file, sizeof n->file, "%s", file);
    n->lib = dlopen(file, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!n->lib) {
        const char *why = dlerror();
        moec_error(d, "NCCL is not available: %s could not be opened (%s); GPU data parallel needs NCCL 2", file,
                   why ? why : "no reason given");
        rt_nccl_close(n);
        return -1;
    }
    for (size_t i = 0; i < sizeof ENTRIES / sizeof *ENTRIES; i++) {
        void *f = dlsym(n->lib, ENTRIES[i].sym);
        if (!f) {
            moec_error(d,
                       "NCCL is not available: %s lacks %s, so it is not a usable NCCL 2; "
                       "GPU data parallel needs NCCL 2",
                       file, ENTRIES[i].sym);
            rt_nccl_close(n);
            return -1;
        }
        memcpy((char *)&n->nccl + ENTRIES[i].at, &f, sizeof f);
    }
    void *last = dlsym(n->lib, "ncclGetLastError");   /* optional: older NCCLs lack it */
    if (last) memcpy(&n->nccl.GetLastError, &last, sizeof last);
    int version = 0, r = n->nccl.GetVersion(&version);
    if (r != NCCL_SUCCESS) {
        fail(n, NULL, d, r, "ncclGetVersion");
        rt_nccl_close(n);
        return -1;
    }
    if (version_major(version) != 2) {
        char v[32];
        moec_error(d, "NCCL is not available: %s is NCCL %s (version code %d); GPU data parallel needs NCCL 2", file,
                   rt_nccl_version_text(version, v, sizeof v), version);
        rt_nccl_close(n);
        return -1;
    }
    n->version = version;
    return 0;
}

int rt_nccl_version(const rt_nccl *n)
{
    MOEC_ASSERT(n->lib);
    return n->version;
}

int rt_nccl_unique_id(rt_nccl *n, rt_nccl_id *id, moec_diag *d)
{
    MOEC_ASSERT(n->lib);
    memset(id, 0, sizeof *id);
    int r = n->nccl.GetUniqueId(id);
    return r == NCCL_SUCCESS ? 0 : fail(n, NULL, d, r, "making a unique id (ncclGetUniqueId)");
}

int rt_nccl_comm_init(rt_nccl *n, rt_nccl_comm **comm, int nranks, const rt_nccl_id *id, int rank, moec_diag *d)
{
    MOEC_ASSERT(n->lib);
    *comm = NULL;
    if (nranks < 1 || rank < 0 || rank >= nranks)
        return moec_error(d, "NCCL: no rank %d among %d ranks: a communicator needs 0 <= rank < ranks", rank, nranks);
    rt_nccl_comm *c = NULL;
    int r = n->nccl.CommInitRank(&c, nranks, *id, rank);
    if (r != NCCL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "initialising the communicator of rank %d of %d (ncclCommInitRank)", rank, nranks);
        return fail(n, NULL, d, r, what);
    }
    *comm = c;
    return 0;
}

int rt_nccl_comm_destroy(rt_nccl *n, rt_nccl_comm *comm, moec_diag *d)
{
    if (!comm) return 0;
    MOEC_ASSERT(n->lib);
    int r = n->nccl.CommDestroy(comm);
    return r == NCCL_SUCCESS ? 0 : fail(n, NULL, d, r, "destroying a communicator (ncclCommDestroy)");
}

int rt_nccl_all_reduce_sum_f32(rt_nccl *n, rt_nccl_comm *comm, uint64_t buf, size_t count, void *stream,
                               moec_diag *d)
{
    MOEC_ASSERT(n->lib && comm);
    if (count == 0) return 0;
    if (!buf) return moec_error(d, "NCCL: an all-reduce of %zu floats on a null device address", count);
    void *p = (void *)(uintptr_t)buf;
    int r = n->nccl.AllReduce(p, p, count, NCCL_FLOAT32, NCCL_SUM, comm, stream);
    if (r == NCCL_SUCCESS) return 0;
    char what[96];
    snprintf(what, sizeof what, "an all-reduce (sum) of %zu floats (%zu bytes)", count, count * sizeof(float));
    return fail(n, comm, d, r, what);
}

int rt_nccl_group_start(rt_nccl *n, moec_diag *d)
{
    MOEC_ASSERT(n->lib);
    int r = n->nccl.GroupStart();
    return r == NCCL_SUCCESS ? 0 : fail(n, NULL, d, r, "ncclGroupStart");
}

int rt_nccl_group_end(rt_nccl *n, moec_diag *d)
{
    MOEC_ASSERT(n->lib);
    int r = n->nccl.GroupEnd();
    return r == NCCL_SUCCESS ? 0 : fail(n, NULL, d, r, "ncclGroupEnd (launching the grouped calls)");
}
