/* qmatmul_arm.c — aarch64 dot products of q4_0, q5_0, q8_0, q4_1, q5_1 and
 * q4_K weights with their q8 activation blocks (qmatmul.c has the portable ones and the
 * layouts): qmatmul_arm_blocks.h compiled with plain NEON's widening
 * multiply + pairwise add (every aarch64 CPU) and with the dot product
 * extension's vdotq_s32 (target "dotprod", chosen at run time where Linux
 * reports HWCAP_ASIMDDP). Both give the portable kernels' floats exactly.
 */
#include "runtime/ggml_quant.h"
#include "runtime/qmatmul_impl.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static inline int32x4_t dot_widen(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

/* 16 bytes: 0xFF where bit j of h is set */
static inline uint8x16_t bits16(uint32_t h) {
    const uint8x16_t idx = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    const uint8x16_t bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    return vtstq_u8(vqtbl1q_u8(vreinterpretq_u8_u32(vdupq_n_u32(h)), idx), bit);
}

/* The 32 weights of a block of q4 / q5 / q8 (bits 4, 5, 8; w at its first
 * scale, 2 bytes of scale or 4 of scale and min before the quants): lo
 * elements 0..15, hi 16..31; with centre the offset (8, 16) subtracted. */
static inline void weights32(const uint8_t *w, int bits, bool centre, int8x16_t *lo, int8x16_t *hi) {
    if (bits == 8) {
        *lo = vld1q_s8((const int8_t *)w + 2), *hi = vld1q_s8((const int8_t *)w + 18);
        return;
    }
    const uint8_t *qs = w + (bits == 5 ? 6 : 2);
    uint8x16_t b = vld1q_u8(qs), l = vandq_u8(b, vdupq_n_u8(0xF)), h = vshrq_n_u8(b, 4);
    if (bits == 5) { /* the fifth bit of element j is bit j of qh */
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        l = vorrq_u8(l, vandq_u8(bits16(qh), vdupq_n_u8(0x10)));
        h = vorrq_u8(h, vandq_u8(bits16(qh >> 16), vdupq_n_u8(0x10)));
    }
    int8x16_t off = vdupq_n_s8(centre ? (int8_t)(1 << (bits - 1)) : 0);
    *lo = vsubq_s8(vreinterpretq_s8_u8(l), off), *hi = vsubq_s8(vreinterpretq_s8_u8(h), off);
}

#define QA_TGT
#define QA(name) name##_neon
#define QA_DOT(acc, a, b) dot_widen((acc), (a), (b))
#include "runtime/qmatmul_arm_blocks.h"
#undef QA_TGT
#undef QA
#undef QA_DOT
#define QA_TGT __attribute__((target("dotprod")))
#define QA(name) name##_dotprod
#define QA_DOT(acc, a, b) vdotq_s32((acc), (a), (b))
#include "runtime/qmatmul_arm_blocks.h"
#undef QA_TGT
#undef QA
#undef QA_DOT

static int has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
    return 1;
#else
    return 0;
#endif
}

rt_qdot_fn rt_qdot_arm(ir_dtype t, const char *want, const char **name) {
    rt_qdot_fn f = NULL;
    if (has_dotprod() && (!want || !strcmp(want, "dotprod")) && (f = kernel_dotprod(t))) {
        *name = "dotprod";
        return f;
    }
    if (want && strcmp(want, "neon")) return NULL;
    if ((f = kernel_neon(t))) *name = "neon";
    return f;
}

#else
rt_qdot_fn rt_qdot_arm(ir_dtype t, const char *want, const char **name) {
    (void)t, (void)want, (void)name;
    return NULL;
}
#endif
