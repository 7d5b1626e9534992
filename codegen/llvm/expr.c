/* expr.c — the expression emitter: one kernel-IR expression (every row of
 * ir/kir_ops.def) at the current loop point, with the semantics of
 * ir/interp.c.
 *
 * Floats: f32 add/sub/mul/div/sqrt/recip are computed in float (the same
 * result as the interpreter's double then float, since double rounding is
 * innocuous for these operations); f16/bf16 likewise in float and rounded
 * to their dtype; math functions, pow, fmod, floordiv in double through the
 * C library and rounded to the dtype, as the interpreter does, except exp
 * of f32/f16/bf16: a float polynomial within 1 ulp of the correctly rounded
 * result (helpers.c), so that softmax, sigmoid and SiLU loops vectorize. Integers are
 * computed on their i64 extension and wrapped to their width (division by
 * zero gives 0, INT_MIN / -1 wraps). Results are memoized per scope (see
 * cg_internal.h).
 */
#include <math.h>
#include <string.h>

#include "codegen/llvm/cg_internal.h"
#include "runtime/minifloat.h"

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }

void cg_set_idx(cg_fn *f, int axis, LLVMValueRef v) { f->idx[axis] = v; }
void cg_set_ridx(cg_fn *f, int axis, LLVMValueRef v) { f->ridx[axis] = v; }
void cg_set_acc(cg_fn *f, LLVMValueRef v) { f->acc = v; }

void cg_scope_push(cg_fn *f) {
    f->depth++;
    f->serial[f->depth] = ++f->next_serial;
}

void cg_scope_pop(cg_fn *f) {
    f->serial[f->depth] = 0;
    f->depth--;
}

void cg_memo_set(cg_fn *f, uint32_t e, LLVMValueRef v) {
    f->memo[e] = v;
    f->memo_depth[e] = f->depth;
    f->memo_serial[e] = f->serial[f->depth];
}

/* ---- calls ---- */

static LLVMValueRef intrinsic(cg_fn *f, const char *name, LLVMValueRef *args, unsigned n) {
    LLVMTypeRef ty = LLVMTypeOf(args[0]);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->c->mod, id, &ty, 1);
    return LLVMBuildCall2(f->b, LLVMIntrinsicGetType(f->c->ctx, id, &ty, 1), fn, args, n, "");
}

