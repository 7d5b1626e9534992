/* qmatmul_x86.c — AVX2 dot products of the ggml weight formats with their
 * q8 activation blocks (qmatmul.c has the portable ones and the layouts).
 * The runtime is built for any x86-64, so these functions carry
 * target("avx2,fma") and are chosen at run time when the CPU has both.
 * The integer work is ggml's: unsigned x signed bytes through
 * _mm256_maddubs_epi16 (signed x signed by moving the sign onto the second
 * operand), pairs to int32 through _mm256_madd_epi16, then one FMA of the
 * block's scale per block (per 256 for the K formats, whose sub-block
 * scales are applied in integers). Sums differ from the portable kernels
 * only by float rounding order. The 32-element formats' kernels live in
 * qmatmul_x86_blocks.h, compiled twice: with maddubs + madd (AVX2) and with
 * AVX-VNNI's vpdpbusd (one instruction for the pair, the same integers);
 * the VNNI set is chosen where the CPU has AVX-VNNI. Their GEMM tiles
 * (rt_qgemm_x86) serve prefill: several activation rows per loaded weight
 * block, with the dot products' floats. For q4_0 and q8_0 the prefill
 * goes through rt_qpack_x86 instead (qmatmul_x86_pack.h: weight rows
 * repacked 8 at a time, the portable kernels' floats).
 */
#include "runtime/ggml_quant.h"
#include "runtime/qmatmul_impl.h"

#include <stdbool.h>
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

TGT static inline float hsum(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* 32 nibbles: bytes 0..15 the low nibbles of p[0..15], 16..31 the high ones */
TGT static inline __m256i nibbles32(const uint8_t *p) {
    __m128i t = _mm_loadu_si128((const __m128i *)p);
    __m256i b = _mm256_insertf128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(b, _mm256_set1_epi8(0xF));
}

/* byte j = 0xFF where bit j of the 32 bits at p is set */
TGT static inline __m256i bits32(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
}

TGT static inline __m256i load(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The GEMM tiles' helpers are inlined and their loops over the tile's rows
 * unrolled, so that the accumulators live in registers. */
#define QG_INLINE static inline __attribute__((always_inline))
#define QG_UNROLL _Pragma("GCC unroll 8")

/* The 32-element formats, twice: AVX2's pair-multiply, then AVX-VNNI's. */
#define QK_TGT TGT
#define QK(name) name##_avx2
#define QK_DOT_ACC(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define QK_VNNI 0
#include "runtime/qmatmul_x86_blocks.h"
#include "runtime/qmatmul_x86_pack.h"
#undef QK_TGT
#undef QK
#undef QK_DOT_ACC
#undef QK_VNNI
#define QK_TGT __attribute__((target("avx2,fma,avxvnni")))
#define QK(name) name##_vnni
#define QK_DOT_ACC(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#define QK_VNNI 1
#include "runtime/qmatmul_x86_blocks.h"
#include "runtime/qmatmul_x86_pack.h"
#undef QK_TGT
#undef QK
#undef QK_DOT_ACC
#undef QK_VNNI

/* q4_K / q5_K: the sub-block scales multiply the int32 sums; the mins go
 * through the activation block's sums of 16 */
TGT static inline float dot_q45_k(const uint8_t *w, const uint8_t *x, int64_t nb, int five) {
    __m256 acc = _mm256_setzero_ps();
    float ms = 0;
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < nb; i++, w += five ? 176 : 144, x += RT_Q8_K_BYTES) {
        int sc[8], mn[8], msum = 0;
        int16_t bs[16];
        memcpy(bs, x + 260, sizeof bs);
        for (int j = 0; j < 8; j++) {
            rt_ggml_scale_min_k4(j, w + 4, &sc[j], &mn[j]);
            msum += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
        }
        const uint8_t *qs = w + (five ? 48 : 16), *y = x + 4;
        __m256i qh = five ? load(w + 16) : _mm256_setzero_si256(), sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i bits = load(qs + 32 * j);
            __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            if (five) {
                __m128i s0 = _mm_cvtsi32_si128(2 * j), s1 = _mm_cvtsi32_si128(2 * j + 1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, s0), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, s1), one), 4));
            }
            __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load(y + 64 * j)), _mm256_set1_epi16((short)sc[2 * j]));
            __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load(y + 64 * j + 32)),
                                           _mm256_set1_epi16((short)sc[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        float dy = rt_qm_f32(x);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w) * dy), _mm256_cvtepi32_ps(sumi), acc);
        ms += rt_qm_f16(w + 2) * dy * (float)msum;
    }
    return hsum(acc) - ms;
}
TGT static float dot_q4_k(const uint8_t *w, const uint8_t *x, int64_t nb) { return dot_q45_k(w, x, nb, 0); }
TGT static float dot_q5_k(const uint8_t *w, const uint8_t *x, int64_t nb) { return dot_q45_k(w, x, nb, 1); }

