/* runtime/report/token_types.c -- expert use by Python token type
 * (runtime/report/token_types.h; doc/names-and-metrics.md, "Expert use by
 * token type"). Two parts: a Python lexer that classifies bytes as CPython
 * 3.11's `tokenize` module would, and the analysis that runs a trained
 * run's forward step over the code domain of its eval split and counts
 * top-1 experts per (layer, category). */
#include "runtime/report/token_types.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/cli_args.h"
#include "runtime/commands.h"
#include "runtime/cpu_step.h"
#include "runtime/data/dataset.h"
#include "runtime/data/vocab.h"
#include "runtime/train/metrics.h"
#include "runtime/weights/weights.h"

/* ---- the lexer ----
 * It follows the pseudo-token rule of CPython 3.11's Lib/tokenize.py: at
 * each position, after blanks [ \f\t], the first of these that matches is
 * the token: a backslash-newline (a line continuation, no token), a comment,
 * a triple-quoted string, a number, a newline, an operator, a single-quoted
 * string, a name (\w+); anything else is one byte of error (other). The
 * order matters: ".5" is a number, not an operator, and "rb'x'" a string,
 * not a name. tokenize's line-start rules (indentation, blank and comment
 * lines) only emit tokens that cover no byte or the same bytes, so the
 * lexer needs no notion of lines except inside strings. Bytes >= 0x80 are
 * taken as identifier characters: UTF-8 letters, which \w matches (other
 * non-ASCII characters outside strings and comments are rare in code). A
 * lone CR (not before LF) is an error byte; tokenize, at the start of a
 * line outside brackets, takes it as a blank line and the rest of the line
 * as part of that NL, and lets a comment there run past it: old Mac line
 * ends, which the lexer does not follow. */

static const char *const TYPE_NAMES[RP_TT_COUNT] = {
    "keyword", "name", "number", "string", "operator", "comment", "other",
};

const char *rp_token_type_name(rp_token_type t)
{
    return t >= 0 && t < RP_TT_COUNT ? TYPE_NAMES[t] : "?";
}

/* keyword.kwlist of Python 3.11 (soft keywords such as match are names). */
static const char *const KEYWORDS[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
    "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
};

static bool is_keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
        if (strlen(KEYWORDS[i]) == n && !memcmp(KEYWORDS[i], s, n)) return true;
    return false;
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c >= 0x80;
}

/* The end of [0-9](?:_?[0-9])* at i, or 0 when there is no digit at i
 * (0 is never the end of a non-empty match). */
static size_t digit_run(const char *t, size_t n, size_t i)
{
    if (i >= n || !is_digit((unsigned char)t[i])) return 0;
    i++;
    for (;;) {
        if (i < n && is_digit((unsigned char)t[i])) i++;
        else if (i + 1 < n && t[i] == '_' && is_digit((unsigned char)t[i + 1])) i += 2;
        else return i;
    }
}

/* The end of (?:_?[digits])+ at i for the digits `ok` accepts, or 0. */
static size_t radix_run(const char *t, size_t n, size_t i, bool (*ok)(unsigned char))
{
    size_t end = 0;
    for (;;) {
        if (i < n && ok((unsigned char)t[i])) end = ++i;
        else if (i + 1 < n && t[i] == '_' && ok((unsigned char)t[i + 1])) end = (i += 2);
        else return end;
    }
}

