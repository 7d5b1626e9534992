/* qmatmul_x86_pack.h — the prefill's GEMM over weight rows repacked eight
 * at a time, for the 32-element formats (q4_0, q4_1, q5_0, q5_1, q8_0):
 * qmatmul_x86.c includes this file twice,
 * like qmatmul_x86_blocks.h (QK_TGT, QK(name), QK_DOT_ACC, QK_VNNI).
 *
 * The driver (qmatmul.c) copies each tile of weight rows into a small
 * buffer (a few KB, in L1 while every activation row passes over it) in
 * which the 8 rows of a group are interleaved 4 bytes at a time: lane r of
 * a 32-byte vector holds 4 consecutive values of row r. One pair-multiply
 * of such a vector with 4 activation bytes broadcast to every lane adds 4
 * products to each of the 8 rows' sums, so a block's 8 integer sums come
 * out in one register without a horizontal sum, and its scales apply to 8
 * rows with one convert, one multiply and one add (ggml's repacked
 * q4_0_8x8 kernels work the same way). The integer sums are exact and the
 * floats are added as the portable kernels add them, (float)s * (dw * dx)
 * per block in block order, so every product equals the portable dot
 * product bit for bit.
 *
 * Group layout per block: 8 f32 scales (the f16 d of each row; q4_1 and
 * q5_1 then 8 f32 mins), then
 *   q4_0, q4_1: 4 vectors; byte 4r + t of vector j is byte 4j + t of row
 *         r's 16 nibble bytes: its low nibble element 4j + t, its high
 *         nibble element 16 + 4j + t (u = q + 8 for q4_0);
 *   q5_0, q5_1: 8 vectors of the 5-bit values u (q + 16 for q5_0); byte
 *         4r + t of vector j is element 4j + t of row r;
 *   q8_0 (VNNI only: AVX2's maddubs would saturate): 8 int32 starts -128 *
 *         (sum of the row's 32 q), then 8 vectors as q5's, of q.
 * q4_0's and q5_0's sums start at -off * (the activation block's sum),
 * which prep computes once per call; for q8_0 prep flips the activations to
 * y + 128 (unsigned) instead.
 */

#ifndef QP_SHARED /* the part that does not depend on the instruction set, once */
#define QP_SHARED
#define QP_ROWS RT_QPACK_ROWS

/* the formats: weight block bytes, nibbles or bytes, offset, min */
enum { QP_Q4_0, QP_Q4_1, QP_Q5_0, QP_Q5_1, QP_Q8_0 };
#define QP_WBYTES(k) ((k) == QP_Q4_0 ? 18 : (k) == QP_Q4_1 ? 20 : (k) == QP_Q5_0 ? 22 : (k) == QP_Q5_1 ? 24 : 34)
#define QP_NIB(k) ((k) == QP_Q4_0 || (k) == QP_Q4_1)
#define QP_MIN(k) ((k) == QP_Q4_1 || (k) == QP_Q5_1)
#define QP_OFF(k) ((k) == QP_Q4_0 ? 8 : (k) == QP_Q5_0 ? 16 : 0)
#define QP_HEAD(k) (QP_MIN(k) || (k) == QP_Q8_0 ? 64 : 32)
#define QP_BYTES(k) (QP_HEAD(k) + (QP_NIB(k) ? 128 : 256))
#define QP_XBYTES(k) (QP_MIN(k) ? RT_Q8_1_BYTES : RT_Q8_0_BYTES)
#define QP_XQ(k) (QP_MIN(k) ? 4 : 2) /* the activation values' offset in their block */
#endif

/* element e (0..31) of a q5 block: its nibble and bit e of qh */
static inline uint8_t QK(q5_at)(const uint8_t *qh, const uint8_t *qs, int e) {
    uint32_t h;
    memcpy(&h, qh, 4);
    return (uint8_t)(((e < 16 ? qs[e] : qs[e - 16] >> 4) & 0xF) | ((h >> e) & 1) << 4);
}

