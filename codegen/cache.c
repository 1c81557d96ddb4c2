/* codegen/cache.c -- the disk cache of compiled kernel programs
 * (codegen/cache.h). An entry is one file, a fixed header then the bytes:
 *
 *   offset size
 *        0    8  magic "MOECKOBJ"
 *        8    4  format version (1), little-endian
 *       12    4  header size (88)
 *       16   32  the key (SHA-256 of what was compiled and how)
 *       48    8  length of the bytes that follow
 *       56   32  SHA-256 of header bytes 0..55 followed by the bytes
 *
 * so a flipped byte anywhere or a short file fails a check. Writes go to
 * a temporary file in the same folder, fsync'd, then renamed over the
 * entry: a reader sees the old entry, the new one or none. Entries of
 * each kind of program have their own names: "cpu-<key>.o" (LLVM objects,
 * codegen/cpu.c), "cuda-<key>.ptx" (PTX, codegen/nvrtc.c). */
#include "codegen/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    HEADER_BYTES = 88,
    FORMAT_VERSION = 1,
    SUM_AT = 56,              /* the checksum's offset */
};
static const char MAGIC[8] = { 'M', 'O', 'E', 'C', 'K', 'O', 'B', 'J' };
static const uint64_t MAX_ENTRY_BYTES = (uint64_t)1 << 32;   /* bigger files are not ours */

int cg_cache_default_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') n = snprintf(buf, size, "%s/moec", xdg);
    else if (home && home[0]) n = snprintf(buf, size, "%s/.cache/moec", home);
    else return -1;
    return n > 0 && (size_t)n < size ? 0 : -1;
}

void cg_sha256(const void *data, size_t len, uint8_t out[CG_KEY_BYTES])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != CG_KEY_BYTES) memset(out, 0, CG_KEY_BYTES);
}

/* SHA-256 of the header's first SUM_AT bytes followed by the payload. */
static int entry_sum(const uint8_t *header, const void *data, size_t len, uint8_t out[CG_KEY_BYTES])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, header, SUM_AT) == 1 &&
             EVP_DigestUpdate(c, data, len) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1 && n == CG_KEY_BYTES;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

void cg_cache_path_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], char *buf, size_t size)
{
    char hex[2 * CG_KEY_BYTES + 1];
    for (int i = 0; i < CG_KEY_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(buf, size, "%s/%s-%s.%s", dir, kind, hex, strcmp(kind, "cuda") ? "o" : "ptx");
}

void cg_cache_path(const char *dir, const uint8_t key[CG_KEY_BYTES], char *buf, size_t size)
{
    cg_cache_path_of(dir, "cpu", key, buf, size);
}

static void put_le(uint8_t *at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) at[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *at, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | at[i];
    return v;
}

/* ---- reading ---- */

/* The whole file at path into *buf (*len bytes); -1 with errno. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    int rc = -1;
    *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= MAX_ENTRY_BYTES + HEADER_BYTES &&
        (*buf = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        ssize_t n = 1;
        while (got < (size_t)st.st_size && (n = read(fd, *buf + got, (size_t)st.st_size - got)) > 0) got += (size_t)n;
        if (n >= 0) {
            *len = got;
            rc = 0;
        }
    }
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
        if (errno == 0) errno = EIO;
    }
    close(fd);
    return rc;
}

/* Why the file bytes f (n of them) are not a good entry for key, or NULL. */
static const char *check_entry(const uint8_t *f, size_t n, const uint8_t key[CG_KEY_BYTES])
{
    if (n < HEADER_BYTES) return "shorter than its header (truncated)";
    if (memcmp(f, MAGIC, sizeof MAGIC)) return "not a moec cache entry (bad magic)";
    if (get_le(f + 8, 4) != FORMAT_VERSION || get_le(f + 12, 4) != HEADER_BYTES) return "another format version";
    if (memcmp(f + 16, key, CG_KEY_BYTES)) return "stored under another key";
    if (get_le(f + 48, 8) != n - HEADER_BYTES) return "length does not match the file (truncated or extended)";
    uint8_t sum[CG_KEY_BYTES];
    if (entry_sum(f, f + HEADER_BYTES, n - HEADER_BYTES, sum) < 0) return "checksum could not be computed";
    if (memcmp(sum, f + SUM_AT, CG_KEY_BYTES)) return "checksum mismatch (corrupt)";
    return NULL;
}

cg_cache_status cg_cache_load(const char *dir, const uint8_t key[CG_KEY_BYTES], void **data, size_t *len, char *why,
                              size_t why_size)
{
    return cg_cache_load_of(dir, "cpu", key, data, len, why, why_size);
}

cg_cache_status cg_cache_load_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], void **data,
                                 size_t *len, char *why, size_t why_size)
{
    char path[4096];
    cg_cache_path_of(dir, kind, key, path, sizeof path);
    uint8_t *f;
    size_t n;
    errno = 0;
    if (read_file(path, &f, &n) < 0) {
        if (errno == ENOENT) return CG_CACHE_MISS;
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return CG_CACHE_BAD;
    }
    const char *bad = check_entry(f, n, key);
    if (bad) {
        snprintf(why, why_size, "%s: %s", path, bad);
        free(f);
        return CG_CACHE_BAD;
    }
    memmove(f, f + HEADER_BYTES, n - HEADER_BYTES);
    *data = f;
    *len = n - HEADER_BYTES;
    return CG_CACHE_HIT;
}

/* ---- writing ---- */

/* mkdir -p: every missing folder of path. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST) return -1;
        if (!c) return 0;
        *s = c;
    }
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fill_header(uint8_t h[HEADER_BYTES], const uint8_t key[CG_KEY_BYTES], const void *data, size_t len)
{
    memset(h, 0, HEADER_BYTES);
    memcpy(h, MAGIC, sizeof MAGIC);
    put_le(h + 8, FORMAT_VERSION, 4);
    put_le(h + 12, HEADER_BYTES, 4);
    memcpy(h + 16, key, CG_KEY_BYTES);
    put_le(h + 48, len, 8);
    if (entry_sum(h, data, len, h + SUM_AT) < 0) memset(h + SUM_AT, 0, CG_KEY_BYTES);
}

/* The folder's entry list reaches the disk too (the rename is durable). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

int cg_cache_store(const char *dir, const uint8_t key[CG_KEY_BYTES], const void *data, size_t len, char *why,
                   size_t why_size)
{
    return cg_cache_store_of(dir, "cpu", key, data, len, why, why_size);
}

int cg_cache_store_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], const void *data, size_t len,
                      char *why, size_t why_size)
{
    char path[4096], tmp[4096];
    cg_cache_path_of(dir, kind, key, path, sizeof path);
    if (make_dirs(dir) < 0) return snprintf(why, why_size, "cannot create %s: %s", dir, strerror(errno)), -1;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", dir, kind);
    int fd = mkstemp(tmp);
    if (fd < 0) return snprintf(why, why_size, "cannot write in %s: %s", dir, strerror(errno)), -1;
    uint8_t h[HEADER_BYTES];
    fill_header(h, key, data, len);
    int rc = write_all(fd, h, sizeof h) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0 ? -1 : 0;
    int err = errno;
    if (close(fd) < 0 && rc == 0) rc = -1, err = errno;
    if (rc == 0 && rename(tmp, path) < 0) rc = -1, err = errno;
    if (rc < 0) {
        unlink(tmp);
        return snprintf(why, why_size, "cannot write %s: %s", path, strerror(err)), -1;
    }
    sync_dir(dir);
    return 0;
}
