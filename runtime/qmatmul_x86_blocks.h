/* qmatmul_x86_blocks.h — the AVX2 dot products of the 32-element formats
 * (q4_0, q5_0, q8_0; q4_1, q5_1) with their q8 activation blocks, written
 * once and compiled once per pair-multiply: qmatmul_x86.c includes this
 * file with QK_TGT (the function target), QK(name) (the kernel's name) and
 * QK_DOT_US(u, s) (unsigned bytes u x signed bytes s -> 8 int32 sums of 4
 * adjacent products) defined, once as AVX2's maddubs + madd pair and once
 * as AVX-VNNI's vpdpbusd. The integer sums are exact either way, so the
 * variants give equal floats. Each format has a dot product (one weight
 * row x one activation row: decode) and a GEMM tile (several of each:
 * prefill) that gives the dot product's floats.
 */

/* signed x signed: the sign moves onto the second operand */
QK_TGT static inline __m256i QK(dot_ss)(__m256i a, __m256i b) {
    return QK_DOT_US(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

/* q4_0 / q5_0 / q8_0 (bits 4, 5, 8): signed weights, one scale per block */
QK_TGT QG_INLINE __m256i QK(unpack_x0)(const uint8_t *w, int bits) {
    if (bits == 4) return _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8));
    if (bits == 5) /* q - 16: the nibble with 0xF0 above it where the fifth bit is clear */
        return _mm256_or_si256(nibbles32(w + 6), _mm256_andnot_si256(bits32(w + 2), _mm256_set1_epi8((char)0xF0)));
    return load(w + 2);
}

QK_TGT static inline float QK(dot_x0)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 18 : bits == 5 ? 22 : 34;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_0_BYTES) {
        __m256 p = _mm256_cvtepi32_ps(QK(dot_ss)(QK(unpack_x0)(w, bits), load(x + 2)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w) * rt_qm_f16(x)), p, acc);
    }
    return hsum(acc);
}

/* q4_1 / q5_1: unsigned weights, a scale and a min per block */
QK_TGT QG_INLINE __m256i QK(unpack_x1)(const uint8_t *w, int bits) {
    return bits == 4 ? nibbles32(w + 4)
                     : _mm256_or_si256(nibbles32(w + 8), _mm256_and_si256(bits32(w + 4), _mm256_set1_epi8(0x10)));
}

QK_TGT static inline float QK(dot_x1)(const uint8_t *w, const uint8_t *x, int64_t nb, int bits) {
    const int wb = bits == 4 ? 20 : 24;
    __m256 acc = _mm256_setzero_ps();
    float ms = 0;
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_1_BYTES) {
        __m256 p = _mm256_cvtepi32_ps(QK_DOT_US(QK(unpack_x1)(w, bits), load(x + 4)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rt_qm_f16(w) * rt_qm_f16(x)), p, acc);
        ms += rt_qm_f16(w + 2) * rt_qm_f16(x + 2);
    }
    return hsum(acc) + ms;
}

/* The GEMM tiles: RT_QGEMM_R weight rows (wrow bytes apart) x RT_QGEMM_C
 * activation rows (xrow bytes apart), y[c * ldy + r]. Each weight block is
 * unpacked once for all C rows; every (r, c) pair takes dot_x0's / dot_x1's
 * steps in their order (the same integer vector, the same FMA into its own
 * accumulator, the same horizontal sum), so each result equals the dot
 * kernel's bit for bit. */
