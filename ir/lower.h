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
/* loss family: lower_loss.c */
LOWER_FN(lower_nll_loss)
LOWER_FN(lower_sce_loss)
/* loss family: lower_signal.c */
LOWER_FN(lower_window)
LOWER_FN(lower_dft)
LOWER_FN(lower_stft)
LOWER_FN(lower_mel_weight_matrix)
/* loss family: lower_image.c (MaxUnpool: lower_library) */
LOWER_FN(lower_center_crop_pad)
LOWER_FN(lower_col2im)
/* shape and data movement: lower_movement.c */
LOWER_FN(lower_reshape)
LOWER_FN(lower_transpose)
LOWER_FN(lower_concat)
LOWER_FN(lower_gather)
LOWER_FN(lower_expand)
LOWER_FN(lower_shape_op)
LOWER_FN(lower_size_op)
LOWER_FN(lower_slice)
LOWER_FN(lower_pad)
LOWER_FN(lower_tile)
LOWER_FN(lower_split)
LOWER_FN(lower_depth_to_space)
LOWER_FN(lower_space_to_depth)
LOWER_FN(lower_trilu)
LOWER_FN(lower_eye_like)
LOWER_FN(lower_range)
LOWER_FN(lower_constant_of_shape)
/* lower_index.c */
LOWER_FN(lower_gather_elements)
LOWER_FN(lower_gather_nd)
LOWER_FN(lower_scatter_elements)
LOWER_FN(lower_scatter_nd)
LOWER_FN(lower_one_hot)
LOWER_FN(lower_reverse_sequence)
LOWER_FN(lower_compress)
/* lower_resize.c */
LOWER_FN(lower_resize)
/* attention and sampling ops (attn family): lower_attention.c, lower_sample.c */
LOWER_FN(lower_attention)
LOWER_FN(lower_rotary_embedding)
LOWER_FN(lower_causal_conv)
LOWER_FN(lower_grid_sample)
LOWER_FN(lower_affine_grid)
LOWER_FN(lower_roi_align)
LOWER_FN(lower_deform_conv)
/* rnn family: lower_rnn.c */
LOWER_FN(lower_rnn)
#undef LOWER_FN

/* The scalar function of an activation op whose parameters are at most alpha
 * and beta (Relu, Sigmoid, Softplus, Softsign, Mish, HardSwish, HardSigmoid,
 * Elu, Celu, LeakyRelu, ThresholdedRelu) applied to expression x; KIR_NONE
 * for another op, or a float-only one on an integer x (lower_elementwise.c). */
uint32_t lower_activation_expr(kir_program *p, ir_op op, uint32_t x, double alpha, double beta);

#endif
