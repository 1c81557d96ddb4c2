/* tests/cpu/helpers.h -- shared by the CPU runtime tests: the collecting
 * error sink (tests/sink.h) and a pool of a given size. Included by one
 * test file each. */
#ifndef MOEC_TESTS_CPU_HELPERS_H
#define MOEC_TESTS_CPU_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/exec.h"
#include "tests/sink.h"
#include "tests/tap.h"

/* A pool of n threads (NULL for one), or exits: tests cannot go on without it. */
static inline rt_pool *test_pool(int n)
{
    if (n <= 1) return NULL;
    moec_diag d;
    moec_diag_init(&d, stderr, 20);
    rt_pool *p = rt_pool_new(n, &d);
    if (!p) exit(1);
    return p;
}

#endif
