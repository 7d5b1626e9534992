/* qmatmul.c — the quantized matmul (qmatmul.h): activation quantizers
 * (ggml's quantize_row_q8_0 / q8_1 as its x86 code does them: id = 127 /
 * amax, round half to even; q8_K as quantize_row_q8_K_ref), the portable
 * dot product of each weight format with its activation format (ggml's
 * vec_dot_*_generic: integer sums per block, then the block scales), and
 * the driver that quantizes the activations once and splits the weight
 * rows over the thread pool. Where the CPU has them the vector dot
 * products of qmatmul_x86.c (AVX2, AVX-VNNI) or qmatmul_arm.c (NEON, the
 * dot product instructions) replace the portable ones; the environment
 * variable SMELT_QMATMUL_KERNELS=portable|avx2|avxvnni|neon|dotprod forces
 * one set (tests, benchmarks).
 *
 * Block layouts (ggml-common.h), bytes: q4_0 {f16 d; 16 nibbles}, q4_1 {d,
 * m; 16}, q5_0 {d; u32 qh; 16}, q5_1 {d, m; qh; 16}, q8_0 {d; 32 int8},
 * q4_K {d, dmin; 12 scales; 128}, q5_K {d, dmin; 12; qh 32; 128}, q6_K {ql
 * 128; qh 64; 16 int8 scales; d}.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "runtime/ggml_quant.h"
#include "runtime/half.h"
#include "runtime/qmatmul_impl.h"

float rt_qm_f16_table[65536];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_table(void) {
    for (uint32_t i = 0; i < 65536; i++) rt_qm_f16_table[i] = rt_f16_to_f32((uint16_t)i);
}

static void put_f16(uint8_t *p, float x) {
    uint16_t h = rt_f32_to_f16(x);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* ---- activation quantizers ----------------------------------------------- */

/* q8_0 / q8_1: d = amax / 127, q = round_even(x * (127 / amax)); q8_1 adds s = d * sum q */
static void q8_block(const float *x, uint8_t *b, bool with_sum) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
    int8_t *q = (int8_t *)(b + (with_sum ? 4 : 2));
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        q[j] = (int8_t)nearbyintf(x[j] * id);
        sum += q[j];
    }
    put_f16(b, d);
    if (with_sum) put_f16(b + 2, d * (float)sum);
}

/* q8_K: the value of largest magnitude max (the first on ties), iscale =
 * -127 / max, q = min(127, round_even(iscale * x)), d = 1 / iscale, and
 * the sums of each 16 q */
static void q8k_block(const float *x, uint8_t *b) {
    float amax = 0, max = 0;
    for (int j = 0; j < 256; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    int8_t *q = (int8_t *)(b + 4);
    int16_t sums[16] = {0};
    float d = 0;
    if (amax != 0) {
        float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            int v = (int)nearbyintf(iscale * x[j]);
            q[j] = (int8_t)(v < 127 ? v : 127);
            sums[j / 16] = (int16_t)(sums[j / 16] + q[j]);
        }
        d = 1.0f / iscale;
    } else
        memset(q, 0, 256);
    memcpy(b, &d, 4);
    memcpy(b + 260, sums, sizeof sums);
}

void rt_q8_quantize_row(rt_q8_type vt, const float *x, int64_t k, void *dst) {
    uint8_t *b = dst;
    if (vt == RT_Q8_K)
        for (int64_t i = 0; i < k / 256; i++) q8k_block(x + i * 256, b + i * RT_Q8_K_BYTES);
    else
        for (int64_t i = 0; i < k / 32; i++)
            q8_block(x + i * 32, b + i * (vt == RT_Q8_1 ? RT_Q8_1_BYTES : RT_Q8_0_BYTES), vt == RT_Q8_1);
}

/* ---- portable dot products ------------------------------------------------ */

#define Q8(x, off) ((const int8_t *)((x) + (off)))

static float dot_q4_0(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 18, x += RT_Q8_0_BYTES) {
        const int8_t *y = Q8(x, 2);
        int s = 0;
        for (int j = 0; j < 16; j++) s += ((w[2 + j] & 0xF) - 8) * y[j] + ((w[2 + j] >> 4) - 8) * y[j + 16];
        sum += rt_qm_x0(s, w, x);
    }
    return sum;
}

static float dot_q4_1(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 20, x += RT_Q8_1_BYTES) {
        const int8_t *y = Q8(x, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) s += (w[4 + j] & 0xF) * y[j] + (w[4 + j] >> 4) * y[j + 16];
        sum += rt_qm_x1(s, w, x);
    }
    return sum;
}

