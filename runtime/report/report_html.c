/* runtime/report/report_html.c -- the report as one HTML file
 * (DIR/report.html) readable offline: images inline as base64 data: URIs,
 * a small style sheet in the head, every text escaped. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/report/doc.h"
#include "support/file.h"

enum { MAX_IMAGE_BYTES = 64 * 1024 * 1024 };

static void put_text(const char *s, FILE *out)
{
    for (; *s; s++) switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
}

static void put_base64(const unsigned char *p, size_t n, FILE *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        fputc(A[v >> 18 & 63], out);
        fputc(A[v >> 12 & 63], out);
        fputc(i + 1 < n ? A[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? A[v & 63] : '=', out);
    }
}

static void put_image(const rp_block *b, const char *dir, FILE *out)
{
    size_t n = strlen(dir) + strlen(b->path) + 2;
    char *path = malloc(n);
    char *data = NULL;
    size_t len = 0;
    if (path) {
        snprintf(path, n, "%s/%s", dir, b->path);
        if (moec_file_read_all(path, MAX_IMAGE_BYTES, NULL, &data, &len, NULL) != 0) data = NULL;
    }
    fputs("<figure>", out);
    if (data) {
        fputs("<img alt=\"", out);
        put_text(b->text, out);
        fputs("\" src=\"data:image/png;base64,", out);
        put_base64((const unsigned char *)data, len, out);
        fputs("\">", out);
    }
    fputs("<figcaption>", out);
    put_text(b->text, out);
    if (!data) fputs(" (image missing)", out);
    fputs("</figcaption></figure>\n", out);
    free(data);
    free(path);
}

int rp_doc_write_html(const rp_doc *doc, const char *dir, FILE *out)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>moec report</title>\n"
          "<style>\nbody { font-family: sans-serif; max-width: 75em; margin: 1em auto; padding: 0 1em; }\n"
          "table { border-collapse: collapse; margin: 0.5em 0 1.5em; }\n"
          "th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: right; }\n"
          "th:first-child, td:first-child { text-align: left; }\n"
          "tr.config { font-weight: bold; background: #eef; }\n"
          "img { max-width: 100%; }\nfigure { margin: 0.5em 0 1.5em; }\n</style>\n</head>\n<body>\n", out);
    for (int i = 0; i < doc->n; i++) {
        const rp_block *b = &doc->b[i];
        switch (b->kind) {
        case RP_HEADING:
            fprintf(out, "<h%d>", b->level);
            put_text(b->text, out);
            fprintf(out, "</h%d>\n", b->level);
            break;
        case RP_PARA:
            fputs("<p>", out);
            put_text(b->text, out);
            fputs("</p>\n", out);
            break;
        case RP_IMAGE:
            put_image(b, dir, out);
            break;
        case RP_TABLE:
            fputs("<table>\n", out);
            for (int r = 0; r < b->rows; r++) {
                fputs(r == 0 ? "<thead><tr>" : b->strong[r] ? "<tr class=\"config\">" : "<tr>", out);
                for (int c = 0; c < b->cols; c++) {
                    fputs(r == 0 ? "<th>" : "<td>", out);
                    put_text(rp_doc_cell_at(b, r, c), out);
                    fputs(r == 0 ? "</th>" : "</td>", out);
                }
                fputs(r == 0 ? "</tr></thead>\n<tbody>\n" : "</tr>\n", out);
            }
            fputs("</tbody></table>\n", out);
            break;
        }
    }
    fputs("</body>\n</html>\n", out);
    return ferror(out) ? -1 : 0;
}
