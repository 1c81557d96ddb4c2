/* runtime/cmd_emit.c -- `moec emit --target cpu|cuda -o DIR`: the code
 * generated for a model's training step, each file written atomically.
 * cpu: DIR/kernels.c (ir_kprogram_listing), DIR/plan.txt (the launches in
 * order, the memory plan), one DIR/NAME.ll per distinct loop kernel (LLVM IR
 * at O3, headed by the launches that run it with their scopes and
 * model-file lines). cuda: one DIR/NAME.cu per distinct loop kernel, each a
 * complete NVRTC translation unit (codegen/cuda_print.h), and DIR/plan.txt
 * (launch order, grid, block, buffers); with --ptx, each .cu compiled by
 * NVRTC for --arch into DIR/NAME.ptx.
 * Exit 0 done, 1 compile or write failed, 2 usage. doc/kernels.md. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/launch_cost.h"
#include "runtime/pipeline.h"
#include "support/atomic.h"

#include "codegen/cuda_print.h"
#include "codegen/cuda_templates.h"
#ifdef HAVE_LLVM
#include "codegen/cpu.h"
#endif
#ifdef HAVE_CUDA
#include "codegen/nvrtc.h"
#endif

typedef struct emit_args {
    rt_model_args m;            /* MODEL.moe, --set, --max-errors */
    const char *target, *dir;   /* --target, -o */
    const char *arch;           /* --arch (cuda): sm_90 unless given */
    bool ptx;                   /* --ptx (cuda): compile each .cu with NVRTC */
    uint64_t batch, seq;        /* 0: the train settings' */
    bool no_fuse;
} emit_args;

static void usage(void)
{
    fprintf(stderr, "usage: moec emit MODEL.moe --target cpu|cuda -o DIR [--set k=v]... --batch B --seq T [--no-fuse]\n"
                    "                 [--arch sm_XX] [--ptx]   (cuda)\n");
}

/* rt_cli_option_fn: the options of emit. */
static int parse_option(int argc, char **argv, int *i, void *ctx)
{
    emit_args *a = ctx;
    char *v;
    if ((v = rt_cli_option_value(argc, argv, i, "--target"))) return a->target = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "-o"))) return a->dir = v, 0;
    if ((v = rt_cli_option_value(argc, argv, i, "--batch"))) return rt_cli_parse_u64("--batch", v, &a->batch);
    if ((v = rt_cli_option_value(argc, argv, i, "--seq"))) return rt_cli_parse_u64("--seq", v, &a->seq);
    if ((v = rt_cli_option_value(argc, argv, i, "--arch"))) return a->arch = v, 0;
    if (!strcmp(argv[*i], "--ptx")) return a->ptx = true, 0;
    if (!strcmp(argv[*i], "--no-fuse")) return a->no_fuse = true, 0;
    return 1;
}

/* 0, or -1 after printing why (2 follows). */
static int parse_args(int argc, char **argv, emit_args *a)
{
    if (rt_cli_parse(argc, argv, &a->m, parse_option, a) < 0) return -1;
    const char *missing = !a->m.model ? "a model file" : !a->target ? "--target cpu|cuda" : !a->dir ? "-o DIR" : NULL;
    if (missing) return fprintf(stderr, "moec: emit needs %s\n", missing), -1;
    if (a->batch > 1000000 || a->seq > 1000000)
        return fprintf(stderr, "moec: --batch and --seq must be at most 1000000\n"), -1;
    if (!strcmp(a->target, "cuda")) {
        if (!a->arch) a->arch = "sm_90";
        bool arch_ok = !strncmp(a->arch, "sm_", 3) && strlen(a->arch) >= 5 && strlen(a->arch) <= 6 &&
                       strspn(a->arch + 3, "0123456789") == strlen(a->arch + 3);
        if (!arch_ok) return fprintf(stderr, "moec: --arch '%s': expected sm_80, sm_90 or the like\n", a->arch), -1;
#ifndef HAVE_CUDA
        if (a->ptx)
            return fprintf(stderr, "moec: emit --ptx needs NVRTC, which this build lacks (no CUDA toolkit at "
                                   "configure time)\n"), -1;
#endif
        return 0;
    }
    if (a->arch || a->ptx) return fprintf(stderr, "moec: --arch and --ptx go with --target cuda\n"), -1;
    if (strcmp(a->target, "cpu"))
        return fprintf(stderr, "moec: unknown target '%s'; emit writes 'cpu' or 'cuda'\n", a->target), -1;
#ifndef HAVE_LLVM
    return fprintf(stderr, "moec: emit --target cpu needs the CPU backend, which this build lacks (no LLVM 14 at "
                           "configure time)\n"), -1;
#endif
    return 0;
}

