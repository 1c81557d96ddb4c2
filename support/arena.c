/* support/arena.c -- bump allocator: chunks of at least 64 KiB, freed together. */
#include "support/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_CHUNK_MIN = 64 * 1024, ARENA_ALIGN = 16 };

struct moec_arena_chunk {
    moec_arena_chunk *next;   /* older chunk */
    size_t used;            /* bytes used in data[] */
    size_t cap;             /* bytes available in data[] */
    _Alignas(16) unsigned char data[];
};

void moec_arena_init(moec_arena *a) { a->head = NULL; a->total = 0; }

void moec_arena_free(moec_arena *a)
{
    moec_arena_chunk *c = a->head;
    while (c) {
        moec_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *moec_arena_alloc(moec_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2) return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    moec_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < rounded) {
        size_t cap = rounded > ARENA_CHUNK_MIN ? rounded : ARENA_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    a->total += rounded;
    memset(p, 0, size);
    return p;
}

char *moec_arena_strndup(moec_arena *a, const char *s, size_t n)
{
    char *p = moec_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *moec_arena_strdup(moec_arena *a, const char *s) { return moec_arena_strndup(a, s, strlen(s)); }

char *moec_arena_printf(moec_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = moec_arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
