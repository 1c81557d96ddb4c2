/* runtime/weights/safetensors.h -- the safetensors file format, read and written.
 * Layout: 8-byte little-endian header length N, N bytes of JSON (an object:
 * "__metadata__" -> string map; each tensor name -> {dtype, shape, data_offsets
 * [begin, end)} relative to the data buffer after the header), then the data.
 * Reading checks every field against the file's size before any data is
 * touched; writing is float32 only. Names here are the file's, unchanged. */
#ifndef MOEC_RUNTIME_WEIGHTS_SAFETENSORS_H
#define MOEC_RUNTIME_WEIGHTS_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include "support/diag.h"

enum {
    RT_ST_MAX_RANK = 8,                      /* dims of one tensor */
    RT_ST_MAX_HEADER = 100 * 1024 * 1024,    /* header bytes, as the reference implementation allows */
};

/* The format's dtypes, with their names in the file. */
typedef enum rt_st_dtype {
    RT_ST_BOOL, RT_ST_U8, RT_ST_I8, RT_ST_I16, RT_ST_U16, RT_ST_F16, RT_ST_BF16,
    RT_ST_I32, RT_ST_U32, RT_ST_F32, RT_ST_I64, RT_ST_U64, RT_ST_F64,
    RT_ST_DTYPE_COUNT
} rt_st_dtype;

typedef struct rt_st_tensor {
    char *name;
    rt_st_dtype dtype;
    int rank;
    int64_t shape[RT_ST_MAX_RANK];
    uint64_t numel;             /* product of shape; 1 for rank 0 */
    uint64_t begin, end;        /* byte range in the data buffer; end - begin == numel * size */
} rt_st_tensor;

typedef struct rt_st_meta {
    char *key;
    char *value;
} rt_st_meta;

/* An open file: header parsed and checked, data read on demand. */
typedef struct rt_st_file {
    FILE *f;
    char *path;
    uint64_t data_start;        /* 8 + N */
    uint64_t data_len;          /* file size - data_start */
    rt_st_tensor *tensors;      /* in header order */
    int n_tensors;
    rt_st_meta *meta;
    int n_meta;
} rt_st_file;

/* Name of a dtype in the file ("F32"), and its size in bytes. */
const char *rt_st_dtype_name(rt_st_dtype t);
int rt_st_dtype_size(rt_st_dtype t);
/* Formats a shape as "[a, b]" into buf (cut to n bytes); returns buf. */
const char *rt_st_shape_str(char *buf, size_t n, int rank, const int64_t *dim);

/* Opens `path` and checks its header: length within the file, valid JSON, known
 * dtypes, sane shapes (no negative dims, no overflow), offsets ordered, inside
 * the data and not overlapping, sizes matching shapes, no duplicate names.
 * Returns 0, or -1 after reporting every problem found through diag. */
int rt_st_open(rt_st_file *f, const char *path, moec_diag *diag);
/* Closes and frees; harmless on a zeroed or closed file. */
void rt_st_close(rt_st_file *f);
/* Index of the tensor called `name`, or -1. */
int rt_st_find(const rt_st_file *f, const char *name);
/* Reads tensor i converted to float32 (from F32, F16 or BF16) into dst[numel]. */
int rt_st_read_f32(const rt_st_file *f, int i, float *dst, moec_diag *diag);
/* Reads a one-element integer tensor (I64, I32, U8, ...; shape [] or [1]). */
int rt_st_read_scalar_i64(const rt_st_file *f, int i, int64_t *out, moec_diag *diag);

/* One float32 tensor to write. */
typedef struct rt_st_out {
    const char *name;
    int rank;
    const int64_t *shape;       /* [rank] */
    const float *data;          /* product of shape */
} rt_st_out;

/* Writes a float32 safetensors file atomically (temporary file, then rename):
 * tensors in the order given, header padded with spaces to a multiple of 8,
 * `__metadata__` = meta (key, value pairs; may be empty). */
int rt_st_write(const char *path, const rt_st_out *t, int n, const char *const *meta_kv, int n_meta,
                moec_diag *diag);

/* IEEE half and bfloat16 bits to float (exact). */
float rt_st_f16_to_f32(uint16_t h);
float rt_st_bf16_to_f32(uint16_t b);

#endif