static bool hex_digit(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static bool bin_digit(unsigned char c) { return c == '0' || c == '1'; }
static bool oct_digit(unsigned char c) { return c >= '0' && c <= '7'; }

/* [eE][-+]?[0-9](?:_?[0-9])* at i: its end, or 0. */
static size_t exponent(const char *t, size_t n, size_t i)
{
    if (i >= n || (t[i] != 'e' && t[i] != 'E')) return 0;
    i++;
    if (i < n && (t[i] == '+' || t[i] == '-')) i++;
    return digit_run(t, n, i);
}

/* Floatnumber at i: Pointfloat (digits '.' [digits] | '.' digits, then an
 * optional exponent), else Expfloat (digits exponent). Its end, or 0. */
static size_t float_number(const char *t, size_t n, size_t i)
{
    size_t d = digit_run(t, n, i), end = 0;
    if (d && d < n && t[d] == '.') {
        size_t f = digit_run(t, n, d + 1);
        end = f ? f : d + 1;
    } else if (!d && i < n && t[i] == '.') {
        end = digit_run(t, n, i + 1);
    }
    if (end) {
        size_t e = exponent(t, n, end);
        return e ? e : end;
    }
    return d ? exponent(t, n, d) : 0;
}

/* tokenize's Number at i (Imagnumber, Floatnumber, Intnumber, the first
 * that matches): its end, or 0. */
static size_t number(const char *t, size_t n, size_t i)
{
    size_t d = digit_run(t, n, i);
    if (d && d < n && (t[d] == 'j' || t[d] == 'J')) return d + 1;
    size_t f = float_number(t, n, i);
    if (f && f < n && (t[f] == 'j' || t[f] == 'J')) return f + 1;
    if (f) return f;
    if (!d) return 0;
    if (t[i] == '0' && i + 1 < n) {
        char x = t[i + 1];
        size_t r = x == 'x' || x == 'X' ? radix_run(t, n, i + 2, hex_digit)
                 : x == 'b' || x == 'B' ? radix_run(t, n, i + 2, bin_digit)
                 : x == 'o' || x == 'O' ? radix_run(t, n, i + 2, oct_digit) : 0;
        if (r) return r;
    }
    if (t[i] != '0') return d;   /* [1-9](?:_?[0-9])* is the digit run */
    size_t j = i + 1;            /* 0(?:_?0)* */
    for (;;) {
        if (j < n && t[j] == '0') j++;
        else if (j + 1 < n && t[j] == '_' && t[j + 1] == '0') j += 2;
        else return j;
    }
}

/* An operator or delimiter of Python 3.11 (token.EXACT_TOKEN_TYPES) at i,
 * the longest: its length, or 0. */
static size_t operator_len(const char *t, size_t n, size_t i)
{
    static const char *const three[] = { "**=", "...", "//=", "<<=", ">>=" };
    static const char *const two[] = { "!=", "%=", "&=", "**", "*=", "+=", "-=", "->", "//", "/=",
                                       ":=", "<<", "<=", "==", ">=", ">>", "@=", "^=", "|=" };
    for (size_t k = 0; i + 3 <= n && k < sizeof three / sizeof three[0]; k++)
        if (!memcmp(t + i, three[k], 3)) return 3;
    for (size_t k = 0; i + 2 <= n && k < sizeof two / sizeof two[0]; k++)
        if (!memcmp(t + i, two[k], 2)) return 2;
    return strchr("%&()*+,-./:;<=>@[]^{|}~", t[i]) && t[i] ? 1 : 0;
}

/* A string prefix (b r u f br rb fr rf, any case) and an opening quote at i:
 * the position of the quote, or n when there is none. */
static size_t string_quote(const char *t, size_t n, size_t i)
{
    char p[2] = { 0, 0 };
    size_t len = 0;
    while (len < 2 && i + len < n && t[i + len] && strchr("bBrRuUfF", t[i + len])) p[len] = (char)(t[i + len] | 0x20), len++;
    for (;; len--) {   /* the longest valid prefix that a quote follows */
        size_t q = i + len;
        bool valid = len < 2 || (p[0] == 'b' && p[1] == 'r') || (p[0] == 'r' && p[1] == 'b') ||
                     (p[0] == 'f' && p[1] == 'r') || (p[0] == 'r' && p[1] == 'f');
        if (valid && q < n && (t[q] == '\'' || t[q] == '"')) return q;
        if (len == 0) return n;
    }
}

/* The end of the string whose opening quote is at q. Triple-quoted: after
 * the closing three quotes, or the end of the text. Single-quoted: after the
 * closing quote; a backslash-newline continues it on the next line; an
 * unescaped newline ends it unterminated, before the newline. A backslash
 * escapes the next byte in both. */
static size_t string_end(const char *t, size_t n, size_t q)
{
    char c = t[q];
    bool triple = q + 2 < n && t[q + 1] == c && t[q + 2] == c;
    size_t i = q + (triple ? 3 : 1);
    while (i < n) {
        if (t[i] == '\\') {   /* escapes the next byte, or a CR LF */
            i += i + 2 < n && t[i + 1] == '\r' && t[i + 2] == '\n' ? 3 : 2;
            if (i > n) i = n;
        } else if (t[i] == c && (!triple || (i + 2 < n && t[i + 1] == c && t[i + 2] == c))) {
            return i + (triple ? 3 : 1);
        } else if (t[i] == '\n' && !triple) {
            return i;
        } else {
            i++;
        }
    }
    return n;
}

static void mark(uint8_t *out, size_t from, size_t to, rp_token_type t)
{
    memset(out + from, (int)t, to - from);
}

void rp_classify_python(const char *text, size_t n, uint8_t *out)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)text[i];
        size_t end, q;
        if (c == ' ' || c == '\t' || c == '\f') {
            out[i++] = RP_TT_OTHER;
        } else if (c == '\\' && i + 1 < n && (text[i + 1] == '\n' || (text[i + 1] == '\r' && i + 2 < n && text[i + 2] == '\n'))) {
            end = i + (text[i + 1] == '\n' ? 2 : 3);   /* a line continuation */
            mark(out, i, end, RP_TT_OTHER);
            i = end;
        } else if (c == '#') {
            for (end = i; end < n && text[end] != '\n' && text[end] != '\r'; end++) {}
            mark(out, i, end, RP_TT_COMMENT);
            i = end;
        } else if ((q = string_quote(text, n, i)) < n) {
            end = string_end(text, n, q);
            mark(out, i, end, RP_TT_STRING);
            i = end;
        } else if ((end = number(text, n, i)) != 0) {
            mark(out, i, end, RP_TT_NUMBER);
            i = end;
        } else if (c == '\n' || (c == '\r' && i + 1 < n && text[i + 1] == '\n')) {
            end = i + (c == '\n' ? 1 : 2);
            mark(out, i, end, RP_TT_OTHER);
            i = end;
        } else if ((end = operator_len(text, n, i)) != 0) {
            mark(out, i, i + end, RP_TT_OPERATOR);
            i += end;
        } else if (is_word(c)) {
            for (end = i; end < n && is_word((unsigned char)text[end]); end++) {}
            mark(out, i, end, is_keyword(text + i, end - i) ? RP_TT_KEYWORD : RP_TT_NAME);
            i = end;
        } else {
            out[i++] = RP_TT_OTHER;   /* an error token: $, ?, !, a lone \r, ... */
        }
    }
}

