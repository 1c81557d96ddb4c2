/* runtime/cuda/driver.h -- the CUDA driver API, opened at run time with
 * dlopen("libcuda.so.1") and never linked, so that the same moec binary
 * runs, tests and compiles kernels on a machine without an NVIDIA GPU and
 * says so clearly when asked to use one. One device, its primary context,
 * one stream; device memory, PTX modules and kernel launches. Every failure
 * is reported to the diag with what was being done (the allocation's size,
 * the kernel's name) and returns -1. doc/kernels.md, "The CUDA runtime".
 *
 * Written against the driver API's documented signatures; what runs only
 * on a GPU (everything after a successful rt_cuda_open) has not been run on
 * one yet (doc/kernels.md says what is verified). */
#ifndef MOEC_RUNTIME_CUDA_DRIVER_H
#define MOEC_RUNTIME_CUDA_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

typedef struct rt_cuda rt_cuda;
typedef uint64_t rt_cuda_ptr;        /* a device address (CUdeviceptr) */
typedef struct rt_cuda_module rt_cuda_module;

/* The message when no driver can be loaded. */
#define RT_CUDA_NO_DRIVER "no CUDA driver (libcuda.so.1 not found): this machine has no NVIDIA GPU"

/* Opens the driver (the file named by $MOEC_CUDA_DRIVER, else
 * libcuda.so.1), initialises it and takes device `ordinal`'s primary
 * context and a stream. 0, or -1 after reporting (no driver: the message
 * RT_CUDA_NO_DRIVER; a driver without devices; an old driver). */
int rt_cuda_open(rt_cuda **out, int ordinal, moec_diag *d);
void rt_cuda_close(rt_cuda *c);

/* "sm_90": the device's compute capability; its name ("NVIDIA H100 80GB HBM3"). */
const char *rt_cuda_arch(const rt_cuda *c);
const char *rt_cuda_name(const rt_cuda *c);
/* The CUDA version the driver supports, as 1000 major + 10 minor (12080):
 * PTX from a newer NVRTC than that does not load. 0 when unknown. */
int rt_cuda_driver_version(const rt_cuda *c);

/* Device memory: bytes > 0; an out-of-memory names the size. */
int rt_cuda_alloc(rt_cuda *c, size_t bytes, rt_cuda_ptr *p, moec_diag *d);
void rt_cuda_free(rt_cuda *c, rt_cuda_ptr p);
/* Copies between host and device, in order on the stream (after every
 * kernel launched before), and waits for the copy. */
int rt_cuda_upload(rt_cuda *c, rt_cuda_ptr dst, const void *src, size_t bytes, moec_diag *d);
int rt_cuda_download(rt_cuda *c, void *dst, rt_cuda_ptr src, size_t bytes, moec_diag *d);
/* Zeroes device bytes, copies device to device: queued on the stream. */
int rt_cuda_zero(rt_cuda *c, rt_cuda_ptr p, size_t bytes, moec_diag *d);
int rt_cuda_copy(rt_cuda *c, rt_cuda_ptr dst, rt_cuda_ptr src, size_t bytes, moec_diag *d);
/* The stream (a CUstream), for a library that shares it (cuBLAS). */
void *rt_cuda_stream(const rt_cuda *c);

/* A module from PTX (the driver compiles it for the device); `what` names
 * it in messages. */
int rt_cuda_module_load(rt_cuda *c, const char *ptx, const char *what, rt_cuda_module **m, moec_diag *d);
void rt_cuda_module_unload(rt_cuda *c, rt_cuda_module *m);

/* Launches kernel `name` of m on the stream: grid x block threads, args[i]
 * pointing at each parameter's value (device pointers as rt_cuda_ptr,
 * scalars as long long). Asynchronous: a fault shows at the next
 * rt_cuda_sync, which names the last kernel launched. */
int rt_cuda_launch(rt_cuda *c, rt_cuda_module *m, const char *name, uint64_t grid, uint64_t block, void **args,
                   moec_diag *d);
/* Waits for the stream; a fault names the kernel that was launched last. */
int rt_cuda_sync(rt_cuda *c, moec_diag *d);

#endif
