/* spv_helpers.c — helper functions a kernel's module may call, each
 * written once per module when first needed: f32 to f16 bits with
 * round-to-nearest-even (runtime/half.c's rt_f32_to_f16, in selects),
 * integer power by squaring (interp.c's ipow), and erf (a series below
 * 0.5, Abramowitz-Stegun 7.1.26 above: GLSL.std.450 has no erf).
 */
#include "codegen/spirv/spv_internal.h"

typedef struct helper {
    spv_words words, *saved;
    uint32_t fn;
} helper;

/* Start function `ret name(params)`: params get their ids in par. */
static void helper_begin(spv_ctx *c, helper *h, uint32_t ret, const uint32_t *params, uint32_t n, uint32_t *par) {
    uint32_t ft[4] = {ret};
    for (uint32_t i = 0; i < n; i++) ft[i + 1] = params[i];
    uint32_t fnty = spv_type(&c->b, SpvOpTypeFunction, ft, n + 1);
    h->words = (spv_words){0};
    h->saved = c->cur;
    c->cur = &h->words;
    uint32_t ops[2] = {0, fnty};
    h->fn = spv_op(&c->b, c->cur, SpvOpFunction, ret, ops, 2);
    for (uint32_t i = 0; i < n; i++) par[i] = spv_op(&c->b, c->cur, SpvOpFunctionParameter, params[i], NULL, 0);
    spv_op(&c->b, c->cur, SpvOpLabel, 0, NULL, 0);
}

static uint32_t helper_end(spv_ctx *c, helper *h, uint32_t result) {
    spv_inst(&c->b, c->cur, SpvOpReturnValue, &result, 1);
    spv_inst(&c->b, c->cur, SpvOpFunctionEnd, NULL, 0);
    spv_put(&c->b, &c->b.funcs, h->words.w, h->words.n);
    spv_words_free(&h->words);
    c->cur = h->saved;
    return h->fn;
}

static uint32_t call(spv_ctx *c, uint32_t ret, uint32_t fn, const uint32_t *args, uint32_t n) {
    uint32_t ops[4] = {fn};
    for (uint32_t i = 0; i < n; i++) ops[i + 1] = args[i];
    return spv_op(&c->b, c->cur, SpvOpFunctionCall, ret, ops, n + 1);
}

/* ---- f32 -> f16 bits ---- */

static uint32_t u(spv_ctx *c, uint32_t v) { return spv_c_u32(c, v); }

static uint32_t emit_f16_bits(spv_ctx *c) {
    helper h;
    uint32_t x, U = c->t_u32, B = c->t_bool;
    helper_begin(c, &h, U, &c->t_f32, 1, &x);
    uint32_t bits = spv_op1(c, SpvOpBitcast, U, x);
    uint32_t sign = spv_op2(c, SpvOpBitwiseAnd, U, spv_op2(c, SpvOpShiftRightLogical, U, bits, u(c, 16)), u(c, 0x8000));
    uint32_t ax = spv_op2(c, SpvOpBitwiseAnd, U, bits, u(c, 0x7fffffff));
    /* NaN: quiet, payload kept */
    uint32_t nanv = spv_op2(c, SpvOpBitwiseOr, U, spv_op2(c, SpvOpBitwiseOr, U, sign, u(c, 0x7e00)),
                            spv_op2(c, SpvOpBitwiseAnd, U, spv_op2(c, SpvOpShiftRightLogical, U, ax, u(c, 13)), u(c, 0x3ff)));
    uint32_t infv = spv_op2(c, SpvOpBitwiseOr, U, sign, u(c, 0x7c00));
    /* normal */
    uint32_t half = spv_op2(c, SpvOpISub, U, spv_op2(c, SpvOpShiftRightLogical, U, ax, u(c, 13)), u(c, 112 << 10));
    uint32_t rem = spv_op2(c, SpvOpBitwiseAnd, U, ax, u(c, 0x1fff));
    uint32_t odd = spv_op2(c, SpvOpINotEqual, B, spv_op2(c, SpvOpBitwiseAnd, U, half, u(c, 1)), u(c, 0));
    uint32_t up = spv_op2(c, SpvOpLogicalOr, B, spv_op2(c, SpvOpUGreaterThan, B, rem, u(c, 0x1000)),
                          spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpIEqual, B, rem, u(c, 0x1000)), odd));
    uint32_t normal = spv_op2(c, SpvOpBitwiseOr, U, sign,
                              spv_op2(c, SpvOpIAdd, U, half, spv_sel(c, U, up, u(c, 1), u(c, 0))));
    /* subnormal in half: mantissa * 2^(exp - 126), shift clamped to 14..24 */
    uint32_t man = spv_op2(c, SpvOpBitwiseOr, U, spv_op2(c, SpvOpBitwiseAnd, U, ax, u(c, 0x7fffff)), u(c, 0x800000));
    uint32_t e = spv_op2(c, SpvOpShiftRightLogical, U, ax, u(c, 23));
    uint32_t sh = spv_op2(c, SpvOpISub, U, u(c, 126), spv_sel(c, U, spv_op2(c, SpvOpUGreaterThan, B, e, u(c, 112)),
                                                                u(c, 112), spv_sel(c, U, spv_op2(c, SpvOpULessThan, B, e, u(c, 102)), u(c, 102), e)));
    uint32_t sh1 = spv_op2(c, SpvOpShiftLeftLogical, U, u(c, 1), sh);
    uint32_t hs = spv_op2(c, SpvOpShiftRightLogical, U, man, sh);
    uint32_t rs = spv_op2(c, SpvOpBitwiseAnd, U, man, spv_op2(c, SpvOpISub, U, sh1, u(c, 1)));
    uint32_t mid = spv_op2(c, SpvOpShiftRightLogical, U, sh1, u(c, 1));
    uint32_t odd2 = spv_op2(c, SpvOpINotEqual, B, spv_op2(c, SpvOpBitwiseAnd, U, hs, u(c, 1)), u(c, 0));
    uint32_t up2 = spv_op2(c, SpvOpLogicalOr, B, spv_op2(c, SpvOpUGreaterThan, B, rs, mid),
                           spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpIEqual, B, rs, mid), odd2));
    uint32_t sub = spv_op2(c, SpvOpBitwiseOr, U, sign, spv_op2(c, SpvOpIAdd, U, hs, spv_sel(c, U, up2, u(c, 1), u(c, 0))));
    uint32_t r = spv_sel(c, U, spv_op2(c, SpvOpULessThan, B, ax, u(c, 0x38800000)), sub, normal);
    r = spv_sel(c, U, spv_op2(c, SpvOpULessThan, B, ax, u(c, 0x33000000)), sign, r);
    r = spv_sel(c, U, spv_op2(c, SpvOpUGreaterThanEqual, B, ax, u(c, 0x477ff000)), infv, r);
    r = spv_sel(c, U, spv_op2(c, SpvOpUGreaterThan, B, ax, u(c, 0x7f800000)), nanv, r);
    return helper_end(c, &h, r);
}

