/* qmatmul_x86_blocks.h — the AVX2 products of the 32-element formats
 * (q4_0, q5_0, q8_0; q4_1, q5_1) with their q8 activation blocks, written
 * once and compiled once per pair-multiply: qmatmul_x86.c includes this
 * file with QK_TGT (the function target), QK(name) (the kernel's name),
 * QK_DOT_ACC(acc, u, s) (acc + unsigned bytes u x signed bytes s summed in
 * 8 int32 lanes of 4 adjacent products) and QK_VNNI defined, once as
 * AVX2's maddubs + madd + add and once as AVX-VNNI's vpdpbusd.
 *
 * Everything is one tile: R weight rows x C activation rows, with R and C
 * constants where it is inlined: the dot product (1 x 1), the decode's
 * tile (RT_QGEMV_R x 1: independent accumulators, each activation block
 * loaded once for several rows) and the prefill's (RT_QGEMM_R x
 * RT_QGEMM_C: each weight block unpacked once for several activation
 * rows). Each (weight row, activation row) pair has its own accumulator
 * and takes the same steps in the same order: lane l of a block's integer
 * vector is the exact sum of its 4 products (q4_0 / q5_0 as the unsigned
 * value u = q + off times y, started at -off * (sum of those 4 y); q8_0
 * through the sign trick, or on VNNI as (y + 128) times q started at -128
 * * (sum of 4 q)), one FMA of the block's scale per block, the horizontal
 * sum at the end. So every variant and every tile gives the dot product's
 * floats bit for bit.
 */

#define QG_MAX 4

/* q5's 32 five-bit values: the nibbles with bit j of the 32 bits at qh above */
QK_TGT QG_INLINE __m256i QK(five)(const uint8_t *qh, const uint8_t *qs) {
    return _mm256_or_si256(nibbles32(qs), _mm256_and_si256(bits32(qh), _mm256_set1_epi8(0x10)));
}

/* q4_0 / q5_0 / q8_0 (bits 4, 5, 8): signed weights q = u - off, one scale
 * per block. y[c * ldy + r] = weight row r . activation row c. */
QK_TGT QG_INLINE void QK(tile_x0)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb, int bits,
                                  float *y, int64_t ldy, const int R, const int C) {
    const int wb = bits == 4 ? 18 : bits == 5 ? 22 : 34;
    const __m256i off = _mm256_set1_epi8(bits == 4 ? 8 : bits == 5 ? 16 : (char)0x80), zero = _mm256_setzero_si256();
    const bool flip = bits == 8 && QK_VNNI && C > 1; /* q8_0 on VNNI, several activation rows: (y + 128) x q */
    __m256 acc[QG_MAX][QG_MAX];
    QG_UNROLL
    for (int r = 0; r < R; r++)
        QG_UNROLL
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[QG_MAX], a[QG_MAX];
        float dw[QG_MAX];
        QG_UNROLL
        for (int r = 0; r < R; r++) {
            const uint8_t *wr = w + r * wrow + i * wb;
            q[r] = bits == 4 ? nibbles32(wr + 2) : bits == 5 ? QK(five)(wr + 2, wr + 6) : load(wr + 2);
            /* q8_0: |q| (sign trick) or the start -128 * (sum of 4 q) (VNNI) */
            if (bits == 8) a[r] = flip ? _mm256_sub_epi32(zero, QK_DOT_ACC(zero, off, q[r])) : _mm256_sign_epi8(q[r], q[r]);
            dw[r] = rt_qm_f16(wr);
        }
        QG_UNROLL
        for (int c = 0; c < C; c++) {
            const uint8_t *xc = x + c * xrow + i * RT_Q8_0_BYTES;
            __m256i yv = load(xc + 2), start = zero;
            float dx = rt_qm_f16(xc);
            if (bits != 8) start = _mm256_sub_epi32(zero, QK_DOT_ACC(zero, off, yv)); /* -off * (sum of 4 y) */
            if (flip) yv = _mm256_xor_si256(yv, off);
            QG_UNROLL
            for (int r = 0; r < R; r++) {
                __m256i s = bits != 8 ? QK_DOT_ACC(start, q[r], yv)
                            : flip    ? QK_DOT_ACC(a[r], yv, q[r])
                                      : QK_DOT_ACC(zero, a[r], _mm256_sign_epi8(yv, q[r]));
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dx), _mm256_cvtepi32_ps(s), acc[r][c]);
            }
        }
    }
    QG_UNROLL
    for (int r = 0; r < R; r++)
        QG_UNROLL
        for (int c = 0; c < C; c++) y[c * ldy + r] = hsum(acc[r][c]);
}

