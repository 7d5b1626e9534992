/* spv_expr.c — one kernel-IR expression (every row of ir/kir_ops.def) as
 * SPIR-V at the current point of the kernel, with ir/interp.c's
 * semantics where the device allows: integers on their int64 value,
 * wrapped to their width (division by zero gives 0, INT_MIN / -1 wraps);
 * floats in their register type and rounded to f16/bf16 after every
 * operation. Transcendentals are GLSL.std.450's (a few ulp from the
 * interpreter's double results; f32 only, so an f64 kernel that needs one
 * runs on the host), with the C library's results outside their domains
 * (log of a negative is NaN, pow of a negative base with an integer
 * exponent, ...). Results are memoized per scope as in codegen/llvm.
 */
#include <math.h>

#include "codegen/spirv/spv_internal.h"

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }

void spv_scope_push(spv_ctx *c) {
    c->depth++;
    c->serial[c->depth] = ++c->next_serial;
}

void spv_scope_pop(spv_ctx *c) {
    c->serial[c->depth] = 0;
    c->depth--;
}

/* ---- floats ---- */

static uint32_t fc(spv_ctx *c, ir_dtype t, double v) { return spv_c_float(c, t, v); }

/* max/min that is NaN when either operand is (interp: a > b ? a : b) */
static uint32_t nan_propagating(spv_ctx *c, ir_dtype t, kx_op op, uint32_t a, uint32_t b) {
    uint32_t B = c->t_bool, T = spv_reg_type(c, t);
    uint32_t cmp = spv_op2(c, op == KX_MAX ? SpvOpFOrdGreaterThan : SpvOpFOrdLessThan, B, a, b);
    uint32_t uno = spv_op2(c, SpvOpLogicalOr, B, spv_op1(c, SpvOpIsNan, B, a), spv_op1(c, SpvOpIsNan, B, b));
    return spv_sel(c, T, uno, spv_c_float(c, t, NAN), spv_sel(c, T, cmp, a, b));
}

uint32_t spv_fmaxmin(spv_ctx *c, ir_dtype t, kx_op op, uint32_t a, uint32_t b) { return nan_propagating(c, t, op, a, b); }

/* C's pow on GLSL's (defined for x > 0 only) */
static uint32_t powf_c(spv_ctx *c, ir_dtype t, uint32_t a, uint32_t b) {
    uint32_t T = spv_reg_type(c, t), B = c->t_bool;
    uint32_t p = spv_ext(c, T, GLSLPow, spv_ext(c, T, GLSLFAbs, a, 0), b);
    uint32_t yint = spv_op2(c, SpvOpFOrdEqual, B, spv_ext(c, T, GLSLTrunc, b, 0), b);
    uint32_t yodd = spv_op2(c, SpvOpLogicalAnd, B, yint,
                            spv_op2(c, SpvOpFUnordNotEqual, B, spv_op2(c, SpvOpFRem, T, b, fc(c, t, 2.0)), fc(c, t, 0.0)));
    uint32_t negr = spv_sel(c, T, yint, spv_sel(c, T, yodd, spv_op1(c, SpvOpFNegate, T, p), p), fc(c, t, NAN));
    uint32_t r = spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, a, fc(c, t, 0.0)), negr, p);
    uint32_t zr = spv_sel(c, T, spv_op2(c, SpvOpFOrdGreaterThan, B, b, fc(c, t, 0.0)), fc(c, t, 0.0),
                          spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, b, fc(c, t, 0.0)), fc(c, t, INFINITY), fc(c, t, NAN)));
    r = spv_sel(c, T, spv_op2(c, SpvOpFOrdEqual, B, a, fc(c, t, 0.0)), zr, r);
    uint32_t one = spv_op2(c, SpvOpLogicalOr, B, spv_op2(c, SpvOpFOrdEqual, B, b, fc(c, t, 0.0)),
                           spv_op2(c, SpvOpFOrdEqual, B, a, fc(c, t, 1.0)));
    return spv_sel(c, T, one, fc(c, t, 1.0), r);
}