/* double name(double[, double]) of the C math library */
static LLVMValueRef libm(cg_fn *f, const char *name, LLVMValueRef *args, unsigned n) {
    cg_ctx *c = f->c;
    LLVMTypeRef params[2] = {c->t_f64, c->t_f64};
    LLVMTypeRef ty = LLVMFunctionType(c->t_f64, params, n, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
    if (!fn) {
        fn = LLVMAddFunction(c->mod, name, ty);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                   LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    }
    return LLVMBuildCall2(f->b, ty, fn, args, n, "");
}

LLVMValueRef cg_call_helper(cg_fn *f, const char *name, LLVMValueRef *args, unsigned n) {
    LLVMValueRef fn = LLVMGetNamedFunction(f->c->mod, name);
    return LLVMBuildCall2(f->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

LLVMValueRef cg_fadd_reassoc(cg_fn *f, LLVMValueRef a, LLVMValueRef b, int mul) {
    bool dbl = LLVMTypeOf(a) == f->c->t_f64;
    LLVMValueRef args[2] = {a, b};
    return cg_call_helper(f, mul ? (dbl ? "cg.rmul.f64" : "cg.rmul.f32") : (dbl ? "cg.radd.f64" : "cg.radd.f32"),
                          args, 2);
}

/* ---- floats ---- */

static LLVMValueRef to_double(cg_fn *f, LLVMValueRef v) {
    return LLVMTypeOf(v) == f->c->t_f64 ? v : LLVMBuildFPExt(f->b, v, f->c->t_f64, "");
}

/* Unary math in double, rounded to t. */
static LLVMValueRef math1(cg_fn *f, kx_op op, LLVMValueRef a, ir_dtype t) {
    cg_ctx *c = f->c;
    bool narrow = LLVMTypeOf(a) == c->t_f32; /* f32/f16/bf16 not wide */
    LLVMValueRef r;
    if (narrow && op == KX_EXP) { /* within 1 ulp, vectorizable (helpers.c) */
        r = cg_call_helper(f, "cg.exp.f32", &a, 1);
        return t == IR_F32 ? r : cg_round_to(f, r, t);
    }
    if (narrow && (op == KX_SQRT || op == KX_RECIP)) { /* exact in float as in double */
        r = op == KX_SQRT ? intrinsic(f, "llvm.sqrt", &a, 1)
                          : LLVMBuildFDiv(f->b, LLVMConstReal(c->t_f32, 1.0), a, "");
        return t == IR_F32 ? r : cg_round_to(f, r, t);
    }
    LLVMValueRef d = to_double(f, a);
    switch (op) {
    case KX_RECIP: r = LLVMBuildFDiv(f->b, LLVMConstReal(c->t_f64, 1.0), d, ""); break;
    case KX_SQRT: r = intrinsic(f, "llvm.sqrt", &d, 1); break;
    case KX_FLOOR: r = intrinsic(f, "llvm.floor", &d, 1); break;
    case KX_CEIL: r = intrinsic(f, "llvm.ceil", &d, 1); break;
    case KX_ROUND: r = intrinsic(f, "llvm.roundeven", &d, 1); break;
    case KX_TRUNC: r = intrinsic(f, "llvm.trunc", &d, 1); break;
    default: {
        static const char *names[KX_COUNT] = {
            [KX_EXP] = "exp", [KX_LOG] = "log", [KX_ERF] = "erf", [KX_SIN] = "sin", [KX_COS] = "cos",
            [KX_TAN] = "tan", [KX_ASIN] = "asin", [KX_ACOS] = "acos", [KX_ATAN] = "atan", [KX_SINH] = "sinh",
            [KX_COSH] = "cosh", [KX_TANH] = "tanh", [KX_ASINH] = "asinh", [KX_ACOSH] = "acosh", [KX_ATANH] = "atanh"};
        if (!names[op]) return cg_fail(f, "no code for math op %s", kx_get(op)->name);
        r = libm(f, names[op], &d, 1);
    }
    }
    return cg_round_to(f, r, t);
}

/* Float arithmetic (interp's arith_f), rounded to t. */
static LLVMValueRef arith_f(cg_fn *f, kx_op op, LLVMValueRef a, LLVMValueRef b, ir_dtype t) {
    cg_ctx *c = f->c;
    LLVMBuilderRef B = f->b;
    if (b && LLVMTypeOf(a) != LLVMTypeOf(b)) { /* one is wide: both in double */
        a = to_double(f, a);
        b = to_double(f, b);
    }
    LLVMTypeRef ty = LLVMTypeOf(a);
    bool dbl = ty == c->t_f64;
    LLVMValueRef zero = LLVMConstReal(ty, 0.0), r;
    switch (op) {
    case KX_NEG: r = LLVMBuildFNeg(B, a, ""); break;
    case KX_ABS: r = intrinsic(f, "llvm.fabs", &a, 1); break;
    case KX_SIGN: {
        LLVMValueRef gt = LLVMBuildFCmp(B, LLVMRealOGT, a, zero, ""), lt = LLVMBuildFCmp(B, LLVMRealOLT, a, zero, "");
        r = LLVMBuildSelect(B, gt, LLVMConstReal(ty, 1.0), LLVMBuildSelect(B, lt, LLVMConstReal(ty, -1.0), a, ""), "");
        break;
    }
    case KX_ADD: r = LLVMBuildFAdd(B, a, b, ""); break;
    case KX_SUB: r = LLVMBuildFSub(B, a, b, ""); break;
    case KX_MUL: r = LLVMBuildFMul(B, a, b, ""); break;
    case KX_DIV: r = LLVMBuildFDiv(B, a, b, ""); break;
    case KX_MAX:
    case KX_MIN: {
        LLVMValueRef cmp = LLVMBuildFCmp(B, op == KX_MAX ? LLVMRealOGT : LLVMRealOLT, a, b, "");
        LLVMValueRef uno = LLVMBuildFCmp(B, LLVMRealUNO, a, b, "");
        r = LLVMBuildSelect(B, uno, LLVMConstReal(ty, NAN), LLVMBuildSelect(B, cmp, a, b, ""), "");
        break;
    }
    default: {
        LLVMValueRef da = to_double(f, a), db = to_double(f, b), args[2] = {da, db};
        LLVMValueRef dz = LLVMConstReal(c->t_f64, 0.0);
        if (op == KX_FLOORDIV) {
            LLVMValueRef q = LLVMBuildFDiv(B, da, db, "");
            r = intrinsic(f, "llvm.floor", &q, 1);
        } else if (op == KX_POW) {
            r = libm(f, "pow", args, 2);
        } else if (op == KX_FMOD) {
            r = LLVMBuildFRem(B, da, db, "");
        } else if (op == KX_MOD) {
            LLVMValueRef m = LLVMBuildFRem(B, da, db, "");
            LLVMValueRef nz = LLVMBuildFCmp(B, LLVMRealUNE, m, dz, "");
            LLVMValueRef sm = LLVMBuildFCmp(B, LLVMRealOLT, m, dz, ""), sb = LLVMBuildFCmp(B, LLVMRealOLT, db, dz, "");
            LLVMValueRef fix = LLVMBuildAnd(B, nz, LLVMBuildXor(B, sm, sb, ""), "");
            r = LLVMBuildSelect(B, fix, LLVMBuildFAdd(B, m, db, ""), m, "");
        } else {
            return cg_fail(f, "no code for float op %s", kx_get(op)->name);
        }
        return cg_round_to(f, r, t);
    }
    }
    if (t == IR_F32 && !dbl) return r;
    if (t == IR_F64) return r;
    return cg_round_to(f, r, t);
}

/* ---- integers (interp's arith_i on i64 extensions) ---- */

static LLVMValueRef arith_i(cg_fn *f, kx_op op, LLVMValueRef a, LLVMValueRef b, ir_dtype t) {
    cg_ctx *c = f->c;
    LLVMBuilderRef B = f->b;
    bool u = is_unsigned(t);
    LLVMTypeRef I = c->t_i64;
    LLVMValueRef zero = LLVMConstInt(I, 0, 0), one = LLVMConstInt(I, 1, 0), m1 = LLVMConstAllOnes(I), r;
    a = cg_ext64(f, a, t);
    if (b) b = cg_ext64(f, b, t);
    switch (op) {
    case KX_NEG: r = LLVMBuildSub(B, zero, a, ""); break;
    case KX_ABS:
        r = u ? a : LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, a, zero, ""), LLVMBuildSub(B, zero, a, ""), a, "");
        break;
    case KX_SIGN:
        if (u) r = LLVMBuildZExt(B, LLVMBuildICmp(B, LLVMIntNE, a, zero, ""), I, "");
        else r = LLVMBuildSub(B, LLVMBuildZExt(B, LLVMBuildICmp(B, LLVMIntSGT, a, zero, ""), I, ""),
                              LLVMBuildZExt(B, LLVMBuildICmp(B, LLVMIntSLT, a, zero, ""), I, ""), "");
        break;
    case KX_ADD: r = LLVMBuildAdd(B, a, b, ""); break;
    case KX_SUB: r = LLVMBuildSub(B, a, b, ""); break;
    case KX_MUL: r = LLVMBuildMul(B, a, b, ""); break;
    case KX_DIV: case KX_FLOORDIV: case KX_MOD: case KX_FMOD: {
        LLVMValueRef bz = LLVMBuildICmp(B, LLVMIntEQ, b, zero, "");
        if (u) {
            LLVMValueRef sb = LLVMBuildSelect(B, bz, one, b, "");
            r = op == KX_DIV || op == KX_FLOORDIV ? LLVMBuildUDiv(B, a, sb, "") : LLVMBuildURem(B, a, sb, "");
            r = LLVMBuildSelect(B, bz, zero, r, "");
            break;
        }
        LLVMValueRef bm1 = LLVMBuildICmp(B, LLVMIntEQ, b, m1, "");
        LLVMValueRef sb = LLVMBuildSelect(B, LLVMBuildOr(B, bz, bm1, ""), one, b, "");
        LLVMValueRef on_m1 = op == KX_DIV || op == KX_FLOORDIV ? LLVMBuildSub(B, zero, a, "") : zero;
        if (op == KX_DIV) {
            r = LLVMBuildSDiv(B, a, sb, "");
        } else if (op == KX_FLOORDIV) {
            LLVMValueRef q = LLVMBuildSDiv(B, a, sb, ""), m = LLVMBuildSRem(B, a, sb, "");
            LLVMValueRef fix = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntNE, m, zero, ""),
                                            LLVMBuildXor(B, LLVMBuildICmp(B, LLVMIntSLT, a, zero, ""),
                                                         LLVMBuildICmp(B, LLVMIntSLT, b, zero, ""), ""), "");
            r = LLVMBuildSelect(B, fix, LLVMBuildSub(B, q, one, ""), q, "");
        } else if (op == KX_MOD) {
            LLVMValueRef m = LLVMBuildSRem(B, a, sb, "");
            LLVMValueRef fix = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntNE, m, zero, ""),
                                            LLVMBuildXor(B, LLVMBuildICmp(B, LLVMIntSLT, m, zero, ""),
                                                         LLVMBuildICmp(B, LLVMIntSLT, b, zero, ""), ""), "");
            r = LLVMBuildSelect(B, fix, LLVMBuildAdd(B, m, b, ""), m, "");
        } else {
            r = LLVMBuildSRem(B, a, sb, "");
        }
        r = LLVMBuildSelect(B, bm1, on_m1, r, "");
        r = LLVMBuildSelect(B, bz, zero, r, "");
        break;
    }
    case KX_MAX: case KX_MIN: {
        LLVMIntPredicate p = op == KX_MAX ? (u ? LLVMIntUGT : LLVMIntSGT) : (u ? LLVMIntULT : LLVMIntSLT);
        r = LLVMBuildSelect(B, LLVMBuildICmp(B, p, a, b, ""), a, b, "");
        break;
    }
    case KX_POW: {
        LLVMValueRef args[2] = {a, b};
        r = cg_call_helper(f, "cg.ipow", args, 2);
        break;
    }
    case KX_BNOT: r = LLVMBuildNot(B, a, ""); break;
    case KX_BAND: r = LLVMBuildAnd(B, a, b, ""); break;
    case KX_BOR: r = LLVMBuildOr(B, a, b, ""); break;
    case KX_BXOR: r = LLVMBuildXor(B, a, b, ""); break;
    case KX_SHL: case KX_SHR: {
        LLVMValueRef big = LLVMBuildICmp(B, LLVMIntUGE, b, LLVMConstInt(I, 64, 0), "");
        LLVMValueRef sh = LLVMBuildAnd(B, b, LLVMConstInt(I, 63, 0), "");
        r = op == KX_SHL ? LLVMBuildShl(B, a, sh, "") : u ? LLVMBuildLShr(B, a, sh, "") : LLVMBuildAShr(B, a, sh, "");
        r = LLVMBuildSelect(B, big, zero, r, "");
        break;
    }
    default: return cg_fail(f, "no code for integer op %s", kx_get(op)->name);
    }
    return cg_wrap64(f, r, t);
}

