/* spv_ggml.c — the library kernel MatMulGGML (y [..., N] = x [..., K] @
 * W^T, W [N, K] in a ggml block format: runtime/lib_qmatmul.c on the CPU)
 * as a SPIR-V compute shader that dequantizes in the kernel: W stays in
 * its block format in device memory, bound as 32-bit words and unpacked
 * with shifts and masks (no 8-bit storage needed); the formulas are those
 * of runtime/ggml_quant.c (block sizes from ir/dtype.def). Arithmetic is
 * f32 on the dequantized weights and the f32 activations (the CPU path
 * quantizes activations to q8 as ggml's CPU backend does; llama.cpp's
 * Vulkan backend dequantizes, as here).
 *
 * Shape: one workgroup of WG invocations per ROWS rows of W and ROWS rows
 * of x (a ROWS x ROWS tile of the output; a vector x has one row). Each
 * invocation takes every WG-th "group" of a row of W (one 32-bit word of
 * the block's quants: 4, 8 or 16 weights), dequantizes it in the ROWS rows
 * of W and multiplies it with the matching vec4s of each row of x (rows of
 * x past M are skipped, uniformly in the workgroup: decode, M = 1, does the
 * work of one row); then the partial sums are added in workgroup memory (a
 * tree of barriers) and invocation i writes output i. So a decode step
 * reads W once, spread over all invocations (matrix-vector), and prefill
 * reads it once per ROWS rows of x. The dispatch is the runtime's tiled
 * one (spv.h's spv_tiling), tile ROWS over the last two output axes
 * (workgroup w: N tile w % (N / ROWS), then the M tile, then the point of
 * the leading axes).
 */
#include <string.h>

#include "codegen/spirv/spv_internal.h"

#define WG 64   /* invocations per workgroup */
#define ROWS 4  /* rows of W, and of x, per workgroup */
#define MAX_SETS 4

enum { OpArrayLength = 68, OpCompositeConstruct = 80, OpVectorTimesScalar = 142, OpDot = 148, OpTypeArray = 28,
       OpControlBarrier = 224, StorageWorkgroup = 4, BuiltInWorkgroupId = 26, BuiltInLocalInvocationIndex = 29 };

typedef struct gg {
    spv_ctx *c;
    ir_dtype t;
    uint32_t U, F, B, v4u, v4f;
    uint32_t w_var, p_wu;          /* W as u32 words */
    uint32_t x_var, p_x4;          /* x as vec4 */
    uint32_t y_var, p_yf;          /* y as f32 */
    uint32_t nwords;               /* words bound for W */
} gg;

static uint32_t uc(gg *g, uint32_t v) { return spv_c_u32(g->c, v); }
static uint32_t op2(gg *g, uint32_t op, uint32_t ty, uint32_t a, uint32_t b) { return spv_op2(g->c, op, ty, a, b); }
static uint32_t add(gg *g, uint32_t a, uint32_t b) { return op2(g, SpvOpIAdd, g->U, a, b); }
static uint32_t addc(gg *g, uint32_t a, uint32_t k) { return k ? add(g, a, uc(g, k)) : a; }
static uint32_t mulc(gg *g, uint32_t a, uint32_t k) { return op2(g, SpvOpIMul, g->U, a, uc(g, k)); }

/* A storage buffer of a runtime array of elem (stride bytes) at binding;
 * *p_elem gets the element pointer type. */
