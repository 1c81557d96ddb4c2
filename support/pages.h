/* support/pages.h -- large zeroed buffers straight from the kernel: tensors
 * of a model (weights, gradients, optimizer state, the executor's arena).
 *
 * Why not aligned_alloc + memset: a buffer of hundreds of megabytes is paid
 * for page by page at its first touch, and on a virtual machine each 4 KiB
 * page fault is slow (3.4 s per GiB measured on this project's machines,
 * doc/performance.md, "Memory pages"). These buffers are mapped anonymously,
 * so they are already zero (no memset pass), and marked for transparent huge
 * pages, so that one fault brings 2 MiB (1.1-2.2 s per GiB there). Small
 * buffers come
 * from aligned_alloc as before. No global state: the caller keeps the size,
 * which moec_pages_free needs. */
#ifndef MOEC_SUPPORT_PAGES_H
#define MOEC_SUPPORT_PAGES_H

#include <stddef.h>

/* Zeroed memory of `bytes` (at least 1), aligned to `align` (a power of two,
 * at most 4096), or NULL when out of memory. */
void *moec_pages_alloc(size_t bytes, size_t align);
/* Frees what moec_pages_alloc(bytes, ...) returned (NULL: nothing). */
void moec_pages_free(void *p, size_t bytes);

#endif
