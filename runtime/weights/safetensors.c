/* runtime/weights/safetensors.c -- reading and writing safetensors files (safetensors.h).
 * The header is parsed by jansson (duplicate keys rejected), then every
 * tensor's dtype, shape and byte range is checked with overflow-checked
 * arithmetic against the file's real size, so no later read can run past the
 * data. Data is read with stdio on demand; files are written float32 only,
 * through a temporary file and a rename. Assumes a little-endian host. */
#include "runtime/weights/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/atomic.h"
#include "support/file.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads and writes data in host order, which must be little-endian"
#endif

static const struct {
    const char *name;
    int size;
} DTYPES[RT_ST_DTYPE_COUNT] = {
    [RT_ST_BOOL] = {"BOOL", 1}, [RT_ST_U8] = {"U8", 1},     [RT_ST_I8] = {"I8", 1},
    [RT_ST_I16] = {"I16", 2},   [RT_ST_U16] = {"U16", 2},   [RT_ST_F16] = {"F16", 2},
    [RT_ST_BF16] = {"BF16", 2}, [RT_ST_I32] = {"I32", 4},   [RT_ST_U32] = {"U32", 4},
    [RT_ST_F32] = {"F32", 4},   [RT_ST_I64] = {"I64", 8},   [RT_ST_U64] = {"U64", 8},
    [RT_ST_F64] = {"F64", 8},
};

const char *rt_st_dtype_name(rt_st_dtype t)
{
    return (unsigned)t < RT_ST_DTYPE_COUNT ? DTYPES[t].name : "?";
}

int rt_st_dtype_size(rt_st_dtype t)
{
    return (unsigned)t < RT_ST_DTYPE_COUNT ? DTYPES[t].size : 0;
}

static int dtype_from_name(const char *s)
{
    for (int i = 0; i < RT_ST_DTYPE_COUNT; i++)
        if (!strcmp(s, DTYPES[i].name)) return i;
    return -1;
}

