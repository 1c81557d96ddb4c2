/* tests/dist/test_nccl.c -- NCCL through dlopen (runtime/dist/nccl.h) on
 * whatever machine runs it:
 *   - MOEC_NCCL_LIBRARY naming a missing file: rt_nccl_open returns -1 with
 *     "NCCL is not available: FILE could not be opened (...); GPU data
 *     parallel needs NCCL 2", the rt_nccl left zeroed, closing it harmless;
 *     a bare library name that is not installed, the same;
 *   - a library that is not NCCL (the C library): -1, the missing entry
 *     point named;
 *   - the default libnccl.so.2: where it is absent, the same message naming
 *     libnccl.so.2; where it is installed, its version is NCCL 2, a unique
 *     id is made, a rank out of range is refused before NCCL is called, and
 *     a communicator of one rank either fails with NCCL's words (no GPU:
 *     the CUDA failure is named) or, with a GPU, initialises and all-reduces
 *     a device buffer in place (one rank: the sum is the buffer itself);
 *   - the version code's two encodings and the result codes' names.
 * The GPU part has not run yet (doc/distributed.md, "NCCL on GPUs"). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cuda/driver.h"
#include "runtime/dist/nccl.h"
#include "support/diag.h"
#include "tests/tap.h"

static bool zeroed(const rt_nccl *n)
{
    const unsigned char *p = (const unsigned char *)n;
    for (size_t i = 0; i < sizeof *n; i++)
        if (p[i]) return false;
    return true;
}

static bool has(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* Opens with MOEC_NCCL_LIBRARY = lib (NULL: unset) and expects the
 * "could not be opened" failure naming `named`. */
static void check_absent(moec_diag *d, const char *lib, const char *named, const char *what)
{
    if (lib) setenv("MOEC_NCCL_LIBRARY", lib, 1);
    else unsetenv("MOEC_NCCL_LIBRARY");
    moec_diag_reset(d);
    rt_nccl n;
    memset(&n, 0x5a, sizeof n);   /* open must not read what was there */
    int rc = rt_nccl_open(&n, d);
    const char *text = moec_diag_text(d);
    char want[512];
    snprintf(want, sizeof want, "moec: error: NCCL is not available: %s could not be opened (", named);
    tap_ok(rc == -1 && !strncmp(text, want, strlen(want)) && has(text, "); GPU data parallel needs NCCL 2\n") &&
               moec_diag_errors(d) == 1,
           "%s: -1 and the message naming %s", what, named);
    tap_diag("%.*s", (int)strcspn(text, "\n"), text);
    tap_ok(zeroed(&n), "%s: the rt_nccl is left all zero", what);
    rt_nccl_close(&n);
    rt_nccl_close(&n);
    tap_ok(zeroed(&n), "%s: closing a failed open (twice) is harmless", what);
}

/* With NCCL opened and a communicator of one rank: an all-reduce of a
 * device buffer in place, which one rank leaves as it was. Needs a GPU. */
static void check_all_reduce(rt_nccl *n, rt_nccl_comm *comm, rt_cuda *cu, moec_diag *d)
{
    enum { COUNT = 1000 };
    float host[COUNT], back[COUNT];
    for (int i = 0; i < COUNT; i++) host[i] = 0.5f * (float)i - 3.0f;
    rt_cuda_ptr buf = 0;
    moec_diag_reset(d);
    bool ok = rt_cuda_alloc(cu, sizeof host, &buf, d) == 0 && rt_cuda_upload(cu, buf, host, sizeof host, d) == 0 &&
              rt_nccl_group_start(n, d) == 0 && rt_nccl_all_reduce_sum_f32(n, comm, buf, COUNT, NULL, d) == 0 &&
              rt_nccl_group_end(n, d) == 0 && rt_nccl_all_reduce_sum_f32(n, comm, buf, 0, NULL, d) == 0 &&
              rt_cuda_download(cu, back, buf, sizeof back, d) == 0;
    tap_ok(ok, "an all-reduce of %d floats in place, in a group, on the default stream", COUNT);
    if (!ok) tap_diag("%s", moec_diag_text(d));
    tap_ok(ok && !memcmp(host, back, sizeof host), "one rank's sum is its own buffer, bit for bit");
    rt_cuda_free(cu, buf);
}