/* q6_K: 6-bit q (0..63) x y, minus 32 * y, times the int8 scale of each 16 */
TGT static float dot_q6_k(const uint8_t *w, const uint8_t *x, int64_t nb) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3), m32 = _mm256_set1_epi8(32);
    for (int64_t i = 0; i < nb; i++, w += 210, x += RT_Q8_K_BYTES) {
        const int8_t *sc = (const int8_t *)(w + 192);
        const uint8_t *y = x + 4;
        __m256i sumi = _mm256_setzero_si256();
        for (int n = 0; n < 2; n++) {
            __m256i qh = load(w + 128 + 32 * n), ql[2] = {load(w + 64 * n), load(w + 64 * n + 32)};
            for (int k = 0; k < 4; k++) {
                __m256i lo = k < 2 ? _mm256_and_si256(ql[k & 1], m4)
                                   : _mm256_and_si256(_mm256_srli_epi16(ql[k & 1], 4), m4);
                __m256i hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m3);
                __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                __m256i yv = load(y + 128 * n + 32 * k);
                __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, yv), _mm256_maddubs_epi16(m32, yv));
                __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[n * 8 + 2 * k + 1]), _mm_set1_epi16(sc[n * 8 + 2 * k]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w + 208) * rt_qm_f32(x)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

rt_qdot_fn rt_qdot_x86(ir_dtype t, const char *want, const char **name) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return NULL;
    bool vnni = __builtin_cpu_supports("avxvnni");
    rt_qdot_fn f = NULL;
    if (vnni && (!want || !strcmp(want, "avxvnni")) && (f = kernel_vnni(t))) {
        *name = "avxvnni";
        return f;
    }
    if (want && strcmp(want, "avx2")) return NULL;
    switch (t) {
    case IR_Q4_K: f = dot_q4_k; break;
    case IR_Q5_K: f = dot_q5_k; break;
    case IR_Q6_K: f = dot_q6_k; break;
    default: f = kernel_avx2(t); break;
    }
    if (f) *name = "avx2";
    return f;
}

rt_qgemm_fn rt_qgemm_x86(ir_dtype t, const char *set, bool gemv) {
    if (!strcmp(set, "avxvnni")) return gemm_vnni(t, gemv);
    if (!strcmp(set, "avx2")) return gemm_avx2(t, gemv);
    return NULL;
}

const rt_qpack *rt_qpack_x86(ir_dtype t, const char *set) {
    if (getenv("SMELT_QMATMUL_NO_PACK")) return NULL; /* to compare with the tiles of the set's own rounding */
    if (!strcmp(set, "avxvnni")) return packed_vnni(t);
    if (!strcmp(set, "avx2")) return packed_avx2(t);
    return NULL;
}

#else
rt_qdot_fn rt_qdot_x86(ir_dtype t, const char *want, const char **name) {
    (void)t, (void)want, (void)name;
    return NULL;
}
rt_qgemm_fn rt_qgemm_x86(ir_dtype t, const char *set, bool gemv) {
    (void)t, (void)set, (void)gemv;
    return NULL;
}
const rt_qpack *rt_qpack_x86(ir_dtype t, const char *set) {
    (void)t, (void)set;
    return NULL;
}
#endif