/* ---- comparisons ---- */

static LLVMValueRef compare(cg_fn *f, kx_op op, ir_dtype t, LLVMValueRef a, LLVMValueRef b) {
    if (ir_dtype_is_float(t)) {
        if (LLVMTypeOf(a) != LLVMTypeOf(b)) {
            a = to_double(f, a);
            b = to_double(f, b);
        }
        static const LLVMRealPredicate fp[KX_COUNT] = {[KX_EQ] = LLVMRealOEQ, [KX_NE] = LLVMRealUNE,
                                                        [KX_LT] = LLVMRealOLT, [KX_LE] = LLVMRealOLE,
                                                        [KX_GT] = LLVMRealOGT, [KX_GE] = LLVMRealOGE};
        return LLVMBuildFCmp(f->b, fp[op], a, b, "");
    }
    bool u = is_unsigned(t);
    LLVMIntPredicate p;
    switch (op) {
    case KX_EQ: p = LLVMIntEQ; break;
    case KX_NE: p = LLVMIntNE; break;
    case KX_LT: p = u ? LLVMIntULT : LLVMIntSLT; break;
    case KX_LE: p = u ? LLVMIntULE : LLVMIntSLE; break;
    case KX_GT: p = u ? LLVMIntUGT : LLVMIntSGT; break;
    default: p = u ? LLVMIntUGE : LLVMIntSGE; break;
    }
    return LLVMBuildICmp(f->b, p, a, b, "");
}

