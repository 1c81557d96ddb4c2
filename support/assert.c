/* support/assert.c -- the one place an internal invariant failure ends up. */
#include "support/assert.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void moec_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "moec: internal error: %s:%d: assertion '%s' failed\n"
                    "---> this is a bug in moec, not in your model; please report it\n",
            file, line, cond);
    abort();
}
