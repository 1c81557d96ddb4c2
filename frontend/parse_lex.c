/* frontend/parse_lex.c -- the work behind lexer.l's rules.
 * Tracks line and byte column, converts literals (integers that fit in 63
 * bits, floats in double's range, strings with their escapes) and reports
 * lexical errors in the user's words. Reads the source text, writes token
 * values into the parse's arena. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parse_state.h"

enum { SHOWN_MAX = 24 };   /* bytes of a literal quoted in a message */

void fe_lex_advance(fe_parse_state *ps, size_t len)
{
    const char *p = ps->src->text + ps->off;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            ps->line++;
            ps->col = 1;
        } else {
            ps->col++;
        }
    }
    ps->off += len;
}

void fe_lex_token(fe_parse_state *ps, moec_loc loc, size_t len)
{
    ps->prev_end = ps->tok_end;
    ps->prev_off = ps->tok_off;
    ps->prev_len = ps->tok_len;
    ps->prev_loc = ps->tok_loc;
    ps->tok_loc = loc;
    ps->tok_after_bad = ps->bad_bytes;
    ps->bad_bytes = false;
    ps->tok_end = (moec_loc){ps->line, ps->col};
    ps->tok_off = ps->off - len;
    ps->tok_len = len;
}

const char *fe_lex_ident(fe_parse_state *ps, const char *text, size_t len)
{
    char *s = moec_arena_strndup(ps->arena, text, len);
    if (!s) fe_parse_oom(ps);
    return s;
}

/* "1234567..." cut to SHOWN_MAX bytes, for messages about long literals. */
static void shown(char out[SHOWN_MAX + 4], const char *text, size_t len)
{
    size_t n = len > SHOWN_MAX ? SHOWN_MAX : len;
    memcpy(out, text, n);
    strcpy(out + n, len > SHOWN_MAX ? "..." : "");
}

int64_t fe_lex_int(fe_parse_state *ps, moec_loc loc, const char *text, size_t len)
{
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        int digit = text[i] - '0';
        if (v > (INT64_MAX - digit) / 10) {
            char buf[SHOWN_MAX + 4];
            shown(buf, text, len);
            moec_error_at(ps->d, loc, "integer %s is too large: integers must fit in 63 bits (at most %lld)",
                        buf, (long long)INT64_MAX);
            return 0;
        }
        v = v * 10 + digit;
    }
    return v;
}

double fe_lex_float(fe_parse_state *ps, moec_loc loc, const char *text, size_t len)
{
    errno = 0;
    double v = strtod(text, NULL);
    /* Underflow to a denormal is harmless; overflow, or a non-zero literal
     * that became 0, is not what the user wrote. */
    if (isinf(v) || (errno == ERANGE && v == 0.0)) {
        char buf[SHOWN_MAX + 4];
        shown(buf, text, len);
        moec_error_at(ps->d, loc, "float %s is out of range (a double holds magnitudes from about 1e-308 to 1e308)", buf);
        return 0.0;
    }
    return v;
}

/* The place `i` bytes into a token starting at `loc` (tokens with such
 * offsets never span lines). */
static moec_loc at(moec_loc loc, size_t i)
{
    return (moec_loc){loc.line, loc.col + (int)i};
}

/* Resolves one escape at text[i] == '\\'; returns the byte, or -1 after an error. */
static int escape(fe_parse_state *ps, moec_loc loc, const char *text, size_t len, size_t i)
{
    if (i + 1 >= len) return -1;   /* a backslash at the end: the caller reports the string */
    switch (text[i + 1]) {
    case '"': return '"';
    case '\\': return '\\';
    case 'n': return '\n';
    case 't': return '\t';
    }
    unsigned char c = (unsigned char)text[i + 1];
    if (c >= 0x20 && c < 0x7f)
        moec_error_at(ps->d, at(loc, i), "unknown escape '\\%c' in a string; the escapes are \\\" \\\\ \\n \\t", c);
    else
        moec_error_at(ps->d, at(loc, i), "unknown escape '\\' followed by byte \\x%02X in a string; the escapes are \\\" \\\\ \\n \\t", c);
    return -1;
}

