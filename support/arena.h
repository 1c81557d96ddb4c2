/* support/arena.h -- bump allocator that owns everything one stage builds.
 * A stage allocates its nodes, strings and tables from one arena and frees
 * them all at once with moec_arena_free. Allocation failure returns NULL; the
 * caller reports it. No global state. */
#ifndef MOEC_ARENA_H
#define MOEC_ARENA_H

#include <stddef.h>

typedef struct moec_arena_chunk moec_arena_chunk;

typedef struct moec_arena {
    moec_arena_chunk *head;   /* newest chunk; older chunks chained behind it */
    size_t total;           /* bytes handed out so far, for limits and stats */
} moec_arena;

void  moec_arena_init(moec_arena *a);
void  moec_arena_free(moec_arena *a);
/* Zeroed memory aligned for any type, or NULL when out of memory. */
void *moec_arena_alloc(moec_arena *a, size_t size);
/* A NUL-terminated copy of s[0..n), or NULL when out of memory. */
char *moec_arena_strndup(moec_arena *a, const char *s, size_t n);
char *moec_arena_strdup(moec_arena *a, const char *s);
/* printf into the arena. */
char *moec_arena_printf(moec_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