static uint32_t arith_f(spv_ctx *c, kx_op op, uint32_t a, uint32_t b, ir_dtype t) {
    uint32_t T = spv_reg_type(c, t), B = c->t_bool, r;
    switch (op) {
    case KX_NEG: r = spv_op1(c, SpvOpFNegate, T, a); break;
    case KX_ABS: r = spv_ext(c, T, GLSLFAbs, a, 0); break;
    case KX_SIGN:
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdGreaterThan, B, a, fc(c, t, 0.0)), fc(c, t, 1.0),
                    spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, a, fc(c, t, 0.0)), fc(c, t, -1.0), a));
        break;
    case KX_ADD: r = spv_op2(c, SpvOpFAdd, T, a, b); break;
    case KX_SUB: r = spv_op2(c, SpvOpFSub, T, a, b); break;
    case KX_MUL: r = spv_op2(c, SpvOpFMul, T, a, b); break;
    case KX_DIV: r = spv_op2(c, SpvOpFDiv, T, a, b); break;
    case KX_MAX: case KX_MIN: r = nan_propagating(c, t, op, a, b); break;
    case KX_FLOORDIV: r = spv_ext(c, T, GLSLFloor, spv_op2(c, SpvOpFDiv, T, a, b), 0); break;
    case KX_FMOD: r = spv_op2(c, SpvOpFRem, T, a, b); break;
    case KX_MOD: {
        uint32_t m = spv_op2(c, SpvOpFRem, T, a, b);
        uint32_t nz = spv_op2(c, SpvOpFUnordNotEqual, B, m, fc(c, t, 0.0));
        uint32_t sm = spv_op2(c, SpvOpFOrdLessThan, B, m, fc(c, t, 0.0)), sb = spv_op2(c, SpvOpFOrdLessThan, B, b, fc(c, t, 0.0));
        uint32_t fix = spv_op2(c, SpvOpLogicalAnd, B, nz, spv_op2(c, SpvOpLogicalNotEqual, B, sm, sb));
        r = spv_sel(c, T, fix, spv_op2(c, SpvOpFAdd, T, m, b), m);
        break;
    }
    case KX_POW:
        if (t == IR_F64) return spv_fail(c, "f64 Pow: GLSL.std.450 has no 64-bit pow");
        r = powf_c(c, t, a, b);
        break;
    default: return spv_fail(c, "no SPIR-V for float op %s", kx_get(op)->name);
    }
    return spv_round_to(c, r, t);
}

