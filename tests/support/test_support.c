/* tests/support/test_support.c -- the error sink and checked file reading
 * (support/diag.h, support/file.h): the lead of each kind of message (a
 * model-file place with its caret, no place, a custom lead, a graph node),
 * the limit (announced by a front-end error, counted and summed up
 * otherwise), warnings and notes, a NULL sink, reset; whole files read with
 * their limit, and each failure naming the path, the reason and the hint. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/file.h"
#include "support/pages.h"
#include "tests/sink.h"
#include "tests/tap.h"

/* A collecting sink whose places refer to a two-line model file. */
static void test_places(void)
{
    moec_diag *d = sink();
    moec_source src;
    const char *text = "param d = 4\nmodel m { x = y }\n";
    tap_ok(moec_source_from_memory(&src, "m.moe", text, strlen(text), d) == 0, "a source from memory");
    d->src = &src;
    tap_ok(moec_error_at(d, (moec_loc){2, 15}, "unknown name '%s'", "y") == -1, "an error returns -1");
    tap_ok(!strcmp(moec_diag_text(d), "m.moe:2:15: error: unknown name 'y'\n    model m { x = y }\n                  ^\n"),
           "a place: file:line:col, the line and a caret under the column");
    sink();
    moec_warning_at(d, (moec_loc){1, 7}, "unused");
    moec_note_at(d, (moec_loc){0, 0}, "declared here");
    tap_ok(!strcmp(sink_text(d), "m.moe:1:7: warning: unused |     param d = 4 |           ^ | moec: note: declared here") &&
               d->n_warnings == 1 && d->n_errors == 0,
           "a warning at a place, a note without one: %s", sink_text(d));
    sink();
    moec_error_node(d, (moec_loc){0}, 12, "add: shapes %s and %s do not broadcast", "[2]", "[3]");
    tap_ok(!strcmp(sink_text(d), "moec: error: %12 add: shapes [2] and [3] do not broadcast"),
           "a graph node: the message starts with %%N: %s", sink_text(d));
    sink();
    moec_error_node(d, (moec_loc){1, 1}, 3, "from here");
    tap_ok(!strncmp(sink_text(d), "m.moe:1:1: error: %3 from here |     param d = 4", 46),
           "a graph node made from a model-file place shows both: %s", sink_text(d));
    d->src = NULL;
    moec_source_free(&src);
}

static void test_leads(void)
{
    moec_diag *d = sink();
    moec_error(d, "cannot open '%s'", "x");
    d->prefix = "moec data: ";
    moec_error(d, "no domains");
    moec_warning_at(d, (moec_loc){0}, "a warning keeps its lead");
    tap_ok(!strcmp(sink_text(d), "moec: error: cannot open 'x' | moec data: no domains | moec: warning: a warning keeps its lead"),
           "no place: 'moec: error: ', or the owner's lead for errors: %s", sink_text(d));
    d->prefix = NULL;
    sink();
    d->no_warnings = true;
    moec_warning_at(d, (moec_loc){0}, "hidden");
    tap_ok(!*moec_diag_text(d) && d->n_warnings == 0, "no_warnings drops warnings");
    d->no_warnings = false;
    tap_ok(moec_error(NULL, "nobody listens") == -1 && moec_diag_errors(NULL) == 0 && !moec_diag_stop(NULL),
           "a NULL sink takes reports and prints nothing");
}

/* Placeless errors past the limit are counted and summed up at the end. */
static void test_limit_counted(void)
{
    moec_diag *d = sink();
    d->max_errors = 3;
    d->prefix = "moec: ";
    for (int i = 0; i < 10; i++) moec_error(d, "problem %d", i);
    moec_warning_at(d, (moec_loc){0}, "after the stop");
    moec_diag_finish(d);
    tap_ok(!strcmp(sink_text(d), "moec: problem 0 | moec: problem 1 | moec: problem 2 | moec: ... and 7 more errors"),
           "3 shown, the rest counted: %s", sink_text(d));
    tap_ok(d->n_errors == 3 && d->n_more == 7 && moec_diag_errors(d) == 10 && moec_diag_stop(d),
           "counts: 3 printed, 7 more, stopped");
    sink();
    tap_ok(d->n_errors == 0 && !d->stopped && d->max_errors == 3 && !strcmp(d->prefix, "moec: ") && !*moec_diag_text(d),
           "reset forgets counts and text, keeps the limit and the lead");
    moec_error(d, "one");
    moec_diag_finish(d);
    tap_ok(!strcmp(sink_text(d), "moec: one"), "finish says nothing when nothing was dropped");
    d->prefix = NULL;
    d->max_errors = MOEC_MAX_ERRORS_DEFAULT;
}

/* A front-end error at the limit says so at once; nothing is counted after. */
static void test_limit_announced(void)
{
    moec_diag *d = sink();
    d->max_errors = 2;
    for (int i = 0; i < 5; i++) moec_error_at(d, (moec_loc){0}, "bad %d", i);
    moec_diag_finish(d);
    tap_ok(!strcmp(sink_text(d), "moec: error: bad 0 | moec: error: bad 1 | moec: error: too many errors (limit 2), stopping here"),
           "the stop is announced once, later errors dropped: %s", sink_text(d));
    tap_ok(d->n_errors == 2 && d->n_more == 0 && d->announced && moec_diag_stop(d), "counts: 2, stopped, announced");
    d->max_errors = MOEC_MAX_ERRORS_DEFAULT;
}