/* q5: the fifth bit of element j is bit j of qh */
static int q5_sum(const uint8_t *qh4, const uint8_t *qs, const int8_t *y, int off) {
    uint32_t qh = (uint32_t)qh4[0] | (uint32_t)qh4[1] << 8 | (uint32_t)qh4[2] << 16 | (uint32_t)qh4[3] << 24;
    int s = 0;
    for (int j = 0; j < 16; j++) {
        int x0 = (int)((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - off;
        int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - off;
        s += x0 * y[j] + x1 * y[j + 16];
    }
    return s;
}

static float dot_q5_0(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 22, x += RT_Q8_0_BYTES)
        sum += rt_qm_x0(q5_sum(w + 2, w + 6, Q8(x, 2), 16), w, x);
    return sum;
}

static float dot_q5_1(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 24, x += RT_Q8_1_BYTES)
        sum += rt_qm_x1(q5_sum(w + 4, w + 8, Q8(x, 4), 0), w, x);
    return sum;
}

static float dot_q8_0(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 34, x += RT_Q8_0_BYTES) {
        const int8_t *a = Q8(w, 2), *y = Q8(x, 2);
        int s = 0;
        for (int j = 0; j < 32; j++) s += a[j] * y[j];
        sum += rt_qm_x0(s, w, x);
    }
    return sum;
}

/* q4_K / q5_K: sum_j sc_j * (q . y)_j * d - dmin * sum_j m_j * (sum y)_j, per 256 */
static float dot_q45_k(const uint8_t *w, const uint8_t *x, int64_t nb, bool five) {
    float sum = 0;
    const int wb = five ? 176 : 144;
    for (int64_t i = 0; i < nb; i++, w += wb, x += RT_Q8_K_BYTES) {
        const uint8_t *qh = w + 16, *qs = w + (five ? 48 : 16);
        const int8_t *y = Q8(x, 4);
        int16_t bs[16];
        memcpy(bs, x + 260, sizeof bs);
        int isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            rt_ggml_scale_min_k4(j, w + 4, &sc, &m);
            msum += m * (bs[2 * j] + bs[2 * j + 1]);
            const uint8_t *q = qs + (j / 2) * 32;
            int sh = 4 * (j & 1), s = 0;
            for (int l = 0; l < 32; l++) {
                int v = (q[l] >> sh) & 0xF;
                if (five) v |= ((qh[l] >> j) & 1) << 4;
                s += v * y[j * 32 + l];
            }
            isum += sc * s;
        }
        sum += rt_qm_k4(isum, msum, w, x);
    }
    return sum;
}
static float dot_q4_k(const uint8_t *w, const uint8_t *x, int64_t nb) { return dot_q45_k(w, x, nb, false); }
static float dot_q5_k(const uint8_t *w, const uint8_t *x, int64_t nb) { return dot_q45_k(w, x, nb, true); }

/* q6_K: element 128 n + 32 k + l is ql[64 n + l + 32 (k & 1)] nibble k / 2
 * with bits 2k of qh[32 n + l] above, minus 32; an int8 scale per 16 */
static float dot_q6_k(const uint8_t *w, const uint8_t *x, int64_t nb) {
    float sum = 0;
    for (int64_t i = 0; i < nb; i++, w += 210, x += RT_Q8_K_BYTES) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = Q8(w, 192), *y = Q8(x, 4);
        int isum = 0;
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 4; k++)
                for (int h = 0; h < 2; h++) {
                    int s = 0;
                    for (int l = h * 16; l < h * 16 + 16; l++) {
                        int lo = (ql[n * 64 + l + 32 * (k & 1)] >> (4 * (k / 2))) & 0xF;
                        int hi = (qh[n * 32 + l] >> (2 * k)) & 3;
                        s += ((lo | hi << 4) - 32) * y[n * 128 + k * 32 + l];
                    }
                    isum += sc[n * 8 + k * 2 + h] * s;
                }
        sum += rt_qm_f16(w + 208) * rt_qm_f32(x) * (float)isum;
    }
    return sum;
}

/* ---- the table ------------------------------------------------------------ */

typedef struct qtype {
    rt_q8_type vt;
    int block; /* elements per block */
    rt_qdot_fn dot;
    const char *kernels; /* the set dot belongs to */
    rt_qgemm_fn gemm, gemv; /* that set's tiles (prefill, decode), or NULL */
    const rt_qpack *packed; /* that set's packed prefill GEMM, or NULL */
} qtype;