/* The installed NCCL (rt_nccl_open succeeded). */
static void check_installed(rt_nccl *n, moec_diag *d)
{
    char v[32];
    int version = rt_nccl_version(n);
    rt_nccl_version_text(version, v, sizeof v);
    tap_diag("NCCL %s (%s) is installed here: the message without it is checked with MOEC_NCCL_LIBRARY only", v,
             n->file);
    tap_ok(!strcmp(n->file, RT_NCCL_LIBRARY) && !strncmp(v, "2.", 2), "the default library is NCCL 2 (%s)", v);

    rt_nccl_id id;
    memset(&id, 0, sizeof id);
    moec_diag_reset(d);
    int rc = rt_nccl_unique_id(n, &id, d);
    bool nonzero = false;
    for (int i = 0; i < RT_NCCL_ID_BYTES; i++) nonzero |= id.bytes[i] != 0;
    tap_ok((rc == 0 && nonzero && moec_diag_errors(d) == 0) ||
               (rc == -1 && has(moec_diag_text(d), "NCCL: making a unique id")),
           "ncclGetUniqueId: a non-zero id, or a failure named (%s)", rc == 0 ? "made" : moec_diag_text(d));
    if (rc != 0) return;

    rt_nccl_comm *comm = (rt_nccl_comm *)&id;   /* must be reset */
    moec_diag_reset(d);
    rc = rt_nccl_comm_init(n, &comm, 1, &id, 1, d);
    tap_ok(rc == -1 && comm == NULL &&
               has(moec_diag_text(d), "NCCL: no rank 1 among 1 ranks: a communicator needs 0 <= rank < ranks"),
           "rank 1 of 1 is refused before NCCL is called");
    moec_diag_reset(d);
    tap_ok(rt_nccl_comm_init(n, &comm, 0, &id, 0, d) == -1 && has(moec_diag_text(d), "no rank 0 among 0 ranks"),
           "a communicator of 0 ranks is refused");

    rt_cuda *cu = NULL;
    moec_diag_reset(d);
    bool gpu = rt_cuda_open(&cu, 0, d) == 0;
    const char *cuda = gpu ? rt_cuda_name(cu) : moec_diag_text(d);
    tap_diag("CUDA: %.*s", (int)strcspn(cuda, "\n"), cuda);
    moec_diag_reset(d);
    rc = rt_nccl_comm_init(n, &comm, 1, &id, 0, d);
    if (!gpu) {
        const char *text = moec_diag_text(d);
        tap_ok(rc == -1 && comm == NULL &&
                   has(text, "NCCL: initialising the communicator of rank 0 of 1 (ncclCommInitRank) failed: "
                             "ncclUnhandledCudaError"),
               "without a GPU a communicator fails with NCCL's words");
        tap_diag("%.*s", (int)strcspn(text, "\n"), text);
    } else {
        tap_ok(rc == 0 && comm != NULL, "a communicator of one rank on %s", rt_cuda_name(cu));
        if (rc != 0) tap_diag("%s", moec_diag_text(d));
        else check_all_reduce(n, comm, cu, d);
        moec_diag_reset(d);
        tap_ok(rt_nccl_comm_destroy(n, comm, d) == 0, "the communicator is destroyed");
    }
    tap_ok(rt_nccl_comm_destroy(n, NULL, d) == 0, "destroying no communicator does nothing");
    rt_cuda_close(cu);
}

int main(void)
{
    moec_diag d;
    if (moec_diag_collect(&d, 0) != 0) return 1;
    const char *tmp = getenv("TMPDIR");
    char missing[512];
    snprintf(missing, sizeof missing, "%s/moec-test-nccl-%ld/libnccl.so.2", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());

    check_absent(&d, missing, missing, "MOEC_NCCL_LIBRARY naming a missing file");
    check_absent(&d, "libnccl-not-installed.so.2", "libnccl-not-installed.so.2",
                 "MOEC_NCCL_LIBRARY naming a library not installed");

    setenv("MOEC_NCCL_LIBRARY", "libc.so.6", 1);
    moec_diag_reset(&d);
    rt_nccl n;
    tap_ok(rt_nccl_open(&n, &d) == -1 && zeroed(&n) &&
               has(moec_diag_text(&d),
                   "NCCL is not available: libc.so.6 lacks ncclGetVersion, so it is not a usable NCCL 2"),
           "a library that is not NCCL: -1, the missing entry point named");
    tap_diag("%.*s", (int)strcspn(moec_diag_text(&d), "\n"), moec_diag_text(&d));

    /* The default: an empty MOEC_NCCL_LIBRARY is as unset. */
    setenv("MOEC_NCCL_LIBRARY", "", 1);
    moec_diag_reset(&d);
    if (rt_nccl_open(&n, &d) == 0) {
        check_installed(&n, &d);
        rt_nccl_close(&n);
        tap_ok(zeroed(&n), "closed, the rt_nccl is all zero");
    } else {
        tap_diag("no NCCL installed here");
        check_absent(&d, NULL, RT_NCCL_LIBRARY, "no NCCL installed, MOEC_NCCL_LIBRARY unset");
    }

    char v[32], e[256];
    tap_ok(!strcmp(rt_nccl_version_text(22809, v, sizeof v), "2.28.9") &&
               !strcmp(rt_nccl_version_text(2804, v, sizeof v), "2.8.4") &&
               !strcmp(rt_nccl_version_text(21003, v, sizeof v), "2.10.3"),
           "version codes: 22809 is 2.28.9, 2804 is 2.8.4 (the encoding up to 2.8), 21003 is 2.10.3");
    rt_nccl closed;
    memset(&closed, 0, sizeof closed);
    tap_ok(!strcmp(rt_nccl_error(&closed, 1, e, sizeof e), "ncclUnhandledCudaError") &&
               !strcmp(rt_nccl_error(NULL, 8, e, sizeof e), "ncclTimeout") &&
               !strcmp(rt_nccl_error(NULL, 42, e, sizeof e), "NCCL error 42"),
           "result codes are named without a library (1, 8; 42 by number)");

    unsetenv("MOEC_NCCL_LIBRARY");
    moec_diag_free(&d);
    return tap_done();
}
