/* tests/cuda/nvrtc_compile.c -- `nvrtc_compile ARCH FILE`: compiles one CUDA C
 * file with codegen/nvrtc (the options moec uses) and prints the number of
 * kernels (.entry) in the PTX, for tests/cuda/compile.sh. Exit 0 compiled,
 * 1 not (NVRTC's log on stderr), 2 usage or unreadable file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/nvrtc.h"

/* The whole file, NUL-terminated, or NULL. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    while (s) {
        n += fread(s + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *t = realloc(s, cap *= 2);
        if (!t) free(s);
        s = t;
    }
    int bad = ferror(f);
    fclose(f);
    if (s) s[n] = 0;
    if (bad) free(s);
    return bad ? NULL : s;
}

int main(int argc, char **argv)
{
    if (argc != 3) return fprintf(stderr, "usage: nvrtc_compile ARCH FILE\n"), 2;
    char *src = read_all(argv[2]);
    if (!src) return fprintf(stderr, "nvrtc_compile: cannot read %s\n", argv[2]), 2;
    moec_diag d;
    moec_diag_init(&d, stderr, 10);
    char *ptx = NULL;
    int rc = cg_nvrtc_compile(src, argv[2], argv[1], &ptx, &d);
    if (rc == 0) {
        int entries = 0;
        for (const char *p = ptx; (p = strstr(p, ".entry ")); p++) entries++;
        char v[64];
        printf("%d kernels, %zu bytes of PTX (%s, %s)\n", entries, strlen(ptx), argv[1], cg_nvrtc_version(v, sizeof v));
    }
    free(ptx);
    free(src);
    moec_diag_free(&d);
    return rc == 0 ? 0 : 1;
}
