/* spv_values.c — scalar values of every dtype in a SPIR-V kernel: register
 * and storage types (declaring the capabilities they need), constants,
 * symbol values, element loads and stores, rounding to f16/bf16, integer
 * wrapping and the kernel IR's CAST, with ir/interp.c's semantics.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/spirv/spv_internal.h"
#include "runtime/vulkan/vk.h"

uint32_t spv_fail(spv_ctx *c, const char *fmt, ...) {
    if (!c->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_size, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return 0;
}

uint32_t spv_op1(spv_ctx *c, uint32_t op, uint32_t type, uint32_t a) { return spv_op(&c->b, c->cur, op, type, &a, 1); }

uint32_t spv_op2(spv_ctx *c, uint32_t op, uint32_t type, uint32_t a, uint32_t b) {
    uint32_t ops[2] = {a, b};
    return spv_op(&c->b, c->cur, op, type, ops, 2);
}

uint32_t spv_sel(spv_ctx *c, uint32_t type, uint32_t cond, uint32_t a, uint32_t b) {
    uint32_t ops[3] = {cond, a, b};
    return spv_op(&c->b, c->cur, SpvOpSelect, type, ops, 3);
}

uint32_t spv_ext(spv_ctx *c, uint32_t type, uint32_t inst, uint32_t a, uint32_t b2) {
    uint32_t ops[4] = {c->glsl, inst, a, b2};
    return spv_op(&c->b, c->cur, SpvOpExtInst, type, ops, b2 ? 4 : 3);
}

/* ---- types ---- */

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }

static uint32_t t_f64(spv_ctx *c) {
    if (!c->t_f64) {
        if (!c->f->float64) return spv_fail(c, "f64 needs shaderFloat64, which the device lacks");
        spv_capability(&c->b, SpvCapFloat64);
        uint32_t w = 64;
        c->t_f64 = spv_type(&c->b, SpvOpTypeFloat, &w, 1);
    }
    return c->t_f64;
}

uint32_t spv_reg_type(spv_ctx *c, ir_dtype t) {
    switch (t) {
    case IR_BOOL: return c->t_bool;
    case IR_I8: case IR_U8: case IR_I16: case IR_U16: case IR_I32: case IR_U32: case IR_I64: case IR_U64:
        return c->t_i64;
    case IR_F32: case IR_F16: case IR_BF16: return c->t_f32;
    case IR_F64: return t_f64(c);
    default: return 0;
    }
}

/* storage kinds: the element type of a buffer's runtime array */
enum { SK_U8, SK_U16, SK_U32, SK_I64, SK_F32, SK_F64, SK_NONE };

static int storage_kind(ir_dtype t) {
    switch (t) {
    case IR_BOOL: case IR_I8: case IR_U8: return SK_U8;
    case IR_I16: case IR_U16: case IR_F16: case IR_BF16: return SK_U16;
    case IR_I32: case IR_U32: return SK_U32;
    case IR_I64: case IR_U64: return SK_I64;
    case IR_F32: return SK_F32;
    case IR_F64: return SK_F64;
    default: return SK_NONE;
    }
}

bool spv_dtype_ok(spv_ctx *c, ir_dtype t, bool storage) {
    int k = storage_kind(t);
    if (k == SK_NONE) return false;
    if (t == IR_F64 && !c->f->float64) return false;
    if (storage && k == SK_U8 && !c->f->storage8) return false;
    if (storage && k == SK_U16 && !c->f->storage16) return false;
    return true;
}

