/* qmatmul_x86_blocks.h — the AVX2 dot products of the 32-element formats
 * (q4_0, q5_0, q8_0; q4_1, q5_1) with their q8 activation blocks, written
 * once and compiled once per pair-multiply: qmatmul_x86.c includes this
 * file with QK_TGT (the function target), QK(name) (the kernel's name) and
 * QK_DOT_US(u, s) (unsigned bytes u x signed bytes s -> 8 int32 sums of 4
 * adjacent products) defined, once as AVX2's maddubs + madd pair and once
 * as AVX-VNNI's vpdpbusd. The integer sums are exact either way, so the
 * variants give equal floats.
 */

/* signed x signed: the sign moves onto the second operand */
QK_TGT static inline __m256i QK(dot_ss)(__m256i a, __m256i b) {
    return QK_DOT_US(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

/* q4_0 / q5_0 / q8_0 (bits 4, 5, 8): signed weights, one scale per block */
QK_TGT static inline float QK(dot_x0)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 18 : bits == 5 ? 22 : 34;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_0_BYTES) {
        __m256i q;
        if (bits == 4)
            q = _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8));
        else if (bits == 5) /* q - 16: the nibble with 0xF0 above it where the fifth bit is clear */
            q = _mm256_or_si256(nibbles32(w + 6), _mm256_andnot_si256(bits32(w + 2), _mm256_set1_epi8((char)0xF0)));
        else
            q = load(w + 2);
        __m256 p = _mm256_cvtepi32_ps(QK(dot_ss)(q, load(x + 2)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w) * rt_qm_f16(x)), p, acc);
    }
    return hsum(acc);
}

/* q4_1 / q5_1: unsigned weights, a scale and a min per block */
QK_TGT static inline float QK(dot_x1)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 20 : 24;
    __m256 acc = _mm256_setzero_ps();
    float ms = 0;
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_1_BYTES) {
        __m256i q = bits == 4 ? nibbles32(w + 4)
                              : _mm256_or_si256(nibbles32(w + 8), _mm256_and_si256(bits32(w + 4), _mm256_set1_epi8(0x10)));
        __m256 p = _mm256_cvtepi32_ps(QK_DOT_US(q, load(x + 4)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w) * rt_qm_f16(x)), p, acc);
        ms += rt_qm_f16(w + 2) * rt_qm_f16(x + 2);
    }
    return hsum(acc) + ms;
}

QK_TGT static float QK(dot_q4_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 4); }
QK_TGT static float QK(dot_q5_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 5); }
QK_TGT static float QK(dot_q8_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 8); }
QK_TGT static float QK(dot_q4_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x1)(w, x, nb, 4); }
QK_TGT static float QK(dot_q5_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x1)(w, x, nb, 5); }

/* the kernels of this file for t, or NULL */
static rt_qdot_fn QK(kernel)(ir_dtype t) {
    switch (t) {
    case IR_Q4_0: return QK(dot_q4_0);
    case IR_Q4_1: return QK(dot_q4_1);
    case IR_Q5_0: return QK(dot_q5_0);
    case IR_Q5_1: return QK(dot_q5_1);
    case IR_Q8_0: return QK(dot_q8_0);
    default: return NULL;
    }
}
