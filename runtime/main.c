/* runtime/main.c -- the `moec` command: finds the subcommand and runs it.
 * Subcommands live in runtime/cmd_*.c; this file only dispatches, and prints
 * --help and --version. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "runtime/commands.h"
#include "runtime/dist/comm.h"

typedef struct command {
    const char *name;
    const char *usage;     /* arguments, for --help */
    const char *summary;
    int (*run)(int argc, char **argv);
    const char *not_yet;   /* non-NULL: not implemented yet, and why */
} command;

static const command COMMANDS[] = {
    {"check", "MODEL.moe [--set k=v]...", "parse and check a model; errors as file:line:col with a caret",
     rt_cmd_check, NULL},
    {"ir", "MODEL.moe --stage STAGE [--dump-after PASS]... [--verify] [--set k=v]...",
     "print a stage of the compiler (STAGE below; --list-stages prints the passes)", rt_cmd_ir, NULL},
    {"emit", "MODEL.moe --target cpu -o DIR [--set k=v]... --batch B --seq T [--no-fuse]",
     "write the generated kernels: kernels.c, plan.txt, one LLVM .ll per distinct kernel", rt_cmd_emit, NULL},
    {"init", "MODEL.moe [--set k=v]... --seed S -o W.safetensors", "write freshly initialised weights", rt_cmd_init, NULL},
    {"eval", "MODEL.moe --weights W.safetensors --data TOKENS.bin --batch B --seq T [--json]",
     "evaluate a model's loss", rt_cmd_eval, NULL},
    {"grad", "MODEL.moe --weights W.safetensors --data TOKENS.bin --batch B --seq T -o G.safetensors",
     "loss and gradients of one training step", rt_cmd_grad, NULL},
    {"train", "MODEL.moe --data DIR [--set k=v]... [--steps N] [--batch B] [--seq T] [--out RUN] [--init W.safetensors]\n"
              "            [--resume RUN] [--backend cpu|interp|cuda] [--threads N] [--quiet]",
     "train a model into a run directory: metrics, checkpoints, best and final weights; --resume RUN continues it",
     rt_cmd_train, NULL},
    {"sample", "RUN|MODEL.moe [--weights W.safetensors] --prompt TEXT [--max-tokens N]\n"
               "            [--greedy | --temperature T --top-k K --top-p P] [--seed S]",
     "generate text from a trained model; then each MoE layer's expert use and the tokens/s", rt_cmd_sample, NULL},
    {"data", "NAME=PATH... -o DIR [--eval-fraction F] [--seq T] [--balance] [--seed S]",
     "tokenize text into token shards, per domain", rt_cmd_data, NULL},
    {"tokenize", "FILE|--text TEXT", "print GPT-2 token ids and their text", rt_cmd_tokenize, NULL},
    {"report", "RUN... -o DIR [--baseline RUN] [--results FILE]",
     "tables and plots of run directories: loss, per-domain loss, routing, expert use; seeds as mean ± 95% CI",
     rt_cmd_report, NULL},
    {"bench", "MODEL.moe [--set k=v]... --batch B --seq T [--steps N] [--threads N] [--backend cpu] [--moe dense|sparse] [--json]",
     "time the training step: per kernel class (GFLOP/s, GB/s), compile time, kernel cache", rt_cmd_bench, NULL},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0] };

static void print_help(FILE *out)
{
    fprintf(out, "usage: moec COMMAND [ARGS]\n\n"
                 "moec compiles Mixture-of-Experts models written in the moec language.\n\n"
                 "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n  %-9s   %s%s\n", COMMANDS[i].name, COMMANDS[i].usage, "",
                COMMANDS[i].summary, COMMANDS[i].not_yet ? " (not available yet)" : "");
    rt_cmd_ir_help(out);
    fprintf(out, "\n  moec --help       this text\n  moec --version    version and built backends\n"
                 "\nThe language is described in doc/language.md.\n");
}

static void print_version(void)
{
    printf("moec %s\n", PACKAGE_VERSION);
#ifdef HAVE_LLVM
    printf("cpu backend:  LLVM %s, ORC LLJIT, kernel cache in $XDG_CACHE_HOME/moec; runs eval, grad and bench\n",
           MOEC_LLVM_VERSION);
#else
    printf("cpu backend:  not built (LLVM not found at configure time)\n");
#endif
#ifdef HAVE_CUDA
    printf("cuda backend: toolkit %s, CUDA C printer, templates, NVRTC (emit --target cuda); driver API and cuBLAS opened at run time "
           "(libcuda.so.1); the step executor runs bench (not yet on a GPU); eval, grad and train not yet\n", MOEC_CUDA_DIR);
#else
    printf("cuda backend: not built (CUDA toolkit not found at configure time)\n");
#endif
    printf("interpreter:  reference graph interpreter, float64 and float32 (eval, grad)\n");
#ifdef HAVE_MPI
    printf("distributed:  %s; mpirun -np N moec train ... trains data parallel\n", rt_comm_build_name());
#else
    printf("distributed:  %s; moec train runs in one process\n", rt_comm_build_name());
#endif
}

int rt_cmd_not_yet(const char *name, const char *why)
{
    fprintf(stderr, "moec: '%s' is not available yet: %s\n", name, why);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        print_version();
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(name, COMMANDS[i].name) != 0) continue;
        if (COMMANDS[i].not_yet) return rt_cmd_not_yet(name, COMMANDS[i].not_yet);
        return COMMANDS[i].run(argc - 2, argv + 2);
    }
    fprintf(stderr, "moec: unknown command '%s'; see 'moec --help'\n", name);
    return 2;
}
