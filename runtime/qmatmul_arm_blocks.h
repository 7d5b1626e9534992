/* qmatmul_arm_blocks.h — the NEON dot products of q8_0, q4_0 and q4_1 with
 * their q8 activation blocks, written once and compiled once per int8
 * multiply-accumulate: qmatmul_arm.c includes this file with QA_TGT (the
 * function target), QA(name) (the kernel's name) and QA_DOT(acc, a, b)
 * (acc, int32x4, plus the products of the int8x16 a and b, in any grouping)
 * defined: vmull + vpadal (plain NEON) and vdotq_s32 (the dot product
 * extension). Each block's integer sum is reduced and added with the
 * portable kernels' rounding (rt_qm_x0 / rt_qm_x1), so every variant gives
 * the portable floats exactly.
 */

/* the integer sum of one block: lo . y[0..15] + hi . y[16..31] */
QA_TGT static inline int QA(sum32)(int8x16_t lo, int8x16_t hi, const uint8_t *y) {
    int32x4_t acc = QA_DOT(vdupq_n_s32(0), lo, vld1q_s8((const int8_t *)y));
    return vaddvq_s32(QA_DOT(acc, hi, vld1q_s8((const int8_t *)y + 16)));
}

QA_TGT static float QA(dot_q8_0)(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 34, x += RT_Q8_0_BYTES)
        sum += rt_qm_x0(QA(sum32)(vld1q_s8((const int8_t *)w + 2), vld1q_s8((const int8_t *)w + 18), x + 2), w, x);
    return sum;
}

QA_TGT static float QA(dot_q4_0)(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    const int8x16_t eight = vdupq_n_s8(8);
    for (int64_t i = 0; i < nb; i++, w += 18, x += RT_Q8_0_BYTES) {
        uint8x16_t b = vld1q_u8(w + 2);
        int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(0xF))), eight);
        int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), eight);
        sum += rt_qm_x0(QA(sum32)(lo, hi, x + 2), w, x);
    }
    return sum;
}

QA_TGT static float QA(dot_q4_1)(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 20, x += RT_Q8_1_BYTES) {
        uint8x16_t b = vld1q_u8(w + 4);
        int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(0xF))), hi = vreinterpretq_s8_u8(vshrq_n_u8(b, 4));
        sum += rt_qm_x1(QA(sum32)(lo, hi, x + 4), w, x);
    }
    return sum;
}

/* the kernels of this file for t, or NULL */
static rt_qdot_fn QA(kernel)(ir_dtype t) {
    switch (t) {
    case IR_Q4_0: return QA(dot_q4_0);
    case IR_Q4_1: return QA(dot_q4_1);
    case IR_Q8_0: return QA(dot_q8_0);
    default: return NULL;
    }
}
