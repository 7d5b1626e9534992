/* qmatmul_impl.h — what the quantized matmul files share: the per-type
 * kernel table (activation format, block sizes, the row dot product) and
 * the f16 conversion table. qmatmul.c holds the portable kernels and the
 * driver, qmatmul_x86.c the AVX2 / AVX-VNNI ones and qmatmul_arm.c the NEON
 * / dot-product ones, chosen at run time.
 */
#ifndef SMELT_QMATMUL_IMPL_H
#define SMELT_QMATMUL_IMPL_H

#include <string.h>

#include "runtime/qmatmul.h"

/* dot of one weight row (nb blocks) with one quantized activation row */
typedef float (*rt_qdot_fn)(const uint8_t *w, const uint8_t *x, int64_t nb);

/* A tile of R weight rows (wrow bytes apart, nb blocks each) x C quantized
 * activation rows (xrow bytes apart): y[c * ldy + r] = the dot product of
 * weight row r with activation row c, equal bit for bit to the same set's
 * rt_qdot_fn. The prefill's tile is RT_QGEMM_R x RT_QGEMM_C (several
 * activation rows per loaded weight block), the decode's RT_QGEMV_R x 1
 * (independent accumulators, each activation block loaded once for
 * several weight rows). */
#define RT_QGEMM_R 2
#define RT_QGEMM_C 4
#define RT_QGEMV_R 4
typedef void (*rt_qgemm_fn)(const uint8_t *w, size_t wrow, const uint8_t *x, size_t xrow, int64_t nb, float *y,
                            int64_t ldy);

/* The prefill's GEMM over weight rows repacked RT_QPACK_ROWS at a time
 * (qmatmul_x86_pack.h), whose products equal the portable dot products bit
 * for bit. pack copies `rows` (<= RT_QPACK_ROWS; the rest of the group is
 * zero) weight rows of nb blocks into a group of nb * block_bytes bytes;
 * prep readies the quantized activations once per call (m rows of nb
 * blocks; aux: m * nb int32 of per-block data where the format needs it);
 * gemm[C - 1] multiplies a group with C activation rows (aux at the first
 * of them): y[c * ldy + r] for the group's 8 rows r. */
#define RT_QPACK_ROWS 8
typedef struct rt_qpack {
    int block_bytes;
    void (*pack)(const uint8_t *w, size_t wrow, int rows, int64_t nb, uint8_t *dst);
    void (*prep)(uint8_t *xq, size_t xrow, int64_t m, int64_t nb, int32_t *aux);
    void (*gemm[RT_QGEMM_C])(const uint8_t *pw, const uint8_t *x, size_t xrow, const int32_t *aux, int64_t nb,
                              float *y, int64_t ldy);
} rt_qpack;

extern float rt_qm_f16_table[65536];
static inline float rt_qm_f16(const uint8_t *p) { return rt_qm_f16_table[(uint16_t)(p[0] | p[1] << 8)]; }
static inline float rt_qm_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* One block's share of a 32-element format's dot product, from its integer
 * sum s, as ggml's generic code adds it: x0 (q4_0, q5_0, q8_0) and x1
 * (q4_1, q5_1, with the min times the activation block's sum); rt_qm_k4
 * below does the same for q4_K / q5_K. The kernels
 * that reduce each block to its integer sum use these, so that they round
 * exactly as the portable ones. */
static inline float rt_qm_x0(int s, const uint8_t *w, const uint8_t *x) {
    return (float)s * (rt_qm_f16(w) * rt_qm_f16(x));
}
static inline float rt_qm_x1(int s, const uint8_t *w, const uint8_t *x) {
    return (float)s * (rt_qm_f16(w) * rt_qm_f16(x)) + rt_qm_f16(w + 2) * rt_qm_f16(x + 2);
}

/* q4_K / q5_K's share of one block of 256 from its integer sums: isum of
 * the scaled sub-block products, msum of the mins times the activation sums */
static inline float rt_qm_k4(int isum, int msum, const uint8_t *w, const uint8_t *x) {
    float dy = rt_qm_f32(x);
    return rt_qm_f16(w) * dy * (float)isum - rt_qm_f16(w + 2) * dy * (float)msum;
}

/* The fastest vector kernels for t that the CPU has, their set's name in
 * *name ("avx2", "avxvnni"; "neon", "dotprod"); with want non-NULL only
 * the set so named. NULL where there is none (another architecture, a CPU
 * without the instructions, a type without kernels in the set). */
rt_qdot_fn rt_qdot_x86(ir_dtype t, const char *want, const char **name);
rt_qdot_fn rt_qdot_arm(ir_dtype t, const char *want, const char **name);
/* The prefill's tile (gemv false) or the decode's of the x86 set named
 * `set` for t, or NULL (then the driver calls the dot product per pair). */
rt_qgemm_fn rt_qgemm_x86(ir_dtype t, const char *set, bool gemv);
/* The packed prefill GEMM of the x86 set named `set` for t, or NULL. */
const rt_qpack *rt_qpack_x86(ir_dtype t, const char *set);

#endif