static uint32_t math1(spv_ctx *c, kx_op op, uint32_t a, ir_dtype t) {
    uint32_t T = spv_reg_type(c, t), B = c->t_bool, r;
    static const uint32_t glsl[KX_COUNT] = {
        [KX_SQRT] = GLSLSqrt, [KX_EXP] = GLSLExp, [KX_LOG] = GLSLLog, [KX_FLOOR] = GLSLFloor, [KX_CEIL] = GLSLCeil,
        [KX_ROUND] = GLSLRoundEven, [KX_TRUNC] = GLSLTrunc, [KX_SIN] = GLSLSin, [KX_COS] = GLSLCos,
        [KX_TAN] = GLSLTan, [KX_ASIN] = GLSLAsin, [KX_ACOS] = GLSLAcos, [KX_ATAN] = GLSLAtan, [KX_SINH] = GLSLSinh,
        [KX_COSH] = GLSLCosh, [KX_TANH] = GLSLTanh, [KX_ASINH] = GLSLAsinh, [KX_ACOSH] = GLSLAcosh,
        [KX_ATANH] = GLSLAtanh};
    bool any_width = op == KX_RECIP || op == KX_SQRT || op == KX_FLOOR || op == KX_CEIL || op == KX_ROUND || op == KX_TRUNC;
    if (t == IR_F64 && !any_width)
        return spv_fail(c, "f64 %s: GLSL.std.450 has no 64-bit %s", kx_get(op)->name, kx_get(op)->name);
    switch (op) {
    case KX_RECIP: r = spv_op2(c, SpvOpFDiv, T, fc(c, t, 1.0), a); break;
    case KX_ERF: r = spv_call_erf(c, a); break;
    case KX_TANH: /* GLSL's formula overflows for large |x| */
    {
        uint32_t ops[5] = {c->glsl, GLSLFClamp, a, fc(c, t, -10.0), fc(c, t, 10.0)};
        r = spv_ext(c, T, GLSLTanh, spv_op(&c->b, c->cur, SpvOpExtInst, T, ops, 5), 0);
    }
        break;
    default:
        if (!glsl[op]) return spv_fail(c, "no SPIR-V for math op %s", kx_get(op)->name);
        r = spv_ext(c, T, glsl[op], a, 0);
    }
    if (c->failed) return 0;
    /* near 0, GLSL's formulas for these cancel (tanh from exponentials): an odd series in x */
    static const double series[KX_COUNT][5] = {
        [KX_TANH] = {1, -1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835},
        [KX_SINH] = {1, 1.0 / 6, 1.0 / 120, 1.0 / 5040, 1.0 / 362880},
        [KX_ASINH] = {1, -1.0 / 6, 3.0 / 40, -5.0 / 112, 35.0 / 1152},
        [KX_ATANH] = {1, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9}};
    if (series[op][0] != 0) {
        uint32_t x2 = spv_op2(c, SpvOpFMul, T, a, a), poly = fc(c, t, series[op][4]);
        for (int i = 3; i >= 0; i--) {
            uint32_t ops[5] = {c->glsl, GLSLFma, poly, x2, fc(c, t, series[op][i])};
            poly = spv_op(&c->b, c->cur, SpvOpExtInst, T, ops, 5);
        }
        uint32_t small = spv_op2(c, SpvOpFOrdLessThan, B, spv_ext(c, T, GLSLFAbs, a, 0), fc(c, t, 0.125));
        r = spv_sel(c, T, small, spv_op2(c, SpvOpFMul, T, a, poly), r);
    }
    /* the C library's results where GLSL leaves them undefined */
    uint32_t nan = fc(c, t, NAN);
    if (op == KX_LOG) {
        /* near 1 GLSL's log is only within 2^-21 absolute: there 2 atanh(u / (2 + u)) with u = x - 1 (exact) */
        uint32_t u = spv_op2(c, SpvOpFSub, T, a, fc(c, t, 1.0));
        uint32_t sv = spv_op2(c, SpvOpFDiv, T, u, spv_op2(c, SpvOpFAdd, T, fc(c, t, 2.0), u));
        uint32_t s2 = spv_op2(c, SpvOpFMul, T, sv, sv), poly = fc(c, t, 1.0 / 9);
        static const double k[] = {1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
        for (int i = 0; i < 4; i++) {
            uint32_t ops[5] = {c->glsl, GLSLFma, poly, s2, fc(c, t, k[i])};
            poly = spv_op(&c->b, c->cur, SpvOpExtInst, T, ops, 5);
        }
        uint32_t near1 = spv_op2(c, SpvOpFMul, T, spv_op2(c, SpvOpFMul, T, sv, poly), fc(c, t, 2.0));
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, spv_ext(c, T, GLSLFAbs, u, 0), fc(c, t, 0.0625)), near1, r);
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdEqual, B, a, fc(c, t, 0.0)), fc(c, t, -INFINITY), r);
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, a, fc(c, t, 0.0)), nan, r);
    } else if (op == KX_SQRT || op == KX_ACOSH) {
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, a, fc(c, t, op == KX_SQRT ? 0.0 : 1.0)), nan, r);
    } else if (op == KX_ASIN || op == KX_ACOS || op == KX_ATANH) {
        uint32_t ax = spv_ext(c, T, GLSLFAbs, a, 0);
        r = spv_sel(c, T, spv_op2(c, SpvOpFOrdGreaterThan, B, ax, fc(c, t, 1.0)), nan, r);
        if (op == KX_ATANH)
            r = spv_sel(c, T, spv_op2(c, SpvOpFOrdEqual, B, ax, fc(c, t, 1.0)),
                        spv_sel(c, T, spv_op2(c, SpvOpFOrdLessThan, B, a, fc(c, t, 0.0)), fc(c, t, -INFINITY), fc(c, t, INFINITY)), r);
    }
    return spv_round_to(c, r, t);
}

/* ---- integers (on int64, wrapped to t) ---- */

