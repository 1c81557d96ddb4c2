/* tests/weights/test_safetensors.c -- the safetensors reader and writer, under ASan+UBSan.
 * Round trip bit-exact (NaN, -0, inf, empty and rank-0 tensors), F16/BF16
 * known values, and every malformed file the issue lists (truncated, header
 * length past the end, not JSON, unknown dtype, overlaps, offsets past the end,
 * size mismatch, overflowing and negative shapes, duplicates, ...): each must
 * give an error that says what is wrong, and no crash. Then every truncation
 * and a few thousand byte flips of a valid file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/weights/safetensors.h"
#include "tests/tap.h"
#include "tests/weights/helpers.h"

static char path_buf[512];

/* Opens `path` expecting failure with `needle` in the message. */
static void expect_bad(const char *path, const char *needle, const char *what)
{
    rt_st_file f;
    moec_diag *err = sink();
    int rc = rt_st_open(&f, path, err);
    tap_ok(rc < 0 && err_has(err, needle), "bad file: %s -> error containing '%s'", what, needle);
    if (rc == 0 || !err_has(err, needle)) tap_diag("got rc %d: %s", rc, sink_text(err));
    if (rc == 0) rt_st_close(&f);
}

/* A header (no data) that should be rejected. */
static void expect_bad_header(const char *header, size_t data_len, const char *needle, const char *what)
{
    const char *p = tmp_path(path_buf, sizeof path_buf, "bad.safetensors");
    unsigned char *data = calloc(data_len + 1, 1);
    st_bytes(p, strlen(header), header, strlen(header), data, data_len);
    free(data);
    expect_bad(p, needle, what);
    unlink(p);
}

static void test_round_trip(void)
{
    const char *p = tmp_path(path_buf, sizeof path_buf, "rt.safetensors");
    float a[6] = {1.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e-42f}, s[1] = {3.25f};
    float *big = malloc(1000 * sizeof *big);
    for (int i = 0; i < 1000; i++) big[i] = (float)i * 0.001f - 0.3f;
    int64_t sa[2] = {2, 3}, sb[2] = {10, 100}, se[2] = {0, 5};
    rt_st_out t[4] = {{"a", 2, sa, a}, {"scalar", 0, NULL, s}, {"big", 2, sb, big}, {"empty", 2, se, NULL}};
    const char *meta[4] = {"format", "pt", "note", "héllo \"quoted\""};
    moec_diag *err = sink();
    tap_ok(rt_st_write(p, t, 4, meta, 2, err) == 0, "write 4 tensors %s", sink_text(err));
    struct stat st;
    stat(p, &st);
    rt_st_file f;
    int rc = rt_st_open(&f, p, err);
    tap_ok(rc == 0 && f.n_tensors == 4 && f.data_start % 8 == 0, "reads back; header padded to 8 (data at %llu)",
           (unsigned long long)f.data_start);
    if (rc) {
        tap_diag("%s", sink_text(err));
        free(big);
        return;
    }
    tap_ok((uint64_t)st.st_size == f.data_start + (6 + 1 + 1000) * 4, "file size = header + data");
    tap_ok(!strcmp(f.tensors[0].name, "a") && !strcmp(f.tensors[3].name, "empty"), "order kept");
    tap_ok(f.tensors[1].rank == 0 && f.tensors[1].numel == 1, "rank-0 tensor has one element");
    tap_ok(f.tensors[3].numel == 0 && f.tensors[3].begin == f.tensors[3].end, "empty tensor has no bytes");
    float ra[6], rs[1], *rbig = malloc(1000 * sizeof *rbig);
    rt_st_read_f32(&f, 0, ra, err);
    rt_st_read_f32(&f, 1, rs, err);
    rt_st_read_f32(&f, 2, rbig, err);
    tap_ok(!memcmp(ra, a, sizeof a) && !memcmp(rs, s, sizeof s) && !memcmp(rbig, big, 1000 * sizeof *big),
           "values bit-exact (NaN, -0, inf, subnormal)");
    tap_ok(f.n_meta == 2 && !strcmp(f.meta[0].key, "format") && !strcmp(f.meta[1].value, meta[3]),
           "metadata read back");
    tap_ok(rt_st_find(&f, "big") == 2 && rt_st_find(&f, "nope") == -1, "find by name");
    rt_st_close(&f);
    rt_st_out dup[2] = {{"x", 0, NULL, s}, {"x", 0, NULL, s}};
    moec_diag_reset(err);
    tap_ok(rt_st_write(p, dup, 2, NULL, 0, err) < 0 && err_has(err, "duplicate"), "writer refuses duplicate names");
    rt_st_out md[1] = {{"__metadata__", 0, NULL, s}};
    tap_ok(rt_st_write(p, md, 1, NULL, 0, err) < 0, "writer refuses a tensor called __metadata__");
    moec_diag_reset(err);
    tap_ok(rt_st_write("/nonexistent-dir/x.safetensors", t, 1, NULL, 0, err) < 0 &&
           err_has(err, "/nonexistent-dir/x.safetensors"), "unwritable path: error names it");
    free(big);
    free(rbig);
    unlink(p);
}