float rt_st_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Half precision: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
float rt_st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);              /* inf, nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);       /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                           /* signed zero */
    } else {
        /* subnormal: man * 2^-24, exact in float */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- header parsing ---------------------------------------------------- */

const char *rt_st_shape_str(char *buf, size_t n, int rank, const int64_t *dim)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%" PRId64, i ? ", " : "", dim[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

/* Reads a JSON array of non-negative integers (at most `max`) into out. */
static int json_uint_array(const json_t *a, int64_t *out, int max, int *n)
{
    if (!json_is_array(a) || json_array_size(a) > (size_t)max) return -1;
    *n = (int)json_array_size(a);
    for (int i = 0; i < *n; i++) {
        const json_t *v = json_array_get(a, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
        out[i] = json_integer_value(v);
    }
    return 0;
}

/* numel = product of shape and bytes = numel * size, or -1 on overflow. */
static int tensor_sizes(rt_st_tensor *t, uint64_t *bytes)
{
    uint64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (__builtin_mul_overflow(n, (uint64_t)t->shape[i], &n)) return -1;
    t->numel = n;
    return __builtin_mul_overflow(n, (uint64_t)rt_st_dtype_size(t->dtype), bytes) ? -1 : 0;
}

/* Checks one header entry's dtype and shape; fills t except the offsets. */
static int parse_dtype_shape(const rt_st_file *f, const char *name, const json_t *v, rt_st_tensor *t,
                             moec_diag *diag)
{
    const json_t *dt = json_object_get(v, "dtype");
    if (!json_is_string(dt))
        return moec_error(diag, "%s: tensor '%s': \"dtype\" missing or not a string", f->path, name);
    int d = dtype_from_name(json_string_value(dt));
    if (d < 0)
        return moec_error(diag, "%s: tensor '%s': unknown dtype '%s'", f->path, name, json_string_value(dt));
    t->dtype = (rt_st_dtype)d;
    const json_t *shape = json_object_get(v, "shape");
    if (!json_is_array(shape))
        return moec_error(diag, "%s: tensor '%s': \"shape\" missing or not an array", f->path, name);
    if (json_array_size(shape) > RT_ST_MAX_RANK)
        return moec_error(diag, "%s: tensor '%s': rank %zu is more than %d (RT_ST_MAX_RANK)", f->path, name,
                          json_array_size(shape), RT_ST_MAX_RANK);
    if (json_uint_array(shape, t->shape, RT_ST_MAX_RANK, &t->rank) < 0)
        return moec_error(diag, "%s: tensor '%s': shape dims must be integers >= 0", f->path, name);
    return 0;
}

/* Checks "data_offsets" against the shape and the data buffer; sets begin, end. */
static int parse_offsets(const rt_st_file *f, const char *name, const json_t *v, rt_st_tensor *t, moec_diag *diag)
{
    char sbuf[160];
    uint64_t bytes;
    if (tensor_sizes(t, &bytes) < 0)
        return moec_error(diag, "%s: tensor '%s': shape %s has more bytes than 2^64", f->path, name,
                          rt_st_shape_str(sbuf, sizeof sbuf, t->rank, t->shape));
    int64_t off[2];
    int n = 0;
    if (json_uint_array(json_object_get(v, "data_offsets"), off, 2, &n) < 0 || n != 2)
        return moec_error(diag, "%s: tensor '%s': \"data_offsets\" must be [begin, end], integers >= 0",
                          f->path, name);
    t->begin = (uint64_t)off[0];
    t->end = (uint64_t)off[1];
    if (t->begin > t->end)
        return moec_error(diag, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                          f->path, name, t->begin, t->end);
    if (t->end > f->data_len)
        return moec_error(diag, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end "
                          "of the data (%" PRIu64 " bytes; file truncated?)", f->path, name, t->begin, t->end,
                          f->data_len);
    if (t->end - t->begin != bytes)
        return moec_error(diag, "%s: tensor '%s': %" PRIu64 " bytes of data, but %s %s needs %" PRIu64, f->path,
                          name, t->end - t->begin, rt_st_dtype_name(t->dtype),
                          rt_st_shape_str(sbuf, sizeof sbuf, t->rank, t->shape), bytes);
    return 0;
}

/* "__metadata__": a map of strings to strings. */
static int parse_metadata(rt_st_file *f, const json_t *v, moec_diag *diag)
{
    if (json_is_null(v)) return 0;
    if (!json_is_object(v)) return moec_error(diag, "%s: \"__metadata__\" is not an object", f->path);
    f->meta = calloc(json_object_size(v) + 1, sizeof *f->meta);
    if (!f->meta) return moec_error(diag, "%s: out of memory", f->path);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        if (!json_is_string(val))
            return moec_error(diag, "%s: \"__metadata__\" value of '%s' is not a string", f->path, key);
        rt_st_meta *m = &f->meta[f->n_meta];
        m->key = strdup(key);
        m->value = strdup(json_string_value(val));
        f->n_meta++;
        if (!m->key || !m->value) return moec_error(diag, "%s: out of memory", f->path);
    }
    return 0;
}

/* One tensor entry; on a problem it is added to diag and the entry dropped. */
static int parse_tensor(rt_st_file *f, const char *name, const json_t *v, moec_diag *diag)
{
    if (!*name) return moec_error(diag, "%s: a tensor has an empty name", f->path);
    if (!json_is_object(v)) return moec_error(diag, "%s: tensor '%s': entry is not an object", f->path, name);
    rt_st_tensor t = {0};
    if (parse_dtype_shape(f, name, v, &t, diag) < 0 || parse_offsets(f, name, v, &t, diag) < 0) return -1;
    t.name = strdup(name);
    if (!t.name) return moec_error(diag, "%s: out of memory", f->path);
    f->tensors[f->n_tensors++] = t;
    return 0;
}

/* Orders tensor indices by begin offset, for the overlap check. */
static int cmp_begin(const void *a, const void *b, void *ctx)
{
    const rt_st_tensor *t = ctx;
    uint64_t x = t[*(const int *)a].begin, y = t[*(const int *)b].begin;
    return x < y ? -1 : x > y;
}

/* No two non-empty tensors may share a byte. */
static int check_overlaps(const rt_st_file *f, moec_diag *diag)
{
    if (f->n_tensors < 2) return 0;
    int *order = malloc((size_t)f->n_tensors * sizeof *order);
    if (!order) return moec_error(diag, "%s: out of memory", f->path);
    for (int i = 0; i < f->n_tensors; i++) order[i] = i;
    qsort_r(order, (size_t)f->n_tensors, sizeof *order, cmp_begin, f->tensors);
    int status = 0, last = -1;   /* last: the non-empty tensor reaching furthest so far */
    for (int k = 0; k < f->n_tensors; k++) {
        const rt_st_tensor *t = &f->tensors[order[k]];
        if (t->begin == t->end) continue;
        if (last >= 0 && t->begin < f->tensors[last].end) {
            const rt_st_tensor *p = &f->tensors[last];
            status = moec_error(diag, "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64 ", %" PRIu64
                                 ") overlap", f->path, p->name, p->begin, p->end, t->name, t->begin, t->end);
        }
        if (last < 0 || t->end > f->tensors[last].end) last = order[k];
    }
    free(order);
    return status;
}

/* Parses the JSON header text (n bytes) into f's tensors and metadata. */
static int parse_header(rt_st_file *f, const char *text, size_t n, moec_diag *diag)
{
    json_error_t je;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return moec_error(diag, "%s: header is not valid JSON: %s (header byte %d)", f->path, je.text, je.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return moec_error(diag, "%s: header is not a JSON object", f->path);
    }
    f->tensors = calloc(json_object_size(root) + 1, sizeof *f->tensors);
    if (!f->tensors) {
        json_decref(root);
        return moec_error(diag, "%s: out of memory", f->path);
    }
    const char *key;
    json_t *v;
    int status = 0;   /* every entry is checked, so that all problems are reported */
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) status |= parse_metadata(f, v, diag);
        else status |= parse_tensor(f, key, v, diag);
    }
    json_decref(root);
    status |= check_overlaps(f, diag);
    return status ? -1 : 0;
}