QK_TGT QG_INLINE void QK(pack)(const uint8_t *w, size_t wrow, int rows, int64_t nb, uint8_t *dst, const int kind) {
    const int wb = QP_WBYTES(kind), head = QP_HEAD(kind);
    memset(dst, 0, (size_t)nb * QP_BYTES(kind));
    for (int64_t i = 0; i < nb; i++, dst += QP_BYTES(kind)) {
        float d[QP_ROWS] = {0}, mn[QP_ROWS] = {0};
        int32_t start[QP_ROWS] = {0};
        for (int r = 0; r < rows; r++) {
            const uint8_t *b = w + r * wrow + i * wb;
            d[r] = rt_qm_f16(b);
            if (QP_MIN(kind)) mn[r] = rt_qm_f16(b + 2);
            for (int j = 0; QP_NIB(kind) && j < 4; j++) memcpy(dst + head + 32 * j + 4 * r, b + wb - 16 + 4 * j, 4);
            for (int e = 0; !QP_NIB(kind) && e < 32; e++) {
                const uint8_t *qs = b + wb - (kind == QP_Q8_0 ? 32 : 16);
                uint8_t u = kind == QP_Q8_0 ? qs[e] : QK(q5_at)(qs - 4, qs, e);
                dst[head + 32 * (e / 4) + 4 * r + e % 4] = u;
                start[r] -= kind == QP_Q8_0 ? 128 * (int8_t)u : 0;
            }
        }
        memcpy(dst, d, sizeof d);
        if (QP_MIN(kind)) memcpy(dst + 32, mn, sizeof mn);
        if (kind == QP_Q8_0) memcpy(dst + 32, start, sizeof start);
    }
}

/* q4_0, q5_0: aux[row * nb + i] = -off * (sum of activation block i's 32
 * values); q8_0: the activations as unsigned y + 128 (bytes xor 0x80) */
QK_TGT QG_INLINE void QK(prep)(uint8_t *xq, size_t xrow, int64_t m, int64_t nb, int32_t *aux, const int kind) {
    const __m256i ones = _mm256_set1_epi8(1), zero = _mm256_setzero_si256(), flip = _mm256_set1_epi8((char)0x80);
    for (int64_t r = 0; r < m && !QP_MIN(kind); r++)
        for (int64_t i = 0; i < nb; i++) {
            uint8_t *q = xq + r * xrow + i * RT_Q8_0_BYTES + 2;
            if (kind == QP_Q8_0) {
                _mm256_storeu_si256((__m256i *)q, _mm256_xor_si256(load(q), flip));
                continue;
            }
            __m256i s = QK_DOT_ACC(zero, ones, load(q));
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
            aux[r * nb + i] = -QP_OFF(kind) * _mm_cvtsi128_si32(h);
        }
}

/* 8 packed rows x C activation rows: y[c * ldy + r]. Two integer chains
 * per activation row (even and odd vectors), so that the dependent
 * pair-multiplies overlap. */