static uint32_t ssbo(gg *g, uint32_t elem, uint32_t stride, uint32_t binding, bool writable, uint32_t *p_elem) {
    spv_builder *b = &g->c->b;
    uint32_t arr = spv_id(b), st = spv_id(b), ops[2];
    uint32_t head[3] = {(3u << 16) | SpvOpTypeRuntimeArray, arr, elem};
    spv_put(b, &b->types, head, 3);
    uint32_t shead[3] = {(3u << 16) | SpvOpTypeStruct, st, arr};
    spv_put(b, &b->types, shead, 3);
    spv_decorate(b, arr, SpvDecoArrayStride, &stride, 1);
    spv_decorate(b, st, SpvDecoBlock, NULL, 0);
    uint32_t md[4] = {st, 0, SpvDecoOffset, 0};
    spv_inst(b, &b->decos, SpvOpMemberDecorate, md, 4);
    ops[0] = SpvStorageStorageBuffer, ops[1] = st;
    uint32_t pst = spv_type(b, SpvOpTypePointer, ops, 2), sc = SpvStorageStorageBuffer, zero = 0;
    ops[1] = elem;
    *p_elem = spv_type(b, SpvOpTypePointer, ops, 2);
    uint32_t var = spv_op(b, &b->types, SpvOpVariable, pst, &sc, 1);
    spv_decorate(b, var, SpvDecoDescriptorSet, &zero, 1);
    spv_decorate(b, var, SpvDecoBinding, &binding, 1);
    if (!writable) spv_decorate(b, var, SpvDecoNonWritable, NULL, 0);
    spv_decorate(b, var, SpvDecoRestrict, NULL, 0);
    return var;
}

static uint32_t elem_ptr(gg *g, uint32_t var, uint32_t p_elem, uint32_t i) {
    uint32_t ops[3] = {var, uc(g, 0), i};
    return spv_op(&g->c->b, g->c->cur, SpvOpAccessChain, p_elem, ops, 3);
}

/* ---- bytes of W at a byte offset (u32 registers) ---- */

static uint32_t word(gg *g, uint32_t wi) { return spv_op1(g->c, SpvOpLoad, g->U, elem_ptr(g, g->w_var, g->p_wu, wi)); }

/* 4 bytes at byte offset o, any alignment (the next word clamped to the
 * binding, read only when o is not a multiple of 4) */
static uint32_t bytes4(gg *g, uint32_t o) {
    spv_ctx *c = g->c;
    uint32_t wi = op2(g, SpvOpShiftRightLogical, g->U, o, uc(g, 2));
    uint32_t sh = mulc(g, op2(g, SpvOpBitwiseAnd, g->U, o, uc(g, 3)), 8);
    uint32_t last = op2(g, SpvOpISub, g->U, g->nwords, uc(g, 1));
    uint32_t wn = addc(g, wi, 1);
    wn = spv_sel(c, g->U, op2(g, SpvOpULessThan, g->B, wn, g->nwords), wn, last);
    uint32_t lo = word(g, wi), hi = word(g, wn);
    uint32_t both = op2(g, SpvOpBitwiseOr, g->U, op2(g, SpvOpShiftRightLogical, g->U, lo, sh),
                        op2(g, SpvOpShiftLeftLogical, g->U, hi, op2(g, SpvOpISub, g->U, uc(g, 32), sh)));
    return spv_sel(c, g->U, op2(g, SpvOpIEqual, g->B, sh, uc(g, 0)), lo, both);
}

static uint32_t byte_at(gg *g, uint32_t o) {
    uint32_t w = word(g, op2(g, SpvOpShiftRightLogical, g->U, o, uc(g, 2)));
    uint32_t sh = mulc(g, op2(g, SpvOpBitwiseAnd, g->U, o, uc(g, 3)), 8);
    return op2(g, SpvOpBitwiseAnd, g->U, op2(g, SpvOpShiftRightLogical, g->U, w, sh), uc(g, 0xFF));
}

/* the f16 at an even byte offset, as f32 */
static uint32_t half_at(gg *g, uint32_t o) {
    uint32_t w = word(g, op2(g, SpvOpShiftRightLogical, g->U, o, uc(g, 2)));
    uint32_t sh = mulc(g, op2(g, SpvOpBitwiseAnd, g->U, o, uc(g, 2)), 8);
    uint32_t v2 = spv_ext(g->c, g->c->t_v2f32, GLSLUnpackHalf2x16, op2(g, SpvOpShiftRightLogical, g->U, w, sh), 0);
    uint32_t ops[2] = {v2, 0};
    return spv_op(&g->c->b, g->c->cur, SpvOpCompositeExtract, g->F, ops, 2);
}

/* ---- vec4 helpers ---- */

static uint32_t splat(gg *g, uint32_t ty, uint32_t v) {
    uint32_t ops[4] = {v, v, v, v};
    return spv_op(&g->c->b, g->c->cur, OpCompositeConstruct, ty, ops, 4);
}