/* ---- loads ---- */

/* Is index expression e provably within [0, size) for a buffer axis of
 * that size? (a domain or reduction index over the same dimension) */
static bool index_in_range(cg_fn *f, uint32_t e, ir_dim size) {
    const kir_expr *x = &f->c->p->exprs[e];
    if (!f->k) return false;
    if (x->op == KX_IDX) return ir_dim_eq(f->c->p->bufs[f->k->out].dims[x->axis], size);
    if (x->op == KX_RIDX) return ir_dim_eq(f->k->red[x->axis], size);
    if (x->op == KX_CONST) return ir_dim_is_const(size) && x->ival >= 0 && x->ival < size.c;
    if (x->op == KX_ADD) /* i + r over a reduction axis of size 1 (1x1 convolutions) */
        for (int s = 0; s < 2; s++) {
            const kir_expr *r = &f->c->p->exprs[x->args[1 - s]];
            if (r->op == KX_RIDX && ir_dim_is_const(f->k->red[r->axis]) && f->k->red[r->axis].c == 1)
                return index_in_range(f, x->args[s], size);
        }
    return false;
}

static LLVMValueRef emit_load(cg_fn *f, const kir_expr *x) {
    cg_ctx *c = f->c;
    const kir_buffer *kb = &c->p->bufs[x->buffer];
    LLVMBuilderRef B = f->b;
    bool maybe_empty = false;
    for (int ax = 0; ax < kb->rank; ax++) {
        if (ir_dim_is_const(kb->dims[ax]) && kb->dims[ax].c == 0)
            return LLVMConstNull(cg_reg_type(c, kb->dtype)); /* interp: an empty buffer reads 0 */
        if (!ir_dim_is_const(kb->dims[ax])) maybe_empty = true;
    }
    LLVMValueRef off = LLVMConstInt(c->t_i64, 0, 0), stride = LLVMConstInt(c->t_i64, 1, 0);
    LLVMValueRef numel = stride;
    int in_range = 0;
    for (int ax = kb->rank - 1; ax >= 0; ax--) {
        LLVMValueRef i = cg_emit_expr(f, x->args[ax]);
        if (!i) return NULL;
        LLVMValueRef dim = cg_emit_dim(f, kb->dims[ax]);
        if (index_in_range(f, x->args[ax], kb->dims[ax])) {
            in_range++;
        } else {
            LLVMValueRef lim = LLVMBuildSub(f->eb, dim, LLVMConstInt(c->t_i64, 1, 0), "");
            i = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, i, lim, ""), lim, i, "");
            i = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, i, LLVMConstInt(c->t_i64, 0, 0), ""),
                                LLVMConstInt(c->t_i64, 0, 0), i, "");
        }
        off = LLVMBuildAdd(B, off, LLVMBuildMul(B, i, stride, ""), "");
        stride = LLVMBuildMul(f->eb, stride, dim, "");
        numel = stride;
    }
    /* every index within its axis: the load runs only where no axis is
     * empty (and stays affine, so that LLVM vectorizes it without gathers) */
    if (!maybe_empty || in_range == kb->rank) return cg_load_elem(f, x->buffer, off);
    /* a size known only at run time may be 0: read element 0 of a dummy */
    LLVMValueRef empty = LLVMBuildICmp(f->eb, LLVMIntEQ, numel, LLVMConstInt(c->t_i64, 0, 0), "");
    off = LLVMBuildSelect(B, empty, LLVMConstInt(c->t_i64, 0, 0), off, "");
    LLVMValueRef base = cg_buffer_ptr(f, x->buffer);
    LLVMValueRef dummy = LLVMGetNamedGlobal(c->mod, "cg.zero");
    f->buf_base[x->buffer] = LLVMBuildSelect(f->eb, empty, dummy, base, "");
    LLVMValueRef v = cg_load_elem(f, x->buffer, off);
    f->buf_base[x->buffer] = base;
    return LLVMBuildSelect(B, empty, LLVMConstNull(LLVMTypeOf(v)), v, "");
}

