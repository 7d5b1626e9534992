/* dtype.h — element types of the IR, derived from dtype.def.
 *
 * All facts about a dtype (its name, storage block, class, ONNX and GGUF
 * codes) live in dtype.def; this header only turns them into an enum and
 * lookup functions.
 */
#ifndef SMELT_DTYPE_H
#define SMELT_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ir_dtype {
    IR_DTYPE_NONE = 0,
#define DTYPE(ID, name, be, bb, cls, onnx, gguf) IR_##ID,
#include "dtype.def"
#undef DTYPE
    IR_DTYPE_COUNT
} ir_dtype;

typedef enum ir_dtype_class {
    IR_CLASS_F, IR_CLASS_S, IR_CLASS_U, IR_CLASS_B, IR_CLASS_Q
} ir_dtype_class;

typedef struct ir_dtype_info {
    const char *name;
    uint32_t block_elems, block_bytes;
    ir_dtype_class cls;
    int onnx_code, gguf_code;
} ir_dtype_info;

const ir_dtype_info *ir_dtype_get(ir_dtype t);
const char *ir_dtype_name(ir_dtype t);        /* "?" for IR_DTYPE_NONE */
ir_dtype ir_dtype_from_name(const char *name, int len); /* NONE if unknown; len<0: strlen */
ir_dtype ir_dtype_from_onnx(int onnx_code);   /* NONE if unsupported */
ir_dtype ir_dtype_from_gguf(int gguf_code);   /* NONE if unsupported */

bool ir_dtype_is_float(ir_dtype t);   /* f16, bf16, f32, f64, float8 and float4 types */
bool ir_dtype_is_int(ir_dtype t);     /* signed or unsigned integers, incl. 4-bit */
bool ir_dtype_is_signed(ir_dtype t);  /* signed ints and floats */
bool ir_dtype_is_quant(ir_dtype t);   /* block-quantized storage */
/* Bytes to store n elements; -1 if n is not a multiple of the block size or
 * the size overflows. 4-bit ints round up to whole bytes. */
int64_t ir_dtype_storage_bytes(ir_dtype t, int64_t n);

#endif
