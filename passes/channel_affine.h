/* channel_affine.h — folding a per-channel affine map y*scale[c] + shift[c]
 * into the contraction that computes y: Conv, ConvTranspose, Gemm, and a
 * rank-2 MatMul (which becomes a Gemm to get a bias operand). The channel
 * is axis 1 of the output (Conv's output channels, Gemm's columns), as in
 * BatchNormalization and a broadcast bias Add. Used by fold_batchnorm.c
 * and fold_bias_add.c.
 */
#ifndef SMELT_PASSES_CHANNEL_AFFINE_H
#define SMELT_PASSES_CHANNEL_AFFINE_H

#include "ir/ir.h"

/* The output channel count of node when it is a contraction whose weights
 * (and bias, if any) are float constants of its output dtype, so that an
 * affine map can be folded into them; else -1. */
int64_t ca_channels(const ir_graph *g, ir_id node);
/* Rewrites node (ca_channels(node) == C > 0) so that it computes its old
 * output times scale[c] (NULL: 1) plus shift[c], with new constant weights
 * and bias. Returns 0, or -1 with an error in d. */
int ca_fold(ir_graph *g, ir_id node, const double *scale, const double *shift, diag *d);

#endif
