/* ggml_quant.c — decode and encode ggml's block formats (see ggml_quant.h).
 *
 * One function per format and direction, each over one block, following the
 * layouts of ggml-common.h and the arithmetic of ggml-quants.c's reference
 * paths, so that a value decodes to the same float bits as ggml (and the
 * gguf Python package) produce. Products and sums are kept in separate
 * statements so that no compiler contracts them into fused multiply-adds
 * (which would round differently from ggml's reference).
 */
#include "ggml_quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "half.h"

#define QK 32     /* elements of a Q4_0 .. Q8_0 block */
#define QK_K 256  /* elements of a K-quant super-block */

static float half_at(const uint8_t *p) { return rt_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static void put_half(uint8_t *p, float x) {
    uint16_t h = rt_f32_to_f16(x);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}
static uint32_t u32_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* y = d * q, q a small integer */
static float scale(float d, int q) { return d * (float)q; }
/* y = d * q - m, rounded after the product as ggml does */
static float scale_sub(float d, int q, float m) {
    float p = d * (float)q;
    return p - m;
}
static float scale_add(float d, int q, float m) {
    float p = d * (float)q;
    return p + m;
}

/* ---- 32-element blocks ---------------------------------------------------- */

/* q4_0: f16 d, 16 bytes of nibbles: element j low nibble, element j+16 high;
 * x = d * (q - 8) */
static void dq_q4_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    for (int j = 0; j < QK / 2; j++) {
        y[j] = scale(d, (b[2 + j] & 0xF) - 8);
        y[j + QK / 2] = scale(d, (b[2 + j] >> 4) - 8);
    }
}

/* q4_1: f16 d, f16 m, 16 bytes of nibbles; x = d * q + m */
static void dq_q4_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    for (int j = 0; j < QK / 2; j++) {
        y[j] = scale_add(d, b[4 + j] & 0xF, m);
        y[j + QK / 2] = scale_add(d, b[4 + j] >> 4, m);
    }
}

/* the fifth bits of q5_0 / q5_1: bit j of the u32 qh is element j's */
static void q5_values(const uint8_t *qh, const uint8_t *qs, int q[QK]) {
    uint32_t h = u32_at(qh);
    for (int j = 0; j < QK / 2; j++) {
        q[j] = (qs[j] & 0xF) | (int)((h >> j) & 1) << 4;
        q[j + QK / 2] = (qs[j] >> 4) | (int)((h >> (j + QK / 2)) & 1) << 4;
    }
}

/* q5_0: f16 d, u32 qh, 16 bytes of nibbles; x = d * (q - 16) */
static void dq_q5_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    int q[QK];
    q5_values(b + 2, b + 6, q);
    for (int j = 0; j < QK; j++) y[j] = scale(d, q[j] - 16);
}

/* q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles; x = d * q + m */
static void dq_q5_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    int q[QK];
    q5_values(b + 4, b + 8, q);
    for (int j = 0; j < QK; j++) y[j] = scale_add(d, q[j], m);
}

/* q8_0: f16 d, 32 int8; x = d * q */
static void dq_q8_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    for (int j = 0; j < QK; j++) y[j] = scale(d, (int8_t)b[2 + j]);
}

/* ---- 256-element super-blocks --------------------------------------------- */

/* q2_k: 16 scale bytes (low nibble scale, high nibble min, one per 16
 * elements), 64 bytes of 2-bit values, f16 d, f16 dmin. Each 32 bytes of qs
 * hold 128 elements: shift 2s of byte l gives element 32 s + l. */
static void dq_q2_k(const uint8_t *b, float *y) {
    const uint8_t *sc = b, *qs = b + 16;
    float d = half_at(b + 80), dmin = half_at(b + 82);
    for (int n = 0; n < QK_K / 128; n++)
        for (int s = 0; s < 4; s++)
            for (int h = 0; h < 2; h++) { /* 16 elements with one scale */
                int is = n * 8 + s * 2 + h;
                float dl = d * (float)(sc[is] & 0xF), ml = dmin * (float)(sc[is] >> 4);
                for (int l = 0; l < 16; l++)
                    y[n * 128 + s * 32 + h * 16 + l] = scale_sub(dl, (qs[n * 32 + h * 16 + l] >> (2 * s)) & 3, ml);
            }
}

