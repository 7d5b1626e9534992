/* values.c — scalar values of every dtype in generated code: register types,
 * element loads and stores (packed 4- and 2-bit types, f16/bf16 bits,
 * float8/float4 through smelt_rt_api), rounding to a dtype and the kernel
 * IR's CAST, all exactly as ir/interp.c computes them.
 *
 * A float value may also be "wide": a double where its dtype's register type
 * is float (a constant not exact in float, or a select of one). The
 * interpreter keeps such constants unrounded, so consumers compute in
 * double when an operand is wide and round the result to its dtype.
 */
#include <math.h>
#include <string.h>

#include "codegen/llvm/cg_internal.h"
#include "runtime/minifloat.h"

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }
static bool is_packed(ir_dtype t) { return ir_dtype_get(t)->block_elems > 1; }

LLVMTypeRef cg_reg_type(cg_ctx *c, ir_dtype t) {
    switch (t) {
    case IR_F32: case IR_F16: case IR_BF16: return c->t_f32;
    case IR_F64: return c->t_f64;
    case IR_BOOL: return c->t_i1;
    case IR_I8: case IR_U8: case IR_I4: case IR_U4: case IR_I2: case IR_U2: return c->t_i8;
    case IR_I16: case IR_U16: return c->t_i16;
    case IR_I32: case IR_U32: return c->t_i32;
    case IR_I64: case IR_U64: return c->t_i64;
    default: return mf_is_minifloat(t) ? c->t_f64 : NULL;
    }
}

/* ---- invariants: buffer bases, symbols, strides ---- */

LLVMValueRef cg_buffer_ptr(cg_fn *f, uint32_t b) {
    if (!f->buf_base[b]) {
        cg_ctx *c = f->c;
        LLVMValueRef i = LLVMConstInt(c->t_i64, b, 0);
        LLVMValueRef slot = LLVMBuildGEP2(f->eb, c->t_ptr, f->bufs_arr, &i, 1, "");
        f->buf_base[b] = LLVMBuildLoad2(f->eb, c->t_ptr, slot, f->c->p->bufs[b].name);
    }
    return f->buf_base[b];
}

LLVMValueRef cg_emit_dim(cg_fn *f, ir_dim d) {
    cg_ctx *c = f->c;
    if (ir_dim_is_const(d)) return LLVMConstInt(c->t_i64, (unsigned long long)d.c, 1);
    if (!f->sym_val[d.sym]) {
        LLVMValueRef i = LLVMConstInt(c->t_i64, (unsigned long long)d.sym, 0);
        LLVMValueRef slot = LLVMBuildGEP2(f->eb, c->t_i64, f->syms_arr, &i, 1, "");
        f->sym_val[d.sym] = LLVMBuildLoad2(f->eb, c->t_i64, slot, "sym");
    }
    return f->sym_val[d.sym];
}

/* ---- helpers of the runtime table ---- */

static LLVMValueRef rt_fn(cg_fn *f, int field) {
    cg_ctx *c = f->c;
    LLVMValueRef i = LLVMConstInt(c->t_i64, (unsigned long long)field, 0);
    LLVMValueRef slot = LLVMBuildGEP2(f->eb, c->t_ptr, f->rt, &i, 1, "");
    return LLVMBuildLoad2(f->eb, c->t_ptr, slot, "rtfn");
}

static LLVMValueRef mf_decode_call(cg_fn *f, ir_dtype t, LLVMValueRef bits8) {
    cg_ctx *c = f->c;
    LLVMTypeRef params[2] = {c->t_i32, c->t_i32};
    LLVMTypeRef ty = LLVMFunctionType(c->t_f64, params, 2, 0);
    LLVMValueRef args[2] = {LLVMConstInt(c->t_i32, (unsigned)t, 0), LLVMBuildZExt(f->b, bits8, c->t_i32, "")};
    return LLVMBuildCall2(f->b, ty, rt_fn(f, 2), args, 2, "");
}

static LLVMValueRef mf_encode_call(cg_fn *f, ir_dtype t, LLVMValueRef d, int sat, int round) {
    cg_ctx *c = f->c;
    LLVMTypeRef params[4] = {c->t_i32, c->t_f64, c->t_i32, c->t_i32};
    LLVMTypeRef ty = LLVMFunctionType(c->t_i32, params, 4, 0);
    LLVMValueRef args[4] = {LLVMConstInt(c->t_i32, (unsigned)t, 0), d, LLVMConstInt(c->t_i32, (unsigned)sat, 0),
                            LLVMConstInt(c->t_i32, (unsigned)round, 0)};
    return LLVMBuildTrunc(f->b, LLVMBuildCall2(f->b, ty, rt_fn(f, 3), args, 4, ""), c->t_i8, "");
}