static uint32_t sk_elem(spv_ctx *c, int k) {
    if (k < 0 || k >= SK_NONE) return spv_fail(c, "no storage type");
    if (c->sk_elem[k]) return c->sk_elem[k];
    uint32_t ops[2];
    switch (k) {
    case SK_U8:
        spv_capability(&c->b, SpvCapStorageBuffer8BitAccess);
        if (c->f->int8) spv_capability(&c->b, SpvCapInt8);
        spv_extension(&c->b, "SPV_KHR_8bit_storage");
        ops[0] = 8, ops[1] = 0;
        c->sk_elem[k] = spv_type(&c->b, SpvOpTypeInt, ops, 2);
        break;
    case SK_U16:
        spv_capability(&c->b, SpvCapStorageBuffer16BitAccess);
        if (c->f->int16) spv_capability(&c->b, SpvCapInt16);
        spv_extension(&c->b, "SPV_KHR_16bit_storage");
        ops[0] = 16, ops[1] = 0;
        c->sk_elem[k] = spv_type(&c->b, SpvOpTypeInt, ops, 2);
        break;
    case SK_U32: c->sk_elem[k] = c->t_u32; break;
    case SK_I64: c->sk_elem[k] = c->t_i64; break;
    case SK_F32: c->sk_elem[k] = c->t_f32; break;
    default: c->sk_elem[k] = t_f64(c); break;
    }
    return c->sk_elem[k];
}

static const uint32_t sk_bytes[] = {1, 2, 4, 8, 4, 8};

/* The block struct of storage kind k, its pointer and the element pointer. */
static void sk_types(spv_ctx *c, int k) {
    if (c->sk_pstruct[k]) return;
    uint32_t elem = sk_elem(c, k);
    uint32_t arr = spv_id(&c->b), st = spv_id(&c->b), ops[3];
    /* not deduplicated: each kind's array and struct are made once here */
    uint32_t head[3] = {(3u << 16) | SpvOpTypeRuntimeArray, arr, elem};
    spv_put(&c->b, &c->b.types, head, 3);
    uint32_t shead[3] = {(3u << 16) | SpvOpTypeStruct, st, arr};
    spv_put(&c->b, &c->b.types, shead, 3);
    spv_decorate(&c->b, arr, SpvDecoArrayStride, &sk_bytes[k], 1);
    spv_decorate(&c->b, st, SpvDecoBlock, NULL, 0);
    uint32_t md[4] = {st, 0, SpvDecoOffset, 0};
    spv_inst(&c->b, &c->b.decos, SpvOpMemberDecorate, md, 4);
    ops[0] = SpvStorageStorageBuffer, ops[1] = st;
    c->sk_pstruct[k] = spv_type(&c->b, SpvOpTypePointer, ops, 2);
    ops[1] = elem;
    c->sk_pelem[k] = spv_type(&c->b, SpvOpTypePointer, ops, 2);
}

uint32_t spv_bind_buffer(spv_ctx *c, uint32_t buf, uint32_t binding, bool writable) {
    ir_dtype t = buf == KIR_NONE ? IR_I64 : c->p->bufs[buf].dtype; /* KIR_NONE: the symbols */
    int k = storage_kind(t);
    sk_types(c, k);
    uint32_t sc = SpvStorageStorageBuffer;
    uint32_t var = spv_op(&c->b, &c->b.types, SpvOpVariable, c->sk_pstruct[k], &sc, 1);
    uint32_t zero = 0;
    spv_decorate(&c->b, var, SpvDecoDescriptorSet, &zero, 1);
    spv_decorate(&c->b, var, SpvDecoBinding, &binding, 1);
    if (!writable) spv_decorate(&c->b, var, SpvDecoNonWritable, NULL, 0);
    spv_decorate(&c->b, var, SpvDecoRestrict, NULL, 0);
    if (buf != KIR_NONE) {
        spv_name(&c->b, var, c->p->bufs[buf].name);
        c->buf_var[buf] = var;
    }
    return var;
}

/* ---- constants ---- */

uint32_t spv_c_i64(spv_ctx *c, int64_t v) {
    uint64_t u = (uint64_t)v;
    uint32_t w[2] = {(uint32_t)u, (uint32_t)(u >> 32)};
    return spv_const(&c->b, SpvOpConstant, c->t_i64, w, 2);
}

