/* dtype.c — lookups over the dtype table (dtype.def). */
#include "ir/dtype.h"

#include <string.h>

static const ir_dtype_info dtype_table[IR_DTYPE_COUNT] = {
    [IR_DTYPE_NONE] = {"?", 1, 0, IR_CLASS_F, 0, -1},
#define DTYPE(ID, nm, be, bb, cls, onnx, gguf) [IR_##ID] = {#nm, be, bb, IR_CLASS_##cls, onnx, gguf},
#include "ir/dtype.def"
#undef DTYPE
};

const ir_dtype_info *ir_dtype_get(ir_dtype t) {
    return (unsigned)t < IR_DTYPE_COUNT ? &dtype_table[t] : &dtype_table[0];
}

const char *ir_dtype_name(ir_dtype t) { return ir_dtype_get(t)->name; }

ir_dtype ir_dtype_from_name(const char *name, int len) {
    size_t n = len < 0 ? strlen(name) : (size_t)len;
    for (int t = 1; t < IR_DTYPE_COUNT; t++)
        if (strlen(dtype_table[t].name) == n && memcmp(dtype_table[t].name, name, n) == 0)
            return (ir_dtype)t;
    return IR_DTYPE_NONE;
}

ir_dtype ir_dtype_from_onnx(int code) {
    for (int t = 1; t < IR_DTYPE_COUNT; t++)
        if (code != 0 && dtype_table[t].onnx_code == code) return (ir_dtype)t;
    return IR_DTYPE_NONE;
}

ir_dtype ir_dtype_from_gguf(int code) {
    for (int t = 1; t < IR_DTYPE_COUNT; t++)
        if (code >= 0 && dtype_table[t].gguf_code == code) return (ir_dtype)t;
    return IR_DTYPE_NONE;
}

bool ir_dtype_is_float(ir_dtype t) { return t != IR_DTYPE_NONE && ir_dtype_get(t)->cls == IR_CLASS_F; }
bool ir_dtype_is_int(ir_dtype t) {
    ir_dtype_class c = ir_dtype_get(t)->cls;
    return t != IR_DTYPE_NONE && (c == IR_CLASS_S || c == IR_CLASS_U);
}
bool ir_dtype_is_signed(ir_dtype t) {
    ir_dtype_class c = ir_dtype_get(t)->cls;
    return t != IR_DTYPE_NONE && (c == IR_CLASS_S || c == IR_CLASS_F);
}
bool ir_dtype_is_quant(ir_dtype t) { return t != IR_DTYPE_NONE && ir_dtype_get(t)->cls == IR_CLASS_Q; }

int64_t ir_dtype_storage_bytes(ir_dtype t, int64_t n) {
    const ir_dtype_info *info = ir_dtype_get(t);
    if (t == IR_DTYPE_NONE || n < 0) return -1;
    int64_t be = info->block_elems, blocks;
    if (info->cls == IR_CLASS_Q) {
        if (n % be) return -1;
        blocks = n / be;
    } else {
        blocks = (n + be - 1) / be; /* packed 4-bit ints round up */
    }
    if (blocks > INT64_MAX / info->block_bytes) return -1;
    return blocks * info->block_bytes;
}