static uint32_t cvec(gg *g, uint32_t a, uint32_t b, uint32_t c2, uint32_t d) {
    uint32_t ops[4] = {uc(g, a), uc(g, b), uc(g, c2), uc(g, d)};
    return spv_const(&g->c->b, SpvOpConstantComposite, g->v4u, ops, 4);
}

/* (v >> (shift + 8 i)) & mask for the 4 bytes i of v: shift a u32 value */
static uint32_t field4(gg *g, uint32_t v, uint32_t shift, uint32_t mask) {
    uint32_t sv = op2(g, SpvOpIAdd, g->v4u, splat(g, g->v4u, shift), cvec(g, 0, 8, 16, 24));
    uint32_t r = op2(g, SpvOpShiftRightLogical, g->v4u, splat(g, g->v4u, v), sv);
    return op2(g, SpvOpBitwiseAnd, g->v4u, r, splat(g, g->v4u, uc(g, mask)));
}

static uint32_t tof(gg *g, uint32_t v4) { return spv_op1(g->c, SpvOpConvertUToF, g->v4f, v4); }
static uint32_t fsplat(gg *g, uint32_t f) { return splat(g, g->v4f, f); }
static uint32_t fmul(gg *g, uint32_t a, uint32_t b) { return op2(g, SpvOpFMul, g->F, a, b); }
/* d * q (q a float vec4) */
static uint32_t vscale(gg *g, uint32_t q, uint32_t d) { return op2(g, OpVectorTimesScalar, g->v4f, q, d); }
/* float(q) - k */
static uint32_t vsubk(gg *g, uint32_t q4, float k) { return op2(g, SpvOpFSub, g->v4f, tof(g, q4), fsplat(g, spv_c_f32(g->c, k))); }
static uint32_t vor(gg *g, uint32_t a, uint32_t b) { return op2(g, SpvOpBitwiseOr, g->v4u, a, b); }
static uint32_t vshl4(gg *g, uint32_t a) { return op2(g, SpvOpShiftLeftLogical, g->v4u, a, splat(g, g->v4u, uc(g, 4))); }

/* ---- one group of a block: the weights as vec4s (w) at element offsets (off) ---- */

/* 4 signed bytes of v as floats */
static uint32_t sbytes4(gg *g, uint32_t v) {
    uint32_t r = op2(g, SpvOpShiftLeftLogical, g->v4u, splat(g, g->v4u, v), cvec(g, 24, 16, 8, 0));
    r = op2(g, SpvOpShiftRightArithmetic, g->v4u, r, splat(g, g->v4u, uc(g, 24)));
    return spv_op1(g->c, SpvOpConvertSToF, g->v4f, r);
}

/* the 6-bit scale and min of sub-block j of a q4_k / q5_k block's 12 bytes
 * at sc (rt_ggml_scale_min_k4) */
static void scale_min_k4(gg *g, uint32_t sc, uint32_t j, uint32_t *s, uint32_t *m) {
    uint32_t U = g->U;
    uint32_t a = byte_at(g, add(g, sc, j)), b = byte_at(g, addc(g, add(g, sc, j), 4));
    uint32_t low = op2(g, SpvOpULessThan, g->B, j, uc(g, 4));
    uint32_t jm4 = op2(g, SpvOpBitwiseAnd, U, j, uc(g, 3)); /* j - 4 for j >= 4 */
    uint32_t c4 = byte_at(g, add(g, sc, jm4));
    uint32_t s_lo = op2(g, SpvOpBitwiseAnd, U, a, uc(g, 63)), m_lo = op2(g, SpvOpBitwiseAnd, U, b, uc(g, 63));
    uint32_t s_hi = op2(g, SpvOpBitwiseOr, U, op2(g, SpvOpBitwiseAnd, U, b, uc(g, 0xF)),
                        op2(g, SpvOpShiftLeftLogical, U, op2(g, SpvOpShiftRightLogical, U, c4, uc(g, 6)), uc(g, 4)));
    uint32_t m_hi = op2(g, SpvOpBitwiseOr, U, op2(g, SpvOpShiftRightLogical, U, b, uc(g, 4)),
                        op2(g, SpvOpShiftLeftLogical, U, op2(g, SpvOpShiftRightLogical, U, a, uc(g, 6)), uc(g, 4)));
    *s = spv_op1(g->c, SpvOpConvertUToF, g->F, spv_sel(g->c, U, low, s_lo, s_hi));
    *m = spv_op1(g->c, SpvOpConvertUToF, g->F, spv_sel(g->c, U, low, m_lo, m_hi));
}