/* ---- the analysis ----
 * RUN/config.json gives the model (its text and --set values), the data
 * directory and the run's B and T. The eval split's blocks of the domain
 * "code" are taken in order, whole, while they fit in max_tokens (at least
 * one); a block of S tokens is fed as floor(S / T) sequences of T tokens
 * (the rest of it is left out), but its text is classified whole, so every
 * token is classified in its block's context. <|endoftext|> ends a text: the
 * lexer starts afresh after it, and the token itself is "other". The
 * forward step (evaluation semantics, keep_stats) runs B sequences at a
 * time; the last batch is filled up with copies of the first sequence,
 * which are not counted. */

/* What the analysis reads from RUN/config.json. */
typedef struct run_config {
    json_t *root;
    const char *text;      /* model_source: the model file's text */
    const char *name;      /* model_file, what messages call the model */
    const char *data;      /* the data directory */
    int64_t batch, seq, steps;
    char **set_text;       /* [n_sets] copies of "name=value", split in place into sets */
    fe_override *sets;     /* [n_sets] */
    int n_sets;
} run_config;

static void config_free(run_config *c)
{
    for (int i = 0; i < c->n_sets; i++) free(c->set_text[i]);
    free(c->set_text);
    free(c->sets);
    json_decref(c->root);
    memset(c, 0, sizeof *c);
}

