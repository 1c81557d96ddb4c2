/* tests/cuda/shim_lib.h -- CUDA C run on the CPU: a translation unit of
 * printed kernels or templates behind tests/cuda/shim.h, compiled as host
 * C++ into a shared library at test time and loaded with dlopen; and, per
 * kernel, a wrapper taking its arguments as cuLaunchKernel does (args[i]
 * points at parameter i's value), generated from the kernel's own
 * signature, so that any kernel runs through moec_shim_launch. Shared by
 * tests/cuda/emu_device.c and tests/cuda/test_templates.c; test-only. */
#ifndef MOEC_TESTS_CUDA_SHIM_LIB_H
#define MOEC_TESTS_CUDA_SHIM_LIB_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The shim's launcher (tests/cuda/shim.h): fn(args) on grid blocks of block threads. */
typedef int shim_launch_fn(void (*fn)(void **), void **args, unsigned grid, unsigned block);

/* Writes `extern "C" void WRAPPER(void **a)` calling kernel `symbol` of
 * `source` with *(T *)a[i] for its parameter i of type T (parsed from its
 * `MOEC_KERNEL symbol(...)` line). false when the kernel is not there. */
static inline bool shim_write_wrapper(FILE *f, const char *source, const char *symbol, const char *wrapper)
{
    char head[256];
    snprintf(head, sizeof head, "MOEC_KERNEL %s(", symbol);
    const char *p = strstr(source, head);
    if (!p) return false;
    p += strlen(head);
    const char *end = strchr(p, ')');
    if (!end) return false;
    fprintf(f, "extern \"C\" void %s(void **a)\n{\n    %s(", wrapper, symbol);
    for (int i = 0; p < end; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end, *name = stop;
        while (name > p && (name[-1] == ' ' || name[-1] == '\n')) name--;
        while (name > p && name[-1] != ' ' && name[-1] != '*') name--;   /* the parameter's name starts here */
        const char *type = p;
        while (type < name && (*type == ' ' || *type == '\n')) type++;
        fprintf(f, "%s*(%.*s *)a[%d]", i ? ", " : "", (int)(name - type), type, i);
        p = comma ? comma + 1 : end;
    }
    fputs(");\n}\n", f);
    return true;
}

/* Compiles `text` (after `#include "shim_h"`) with `cxx` into a shared
 * library in a fresh folder under $TMPDIR and loads it; the files are
 * removed once loaded. NULL on failure, with why in err. */
static inline void *shim_build(const char *cxx, const char *shim_h, const char *text, const char *opt, char *err,
                               size_t err_size)
{
    const char *tmpdir = getenv("TMPDIR");
    char dir[512], src[600], so[600], cmd[2048];
    snprintf(dir, sizeof dir, "%s/moec-shim-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) return snprintf(err, err_size, "no temporary folder"), NULL;
    snprintf(src, sizeof src, "%s/code.cpp", dir);
    snprintf(so, sizeof so, "%s/code.so", dir);
    FILE *f = fopen(src, "w");
    bool written = f && fprintf(f, "#include \"%s\"\n%s", shim_h, text) >= 0;
    if (f && fclose(f) != 0) written = false;
    void *lib = NULL;
    if (!written) {
        snprintf(err, err_size, "cannot write %s", src);
    } else {
        snprintf(cmd, sizeof cmd, "%s -std=c++17 %s -ffp-contract=off -fno-fast-math -fPIC -shared -w -o %s %s -lpthread -lm",
                 cxx, opt, so, src);
        if (system(cmd) != 0) snprintf(err, err_size, "`%s` failed", cmd);
        else if (!(lib = dlopen(so, RTLD_NOW | RTLD_LOCAL))) snprintf(err, err_size, "dlopen: %s", dlerror());
    }
    unlink(src);
    unlink(so);
    rmdir(dir);
    return lib;
}

/* Whether the C++ compiler runs. */
static inline bool shim_have_cxx(const char *cxx)
{
    char probe[512];
    snprintf(probe, sizeof probe, "%s --version >/dev/null 2>&1", cxx);
    return system(probe) == 0;
}

#endif
