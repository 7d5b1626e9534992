/* qmatmul.h — matrix products with weights in ggml block formats, computed
 * as ggml computes them: each row of activations is quantized per block to
 * q8_0 / q8_1 (32 values) or q8_K (256 values), then every weight block is
 * multiplied with the matching activation block in integers and the block
 * scales are applied per block (ggml's vec_dot_*), so results agree with
 * llama.cpp to float rounding. Weights are read in place, never expanded.
 * One definition serves the interpreter and compiled models (the library
 * routine MatMulGGML, lib_data.c).
 */
#ifndef SMELT_QMATMUL_H
#define SMELT_QMATMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/dtype.h"
#include "runtime/pool.h"

/* Whether weights of type t have a quantized matmul here. */
bool rt_qmatmul_supported(ir_dtype t);

/* y (M, N) = x (M, K) @ W^T, W (N, K) in blocks of t, rows of K / block
 * elements. Splits the rows of W over pool (NULL: the calling thread).
 * 0, or -1 for an unsupported type, K not a whole number of blocks, or out
 * of memory (the quantized activations, M * K bytes and a little more). */
int rt_qmatmul(ir_dtype t, const void *w, int64_t n, int64_t k, const float *x, int64_t m, float *y, rt_pool *pool);

/* The activation formats: ggml's block_q8_0 (f16 d, 32 int8), block_q8_1
 * (f16 d, f16 s = d * sum q, 32 int8) and block_q8_K (f32 d, 256 int8, 16
 * int16 sums of 16). */
typedef enum { RT_Q8_0, RT_Q8_1, RT_Q8_K } rt_q8_type;
#define RT_Q8_0_BYTES 34
#define RT_Q8_1_BYTES 36
#define RT_Q8_K_BYTES 292

/* The activation format that t's blocks are multiplied with, and one row
 * quantized into it as ggml does (k a multiple of its block). For tests. */
rt_q8_type rt_qmatmul_vec_type(ir_dtype t);
void rt_q8_quantize_row(rt_q8_type vt, const float *x, int64_t k, void *dst);
/* The dot product of one weight row with one quantized activation row. */
float rt_qdot_row(ir_dtype t, const void *wrow, const void *xq, int64_t k);
/* The kernel set that t's products use now: "portable", "avx2", "avxvnni"
 * (x86), "neon", "dotprod" (aarch64); the fastest the CPU has, or the one
 * that SMELT_QMATMUL_KERNELS names ("portable" where the CPU lacks it). */
const char *rt_qmatmul_kernels(ir_dtype t);
/* Whether that set multiplies t's weights for a prefill (RT_QGEMM_C = 4 or
 * more activation rows) with weight rows repacked eight at a time; its
 * products then equal the portable set's dot products bit for bit (else
 * its own). SMELT_QMATMUL_NO_PACK=1 turns the packing off (tests compare
 * both). */
bool rt_qmatmul_packed(ir_dtype t);

#endif
