/* support/file.c -- checked opening and whole-file reading (file.h). Reads
 * with stdio in growing chunks, sized from fstat for a regular file, and
 * stops one byte past the limit so a bigger file is seen to be bigger. */
#include "support/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { FIRST_CHUNK = 1 << 16, MIB = 1 << 20 };

FILE *moec_file_open(const char *path, const char *mode, const char *hint, moec_diag *d)
{
    FILE *f = fopen(path, mode);
    if (!f) moec_error(d, "cannot open '%s': %s%s%s", path, strerror(errno), hint ? "; " : "", hint ? hint : "");
    return f;
}

/* "larger than 64 MiB" (or N bytes) with the hint. */
static int too_big(const char *name, size_t max_bytes, const char *hint, moec_diag *d)
{
    const char *h = hint ? hint : "", *sep = hint ? "; " : "";
    if (max_bytes % MIB == 0)
        return moec_error(d, "cannot load '%s': larger than %zu MiB%s%s", name, max_bytes / MIB, sep, h);
    return moec_error(d, "cannot load '%s': larger than %zu bytes%s%s", name, max_bytes, sep, h);
}

/* Doubles *cap (keeping room for the NUL); NULL when out of memory. */
static char *grow(char *buf, size_t *cap)
{
    if (*cap > (SIZE_MAX - 1) / 2) return free(buf), NULL;
    char *bigger = realloc(buf, *cap * 2 + 1);
    if (!bigger) return free(buf), NULL;
    *cap *= 2;
    return bigger;
}

int moec_file_read_stream(FILE *f, const char *name, size_t max_bytes, const char *hint, char **buf,
                          size_t *len, moec_diag *d)
{
    *buf = NULL;
    *len = 0;
    size_t cap = FIRST_CHUNK, n = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        return moec_error(d, "'%s' is a directory%s%s", name, hint ? "; " : "", hint ? hint : "");
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0) {
        if ((uintmax_t)st.st_size > max_bytes) return too_big(name, max_bytes, hint, d);
        cap = (size_t)st.st_size + 1;   /* one more, so the end is seen without growing */
    }
    char *p = malloc(cap + 1);
    int e = 0;
    while (p) {
        if (n == cap && (n > max_bytes || !(p = grow(p, &cap)))) break;
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            e = ferror(f) ? errno : 0;
            break;
        }
    }
    if (!p) return moec_error(d, "cannot load '%s': out of memory while reading", name);
    if (e || ferror(f)) {
        free(p);
        return moec_error(d, "cannot read '%s': %s", name, strerror(e ? e : EIO));
    }
    if (n > max_bytes) {
        free(p);
        return too_big(name, max_bytes, hint, d);
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

int moec_file_read_all(const char *path, size_t max_bytes, const char *hint, char **buf, size_t *len,
                       moec_diag *d)
{
    *buf = NULL;
    *len = 0;
    FILE *f = moec_file_open(path, "rb", hint, d);
    if (!f) return -1;
    int rc = moec_file_read_stream(f, path, max_bytes, hint, buf, len, d);
    fclose(f);
    return rc;
}
