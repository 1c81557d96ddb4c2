/* tests/codegen/test_cache.c -- the disk cache of compiled kernels
 * (codegen/cache.h) under a temporary XDG_CACHE_HOME: a second compile of
 * the same program loads the entry and compiles nothing (and computes the
 * same numbers); another program misses; an entry with a flipped byte
 * (payload, header, checksum), a truncated one, an empty one or garbage is
 * detected, never loaded, recompiled and replaced; an unwritable cache
 * costs nothing but the note; the folder follows XDG_CACHE_HOME / HOME. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/cache.h"
#include "tests/codegen/kernels.h"

static char cache_root[256], cache_dir[300];

static kt_prog *program(int64_t cols)
{
    kt_prog *t = calloc(1, sizeof *t);
    kt_init(t, "cache.moe");
    kt_softmax(t, 5, cols);
    kt_layernorm(t, 3, 21);
    return t;
}

static void free_program(kt_prog *t)
{
    ir_kprogram_free(&t->p);
    free(t);
}

/* Compiles t with the default cache folder; results of its kernels into *out (optional). */
static bool compile(kt_prog *t, cg_cpu_stats *st, void ***out)
{
    char err[512] = "";
    FILE *f = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, f, 3);
    cg_cpu_program *c = NULL;
    int rc = cg_cpu_compile(&t->p, NULL, &c, st, &d);
    fclose(f);
    if (rc < 0) tap_diag("compile failed: %s", err);
    if (rc == 0 && out) {
        *out = kt_alloc(t, 99);
        kt_run_cpu(t, c, *out, 2);
    }
    cg_cpu_free(c);
    return rc == 0;
}

/* The one entry in the cache folder (the programs here are one part each). */
static void entry_path(char *buf, int size)
{
    DIR *dir = opendir(cache_dir);
    buf[0] = '\0';
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (!strncmp(e->d_name, "cpu-", 4)) snprintf(buf, (size_t)size, "%.300s/%.200s", cache_dir, e->d_name);
    if (dir) closedir(dir);
}

static void clear_dir(void)
{
    DIR *dir = opendir(cache_dir);
    char path[800];
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        snprintf(path, sizeof path, "%s/%s", cache_dir, e->d_name);
        unlink(path);
    }
    if (dir) closedir(dir);
}

static long file_size(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 ? (long)s.st_size : -1;
}

/* Flips one byte of the file at offset `at` (negative: from the end). */
static void flip_byte(const char *path, long at)
{
    int fd = open(path, O_RDWR);
    if (at < 0) at += file_size(path);
    unsigned char c = 0;
    if (fd >= 0 && pread(fd, &c, 1, at) == 1) {
        c ^= 0x40;
        if (pwrite(fd, &c, 1, at) != 1) tap_diag("cannot write %s", path);
    }
    if (fd >= 0) close(fd);
}

static void test_hit_and_miss(void)
{
    kt_prog *t = program(37);
    cg_cpu_stats a, b;
    void **first = NULL, **second = NULL;
    bool ok = compile(t, &a, &first);
    char path[512];
    entry_path(path, (int)sizeof path);
    tap_ok(ok && !a.cache_hit && a.parts == 1 && a.parts_stored == 1 && file_size(path) > 88,
           "first compile misses and writes %s", path);
    ok = compile(t, &b, &second);
    tap_ok(ok && b.cache_hit && !b.cache_bad && b.parts_cached == 1 && b.threads == 0 && b.optimise_s == 0 &&
           b.build_s == 0 && b.emit_s == 0, "second compile hits the cache and compiles nothing");
    tap_ok(ok && kt_close(t, first, second, 0, 0), "the cached code computes the same bits");
    tap_ok(!strcmp(a.key, b.key) && b.kernels == 2, "same key, two kernels");
    kt_free_bufs(t, first);
    kt_free_bufs(t, second);
    kt_prog *u = program(38);
    cg_cpu_stats c;
    tap_ok(compile(u, &c, NULL) && !c.cache_hit && strcmp(c.key, a.key), "another program misses (another key)");
    free_program(u);
    free_program(t);
    clear_dir();
}

typedef void damage_fn(const char *path);
static void d_payload(const char *path) { flip_byte(path, 88 + 200); }
static void d_last(const char *path) { flip_byte(path, -1); }
static void d_key(const char *path) { flip_byte(path, 20); }
static void d_magic(const char *path) { flip_byte(path, 0); }
static void d_sum(const char *path) { flip_byte(path, 60); }
static void d_half(const char *path) { if (truncate(path, file_size(path) / 2)) tap_diag("truncate failed"); }
static void d_short(const char *path) { if (truncate(path, 10)) tap_diag("truncate failed"); }
static void d_empty(const char *path) { if (truncate(path, 0)) tap_diag("truncate failed"); }
static void d_garbage(const char *path)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 4096; i++) fputc(i * 7 & 0xff, f);
    if (f) fclose(f);
}