static int64_t positive(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

static int read_config(const char *run, run_config *c, moec_diag *diag)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", run) >= (int)sizeof path)
        return moec_error(diag, "%s: the path is too long", run);
    json_error_t err;
    c->root = json_load_file(path, 0, &err);
    if (!c->root || !json_is_object(c->root))
        return moec_error(diag, "%s: cannot read its config.json (%s): not a run directory of moec train?", run,
                          c->root ? "not a JSON object" : err.text);
    json_t *r = c->root, *sets = json_object_get(r, "sets");
    c->text = json_string_value(json_object_get(r, "model_source"));
    c->name = json_string_value(json_object_get(r, "model_file"));
    c->data = json_string_value(json_object_get(r, "data"));
    c->batch = positive(json_object_get(r, "batch"));
    c->seq = positive(json_object_get(r, "seq"));
    c->steps = positive(json_object_get(r, "steps"));
    if (!c->name || !*c->name) c->name = path;
    if (!c->text || !*c->text || !c->data || !*c->data || !c->batch || !c->seq || (sets && !json_is_array(sets)))
        return moec_error(diag, "%s: its config.json lacks model_source, data, batch or seq, or its sets are not a "
                          "list: was it written by moec train?", run);
    size_t n = json_array_size(sets);
    c->set_text = calloc(n + 1, sizeof *c->set_text);
    c->sets = calloc(n + 1, sizeof *c->sets);
    if (!c->set_text || !c->sets) return moec_error(diag, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(sets, i));
        if (!v) return moec_error(diag, "%s: config.json's sets[%zu] is not a \"name=value\" string", run, i);
        if (!(c->set_text[c->n_sets] = strdup(v))) return moec_error(diag, "out of memory");
        if (rt_cli_parse_set(c->set_text[c->n_sets++], &c->sets[i]) < 0)
            return moec_error(diag, "%s: config.json's sets[%zu] '%s' is not name=value", run, i, v);
    }
    return 0;
}

/* 1 when the model has nothing to analyse: no MoE layer, or a router
 * without per-token slots (expert choice); else 0. */
static int nothing_to_route(const fe_model *m)
{
    int moe = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].op != FE_NODE_MOE) continue;
        moe++;
        if (m->routers[m->nodes[i].attr_i[0]].kind == FE_ROUTER_EXPERT_CHOICE) return 1;
    }
    return moe == 0;
}

/* RUN/final-model.safetensors, else RUN/best-model.safetensors, into path. */
static int weights_path(const char *run, char *path, size_t cap, moec_diag *diag)
{
    static const char *const names[2] = { "final-model.safetensors", "best-model.safetensors" };
    struct stat st;
    for (int i = 0; i < 2; i++) {
        if (snprintf(path, cap, "%s/%s", run, names[i]) >= (int)cap) return moec_error(diag, "%s: the path is too long", run);
        if (stat(path, &st) == 0) return 0;
    }
    return moec_error(diag, "%s: no final-model.safetensors nor best-model.safetensors: the run has written no weights "
                      "yet", run);
}

static bool blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The tokens chosen for the analysis, sequence after sequence. */
typedef struct chosen {
    int64_t n;             /* tokens: sequences * T */
    uint16_t *ids;         /* [n] */
    uint8_t *type;         /* [n] rp_token_type */
} chosen;

/* Classifies the n tokens of one block: decodes them, lexes each text
 * (between <|endoftext|> tokens) and gives each token the category of its
 * first non-blank byte. bytes/cat are scratch of `cap` bytes. */
static void classify_block(const rt_vocab *v, const uint16_t *ids, size_t n, unsigned char *bytes, uint8_t *cat,
                           size_t *off, uint8_t *type)
{
    size_t len = 0, text_start = 0;
    for (size_t t = 0; t <= n; t++) {
        bool end = t == n || ids[t] == v->eos;
        if (end) {   /* lex the text so far on its own */
            rp_classify_python((const char *)bytes + text_start, len - text_start, cat + text_start);
            text_start = len;
        }
        off[t] = len;
        if (t == n || ids[t] == v->eos || ids[t] >= v->n_ids) continue;
        size_t k;
        const unsigned char *b = rt_vocab_token(v, ids[t], &k);
        memcpy(bytes + len, b, k);
        len += k;
    }
    for (size_t t = 0; t < n; t++) {
        type[t] = RP_TT_OTHER;
        for (size_t i = off[t]; i < (t + 1 < n ? off[t + 1] : len); i++)
            if (!blank(bytes[i])) {
                type[t] = cat[i];
                break;
            }
    }
}

/* Chooses the code blocks of the split and classifies their tokens.
 * Returns 0, 1 when the split has no block of domain `code`, -1 (reported). */
