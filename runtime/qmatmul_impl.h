/* qmatmul_impl.h — what the quantized matmul files share: the per-type
 * kernel table (activation format, block sizes, the row dot product) and
 * the f16 conversion table. qmatmul.c holds the portable kernels and the
 * driver, qmatmul_x86.c the AVX2 / AVX-VNNI ones, chosen at run time.
 */
#ifndef SMELT_QMATMUL_IMPL_H
#define SMELT_QMATMUL_IMPL_H

#include <string.h>

#include "runtime/qmatmul.h"

/* dot of one weight row (nb blocks) with one quantized activation row */
typedef float (*rt_qdot_fn)(const uint8_t *w, const uint8_t *x, int64_t nb);

extern float rt_qm_f16_table[65536];
static inline float rt_qm_f16(const uint8_t *p) { return rt_qm_f16_table[(uint16_t)(p[0] | p[1] << 8)]; }
static inline float rt_qm_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* The x86 kernels for t, or NULL where the CPU lacks AVX2 and FMA or t has none. */
rt_qdot_fn rt_qdot_x86(ir_dtype t);

#endif
