/* tests/sink.h -- the error sink (support/diag.h) as the C tests use it:
 *   moec_diag *d = sink();   the program's sink, emptied: it collects the
 *                            messages of the calls under test in memory
 *   sink_text(d)             what it received, on one line (" | " between
 *                            messages), for strstr checks and TAP names
 *   sink_close();            at the end of main
 * One translation unit includes this; the sink and the text are static. */
#ifndef MOEC_TESTS_SINK_H
#define MOEC_TESTS_SINK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/diag.h"

static moec_diag sink_;

static inline moec_diag *sink(void)
{
    int rc = sink_.collecting ? moec_diag_reset(&sink_) : moec_diag_collect(&sink_, 0);
    if (rc != 0) {
        fprintf(stderr, "out of memory opening a collecting sink\n");
        exit(1);
    }
    return &sink_;
}

static inline const char *sink_text(moec_diag *d)
{
    static char buf[8192];
    const char *t = moec_diag_text(d);
    size_t n = 0;
    for (; *t && n + 4 < sizeof buf; t++) {
        if (*t != '\n') buf[n++] = *t;
        else if (t[1]) memcpy(buf + n, " | ", 3), n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static inline void sink_close(void)
{
    moec_diag_free(&sink_);
}

#endif