static int choose(const rt_split_data *s, int code, int64_t t, int64_t max_tokens, const rt_vocab *v, chosen *out,
                  moec_diag *diag)
{
    int64_t per_block = (int64_t)s->seq / t * t, blocks = 0;
    for (size_t b = 0; b < s->n_blocks; b++)
        if (s->block_domain[b] == code && (blocks == 0 || (blocks + 1) * per_block <= max_tokens)) blocks++;
    if (blocks == 0) return 1;
    size_t longest = 1;
    for (uint32_t id = 0; id < v->n_ids; id++) {
        size_t k;
        rt_vocab_token(v, id, &k);
        longest = k > longest ? k : longest;
    }
    size_t cap = (size_t)s->seq * longest + 1;
    out->ids = malloc(sizeof *out->ids * (size_t)(blocks * per_block));
    out->type = malloc((size_t)(blocks * per_block));
    unsigned char *bytes = malloc(cap);
    uint8_t *cat = malloc(cap), *type = malloc(s->seq);
    size_t *off = malloc(sizeof *off * ((size_t)s->seq + 1));
    int rc = out->ids && out->type && bytes && cat && type && off ? 0 : moec_error(diag, "out of memory");
    for (size_t b = 0; rc == 0 && b < s->n_blocks && out->n < blocks * per_block; b++) {
        if (s->block_domain[b] != code) continue;
        const uint16_t *ids = s->tokens + b * s->seq;
        classify_block(v, ids, s->seq, bytes, cat, off, type);
        memcpy(out->ids + out->n, ids, sizeof *ids * (size_t)per_block);
        memcpy(out->type + out->n, type, (size_t)per_block);
        out->n += per_block;
    }
    free(bytes);
    free(cat);
    free(type);
    free(off);
    return rc;
}

/* One MoE layer of the compiled step. */
typedef struct step_layer {
    const char *scope;
    int64_t experts, k;
    bool per_sequence;     /* one router row per sequence (unit sequence, label) */
    int assign;            /* the buffer SCOPE.assign, i32 [rows, k] */
} step_layer;

static int find_layers(const rt_cpu_step *s, int64_t b, int64_t t, step_layer *layers, moec_diag *diag)
{
    const ir_lowered *l = &s->pipe.step.fwd;
    char name[512];
    for (int i = 0; i < l->n_moe; i++) {
        const ir_moe_layer *ml = &l->moe[i];
        step_layer *y = &layers[i];
        y->scope = ml->scope;
        y->experts = ml->experts;
        y->per_sequence = ml->routing.rows == b && b != b * t;
        snprintf(name, sizeof name, "%s.assign", ml->scope);
        y->assign = rt_cpu_step_find(s, name);
        int64_t rows = ml->routing.rows, n = y->assign >= 0 ? rt_cpu_step_numel(s, y->assign) : 0;
        if (y->assign < 0 || s->pipe.kernels.bufs[y->assign].dtype != IR_I32 || (rows != b * t && rows != b) ||
            n % rows != 0 || n == 0)
            return moec_error(diag, "the compiled step keeps no per-row %s.assign", ml->scope);
        y->k = n / rows;
    }
    return 0;
}

/* L of each layer, as the metric names give it (runtime/train/metrics.h). */
static int layer_names(const fe_model *m, const step_layer *layers, int n, int64_t b, int64_t t, int *index,
                       moec_diag *diag)
{
    rt_metrics *mt = rt_metrics_new(m, NULL, 0, b, t, diag);
    rt_layer_use *u = malloc(sizeof *u);   /* large: FE_MAX_EXPERTS fractions */
    int rc = mt && u ? 0 : -1;
    if (mt && !u) moec_error(diag, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        index[i] = i;
        for (int j = 0; j < rt_metrics_n_layers(mt); j++) {
            rt_metrics_layer_use(mt, j, -1, u);   /* fills scope and layer even without rows */
            if (u->scope && !strcmp(u->scope, layers[i].scope)) index[i] = u->layer;
        }
    }
    free(u);
    rt_metrics_free(mt);
    return rc;
}

/* Runs the chosen tokens through the step, B sequences at a time, and
 * counts each token's top-1 expert per layer. */
