/* runtime/report/report_md.c -- the report as Markdown (DIR/report.md).
 * Text is escaped so a run name with `_`, `*` or `|` prints as itself;
 * images link to their PNG beside the file. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "runtime/report/doc.h"

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Escapes what Markdown would read as markup. An underscore inside a word
 * (eval/lm_loss) is no emphasis in CommonMark and stays as it is. */
static void put_text(const char *s, FILE *out)
{
    for (const char *p = s; *p; p++) {
        bool inner_underscore = *p == '_' && p > s && word_char(p[-1]) && word_char(p[1]);
        bool heading = *p == '#' && p == s;   /* a '#' is markup only where a line starts */
        if ((strchr("\\`*_[]<>|", *p) && !inner_underscore) || heading) fputc('\\', out);
        if (*p == '\n') fputc(' ', out);
        else fputc(*p, out);
    }
}

/* A column of numbers (every body cell starts like one, or is n/a or
 * empty) is right-aligned; any other column left-aligned. */
static bool numeric_column(const rp_block *b, int c)
{
    for (int r = 1; r < b->rows; r++) {
        const char *s = rp_doc_cell_at(b, r, c);
        if (*s && strcmp(s, "n/a") != 0 && !strchr("0123456789+-", *s)) return false;
    }
    return true;
}

int rp_doc_write_md(const rp_doc *doc, FILE *out)
{
    for (int i = 0; i < doc->n; i++) {
        const rp_block *b = &doc->b[i];
        switch (b->kind) {
        case RP_HEADING:
            fprintf(out, "%.*s ", b->level, "######");
            put_text(b->text, out);
            fputs("\n\n", out);
            break;
        case RP_PARA:
            put_text(b->text, out);
            fputs("\n\n", out);
            break;
        case RP_IMAGE:
            fputs("![", out);
            put_text(b->text, out);
            fprintf(out, "](%s)\n\n", b->path);
            break;
        case RP_TABLE:
            for (int r = 0; r < b->rows; r++) {
                fputc('|', out);
                for (int c = 0; c < b->cols; c++) {
                    const char *cell = rp_doc_cell_at(b, r, c);
                    bool bold = b->strong[r] && *cell;
                    fputs(" ", out);
                    if (bold) fputs("**", out);
                    put_text(cell, out);
                    if (bold) fputs("**", out);
                    fputs(" |", out);
                }
                fputc('\n', out);
                if (r == 0) {
                    fputc('|', out);
                    for (int c = 0; c < b->cols; c++) fputs(numeric_column(b, c) ? " ---: |" : " --- |", out);
                    fputc('\n', out);
                }
            }
            fputc('\n', out);
            break;
        }
    }
    return ferror(out) ? -1 : 0;
}