/* ---- opening and reading ----------------------------------------------- */

static uint64_t le64(const unsigned char b[8])
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Reads the length word and the header text; checks them against the size. */
static int read_header(rt_st_file *f, uint64_t size, moec_diag *diag)
{
    unsigned char lenb[8];
    if (size < 8 || fread(lenb, 1, 8, f->f) != 8)
        return moec_error(diag, "%s: truncated: %" PRIu64 " bytes, but a safetensors file starts with an 8-byte "
                          "header length", f->path, size);
    uint64_t n = le64(lenb);
    if (n > size - 8)
        return moec_error(diag, "%s: header length %" PRIu64 " runs past the end of the file (%" PRIu64
                          " bytes after the length word; truncated, or not a safetensors file?)",
                          f->path, n, size - 8);
    if (n > RT_ST_MAX_HEADER)
        return moec_error(diag, "%s: header length %" PRIu64 " is more than %d bytes (RT_ST_MAX_HEADER)",
                          f->path, n, RT_ST_MAX_HEADER);
    if (n < 2) return moec_error(diag, "%s: header of %" PRIu64 " bytes is not a JSON object", f->path, n);
    char *text = malloc((size_t)n);
    if (!text) return moec_error(diag, "%s: out of memory for a %" PRIu64 "-byte header", f->path, n);
    if (fread(text, 1, (size_t)n, f->f) != (size_t)n) {
        free(text);
        return moec_error(diag, "%s: read error in the header: %s", f->path, strerror(errno));
    }
    f->data_start = 8 + n;
    f->data_len = size - f->data_start;
    int status = parse_header(f, text, (size_t)n, diag);
    free(text);
    return status;
}