static void test_half(void)
{
    const uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555, 0x0400};
    const float want16[] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, -0.0f, INFINITY, 0.333251953125f, 0x1p-14f};
    const uint16_t bf16[] = {0x3F80, 0xC049, 0x7F80, 0x0001, 0x4280};
    const float wantb[] = {1.0f, -3.140625f, INFINITY, 0x1p-133f, 64.0f};
    const uint16_t nan16 = 0x7E00;
    st_entry e[3] = {{"h", "F16", "[2, 4]", f16, sizeof f16},
                     {"b", "BF16", "[5]", bf16, sizeof bf16},
                     {"n", "F16", "[]", &nan16, 2}};
    const char *p = tmp_path(path_buf, sizeof path_buf, "half.safetensors");
    st_raw(p, e, 3);
    rt_st_file f;
    moec_diag *err = sink();
    if (!tap_ok(rt_st_open(&f, p, err) == 0, "F16/BF16 file opens %s", sink_text(err))) return;
    float g16[8], gb[5], gn;
    tap_ok(rt_st_read_f32(&f, 0, g16, err) == 0 && !memcmp(g16, want16, sizeof g16), "F16 known values (normal, max, subnormal, -0, inf)");
    tap_ok(rt_st_read_f32(&f, 1, gb, err) == 0 && !memcmp(gb, wantb, sizeof gb), "BF16 known values");
    tap_ok(rt_st_read_f32(&f, 2, &gn, err) == 0 && isnan(gn), "F16 NaN stays NaN");
    rt_st_close(&f);
    unlink(p);
}

/* Each malformed header of the issue, and a few more. */
static void test_bad_headers(void)
{
    expect_bad_header("{abc", 0, "not valid JSON", "header not JSON");
    expect_bad_header("[1, 2]", 0, "not a JSON object", "header a JSON array");
    expect_bad_header("{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F99'",
                      "unknown dtype");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap",
                      "overlapping offsets");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                      "run past the end of the data", "offsets past the end");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12",
                      "size mismatch");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
                      "more bytes than 2^64", "huge shape whose product overflows");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}",
                      8, "more bytes than 2^64", "huge shape (2^80 elements)");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000,1000],\"data_offsets\":[0,8]}}", 8,
                      "needs 4000000000000", "huge shape, no overflow, wrong size");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,8]}}", 8, "integers >= 0",
                      "negative dim");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "integers >= 0",
                      "fractional dim");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8,
                      "not valid JSON", "dim beyond int64");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate",
                      "duplicate names");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "end before they begin",
                      "reversed offsets");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8, "data_offsets",
                      "one offset");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8, "data_offsets",
                      "negative offset");
    expect_bad_header("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" missing", "no dtype");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "\"shape\" missing", "no shape");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                      "rank 9", "rank 9");
    expect_bad_header("{\"a\":[1,2]}", 0, "not an object", "entry not an object");
    expect_bad_header("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty name",
                      "empty name");
    expect_bad_header("{\"__metadata__\":{\"format\":7}}", 0, "not a string", "metadata value not a string");
    expect_bad_header("{\"__metadata__\":[1]}", 0, "\"__metadata__\" is not an object", "metadata not an object");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} xyz", 4, "not valid JSON",
                      "trailing garbage after the header");
}