static int run_batches(rt_cpu_step *s, const step_layer *layers, rp_token_use *out, const chosen *ch, int64_t b,
                       int64_t t, int code, int64_t step, FILE *dump, moec_diag *diag)
{
    int64_t seqs = ch->n / t, n = b * t;
    double *tokens = malloc(sizeof(double) * (size_t)n), *targets = malloc(sizeof(double) * (size_t)n);
    double *domain = malloc(sizeof(double) * (size_t)b), st = (double)step;
    int rc = tokens && targets && domain ? 0 : moec_error(diag, "out of memory");
    for (int64_t first = 0; rc == 0 && first < seqs; first += b) {
        int64_t used = seqs - first < b ? seqs - first : b;
        for (int64_t q = 0; q < b; q++) {
            const uint16_t *ids = ch->ids + (q < used ? first + q : first) * t;
            domain[q] = code;
            for (int64_t p = 0; p < t; p++) {
                tokens[q * t + p] = ids[p];
                targets[q * t + p] = p + 1 < t ? ids[p + 1] : -1.0;
            }
        }
        if (rt_cpu_step_set(s, "tokens", tokens, n) < 0 || rt_cpu_step_set(s, "targets", targets, n) < 0 ||
            rt_cpu_step_set(s, "domain", domain, b) < 0 || rt_cpu_step_set(s, "step", &st, 1) < 0 ||
            rt_cpu_step_run(s) < 0) {
            rc = moec_error(diag, "the forward step failed");
            break;
        }
        for (int64_t q = 0; rc == 0 && q < used; q++)
            for (int64_t p = 0; rc == 0 && p < t; p++) {
                int64_t at = (first + q) * t + p;
                int type = ch->type[at];
                if (dump) fprintf(dump, "%lld %lld %u %d", (long long)(first + q), (long long)p, ch->ids[at], type);
                for (int i = 0; i < out->layers; i++) {
                    const int32_t *as = rt_exec_data(s->exec, layers[i].assign);
                    int64_t row = layers[i].per_sequence ? q : q * t + p;
                    int32_t e = as[row * layers[i].k];
                    if (e < 0 || e >= layers[i].experts) {
                        rc = moec_error(diag, "%s.assign holds %d, not an expert of %lld", layers[i].scope, e,
                                        (long long)layers[i].experts);
                        break;
                    }
                    out->count[((size_t)i * RP_TT_COUNT + (size_t)type) * (size_t)out->experts + (size_t)e] += 1;
                    if (dump) fprintf(dump, " %d", e);
                }
                if (dump) fputc('\n', dump);
                out->tokens++;
            }
    }
    free(tokens);
    free(targets);
    free(domain);
    return rc;
}

void rp_token_use_free(rp_token_use *u)
{
    if (!u) return;
    free(u->layer_index);
    free(u->layer_experts);
    free(u->count);
    memset(u, 0, sizeof *u);
}

/* Everything the analysis holds, freed at once. */
typedef struct analysis {
    run_config cfg;
    rt_frontend fe;
    bool have_fe;
    rt_split_data split;
    rt_vocab vocab;
    bool have_vocab;
    chosen ch;
    rt_cpu_step step;
    bool have_step;
    rt_weights w;
    step_layer *layers;
} analysis;

static void analysis_free(analysis *a)
{
    free(a->layers);
    rt_weights_free(&a->w);
    if (a->have_step) rt_cpu_step_free(&a->step);
    free(a->ch.ids);
    free(a->ch.type);
    if (a->have_vocab) rt_vocab_free(&a->vocab);
    rt_split_free(&a->split);
    if (a->have_fe) rt_frontend_free(&a->fe);
    config_free(&a->cfg);
}

