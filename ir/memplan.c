/* ir/memplan.c -- liveness over the launch sequence and the arena layout
 * (ir/memplan.h). Buffers are placed largest first, each at the lowest
 * offset that fits between the buffers already placed whose lives overlap
 * its own (best fit by address), aligned to IR_ARENA_ALIGN. */
#include "ir/memplan.h"

#include <inttypes.h>
#include <stdlib.h>

typedef struct life {
    int buf;
    int first, last;   /* launches; first > last: never used */
    int64_t bytes;     /* aligned */
    int64_t offset;
} life;

static bool in_arena(const ir_kbuf *b)
{
    return (b->role == IR_BUF_ACTIVATION || b->role == IR_BUF_SCRATCH) && b->parent < 0;
}

static int64_t align_up(int64_t n) { return (n + IR_ARENA_ALIGN - 1) / IR_ARENA_ALIGN * IR_ARENA_ALIGN; }

/* The arena buffer a buffer's bytes belong to (itself, or its view's root). */
static int root_of(const ir_kprogram *p, int b)
{
    while (p->bufs[b].parent >= 0) b = p->bufs[b].parent;
    return b;
}

static void note_use(const ir_kprogram *p, int *first, int *last, int b, int launch)
{
    b = root_of(p, b);
    if (first[b] < 0) first[b] = launch;
    last[b] = launch;
}

static int by_size_desc(const void *a, const void *b)
{
    const life *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->buf - y->buf;   /* stable: the same program gives the same plan */
}

static bool overlap(const life *a, const life *b) { return a->first <= b->last && b->first <= a->last; }

/* The lowest offset where l fits among the placed lives it overlaps in time. */
static int64_t place(const life *lives, int n_placed, const life *l)
{
    int64_t offset = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < n_placed; i++) {
            const life *o = &lives[i];
            if (!overlap(o, l) || o->offset >= offset + l->bytes || offset >= o->offset + o->bytes) continue;
            offset = o->offset + o->bytes;
            moved = true;
        }
    }
    return offset;
}

static int64_t peak_live(const ir_kprogram *p, const life *lives, int n)
{
    int64_t peak = 0;
    for (int k = 0; k < p->n_launches; k++) {
        int64_t live = 0;
        for (int i = 0; i < n; i++)
            if (lives[i].first <= k && k <= lives[i].last) live += lives[i].bytes;
        if (live > peak) peak = live;
    }
    return peak;
}

int ir_memplan(ir_kprogram *p, ir_memplan_stats *st, moec_diag *d)
{
    *st = (ir_memplan_stats){0};
    int *first = malloc(sizeof(int) * (size_t)(p->n_bufs + 1)), *last = malloc(sizeof(int) * (size_t)(p->n_bufs + 1));
    life *lives = malloc(sizeof(life) * (size_t)(p->n_bufs + 1));
    if (!first || !last || !lives) {
        free(first); free(last); free(lives);
        return moec_error(d, "memory plan: out of memory"), -1;
    }
    for (int b = 0; b < p->n_bufs; b++) first[b] = last[b] = -1;
    for (int k = 0; k < p->n_launches; k++) {
        const ir_launch *l = &p->launches[k];
        for (int i = 0; i < l->n_reads; i++) note_use(p, first, last, l->reads[i], k);
        for (int i = 0; i < l->n_writes; i++) note_use(p, first, last, l->writes[i], k);
    }
    int n = 0;
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (!in_arena(kb)) {
            if (kb->parent < 0) st->persistent_bytes += ir_kbuf_bytes(kb);
            continue;
        }
        lives[n++] = (life){ .buf = b, .first = first[b], .last = last[b], .bytes = align_up(ir_kbuf_bytes(kb)) };
        st->naive_bytes += lives[n - 1].bytes;
    }
    qsort(lives, (size_t)n, sizeof *lives, by_size_desc);
    for (int i = 0; i < n; i++) {
        lives[i].offset = place(lives, i, &lives[i]);
        p->bufs[lives[i].buf].arena_offset = lives[i].offset;
        if (lives[i].offset + lives[i].bytes > st->arena_bytes) st->arena_bytes = lives[i].offset + lives[i].bytes;
    }
    for (int b = 0; b < p->n_bufs; b++) {   /* views: parents come first */
        ir_kbuf *kb = &p->bufs[b];
        if (kb->parent >= 0 && p->bufs[kb->parent].arena_offset >= 0)
            kb->arena_offset = p->bufs[kb->parent].arena_offset + kb->view_offset * (ir_kbuf_bytes(kb) / kb->numel);
    }
    st->peak_bytes = peak_live(p, lives, n);
    st->n_arena = n;
    p->arena_bytes = st->arena_bytes;
    free(first); free(last); free(lives);
    return 0;
}

void ir_memplan_print(FILE *out, const ir_kprogram *p, const ir_memplan_stats *st)
{
    fprintf(out, "arena %" PRId64 " bytes for %d buffers; peak live %" PRId64 "; without a plan %" PRId64
                 " (%.1fx); persistent %" PRId64 "\n",
            st->arena_bytes, st->n_arena, st->peak_bytes, st->naive_bytes,
            st->arena_bytes ? (double)st->naive_bytes / (double)st->arena_bytes : 0.0, st->persistent_bytes);
    for (int b = 0; b < p->n_bufs; b++) {
        const ir_kbuf *kb = &p->bufs[b];
        if (kb->arena_offset >= 0)
            fprintf(out, "b%d %s : %" PRId64 " bytes @%" PRId64 "\n", b, kb->name, ir_kbuf_bytes(kb), kb->arena_offset);
    }
}
