/* support/diag.c -- the error sink (diag.h): counts and limits, the lead of
 * each message, the source line with a caret, the collecting mode; and model
 * files loaded whole (support/file.h reads them). */
#include "support/diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/file.h"

void moec_diag_init(moec_diag *d, FILE *out, int max_errors)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    d->max_errors = max_errors > 0 ? max_errors : MOEC_MAX_ERRORS_DEFAULT;
}

int moec_diag_collect(moec_diag *d, int max_errors)
{
    moec_diag_init(d, NULL, max_errors);
    d->out = open_memstream(&d->mem, &d->mem_len);
    d->collecting = d->out != NULL;
    return d->out ? 0 : -1;
}

const char *moec_diag_text(moec_diag *d)
{
    if (!d->collecting) return "";
    fflush(d->out);
    return d->mem ? d->mem : "";
}

void moec_diag_free(moec_diag *d)
{
    if (!d->collecting) return;
    fclose(d->out);
    free(d->mem);
    d->out = NULL;
    d->mem = NULL;
    d->mem_len = 0;
    d->collecting = false;
}

int moec_diag_reset(moec_diag *d)
{
    d->n_errors = d->n_more = d->n_warnings = 0;
    d->stopped = d->announced = false;
    if (!d->collecting) return 0;
    moec_diag_free(d);
    d->out = open_memstream(&d->mem, &d->mem_len);
    d->collecting = d->out != NULL;
    return d->out ? 0 : -1;
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

int moec_source_load(moec_source *src, const char *path, moec_diag *d)
{
    memset(src, 0, sizeof *src);
    char *buf;
    size_t len;
    if (moec_file_read_all(path, MOEC_MAX_SOURCE_BYTES, "give a model file (.moe)", &buf, &len, d) < 0) return -1;
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

typedef enum severity { SEV_ERROR, SEV_WARNING, SEV_NOTE } severity;

/* Prints one message: its lead (a place, or the sink's lead), the node, the
 * text, and for a place the source line with a caret. */
static void print(moec_diag *d, severity sev, moec_loc loc, int node, const char *fmt, va_list ap)
{
    static const char *const kind[] = {"error", "warning", "note"};
    bool placed = d->src && loc.line > 0;
    if (!d->out) return;   /* a collecting sink whose reset ran out of memory */
    if (placed) fprintf(d->out, "%s:%d:%d: %s: ", d->src->path, loc.line, loc.col, kind[sev]);
    else if (sev == SEV_ERROR && d->prefix) fputs(d->prefix, d->out);
    else fprintf(d->out, "moec: %s: ", kind[sev]);
    if (node >= 0) fprintf(d->out, "%%%d ", node);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    if (placed) show_line(d, loc);
}

/* One error: printed within the limit, counted past it. Reaching the limit
 * stops the sink; `announce` says so at once (the front end's way). */
static int report_error(moec_diag *d, moec_loc loc, int node, bool announce, const char *fmt, va_list ap)
{
    if (!d || d->announced) return -1;
    if (d->stopped) {
        d->n_more++;
        return -1;
    }
    print(d, SEV_ERROR, loc, node, fmt, ap);
    if (++d->n_errors < d->max_errors) return -1;
    d->stopped = true;
    if (announce) {
        d->announced = true;
        if (d->out)
            fprintf(d->out, "%s: error: too many errors (limit %d), stopping here\n",
                    d->src ? d->src->path : "moec", d->max_errors);
    }
    return -1;
}

int moec_error_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_error(d, loc, -1, true, fmt, ap);
    va_end(ap);
    return -1;
}

int moec_error(moec_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_error(d, (moec_loc){0}, -1, false, fmt, ap);
    va_end(ap);
    return -1;
}

int moec_error_node(moec_diag *d, moec_loc loc, int node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_error(d, loc, node, false, fmt, ap);
    va_end(ap);
    return -1;
}

int moec_verror(moec_diag *d, moec_loc loc, int node, const char *fmt, va_list ap)
{
    return report_error(d, loc, node, false, fmt, ap);
}

void moec_warning_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    if (!d || d->stopped || d->no_warnings) return;
    va_list ap;
    va_start(ap, fmt);
    print(d, SEV_WARNING, loc, -1, fmt, ap);
    va_end(ap);
    d->n_warnings++;
}

void moec_note_at(moec_diag *d, moec_loc loc, const char *fmt, ...)
{
    if (!d || d->stopped) return;
    va_list ap;
    va_start(ap, fmt);
    print(d, SEV_NOTE, loc, -1, fmt, ap);
    va_end(ap);
}

void moec_diag_finish(moec_diag *d)
{
    if (!d || !d->out || d->n_more == 0) return;
    fprintf(d->out, "%s... and %d more error%s\n", d->prefix ? d->prefix : "moec: error: ", d->n_more,
            d->n_more == 1 ? "" : "s");
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

