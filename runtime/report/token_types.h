/* runtime/report/token_types.h -- which expert each kind of Python token goes
 * to: seed 000's analysis of code specialisation, for `moec report`.
 *
 * The code domain's evaluation tokens of a run's data are decoded to text;
 * a Python lexer (the categories of Python's `tokenize`, folded into seven)
 * classifies every character; each BPE token takes the category of its
 * first non-blank character; a forward pass of the run's weights gives each
 * token's top-1 expert (slot 0 of SCOPE.assign) per MoE layer; the module
 * counts tokens per (layer, category, expert). */
#ifndef MOEC_RUNTIME_REPORT_TOKEN_TYPES_H
#define MOEC_RUNTIME_REPORT_TOKEN_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "support/diag.h"

/* The seven categories, in report order. */
typedef enum rp_token_type {
    RP_TT_KEYWORD,   /* keyword.kwlist: def, return, if, ... (and soft keywords: no) */
    RP_TT_NAME,      /* NAME tokens that are not keywords */
    RP_TT_NUMBER,    /* NUMBER */
    RP_TT_STRING,    /* STRING, f-strings and their prefixes included */
    RP_TT_OPERATOR,  /* OP: operators and delimiters */
    RP_TT_COMMENT,   /* COMMENT */
    RP_TT_OTHER,     /* whitespace, newlines, indentation, anything else */
    RP_TT_COUNT
} rp_token_type;

/* "keyword", "name", "number", "string", "operator", "comment", "other". */
const char *rp_token_type_name(rp_token_type t);

/* Classifies Python source text[0, n) byte by byte: out[i] = the category of
 * the token that byte i belongs to (RP_TT_OTHER between tokens). Never
 * fails: text that is not valid Python is classified as far as a lexer can
 * (an unterminated string runs to the end of its line, or of the text for a
 * triple-quoted one). */
void rp_classify_python(const char *text, size_t n, uint8_t *out);

/* Expert use by token type of one run. */
typedef struct rp_token_use {
    int layers;            /* MoE layers of the model, in model order */
    int experts;           /* E of the widest layer */
    int *layer_index;      /* [layers]: the L of router/layer_L_* (doc/names-and-metrics.md) */
    int *layer_experts;    /* [layers]: E of each layer */
    double *count;         /* [layers][RP_TT_COUNT][experts]: tokens whose top-1 expert is e */
    int64_t tokens;        /* code tokens analysed */
} rp_token_use;

/* Runs the run directory's final weights (its best weights when there are no
 * final ones) over at most max_tokens tokens of the code domain of the eval
 * split of the data the run trained on (config.json "data", its
 * domains.json), on the CPU backend with `threads` threads (0: all cores).
 * Returns 1 when there is nothing to analyse (no domain named "code", a
 * dense model, a router without slots such as expert choice), 0 with *out
 * filled, or -1 after reporting through diag naming the run. */
int rp_token_use_compute(const char *run_dir, int64_t max_tokens, int threads, rp_token_use *out, moec_diag *diag);
void rp_token_use_free(rp_token_use *u);

/* rp_token_use_compute that also writes, when dump is not NULL, one line per
 * analysed token, "SEQ POS ID TYPE E_0 .. E_{layers-1}" (the sequence fed
 * to the step, the position in it, the token id, its rp_token_type, its
 * top-1 expert in each MoE layer), after a first line "# T=.. S=.. code=.."
 * (the sequence length, the data's block length and the code domain's
 * index: each block gave floor(S / T) sequences), so that tests can check
 * the analysis against independent references (tests/report/). */
int rp_token_use_compute_dump(const char *run_dir, int64_t max_tokens, int threads, FILE *dump, rp_token_use *out,
                              moec_diag *diag);

#endif
