/* codegen/kernels.c -- the distinct loop kernels of a program
 * (codegen/kernels.h): each loop launch's canonical text (every field that
 * decides its code, buffers replaced by slots) hashed with SHA-256, equal
 * hashes grouped, the first launch of a group standing for it. */
#include "codegen/kernels.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_kernel_slots(const ir_kloop *k, int *slots)
{
    int n = 0;
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        if (in->kind != IR_KI_LOAD && in->kind != IR_KI_STORE) continue;
        int s = 0;
        while (s < n && slots[s] != in->buf) s++;
        if (s < n) continue;
        slots[n++] = in->buf;
    }
    return n;
}

static int slot_of(const int *slots, int n, int buf)
{
    for (int s = 0; s < n; s++)
        if (slots[s] == buf) return s;
    return -1;
}

static void print_index(FILE *f, const ir_kindex *ix)
{
    fprintf(f, " %" PRId64, ix->base);
    for (int a = 0; a < IR_K_AXES; a++) fprintf(f, " %" PRId64, ix->stride[a]);
    fprintf(f, " %d %" PRId64, ix->gather, ix->gather_stride);
}

/* Every field of loop launch l that decides its code, buffers as slots;
 * SHA-256 of it into hash. Returns 0, or -1 when out of memory. */
static int kernel_hash(const ir_kprogram *p, const ir_launch *l, uint8_t hash[CG_KEY_BYTES])
{
    const ir_kloop *k = &l->loop;
    char *text = NULL;
    size_t len = 0;
    int *slots = malloc(sizeof *slots * (size_t)(k->n_ins + 1));
    FILE *f = slots ? open_memstream(&text, &len) : NULL;
    if (!f) return free(slots), -1;
    int n = cg_kernel_slots(k, slots);
    fprintf(f, "loop %d", k->rank);
    for (int d = 0; d < k->rank; d++) fprintf(f, " %" PRId64, k->dim[d]);
    fprintf(f, " reduce %" PRId64 " passes %d\n", k->reduce, k->n_passes);
    for (int s = 0; s < n; s++) fprintf(f, "slot %d %d %" PRId64 "\n", s, p->bufs[slots[s]].dtype, p->bufs[slots[s]].numel);
    for (int i = 0; i < k->n_ins; i++) {
        const ir_kinstr *in = &k->ins[i];
        fprintf(f, "%d %d %d %d %d %d %d %" PRId64 " %d", in->kind, in->dtype, in->pass, in->src[0], in->src[1],
                in->src[2], in->op, in->attr, in->buf >= 0 ? slot_of(slots, n, in->buf) : -1);
        print_index(f, &in->index);
        fprintf(f, " %a %" PRIu64 " %" PRIu32 "\n", in->value, in->seed, in->stream);
    }
    int rc = fclose(f) == 0 && text ? 0 : -1;
    if (rc == 0) cg_sha256(text, len, hash);
    free(text);
    free(slots);
    return rc;
}

typedef struct entry {
    uint8_t hash[CG_KEY_BYTES];
    int launch;
} entry;

static int by_hash_then_launch(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = memcmp(x->hash, y->hash, CG_KEY_BYTES);
    return c ? c : (x->launch > y->launch) - (x->launch < y->launch);
}

/* Sorted by hash, each launch's first twin stands for it: unique[] holds
 * that first launch for now, renumbered by cg_kernels_find. */
static void group(const entry *e, int n, int *unique)
{
    for (int i = 0; i < n; i++) {
        int first = i;
        while (first > 0 && !memcmp(e[first - 1].hash, e[i].hash, CG_KEY_BYTES)) first--;
        unique[e[i].launch] = e[first].launch;
    }
}

int cg_kernels_find(const ir_kprogram *p, cg_kernels *k)
{
    memset(k, 0, sizeof *k);
    size_t nl = (size_t)(p->n_launches ? p->n_launches : 1);
    entry *e = malloc(nl * sizeof *e);
    k->unique = malloc(nl * sizeof *k->unique);
    k->rep = malloc(nl * sizeof *k->rep);
    k->hash = malloc(nl * sizeof *k->hash);
    int n = 0, rc = e && k->unique && k->rep && k->hash ? 0 : -1;
    for (int i = 0; i < p->n_launches && rc == 0; i++) {
        k->unique[i] = -1;
        if (p->launches[i].kind != IR_LAUNCH_LOOP) continue;
        e[n].launch = i;
        rc = kernel_hash(p, &p->launches[i], e[n++].hash);
    }
    if (rc == 0) {
        qsort(e, (size_t)n, sizeof *e, by_hash_then_launch);
        group(e, n, k->unique);
        for (int i = 0; i < n; i++)
            if (k->unique[e[i].launch] == e[i].launch) memcpy(k->hash[e[i].launch], e[i].hash, CG_KEY_BYTES);
        for (int i = 0; i < p->n_launches; i++) {   /* renumber in launch order */
            if (k->unique[i] != i) continue;
            memmove(k->hash[k->n_unique], k->hash[i], CG_KEY_BYTES);
            k->rep[k->n_unique++] = i;
        }
        for (int i = 0, u = 0; i < p->n_launches; i++)
            if (k->unique[i] >= 0) k->unique[i] = k->unique[i] == i ? u++ : k->unique[k->unique[i]];
    }
    free(e);
    if (rc < 0) cg_kernels_free(k);
    return rc;
}

void cg_kernels_free(cg_kernels *k)
{
    free(k->rep);
    free(k->unique);
    free(k->hash);
    memset(k, 0, sizeof *k);
}

char *cg_kernel_symbol(const ir_kprogram *p, const cg_kernels *k, int u, char *buf, size_t n)
{
    int launch = k->rep[u];
    const char *name = p->launches[launch].name;
    bool twin = !name[0];
    for (int v = 0; v < k->n_unique && !twin; v++) twin = v != u && !strcmp(p->launches[k->rep[v]].name, name);
    if (twin) snprintf(buf, n, "%s.k%d", name, launch);
    else snprintf(buf, n, "%s", name);
    return buf;
}