/* ---- integer wrapping ---- */

/* v (register value of integer/bool dtype t) extended to i64 as the
 * interpreter holds it: signed types sign-extended, the others zero-extended. */
static LLVMValueRef ext64(cg_fn *f, LLVMValueRef v, ir_dtype t) {
    if (LLVMTypeOf(v) == f->c->t_i64) return v;
    return is_unsigned(t) ? LLVMBuildZExt(f->b, v, f->c->t_i64, "") : LLVMBuildSExt(f->b, v, f->c->t_i64, "");
}

/* An i64 value wrapped to integer/bool dtype t, in t's register type. */
static LLVMValueRef wrap64(cg_fn *f, LLVMValueRef v, ir_dtype t) {
    cg_ctx *c = f->c;
    if (t == IR_BOOL) return LLVMBuildICmp(f->b, LLVMIntNE, v, LLVMConstInt(c->t_i64, 0, 0), "");
    LLVMTypeRef rt = cg_reg_type(c, t);
    LLVMValueRef r = rt == c->t_i64 ? v : LLVMBuildTrunc(f->b, v, rt, "");
    int bits = t == IR_I4 || t == IR_U4 ? 4 : t == IR_I2 || t == IR_U2 ? 2 : 0;
    if (!bits) return r;
    if (is_unsigned(t)) return LLVMBuildAnd(f->b, r, LLVMConstInt(c->t_i8, (1u << bits) - 1, 0), "");
    LLVMValueRef sh = LLVMConstInt(c->t_i8, (unsigned)(8 - bits), 0);
    return LLVMBuildAShr(f->b, LLVMBuildShl(f->b, r, sh, ""), sh, "");
}

LLVMValueRef cg_ext64(cg_fn *f, LLVMValueRef v, ir_dtype t) { return ext64(f, v, t); }
LLVMValueRef cg_wrap64(cg_fn *f, LLVMValueRef v, ir_dtype t) { return wrap64(f, v, t); }

/* ---- rounding ---- */

LLVMValueRef cg_round_to(cg_fn *f, LLVMValueRef v, ir_dtype t) {
    cg_ctx *c = f->c;
    LLVMTypeRef vt = LLVMTypeOf(v);
    if (mf_is_minifloat(t)) {
        if (vt != c->t_f64) v = LLVMBuildFPExt(f->b, v, c->t_f64, "");
        return mf_decode_call(f, t, mf_encode_call(f, t, v, 0, MF_ROUND_NEAREST));
    }
    if (t == IR_F64) return vt == c->t_f64 ? v : LLVMBuildFPExt(f->b, v, c->t_f64, "");
    if (vt == c->t_f64) v = LLVMBuildFPTrunc(f->b, v, c->t_f32, "");
    if (t == IR_F16) {
        LLVMValueRef h = cg_call_helper(f, "cg.f32_to_f16", &v, 1);
        return cg_call_helper(f, "cg.f16_to_f32", &h, 1);
    }
    if (t == IR_BF16) return cg_call_helper(f, "cg.round_bf16", &v, 1);
    return v;
}

/* ---- element access ---- */

static void scope_md(cg_fn *f, uint32_t b, LLVMValueRef inst) {
    if (f->md_scope && f->md_scope[b]) {
        LLVMSetMetadata(inst, f->c->md_scope, f->md_scope[b]);
        LLVMSetMetadata(inst, f->c->md_noalias, f->md_noalias[b]);
    }
}

