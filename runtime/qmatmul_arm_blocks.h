/* qmatmul_arm_blocks.h — the NEON dot products of q4_0, q5_0, q8_0, q4_1,
 * q5_1 and q4_K with their q8 activation blocks, written once and compiled
 * once per int8 multiply-accumulate: qmatmul_arm.c includes this file with
 * QA_TGT (the function target), QA(name) (the kernel's name) and
 * QA_DOT(acc, a, b) (acc, int32x4, plus the products of the int8x16 a and
 * b, in any grouping) defined: vmull + vpadal (plain NEON) and vdotq_s32
 * (the dot product extension). Each block's integer sum is reduced and
 * added with the portable kernels' rounding (rt_qm_x0 / rt_qm_x1 /
 * rt_qm_k4), so every variant gives the portable floats exactly.
 */

/* the integer sum of 32 products: lo . y[0..15] + hi . y[16..31] */
QA_TGT static inline int QA(sum32)(int8x16_t lo, int8x16_t hi, const uint8_t *y) {
    int32x4_t acc = QA_DOT(vdupq_n_s32(0), lo, vld1q_s8((const int8_t *)y));
    return vaddvq_s32(QA_DOT(acc, hi, vld1q_s8((const int8_t *)y + 16)));
}

/* q4_0 / q5_0 / q8_0 (bits 4, 5, 8): signed weights, one scale per block */
QA_TGT static inline float QA(dot_x0)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 18 : bits == 5 ? 22 : 34;
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_0_BYTES) {
        int8x16_t lo, hi;
        weights32(w, bits, true, &lo, &hi);
        sum += rt_qm_x0(QA(sum32)(lo, hi, x + 2), w, x);
    }
    return sum;
}

/* q4_1 / q5_1: unsigned weights, a scale and a min per block */
QA_TGT static inline float QA(dot_x1)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 20 : 24;
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_1_BYTES) {
        int8x16_t lo, hi;
        weights32(w + 2, bits, false, &lo, &hi);
        sum += rt_qm_x1(QA(sum32)(lo, hi, x + 4), w, x);
    }
    return sum;
}

/* q4_K: 8 sub-blocks of 32 (the low, then the high nibbles of 32 bytes),
 * each with a 6-bit scale and min */
QA_TGT static float QA(dot_q4_k)(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 144, x += RT_Q8_K_BYTES) {
        int16_t bs[16];
        memcpy(bs, x + 260, sizeof bs);
        int isum = 0, msum = 0;
        for (int j = 0; j < 8; j += 2) {
            int sc0, m0, sc1, m1;
            rt_ggml_scale_min_k4(j, w + 4, &sc0, &m0);
            rt_ggml_scale_min_k4(j + 1, w + 4, &sc1, &m1);
            msum += m0 * (bs[2 * j] + bs[2 * j + 1]) + m1 * (bs[2 * j + 2] + bs[2 * j + 3]);
            uint8x16_t b0 = vld1q_u8(w + 16 + 16 * j), b1 = vld1q_u8(w + 32 + 16 * j), m4 = vdupq_n_u8(0xF);
            int slo = QA(sum32)(vreinterpretq_s8_u8(vandq_u8(b0, m4)), vreinterpretq_s8_u8(vandq_u8(b1, m4)), x + 4 + 32 * j);
            int shi = QA(sum32)(vreinterpretq_s8_u8(vshrq_n_u8(b0, 4)), vreinterpretq_s8_u8(vshrq_n_u8(b1, 4)),
                                x + 36 + 32 * j);
            isum += sc0 * slo + sc1 * shi;
        }
        sum += rt_qm_k4(isum, msum, w, x);
    }
    return sum;
}

QA_TGT static float QA(dot_q4_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QA(dot_x0)(w, x, nb, 4); }
QA_TGT static float QA(dot_q5_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QA(dot_x0)(w, x, nb, 5); }
QA_TGT static float QA(dot_q8_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QA(dot_x0)(w, x, nb, 8); }
QA_TGT static float QA(dot_q4_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QA(dot_x1)(w, x, nb, 4); }
QA_TGT static float QA(dot_q5_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QA(dot_x1)(w, x, nb, 5); }

/* the kernels of this file for t, or NULL */
static rt_qdot_fn QA(kernel)(ir_dtype t) {
    switch (t) {
    case IR_Q4_0: return QA(dot_q4_0);
    case IR_Q4_1: return QA(dot_q4_1);
    case IR_Q5_0: return QA(dot_q5_0);
    case IR_Q5_1: return QA(dot_q5_1);
    case IR_Q8_0: return QA(dot_q8_0);
    case IR_Q4_K: return QA(dot_q4_k);
    default: return NULL;
    }
}