QK_TGT QG_INLINE void QK(p8)(const uint8_t *pw, const uint8_t *x, size_t xrow, const int32_t *aux, int64_t nb,
                             float *y, int64_t ldy, const int C, const int kind) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const int head = QP_HEAD(kind), xb = QP_XBYTES(kind);
    __m256 acc[4];
    QG_UNROLL
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, pw += QP_BYTES(kind)) {
        __m256i s[4], t[4];
        QG_UNROLL
        for (int c = 0; c < C; c++) {
            s[c] = kind == QP_Q8_0 ? load(pw + 32)
                   : QP_OFF(kind) ? _mm256_set1_epi32(aux[c * nb + i])
                                  : _mm256_setzero_si256();
            t[c] = _mm256_setzero_si256();
        }
        QG_UNROLL
        for (int j = 0; j < 8; j += 2) {
            __m256i v0, v1;
            if (QP_NIB(kind)) {
                __m256i p = load(pw + head + 16 * j);
                v0 = _mm256_and_si256(p, m4), v1 = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
            } else {
                v0 = load(pw + head + 32 * j), v1 = load(pw + head + 32 * j + 32);
            }
            /* the activation bytes of v0 and v1: nibbles pair element e with e + 16 */
            const int e0 = QP_NIB(kind) ? 2 * j : 4 * j, e1 = QP_NIB(kind) ? 16 + 2 * j : 4 * j + 4;
            QG_UNROLL
            for (int c = 0; c < C; c++) {
                const uint8_t *yq = x + c * xrow + i * xb + QP_XQ(kind);
                int32_t a, b;
                memcpy(&a, yq + e0, 4);
                memcpy(&b, yq + e1, 4);
                if (kind == QP_Q8_0) {
                    s[c] = QK_DOT_ACC(s[c], _mm256_set1_epi32(a), v0);
                    t[c] = QK_DOT_ACC(t[c], _mm256_set1_epi32(b), v1);
                } else {
                    s[c] = QK_DOT_ACC(s[c], v0, _mm256_set1_epi32(a));
                    t[c] = QK_DOT_ACC(t[c], v1, _mm256_set1_epi32(b));
                }
            }
        }
        __m256 dw = _mm256_loadu_ps((const float *)pw);
        QG_UNROLL
        for (int c = 0; c < C; c++) {
            const uint8_t *xc = x + c * xrow + i * xb;
            __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(rt_qm_f16(xc)));
            __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s[c], t[c])), d);
            if (QP_MIN(kind)) p = _mm256_add_ps(p, _mm256_mul_ps(_mm256_loadu_ps((const float *)(pw + 32)),
                                                                 _mm256_set1_ps(rt_qm_f16(xc + 2))));
            acc[c] = _mm256_add_ps(acc[c], p);
        }
    }
    QG_UNROLL
    for (int c = 0; c < C; c++) _mm256_storeu_ps(y + c * ldy, acc[c]);
}

/* ---- the table ---- */

#define QP_FORMAT(name, kind)                                                                                      \
    QK_TGT static void QK(pack_##name)(const uint8_t *w, size_t wrow, int rows, int64_t nb, uint8_t *dst) {        \
        QK(pack)(w, wrow, rows, nb, dst, kind);                                                                    \
    }                                                                                                              \
    QK_TGT static void QK(prep_##name)(uint8_t *xq, size_t xrow, int64_t m, int64_t nb, int32_t *aux) {            \
        QK(prep)(xq, xrow, m, nb, aux, kind);                                                                      \
    }                                                                                                              \
    QP_COLS(name, kind, 1) QP_COLS(name, kind, 2) QP_COLS(name, kind, 3) QP_COLS(name, kind, 4)                    \
    static const rt_qpack QK(packed_##name) = {                                                                    \
        QP_BYTES(kind), QK(pack_##name), QK(prep_##name),                                                          \
        {QK(p8_##name##_1), QK(p8_##name##_2), QK(p8_##name##_3), QK(p8_##name##_4)}};
#define QP_COLS(name, kind, C)                                                                                     \
    QK_TGT static void QK(p8_##name##_##C)(const uint8_t *pw, const uint8_t *x, size_t xrow, const int32_t *aux,   \
                                           int64_t nb, float *y, int64_t ldy) {                                    \
        QK(p8)(pw, x, xrow, aux, nb, y, ldy, C, kind);                                                             \
    }
QP_FORMAT(q4_0, QP_Q4_0)
QP_FORMAT(q4_1, QP_Q4_1)
QP_FORMAT(q5_0, QP_Q5_0)
QP_FORMAT(q5_1, QP_Q5_1)
#if QK_VNNI
QP_FORMAT(q8_0, QP_Q8_0)
#endif
#undef QP_FORMAT
#undef QP_COLS

/* the packed GEMM of this file for t, or NULL */
static const rt_qpack *QK(packed)(ir_dtype t) {
    switch (t) {
    case IR_Q4_0: return &QK(packed_q4_0);
    case IR_Q4_1: return &QK(packed_q4_1);
    case IR_Q5_0: return &QK(packed_q5_0);
    case IR_Q5_1: return &QK(packed_q5_1);
#if QK_VNNI
    case IR_Q8_0: return &QK(packed_q8_0);
#endif
    default: return NULL;
    }
}
