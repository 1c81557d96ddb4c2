/* runtime/json_file.h -- a JSON value written as a file, all or nothing
 * (support/atomic.h): the files of a run directory (config.json, the model
 * sidecars, run_summary.json) and moec report's results.json. */
#ifndef MOEC_RUNTIME_JSON_FILE_H
#define MOEC_RUNTIME_JSON_FILE_H

#include <jansson.h>
#include <stdbool.h>

#include "support/diag.h"

/* Writes value to path with a final newline, numbers to 17 significant
 * digits (they read back to the same double), indented when `pretty`, else
 * on one line. 0, or -1 after reporting through diag. */
int rt_json_write_file(const char *path, const json_t *value, bool pretty, moec_diag *diag);

#endif