uint32_t spv_call_f16_bits(spv_ctx *c, uint32_t f32v) {
    if (!c->fn_f16_bits) c->fn_f16_bits = emit_f16_bits(c);
    return call(c, c->t_u32, c->fn_f16_bits, &f32v, 1);
}

/* ---- integer power ---- */

static uint32_t emit_ipow(spv_ctx *c) {
    helper h;
    uint32_t T = c->t_i64, B = c->t_bool, par[2], params[2] = {T, T};
    helper_begin(c, &h, T, params, 2, par);
    uint32_t a = par[0], e = par[1], zero = spv_c_i64(c, 0), one = spv_c_i64(c, 1);
    uint32_t sc = SpvStorageFunction, vops[1] = {sc};
    if (!c->p_fn[1]) {
        uint32_t ops[2] = {SpvStorageFunction, T};
        c->p_fn[1] = spv_type(&c->b, SpvOpTypePointer, ops, 2);
    }
    uint32_t rv = spv_op(&c->b, c->cur, SpvOpVariable, c->p_fn[1], vops, 1);
    uint32_t bv = spv_op(&c->b, c->cur, SpvOpVariable, c->p_fn[1], vops, 1);
    uint32_t ev = spv_op(&c->b, c->cur, SpvOpVariable, c->p_fn[1], vops, 1);
    uint32_t neg = spv_op2(c, SpvOpSLessThan, B, e, zero);
    uint32_t st[2] = {rv, one};
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    st[0] = bv, st[1] = a;
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    st[0] = ev, st[1] = spv_sel(c, T, neg, zero, e);
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    uint32_t head = spv_id(&c->b), body = spv_id(&c->b), cont = spv_id(&c->b), merge = spv_id(&c->b);
    spv_inst(&c->b, c->cur, SpvOpBranch, &head, 1);
    spv_inst(&c->b, c->cur, SpvOpLabel, &head, 1);
    uint32_t ec = spv_op1(c, SpvOpLoad, T, ev);
    uint32_t go = spv_op2(c, SpvOpINotEqual, B, ec, zero);
    uint32_t lm[3] = {merge, cont, 0};
    spv_inst(&c->b, c->cur, SpvOpLoopMerge, lm, 3);
    uint32_t br[3] = {go, body, merge};
    spv_inst(&c->b, c->cur, SpvOpBranchConditional, br, 3);
    spv_inst(&c->b, c->cur, SpvOpLabel, &body, 1);
    uint32_t r = spv_op1(c, SpvOpLoad, T, rv), b = spv_op1(c, SpvOpLoad, T, bv);
    uint32_t bit = spv_op2(c, SpvOpINotEqual, B, spv_op2(c, SpvOpBitwiseAnd, T, ec, one), zero);
    st[0] = rv, st[1] = spv_sel(c, T, bit, spv_op2(c, SpvOpIMul, T, r, b), r);
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    st[0] = bv, st[1] = spv_op2(c, SpvOpIMul, T, b, b);
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    st[0] = ev, st[1] = spv_op2(c, SpvOpShiftRightLogical, T, ec, one);
    spv_inst(&c->b, c->cur, SpvOpStore, st, 2);
    spv_inst(&c->b, c->cur, SpvOpBranch, &cont, 1);
    spv_inst(&c->b, c->cur, SpvOpLabel, &cont, 1);
    spv_inst(&c->b, c->cur, SpvOpBranch, &head, 1);
    spv_inst(&c->b, c->cur, SpvOpLabel, &merge, 1);
    uint32_t res = spv_op1(c, SpvOpLoad, T, rv);
    /* negative exponents: 1 for base 1, +-1 for base -1, else 0 */
    uint32_t m1 = spv_c_i64(c, -1);
    uint32_t eodd = spv_op2(c, SpvOpINotEqual, B, spv_op2(c, SpvOpBitwiseAnd, T, e, one), zero);
    uint32_t negr = spv_sel(c, T, spv_op2(c, SpvOpIEqual, B, a, one), one,
                            spv_sel(c, T, spv_op2(c, SpvOpIEqual, B, a, m1), spv_sel(c, T, eodd, m1, one), zero));
    return helper_end(c, &h, spv_sel(c, T, neg, negr, res));
}

