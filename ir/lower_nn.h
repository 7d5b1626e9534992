/* lower_nn.h — pieces shared by the lowerings of contractions, convolutions
 * and pools (lower_contraction.c, lower_einsum.c, lower_conv.c,
 * lower_pool.c): index math that folds constants, the operands of a
 * sum-of-products reduction (with zero points and padding guards, so that
 * the float and the quantized forms of an op share one description),
 * requantization, and the input positions that a sliding window reads.
 */
#ifndef SMELT_LOWER_NN_H
#define SMELT_LOWER_NN_H

#include "einsum.h"
#include "lower.h"
#include "window.h"

/* Make the buffers of all of the node's inputs and outputs. Every lowering
 * here calls it first: later kb_value calls then add no buffer, so the
 * kir_buffer pointers it takes stay valid while it runs. */
void nn_bind_node(kir_program *p, ir_id node);

/* ---- index math (i64) ---- */

static inline uint32_t nn_ix(kir_program *p, int64_t v) { return kb_const_i(p, IR_I64, v); }
/* a op b, folded when both are constants (ADD, SUB, MUL, MAX, MIN, FLOORDIV, MOD). */
uint32_t nn_ibin(kir_program *p, kx_op op, uint32_t a, uint32_t b);
/* ceil(a / b) for b > 0 */
uint32_t nn_iceildiv(kir_program *p, uint32_t a, int64_t b);
/* a && b where either may be KIR_NONE (true) */
uint32_t nn_and(kir_program *p, uint32_t a, uint32_t b);

/* ---- contractions ---- */

/* One operand of a sum-of-products: a load at one index expression per axis,
 * minus its zero point (quantized ops), and zero where `inside` is false
 * (padding, or a tap that hits no input element). */
typedef struct nn_operand {
    uint32_t buf;
    uint32_t idx[IR_MAX_RANK];
    uint32_t inside;  /* bool expression, KIR_NONE when always inside */
    ir_id zp;         /* zero point value, IR_NONE for none */
    int zp_axis;      /* operand axis that a 1-D zero point runs along */
} nn_operand;

#define NN_MAX_OPERANDS EINSUM_MAX_IN

/* SUM over the reduction domain `red` of the product of the operands. */
typedef struct nn_contraction {
    int n;
    nn_operand op[NN_MAX_OPERANDS];
    int rrank;
    ir_dim red[IR_MAX_RANK];
} nn_contraction;

/* An operand of buffer b with no zero point, always inside. */
nn_operand nn_operand_of(kir_program *p, ir_id value);
/* The type products and sums are computed in: i32 for quantized (8-bit)
 * operands, f32 for f16 / bf16, else the element type itself. */
ir_dtype nn_compute_type(ir_dtype t);
/* The product of the operands' terms, in type t. */
uint32_t nn_contraction_body(kir_program *p, const nn_contraction *c, ir_dtype t);
/* Emit the SUM kernel writing out; post is an expression of kb_acc(t) (and
 * IDX) or KIR_NONE, then converted to out's dtype. Returns 0 or -1. */
int nn_contraction_emit(kir_program *p, ir_id node, uint32_t out, const nn_contraction *c, ir_dtype t, uint32_t post);

/* A parameter (scale, zero point, bias) at the output point: element 0 when
 * it holds one value, else element IDX(out_axis) of the 1-D tensor. */
uint32_t nn_param_at(kir_program *p, ir_id v, int out_axis);
/* y = saturate(round_half_even(f32(acc) * (sa * sb / sy)) + zp) in zp's dtype,
 * the product computed in the scales' dtype (f32), as onnxruntime does. */
uint32_t nn_requantize(kir_program *p, uint32_t acc, uint32_t sa, uint32_t sb, uint32_t sy, uint32_t zp);
/* The i32 sum of an integer contraction (QLinearMatMul, QLinearConv) into a
 * temporary of out's shape; returns the load of it at the domain point, for
 * the requantizing kernel that writes out (KIR_NONE on error). The sum
 * keeps a 4-byte buffer of its own so that the CPU backend's packed integer
 * GEMM can accumulate in it (kir_fuse_epilogue leaves the two apart). */
uint32_t nn_int_sum(kir_program *p, ir_id node, uint32_t out, const nn_contraction *c);

/* ---- sliding windows ---- */

/* Begin and end padding of spatial axis i (i64 expressions): the explicit
 * pads, 0 for VALID, or the SAME_* split of max(0, (out-1)*s + span - in)
 * with the odd element at the end (SAME_UPPER) or the begin (SAME_LOWER). */
uint32_t nn_pad_begin(kir_program *p, const ir_window *w, int i, ir_dim in, ir_dim out);
uint32_t nn_pad_end(kir_program *p, const ir_window *w, int i, ir_dim in, ir_dim out);
/* Input position read along spatial axis i by output point IDX(2+i) and
 * kernel tap `tap`: o*stride - pad_begin + tap*dilation. */
uint32_t nn_window_pos(kir_program *p, const ir_window *w, int i, uint32_t pad_begin, uint32_t tap);
/* Input position along spatial axis i that output point IDX(2+i) reads
 * through tap `tap` of a transposed window (ConvTranspose, Col2Im): the pos
 * with pos*stride = o + pad_begin - tap*dilation. The condition that such a
 * pos exists and lies in [0, size) is ANDed into *inside (see nn_and). */
uint32_t nn_transpose_pos(kir_program *p, const ir_window *w, int i, uint32_t pad_begin, uint32_t tap, ir_dim size,
                          uint32_t *inside);
/* 0 <= pos < size */
uint32_t nn_in_range(kir_program *p, uint32_t pos, ir_dim size);

/* The taps of a forward window (Conv, pools) over an input of spatial dims
 * in[] and output spatial dims out[], tap i being RIDX(first_red + i). */
typedef struct nn_taps {
    uint32_t begin[IR_MAX_RANK]; /* pad_begin per axis */
    uint32_t pos[IR_MAX_RANK];   /* input position per axis */
    uint32_t inside;             /* all positions inside the input, KIR_NONE if always */
} nn_taps;
void nn_window_taps(kir_program *p, const ir_window *w, const ir_dim *in, const ir_dim *out, int first_red,
                    nn_taps *t);

#endif