int rt_st_open(rt_st_file *f, const char *path, moec_diag *diag)
{
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return moec_error(diag, "%s: out of memory", path);
    f->f = moec_file_open(path, "rb", NULL, diag);
    struct stat st;
    if (!f->f || fstat(fileno(f->f), &st) != 0) {
        if (f->f) moec_error(diag, "%s: %s", path, strerror(errno));
        rt_st_close(f);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        moec_error(diag, "%s: not a regular file", path);
        rt_st_close(f);
        return -1;
    }
    if (read_header(f, (uint64_t)st.st_size, diag) < 0) {
        rt_st_close(f);
        return -1;
    }
    return 0;
}

void rt_st_close(rt_st_file *f)
{
    if (f->f) fclose(f->f);
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int rt_st_find(const rt_st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return i;
    return -1;
}

/* Reads `len` bytes at data offset `at`; the header check keeps them in range. */
static int read_at(const rt_st_file *f, uint64_t at, void *dst, size_t len, moec_diag *diag)
{
    if (fseeko(f->f, (off_t)(f->data_start + at), SEEK_SET) != 0 || fread(dst, 1, len, f->f) != len)
        return moec_error(diag, "%s: read error at data offset %" PRIu64 " (file changed while reading?)",
                          f->path, at);
    return 0;
}

/* F16/BF16 to float, through a bounded buffer. */
static int read_half(const rt_st_file *f, const rt_st_tensor *t, float *dst, moec_diag *diag)
{
    enum { CHUNK = 16384 };
    uint16_t buf[CHUNK];
    for (uint64_t done = 0; done < t->numel;) {
        size_t n = t->numel - done < CHUNK ? (size_t)(t->numel - done) : CHUNK;
        if (read_at(f, t->begin + done * 2, buf, n * 2, diag) < 0) return -1;
        for (size_t i = 0; i < n; i++)
            dst[done + i] = t->dtype == RT_ST_F16 ? rt_st_f16_to_f32(buf[i]) : rt_st_bf16_to_f32(buf[i]);
        done += n;
    }
    return 0;
}

int rt_st_read_f32(const rt_st_file *f, int i, float *dst, moec_diag *diag)
{
    const rt_st_tensor *t = &f->tensors[i];
    switch (t->dtype) {
    case RT_ST_F32: return read_at(f, t->begin, dst, (size_t)t->numel * 4, diag);
    case RT_ST_F16:
    case RT_ST_BF16: return read_half(f, t, dst, diag);
    default:
        return moec_error(diag, "%s: tensor '%s' has dtype %s; moec reads F32, F16 and BF16", f->path, t->name,
                          rt_st_dtype_name(t->dtype));
    }
}

int rt_st_read_scalar_i64(const rt_st_file *f, int i, int64_t *out, moec_diag *diag)
{
    const rt_st_tensor *t = &f->tensors[i];
    if (t->numel != 1)
        return moec_error(diag, "%s: tensor '%s' should hold one integer, has %" PRIu64 " elements", f->path,
                          t->name, t->numel);
    unsigned char b[8] = {0};
    int size = rt_st_dtype_size(t->dtype);
    if (read_at(f, t->begin, b, (size_t)size, diag) < 0) return -1;
    switch (t->dtype) {
    case RT_ST_I64: { int64_t v; memcpy(&v, b, 8); *out = v; return 0; }
    case RT_ST_I32: { int32_t v; memcpy(&v, b, 4); *out = v; return 0; }
    case RT_ST_I16: { int16_t v; memcpy(&v, b, 2); *out = v; return 0; }
    case RT_ST_I8:  { *out = (int8_t)b[0]; return 0; }
    case RT_ST_U8:  { *out = b[0]; return 0; }
    case RT_ST_U16: { uint16_t v; memcpy(&v, b, 2); *out = v; return 0; }
    case RT_ST_U32: { uint32_t v; memcpy(&v, b, 4); *out = v; return 0; }
    default:
        return moec_error(diag, "%s: tensor '%s' has dtype %s; an integer was expected", f->path, t->name,
                          rt_st_dtype_name(t->dtype));
    }
}

/* ---- writing ------------------------------------------------------------ */

/* The header JSON: metadata first, then the tensors with consecutive offsets. */
static json_t *build_header(const rt_st_out *t, int n, const char *const *meta_kv, int n_meta, uint64_t *data_len)
{
    json_t *root = json_object(), *meta = json_object();
    if (!root || !meta || json_object_set_new(root, "__metadata__", meta) < 0) goto fail;
    for (int i = 0; i < n_meta; i++)
        if (json_object_set_new(meta, meta_kv[2 * i], json_string(meta_kv[2 * i + 1])) < 0) goto fail;
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (json_object_get(root, t[i].name)) goto fail;   /* a duplicate, or "__metadata__" */
        json_t *e = json_object(), *shape = json_array(), *off = json_array();
        if (!e || !shape || !off || json_object_set_new(root, t[i].name, e) < 0) {
            json_decref(e); json_decref(shape); json_decref(off);
            goto fail;
        }
        uint64_t numel = 1;
        for (int k = 0; k < t[i].rank; k++) {
            if (__builtin_mul_overflow(numel, (uint64_t)t[i].shape[k], &numel) ||
                json_array_append_new(shape, json_integer(t[i].shape[k])) < 0) {
                json_decref(shape); json_decref(off);
                goto fail;
            }
        }
        uint64_t end;
        if (numel > (UINT64_MAX - at) / 4 || (end = at + numel * 4) > (uint64_t)INT64_MAX) {
            json_decref(shape); json_decref(off);
            goto fail;
        }
        if (json_object_set_new(e, "dtype", json_string("F32")) < 0 || json_object_set_new(e, "shape", shape) < 0 ||
            json_array_append_new(off, json_integer((json_int_t)at)) < 0 ||
            json_array_append_new(off, json_integer((json_int_t)end)) < 0 ||
            json_object_set_new(e, "data_offsets", off) < 0)
            goto fail;
        at = end;
    }
    *data_len = at;
    return root;
fail:
    json_decref(root);
    return NULL;
}