/* q3_k: 32 bytes hmask (bit i of byte l: the high bit of element 32 i + l),
 * 64 bytes of low 2-bit values (as q2_k), 12 bytes of 16 six-bit scales,
 * f16 d. x = d * (scale - 32) * (low - (high ? 0 : 4)). */
static void dq_q3_k(const uint8_t *b, float *y) {
    const uint8_t *hm = b, *qs = b + 32, *sc = b + 96;
    float d = half_at(b + 108);
    for (int n = 0; n < QK_K / 128; n++)
        for (int s = 0; s < 4; s++)
            for (int h = 0; h < 2; h++) {
                int is = n * 8 + s * 2 + h;
                /* scale is: low 4 bits from bytes 0..7 (nibble is / 8), high 2
                 * bits from bytes 8..11 (pair is / 4) */
                int lo = (sc[is % 8] >> (4 * (is / 8))) & 0xF, hi = (sc[8 + is % 4] >> (2 * (is / 4))) & 3;
                float dl = d * (float)((lo | hi << 4) - 32);
                for (int l = 0; l < 16; l++) {
                    int e = n * 128 + s * 32 + h * 16 + l;
                    int q = (qs[n * 32 + h * 16 + l] >> (2 * s)) & 3;
                    int high = (hm[h * 16 + l] >> (n * 4 + s)) & 1;
                    y[e] = scale(dl, q - (high ? 0 : 4));
                }
            }
}

/* The 6-bit scale and min j (0..7) of q4_k / q5_k: 12 bytes, j < 4 in the low
 * 6 bits of bytes j and j + 4, j >= 4 in nibbles of byte j + 4 with their top
 * 2 bits in the top bits of bytes j - 4 and j. */
void rt_ggml_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* q4_k: f16 d, f16 dmin, 12 scale bytes, 128 bytes: each 32 bytes hold 64
 * elements (low nibbles then high); x = d * sc * q - dmin * m */
static void dq_q4_k(const uint8_t *b, float *y) {
    float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int j = 0; j < QK_K / 32; j++) {
        int sc, m;
        rt_ggml_scale_min_k4(j, scales, &sc, &m);
        float dl = d * (float)sc, ml = dmin * (float)m;
        const uint8_t *q = qs + (j / 2) * 32;
        for (int l = 0; l < 32; l++) y[j * 32 + l] = scale_sub(dl, (q[l] >> (4 * (j & 1))) & 0xF, ml);
    }
}

/* q5_k: as q4_k with 32 bytes of fifth bits (bit j of byte l: element 32 j + l) */
static void dq_q5_k(const uint8_t *b, float *y) {
    float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + 48;
    for (int j = 0; j < QK_K / 32; j++) {
        int sc, m;
        rt_ggml_scale_min_k4(j, scales, &sc, &m);
        float dl = d * (float)sc, ml = dmin * (float)m;
        const uint8_t *q = qs + (j / 2) * 32;
        for (int l = 0; l < 32; l++) {
            int v = ((q[l] >> (4 * (j & 1))) & 0xF) | ((qh[l] >> j) & 1) << 4;
            y[j * 32 + l] = scale_sub(dl, v, ml);
        }
    }
}

/* q6_k: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8
 * scales, f16 d. Per 128 elements: 64 ql bytes and 32 qh bytes; element
 * 32 k + l (k = 0..3) takes the nibble (k / 2) of ql[l + 32 (k & 1)] and
 * bits 2k of qh[l]. x = d * scale * (q - 32). */
static void dq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half_at(b + 208);
    for (int n = 0; n < QK_K / 128; n++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++) {
                int lo = (ql[n * 64 + l + 32 * (k & 1)] >> (4 * (k / 2))) & 0xF;
                int hi = (qh[n * 32 + l] >> (2 * k)) & 3;
                float ds = d * (float)sc[n * 8 + k * 2 + l / 16];
                y[n * 128 + k * 32 + l] = scale(ds, (lo | hi << 4) - 32);
            }
}

/* ---- reference quantizers (ggml's quantize_row_*_ref) --------------------- */

/* the value of largest magnitude, the first one on ties */
static float absmax_signed(const float *x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    *mn = FLT_MAX;
    *mx = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *mn) *mn = x[j];
        if (x[j] > *mx) *mx = x[j];
    }
}

/* (int)(x * id + bias), clamped to hi, as ggml's MIN(hi, (int8_t)(...)) */
static int trunc_q(float x, float id, float bias, int hi) {
    float v = x * id;
    v = v + bias;
    int q = (int)v;
    return q < hi ? q : hi;
}

