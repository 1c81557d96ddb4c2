/* runtime/commands.h -- the `moec` subcommands, one function each.
 * Each takes the arguments after its name and returns the process exit
 * status: 0 success, 1 the input was wrong (diagnostics printed),
 * 2 usage error or not available in this build. */
#ifndef MOEC_COMMANDS_H
#define MOEC_COMMANDS_H

#include <stdio.h>

int rt_cmd_check(int argc, char **argv);
int rt_cmd_ir(int argc, char **argv);
int rt_cmd_data(int argc, char **argv);
int rt_cmd_tokenize(int argc, char **argv);
int rt_cmd_init(int argc, char **argv);
int rt_cmd_eval(int argc, char **argv);
int rt_cmd_grad(int argc, char **argv);
int rt_cmd_bench(int argc, char **argv);
int rt_cmd_emit(int argc, char **argv);
int rt_cmd_train(int argc, char **argv);
int rt_cmd_sample(int argc, char **argv);
int rt_cmd_report(int argc, char **argv);

/* The GPT-2 vocabulary of `moec data`, `tokenize` and `sample`: --vocab PATH
 * (opt, may be NULL), else $MOEC_VOCAB, else ./data/gpt2 (doc/data.md,
 * "Vocabulary files"). Returns 0, or 1 after printing why. */
struct rt_vocab;
struct moec_diag;
int rt_cmd_load_vocab(struct rt_vocab *v, const char *opt, struct moec_diag *diag);

/* The stages `moec ir` prints, from the pass table, for `moec --help`. */
void rt_cmd_ir_help(FILE *out);

/* Prints "moec: 'NAME' is not available yet: WHY" and returns 2. */
int rt_cmd_not_yet(const char *name, const char *why);

#endif