#define QG_R RT_QGEMM_R
#define QG_C RT_QGEMM_C
QK_TGT QG_INLINE void QK(gemm_x0)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb,
                                      int bits, float *y, int64_t ldy) {
    const int wb = bits == 4 ? 18 : bits == 5 ? 22 : 34;
    __m256 acc[QG_R][QG_C];
    QG_UNROLL
    for (int r = 0; r < QG_R; r++)
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[QG_R], a[QG_R];
        float dw[QG_R];
        QG_UNROLL
        for (int r = 0; r < QG_R; r++) {
            const uint8_t *wr = w + r * wrow + i * wb;
            q[r] = QK(unpack_x0)(wr, bits);
            a[r] = _mm256_sign_epi8(q[r], q[r]);
            dw[r] = rt_qm_f16(wr);
        }
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) {
            const uint8_t *xc = x + c * xrow + i * RT_Q8_0_BYTES;
            __m256i yv = load(xc + 2);
            float dx = rt_qm_f16(xc);
            QG_UNROLL
            for (int r = 0; r < QG_R; r++) {
                __m256 p = _mm256_cvtepi32_ps(QK_DOT_US(a[r], _mm256_sign_epi8(yv, q[r])));
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dx), p, acc[r][c]);
            }
        }
    }
    QG_UNROLL
    for (int r = 0; r < QG_R; r++)
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) y[c * ldy + r] = hsum(acc[r][c]);
}

QK_TGT QG_INLINE void QK(gemm_x1)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb,
                                      int bits, float *y, int64_t ldy) {
    const int wb = bits == 4 ? 20 : 24;
    __m256 acc[QG_R][QG_C];
    float ms[QG_R][QG_C] = {{0}};
    QG_UNROLL
    for (int r = 0; r < QG_R; r++)
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[QG_R];
        float dw[QG_R], mw[QG_R];
        QG_UNROLL
        for (int r = 0; r < QG_R; r++) {
            const uint8_t *wr = w + r * wrow + i * wb;
            q[r] = QK(unpack_x1)(wr, bits);
            dw[r] = rt_qm_f16(wr), mw[r] = rt_qm_f16(wr + 2);
        }
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) {
            const uint8_t *xc = x + c * xrow + i * RT_Q8_1_BYTES;
            __m256i yv = load(xc + 4);
            float dx = rt_qm_f16(xc), sx = rt_qm_f16(xc + 2);
            QG_UNROLL
            for (int r = 0; r < QG_R; r++) {
                __m256 p = _mm256_cvtepi32_ps(QK_DOT_US(q[r], yv));
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dx), p, acc[r][c]);
                ms[r][c] += mw[r] * sx;
            }
        }
    }
    QG_UNROLL
    for (int r = 0; r < QG_R; r++)
        QG_UNROLL
        for (int c = 0; c < QG_C; c++) y[c * ldy + r] = hsum(acc[r][c]) + ms[r][c];
}
#undef QG_R
#undef QG_C

QK_TGT static float QK(dot_q4_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 4); }
QK_TGT static float QK(dot_q5_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 5); }
QK_TGT static float QK(dot_q8_0)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x0)(w, x, nb, 8); }
QK_TGT static float QK(dot_q4_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x1)(w, x, nb, 4); }
QK_TGT static float QK(dot_q5_1)(const uint8_t *w, const uint8_t *x, int64_t nb) { return QK(dot_x1)(w, x, nb, 5); }

#define QK_GEMM(name, kind, bits)                                                                                  \
    QK_TGT static void QK(name)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb, float *y,  \
                                int64_t ldy) {                                                                       \
        QK(kind)(w, wrow, x, xrow, nb, bits, y, ldy);                                                                \
    }
QK_GEMM(gemm_q4_0, gemm_x0, 4)
QK_GEMM(gemm_q5_0, gemm_x0, 5)
QK_GEMM(gemm_q8_0, gemm_x0, 8)
QK_GEMM(gemm_q4_1, gemm_x1, 4)
QK_GEMM(gemm_q5_1, gemm_x1, 5)
#undef QK_GEMM

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

static rt_qgemm_fn QK(gemm)(ir_dtype t) {
    switch (t) {
    case IR_Q4_0: return QK(gemm_q4_0);
    case IR_Q4_1: return QK(gemm_q4_1);
    case IR_Q5_0: return QK(gemm_q5_0);
    case IR_Q5_1: return QK(gemm_q5_1);
    case IR_Q8_0: return QK(gemm_q8_0);
    default: return NULL;
    }
}