/* Groups per block of t (one 32-bit word of quants each), or 0. */
static uint32_t groups_per_block(ir_dtype t) {
    switch (t) {
    case IR_Q8_0: return 8;
    case IR_Q4_0: case IR_Q4_1: case IR_Q5_0: case IR_Q5_1: return 4;
    case IR_Q4_K: case IR_Q5_K: return 32;
    case IR_Q6_K: return 16;
    default: return 0;
    }
}

/* Group gi's element offsets in the block (u32 values; multiples of 4):
 * the number of vec4 sets. */
static int group_offsets(gg *g, uint32_t gi, uint32_t *off) {
    uint32_t U = g->U;
    switch (g->t) {
    case IR_Q8_0: off[0] = mulc(g, gi, 4); return 1;
    case IR_Q4_0: case IR_Q4_1: case IR_Q5_0: case IR_Q5_1:
        off[0] = mulc(g, gi, 4), off[1] = addc(g, off[0], 16);
        return 2;
    case IR_Q4_K: case IR_Q5_K: { /* chunk gi / 8 of 64 elements, l = 4 (gi % 8) */
        uint32_t l = mulc(g, op2(g, SpvOpBitwiseAnd, U, gi, uc(g, 7)), 4);
        off[0] = add(g, mulc(g, op2(g, SpvOpShiftRightLogical, U, gi, uc(g, 3)), 64), l), off[1] = addc(g, off[0], 32);
        return 2;
    }
    case IR_Q6_K: { /* half gi / 8 of 128 elements, l = 4 (gi % 8); sets k = 0..3 at 32 k + l */
        uint32_t l = mulc(g, op2(g, SpvOpBitwiseAnd, U, gi, uc(g, 7)), 4);
        off[0] = add(g, mulc(g, op2(g, SpvOpShiftRightLogical, U, gi, uc(g, 3)), 128), l);
        for (int k = 1; k < 4; k++) off[k] = addc(g, off[0], 32 * (uint32_t)k);
        return 4;
    }
    default: return 0;
    }
}

/* The weights of group gi of the block at byte offset blk (ggml_quant.c's
 * dq_* for those elements). */