static LLVMValueRef load_at(cg_fn *f, uint32_t b, LLVMTypeRef ty, LLVMValueRef lin) {
    LLVMValueRef p = LLVMBuildGEP2(f->b, ty, cg_buffer_ptr(f, b), &lin, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(f->b, ty, p, "");
    scope_md(f, b, v);
    return v;
}

static void store_at(cg_fn *f, uint32_t b, LLVMTypeRef ty, LLVMValueRef lin, LLVMValueRef v) {
    LLVMValueRef p = LLVMBuildGEP2(f->b, ty, cg_buffer_ptr(f, b), &lin, 1, "");
    scope_md(f, b, LLVMBuildStore(f->b, v, p));
}

/* byte index and bit shift of packed element lin (lin >= 0) */
static void packed_pos(cg_fn *f, ir_dtype t, LLVMValueRef lin, LLVMValueRef *byte, LLVMValueRef *shift) {
    cg_ctx *c = f->c;
    unsigned per = ir_dtype_get(t)->block_elems, bits = 8 / per, lg = per == 2 ? 1 : 2;
    *byte = LLVMBuildLShr(f->b, lin, LLVMConstInt(c->t_i64, lg, 0), "");
    LLVMValueRef sub = LLVMBuildAnd(f->b, lin, LLVMConstInt(c->t_i64, per - 1, 0), "");
    *shift = LLVMBuildTrunc(f->b, LLVMBuildMul(f->b, sub, LLVMConstInt(c->t_i64, bits, 0), ""), c->t_i8, "");
}

LLVMValueRef cg_load_elem(cg_fn *f, uint32_t b, LLVMValueRef lin) {
    cg_ctx *c = f->c;
    ir_dtype t = c->p->bufs[b].dtype;
    switch (t) {
    case IR_F32: return load_at(f, b, c->t_f32, lin);
    case IR_F64: return load_at(f, b, c->t_f64, lin);
    case IR_F16: {
        LLVMValueRef h = load_at(f, b, c->t_i16, lin);
        return cg_call_helper(f, "cg.f16_to_f32", &h, 1);
    }
    case IR_BF16: {
        LLVMValueRef h = LLVMBuildZExt(f->b, load_at(f, b, c->t_i16, lin), c->t_i32, "");
        return LLVMBuildBitCast(f->b, LLVMBuildShl(f->b, h, LLVMConstInt(c->t_i32, 16, 0), ""), c->t_f32, "");
    }
    case IR_BOOL: return LLVMBuildICmp(f->b, LLVMIntNE, load_at(f, b, c->t_i8, lin), LLVMConstInt(c->t_i8, 0, 0), "");
    case IR_I8: case IR_U8: return load_at(f, b, c->t_i8, lin);
    case IR_I16: case IR_U16: return load_at(f, b, c->t_i16, lin);
    case IR_I32: case IR_U32: return load_at(f, b, c->t_i32, lin);
    case IR_I64: case IR_U64: return load_at(f, b, c->t_i64, lin);
    default: break;
    }
    LLVMValueRef bits;
    if (is_packed(t)) {
        LLVMValueRef byte, shift;
        packed_pos(f, t, lin, &byte, &shift);
        unsigned w = 8 / ir_dtype_get(t)->block_elems;
        bits = LLVMBuildLShr(f->b, load_at(f, b, c->t_i8, byte), shift, "");
        bits = LLVMBuildAnd(f->b, bits, LLVMConstInt(c->t_i8, (1u << w) - 1, 0), "");
    } else {
        bits = load_at(f, b, c->t_i8, lin);
    }
    if (mf_is_minifloat(t)) return mf_decode_call(f, t, bits);
    return wrap64(f, LLVMBuildZExt(f->b, bits, c->t_i64, ""), t);
}

void cg_store_elem(cg_fn *f, uint32_t b, LLVMValueRef lin, LLVMValueRef v) {
    cg_ctx *c = f->c;
    ir_dtype t = c->p->bufs[b].dtype;
    if (ir_dtype_is_float(t) && LLVMTypeOf(v) != cg_reg_type(c, t)) v = cg_round_to(f, v, t);
    switch (t) {
    case IR_F32: store_at(f, b, c->t_f32, lin, v); return;
    case IR_F64: store_at(f, b, c->t_f64, lin, v); return;
    case IR_F16: store_at(f, b, c->t_i16, lin, cg_call_helper(f, "cg.f32_to_f16", &v, 1)); return;
    case IR_BF16: store_at(f, b, c->t_i16, lin, cg_call_helper(f, "cg.f32_to_bf16", &v, 1)); return;
    case IR_BOOL: store_at(f, b, c->t_i8, lin, LLVMBuildZExt(f->b, v, c->t_i8, "")); return;
    case IR_I8: case IR_U8: case IR_I16: case IR_U16: case IR_I32: case IR_U32: case IR_I64: case IR_U64:
        store_at(f, b, cg_reg_type(c, t), lin, v);
        return;
    default: break;
    }
    LLVMValueRef code = mf_is_minifloat(t) ? mf_encode_call(f, t, v, 0, MF_ROUND_NEAREST) : v;
    if (!is_packed(t)) {
        store_at(f, b, c->t_i8, lin, code);
        return;
    }
    LLVMValueRef byte, shift;
    packed_pos(f, t, lin, &byte, &shift);
    unsigned w = 8 / ir_dtype_get(t)->block_elems;
    LLVMValueRef mask = LLVMBuildShl(f->b, LLVMConstInt(c->t_i8, (1u << w) - 1, 0), shift, "");
    LLVMValueRef old = load_at(f, b, c->t_i8, byte);
    LLVMValueRef keep = LLVMBuildAnd(f->b, old, LLVMBuildNot(f->b, mask, ""), "");
    LLVMValueRef put = LLVMBuildAnd(f->b, LLVMBuildShl(f->b, code, shift, ""), mask, "");
    store_at(f, b, c->t_i8, byte, LLVMBuildOr(f->b, keep, put, ""));
}

/* ---- CAST ---- */

static LLVMValueRef to_double(cg_fn *f, LLVMValueRef v) {
    return LLVMTypeOf(v) == f->c->t_f64 ? v : LLVMBuildFPExt(f->b, v, f->c->t_f64, "");
}

static LLVMValueRef fconst(cg_fn *f, LLVMTypeRef t, double v) { return LLVMConstReal(t, v); }

LLVMValueRef cg_convert(cg_fn *f, LLVMValueRef v, ir_dtype from, ir_dtype to, int64_t flags) {
    cg_ctx *c = f->c;
    bool ff = ir_dtype_is_float(from), tf = ir_dtype_is_float(to);
    if (from == to && (!tf || LLVMTypeOf(v) == cg_reg_type(c, to))) return v;
    if (to == IR_BOOL) {
        if (ff) return LLVMBuildFCmp(f->b, LLVMRealUNE, v, fconst(f, LLVMTypeOf(v), 0.0), "");
        return LLVMBuildICmp(f->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
    }
    if (tf) {
        LLVMValueRef d;
        if (ff) d = v;
        else if (is_unsigned(from)) d = LLVMBuildUIToFP(f->b, v, c->t_f64, "");
        else d = LLVMBuildSIToFP(f->b, v, c->t_f64, "");
        if (mf_is_minifloat(to))
            return mf_decode_call(f, to, mf_encode_call(f, to, to_double(f, d), (int)(flags & KIR_CAST_SATURATE),
                                                        (int)(flags >> KIR_CAST_ROUND_SHIFT)));
        return cg_round_to(f, d, to);
    }
    LLVMValueRef r;
    if (ff) {
        LLVMValueRef d = to_double(f, v);
        LLVMValueRef minv = LLVMConstInt(c->t_i64, 1ull << 63, 0);
        LLVMValueRef ge_lo = LLVMBuildFCmp(f->b, LLVMRealOGE, d, fconst(f, c->t_f64, -9223372036854775808.0), "");
        LLVMValueRef sres = LLVMBuildSelect(f->b, ge_lo, LLVMBuildFPToSI(f->b, d, c->t_i64, ""), minv, "");
        if (to == IR_U64) {
            LLVMValueRef isnan = LLVMBuildFCmp(f->b, LLVMRealUNO, d, d, "");
            LLVMValueRef big = LLVMBuildFCmp(f->b, LLVMRealOGE, d, fconst(f, c->t_f64, 18446744073709551616.0), "");
            LLVMValueRef le0 = LLVMBuildFCmp(f->b, LLVMRealOLE, d, fconst(f, c->t_f64, 0.0), "");
            r = LLVMBuildFPToUI(f->b, d, c->t_i64, "");
            r = LLVMBuildSelect(f->b, le0, sres, r, "");
            r = LLVMBuildSelect(f->b, big, LLVMConstAllOnes(c->t_i64), r, "");
            r = LLVMBuildSelect(f->b, isnan, LLVMConstInt(c->t_i64, 0, 0), r, "");
        } else {
            LLVMValueRef lt_hi = LLVMBuildFCmp(f->b, LLVMRealOLT, d, fconst(f, c->t_f64, 9223372036854775808.0), "");
            r = LLVMBuildSelect(f->b, lt_hi, sres, minv, "");
        }
        r = LLVMBuildFreeze(f->b, r, "");
    } else {
        r = ext64(f, v, from);
    }
    return wrap64(f, r, to);
}
