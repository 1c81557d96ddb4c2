/* support/pages.c -- large zeroed buffers by mmap with huge pages
 * (support/pages.h). */
#include "support/pages.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* From this size on a buffer is mapped: one 2 MiB huge page. */
enum { MAP_FROM = 2u << 20 };

void *moec_pages_alloc(size_t bytes, size_t align)
{
    if (bytes == 0) bytes = 1;
    if (bytes < MAP_FROM) {
        size_t size = (bytes + align - 1) / align * align;
        void *p = aligned_alloc(align, size);
        if (p) memset(p, 0, size);
        return p;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);   /* advice only: without huge pages the buffer still works */
#endif
    return p;
}

void moec_pages_free(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes == 0) bytes = 1;
    if (bytes < MAP_FROM) free(p);
    else munmap(p, bytes);
}
