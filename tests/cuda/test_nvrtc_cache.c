/* tests/cuda/test_nvrtc_cache.c -- NVRTC's PTX through the disk cache
 * (cg_nvrtc_compile_cached, codegen/cache.h) in a fresh folder: the first
 * compile of the templates stores an entry "cuda-<key>.ptx", the second is
 * a hit with the same PTX; another architecture or a changed source is a
 * miss with its own entry; a corrupted entry is warned about, recompiled
 * and replaced; a folder that cannot be written costs the cache only.
 * Cold and warm times are printed. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/cache.h"
#include "codegen/cuda_templates.h"
#include "codegen/nvrtc.h"
#include "tests/tap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Entries "cuda-*.ptx" in dir. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, "cuda-", 5) && strlen(e->d_name) == 5 + 64 + 4 && !strcmp(e->d_name + 69, ".ptx");
    if (d) closedir(d);
    return n;
}

/* Compiles through the cache in dir; the PTX (free it), *from, the seconds, and what the diag said. */
static char *compile(const char *src, const char *arch, const char *dir, cg_nvrtc_from *from, double *secs, char *said,
                     size_t said_size)
{
    FILE *f = fmemopen(said, said_size, "w");
    moec_diag d;
    moec_diag_init(&d, f, 5);
    char *ptx = NULL;
    double t0 = now();
    int rc = cg_nvrtc_compile_cached(src, "templates", arch, dir, &ptx, from, &d);
    *secs = now() - t0;
    moec_diag_free(&d);
    fclose(f);
    if (rc < 0) {
        free(ptx);
        return NULL;
    }
    return ptx;
}

int main(void)
{
    char dir[512], said[2048];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/moec-nvrtc-cache-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    char *src = cg_cuda_templates_source();
    if (!tap_ok(src && mkdtemp(dir), "the templates' source and a fresh cache folder")) return tap_done();
    cg_nvrtc_from from;
    double cold, warm, t;
    char *first = compile(src, "sm_90", dir, &from, &cold, said, sizeof said);
    tap_ok(first && from == CG_NVRTC_STORED && entries(dir) == 1, "a first compile stores one entry (cuda-<key>.ptx)");
    char *again = compile(src, "sm_90", dir, &from, &warm, said, sizeof said);
    tap_ok(again && from == CG_NVRTC_CACHED && first && !strcmp(first, again) && entries(dir) == 1,
           "a second compile hits the cache, the same PTX");
    tap_diag("the templates for sm_90: %.3f s cold, %.4f s from the cache", cold, warm);
    char *other = compile(src, "sm_80", dir, &from, &t, said, sizeof said);
    tap_ok(other && from == CG_NVRTC_STORED && entries(dir) == 2 && strstr(other, ".target sm_80"),
           "another architecture misses: its own entry");
    size_t n = strlen(src);
    char *changed = malloc(n + 32);
    if (!changed) return 1;
    snprintf(changed, n + 32, "%s\n/* changed */\n", src);
    char *ch = compile(changed, "sm_90", dir, &from, &t, said, sizeof said);
    tap_ok(ch && from == CG_NVRTC_STORED && entries(dir) == 3, "a changed source misses: its own entry");
    /* A folder of one entry, then one byte of its PTX flipped. */
    char one[600];
    snprintf(one, sizeof one, "%s/one", dir);
    char *copy = compile(src, "sm_90", one, &from, &t, said, sizeof said);
    bool flipped = false;
    DIR *d = opendir(one);
    for (struct dirent *e; copy && d && (e = readdir(d)) && !flipped;) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", one, e->d_name);
        if (strncmp(e->d_name, "cuda-", 5)) continue;
        FILE *f = fopen(path, "r+b");
        int c = f && fseek(f, 88 + 100, SEEK_SET) == 0 ? fgetc(f) : EOF;
        flipped = c != EOF && fseek(f, 88 + 100, SEEK_SET) == 0 && fputc(c ^ 0x20, f) != EOF;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    char *fixed = compile(src, "sm_90", one, &from, &t, said, sizeof said);
    tap_ok(flipped && fixed && from == CG_NVRTC_STORED && first && !strcmp(fixed, first) &&
           strstr(said, "checksum mismatch"), "a corrupted entry is warned about, recompiled and replaced");
    tap_diag("%s", said);
    free(fixed);
    fixed = compile(src, "sm_90", one, &from, &t, said, sizeof said);
    tap_ok(fixed && from == CG_NVRTC_CACHED && entries(one) == 1, "and hits again");
    char *nowhere = compile(src, "sm_90", "/proc/no-such-place/moec", &from, &t, said, sizeof said);
    tap_ok(nowhere && from == CG_NVRTC_COMPILED && first && !strcmp(nowhere, first) && strstr(said, "not cached"),
           "a folder that cannot be written: compiled, with a warning");
    free(first), free(again), free(other), free(ch), free(copy), free(fixed), free(nowhere), free(changed), free(src);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
