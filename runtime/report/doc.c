/* runtime/report/doc.c -- building the report's block list (doc.h). */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/doc.h"

static char *vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    return s;
}

static rp_block *add(rp_doc *doc, rp_block_kind kind)
{
    if (doc->failed) return NULL;
    if (doc->n == doc->cap) {
        int c = doc->cap ? doc->cap * 2 : 32;
        rp_block *grown = realloc(doc->b, (size_t)c * sizeof *grown);
        if (!grown) {
            doc->failed = true;
            return NULL;
        }
        doc->b = grown;
        doc->cap = c;
    }
    rp_block *b = &doc->b[doc->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

void rp_doc_heading(rp_doc *doc, int level, const char *fmt, ...)
{
    rp_block *b = add(doc, RP_HEADING);
    if (!b) return;
    b->level = level;
    va_list ap;
    va_start(ap, fmt);
    if (!(b->text = vformat(fmt, ap))) doc->failed = true;
    va_end(ap);
}

void rp_doc_para(rp_doc *doc, const char *fmt, ...)
{
    rp_block *b = add(doc, RP_PARA);
    if (!b) return;
    va_list ap;
    va_start(ap, fmt);
    if (!(b->text = vformat(fmt, ap))) doc->failed = true;
    va_end(ap);
}

void rp_doc_image(rp_doc *doc, const char *path, const char *caption)
{
    rp_block *b = add(doc, RP_IMAGE);
    if (!b) return;
    b->path = strdup(path);
    b->text = strdup(caption);
    if (!b->path || !b->text) doc->failed = true;
}

void rp_doc_table(rp_doc *doc, int cols)
{
    rp_block *b = add(doc, RP_TABLE);
    if (!b) return;
    b->cols = cols;
    rp_doc_row(doc, false);
}

static rp_block *last_table(rp_doc *doc)
{
    if (doc->failed || doc->n == 0 || doc->b[doc->n - 1].kind != RP_TABLE) return NULL;
    return &doc->b[doc->n - 1];
}

void rp_doc_row(rp_doc *doc, bool strong)
{
    rp_block *b = last_table(doc);
    if (!b) return;
    /* pad the row before with empty cells */
    while (b->rows > 0 && b->n_cells < b->rows * b->cols) rp_doc_cell(doc, "%s", "");
    if (doc->failed) return;
    bool *grown = realloc(b->strong, (size_t)(b->rows + 1) * sizeof *grown);
    if (!grown) {
        doc->failed = true;
        return;
    }
    b->strong = grown;
    b->strong[b->rows++] = strong;
}

void rp_doc_cell(rp_doc *doc, const char *fmt, ...)
{
    rp_block *b = last_table(doc);
    if (!b || b->n_cells >= b->rows * b->cols) return;   /* a cell past the row's columns is dropped */
    if (b->n_cells == b->cap_cells) {
        int c = b->cap_cells ? b->cap_cells * 2 : 64;
        char **grown = realloc(b->cells, (size_t)c * sizeof *grown);
        if (!grown) {
            doc->failed = true;
            return;
        }
        b->cells = grown;
        b->cap_cells = c;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    if (!s) {
        doc->failed = true;
        return;
    }
    b->cells[b->n_cells++] = s;
}

const char *rp_doc_cell_at(const rp_block *b, int r, int c)
{
    int i = r * b->cols + c;
    return r >= 0 && c >= 0 && c < b->cols && i < b->n_cells ? b->cells[i] : "";
}

void rp_doc_free(rp_doc *doc)
{
    for (int i = 0; i < doc->n; i++) {
        rp_block *b = &doc->b[i];
        free(b->text);
        free(b->path);
        for (int k = 0; k < b->n_cells; k++) free(b->cells[k]);
        free(b->cells);
        free(b->strong);
    }
    free(doc->b);
    memset(doc, 0, sizeof *doc);
}