static bool qtype_of(ir_dtype t, qtype *q) {
    switch (t) {
    case IR_Q4_0: *q = (qtype){RT_Q8_0, 32, dot_q4_0, "portable", NULL, NULL, NULL}; break;
    case IR_Q4_1: *q = (qtype){RT_Q8_1, 32, dot_q4_1, "portable", NULL, NULL, NULL}; break;
    case IR_Q5_0: *q = (qtype){RT_Q8_0, 32, dot_q5_0, "portable", NULL, NULL, NULL}; break;
    case IR_Q5_1: *q = (qtype){RT_Q8_1, 32, dot_q5_1, "portable", NULL, NULL, NULL}; break;
    case IR_Q8_0: *q = (qtype){RT_Q8_0, 32, dot_q8_0, "portable", NULL, NULL, NULL}; break;
    case IR_Q4_K: *q = (qtype){RT_Q8_K, 256, dot_q4_k, "portable", NULL, NULL, NULL}; break;
    case IR_Q5_K: *q = (qtype){RT_Q8_K, 256, dot_q5_k, "portable", NULL, NULL, NULL}; break;
    case IR_Q6_K: *q = (qtype){RT_Q8_K, 256, dot_q6_k, "portable", NULL, NULL, NULL}; break;
    default: return false;
    }
    pthread_once(&init_once, init_table);
    const char *want = getenv("SMELT_QMATMUL_KERNELS");
    if (want && !strcmp(want, "portable")) return true;
    rt_qdot_fn fast = rt_qdot_x86(t, want, &q->kernels);
    if (!fast) fast = rt_qdot_arm(t, want, &q->kernels);
    if (fast) {
        q->dot = fast, q->gemm = rt_qgemm_x86(t, q->kernels, false), q->gemv = rt_qgemm_x86(t, q->kernels, true);
        q->packed = rt_qpack_x86(t, q->kernels);
    }
    return true;
}

bool rt_qmatmul_supported(ir_dtype t) {
    qtype q;
    return qtype_of(t, &q);
}

rt_q8_type rt_qmatmul_vec_type(ir_dtype t) {
    qtype q;
    return qtype_of(t, &q) ? q.vt : RT_Q8_0;
}

const char *rt_qmatmul_kernels(ir_dtype t) {
    qtype q;
    return qtype_of(t, &q) ? q.kernels : "portable";
}

bool rt_qmatmul_packed(ir_dtype t) {
    qtype q;
    return qtype_of(t, &q) && q.packed;
}

static size_t q8_bytes(rt_q8_type vt) {
    return vt == RT_Q8_K ? RT_Q8_K_BYTES : vt == RT_Q8_1 ? RT_Q8_1_BYTES : RT_Q8_0_BYTES;
}

float rt_qdot_row(ir_dtype t, const void *wrow, const void *xq, int64_t k) {
    qtype q;
    if (!qtype_of(t, &q)) return NAN;
    return q.dot(wrow, xq, k / q.block);
}

/* ---- the driver ----------------------------------------------------------- */

/* Weight rows go to threads in tiles of TILE rows; a tile (a few KB) stays
 * in L1 while every activation row passes over it. With a packed GEMM and
 * at least RT_QGEMM_C activation rows (prefill) the tile is first repacked
 * (RT_QPACK_ROWS rows a group, the last one padded with zero rows) and
 * every product comes from the packed GEMM, RT_QGEMM_C activation rows at
 * a time. Otherwise RT_QGEMM_C rows at a time go through the set's
 * prefill tile where it has one, the rest one by one through its decode
 * tile (RT_QGEMV_R weight rows at a time), what is left through the dot
 * product. */
#define TILE 16

typedef struct job {
    rt_qdot_fn dot;
    rt_qgemm_fn gemm, gemv;
    const rt_qpack *packed; /* NULL: not for this call */
    const uint8_t *w, *xq;
    const int32_t *aux;     /* the packed GEMM's per-block activation data */
    size_t wrow, xrow;
    int64_t nb, n, m;
    float *y;
} job;

/* weight rows [r0, r1) x activation rows [m0, m1): tiles of rr x cc rows
 * through fn (none when NULL), the rows left over through the dot product */
static void tile_rows(const job *j, rt_qgemm_fn fn, int rr, int cc, int64_t r0, int64_t r1, int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m += cc) {
        const uint8_t *xq = j->xq + (size_t)m * j->xrow;
        float *y = j->y + m * j->n;
        int64_t r = r0;
        for (; fn && r + rr <= r1; r += rr) fn(j->w + (size_t)r * j->wrow, j->wrow, xq, j->xrow, j->nb, y + r, j->n);
        for (int c = 0; c < cc; c++)
            for (int64_t i = r; i < r1; i++) y[c * j->n + i] = j->dot(j->w + (size_t)i * j->wrow, xq + c * j->xrow, j->nb);
    }
}