static uint32_t arith_i(spv_ctx *c, kx_op op, uint32_t a, uint32_t b, ir_dtype t) {
    uint32_t T = c->t_i64, B = c->t_bool, zero = spv_c_i64(c, 0), one = spv_c_i64(c, 1), m1 = spv_c_i64(c, -1), r;
    bool u = is_unsigned(t);
    switch (op) {
    case KX_NEG: r = spv_op2(c, SpvOpISub, T, zero, a); break;
    case KX_ABS:
        r = u ? a : spv_sel(c, T, spv_op2(c, SpvOpSLessThan, B, a, zero), spv_op2(c, SpvOpISub, T, zero, a), a);
        break;
    case KX_SIGN:
        if (u) r = spv_sel(c, T, spv_op2(c, SpvOpINotEqual, B, a, zero), one, zero);
        else r = spv_sel(c, T, spv_op2(c, SpvOpSGreaterThan, B, a, zero), one,
                         spv_sel(c, T, spv_op2(c, SpvOpSLessThan, B, a, zero), m1, zero));
        break;
    case KX_ADD: r = spv_op2(c, SpvOpIAdd, T, a, b); break;
    case KX_SUB: r = spv_op2(c, SpvOpISub, T, a, b); break;
    case KX_MUL: r = spv_op2(c, SpvOpIMul, T, a, b); break;
    case KX_DIV: case KX_FLOORDIV: case KX_MOD: case KX_FMOD: {
        uint32_t bz = spv_op2(c, SpvOpIEqual, B, b, zero);
        if (u) {
            uint32_t sb = spv_sel(c, T, bz, one, b);
            r = spv_op2(c, op == KX_DIV || op == KX_FLOORDIV ? SpvOpUDiv : SpvOpUMod, T, a, sb);
            r = spv_sel(c, T, bz, zero, r);
            break;
        }
        uint32_t bm1 = spv_op2(c, SpvOpIEqual, B, b, m1);
        uint32_t sb = spv_sel(c, T, spv_op2(c, SpvOpLogicalOr, B, bz, bm1), one, b);
        uint32_t on_m1 = op == KX_DIV || op == KX_FLOORDIV ? spv_op2(c, SpvOpISub, T, zero, a) : zero;
        if (op == KX_DIV) {
            r = spv_op2(c, SpvOpSDiv, T, a, sb);
        } else {
            uint32_t q = spv_op2(c, SpvOpSDiv, T, a, sb), m = spv_op2(c, SpvOpSRem, T, a, sb);
            uint32_t nz = spv_op2(c, SpvOpINotEqual, B, m, zero);
            if (op == KX_FLOORDIV) {
                uint32_t diff = spv_op2(c, SpvOpLogicalNotEqual, B, spv_op2(c, SpvOpSLessThan, B, a, zero),
                                        spv_op2(c, SpvOpSLessThan, B, b, zero));
                r = spv_sel(c, T, spv_op2(c, SpvOpLogicalAnd, B, nz, diff), spv_op2(c, SpvOpISub, T, q, one), q);
            } else if (op == KX_MOD) {
                uint32_t diff = spv_op2(c, SpvOpLogicalNotEqual, B, spv_op2(c, SpvOpSLessThan, B, m, zero),
                                        spv_op2(c, SpvOpSLessThan, B, b, zero));
                r = spv_sel(c, T, spv_op2(c, SpvOpLogicalAnd, B, nz, diff), spv_op2(c, SpvOpIAdd, T, m, b), m);
            } else {
                r = m;
            }
        }
        r = spv_sel(c, T, bm1, on_m1, r);
        r = spv_sel(c, T, bz, zero, r);
        break;
    }
    case KX_MAX: case KX_MIN: {
        uint32_t o = op == KX_MAX ? (u ? SpvOpUGreaterThan : SpvOpSGreaterThan) : (u ? SpvOpULessThan : SpvOpSLessThan);
        r = spv_sel(c, T, spv_op2(c, o, B, a, b), a, b);
        break;
    }
    case KX_POW: r = spv_call_ipow(c, a, b); break;
    case KX_BNOT: r = spv_op1(c, SpvOpNot, T, a); break;
    case KX_BAND: r = spv_op2(c, SpvOpBitwiseAnd, T, a, b); break;
    case KX_BOR: r = spv_op2(c, SpvOpBitwiseOr, T, a, b); break;
    case KX_BXOR: r = spv_op2(c, SpvOpBitwiseXor, T, a, b); break;
    case KX_SHL: case KX_SHR: {
        uint32_t big = spv_op2(c, SpvOpUGreaterThanEqual, B, b, spv_c_i64(c, 64));
        uint32_t sh = spv_op2(c, SpvOpBitwiseAnd, T, b, spv_c_i64(c, 63));
        r = spv_op2(c, op == KX_SHL ? SpvOpShiftLeftLogical : u ? SpvOpShiftRightLogical : SpvOpShiftRightArithmetic, T, a, sh);
        r = spv_sel(c, T, big, zero, r);
        break;
    }
    default: return spv_fail(c, "no SPIR-V for integer op %s", kx_get(op)->name);
    }
    return spv_wrap64(c, r, t);
}