/* ---- the emitter ---- */

/* operand i of x converted to the register class of dtype t where the
 * interpreter reads it so (an integer operand of a float op and back) */
static LLVMValueRef operand_as(cg_fn *f, uint32_t e, ir_dtype t) {
    LLVMValueRef v = cg_emit_expr(f, e);
    if (!v) return NULL;
    ir_dtype have = f->c->p->exprs[e].dtype;
    if (have == t || ir_dtype_is_float(have) == ir_dtype_is_float(t)) {
        if (!ir_dtype_is_float(t) && have != t) /* another integer type: as its i64 value */
            return cg_wrap64(f, cg_ext64(f, v, have), t);
        return v;
    }
    if (ir_dtype_is_float(t)) /* (double)slot.i */
        return LLVMBuildSIToFP(f->b, cg_ext64(f, v, have), f->c->t_f64, "");
    /* (int64_t)slot.f */
    return cg_wrap64(f, LLVMBuildFreeze(f->b, LLVMBuildFPToSI(f->b, to_double(f, v), f->c->t_i64, ""), ""), t);
}

static LLVMValueRef emit_const(cg_fn *f, const kir_expr *x) {
    cg_ctx *c = f->c;
    LLVMTypeRef rt = cg_reg_type(c, x->dtype);
    if (ir_dtype_is_float(x->dtype)) {
        if (rt == c->t_f32 && (double)(float)x->fval != x->fval && !isnan(x->fval))
            return LLVMConstReal(c->t_f64, x->fval); /* wide: the interpreter keeps it unrounded */
        return LLVMConstReal(rt, x->fval);
    }
    if (x->dtype == IR_BOOL) return LLVMConstInt(rt, x->ival != 0, 0);
    return LLVMConstInt(rt, (unsigned long long)x->ival, 1);
}

