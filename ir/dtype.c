/* ir/dtype.c -- the dtype table, derived from ir/dtypes.def: each element
 * type's name, size, host C type, CUDA type and whether it is a float, and
 * which dtypes the graph IR computes with today. Reads and writes nothing at
 * run time; the shape rules, verifier, printer and code generators ask it. */
#include <stdint.h>

#include "ir/graph.h"

typedef struct dtype_info {
    const char *name;
    int size;
    const char *c_type;
    const char *cuda_type;
    bool is_float;
} dtype_info;

static const dtype_info dtypes[IR_DTYPE_COUNT] = {
#define IR_DTYPE(name, str, bytes, ctype, cuda, is_float) [IR_##name] = {str, bytes, #ctype, cuda, is_float},
#include "ir/dtypes.def"
};
_Static_assert(sizeof dtypes / sizeof dtypes[0] == IR_DTYPE_COUNT, "dtype table needs IR_DTYPE_COUNT rows");

#define IR_DTYPE(name, str, bytes, ctype, cuda, is_float) \
    _Static_assert(sizeof(ctype) == (bytes), "dtype " str ": the C type has another size");
#include "ir/dtypes.def"

static const dtype_info *info(ir_dtype d)
{
    MOEC_ASSERT((unsigned)d < IR_DTYPE_COUNT);
    return &dtypes[d];
}

const char *ir_dtype_name(ir_dtype d) { return (unsigned)d < IR_DTYPE_COUNT ? dtypes[d].name : "?"; }
int ir_dtype_size(ir_dtype d) { return info(d)->size; }
const char *ir_dtype_c_type(ir_dtype d) { return info(d)->c_type; }
const char *ir_dtype_cuda_type(ir_dtype d) { return info(d)->cuda_type; }
bool ir_dtype_is_float(ir_dtype d) { return info(d)->is_float; }

/* A new dtype is decided here: the interpreter's kernels, the shape rules'
 * dtype checks and CAST know f32 and i32 only. */
bool ir_dtype_computed(ir_dtype d)
{
    switch (d) {
    case IR_F32:
    case IR_I32: return true;
    case IR_BF16:
    case IR_F16:
    case IR_F64: return false;
    default: MOEC_UNREACHABLE();
    }
}
