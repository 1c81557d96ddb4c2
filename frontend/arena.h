/* frontend/arena.h -- bump allocator that owns everything one stage builds.
 * A stage allocates its nodes, strings and tables from one arena and frees
 * them all at once with fe_arena_free. Allocation failure returns NULL; the
 * caller reports it. No global state. */
#ifndef MOEC_ARENA_H
#define MOEC_ARENA_H

#include <stddef.h>

typedef struct fe_arena_chunk fe_arena_chunk;

typedef struct fe_arena {
    fe_arena_chunk *head;   /* newest chunk; older chunks chained behind it */
    size_t total;           /* bytes handed out so far, for limits and stats */
} fe_arena;

void  fe_arena_init(fe_arena *a);
void  fe_arena_free(fe_arena *a);
/* Zeroed memory aligned for any type, or NULL when out of memory. */
void *fe_arena_alloc(fe_arena *a, size_t size);
/* A NUL-terminated copy of s[0..n), or NULL when out of memory. */
char *fe_arena_strndup(fe_arena *a, const char *s, size_t n);
char *fe_arena_strdup(fe_arena *a, const char *s);
/* printf into the arena. */
char *fe_arena_printf(fe_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