static uint32_t compare(spv_ctx *c, kx_op op, ir_dtype t, uint32_t a, uint32_t b) {
    uint32_t B = c->t_bool;
    if (ir_dtype_is_float(t)) {
        static const uint32_t fp[KX_COUNT] = {[KX_EQ] = SpvOpFOrdEqual, [KX_NE] = SpvOpFUnordNotEqual,
                                              [KX_LT] = SpvOpFOrdLessThan, [KX_LE] = SpvOpFOrdLessThanEqual,
                                              [KX_GT] = SpvOpFOrdGreaterThan, [KX_GE] = SpvOpFOrdGreaterThanEqual};
        return spv_op2(c, fp[op], B, a, b);
    }
    bool u = is_unsigned(t);
    a = spv_ext64(c, a, t);
    b = spv_ext64(c, b, t);
    uint32_t o;
    switch (op) {
    case KX_EQ: o = SpvOpIEqual; break;
    case KX_NE: o = SpvOpINotEqual; break;
    case KX_LT: o = u ? SpvOpULessThan : SpvOpSLessThan; break;
    case KX_LE: o = u ? SpvOpULessThanEqual : SpvOpSLessThanEqual; break;
    case KX_GT: o = u ? SpvOpUGreaterThan : SpvOpSGreaterThan; break;
    default: o = u ? SpvOpUGreaterThanEqual : SpvOpSGreaterThanEqual; break;
    }
    return spv_op2(c, o, B, a, b);
}

/* ---- loads ---- */

/* Is index e provably within [0, size)? (a domain or reduction index over
 * the same dimension, or a constant inside) */
static bool index_in_range(spv_ctx *c, uint32_t e, ir_dim size) {
    const kir_expr *x = &c->p->exprs[e];
    if (x->op == KX_IDX) return ir_dim_eq(c->p->bufs[c->k->out].dims[x->axis], size);
    if (x->op == KX_RIDX) return ir_dim_eq(c->k->red[x->axis], size);
    if (x->op == KX_CONST) return ir_dim_is_const(size) && x->ival >= 0 && x->ival < size.c;
    return false;
}