/* ---- the files ---- */

/* DIR/NAME, atomically, its text from print(f, p). 0 or -1 (reported). */
static int write_file(const char *dir, const char *name, void (*print)(FILE *, const rt_pipeline *),
                      const rt_pipeline *p, moec_diag *d)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return moec_error(d, "%s/%s: path too long", dir, name);
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, d) < 0) return -1;
    print(af.f, p);
    return moec_atomic_commit(&af, d);
}

static void print_listing(FILE *f, const rt_pipeline *p) { ir_kprogram_listing(f, &p->kernels); }

static void print_plan(FILE *f, const rt_pipeline *p)
{
    fprintf(f, "# launches in order (moec ir --stage kernels)\n");
    ir_kprogram_print(f, &p->kernels, false);
    fprintf(f, "\n# memory plan (moec ir --stage memory)\n");
    ir_memplan_print(f, &p->kernels, &p->memory);
}

#ifdef HAVE_LLVM
/* What the per-kernel callback needs. */
typedef struct ll_sink {
    const char *dir;
    rt_cost_context cc;         /* the program and its graph: a launch's node and scope */
    moec_diag *d;
    int written;
} ll_sink;

/* One header line: a launch of the kernel, its scope and its model-file
 * lines. Launches of the step's own code (scope "grad": clipping, the
 * learning rate) have no line; the header says so. */
static void ll_launch_line(FILE *f, const ll_sink *s, int launch)
{
    const ir_kprogram *p = s->cc.p;
    const ir_launch *l = &p->launches[launch];
    int node = rt_launch_node(&s->cc, launch);
    const char *scope = node >= 0 ? s->cc.g->nodes[node].scope : NULL;
    fprintf(f, ";   k%d %s (scope %s) ", launch, l->name, scope && *scope ? scope : "-");
    if (!l->lines[0]) {
        fprintf(f, "from no model-file line: code the step adds (gradient clipping, the learning rate)\n");
        return;
    }
    fprintf(f, "from %s:", p->source_name ? p->source_name : "?");
    for (int i = 0; i < IR_K_MAX_LINES && l->lines[i]; i++) fprintf(f, "%s%d", i ? "," : "", l->lines[i]);
    fputc('\n', f);
}

/* cg_kernel_ir_fn: DIR/SYMBOL.ll, headed by the launches that run it. */
static int write_ll(void *ctx, const char *symbol, const int *launches, int n, const char *text)
{
    ll_sink *s = ctx;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.ll", s->dir, symbol) >= sizeof path)
        return moec_error(s->d, "%s/%s.ll: path too long", s->dir, symbol);
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, s->d) < 0) return -1;
    fprintf(af.f, "; moec emit --target cpu: kernel %s, run by %d loop launch%s:\n", symbol, n, n == 1 ? "" : "es");
    for (int i = 0; i < n; i++) ll_launch_line(af.f, s, launches[i]);
    fputs(text, af.f);
    if (moec_atomic_commit(&af, s->d) < 0) return -1;
    s->written++;
    return 0;
}
#endif

/* The folder, made when it does not exist. 0 or -1 (reported). */
static int make_dir(const char *dir, moec_diag *d)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))) return 0;
    const char *why = errno == EEXIST ? "a file has that name" : strerror(errno);
    return moec_error(d, "cannot create the folder %s: %s", dir, why);
}

/* DIR/NAME.EXT, atomically. 0 or -1 (reported). */
static int write_text(const char *dir, const char *name, const char *ext, const char *text, moec_diag *d)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s%s", dir, name, ext) >= sizeof path)
        return moec_error(d, "%s/%s%s: path too long", dir, name, ext);
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, d) < 0) return -1;
    fputs(text, af.f);
    return moec_atomic_commit(&af, d);
}

/* NAME.cu, and with --ptx NAME.ptx (NVRTC through the disk cache: a second
 * emit compiles nothing). */
static int emit_unit(const emit_args *a, const char *name, const char *source, moec_diag *d)
{
    int rc = write_text(a->dir, name, ".cu", source, d);
#ifdef HAVE_CUDA
    char *ptx = NULL;
    if (rc == 0 && a->ptx) {
        cg_nvrtc_from from;
        rc = cg_nvrtc_compile_cached(source, name, a->arch, NULL, &ptx, &from, d);
        if (rc == 0) rc = write_text(a->dir, name, ".ptx", ptx, d);
        free(ptx);
    }
#endif
    return rc;
}

