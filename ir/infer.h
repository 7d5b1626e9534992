/* infer.h — dtype and shape inference functions named by ops.def rows, and
 * the helpers they share. Each function sets the dtypes and shapes of one
 * node's outputs from its inputs and attributes, or reports why it cannot.
 */
#ifndef SMELT_INFER_H
#define SMELT_INFER_H

#include "ir.h"

#define INFER_FN(name) int name(struct ir_graph *g, uint32_t node, struct diag *d);
INFER_FN(infer_unary)
INFER_FN(infer_unary_bool)
INFER_FN(infer_unary_axis)
INFER_FN(infer_cast)
INFER_FN(infer_cast_like)
INFER_FN(infer_broadcast)
INFER_FN(infer_pow)
INFER_FN(infer_compare)
INFER_FN(infer_where)
INFER_FN(infer_first_input)
INFER_FN(infer_matmul)
INFER_FN(infer_gemm)
INFER_FN(infer_conv)
INFER_FN(infer_conv_transpose)
/* nn family: quantized contractions and Einsum */
INFER_FN(infer_matmul_integer)
INFER_FN(infer_qlinear_matmul)
INFER_FN(infer_conv_integer)
INFER_FN(infer_qlinear_conv)
INFER_FN(infer_einsum)
INFER_FN(infer_pool)
INFER_FN(infer_global_pool)
INFER_FN(infer_layer_norm)
INFER_FN(infer_reduce)
INFER_FN(infer_arg_reduce)
INFER_FN(infer_reshape)
INFER_FN(infer_transpose)
INFER_FN(infer_flatten)
INFER_FN(infer_squeeze)
INFER_FN(infer_unsqueeze)
INFER_FN(infer_concat)
INFER_FN(infer_gather)
INFER_FN(infer_expand)
INFER_FN(infer_shape_op)
INFER_FN(infer_size_op)
/* normalizations: infer_norm.c */
INFER_FN(infer_batch_norm)
INFER_FN(infer_instance_norm)
INFER_FN(infer_group_norm)
INFER_FN(infer_rms_norm)
INFER_FN(infer_mvn)
INFER_FN(infer_lrn)
/* ops family: infer_library.c */
INFER_FN(infer_topk)
INFER_FN(infer_nonzero)
INFER_FN(infer_unique)
INFER_FN(infer_cumsum)
INFER_FN(infer_dropout)
INFER_FN(infer_bitcast)
/* Dropout's mode: 1 an identity (inference, or ratio 0), 0 random (training
 * with a nonzero ratio: refused), -1 known only at run time. */
int dropout_is_identity(ir_graph *g, const ir_node *n);
/* ops family: infer_quant.c */
INFER_FN(infer_quantize)
INFER_FN(infer_dequantize)
INFER_FN(infer_dynamic_quantize)
INFER_FN(infer_dequantize_ggml)
/* loss family: infer_loss.c; Det in infer_library.c */
INFER_FN(infer_loss)
INFER_FN(infer_det)
/* loss family: infer_signal.c */
INFER_FN(infer_window)
INFER_FN(infer_dft)
INFER_FN(infer_stft)
INFER_FN(infer_mel_weight_matrix)
/* loss family: infer_image.c */
INFER_FN(infer_center_crop_pad)
INFER_FN(infer_col2im)
INFER_FN(infer_max_unpool)
/* shape and data movement (infer_movement.c, infer_index.c, infer_resize.c) */
INFER_FN(infer_slice)
INFER_FN(infer_pad)
INFER_FN(infer_tile)
INFER_FN(infer_split)
INFER_FN(infer_depth_to_space)
INFER_FN(infer_space_to_depth)
INFER_FN(infer_trilu)
INFER_FN(infer_eye_like)
INFER_FN(infer_range)
INFER_FN(infer_constant_of_shape)
INFER_FN(infer_resize)
INFER_FN(infer_gather_elements)
INFER_FN(infer_gather_nd)
INFER_FN(infer_scatter_elements)
INFER_FN(infer_scatter_nd)
INFER_FN(infer_one_hot)
INFER_FN(infer_reverse_sequence)
INFER_FN(infer_compress)
/* attention and sampling ops (attn family): infer_attn.c */
INFER_FN(infer_attention)
INFER_FN(infer_rotary_embedding)
INFER_FN(infer_linear_attention)
INFER_FN(infer_causal_conv)
INFER_FN(infer_grid_sample)
INFER_FN(infer_affine_grid)
INFER_FN(infer_roi_align)
INFER_FN(infer_nms)
INFER_FN(infer_deform_conv)
/* rnn family: infer_rnn.c */
INFER_FN(infer_rnn)
#undef INFER_FN