/* The analysis up to the counts; `out` is zeroed by the caller. */
static int analyse(analysis *a, const char *run, int64_t max_tokens, int threads, FILE *dump, rp_token_use *out,
                   moec_diag *diag)
{
    if (max_tokens < 1) return moec_error(diag, "%s: the token-type analysis needs max_tokens >= 1, got %lld", run,
                                          (long long)max_tokens);
    if (read_config(run, &a->cfg, diag) < 0) return -1;
    const run_config *c = &a->cfg;
    FILE *errors = diag && diag->out ? diag->out : stderr;
    a->have_fe = true;
    if (rt_frontend_parse_text(&a->fe, c->name, c->text, 0, true, errors) != 0 ||
        rt_frontend_finish(&a->fe, c->sets, c->n_sets) != 0)
        return moec_error(diag, "%s: the model of its config.json does not elaborate", run);
    const fe_model *m = &a->fe.model;
    if (nothing_to_route(m)) return 1;
    if (rt_split_load(c->data, "eval", (uint32_t)m->vocab, &a->split, diag) < 0)
        return moec_error(diag, "%s: cannot read the eval split of its data %s", run, c->data);
    int code = -1;
    for (size_t d = 0; d < a->split.n_domains; d++)
        if (!strcmp(a->split.domains[d], "code")) code = (int)d;
    if (code < 0) return 1;
    if ((int64_t)a->split.seq < c->seq)
        return moec_error(diag, "%s: its data's blocks of %u tokens are shorter than its sequences of %lld", run,
                          a->split.seq, (long long)c->seq);
    char wpath[4096];
    if (weights_path(run, wpath, sizeof wpath, diag) < 0) return -1;
    const char *prefix = diag ? diag->prefix : NULL;
    int vrc = rt_cmd_load_vocab(&a->vocab, NULL, diag);   /* $MOEC_VOCAB, ./data/gpt2, beside moec */
    if (diag) diag->prefix = prefix;
    if (vrc != 0) return moec_error(diag, "%s: no GPT-2 vocabulary to decode its tokens with", run);
    a->have_vocab = true;
    int rc = choose(&a->split, code, c->seq, max_tokens, &a->vocab, &a->ch, diag);
    if (rc != 0) return rc;
    if (!rt_cpu_step_available())
        return moec_error(diag, "%s: the token-type analysis runs the compiled forward step: the CPU backend is not "
                          "built (configure found no LLVM)", run);
    rt_pipeline_options po = { .model = c->name, .model_text = c->text, .sets = c->sets, .n_sets = c->n_sets,
                               .no_warnings = true, .batch = c->batch, .seq = c->seq, .errors = errors,
                               .step = RT_STEP_EVAL, .keep_stats = true };
    rt_cpu_step_options co = { .threads = threads };
    a->have_step = true;
    if (rt_cpu_step_build(&a->step, &po, &co) < 0)
        return moec_error(diag, "%s: the model's forward step does not compile", run);
    if (rt_weights_alloc(&a->w, m, diag) < 0 || rt_weights_load(&a->w, wpath, NULL, diag) < 0 ||
        rt_cpu_step_set_params(&a->step, &a->w) < 0)
        return moec_error(diag, "%s: cannot load %s into its model", run, wpath);
    int n = a->step.pipe.step.fwd.n_moe;
    if (!(a->layers = calloc((size_t)n + 1, sizeof *a->layers))) return moec_error(diag, "out of memory");
    if (find_layers(&a->step, c->batch, c->seq, a->layers, diag) < 0) return -1;
    out->layers = n;
    out->layer_index = calloc((size_t)n + 1, sizeof *out->layer_index);
    out->layer_experts = calloc((size_t)n + 1, sizeof *out->layer_experts);
    for (int i = 0; i < n; i++) out->experts = a->layers[i].experts > out->experts ? (int)a->layers[i].experts : out->experts;
    out->count = calloc((size_t)n * RP_TT_COUNT * (size_t)out->experts + 1, sizeof *out->count);
    if (!out->layer_index || !out->layer_experts || !out->count) return moec_error(diag, "out of memory");
    for (int i = 0; i < n; i++) out->layer_experts[i] = (int)a->layers[i].experts;
    if (layer_names(m, a->layers, n, c->batch, c->seq, out->layer_index, diag) < 0) return -1;
    if (dump) fprintf(dump, "# T=%lld S=%u code=%d\n", (long long)c->seq, a->split.seq, code);
    return run_batches(&a->step, a->layers, out, &a->ch, c->batch, c->seq, code, c->steps, dump, diag);
}

int rp_token_use_compute_dump(const char *run_dir, int64_t max_tokens, int threads, FILE *dump, rp_token_use *out,
                              moec_diag *diag)
{
    memset(out, 0, sizeof *out);
    analysis a;
    memset(&a, 0, sizeof a);
    int rc = analyse(&a, run_dir, max_tokens, threads, dump, out, diag);
    analysis_free(&a);
    if (rc != 0) rp_token_use_free(out);
    return rc;
}

int rp_token_use_compute(const char *run_dir, int64_t max_tokens, int threads, rp_token_use *out, moec_diag *diag)
{
    return rp_token_use_compute_dump(run_dir, max_tokens, threads, NULL, out, diag);
}