static uint32_t emit_load(spv_ctx *c, const kir_expr *x) {
    const kir_buffer *kb = &c->p->bufs[x->buffer];
    uint32_t T = c->t_i64, B = c->t_bool, rt = spv_reg_type(c, kb->dtype);
    bool maybe_empty = false;
    for (int ax = 0; ax < kb->rank; ax++) {
        if (ir_dim_is_const(kb->dims[ax]) && kb->dims[ax].c == 0) /* interp: an empty buffer reads 0 */
            return ir_dtype_is_float(kb->dtype) ? fc(c, kb->dtype, 0.0) : kb->dtype == IR_BOOL ? spv_c_bool(c, false)
                                                                                               : spv_c_i64(c, 0);
        if (!ir_dim_is_const(kb->dims[ax])) maybe_empty = true;
    }
    uint32_t off = 0;            /* 0: nothing added yet */
    int64_t cstride = 1;         /* the stride while every dim so far is constant */
    uint32_t stride = 0;         /* else its value */
    for (int ax = kb->rank - 1; ax >= 0; ax--) {
        uint32_t i = spv_emit_expr(c, x->args[ax]);
        if (!i) return 0;
        ir_dim d = kb->dims[ax];
        if (!index_in_range(c, x->args[ax], d)) {
            uint32_t lim = ir_dim_is_const(d) ? spv_c_i64(c, d.c - 1) : 0;
            if (!lim) {
                spv_words *save = c->cur;
                c->cur = &c->pre;
                lim = spv_op2(c, SpvOpISub, T, spv_dim(c, d), spv_c_i64(c, 1));
                c->cur = save;
            }
            i = spv_sel(c, T, spv_op2(c, SpvOpSGreaterThan, B, i, lim), lim, i);
            i = spv_sel(c, T, spv_op2(c, SpvOpSLessThan, B, i, spv_c_i64(c, 0)), spv_c_i64(c, 0), i);
        }
        uint32_t term = stride ? spv_op2(c, SpvOpIMul, T, i, stride)
                               : cstride == 1 ? i : spv_op2(c, SpvOpIMul, T, i, spv_c_i64(c, cstride));
        off = off ? spv_op2(c, SpvOpIAdd, T, off, term) : term;
        if (ax == 0) break;
        if (!stride && ir_dim_is_const(d) && !__builtin_mul_overflow(cstride, d.c, &cstride)) continue;
        spv_words *save = c->cur; /* strides are invariant: computed in the entry block */
        c->cur = &c->pre;
        stride = spv_op2(c, SpvOpIMul, T, stride ? stride : spv_c_i64(c, cstride), spv_dim(c, d));
        c->cur = save;
    }
    if (!off) off = spv_c_i64(c, 0);
    if (!maybe_empty) return spv_load_elem(c, x->buffer, off);
    /* a size known only at run time may be 0: read element 0 (of a dummy range) and give 0 */
    spv_words *save = c->cur;
    c->cur = &c->pre;
    uint32_t numel = spv_c_i64(c, 1);
    for (int ax = 0; ax < kb->rank; ax++) numel = spv_op2(c, SpvOpIMul, T, numel, spv_dim(c, kb->dims[ax]));
    uint32_t empty = spv_op2(c, SpvOpIEqual, B, numel, spv_c_i64(c, 0));
    c->cur = save;
    off = spv_sel(c, T, empty, spv_c_i64(c, 0), off);
    uint32_t v = spv_load_elem(c, x->buffer, off);
    uint32_t z = ir_dtype_is_float(kb->dtype) ? fc(c, kb->dtype, 0.0) : kb->dtype == IR_BOOL ? spv_c_bool(c, false)
                                                                                             : spv_c_i64(c, 0);
    return spv_sel(c, rt, empty, z, v);
}

/* ---- the emitter ---- */

/* operand e in the register class of dtype t, as the interpreter reads it */
static uint32_t operand_as(spv_ctx *c, uint32_t e, ir_dtype t) {
    uint32_t v = spv_emit_expr(c, e);
    if (!v) return 0;
    ir_dtype have = c->p->exprs[e].dtype;
    if (have == t) return v;
    bool hf = ir_dtype_is_float(have), tf = ir_dtype_is_float(t);
    if (hf && tf) {
        uint32_t ht = spv_reg_type(c, have), tt = spv_reg_type(c, t);
        return ht == tt ? v : spv_op1(c, SpvOpFConvert, tt, v);
    }
    if (!hf && !tf) return t == IR_BOOL ? spv_wrap64(c, spv_ext64(c, v, have), t) : spv_wrap64(c, spv_ext64(c, v, have), t);
    if (tf) return spv_op1(c, SpvOpConvertSToF, spv_reg_type(c, t), spv_ext64(c, v, have)); /* (double)slot.i */
    return spv_wrap64(c, spv_op1(c, SpvOpConvertFToS, c->t_i64, v), t);                      /* (int64_t)slot.f */
}

static uint32_t emit_const(spv_ctx *c, const kir_expr *x) {
    if (ir_dtype_is_float(x->dtype)) return fc(c, x->dtype, x->fval);
    if (x->dtype == IR_BOOL) return spv_c_bool(c, x->ival != 0);
    return spv_c_i64(c, x->ival);
}