/* --target cuda: the .cu files (templates.cu when the program has template
 * launches), plan.txt, and with --ptx the .ptx files. */
static int emit_cuda(const emit_args *a, rt_pipeline *p)
{
    moec_diag *d = &p->fe.diag;
    d->prefix = "moec: ";
    cg_cuda_program cp;
    if (make_dir(a->dir, d) < 0 || cg_cuda_print_program(&p->kernels, &cp, d) < 0) return -1;
    int rc = 0;
    for (int i = 0; i < cp.n_kernels && rc == 0; i++) rc = emit_unit(a, cp.kernels[i].symbol, cp.kernels[i].source, d);
    bool templates = false;
    for (int i = 0; i < p->kernels.n_launches; i++) templates |= p->kernels.launches[i].kind == IR_LAUNCH_TEMPLATE;
    if (rc == 0 && templates) {
        char *src = cg_cuda_templates_source();
        rc = src ? emit_unit(a, "templates", src, d) : moec_error(d, "out of memory printing the CUDA templates");
        free(src);
    }
    char path[4096];
    if (rc == 0 && (size_t)snprintf(path, sizeof path, "%s/plan.txt", a->dir) >= sizeof path)
        rc = moec_error(d, "%s/plan.txt: path too long", a->dir);
    if (rc == 0) {
        moec_atomic_file af;
        rc = moec_atomic_open(&af, path, d);
        if (rc == 0) {
            cg_cuda_print_plan(af.f, &p->kernels, &cp);
            rc = moec_atomic_commit(&af, d);
        }
    }
    int loops = 0;
    for (int i = 0; i < p->kernels.n_launches; i++) loops += p->kernels.launches[i].kind == IR_LAUNCH_LOOP;
    if (rc == 0)
        printf("moec emit: %s: plan.txt and %d .cu files (CUDA C, one per distinct kernel of the %d loop launches)%s%s\n",
               a->dir, cp.n_kernels, loops, a->ptx ? ", each compiled to PTX for " : "", a->ptx ? a->arch : "");
    cg_cuda_program_free(&cp);
    return rc;
}

static int emit(const emit_args *a, rt_pipeline *p)
{
    if (!strcmp(a->target, "cuda")) return emit_cuda(a, p);
    moec_diag *d = &p->fe.diag;
    d->prefix = "moec: ";
    if (make_dir(a->dir, d) < 0 || write_file(a->dir, "kernels.c", print_listing, p, d) < 0 ||
        write_file(a->dir, "plan.txt", print_plan, p, d) < 0)
        return -1;
    int n_ll = 0;
#ifdef HAVE_LLVM
    ll_sink s = { a->dir, { &p->kernels, &p->graph, p->step.fwd.moe, p->step.fwd.n_moe }, d, 0 };
    if (cg_cpu_each_kernel_ir(&p->kernels, 3, write_ll, &s, d) < 0) return -1;
    n_ll = s.written;
#endif
    int loops = 0;
    for (int i = 0; i < p->kernels.n_launches; i++) loops += p->kernels.launches[i].kind == IR_LAUNCH_LOOP;
    printf("moec emit: %s: kernels.c, plan.txt and %d .ll files (LLVM IR at O3, one per distinct kernel of the %d "
           "loop launches)\n", a->dir, n_ll, loops);
    return 0;
}

int rt_cmd_emit(int argc, char **argv)
{
    emit_args a = {0};
    if (parse_args(argc, argv, &a) < 0) return usage(), 2;
    if (rt_cli_size_sets(&a.m, a.batch, a.seq) < 0) return 2;
    rt_pipeline_options opt = { .model = a.m.model, .sets = a.m.sets, .n_sets = a.m.n_sets,
                                .max_errors = a.m.max_errors, .batch = (int64_t)a.batch, .seq = (int64_t)a.seq,
                                .no_fuse = a.no_fuse, .step = RT_STEP_TRAIN };
    int n;
    const rt_pass *t = rt_passes(&n);
    rt_pipeline p;
    rt_pipeline_init(&p, &opt);
    rt_pipeline_request req = { .last = n - 1, .stage = -1, .out = stdout };
    int status = 0;
    if (rt_pipeline_run(&p, t, n, &req) < 0) {
        rt_pipeline_report(stderr, &p, t);
        status = 1;
    } else if (emit(&a, &p) < 0) {
        status = 1;
    }
    rt_pipeline_free(&p);
    return status;
}