/* Writes length word, padded header and every tensor's floats to out. */
static int write_body(FILE *out, const char *text, const rt_st_out *t, int n)
{
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (fwrite(lenb, 1, 8, out) != 8 || fwrite(text, 1, len, out) != len) return -1;
    for (size_t i = len; i < padded; i++)
        if (fputc(' ', out) == EOF) return -1;
    for (int i = 0; i < n; i++) {
        uint64_t numel = 1;
        for (int k = 0; k < t[i].rank; k++) numel *= (uint64_t)t[i].shape[k];
        if (numel && fwrite(t[i].data, sizeof(float), (size_t)numel, out) != numel) return -1;
    }
    return 0;
}

int rt_st_write(const char *path, const rt_st_out *t, int n, const char *const *meta_kv, int n_meta, moec_diag *diag)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < t[i].rank; k++)
            if (t[i].shape[k] < 0) return moec_error(diag, "%s: tensor '%s' has a negative dim", path, t[i].name);
    uint64_t data_len = 0;
    json_t *root = build_header(t, n, meta_kv, n_meta, &data_len);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return moec_error(diag, "%s: cannot build the header (a duplicate name, a tensor too large, or out of memory)",
                          path);
    moec_atomic_file af;
    if (moec_atomic_open(&af, path, diag) < 0) {
        free(text);
        return -1;
    }
    int bad = write_body(af.f, text, t, n);
    free(text);
    if (bad) {
        int e = errno;
        moec_atomic_abort(&af);
        return moec_error(diag, "%s: write failed: %s", path, strerror(e));
    }
    return moec_atomic_commit(&af, diag);
}