static uint32_t as_bool(spv_ctx *c, uint32_t v, ir_dtype t) { return t == IR_BOOL ? v : spv_convert(c, v, t, IR_BOOL, 0); }

static uint32_t emit_node(spv_ctx *c, uint32_t e) {
    const kir_expr *x = &c->p->exprs[e];
    ir_dtype t = x->dtype;
    if (t != IR_DTYPE_NONE && !spv_reg_type(c, t))
        return spv_fail(c, "dtype %s is not supported by the SPIR-V backend (op %s)", ir_dtype_name(t), kx_get(x->op)->name);
    switch (x->op) {
    case KX_CONST: return emit_const(c, x);
    case KX_IDX: return c->idx[x->axis] ? c->idx[x->axis] : spv_fail(c, "domain index %d is not set", x->axis);
    case KX_RIDX: return c->ridx[x->axis] ? c->ridx[x->axis] : spv_fail(c, "reduction index %d is not set", x->axis);
    case KX_DIM: return spv_dim(c, x->dim);
    case KX_ACC: return c->acc ? c->acc : spv_fail(c, "ACC outside a post expression");
    case KX_LOAD: return emit_load(c, x);
    case KX_SELECT: {
        uint32_t cond = spv_emit_expr(c, x->args[0]);
        uint32_t a = operand_as(c, x->args[1], t), b = operand_as(c, x->args[2], t);
        if (!cond || !a || !b) return 0;
        return spv_sel(c, spv_reg_type(c, t), as_bool(c, cond, c->p->exprs[x->args[0]].dtype), a, b);
    }
    case KX_CAST: {
        uint32_t a = spv_emit_expr(c, x->args[0]);
        return a ? spv_convert(c, a, c->p->exprs[x->args[0]].dtype, t, x->ival) : 0;
    }
    default: break;
    }
    const kx_info *info = kx_get(x->op);
    ir_dtype at = c->p->exprs[x->args[0]].dtype;
    uint32_t a = spv_emit_expr(c, x->args[0]);
    if (!a) return 0;
    switch (info->cls) {
    case KXC_MATH:
        if (!ir_dtype_is_float(at) || at != t) a = operand_as(c, x->args[0], t);
        return a ? math1(c, x->op, a, t) : 0;
    case KXC_CMP: {
        if (x->op == KX_ISNAN || x->op == KX_ISINF) {
            if (!ir_dtype_is_float(at)) return spv_c_bool(c, false);
            return spv_op1(c, x->op == KX_ISNAN ? SpvOpIsNan : SpvOpIsInf, c->t_bool, a);
        }
        uint32_t b = operand_as(c, x->args[1], at);
        return b ? compare(c, x->op, at, a, b) : 0;
    }
    case KXC_LOGIC: {
        a = as_bool(c, a, at);
        if (x->op == KX_NOT) return spv_op1(c, SpvOpLogicalNot, c->t_bool, a);
        uint32_t b = spv_emit_expr(c, x->args[1]);
        if (!b) return 0;
        b = as_bool(c, b, c->p->exprs[x->args[1]].dtype);
        uint32_t o = x->op == KX_AND ? SpvOpLogicalAnd : x->op == KX_OR ? SpvOpLogicalOr : SpvOpLogicalNotEqual;
        return spv_op2(c, o, c->t_bool, a, b);
    }
    default: {
        a = operand_as(c, x->args[0], t);
        uint32_t b = 0;
        if (info->arity > 1 && !(b = operand_as(c, x->args[1], t))) return 0;
        if (!a) return 0;
        return ir_dtype_is_float(t) ? arith_f(c, x->op, a, b, t) : arith_i(c, x->op, a, b, t);
    }
    }
}

uint32_t spv_emit_expr(spv_ctx *c, uint32_t e) {
    if (c->failed) return 0;
    if (c->memo[e] && c->memo_depth[e] <= c->depth && c->serial[c->memo_depth[e]] == c->memo_serial[e]) return c->memo[e];
    uint32_t v = emit_node(c, e);
    if (!v || c->failed) return 0;
    c->memo[e] = v;
    c->memo_depth[e] = c->depth;
    c->memo_serial[e] = c->serial[c->depth];
    return v;
}