static void pack_nibbles(const int *q, uint8_t *qs) {
    for (int j = 0; j < QK / 2; j++) qs[j] = (uint8_t)((q[j] & 0xF) | (q[j + QK / 2] & 0xF) << 4);
}

static void pack_qh(const int *q, uint8_t *qh) {
    uint32_t h = 0;
    for (int j = 0; j < QK; j++) h |= (uint32_t)((q[j] >> 4) & 1) << j;
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(h >> (8 * k));
}

/* q4_0 / q5_0: d = max / -2^(bits-1) */
static void q_sym(const float *x, uint8_t *b, int bits) {
    int half = 1 << (bits - 1), q[QK];
    float d = absmax_signed(x, QK) / (float)-half;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) q[j] = trunc_q(x[j], id, (float)half + 0.5f, 2 * half - 1);
    put_half(b, d);
    if (bits == 4) pack_nibbles(q, b + 2);
    else {
        pack_qh(q, b + 2);
        pack_nibbles(q, b + 6);
    }
}

/* q4_1 / q5_1: d = (max - min) / (2^bits - 1), m = min */
static void q_affine(const float *x, uint8_t *b, int bits) {
    int top = (1 << bits) - 1, q[QK];
    float mn, mx;
    min_max(x, QK, &mn, &mx);
    float d = (mx - mn) / (float)top;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) q[j] = trunc_q(x[j] - mn, id, 0.5f, top);
    put_half(b, d);
    put_half(b + 2, mn);
    if (bits == 4) pack_nibbles(q, b + 4);
    else {
        pack_qh(q, b + 4);
        pack_nibbles(q, b + 8);
    }
}

static void q_q4_0(const float *x, uint8_t *b) { q_sym(x, b, 4); }
static void q_q5_0(const float *x, uint8_t *b) { q_sym(x, b, 5); }
static void q_q4_1(const float *x, uint8_t *b) { q_affine(x, b, 4); }
static void q_q5_1(const float *x, uint8_t *b) { q_affine(x, b, 5); }

/* q8_0: d = amax / 127, q = round(x / d) half away from zero */
static void q_q8_0(const float *x, uint8_t *b) {
    float amax = 0;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    put_half(b, d);
    for (int j = 0; j < QK; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

/* ---- dispatch ------------------------------------------------------------- */

typedef void (*dq_fn)(const uint8_t *, float *);
typedef void (*q_fn)(const float *, uint8_t *);

static int codec(ir_dtype t, dq_fn *dq, q_fn *q) {
    *dq = NULL;
    *q = NULL;
    switch (t) {
    case IR_Q4_0: *dq = dq_q4_0; *q = q_q4_0; break;
    case IR_Q4_1: *dq = dq_q4_1; *q = q_q4_1; break;
    case IR_Q5_0: *dq = dq_q5_0; *q = q_q5_0; break;
    case IR_Q5_1: *dq = dq_q5_1; *q = q_q5_1; break;
    case IR_Q8_0: *dq = dq_q8_0; *q = q_q8_0; break;
    case IR_Q2_K: *dq = dq_q2_k; break;
    case IR_Q3_K: *dq = dq_q3_k; break;
    case IR_Q4_K: *dq = dq_q4_k; *q = rt_ggml_quantize_q4_k_block; break;
    case IR_Q5_K: *dq = dq_q5_k; break;
    case IR_Q6_K: *dq = dq_q6_k; break;
    default: return -1;
    }
    return 0;
}

int rt_ggml_dequantize(ir_dtype t, const void *src, int64_t n, float *dst) {
    dq_fn dq;
    q_fn q;
    if (codec(t, &dq, &q) || n < 0) return -1;
    const ir_dtype_info *info = ir_dtype_get(t);
    if (n % info->block_elems) return -1;
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / info->block_elems; i++) dq(b + i * info->block_bytes, dst + i * info->block_elems);
    return 0;
}

int rt_ggml_quantize(ir_dtype t, const float *src, int64_t n, void *dst) {
    dq_fn dq;
    q_fn q;
    if (codec(t, &dq, &q) || !q || n < 0) return -1;
    const ir_dtype_info *info = ir_dtype_get(t);
    if (n % info->block_elems) return -1;
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / info->block_elems; i++) q(src + i * info->block_elems, b + i * info->block_bytes);
    return 0;
}
