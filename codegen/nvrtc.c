/* codegen/nvrtc.c -- NVRTC calls (codegen/nvrtc.h). The options: the
 * virtual architecture compute_XX of sm_XX, C++17, and precision kept
 * as the CPU backend's: --fmad=false (no a*b+c contracted into an FMA:
 * only the fmaf the code writes is fused), --ftz=false, --prec-div=true,
 * --prec-sqrt=true (IEEE division and square root); warning 177 (a helper
 * declared but not used by this kernel) is silenced. */
#include "config.h"

#include "codegen/nvrtc.h"

#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cg_nvrtc_version(char *buf, size_t size)
{
    int major = 0, minor = 0;
    if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) snprintf(buf, size, "NVRTC (version unknown)");
    else snprintf(buf, size, "NVRTC %d.%d", major, minor);
    return buf;
}

int cg_nvrtc_arch_ok(const char *arch)
{
    size_t n = strlen(arch);
    if (n < 5 || n > 6 || strncmp(arch, "sm_", 3)) return 0;
    for (size_t i = 3; i < n; i++)
        if (arch[i] < '0' || arch[i] > '9') return 0;
    return 1;
}

/* NVRTC's log for prog, or NULL (free it). */
static char *program_log(nvrtcProgram prog)
{
    size_t n = 0;
    if (nvrtcGetProgramLogSize(prog, &n) != NVRTC_SUCCESS || n == 0) return NULL;
    char *log = malloc(n + 1);
    if (!log) return NULL;
    if (nvrtcGetProgramLog(prog, log) != NVRTC_SUCCESS) {
        free(log);
        return NULL;
    }
    log[n] = 0;
    return log;
}

int cg_nvrtc_compile(const char *source, const char *name, const char *arch, char **ptx, moec_diag *d)
{
    *ptx = NULL;
    if (!cg_nvrtc_arch_ok(arch)) return moec_error(d, "%s: '%s' is not a GPU architecture like sm_80 or sm_90", name, arch);
    char arch_opt[64];
    snprintf(arch_opt, sizeof arch_opt, "--gpu-architecture=compute_%s", arch + 3);
    const char *opts[] = { arch_opt, "--std=c++17", "--fmad=false", "--ftz=false", "--prec-div=true",
                           "--prec-sqrt=true", "--diag-suppress=177" };
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, source, name, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return moec_error(d, "kernel %s: NVRTC cannot start: %s", name, nvrtcGetErrorString(r));
    int rc = 0;
    r = nvrtcCompileProgram(prog, (int)(sizeof opts / sizeof *opts), opts);
    if (r != NVRTC_SUCCESS) {
        char *log = program_log(prog);
        rc = moec_error(d, "kernel %s does not compile for %s (%s):\n%s", name, arch, nvrtcGetErrorString(r),
                        log ? log : "(no log)");
        free(log);
    } else {
        size_t n = 0;
        if ((r = nvrtcGetPTXSize(prog, &n)) != NVRTC_SUCCESS || !(*ptx = malloc(n + 1)) ||
            (r = nvrtcGetPTX(prog, *ptx)) != NVRTC_SUCCESS) {
            free(*ptx);
            *ptx = NULL;
            rc = moec_error(d, "kernel %s: no PTX from NVRTC for %s (%s)", name, arch,
                            r == NVRTC_SUCCESS ? "out of memory" : nvrtcGetErrorString(r));
        } else {
            (*ptx)[n] = 0;
        }
    }
    nvrtcDestroyProgram(&prog);
    return rc;
}
