/* runtime/report/token_types.c -- expert use by Python token type
 * (runtime/report/token_types.h; doc/names-and-metrics.md, "Expert use by
 * token type"). Two parts: a Python lexer that classifies bytes as CPython
 * 3.11's `tokenize` module would, and the analysis that runs a trained
 * run's forward step over the code domain of its eval split and counts
 * top-1 experts per (layer, category). */
#include "runtime/report/token_types.h"

#include <stdbool.h>
#include <string.h>

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
 * non-ASCII characters outside strings and comments are rare in code). */

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