/* weight rows [r0, r1) (at most TILE) x every activation row through the
 * packed GEMM; buf holds TILE packed rows */
static void packed_rows(const job *j, int64_t r0, int64_t r1, uint8_t *buf) {
    const rt_qpack *pk = j->packed;
    size_t gbytes = (size_t)j->nb * (size_t)pk->block_bytes;
    int groups = (int)((r1 - r0 + RT_QPACK_ROWS - 1) / RT_QPACK_ROWS);
    for (int g = 0; g < groups; g++) {
        int64_t gr = r0 + g * RT_QPACK_ROWS, rows = r1 - gr < RT_QPACK_ROWS ? r1 - gr : RT_QPACK_ROWS;
        pk->pack(j->w + (size_t)gr * j->wrow, j->wrow, (int)rows, j->nb, buf + g * gbytes);
    }
    float part[RT_QGEMM_C * RT_QPACK_ROWS];
    for (int64_t m = 0; m < j->m; m += RT_QGEMM_C) {
        int c = j->m - m < RT_QGEMM_C ? (int)(j->m - m) : RT_QGEMM_C;
        const uint8_t *xq = j->xq + (size_t)m * j->xrow;
        for (int g = 0; g < groups; g++) {
            int64_t gr = r0 + g * RT_QPACK_ROWS, rows = r1 - gr < RT_QPACK_ROWS ? r1 - gr : RT_QPACK_ROWS;
            float *y = j->y + m * j->n + gr;
            if (rows == RT_QPACK_ROWS) {
                pk->gemm[c - 1](buf + g * gbytes, xq, j->xrow, j->aux + m * j->nb, j->nb, y, j->n);
                continue;
            }
            pk->gemm[c - 1](buf + g * gbytes, xq, j->xrow, j->aux + m * j->nb, j->nb, part, RT_QPACK_ROWS);
            for (int cc = 0; cc < c; cc++) memcpy(y + cc * j->n, part + cc * RT_QPACK_ROWS, (size_t)rows * sizeof *y);
        }
    }
}

static void run_tiles(void *ctx, int64_t begin, int64_t end) {
    const job *j = ctx;
    int64_t r0 = begin * TILE, r1 = end * TILE < j->n ? end * TILE : j->n;
    if (j->packed) {
        uint8_t *buf = malloc((size_t)TILE / RT_QPACK_ROWS * (size_t)j->nb * (size_t)j->packed->block_bytes);
        if (buf) {
            for (int64_t t = r0; t < r1; t += TILE) packed_rows(j, t, t + TILE < r1 ? t + TILE : r1, buf);
            free(buf);
            return;
        }
        /* out of memory for a few KB: the set's own tiles */
    }
    for (int64_t t = r0; t < r1; t += TILE) {
        int64_t te = t + TILE < r1 ? t + TILE : r1, m = j->gemm ? j->m / RT_QGEMM_C * RT_QGEMM_C : 0;
        tile_rows(j, j->gemm, RT_QGEMM_R, RT_QGEMM_C, t, te, 0, m);
        tile_rows(j, j->gemv, RT_QGEMV_R, 1, t, te, m, j->m);
    }
}

int rt_qmatmul(ir_dtype t, const void *w, int64_t n, int64_t k, const float *x, int64_t m, float *y, rt_pool *pool) {
    qtype q;
    if (!qtype_of(t, &q) || k <= 0 || k % q.block || n < 0 || m < 0) return -1;
    if (!n || !m) return 0;
    int64_t nb = k / q.block;
    size_t xrow = (size_t)nb * q8_bytes(q.vt);
    uint8_t *xq = malloc(xrow * (size_t)m);
    int32_t *aux = NULL;
    const rt_qpack *packed = m >= RT_QGEMM_C ? q.packed : NULL;
    if (!xq || (packed && !(aux = malloc(sizeof *aux * (size_t)(m * nb))))) {
        free(xq);
        return -1;
    }
    for (int64_t i = 0; i < m; i++) rt_q8_quantize_row(q.vt, x + i * k, k, xq + (size_t)i * xrow);
    if (packed) packed->prep(xq, xrow, m, nb, aux);
    job j = {q.dot, q.gemm, q.gemv, packed, w, xq, aux, (size_t)ir_dtype_storage_bytes(t, k), xrow, nb, n, m, y};
    int64_t tiles = (n + TILE - 1) / TILE;
    if (pool)
        rt_parallel_for(pool, tiles, run_tiles, &j);
    else
        run_tiles(&j, 0, tiles);
    free(xq);
    free(aux);
    return 0;
}