/* Whether the match ends with its closing quote (not an escaped one). */
static bool closed(const char *text, size_t len)
{
    if (len < 2 || text[len - 1] != '"') return false;
    size_t backslashes = 0;
    for (size_t i = len - 1; i > 1 && text[i - 1] == '\\'; i--) backslashes++;
    return backslashes % 2 == 0;
}

static void report_unclosed(fe_parse_state *ps, moec_loc loc, int next)
{
    if (next == '\n' || next == '\r')
        moec_error_at(ps->d, loc, "string not closed before the end of the line; strings stay on one line (write \\n for a newline)");
    else {
        moec_error_at(ps->d, loc, "unterminated string: no closing '\"' before the end of the file");
        ps->quiet_eof = true;
    }
}

const char *fe_lex_string(fe_parse_state *ps, moec_loc loc, const char *text, size_t len, int next)
{
    bool ok = closed(text, len);
    size_t end = ok ? len - 1 : len;
    if (!ok) report_unclosed(ps, loc, next);
    char *out = fe_parse_alloc(ps, end + 1);
    if (!out) return NULL;
    size_t n = 0;
    bool nul_reported = false;
    for (size_t i = 1; i < end; i++) {
        if (text[i] == '\\') {
            int c = escape(ps, loc, text, end, i);
            if (c >= 0) out[n++] = (char)c;
            i++;
        } else if (text[i] == '\0') {
            if (!nul_reported) moec_error_at(ps->d, at(loc, i), "a NUL byte inside a string");
            nul_reported = true;
        } else {
            out[n++] = text[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t want = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5 || want == 0 || want > n) return 0;
    for (size_t i = 1; i < want; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return want;
}

/* Number of characters when the run is printable (ASCII graphic characters
 * and valid UTF-8), else 0. */
static size_t printable_chars(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t chars = 0;
    for (size_t i = 0; i < len; chars++) {
        if (s[i] > 0x20 && s[i] < 0x7f) { i++; continue; }
        size_t k = utf8_len(s + i, len - i);
        if (k == 0) return 0;
        i += k;
    }
    return chars;
}

/* Hints for characters from other languages that mean something in ours. */
static const char *hint_for(const char *text, size_t len)
{
    if (len == 2 && !memcmp(text, "&&", 2)) return "; write 'and'";
    if (len == 2 && !memcmp(text, "||", 2)) return "; write 'or'";
    if (len == 1 && text[0] == '!') return "; write 'not' (or '!=' to compare)";
    if (len == 1 && text[0] == '\'') return "; strings use double quotes";
    if (len == 1 && text[0] == ':') return "; blocks use '{' ... '}' (or '= expr')";
    return "";
}

void fe_lex_bad_bytes(fe_parse_state *ps, moec_loc loc, const char *text, size_t len)
{
    enum { BYTES_SHOWN = 8 };
    ps->bad_bytes = true;   /* the parser stays quiet about the token after */
    size_t chars = printable_chars(text, len);
    if (chars > 0) {
        int n = len > SHOWN_MAX ? SHOWN_MAX : (int)len;
        moec_error_at(ps->d, loc, "unexpected character%s '%.*s%s'%s", chars > 1 ? "s" : "",
                    n, text, len > SHOWN_MAX ? "..." : "", hint_for(text, len));
        return;
    }
    char hex[BYTES_SHOWN * 4 + 4];
    size_t n = len > BYTES_SHOWN ? BYTES_SHOWN : len, k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(hex + k, sizeof hex - k, "\\x%02X", (unsigned char)text[i]);
    moec_error_at(ps->d, loc, "unexpected byte%s %s%s in the source (a model file is text)",
                len > 1 ? "s" : "", hex, len > n ? "..." : "");
}
