/* codegen/cache.h -- the disk cache of compiled kernel programs: object
 * code under $XDG_CACHE_HOME/moec (default ~/.cache/moec), one file per
 * key, written atomically (temporary file, fsync, rename) with a header
 * (magic, format version, key, length, SHA-256) so that a truncated or
 * corrupt entry is detected and never loaded. doc/kernels.md, "The kernel
 * cache". Knows nothing of LLVM or NVRTC: it stores bytes under a key.
 * Its own library (libmoec_cache.a), linked by both backends. */
#ifndef MOEC_CODEGEN_CACHE_H
#define MOEC_CODEGEN_CACHE_H

#include <stddef.h>
#include <stdint.h>

enum { CG_KEY_BYTES = 32 };   /* SHA-256 */

typedef enum cg_cache_status {
    CG_CACHE_MISS,     /* no entry under the key */
    CG_CACHE_HIT,      /* an entry that passed every check */
    CG_CACHE_BAD,      /* an entry that failed a check: to be recompiled and replaced */
} cg_cache_status;

/* The cache folder: $XDG_CACHE_HOME/moec when XDG_CACHE_HOME is an absolute
 * path, else $HOME/.cache/moec. Returns 0, or -1 when neither is set. */
int cg_cache_default_dir(char *buf, size_t size);

/* SHA-256 of `len` bytes. */
void cg_sha256(const void *data, size_t len, uint8_t out[CG_KEY_BYTES]);

/* Reads the entry of key in dir. On CG_CACHE_HIT, *data (malloc'd, to free)
 * and *len hold the stored bytes; on CG_CACHE_BAD, why says what failed. */
cg_cache_status cg_cache_load(const char *dir, const uint8_t key[CG_KEY_BYTES], void **data, size_t *len, char *why,
                              size_t why_size);

/* Writes (or replaces) the entry of key in dir, creating dir if needed.
 * Returns 0, or -1 with the reason in why (a cache that cannot be written
 * costs a recompilation next time, nothing else: not an error). */
int cg_cache_store(const char *dir, const uint8_t key[CG_KEY_BYTES], const void *data, size_t len, char *why,
                   size_t why_size);

/* The entry's file name for key in dir ("DIR/cpu-<64 hex digits>.o"). */
void cg_cache_path(const char *dir, const uint8_t key[CG_KEY_BYTES], char *buf, size_t size);

/* The same for entries of another kind of program: "cuda" entries are
 * "DIR/cuda-<64 hex digits>.ptx" (NVRTC's PTX, codegen/nvrtc.h); "cpu" is
 * the functions above. The kind is part of the file name only: keys must
 * already differ between kinds (each hashes what it compiled and how). */
void cg_cache_path_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], char *buf, size_t size);
cg_cache_status cg_cache_load_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], void **data,
                                 size_t *len, char *why, size_t why_size);
int cg_cache_store_of(const char *dir, const char *kind, const uint8_t key[CG_KEY_BYTES], const void *data, size_t len,
                      char *why, size_t why_size);

#endif
