/* runtime/json_file.c -- JSON files written atomically (json_file.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/json_file.h"
#include "support/atomic.h"

int rt_json_write_file(const char *path, const json_t *value, bool pretty, moec_diag *diag)
{
    char *text = json_dumps(value, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(17));
    if (!text) return moec_error(diag, "out of memory writing %s", path);
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return moec_error(diag, "out of memory writing %s", path);
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    int rc = moec_atomic_write(path, line, n + 1, diag);
    free(line);
    return rc;
}