/* Each damaged entry is rejected with `why`, recompiled (same bits) and replaced. */
static void test_damage(void)
{
    static const struct { const char *name; damage_fn *fn; const char *why; } cases[] = {
        { "a flipped byte in the object code", d_payload, "checksum mismatch" },
        { "a flipped last byte", d_last, "checksum mismatch" },
        { "a flipped byte in the stored key", d_key, "another key" },
        { "a flipped byte in the magic", d_magic, "bad magic" },
        { "a flipped byte in the checksum", d_sum, "checksum mismatch" },
        { "a file truncated to half", d_half, "truncated" },
        { "a file shorter than its header", d_short, "shorter than its header" },
        { "an empty file", d_empty, "shorter than its header" },
        { "4 KiB of garbage", d_garbage, "bad magic" },
    };
    kt_prog *t = program(37);
    cg_cpu_stats st;
    void **good = NULL;
    compile(t, &st, &good);
    char path[512];
    entry_path(path, (int)sizeof path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].fn(path);
        void **got = NULL;
        bool ok = compile(t, &st, &got);
        tap_ok(ok && !st.cache_hit && st.cache_bad && strstr(st.cache_note, cases[i].why),
               "%s: detected, not loaded (%s)", cases[i].name, st.cache_note);
        tap_ok(got && kt_close(t, got, good, 0, 0) && st.parts_stored == 1, "%s: recompiled and replaced", cases[i].name);
        kt_free_bufs(t, got);
        tap_ok(compile(t, &st, NULL) && st.cache_hit, "%s: the next compile hits again", cases[i].name);
    }
    kt_free_bufs(t, good);
    free_program(t);
}

/* Stores through the API: round trip, atomic (no temporary left behind). */
static void test_store_load(void)
{
    uint8_t key[CG_KEY_BYTES];
    cg_sha256("abc", 3, key);
    tap_ok(key[0] == 0xba && key[1] == 0x78 && key[31] == 0xad, "SHA-256 of \"abc\" (FIPS 180-2 example)");
    char why[256] = "";
    const char data[] = "object code";
    int rc = cg_cache_store(cache_dir, key, data, sizeof data, why, sizeof why);
    void *back = NULL;
    size_t len = 0;
    cg_cache_status s = cg_cache_load(cache_dir, key, &back, &len, why, sizeof why);
    tap_ok(rc == 0 && s == CG_CACHE_HIT && len == sizeof data && !memcmp(back, data, len), "store then load gives the bytes back");
    free(back);
    key[5] ^= 1;
    tap_ok(cg_cache_load(cache_dir, key, &back, &len, why, sizeof why) == CG_CACHE_MISS, "an unknown key misses");
    DIR *dir = opendir(cache_dir);
    int temps = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) temps += !strncmp(e->d_name, ".tmp", 4);
    if (dir) closedir(dir);
    tap_ok(dir && temps == 0, "no temporary file left in the cache folder");
    rc = cg_cache_store("/proc/no-such-place/moec", key, data, sizeof data, why, sizeof why);
    tap_ok(rc < 0 && strstr(why, "/proc/no-such-place"), "an unwritable folder is reported (%s)", why);
}

/* A cache that cannot be written: the program still compiles, the note says why. */
static void test_unwritable(void)
{
    kt_prog *t = program(11);
    char err[256] = "";
    FILE *f = fmemopen(err, sizeof err, "w");
    moec_diag d;
    moec_diag_init(&d, f, 3);
    cg_cpu_program *c = NULL;
    cg_cpu_stats st;
    cg_cpu_options o = { .cache_dir = "/proc/moec-cache" };
    int rc = cg_cpu_compile(&t->p, &o, &c, &st, &d);
    fclose(f);
    tap_ok(rc == 0 && c && st.parts_stored == 0 && strstr(st.cache_note, "/proc/moec-cache") && !err[0],
           "unwritable cache: compiles anyway, no error, note: %s", st.cache_note);
    cg_cpu_free(c);
    free_program(t);
}

static void test_default_dir(void)
{
    char buf[512];
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    tap_ok(cg_cache_default_dir(buf, sizeof buf) == 0 && !strcmp(buf, "/x/cache/moec"), "XDG_CACHE_HOME/moec");
    setenv("XDG_CACHE_HOME", "relative", 1);
    setenv("HOME", "/home/someone", 1);
    tap_ok(cg_cache_default_dir(buf, sizeof buf) == 0 && !strcmp(buf, "/home/someone/.cache/moec"),
           "a relative XDG_CACHE_HOME is ignored: ~/.cache/moec");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    tap_ok(cg_cache_default_dir(buf, sizeof buf) < 0, "neither set: no cache folder");
}

/* rm -r of the temporary cache root (two levels: root/moec/files). */
static void remove_root(void)
{
    clear_dir();
    rmdir(cache_dir);
    rmdir(cache_root);
}

int main(void)
{
    snprintf(cache_root, sizeof cache_root, "%s/moec-cache-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(cache_root)) return perror("mkdtemp"), 1;
    snprintf(cache_dir, sizeof cache_dir, "%s/moec", cache_root);
    setenv("XDG_CACHE_HOME", cache_root, 1);
    test_hit_and_miss();
    test_damage();
    test_store_load();
    test_unwritable();
    remove_root();
    test_default_dir();
    return tap_done();
}
