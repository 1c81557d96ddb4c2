/* bench/bench_codegen.c -- compile time of the CPU backend (codegen/cpu.h).
 * Per kernel: each hand-built kernel of tests/codegen/kernels.h compiled
 * alone (no cache, one thread). Per program: a synthetic program of N loop
 * kernels in the mix of a training step (AdamW updates, layernorms,
 * softmaxes, elementwise chains, bias-gradient column sums, gathers,
 * random kernels) at GPT-2 small sizes, all distinct, compiled cold (an
 * empty cache) and warm (every part cached). Nothing is run; no buffer is
 * allocated.
 * Usage: bench_codegen [--kernels N] [--threads T] [--opt 2|3] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/codegen/gen_kernels.h"
#include "tests/codegen/kernels.h"

/* One kernel (or a few) of the mix, by number; sizes vary with i so that
 * every kernel is distinct (the same kernel twice compiles once). */
static void add_kernel(kt_prog *t, int i)
{
    switch (i % 10) {
    case 0: case 1: case 2: case 3: kt_adamw(t, 768 * 768 + i); break;
    case 4: kt_layernorm(t, 4096, 768 + i); break;
    case 5: kt_softmax(t, 4096 * 12, 1024 + i); break;
    case 6: kt_elementwise(t); kt_colsum(t, 4096 + i, 768); break;
    case 7: kt_colsum(t, 4096, 768 + i); break;
    case 8: kt_random_kernel(t, 12345, i); break;
    default: if (i % 20 == 9) kt_gather(t, 4096 + i, 50257, 768, 50257); else kt_random(t), kt_colsum(t, 4096 + i, 767); break;
    }
}

typedef struct one { const char *name; void (*build)(kt_prog *t); } one;
static void b_softmax(kt_prog *t) { kt_softmax(t, 4096 * 12, 1024); }
static void b_layernorm(kt_prog *t) { kt_layernorm(t, 4096, 768); }
static void b_colsum(kt_prog *t) { kt_colsum(t, 4096, 768); }
static void b_gather(kt_prog *t) { kt_gather(t, 4096, 50257, 768, 50257); }
static void b_adamw(kt_prog *t) { kt_adamw(t, 768 * 768); }

static int compile(kt_prog *t, const cg_cpu_options *o, cg_cpu_stats *st)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    cg_cpu_program *c = NULL;
    int rc = cg_cpu_compile(&t->p, o, &c, st, &d);
    cg_cpu_free(c);
    return rc;
}

static void per_kernel(int opt)
{
    static const one cases[] = {
        { "adamw", b_adamw }, { "layernorm", b_layernorm }, { "softmax", b_softmax }, { "gelu+math", kt_elementwise },
        { "colsum", b_colsum }, { "gather", b_gather }, { "dropout", kt_random }, { "compare", kt_compare },
        { "int", kt_int },
    };
    printf("%-10s %8s %8s %8s %8s\n", "kernel", "ms", "build", "opt", "emit");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_prog *t = calloc(1, sizeof *t);
        kt_init(t, "bench.moe");
        cases[i].build(t);
        cg_cpu_options o = { .opt_level = opt, .threads = 1, .no_cache = true };
        cg_cpu_stats st;
        if (compile(t, &o, &st) == 0)
            printf("%-10s %8.1f %8.1f %8.1f %8.1f\n", cases[i].name, 1e3 * st.wall_s, 1e3 * st.build_s,
                   1e3 * st.optimise_s, 1e3 * st.emit_s);
        ir_kprogram_free(&t->p);
        free(t);
    }
}

static void report(const char *what, const cg_cpu_stats *st)
{
    printf("%s: %d kernels (%d distinct) in %.2f s wall (%d threads, %d of %d parts cached): build %.2f s, "
           "optimise %.2f s, emit %.2f s (CPU, all threads), load %.2f s; %.1f ms of CPU per distinct kernel; "
           "%zu KiB of code\n",
           what, st->kernels, st->unique, st->wall_s, st->threads, st->parts_cached, st->parts, st->build_s,
           st->optimise_s, st->emit_s, st->load_s, 1e3 * (st->build_s + st->optimise_s + st->emit_s) / st->unique,
           st->object_bytes / 1024);
}

int main(int argc, char **argv)
{
    int kernels = 500, threads = 0, opt = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--kernels")) kernels = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--opt")) opt = atoi(argv[i + 1]);
        else return fprintf(stderr, "usage: bench_codegen [--kernels N] [--threads T] [--opt 2|3]\n"), 2;
    }
    per_kernel(opt);
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "bench.moe");
    while (t->p.n_launches < kernels) add_kernel(t, t->p.n_launches);
    char dir[] = "/tmp/moec-bench-cache-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    cg_cpu_options o = { .opt_level = opt, .threads = threads, .cache_dir = dir };
    cg_cpu_stats cold, warm;
    int rc = compile(t, &o, &cold);
    if (rc == 0) report("cold", &cold);
    if (rc == 0 && (rc = compile(t, &o, &warm)) == 0) report("warm", &warm);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    ir_kprogram_free(&t->p);
    free(t);
    return rc ? 1 : 0;
}