static void group_weights(gg *g, uint32_t blk, uint32_t gi, uint32_t *w) {
    uint32_t U = g->U, l4 = mulc(g, gi, 4);
    switch (g->t) {
    case IR_Q8_0: /* f16 d, 32 int8; x = d * q */
        w[0] = vscale(g, sbytes4(g, bytes4(g, add(g, addc(g, blk, 2), l4))), half_at(g, blk));
        return;
    case IR_Q4_0: case IR_Q4_1: { /* f16 d, [f16 m,] 16 bytes of nibbles: low j, high j + 16 */
        bool m1 = g->t == IR_Q4_1;
        uint32_t d = half_at(g, blk), q = bytes4(g, add(g, addc(g, blk, m1 ? 4 : 2), l4));
        for (int s = 0; s < 2; s++) {
            uint32_t v = field4(g, q, uc(g, 4 * (uint32_t)s), 0xF);
            w[s] = m1 ? op2(g, SpvOpFAdd, g->v4f, vscale(g, tof(g, v), d), fsplat(g, half_at(g, addc(g, blk, 2))))
                      : vscale(g, vsubk(g, v, 8), d);
        }
        return;
    }
    case IR_Q5_0: case IR_Q5_1: { /* f16 d, [f16 m,] u32 qh (bit j: element j's fifth bit), nibbles */
        bool m1 = g->t == IR_Q5_1;
        uint32_t d = half_at(g, blk), h = bytes4(g, addc(g, blk, m1 ? 4 : 2));
        uint32_t q = bytes4(g, add(g, addc(g, blk, m1 ? 8 : 6), l4));
        for (int s = 0; s < 2; s++) {
            uint32_t e = addc(g, l4, 16 * (uint32_t)s); /* the element of byte 0 */
            uint32_t hb = op2(g, SpvOpBitwiseAnd, g->v4u,
                              op2(g, SpvOpShiftRightLogical, g->v4u, splat(g, g->v4u, h),
                                  op2(g, SpvOpIAdd, g->v4u, splat(g, g->v4u, e), cvec(g, 0, 1, 2, 3))),
                              splat(g, g->v4u, uc(g, 1)));
            uint32_t v = vor(g, field4(g, q, uc(g, 4 * (uint32_t)s), 0xF), vshl4(g, hb));
            w[s] = m1 ? op2(g, SpvOpFAdd, g->v4f, vscale(g, tof(g, v), d), fsplat(g, half_at(g, addc(g, blk, 2))))
                      : vscale(g, vsubk(g, v, 16), d);
        }
        return;
    }
    case IR_Q4_K: case IR_Q5_K: { /* f16 d, f16 dmin, 12 scale bytes, [32 bytes qh,] 128 bytes of nibbles */
        bool five = g->t == IR_Q5_K;
        uint32_t ch = op2(g, SpvOpShiftRightLogical, U, gi, uc(g, 3)), l = op2(g, SpvOpBitwiseAnd, U, l4, uc(g, 31));
        uint32_t d = half_at(g, blk), dmin = half_at(g, addc(g, blk, 2));
        uint32_t q = bytes4(g, add(g, addc(g, blk, five ? 48 : 16), add(g, mulc(g, ch, 32), l)));
        uint32_t h = five ? bytes4(g, add(g, addc(g, blk, 16), l)) : 0;
        for (int s = 0; s < 2; s++) {
            uint32_t j = addc(g, mulc(g, ch, 2), (uint32_t)s), sc, mn;
            scale_min_k4(g, addc(g, blk, 4), j, &sc, &mn);
            uint32_t v = field4(g, q, uc(g, 4 * (uint32_t)s), 0xF);
            if (five) v = vor(g, v, vshl4(g, field4(g, h, j, 1)));
            w[s] = op2(g, SpvOpFSub, g->v4f, vscale(g, tof(g, v), fmul(g, d, sc)), fsplat(g, fmul(g, dmin, mn)));
        }
        return;
    }
    case IR_Q6_K: { /* 128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d; x = d * sc * (q - 32) */
        uint32_t n = op2(g, SpvOpShiftRightLogical, U, gi, uc(g, 3)), l = op2(g, SpvOpBitwiseAnd, U, l4, uc(g, 31));
        uint32_t d = half_at(g, addc(g, blk, 208));
        uint32_t ql0 = add(g, blk, add(g, mulc(g, n, 64), l));
        uint32_t q0 = bytes4(g, ql0), q1 = bytes4(g, addc(g, ql0, 32));
        uint32_t h = bytes4(g, add(g, addc(g, blk, 128), add(g, mulc(g, n, 32), l)));
        uint32_t scb = add(g, addc(g, blk, 192), add(g, mulc(g, n, 8), op2(g, SpvOpShiftRightLogical, U, l, uc(g, 4))));
        for (int k = 0; k < 4; k++) {
            uint32_t lo = field4(g, k & 1 ? q1 : q0, uc(g, 4 * (uint32_t)(k / 2)), 0xF);
            uint32_t v = vor(g, lo, vshl4(g, field4(g, h, uc(g, 2 * (uint32_t)k), 3)));
            uint32_t sb = byte_at(g, addc(g, scb, 2 * (uint32_t)k));
            sb = op2(g, SpvOpShiftRightArithmetic, U, op2(g, SpvOpShiftLeftLogical, U, sb, uc(g, 24)), uc(g, 24));
            uint32_t ds = fmul(g, d, spv_op1(g->c, SpvOpConvertSToF, g->F, sb));
            w[k] = vscale(g, vsubk(g, v, 32), ds);
        }
        return;
    }
    default: return;
    }
}

/* ---- the kernel ---- */

static void barrier(gg *g) {
    uint32_t ops[3] = {uc(g, 2), uc(g, 2), uc(g, 0x108)}; /* Workgroup, Workgroup, AcquireRelease|WorkgroupMemory */
    spv_inst(&g->c->b, g->c->cur, OpControlBarrier, ops, 3);
}