/* q4_1 / q5_1: unsigned weights, a scale and a min per block */
QK_TGT QG_INLINE void QK(tile_x1)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb, int bits,
                                  float *y, int64_t ldy, const int R, const int C) {
    const int wb = bits == 4 ? 20 : 24;
    __m256 acc[QG_MAX][QG_MAX];
    float ms[QG_MAX][QG_MAX] = {{0}};
    QG_UNROLL
    for (int r = 0; r < R; r++)
        QG_UNROLL
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[QG_MAX];
        float dw[QG_MAX], mw[QG_MAX];
        QG_UNROLL
        for (int r = 0; r < R; r++) {
            const uint8_t *wr = w + r * wrow + i * wb;
            q[r] = bits == 4 ? nibbles32(wr + 4) : QK(five)(wr + 4, wr + 8);
            dw[r] = rt_qm_f16(wr), mw[r] = rt_qm_f16(wr + 2);
        }
        QG_UNROLL
        for (int c = 0; c < C; c++) {
            const uint8_t *xc = x + c * xrow + i * RT_Q8_1_BYTES;
            __m256i yv = load(xc + 4);
            float dx = rt_qm_f16(xc), sx = rt_qm_f16(xc + 2);
            QG_UNROLL
            for (int r = 0; r < R; r++) {
                __m256 p = _mm256_cvtepi32_ps(QK_DOT_ACC(_mm256_setzero_si256(), q[r], yv));
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dx), p, acc[r][c]);
                ms[r][c] += mw[r] * sx;
            }
        }
    }
    QG_UNROLL
    for (int r = 0; r < R; r++)
        QG_UNROLL
        for (int c = 0; c < C; c++) y[c * ldy + r] = hsum(acc[r][c]) + ms[r][c];
}
#undef QG_MAX

/* per format: the dot product, the prefill's tile and the decode's */
#define QK_FORMAT(name, kind, bits)                                                                                \
    QK_TGT static float QK(dot_##name)(const uint8_t *w, const uint8_t *x, int64_t nb) {                          \
        float y;                                                                                                   \
        QK(kind)(w, 0, x, 0, nb, bits, &y, 0, 1, 1);                                                               \
        return y;                                                                                                  \
    }                                                                                                              \
    QK_TGT static void QK(gemm_##name)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb,   \
                                       float *y, int64_t ldy) {                                                    \
        QK(kind)(w, wrow, x, xrow, nb, bits, y, ldy, RT_QGEMM_R, RT_QGEMM_C);                                      \
    }                                                                                                              \
    QK_TGT static void QK(gemv_##name)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb,   \
                                       float *y, int64_t ldy) {                                                    \
        QK(kind)(w, wrow, x, xrow, nb, bits, y, ldy, RT_QGEMV_R, 1);                                               \
    }
QK_FORMAT(q4_0, tile_x0, 4)
QK_FORMAT(q5_0, tile_x0, 5)
QK_FORMAT(q8_0, tile_x0, 8)
QK_FORMAT(q4_1, tile_x1, 4)
QK_FORMAT(q5_1, tile_x1, 5)
#undef QK_FORMAT

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

/* the tiles of this file for t: the prefill's (gemv false) or the decode's */
static rt_qgemm_fn QK(gemm)(ir_dtype t, bool gemv) {
    switch (t) {
    case IR_Q4_0: return gemv ? QK(gemv_q4_0) : QK(gemm_q4_0);
    case IR_Q4_1: return gemv ? QK(gemv_q4_1) : QK(gemm_q4_1);
    case IR_Q5_0: return gemv ? QK(gemv_q5_0) : QK(gemm_q5_0);
    case IR_Q5_1: return gemv ? QK(gemv_q5_1) : QK(gemm_q5_1);
    case IR_Q8_0: return gemv ? QK(gemv_q8_0) : QK(gemm_q8_0);
    default: return NULL;
    }
}
