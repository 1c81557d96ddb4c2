/* codegen/nvrtc.c -- NVRTC calls (codegen/nvrtc.h). The options: the
 * virtual architecture compute_XX of sm_XX, C++17, and precision kept
 * as the CPU backend's: --fmad=false (no a*b+c contracted into an FMA:
 * only the fmaf the code writes is fused), --ftz=false, --prec-div=true,
 * --prec-sqrt=true (IEEE division and square root); warning 177 (a helper
 * declared but not used by this kernel) is silenced. */
#include "config.h"

#include "codegen/nvrtc.h"

#include <nvrtc.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cache.h"

enum { N_OPTS = 7 };

/* The options for arch: opts[0] points into arch_opt (64 bytes). */
static void options(const char *arch, char arch_opt[64], const char *opts[N_OPTS])
{
    snprintf(arch_opt, 64, "--gpu-architecture=compute_%s", arch + 3);
    const char *fixed[N_OPTS] = { arch_opt, "--std=c++17", "--fmad=false", "--ftz=false", "--prec-div=true",
                                  "--prec-sqrt=true", "--diag-suppress=177" };
    memcpy(opts, fixed, sizeof fixed);
}

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
    const char *opts[N_OPTS];
    options(arch, arch_opt, opts);
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, source, name, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return moec_error(d, "kernel %s: NVRTC cannot start: %s", name, nvrtcGetErrorString(r));
    int rc = 0;
    r = nvrtcCompileProgram(prog, N_OPTS, opts);
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

/* The cache key: SHA-256 over a tag, NVRTC's version, the architecture,
 * every option and the source, each NUL-terminated (so that no two
 * different lists hash the same bytes). */
static int cache_key(const char *source, const char *arch, uint8_t key[CG_KEY_BYTES])
{
    char version[64], arch_opt[64];
    const char *opts[N_OPTS];
    cg_nvrtc_version(version, sizeof version);
    options(arch, arch_opt, opts);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    const char *parts[3] = { "moec nvrtc ptx 1", version, arch };
    for (int i = 0; ok && i < 3; i++) ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1) == 1;
    for (int i = 0; ok && i < N_OPTS; i++) ok = EVP_DigestUpdate(c, opts[i], strlen(opts[i]) + 1) == 1;
    ok = ok && EVP_DigestUpdate(c, source, strlen(source) + 1) == 1 && EVP_DigestFinal_ex(c, key, &n) == 1 &&
         n == CG_KEY_BYTES;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int cg_nvrtc_compile_cached(const char *source, const char *name, const char *arch, const char *cache_dir, char **ptx,
                            cg_nvrtc_from *from, moec_diag *d)
{
    char dir[4096], why[512] = "";
    uint8_t key[CG_KEY_BYTES];
    *ptx = NULL;
    *from = CG_NVRTC_COMPILED;
    bool cached = cg_nvrtc_arch_ok(arch) && cache_key(source, arch, key) == 0 &&
                  (cache_dir ? snprintf(dir, sizeof dir, "%s", cache_dir) < (int)sizeof dir
                             : cg_cache_default_dir(dir, sizeof dir) == 0);
    if (cached) {
        void *data = NULL;
        size_t len = 0;
        cg_cache_status s = cg_cache_load_of(dir, "cuda", key, &data, &len, why, sizeof why);
        if (s == CG_CACHE_HIT && len > 0 && ((char *)data)[len - 1] == '\0') {
            *ptx = data;
            *from = CG_NVRTC_CACHED;
            return 0;
        }
        if (s == CG_CACHE_HIT) free(data);   /* not a PTX string: recompiled and replaced */
        if (s == CG_CACHE_BAD) moec_warning_at(d, (moec_loc){0}, "kernel %s: the cached PTX is not used: %s", name, why);
    }
    if (cg_nvrtc_compile(source, name, arch, ptx, d) < 0) return -1;
    if (cached) {
        if (cg_cache_store_of(dir, "cuda", key, *ptx, strlen(*ptx) + 1, why, sizeof why) == 0) *from = CG_NVRTC_STORED;
        else moec_warning_at(d, (moec_loc){0}, "kernel %s: the PTX is not cached: %s", name, why);
    }
    return 0;
}