uint32_t spv_c_u32(spv_ctx *c, uint32_t v) { return spv_const(&c->b, SpvOpConstant, c->t_u32, &v, 1); }

uint32_t spv_c_f32(spv_ctx *c, float v) {
    uint32_t w;
    memcpy(&w, &v, 4);
    return spv_const(&c->b, SpvOpConstant, c->t_f32, &w, 1);
}

uint32_t spv_c_f64(spv_ctx *c, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    uint32_t w[2] = {(uint32_t)u, (uint32_t)(u >> 32)};
    uint32_t t = t_f64(c);
    return t ? spv_const(&c->b, SpvOpConstant, t, w, 2) : 0;
}

uint32_t spv_c_bool(spv_ctx *c, bool v) {
    return spv_const(&c->b, v ? SpvOpConstantTrue : SpvOpConstantFalse, c->t_bool, NULL, 0);
}

uint32_t spv_c_float(spv_ctx *c, ir_dtype t, double v) { return t == IR_F64 ? spv_c_f64(c, v) : spv_c_f32(c, (float)v); }

/* ---- symbols: loaded once, in the entry block ---- */

uint32_t spv_dim(spv_ctx *c, ir_dim d) {
    if (ir_dim_is_const(d)) return spv_c_i64(c, d.c);
    if (!c->sym_val[d.sym]) {
        if (!c->syms_var) c->syms_var = spv_bind_buffer(c, KIR_NONE, SPV_BINDING_SYMS, false);
        sk_types(c, SK_I64);
        uint32_t ops[3] = {c->syms_var, spv_c_u32(c, 0), spv_c_u32(c, (uint32_t)d.sym)};
        uint32_t ptr = spv_op(&c->b, &c->pre, SpvOpAccessChain, c->sk_pelem[SK_I64], ops, 3);
        c->sym_val[d.sym] = spv_op(&c->b, &c->pre, SpvOpLoad, c->t_i64, &ptr, 1);
    }
    return c->sym_val[d.sym];
}

/* ---- element access ---- */

static uint32_t elem_ptr(spv_ctx *c, uint32_t buf, uint32_t lin64) {
    int k = storage_kind(c->p->bufs[buf].dtype);
    uint32_t i32 = spv_op1(c, SpvOpUConvert, c->t_u32, lin64);
    uint32_t ops[3] = {c->buf_var[buf], spv_c_u32(c, 0), i32};
    return spv_op(&c->b, c->cur, SpvOpAccessChain, c->sk_pelem[k], ops, 3);
}

static uint32_t f16_bits_to_f32(spv_ctx *c, uint32_t bits32) {
    uint32_t v2 = spv_ext(c, c->t_v2f32, GLSLUnpackHalf2x16, bits32, 0);
    uint32_t ops[2] = {v2, 0};
    return spv_op(&c->b, c->cur, SpvOpCompositeExtract, c->t_f32, ops, 2);
}

uint32_t spv_load_elem(spv_ctx *c, uint32_t buf, uint32_t lin64) {
    ir_dtype t = c->p->bufs[buf].dtype;
    int k = storage_kind(t);
    uint32_t ptr = elem_ptr(c, buf, lin64);
    uint32_t raw = spv_op1(c, SpvOpLoad, sk_elem(c, k), ptr);
    switch (t) {
    case IR_BOOL:
        return spv_op2(c, SpvOpINotEqual, c->t_bool, spv_op1(c, SpvOpUConvert, c->t_u32, raw), spv_c_u32(c, 0));
    case IR_I8: case IR_I16: case IR_I32: return spv_op1(c, SpvOpSConvert, c->t_i64, raw);
    case IR_U8: case IR_U16: case IR_U32: return spv_op1(c, SpvOpUConvert, c->t_i64, raw);
    case IR_F16: return f16_bits_to_f32(c, spv_op1(c, SpvOpUConvert, c->t_u32, raw));
    case IR_BF16: {
        uint32_t w = spv_op2(c, SpvOpShiftLeftLogical, c->t_u32, spv_op1(c, SpvOpUConvert, c->t_u32, raw), spv_c_u32(c, 16));
        return spv_op1(c, SpvOpBitcast, c->t_f32, w);
    }
    default: return raw;
    }
}