/* if (cond) { ... }: returns the merge label for if_end */
static uint32_t if_begin(gg *g, uint32_t cond) {
    uint32_t then = spv_id(&g->c->b), merge = spv_id(&g->c->b), sm[2] = {merge, 0}, br[3] = {cond, then, merge};
    spv_inst(&g->c->b, g->c->cur, SpvOpSelectionMerge, sm, 2);
    spv_inst(&g->c->b, g->c->cur, SpvOpBranchConditional, br, 3);
    spv_label(g->c, then);
    return merge;
}

static void if_end(gg *g, uint32_t merge) {
    spv_branch(g->c, merge);
    spv_label(g->c, merge);
}

/* The workgroup's n partial sums per invocation (Function variables acc)
 * added in workgroup memory (a tree of barriers): invocation i < n gets
 * sum i (a value; meaningless for i >= n). */
static uint32_t reduce(gg *g, const uint32_t *acc, uint32_t n, uint32_t li) {
    spv_ctx *c = g->c;
    spv_builder *b = &c->b;
    uint32_t ops[2] = {g->F, uc(g, n * WG)};
    uint32_t arr = spv_type(b, OpTypeArray, ops, 2);
    ops[0] = StorageWorkgroup, ops[1] = arr;
    uint32_t p_arr = spv_type(b, SpvOpTypePointer, ops, 2);
    ops[1] = g->F;
    uint32_t p_sh = spv_type(b, SpvOpTypePointer, ops, 2), wsc = StorageWorkgroup;
    uint32_t red = spv_op(b, &b->types, SpvOpVariable, p_arr, &wsc, 1), slot[ROWS * ROWS];
    for (uint32_t i = 0; i < n; i++) {
        ops[0] = red, ops[1] = addc(g, li, i * WG);
        slot[i] = spv_op(b, c->cur, SpvOpAccessChain, p_sh, ops, 2);
        spv_store(c, slot[i], spv_op1(c, SpvOpLoad, g->F, acc[i]));
    }
    barrier(g);
    for (uint32_t half = WG / 2; half; half /= 2) {
        uint32_t merge = if_begin(g, op2(g, SpvOpULessThan, g->B, li, uc(g, half)));
        for (uint32_t i = 0; i < n; i++) {
            ops[0] = red, ops[1] = addc(g, li, i * WG + half);
            uint32_t o = spv_op1(c, SpvOpLoad, g->F, spv_op(b, c->cur, SpvOpAccessChain, p_sh, ops, 2));
            spv_store(c, slot[i], op2(g, SpvOpFAdd, g->F, spv_op1(c, SpvOpLoad, g->F, slot[i]), o));
        }
        if_end(g, merge);
        barrier(g);
    }
    ops[0] = red, ops[1] = mulc(g, op2(g, SpvOpUMod, g->U, li, uc(g, n)), WG);
    return spv_op1(c, SpvOpLoad, g->F, spv_op(b, c->cur, SpvOpAccessChain, p_sh, ops, 2));
}

bool spv_ggml_kernel(const kir_kernel *k) { return k->kind == KK_LIB && k->lib && !strcmp(k->lib, "MatMulGGML"); }

