/* tests/data/helpers.h -- shared by the data pipeline's C tests: a scratch
 * directory, whole-file write/read, the GPT-2 vocabulary's location, and a toy
 * byte-level vocabulary (256 byte tokens, six ranked merges, <|endoftext|>)
 * whose encodings can be worked out by hand. Static functions, one test per
 * program. */
#ifndef MOEC_TESTS_DATA_HELPERS_H
#define MOEC_TESTS_DATA_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/data/vocab.h"

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it with rm_rf. */
static inline char *scratch_dir(void)
{
    const char *t = getenv("TMPDIR");
    static char buf[512]; /* one per test program; not library code */
    snprintf(buf, sizeof buf, "%s/moec-data-test-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(buf);
}

static inline void rm_rf(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static inline int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static inline char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

/* Where the GPT-2 vocabulary is: $MOEC_VOCAB, else $MOEC_DATA/gpt2 (the
 * harness sets MOEC_DATA), else $top_builddir/data/gpt2. */
static inline const char *gpt2_dir(char *buf, size_t cap)
{
    const char *env = getenv("MOEC_VOCAB"), *data = getenv("MOEC_DATA"), *top = getenv("top_builddir");
    if (env && *env) return env;
    if (data && *data) snprintf(buf, cap, "%s/gpt2", data);
    else snprintf(buf, cap, "%s/data/gpt2", top && *top ? top : ".");
    return buf;
}

/* Appends code point cp as UTF-8 to s. */
static inline void put_utf8(char *s, unsigned cp)
{
    size_t n = strlen(s);
    if (cp < 0x80) s[n++] = (char)cp;
    else s[n++] = (char)(0xc0 | cp >> 6), s[n++] = (char)(0x80 | (cp & 0x3f));
    s[n] = '\0';
}

/* The toy merges, rank order: a b, ab c, b c, a a, aa aa, Ġ a. Ids: bytes are
 * their own ids; then ab 256, abc 257, bc 258, aa 259, aaaa 260, " a" 261,
 * <|endoftext|> 262. */
static const char *const TOY_MERGES = "#version: 0.2\na b\nab c\nb c\na a\naa aa\n\xc4\xa0 a\n";
static const char *const TOY_EXTRA[] = {"ab", "abc", "bc", "aa", "aaaa", "\xc4\xa0\x61", "<|endoftext|>"};
enum { TOY_AB = 256, TOY_ABC, TOY_BC, TOY_AA, TOY_AAAA, TOY_SPACE_A, TOY_EOS, TOY_N };

/* Writes DIR/encoder.json and DIR/vocab.bpe of the toy vocabulary. */
static inline int write_toy_vocab(const char *dir)
{
    char *json = malloc(1 << 16), key[16], path[1024];
    strcpy(json, "{");
    for (unsigned b = 0; b < 256; b++) {
        key[0] = '\0';
        put_utf8(key, rt_byte_to_unicode(b));
        char line[64];
        snprintf(line, sizeof line, "%s\"%s%s\": %u", b ? ", " : "", (key[0] == '"' || key[0] == '\\') ? "\\" : "",
                 key, b);
        strcat(json, line);
    }
    for (unsigned i = 0; i < sizeof TOY_EXTRA / sizeof *TOY_EXTRA; i++) {
        char line[64];
        snprintf(line, sizeof line, ", \"%s\": %u", TOY_EXTRA[i], 256 + i);
        strcat(json, line);
    }
    strcat(json, "}\n");
    snprintf(path, sizeof path, "%s/encoder.json", dir);
    int rc = write_file(path, json, strlen(json));
    free(json);
    snprintf(path, sizeof path, "%s/vocab.bpe", dir);
    return rc | write_file(path, TOY_MERGES, strlen(TOY_MERGES));
}

#endif
