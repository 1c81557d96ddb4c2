/* bench/bench_pages.c -- what a large buffer's first touch costs, and a
 * second pass over it, with calloc-like memory (aligned_alloc + memset, 4 KiB
 * pages) against support/pages.h (mapped, huge pages); doc/performance.md,
 * "Memory pages". Usage: bench_pages [MiB] (default 1024). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/pages.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Times a write over n bytes at p and one more; prints a row with the allocation's own time added to the first. */
static void passes(const char *what, unsigned char *p, size_t n, double alloc_s)
{
    double t0 = now();
    memset(p, 1, n);
    double t1 = now();
    memset(p, 2, n);
    double t2 = now();
    double gib = (double)n / (1u << 30);
    printf("%-32s allocated and written once %6.3f s (%5.2f s/GiB); one more pass %6.3f s\n", what,
           alloc_s + (t1 - t0), (alloc_s + (t1 - t0)) / gib, t2 - t1);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, n = mib << 20;
    if (n == 0) return fprintf(stderr, "usage: bench_pages [MiB]\n"), 2;
    double t0 = now();
    unsigned char *a = aligned_alloc(64, n);
    if (!a) return fprintf(stderr, "bench_pages: out of memory\n"), 1;
    memset(a, 0, n);   /* what zeroed aligned memory cost before support/pages.h */
    passes("aligned_alloc + memset (4 KiB)", a, n, now() - t0);
    free(a);
    t0 = now();
    unsigned char *b = moec_pages_alloc(n, 64);
    if (!b) return fprintf(stderr, "bench_pages: out of memory\n"), 1;
    passes("moec_pages_alloc (huge pages)", b, n, now() - t0);
    moec_pages_free(b, n);
    return 0;
}