void spv_emit_ggml(spv_ctx *c, spv_tiling *tile) {
    const kir_kernel *k = c->k;
    const kir_program *p = c->p;
    if (k->n_lib_in != 2 || k->n_lib_out != 1) {
        spv_fail(c, "MatMulGGML with %u inputs", k->n_lib_in);
        return;
    }
    const kir_buffer *xb = &p->bufs[k->lib_in[0]], *wb = &p->bufs[k->lib_in[1]], *yb = &p->bufs[k->lib_out[0]];
    gg G = {.c = c, .t = wb->dtype}, *g = &G;
    const ir_dtype_info *ti = ir_dtype_get(g->t);
    uint32_t gpb = groups_per_block(g->t);
    if (!gpb) {
        spv_fail(c, "no SPIR-V kernel for MatMulGGML weights of %s", ir_dtype_name(g->t));
        return;
    }
    if (xb->dtype != IR_F32 || yb->dtype != IR_F32 || wb->rank != 2 || yb->rank < 1 || !ir_dim_is_const(wb->dims[0]) ||
        !ir_dim_is_const(wb->dims[1]) || wb->dims[1].c % ti->block_elems || wb->dims[0].c <= 0 ||
        (uint64_t)wb->dims[0].c * (uint64_t)ir_dtype_storage_bytes(g->t, wb->dims[1].c) > UINT32_MAX) {
        spv_fail(c, "MatMulGGML of this shape or dtype has no SPIR-V kernel");
        return;
    }
    spv_builder *b = &c->b;
    uint32_t N = (uint32_t)wb->dims[0].c, K = (uint32_t)wb->dims[1].c, nb = K / ti->block_elems;
    uint32_t row_bytes = nb * ti->block_bytes, gpr = nb * gpb, NB = (N + ROWS - 1) / ROWS;
    uint32_t ops[3];
    g->U = c->t_u32, g->F = c->t_f32, g->B = c->t_bool;
    ops[0] = g->U, ops[1] = 4;
    g->v4u = spv_type(b, SpvOpTypeVector, ops, 2);
    ops[0] = g->F;
    g->v4f = spv_type(b, SpvOpTypeVector, ops, 2);
    g->y_var = ssbo(g, g->F, 4, SPV_BINDING_OUT, true, &g->p_yf);
    g->x_var = ssbo(g, g->v4f, 16, SPV_BINDING_READS, false, &g->p_x4);
    g->w_var = ssbo(g, g->U, 4, SPV_BINDING_READS + 1, false, &g->p_wu);
    c->n_bindings = 4;
    uint32_t MX = yb->rank >= 2 ? ROWS : 1; /* rows of x per workgroup */
    uint32_t wid = spv_builtin_var(c, BuiltInWorkgroupId, false), nwg = spv_builtin_var(c, SpvBuiltInNumWorkgroups, false);
    uint32_t lix = spv_builtin_var(c, BuiltInLocalInvocationIndex, true);

    c->cur = &c->pre;
    uint32_t U = g->U, I = c->t_i64;
    uint32_t w3 = spv_op1(c, SpvOpLoad, c->t_v3u32, wid), n3 = spv_op1(c, SpvOpLoad, c->t_v3u32, nwg);
    uint32_t li = spv_op1(c, SpvOpLoad, U, lix);
    uint32_t wgi = add(g, op2(g, SpvOpIMul, U, spv_extract(c, w3, 1), spv_extract(c, n3, 0)), spv_extract(c, w3, 0));
    uint32_t lead = spv_c_i64(c, 1), M = spv_c_i64(c, 1); /* x: lead x M rows (M the tiled axis) */
    for (int ax = 0; ax + 2 < yb->rank; ax++) lead = spv_op2(c, SpvOpIMul, I, lead, spv_dim(c, yb->dims[ax]));
    if (yb->rank >= 2) M = spv_dim(c, yb->dims[yb->rank - 2]);
    uint32_t MT = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, M, spv_c_i64(c, MX - 1)), spv_c_i64(c, MX));
    ops[0] = g->w_var, ops[1] = 0;
    g->nwords = spv_op(b, c->cur, OpArrayLength, U, ops, 2);
    uint32_t in_range = spv_op2(c, SpvOpULessThan, g->B, spv_op1(c, SpvOpUConvert, I, wgi),
                                spv_op2(c, SpvOpIMul, I, spv_op2(c, SpvOpIMul, I, lead, MT), spv_c_i64(c, NB)));
    uint32_t Mu = spv_op1(c, SpvOpUConvert, U, M), MTu = spv_op1(c, SpvOpUConvert, U, MT);

    uint32_t work = spv_id(b), end = spv_id(b);
    c->cur = &c->body;
    spv_label(c, work);
    /* workgroup w: N tile w % NB, then M tile, then the leading point */
    uint32_t rest = op2(g, SpvOpUDiv, U, wgi, uc(g, NB)), n0 = mulc(g, op2(g, SpvOpUMod, U, wgi, uc(g, NB)), ROWS);
    uint32_t m0 = mulc(g, op2(g, SpvOpUMod, U, rest, MTu), MX);
    uint32_t xr0 = add(g, op2(g, SpvOpIMul, U, op2(g, SpvOpUDiv, U, rest, MTu), Mu), m0); /* row of x */
    uint32_t row_at[ROWS], valid[ROWS], acc[ROWS * ROWS];
    for (uint32_t r = 0; r < ROWS; r++) { /* rows past N read row N - 1; not written */
        uint32_t n = addc(g, n0, r);
        n = spv_sel(c, U, op2(g, SpvOpULessThan, g->B, n, uc(g, N)), n, uc(g, N - 1));
        row_at[r] = mulc(g, n, row_bytes);
    }
    for (uint32_t j = 0; j < MX; j++) valid[j] = op2(g, SpvOpULessThan, g->B, addc(g, m0, j), Mu);
    for (uint32_t i = 0; i < ROWS * MX; i++) {
        acc[i] = spv_fn_var(c, g->F);
        spv_store(c, acc[i], spv_c_f32(c, 0));
    }
    spv_loop l;
    spv_loop_begin(c, &l, spv_c_i64(c, (gpr + WG - 1) / WG));
    uint32_t q = add(g, li, mulc(g, spv_op1(c, SpvOpUConvert, U, l.iv), WG));
    uint32_t inside = if_begin(g, op2(g, SpvOpULessThan, g->B, q, uc(g, gpr)));
    uint32_t bi = op2(g, SpvOpUDiv, U, q, uc(g, gpb)), gi = op2(g, SpvOpUMod, U, q, uc(g, gpb));
    uint32_t off[MAX_SETS], wv[ROWS][MAX_SETS];
    int sets = group_offsets(g, gi, off);
    for (uint32_t r = 0; r < ROWS; r++) group_weights(g, add(g, row_at[r], mulc(g, bi, ti->block_bytes)), gi, wv[r]);
    for (uint32_t j = 0; j < MX; j++) { /* rows of x past M: skipped (the same in the whole workgroup) */
        uint32_t skip = j ? if_begin(g, valid[j]) : 0;
        uint32_t xb4 = add(g, mulc(g, addc(g, xr0, j), K / 4), mulc(g, bi, ti->block_elems / 4)), xv[MAX_SETS];
        for (int s = 0; s < sets; s++)
            xv[s] = spv_op1(c, SpvOpLoad, g->v4f,
                            elem_ptr(g, g->x_var, g->p_x4, add(g, xb4, op2(g, SpvOpShiftRightLogical, U, off[s], uc(g, 2)))));
        for (uint32_t r = 0; r < ROWS; r++) {
            uint32_t sum = spv_op1(c, SpvOpLoad, g->F, acc[j * ROWS + r]);
            for (int s = 0; s < sets; s++) sum = op2(g, SpvOpFAdd, g->F, sum, op2(g, OpDot, g->F, wv[r][s], xv[s]));
            spv_store(c, acc[j * ROWS + r], sum);
        }
        if (j) if_end(g, skip);
    }
    if_end(g, inside);
    spv_loop_end(c, &l);
    /* invocation i < ROWS x MX writes output (row of x i / ROWS, row of W i % ROWS) */
    uint32_t v = reduce(g, acc, ROWS * MX, li), i_r = op2(g, SpvOpUMod, U, li, uc(g, ROWS));
    uint32_t i_j = op2(g, SpvOpUDiv, U, li, uc(g, ROWS)), n = add(g, n0, i_r);
    uint32_t ok = op2(g, SpvOpLogicalAnd, g->B, op2(g, SpvOpULessThan, g->B, li, uc(g, ROWS * MX)),
                      op2(g, SpvOpLogicalAnd, g->B, op2(g, SpvOpULessThan, g->B, n, uc(g, N)),
                          op2(g, SpvOpULessThan, g->B, add(g, m0, i_j), Mu)));
    uint32_t writes = if_begin(g, ok);
    spv_store(c, elem_ptr(g, g->y_var, g->p_yf, add(g, mulc(g, add(g, xr0, i_j), N), n)), v);
    if_end(g, writes);
    uint32_t iface[3] = {wid, nwg, lix};
    spv_end_compute(c, in_range, work, end, iface, 3, WG);
    *tile = (spv_tiling){.m_axis = yb->rank - (yb->rank >= 2 ? 2 : 1), .n_axis = yb->rank - 1, .tile = ROWS};
}