/* A fresh file under $TMPDIR holding `text`. */
static const char *temp_file(char *buf, size_t n, const char *name, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/moec-support-%d-%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
    FILE *f = fopen(buf, "wb");
    if (f) fputs(text, f), fclose(f);
    return buf;
}

static void test_files(void)
{
    char p[512], q[512];
    char *buf = NULL;
    size_t len = 0;
    moec_diag *d = sink();
    temp_file(p, sizeof p, "ok.txt", "two\nlines\n");
    tap_ok(moec_file_read_all(p, 64, NULL, &buf, &len, d) == 0 && len == 10 && !strcmp(buf, "two\nlines\n"),
           "a file read whole, NUL-terminated");
    free(buf);
    tap_ok(moec_file_read_all(p, 10, NULL, &buf, &len, d) == 0 && len == 10, "exactly max_bytes is allowed");
    free(buf);
    tap_ok(moec_file_read_all(p, 9, "give a small file", &buf, &len, d) == -1 && !buf,
           "one byte over max_bytes is refused");
    char want[700];
    snprintf(want, sizeof want, "moec: error: cannot load '%s': larger than 9 bytes; give a small file", p);
    tap_ok(!strcmp(sink_text(d), want), "naming the path, the limit and the hint: %s", sink_text(d));
    unlink(p);
    FILE *big = fopen(p, "wb");
    for (int i = 0; big && i <= 1 << 20; i++) fputc('x', big);
    if (big) fclose(big);
    d = sink();
    tap_ok(moec_file_read_all(p, 1 << 20, NULL, &buf, &len, d) == -1 && strstr(sink_text(d), "larger than 1 MiB"),
           "a limit of whole MiB is said in MiB: %s", sink_text(d));
    unlink(p);
    d = sink();
    tap_ok(moec_file_read_all(p, 64, "make it first", &buf, &len, d) == -1, "a missing file is refused");
    snprintf(want, sizeof want, "moec: error: cannot open '%s': %s; make it first", p, strerror(ENOENT));
    tap_ok(!strcmp(sink_text(d), want), "naming the path, strerror and the hint: %s", sink_text(d));
    d = sink();
    const char *dir = getenv("TMPDIR");
    snprintf(q, sizeof q, "%s", dir && *dir ? dir : "/tmp");
    tap_ok(moec_file_read_all(q, 64, NULL, &buf, &len, d) == -1 && strstr(sink_text(d), "is a directory"),
           "a directory is refused: %s", sink_text(d));
    d = sink();
    tap_ok(moec_file_open(p, "rb", NULL, d) == NULL && strstr(sink_text(d), "cannot open '") &&
               !strstr(sink_text(d), "; "),
           "moec_file_open without a hint: %s", sink_text(d));
    FILE *f = tmpfile();
    fputs("streamed", f);
    rewind(f);
    tap_ok(moec_file_read_stream(f, "standard input", 64, NULL, &buf, &len, sink()) == 0 && len == 8 &&
               !strcmp(buf, "streamed"),
           "a stream read to its end");
    free(buf);
    fclose(f);
}

/* moec_source_load reads through moec_file_read_all and indexes the lines. */
static void test_source(void)
{
    char p[512];
    moec_source src;
    temp_file(p, sizeof p, "m.moe", "a\nbb\n");
    moec_diag *d = sink();
    tap_ok(moec_source_load(&src, p, d) == 0 && src.len == 5 && src.n_lines == 3 && src.line_start[1] == 2,
           "a model file loads, lines indexed");
    moec_source_free(&src);
    unlink(p);
    tap_ok(moec_source_load(&src, p, d) == -1 && strstr(sink_text(d), "give a model file (.moe)"),
           "a missing model file: %s", sink_text(d));
}

/* Large and small zeroed buffers (support/pages.h): zero, aligned, writable to the last byte. */
static void test_pages(void)
{
    const size_t sizes[] = { 1, 100, 4096, (2u << 20) - 64, 2u << 20, (3u << 20) + 12 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *p = moec_pages_alloc(n, 64);
        bool zero = p != NULL;
        for (size_t j = 0; zero && j < n; j++) zero = p[j] == 0;
        tap_ok(zero && (uintptr_t)p % 64 == 0, "%zu bytes of pages: zeroed and 64-byte aligned", n);
        if (p) {
            memset(p, 0xab, n);
            tap_ok(p[0] == 0xab && p[n - 1] == 0xab, "%zu bytes of pages: written to the last byte", n);
        }
        moec_pages_free(p, n);
    }
    moec_pages_free(NULL, 5u << 20);   /* nothing */
}

int main(void)
{
    test_places();
    test_leads();
    test_limit_counted();
    test_limit_announced();
    test_files();
    test_source();
    test_pages();
    sink_close();
    return tap_done();
}
