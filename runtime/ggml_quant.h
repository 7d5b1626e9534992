/* ggml_quant.h — the ggml block formats (Q4_0 .. Q8_0, Q2_K .. Q6_K),
 * decoded and encoded exactly as ggml does (ggml-quants.c's reference
 * paths), one place for the GGUF reader, the interpreter, the runtime and
 * the quantizer (smelt compile --quantize). Block layouts: ir/dtype.def and
 * ggml-common.h.
 */
#ifndef SMELT_GGML_QUANT_H
#define SMELT_GGML_QUANT_H

#include <stdint.h>

#include "ir/dtype.h"

/* Dequantize n elements (a whole number of blocks of t) from src into dst.
 * 0, or -1 when t is no ggml block format or n is no whole number of blocks. */
int rt_ggml_dequantize(ir_dtype t, const void *src, int64_t n, float *dst);

/* Quantize n floats (a whole number of blocks) into dst, with ggml's
 * reference rounding. 0, or -1 for a type without a quantizer here. */
int rt_ggml_quantize(ir_dtype t, const float *src, int64_t n, void *dst);

/* One q4_k super-block of 256 floats, as ggml's quantize_row_q4_K_ref
 * (ggml_quant_k.c). */
void rt_ggml_quantize_q4_k_block(const float *x, uint8_t *b);

/* The 6-bit scale and min of sub-block j (0..7) of a q4_k / q5_k block's
 * 12 scale bytes. */
void rt_ggml_scale_min_k4(int j, const uint8_t *q, int *sc, int *m);

#endif
