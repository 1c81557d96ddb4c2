/* runtime/cuda/driver.c -- the CUDA driver API through dlopen
 * (runtime/cuda/driver.h). cuda.h is not included: the few types and
 * constants used are declared here from the driver API's documentation,
 * so this file builds without the toolkit. The context is the device's
 * primary context (cuDevicePrimaryCtxRetain, cuCtxSetCurrent) rather than
 * cuCtxCreate, whose entry point changed signature between CUDA releases
 * (cuCtxCreate_v2, _v4); the primary context is the one the CUDA runtime
 * and cuBLAS share. Entry points with a _v2 suffix are resolved under it,
 * as cuda.h's macros would name them. */
#include "runtime/cuda/driver.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;          /* CUDA_SUCCESS = 0 */
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream;
typedef unsigned long long CUdeviceptr;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_STREAM_NON_BLOCKING = 1,
};

/* The entry points: name in the driver, and where the pointer goes. */
typedef struct cu_api {
    CUresult (*Init)(unsigned);
    CUresult (*DriverGetVersion)(int *);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*DevicePrimaryCtxRelease)(CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*ModuleLoadData)(CUmodule *, const void *);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*MemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*MemGetInfo)(size_t *, size_t *);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*GetErrorString)(CUresult, const char **);
    CUresult (*GetErrorName)(CUresult, const char **);
} cu_api;