/* ---- helpers shared by the inference functions (infer_util.c) ---- */

/* Input i of the node, or NULL when omitted or out of range. */
const ir_value *infer_input(ir_graph *g, const ir_node *n, uint32_t i);
/* Fails with a node error unless input i is present and has a known rank. */
int infer_require(ir_graph *g, const ir_node *n, uint32_t i, diag *d);
/* Numpy-style multidirectional broadcast of a and b into out (rank returned
 * in *rank). Symbolic dims broadcast against 1 or an equal dim. */
int infer_broadcast_shapes(ir_graph *g, const ir_node *n, const ir_dim *a, int ra,
                           const ir_dim *b, int rb, ir_dim *out, int *rank, diag *d);
/* Normalize an axis in [-rank, rank) to [0, rank); error names the node. */
int infer_axis(const ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out, diag *d);
/* Reads a constant integer input (i32/i64) into vals (at most max), count
 * in *n: a constant, or a node value whose shape value is all constants.
 * Returns 0 if constant, 1 if the input is not a constant, -1 error. */
int infer_const_ints(ir_graph *g, const ir_node *n, uint32_t i, int64_t *vals, int max, int *count, diag *d);
/* Reads an integer input (i32/i64) whose elements are known as dims: a
 * constant (as infer_const_ints) or a shape value (infer_shape_value.c).
 * Returns 0 when known, 1 when not, -1 on error. */
int infer_sym_ints(ir_graph *g, const ir_node *n, uint32_t i, ir_dim *vals, int max, int *count, diag *d);
/* Records the shape value of the node's output from its inputs' (after its
 * shape inference; ir_infer_node calls it). -1 only when out of memory. */
int infer_shape_value(ir_graph *g, ir_id node);
/* The axes a Reduce* node reduces: mark[i] for each reduced axis i (all
 * when the axes input is absent or empty); *noop when the node is instead
 * an identity (no axes and noop_with_empty_axes). Axes must be constant. */
int infer_reduce_axes(ir_graph *g, const ir_node *n, bool *mark, bool *noop, diag *d);
/* Normalizations (infer_norm.c): input i, when present, must broadcast into
 * the shape of input 0 (a scale or bias); the stash_type attribute must
 * name a float type, returned in *t; the axes MeanVarianceNormalization
 * reduces (its axes attribute, default 0, 2, 3) as marks per axis. */
int infer_norm_bcast_param(ir_graph *g, const ir_node *n, uint32_t i, diag *d);
int infer_norm_stash_type(ir_graph *g, const ir_node *n, ir_dtype *t, diag *d);
int infer_mvn_axes(ir_graph *g, const ir_node *n, bool *mark, diag *d);
/* Input i must be one i32/i64 integer (a scalar or a one-element vector);
 * its value in *v when it is a constant (returns 0), else returns 1; -1 on
 * error. `what` names the input in messages. (infer_library.c) */
int infer_one_int(ir_graph *g, const ir_node *n, uint32_t i, const char *what, int64_t *v, diag *d);
/* Convolutions (infer_nn.c): the output shape (N, M, O...) of X (N, C, D...)
 * convolved with W (M, C/group, K...) under the node's window attributes,
 * with the channel, group and bias (B, when given: (M)) checks. */
int infer_conv_shape(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *wt, const ir_value *b,
                     ir_dim *out, diag *d);
/* LayerNormalization and RMSNormalization: `axis` in range, a float stash
 * type, and input 1 (scale) broadcasting into the input. */
int infer_trailing_norm(ir_graph *g, const ir_node *n, int *axis, ir_dtype *stash, diag *d);
/* Set output o of the node. */
int infer_set(ir_graph *g, const ir_node *n, uint32_t o, ir_dtype t, int rank, const ir_dim *dims, diag *d);

#endif
