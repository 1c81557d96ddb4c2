/* tests/report/classify_main.c -- the Python lexer of
 * runtime/report/token_types.h on the command line, for classify_ref.py:
 *     classify_main FILE [SEPARATOR [N]]
 * splits FILE into texts at lines equal to SEPARATOR (as `moec data
 * --separator` does; none: the whole file is one text), classifies the
 * first N texts (all when N is absent) and prints one line per text: the
 * category index (rp_token_type, 0 keyword .. 6 other) of each byte. */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/data/corpus.h"
#include "runtime/report/token_types.h"
#include "support/file.h"

typedef struct ctx {
    long left;      /* texts still to print; < 0: all */
} ctx;

static int print_text(void *c, const char *p, size_t n)
{
    ctx *x = c;
    if (x->left == 0) return 0;
    if (x->left > 0) x->left--;
    uint8_t *cat = malloc(n ? n : 1);
    if (!cat) return fprintf(stderr, "classify_main: out of memory\n"), -1;
    rp_classify_python(p, n, cat);
    for (size_t i = 0; i < n; i++) putchar('0' + cat[i]);
    putchar('\n');
    free(cat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) return fprintf(stderr, "usage: classify_main FILE [SEPARATOR [N]]\n"), 2;
    moec_diag diag;
    moec_diag_init(&diag, stderr, 0);
    char *buf = NULL;
    size_t len = 0;
    if (moec_file_read_all(argv[1], MOEC_FILE_NO_LIMIT, NULL, &buf, &len, &diag) < 0) return 1;
    ctx c = { .left = argc > 3 ? atol(argv[3]) : -1 };
    int rc = rt_split_texts(buf, len, argc > 2 ? argv[2] : NULL, print_text, &c) < 0 ? 1 : 0;
    free(buf);
    return rc;
}