#define ENTRY(field, sym) { sym, offsetof(cu_api, field) }
static const struct {
    const char *sym;
    size_t at;
} ENTRIES[] = {
    ENTRY(Init, "cuInit"),
    ENTRY(DriverGetVersion, "cuDriverGetVersion"),
    ENTRY(DeviceGetCount, "cuDeviceGetCount"),
    ENTRY(DeviceGet, "cuDeviceGet"),
    ENTRY(DeviceGetAttribute, "cuDeviceGetAttribute"),
    ENTRY(DeviceGetName, "cuDeviceGetName"),
    ENTRY(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
    ENTRY(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
    ENTRY(CtxSetCurrent, "cuCtxSetCurrent"),
    ENTRY(ModuleLoadData, "cuModuleLoadData"),
    ENTRY(ModuleUnload, "cuModuleUnload"),
    ENTRY(ModuleGetFunction, "cuModuleGetFunction"),
    ENTRY(LaunchKernel, "cuLaunchKernel"),
    ENTRY(MemAlloc, "cuMemAlloc_v2"),
    ENTRY(MemFree, "cuMemFree_v2"),
    ENTRY(MemcpyHtoD, "cuMemcpyHtoDAsync_v2"),
    ENTRY(MemcpyDtoH, "cuMemcpyDtoHAsync_v2"),
    ENTRY(MemcpyDtoD, "cuMemcpyDtoDAsync_v2"),
    ENTRY(MemsetD8, "cuMemsetD8Async"),
    ENTRY(MemGetInfo, "cuMemGetInfo_v2"),
    ENTRY(StreamCreate, "cuStreamCreate"),
    ENTRY(StreamDestroy, "cuStreamDestroy_v2"),
    ENTRY(StreamSynchronize, "cuStreamSynchronize"),
    ENTRY(GetErrorString, "cuGetErrorString"),
    ENTRY(GetErrorName, "cuGetErrorName"),
};

struct rt_cuda {
    void *lib;
    cu_api cu;
    CUdevice dev;
    CUcontext ctx;
    CUstream stream;
    char arch[16];
    char name[256];
    char last_kernel[128];   /* the kernel launched last: what a fault at sync names */
    int driver_version;      /* 12080 for CUDA 12.8 */
};

struct rt_cuda_module {
    CUmodule mod;
};

/* "CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for r. */
static const char *cu_error(const rt_cuda *c, CUresult r, char *buf, size_t size)
{
    const char *name = NULL, *text = NULL;
    if (c->cu.GetErrorName) c->cu.GetErrorName(r, &name);
    if (c->cu.GetErrorString) c->cu.GetErrorString(r, &text);
    snprintf(buf, size, "%s (%s)", name ? name : "CUDA error", text ? text : "no description");
    if (!name) snprintf(buf, size, "CUDA error %d (%s)", r, text ? text : "no description");
    return buf;
}

static int fail(const rt_cuda *c, moec_diag *d, CUresult r, const char *what)
{
    char e[256];
    return moec_error(d, "CUDA: %s failed: %s", what, cu_error(c, r, e, sizeof e));
}

void rt_cuda_close(rt_cuda *c)
{
    if (!c) return;
    if (c->stream) c->cu.StreamDestroy(c->stream);
    if (c->ctx) c->cu.DevicePrimaryCtxRelease(c->dev);
    if (c->lib) dlclose(c->lib);
    free(c);
}

int rt_cuda_open(rt_cuda **out, int ordinal, moec_diag *d)
{
    *out = NULL;
    const char *file = getenv("MOEC_CUDA_DRIVER");
    if (!file || !*file) file = "libcuda.so.1";
    rt_cuda *c = calloc(1, sizeof *c);
    if (!c) return moec_error(d, "out of memory opening the CUDA driver");
    c->lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        free(c);
        if (!strcmp(file, "libcuda.so.1")) return moec_error(d, "%s", RT_CUDA_NO_DRIVER);
        return moec_error(d, "no CUDA driver (%s cannot be loaded: %s)", file, dlerror());
    }
    for (size_t i = 0; i < sizeof ENTRIES / sizeof *ENTRIES; i++) {
        void *f = dlsym(c->lib, ENTRIES[i].sym);
        if (!f) {
            moec_error(d, "the CUDA driver %s lacks %s: it is older than moec needs (CUDA 11 or later)", file,
                       ENTRIES[i].sym);
            rt_cuda_close(c);
            return -1;
        }
        memcpy((char *)&c->cu + ENTRIES[i].at, &f, sizeof f);
    }
    CUresult r;
    int count = 0, major = 0, minor = 0, version = 0;
    if ((r = c->cu.Init(0)) != CUDA_SUCCESS) {
        char e[256];
        moec_error(d, "the CUDA driver %s does not start (cuInit: %s): no usable NVIDIA GPU", file,
                   cu_error(c, r, e, sizeof e));
        rt_cuda_close(c);
        return -1;
    }
    if ((r = c->cu.DeviceGetCount(&count)) != CUDA_SUCCESS || count == 0) {
        if (r != CUDA_SUCCESS) fail(c, d, r, "counting devices");
        else moec_error(d, "the CUDA driver sees no GPU");
        rt_cuda_close(c);
        return -1;
    }
    if (ordinal < 0 || ordinal >= count) {
        moec_error(d, "no CUDA device %d (the driver sees %d)", ordinal, count);
        rt_cuda_close(c);
        return -1;
    }
    const char *what = NULL;
    if ((r = c->cu.DeviceGet(&c->dev, ordinal)) != CUDA_SUCCESS) what = "cuDeviceGet";
    else if ((r = c->cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, c->dev)) != CUDA_SUCCESS ||
             (r = c->cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, c->dev)) != CUDA_SUCCESS)
        what = "reading the compute capability";
    else if ((r = c->cu.DeviceGetName(c->name, (int)sizeof c->name, c->dev)) != CUDA_SUCCESS) what = "cuDeviceGetName";
    else if ((r = c->cu.DevicePrimaryCtxRetain(&c->ctx, c->dev)) != CUDA_SUCCESS) what = "taking the device's context";
    else if ((r = c->cu.CtxSetCurrent(c->ctx)) != CUDA_SUCCESS) what = "cuCtxSetCurrent";
    else if ((r = c->cu.StreamCreate(&c->stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS) what = "creating a stream";
    if (what) {
        fail(c, d, r, what);
        rt_cuda_close(c);
        return -1;
    }
    if (c->cu.DriverGetVersion(&version) == CUDA_SUCCESS) c->driver_version = version;
    snprintf(c->arch, sizeof c->arch, "sm_%d%d", major, minor);
    *out = c;
    return 0;
}

const char *rt_cuda_arch(const rt_cuda *c) { return c->arch; }
const char *rt_cuda_name(const rt_cuda *c) { return c->name; }
int rt_cuda_driver_version(const rt_cuda *c) { return c->driver_version; }

int rt_cuda_alloc(rt_cuda *c, size_t bytes, rt_cuda_ptr *p, moec_diag *d)
{
    CUdeviceptr a = 0;
    CUresult r = c->cu.MemAlloc(&a, bytes ? bytes : 1);
    if (r == CUDA_ERROR_OUT_OF_MEMORY) {
        size_t free_b = 0, total = 0;
        c->cu.MemGetInfo(&free_b, &total);
        return moec_error(d, "out of GPU memory: %zu bytes (%.1f MiB) asked, %.1f MiB free of %.1f MiB on %s", bytes,
                          (double)bytes / 1048576.0, (double)free_b / 1048576.0, (double)total / 1048576.0, c->name);
    }
    if (r != CUDA_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "allocating %zu bytes", bytes);
        return fail(c, d, r, what);
    }
    *p = a;
    return 0;
}