static LLVMValueRef emit_node(cg_fn *f, uint32_t e) {
    cg_ctx *c = f->c;
    const kir_expr *x = &c->p->exprs[e];
    ir_dtype t = x->dtype;
    if (t != IR_DTYPE_NONE && !cg_reg_type(c, t))
        return cg_fail(f, "dtype %s is not supported by the LLVM backend (op %s)", ir_dtype_name(t),
                       kx_get(x->op)->name);
    switch (x->op) {
    case KX_CONST: return emit_const(f, x);
    case KX_IDX:
        if (!f->idx[x->axis]) return cg_fail(f, "domain index %d is not set", x->axis);
        return f->idx[x->axis];
    case KX_RIDX:
        if (!f->ridx[x->axis]) return cg_fail(f, "reduction index %d is not set", x->axis);
        return f->ridx[x->axis];
    case KX_DIM: return cg_emit_dim(f, x->dim);
    case KX_ACC:
        if (!f->acc) return cg_fail(f, "ACC outside a post expression");
        return f->acc;
    case KX_LOAD:
        if (!cg_reg_type(c, c->p->bufs[x->buffer].dtype))
            return cg_fail(f, "buffer '%s' has dtype %s, which the LLVM backend does not support yet",
                           c->p->bufs[x->buffer].name, ir_dtype_name(c->p->bufs[x->buffer].dtype));
        return emit_load(f, x);
    case KX_SELECT: {
        LLVMValueRef cond = cg_emit_expr(f, x->args[0]);
        LLVMValueRef a = operand_as(f, x->args[1], t), b = operand_as(f, x->args[2], t);
        if (!cond || !a || !b) return NULL;
        ir_dtype ct = c->p->exprs[x->args[0]].dtype;
        if (ct != IR_BOOL) cond = cg_convert(f, cond, ct, IR_BOOL, 0);
        if (LLVMTypeOf(a) != LLVMTypeOf(b)) {
            a = to_double(f, a);
            b = to_double(f, b);
        }
        return LLVMBuildSelect(f->b, cond, a, b, "");
    }
    case KX_CAST: {
        LLVMValueRef a = cg_emit_expr(f, x->args[0]);
        return a ? cg_convert(f, a, c->p->exprs[x->args[0]].dtype, t, x->ival) : NULL;
    }
    default: break;
    }
    const kx_info *info = kx_get(x->op);
    ir_dtype at = c->p->exprs[x->args[0]].dtype;
    LLVMValueRef a = cg_emit_expr(f, x->args[0]);
    if (!a) return NULL;
    switch (info->cls) {
    case KXC_MATH:
        if (!ir_dtype_is_float(at)) a = operand_as(f, x->args[0], t);
        return math1(f, x->op, a, t);
    case KXC_CMP: {
        if (x->op == KX_ISNAN || x->op == KX_ISINF) {
            if (!ir_dtype_is_float(at)) return LLVMConstInt(c->t_i1, 0, 0);
            if (x->op == KX_ISNAN) return LLVMBuildFCmp(f->b, LLVMRealUNO, a, a, "");
            LLVMValueRef ab = intrinsic(f, "llvm.fabs", &a, 1);
            return LLVMBuildFCmp(f->b, LLVMRealOEQ, ab, LLVMConstReal(LLVMTypeOf(a), INFINITY), "");
        }
        LLVMValueRef b = operand_as(f, x->args[1], at);
        return b ? compare(f, x->op, at, a, b) : NULL;
    }
    case KXC_LOGIC: {
        if (at != IR_BOOL) a = cg_convert(f, a, at, IR_BOOL, 0);
        if (x->op == KX_NOT) return LLVMBuildNot(f->b, a, "");
        LLVMValueRef b = cg_emit_expr(f, x->args[1]);
        if (!b) return NULL;
        ir_dtype bt = c->p->exprs[x->args[1]].dtype;
        if (bt != IR_BOOL) b = cg_convert(f, b, bt, IR_BOOL, 0);
        return x->op == KX_AND ? LLVMBuildAnd(f->b, a, b, "") : x->op == KX_OR ? LLVMBuildOr(f->b, a, b, "")
                                                                                : LLVMBuildXor(f->b, a, b, "");
    }
    default: {
        a = operand_as(f, x->args[0], t);
        LLVMValueRef b = NULL;
        if (info->arity > 1) {
            b = operand_as(f, x->args[1], t);
            if (!b) return NULL;
        }
        if (!a) return NULL;
        return ir_dtype_is_float(t) ? arith_f(f, x->op, a, b, t) : arith_i(f, x->op, a, b, t);
    }
    }
}

LLVMValueRef cg_emit_expr(cg_fn *f, uint32_t e) {
    if (f->memo[e] && f->memo_depth[e] <= f->depth && f->serial[f->memo_depth[e]] == f->memo_serial[e])
        return f->memo[e];
    LLVMValueRef v = emit_node(f, e);
    if (!v) return NULL;
    f->memo[e] = v;
    f->memo_depth[e] = f->depth;
    f->memo_serial[e] = f->serial[f->depth];
    return v;
}
