/* support/diag.c -- loads model files and prints diagnostics with a caret. */
#include "support/diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void moec_diag_init(moec_diag *d, FILE *out, int max_errors)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    d->max_errors = max_errors > 0 ? max_errors : MOEC_MAX_ERRORS_DEFAULT;
}

/* Records where each line starts, so a location can show its line. */
static int index_lines(moec_source *src)
{
    size_t n = 1;
    for (size_t i = 0; i < src->len; i++)
        if (src->text[i] == '\n') n++;
    src->line_start = malloc(n * sizeof *src->line_start);
    if (!src->line_start) return -1;
    src->n_lines = 0;
    src->line_start[src->n_lines++] = 0;
    for (size_t i = 0; i < src->len; i++)
        if (src->text[i] == '\n') src->line_start[src->n_lines++] = i + 1;
    return 0;
}

int moec_source_from_memory(moec_source *src, const char *name, const char *text, size_t len, moec_diag *d)
{
    memset(src, 0, sizeof *src);
    src->path = strdup(name);
    src->text = malloc(len + 1);
    if (!src->path || !src->text) goto oom;
    memcpy(src->text, text, len);
    src->text[len] = '\0';
    src->len = len;
    if (index_lines(src) < 0) goto oom;
    return 0;
oom:
    moec_error(d, "%s: out of memory", name);
    moec_source_free(src);
    return -1;
}

/* Reads all of f, at most MOEC_MAX_SOURCE_BYTES + 1 bytes (so a bigger file is
 * seen to be bigger), into a NUL-terminated buffer. NULL when out of memory. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap > MOEC_MAX_SOURCE_BYTES) break;
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

int moec_source_load(moec_source *src, const char *path, moec_diag *d)
{
    memset(src, 0, sizeof *src);
    struct stat st;
    if (stat(path, &st) != 0) {
        moec_error(d, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        moec_error(d, "'%s' is a directory; give a model file (.moe)", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        moec_error(d, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t len;
    char *buf = read_all(f, &len);
    int read_error = ferror(f);
    fclose(f);
    const char *why = !buf ? "out of memory while reading" : read_error ? "read error" : NULL;
    if (!why && len > MOEC_MAX_SOURCE_BYTES) why = "larger than 64 MiB (MOEC_MAX_SOURCE_BYTES); a model file is small text";
    if (why) {
        free(buf);
        moec_error(d, "cannot load '%s': %s", path, why);
        return -1;
    }
    src->text = buf;
    src->len = len;
    src->path = strdup(path);
    if (!src->path || index_lines(src) < 0) {
        moec_source_free(src);
        moec_error(d, "'%s': out of memory", path);
        return -1;
    }
    return 0;
}

void moec_source_free(moec_source *src)
{
    free(src->path);
    free(src->text);
    free(src->line_start);
    memset(src, 0, sizeof *src);
}

/* Prints the line of `loc` and a caret under its column. Long lines are cut
 * to a window around the caret; bytes that are not printable show as '?'. */
static void show_line(moec_diag *d, moec_loc loc)
{
    const moec_source *s = d->src;
    if (!s || loc.line < 1 || (size_t)loc.line > s->n_lines) return;
    size_t start = s->line_start[loc.line - 1];
    size_t end = start;
    while (end < s->len && s->text[end] != '\n') end++;
    if (end > start && s->text[end - 1] == '\r') end--;
    size_t caret = start + (loc.col > 0 ? (size_t)loc.col - 1 : 0);
    if (caret > end) caret = end;
    size_t from = start, to = end;
    if (to - from > MOEC_MAX_SHOWN_LINE) {
        from = caret > start + MOEC_MAX_SHOWN_LINE / 2 ? caret - MOEC_MAX_SHOWN_LINE / 2 : start;
        to = from + MOEC_MAX_SHOWN_LINE < end ? from + MOEC_MAX_SHOWN_LINE : end;
    }
    fputs("    ", d->out);
    if (from > start) fputs("...", d->out);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)s->text[i];
        fputc(c == '\t' || (c >= 0x20 && c < 0x7f) || c >= 0x80 ? c : '?', d->out);
    }
    if (to < end) fputs("...", d->out);
    fputs("\n    ", d->out);
    if (from > start) fputs("   ", d->out);
    for (size_t i = from; i < caret; i++) {
        unsigned char c = (unsigned char)s->text[i];
        if (c == '\t') fputc('\t', d->out);
        else if ((c & 0xc0) != 0x80) fputc(' ', d->out);   /* one column per UTF-8 character */
    }
    fputs("^\n", d->out);
}

static void vreport(moec_diag *d, moec_loc loc, const char *kind, const char *fmt, va_list ap)
{
    if (d->src && loc.line > 0)
        fprintf(d->out, "%s:%d:%d: %s: ", d->src->path, loc.line, loc.col, kind);
    else
        fprintf(d->out, "moec: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    if (loc.line > 0) show_line(d, loc);
}

void moec_error_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    if (d->stopped) return;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, loc, "error", fmt, ap);
    va_end(ap);
    if (++d->n_errors >= d->max_errors) {
        d->stopped = true;
        fprintf(d->out, "%s: error: too many errors (limit %d), stopping here\n",
                d->src ? d->src->path : "moec", d->max_errors);
    }
}

void moec_warning_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    if (d->stopped || d->no_warnings) return;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, loc, "warning", fmt, ap);
    va_end(ap);
    d->n_warnings++;
}

void moec_note_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    if (d->stopped) return;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, loc, "note", fmt, ap);
    va_end(ap);
}

void moec_error(moec_diag *d, const char *fmt, ...)
{
    if (d->stopped) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("moec: error: ", d->out);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
    if (++d->n_errors >= d->max_errors) d->stopped = true;
}

int moec_edit_distance(const char *a, const char *b)
{
    enum { CAP = 64 };
    size_t n = strnlen(a, CAP), m = strnlen(b, CAP);
    int row[CAP + 1];
    for (size_t j = 0; j <= m; j++) row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