/* bf16 bits (in a u32) of f32 v, to nearest even (rt_f32_to_bf16) */
static uint32_t bf16_bits(spv_ctx *c, uint32_t v) {
    uint32_t x = spv_op1(c, SpvOpBitcast, c->t_u32, v);
    uint32_t ax = spv_op2(c, SpvOpBitwiseAnd, c->t_u32, x, spv_c_u32(c, 0x7fffffff));
    uint32_t nan = spv_op2(c, SpvOpUGreaterThan, c->t_bool, ax, spv_c_u32(c, 0x7f800000));
    uint32_t lsb = spv_op2(c, SpvOpBitwiseAnd, c->t_u32, spv_op2(c, SpvOpShiftRightLogical, c->t_u32, x, spv_c_u32(c, 16)),
                           spv_c_u32(c, 1));
    uint32_t r = spv_op2(c, SpvOpIAdd, c->t_u32, x, spv_op2(c, SpvOpIAdd, c->t_u32, lsb, spv_c_u32(c, 0x7fff)));
    uint32_t q = spv_op2(c, SpvOpBitwiseOr, c->t_u32, x, spv_c_u32(c, 0x400000));
    return spv_op2(c, SpvOpShiftRightLogical, c->t_u32, spv_sel(c, c->t_u32, nan, q, r), spv_c_u32(c, 16));
}

void spv_store_elem(spv_ctx *c, uint32_t buf, uint32_t lin64, uint32_t v) {
    ir_dtype t = c->p->bufs[buf].dtype;
    int k = storage_kind(t);
    uint32_t et = sk_elem(c, k), s;
    switch (t) {
    case IR_BOOL: s = spv_op1(c, SpvOpUConvert, et, spv_sel(c, c->t_u32, v, spv_c_u32(c, 1), spv_c_u32(c, 0))); break;
    case IR_I8: case IR_U8: case IR_I16: case IR_U16: case IR_I32: case IR_U32: s = spv_op1(c, SpvOpUConvert, et, v); break;
    case IR_F16: s = spv_op1(c, SpvOpUConvert, et, spv_call_f16_bits(c, v)); break;
    case IR_BF16: s = spv_op1(c, SpvOpUConvert, et, bf16_bits(c, v)); break;
    default: s = v; break;
    }
    uint32_t ptr = elem_ptr(c, buf, lin64), ops[2] = {ptr, s};
    spv_inst(&c->b, c->cur, SpvOpStore, ops, 2);
}

/* ---- rounding, wrapping, conversion ---- */

uint32_t spv_round_to(spv_ctx *c, uint32_t v, ir_dtype t) {
    switch (t) {
    case IR_F16: return f16_bits_to_f32(c, spv_call_f16_bits(c, v));
    case IR_BF16:
        return spv_op1(c, SpvOpBitcast, c->t_f32,
                       spv_op2(c, SpvOpShiftLeftLogical, c->t_u32, bf16_bits(c, v), spv_c_u32(c, 16)));
    default: return v;
    }
}

uint32_t spv_wrap64(spv_ctx *c, uint32_t v, ir_dtype t) {
    int bits = 0;
    switch (t) {
    case IR_BOOL: return spv_op2(c, SpvOpINotEqual, c->t_bool, v, spv_c_i64(c, 0));
    case IR_I8: case IR_U8: bits = 8; break;
    case IR_I16: case IR_U16: bits = 16; break;
    case IR_I32: case IR_U32: bits = 32; break;
    default: return v;
    }
    if (is_unsigned(t)) return spv_op2(c, SpvOpBitwiseAnd, c->t_i64, v, spv_c_i64(c, (int64_t)((1ull << bits) - 1)));
    uint32_t sh = spv_c_i64(c, 64 - bits);
    return spv_op2(c, SpvOpShiftRightArithmetic, c->t_i64, spv_op2(c, SpvOpShiftLeftLogical, c->t_i64, v, sh), sh);
}

