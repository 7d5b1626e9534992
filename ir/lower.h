/* lower.h — the lowering functions named by ops.def rows (lower_*.c). Each
 * turns one graph node into kernels of the program p (kir_build.h). */
#ifndef SMELT_LOWER_H
#define SMELT_LOWER_H

#include "kir_build.h"

#define LOWER_FN(name) int name(kir_program *p, ir_id node, diag *d);
/* lower_elementwise.c */
LOWER_FN(lower_unary)
LOWER_FN(lower_activation)
LOWER_FN(lower_cast)
LOWER_FN(lower_clip)
LOWER_FN(lower_binary)
LOWER_FN(lower_where)
/* 1 / (1 + exp(-x)) of a float expression, for ops with a fused sigmoid */
uint32_t lower_sigmoid(kir_program *p, uint32_t x);
/* reductions, softmax and normalizations: lower_reduce.c */
LOWER_FN(lower_reduce)
LOWER_FN(lower_arg_reduce)
LOWER_FN(lower_softmax)
/* lower_norm.c */
LOWER_FN(lower_batch_norm)
LOWER_FN(lower_instance_norm)
LOWER_FN(lower_layer_norm)
LOWER_FN(lower_group_norm)
LOWER_FN(lower_rms_norm)
LOWER_FN(lower_lp_norm)
LOWER_FN(lower_mvn)
LOWER_FN(lower_lrn)
/* nn family: lower_contraction.c, lower_einsum.c, lower_conv.c, lower_pool.c */
LOWER_FN(lower_matmul)
LOWER_FN(lower_gemm)
LOWER_FN(lower_matmul_integer)
LOWER_FN(lower_qlinear_matmul)
LOWER_FN(lower_einsum)
LOWER_FN(lower_conv)
LOWER_FN(lower_conv_transpose)
LOWER_FN(lower_conv_integer)
LOWER_FN(lower_qlinear_conv)
LOWER_FN(lower_max_pool)
LOWER_FN(lower_avg_lp_pool)
LOWER_FN(lower_global_pool)
/* ops family: lower_library.c */
LOWER_FN(lower_library)
LOWER_FN(lower_dropout)
/* ops family: lower_quant.c */
LOWER_FN(lower_quantize)
LOWER_FN(lower_dequantize)
LOWER_FN(lower_dynamic_quantize)
/* attention and sampling ops (attn family): lower_attention.c, lower_sample.c */
LOWER_FN(lower_attention)
LOWER_FN(lower_rotary_embedding)
LOWER_FN(lower_causal_conv)
LOWER_FN(lower_grid_sample)
LOWER_FN(lower_affine_grid)
LOWER_FN(lower_roi_align)
LOWER_FN(lower_deform_conv)
#undef LOWER_FN

#endif