uint32_t spv_call_ipow(spv_ctx *c, uint32_t a, uint32_t b) {
    if (!c->fn_ipow) c->fn_ipow = emit_ipow(c);
    uint32_t args[2] = {a, b};
    return call(c, c->t_i64, c->fn_ipow, args, 2);
}

/* ---- erf ---- */

static uint32_t emit_erf(spv_ctx *c) {
    helper h;
    uint32_t x, F = c->t_f32, B = c->t_bool;
    helper_begin(c, &h, F, &c->t_f32, 1, &x);
    uint32_t ax = spv_ext(c, F, GLSLFAbs, x, 0), x2 = spv_op2(c, SpvOpFMul, F, x, x);
    /* |x| < 0.5: 2/sqrt(pi) x (1 - x^2/3 + x^4/10 - x^6/42 + x^8/216 - x^10/1320 + x^12/9360) */
    static const float series[] = {1.0f / 9360, -1.0f / 1320, 1.0f / 216, -1.0f / 42, 1.0f / 10, -1.0f / 3, 1.0f};
    uint32_t s = spv_c_f32(c, series[0]);
    for (int i = 1; i < 7; i++) {
        uint32_t ops[5] = {c->glsl, GLSLFma, s, x2, spv_c_f32(c, series[i])};
        s = spv_op(&c->b, c->cur, SpvOpExtInst, F, ops, 5);
    }
    uint32_t small = spv_op2(c, SpvOpFMul, F, spv_op2(c, SpvOpFMul, F, s, x), spv_c_f32(c, 1.1283791670955126f));
    /* |x| >= 0.5: 1 - (a1 t + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p |x|) */
    static const float a[] = {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f};
    uint32_t t = spv_op2(c, SpvOpFDiv, F, spv_c_f32(c, 1.0f),
                         spv_op2(c, SpvOpFAdd, F, spv_c_f32(c, 1.0f), spv_op2(c, SpvOpFMul, F, ax, spv_c_f32(c, 0.3275911f))));
    uint32_t poly = spv_c_f32(c, a[0]);
    for (int i = 1; i < 5; i++) {
        uint32_t ops[5] = {c->glsl, GLSLFma, poly, t, spv_c_f32(c, a[i])};
        poly = spv_op(&c->b, c->cur, SpvOpExtInst, F, ops, 5);
    }
    poly = spv_op2(c, SpvOpFMul, F, poly, t);
    uint32_t ex = spv_ext(c, F, GLSLExp, spv_op1(c, SpvOpFNegate, F, x2), 0);
    uint32_t big = spv_op2(c, SpvOpFSub, F, spv_c_f32(c, 1.0f), spv_op2(c, SpvOpFMul, F, poly, ex));
    uint32_t neg = spv_op2(c, SpvOpFOrdLessThan, B, x, spv_c_f32(c, 0.0f));
    big = spv_sel(c, F, neg, spv_op1(c, SpvOpFNegate, F, big), big);
    uint32_t r = spv_sel(c, F, spv_op2(c, SpvOpFOrdLessThan, B, ax, spv_c_f32(c, 0.5f)), small, big);
    return helper_end(c, &h, r);
}

uint32_t spv_call_erf(spv_ctx *c, uint32_t x) {
    if (!c->fn_erf) c->fn_erf = emit_erf(c);
    return call(c, c->t_f32, c->fn_erf, &x, 1);
}