uint32_t spv_ext64(spv_ctx *c, uint32_t v, ir_dtype t) {
    return t == IR_BOOL ? spv_sel(c, c->t_i64, v, spv_c_i64(c, 1), spv_c_i64(c, 0)) : v;
}

uint32_t spv_to_float(spv_ctx *c, uint32_t v, ir_dtype from, ir_dtype to) {
    uint32_t ft = spv_reg_type(c, from), tt = spv_reg_type(c, to);
    if (!ft || !tt) return 0;
    if (ft != tt) v = spv_op1(c, SpvOpFConvert, tt, v);
    return from == to ? v : spv_round_to(c, v, to);
}

uint32_t spv_convert(spv_ctx *c, uint32_t v, ir_dtype from, ir_dtype to, int64_t flags) {
    bool ff = ir_dtype_is_float(from), tf = ir_dtype_is_float(to);
    if (from == to) return v;
    if (to == IR_BOOL) {
        if (ff) return spv_op2(c, SpvOpFUnordNotEqual, c->t_bool, v, spv_c_float(c, from, 0.0));
        return spv_op2(c, SpvOpINotEqual, c->t_bool, v, spv_c_i64(c, 0));
    }
    if (tf) {
        if (ff) return spv_to_float(c, v, from, to);
        uint32_t tt = spv_reg_type(c, to);
        if (!tt) return 0;
        v = spv_ext64(c, v, from);
        uint32_t r = spv_op1(c, from == IR_U64 ? SpvOpConvertUToF : SpvOpConvertSToF, tt, v);
        return spv_round_to(c, r, to);
    }
    if (!ff) return spv_wrap64(c, spv_ext64(c, v, from), to);
    /* float to integer: truncation; NaN and out of range as the interpreter */
    uint32_t T = c->t_i64, B = c->t_bool, minv = spv_c_i64(c, INT64_MIN);
    uint32_t lo = spv_op2(c, SpvOpFOrdGreaterThanEqual, B, v, spv_c_float(c, from, -9223372036854775808.0));
    uint32_t sres = spv_sel(c, T, lo, spv_op1(c, SpvOpConvertFToS, T, v), minv), r;
    if (to == IR_U64) {
        uint32_t nan = spv_op1(c, SpvOpIsNan, B, v);
        uint32_t big = spv_op2(c, SpvOpFOrdGreaterThanEqual, B, v, spv_c_float(c, from, 18446744073709551616.0));
        uint32_t le0 = spv_op2(c, SpvOpFOrdLessThanEqual, B, v, spv_c_float(c, from, 0.0));
        r = spv_op1(c, SpvOpConvertFToU, T, v);
        r = spv_sel(c, T, le0, sres, r);
        r = spv_sel(c, T, big, spv_c_i64(c, -1), r);
        r = spv_sel(c, T, nan, spv_c_i64(c, 0), r);
    } else {
        uint32_t hi = spv_op2(c, SpvOpFOrdLessThan, B, v, spv_c_float(c, from, 9223372036854775808.0));
        r = spv_sel(c, T, hi, sres, minv);
    }
    (void)flags;
    return spv_wrap64(c, r, to);
}

uint32_t spv_needs(const spv_ctx *c) {
    uint32_t n = 0;
    if (c->t_f64) n |= RT_VK_NEEDS_F64;
    if (c->sk_elem[SK_U8]) n |= RT_VK_NEEDS_STORAGE8 | (c->f->int8 ? RT_VK_NEEDS_INT8 : 0);
    if (c->sk_elem[SK_U16]) n |= RT_VK_NEEDS_STORAGE16 | (c->f->int16 ? RT_VK_NEEDS_INT16 : 0);
    return n;
}
