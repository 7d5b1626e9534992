/* qmatmul_arm.c — aarch64 dot products of q8_0, q4_0 and q4_1 weights with
 * their q8 activation blocks (qmatmul.c has the portable ones and the
 * layouts): qmatmul_arm_blocks.h compiled with plain NEON's widening
 * multiply + pairwise add (every aarch64 CPU) and with the dot product
 * extension's vdotq_s32 (target "dotprod", chosen at run time where Linux
 * reports HWCAP_ASIMDDP). Both give the portable kernels' floats exactly.
 */
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