/* Problems of the length word and the file size. */
static void test_bad_sizes(void)
{
    const char *p = tmp_path(path_buf, sizeof path_buf, "size.safetensors");
    FILE *f = fopen(p, "wb");
    fclose(f);
    expect_bad(p, "truncated", "empty file");
    f = fopen(p, "wb");
    fwrite("\x10\x00\x00", 1, 3, f);
    fclose(f);
    expect_bad(p, "truncated", "3-byte file");
    st_bytes(p, 1000, "{}", 2, NULL, 0);
    expect_bad(p, "runs past the end of the file", "header length past the end");
    st_bytes(p, UINT64_MAX, "{}", 2, NULL, 0);
    expect_bad(p, "runs past the end of the file", "header length 2^64-1");
    st_bytes(p, 0, NULL, 0, NULL, 0);
    expect_bad(p, "not a JSON object", "header length 0");
    st_bytes(p, 4, "{}\0\0", 4, NULL, 0);
    expect_bad(p, "not valid JSON", "NUL bytes in the header");
    expect_bad("/nonexistent/w.safetensors", "No such file", "missing file");
    expect_bad("/tmp", "not a regular file", "a directory");

    /* Several problems at once: all reported. */
    const char *two = "{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}";
    st_bytes(p, strlen(two), two, strlen(two), "abcd", 4);
    rt_st_file sf;
    moec_diag *err = sink();
    tap_ok(rt_st_open(&sf, p, err) < 0 && moec_diag_errors(err) == 2 && err_has(err, "'a'") && err_has(err, "'b'"),
           "two bad tensors: both reported");

    /* Integers and the wrong dtype for floats. */
    int64_t step = 1234;
    st_entry e[2] = {{"step", "I64", "[]", &step, 8}, {"v", "I64", "[1]", &step, 8}};
    st_raw(p, e, 2);
    moec_diag_reset(err);
    int rc = rt_st_open(&sf, p, err);
    int64_t got = 0;
    float x;
    tap_ok(rc == 0 && rt_st_read_scalar_i64(&sf, 0, &got, err) == 0 && got == 1234, "I64 scalar reads");
    tap_ok(rc == 0 && rt_st_read_f32(&sf, 1, &x, err) < 0 && err_has(err, "dtype I64"),
           "I64 read as floats: wrong dtype error");
    if (rc == 0) rt_st_close(&sf);
    unlink(p);
}

/* Opens, and reads everything when the open succeeds; must never crash. */
static int open_and_read(const char *p)
{
    rt_st_file f;
    moec_diag *err = sink();
    if (rt_st_open(&f, p, err) < 0) return sink_text(err)[0] ? 0 : -1;   /* an error must say something */
    for (int i = 0; i < f.n_tensors; i++) {
        float *buf = malloc((size_t)f.tensors[i].numel * sizeof *buf + 1);
        if (buf) rt_st_read_f32(&f, i, buf, err);
        free(buf);
    }
    rt_st_close(&f);
    return 0;
}

/* Every prefix of a valid file, then random byte flips. */
static void test_mutations(void)
{
    const char *src = tmp_path(path_buf, sizeof path_buf, "src.safetensors");
    float v[12] = {0};
    uint16_t h[4] = {0x3C00, 0, 0, 0};
    st_entry e[3] = {{"wte.weight", "F32", "[3, 4]", v, sizeof v}, {"x", "F16", "[4]", h, sizeof h},
                     {"s", "BF16", "[2, 2]", h, sizeof h}};
    st_raw(src, e, 3);
    FILE *f = fopen(src, "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(src);
    char mpath[512];
    tmp_path(mpath, sizeof mpath, "mut.safetensors");
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        st_bytes(mpath, 0, NULL, 0, NULL, 0);
        f = fopen(mpath, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        bad += open_and_read(mpath) < 0;
    }
    tap_ok(bad == 0, "every truncation of a %zu-byte file: error or success, no crash", n);
    uint64_t state = 88172645463325252ull;
    bad = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned char m[1024];
        memcpy(m, buf, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            m[state % n] = (unsigned char)(state >> 32);
        }
        f = fopen(mpath, "wb");
        fwrite(m, 1, n, f);
        fclose(f);
        bad += open_and_read(mpath) < 0;
    }
    tap_ok(bad == 0, "3000 random byte flips: error or success, no crash");
    unlink(mpath);
}

int main(void)
{
    test_round_trip();
    test_half();
    test_bad_headers();
    test_bad_sizes();
    test_mutations();
    sink_close();
    return tap_done();
}
