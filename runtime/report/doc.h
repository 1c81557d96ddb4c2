/* runtime/report/doc.h -- the report as a list of blocks (headings,
 * paragraphs, tables, images), built once by runtime/report/build.c and
 * printed as Markdown (report_md.c) and as one HTML file (report_html.c), so
 * the two always hold the same content. Text is plain: each printer escapes
 * it for its format. Building never fails half-way: an allocation failure
 * sets `failed`, later calls do nothing, and the caller checks it at the end. */
#ifndef MOEC_RUNTIME_REPORT_DOC_H
#define MOEC_RUNTIME_REPORT_DOC_H

#include <stdbool.h>
#include <stdio.h>

typedef enum rp_block_kind { RP_HEADING, RP_PARA, RP_TABLE, RP_IMAGE } rp_block_kind;

typedef struct rp_block {
    rp_block_kind kind;
    int level;            /* heading: 1, 2, 3 */
    char *text;           /* heading, paragraph; image: its caption */
    char *path;           /* image: the PNG, relative to the report's directory */
    int cols;             /* table: columns */
    int n_cells;          /* table: cells so far, row by row; row 0 is the header */
    int cap_cells;
    char **cells;
    bool *strong;         /* table: [rows] a summary row (a configuration's mean), printed bold */
    int rows;             /* table: rows including the header */
} rp_block;

typedef struct rp_doc {
    rp_block *b;
    int n, cap;
    bool failed;          /* out of memory somewhere: the document is incomplete */
} rp_doc;

void rp_doc_heading(rp_doc *doc, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rp_doc_para(rp_doc *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_doc_image(rp_doc *doc, const char *path, const char *caption);
/* A table of `cols` columns; its header cells follow with rp_doc_cell. */
void rp_doc_table(rp_doc *doc, int cols);
/* Starts the next row of the last table; `strong` marks a summary row. */
void rp_doc_row(rp_doc *doc, bool strong);
void rp_doc_cell(rp_doc *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_doc_free(rp_doc *doc);

/* The cell (row r, column c) of a table block, "" past the cells given. */
const char *rp_doc_cell_at(const rp_block *b, int r, int c);

/* The printers; each returns 0, or -1 when writing failed (errno set). */
int rp_doc_write_md(const rp_doc *doc, FILE *out);
/* Images are read from dir/PATH and inlined as data: URIs; a missing one is
 * left out with its caption. */
int rp_doc_write_html(const rp_doc *doc, const char *dir, FILE *out);

#endif