void rt_cuda_free(rt_cuda *c, rt_cuda_ptr p)
{
    if (p) c->cu.MemFree(p);
}

/* Copies are queued on the one (non-blocking) stream, so that they follow
 * the kernels launched before them, and waited for: the host memory is the
 * caller's again on return. */
int rt_cuda_upload(rt_cuda *c, rt_cuda_ptr dst, const void *src, size_t bytes, moec_diag *d)
{
    CUresult r = c->cu.MemcpyHtoD(dst, src, bytes, c->stream);
    if (r == CUDA_SUCCESS) r = c->cu.StreamSynchronize(c->stream);
    return r == CUDA_SUCCESS ? 0 : fail(c, d, r, "copying to the GPU");
}

int rt_cuda_zero(rt_cuda *c, rt_cuda_ptr p, size_t bytes, moec_diag *d)
{
    CUresult r = c->cu.MemsetD8(p, 0, bytes, c->stream);
    return r == CUDA_SUCCESS ? 0 : fail(c, d, r, "zeroing GPU memory");
}

int rt_cuda_copy(rt_cuda *c, rt_cuda_ptr dst, rt_cuda_ptr src, size_t bytes, moec_diag *d)
{
    CUresult r = c->cu.MemcpyDtoD(dst, src, bytes, c->stream);
    return r == CUDA_SUCCESS ? 0 : fail(c, d, r, "copying on the GPU");
}

void *rt_cuda_stream(const rt_cuda *c) { return c->stream; }

int rt_cuda_download(rt_cuda *c, void *dst, rt_cuda_ptr src, size_t bytes, moec_diag *d)
{
    CUresult r = c->cu.MemcpyDtoH(dst, src, bytes, c->stream);
    if (r == CUDA_SUCCESS) r = c->cu.StreamSynchronize(c->stream);
    if (r == CUDA_SUCCESS) return 0;
    char e[256];
    return moec_error(d, "CUDA: copying from the GPU failed: %s (after kernel %s)", cu_error(c, r, e, sizeof e),
                      c->last_kernel[0] ? c->last_kernel : "none");
}

int rt_cuda_module_load(rt_cuda *c, const char *ptx, const char *what, rt_cuda_module **m, moec_diag *d)
{
    *m = malloc(sizeof **m);
    if (!*m) return moec_error(d, "out of memory loading %s", what);
    CUresult r = c->cu.ModuleLoadData(&(*m)->mod, ptx);
    if (r != CUDA_SUCCESS) {
        free(*m);
        *m = NULL;
        char e[256];
        return moec_error(d, "CUDA: loading %s for %s (%s) failed: %s", what, c->arch, c->name, cu_error(c, r, e, sizeof e));
    }
    return 0;
}

void rt_cuda_module_unload(rt_cuda *c, rt_cuda_module *m)
{
    if (!m) return;
    c->cu.ModuleUnload(m->mod);
    free(m);
}

int rt_cuda_launch(rt_cuda *c, rt_cuda_module *m, const char *name, uint64_t grid, uint64_t block, void **args,
                   moec_diag *d)
{
    CUfunction f;
    char e[256];
    CUresult r = c->cu.ModuleGetFunction(&f, m->mod, name);
    if (r != CUDA_SUCCESS) return moec_error(d, "CUDA: kernel %s not in its module: %s", name, cu_error(c, r, e, sizeof e));
    if (grid < 1 || grid > 0x7fffffffu || block < 1 || block > 1024)
        return moec_error(d, "CUDA: kernel %s: a launch of %llu blocks of %llu threads is out of range", name,
                          (unsigned long long)grid, (unsigned long long)block);
    snprintf(c->last_kernel, sizeof c->last_kernel, "%s", name);
    r = c->cu.LaunchKernel(f, (unsigned)grid, 1, 1, (unsigned)block, 1, 1, 0, c->stream, args, NULL);
    if (r != CUDA_SUCCESS)
        return moec_error(d, "CUDA: kernel %s (%llu x %llu threads) does not launch: %s", name, (unsigned long long)grid,
                          (unsigned long long)block, cu_error(c, r, e, sizeof e));
    return 0;
}

int rt_cuda_sync(rt_cuda *c, moec_diag *d)
{
    CUresult r = c->cu.StreamSynchronize(c->stream);
    if (r == CUDA_SUCCESS) return 0;
    char e[256];
    return moec_error(d, "CUDA: kernel %s (or one launched before it) faulted: %s", c->last_kernel[0] ? c->last_kernel : "?",
                      cu_error(c, r, e, sizeof e));
}
