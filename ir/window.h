/* window.h — the sliding window of Conv, ConvTranspose, their quantized
 * forms, the pools, MaxUnpool and Col2Im: kernel size, strides, dilations,
 * pads, auto_pad and ceil_mode read from a node's attributes with the
 * defaults filled in and the values checked, and the output size of each
 * spatial axis. Inference (infer_nn.c, infer_image.c) and lowering
 * (lower_conv.c, lower_pool.c, lower_image.c) read windows through here, so
 * that they agree on every attribute and size; the MaxUnpool routine
 * (runtime/lib_data.c) checks the same attributes at run time.
 */
#ifndef SMELT_WINDOW_H
#define SMELT_WINDOW_H

#include "ir.h"

typedef enum ir_auto_pad { IR_PAD_NOTSET, IR_PAD_VALID, IR_PAD_SAME_UPPER, IR_PAD_SAME_LOWER } ir_auto_pad;

typedef struct ir_window {
    int k;                                  /* spatial rank */
    int64_t kernel[IR_MAX_RANK], stride[IR_MAX_RANK], dil[IR_MAX_RANK];
    int64_t pads[2 * IR_MAX_RANK];          /* begins, then ends (explicit pads) */
    ir_auto_pad auto_pad;
    bool ceil_mode;                         /* pools only */
} ir_window;

/* Read the window of node n with k spatial axes. wdims: the spatial dims of
 * the weight (Conv), used when kernel_shape is absent and checked against it
 * when present; NULL for pools (kernel_shape required). Attributes the op
 * does not have take their defaults (auto_pad NOTSET, dilations 1), and an
 * op without kernel_shape takes the kernel from wdims (Col2Im's block). */
int ir_window_read(const ir_graph *g, const ir_node *n, int k, const ir_dim *wdims, ir_window *w, diag *d);

/* Extent of the dilated kernel along axis i: (kernel - 1) * dilation + 1. */
static inline int64_t ir_window_span(const ir_window *w, int i) { return (w->kernel[i] - 1) * w->dil[i] + 1; }

/* Output size of spatial axis i of a forward window (Conv, pools) whose
 * input has size `in` there. */
ir_dim ir_window_out(ir_graph *g, const ir_window *w, int i, ir_dim in);

/* Output size of spatial axis i of MaxUnpool without output_shape, whose
 * input has size `in` there: (in - 1) * stride + kernel - pads. */
ir_dim ir_window_unpool_out(ir_graph *g, const ir_window *w, int i, ir_dim in);

/* ConvTranspose: output_padding and output_shape (k values each, the
 * latter also accepted with the leading N, C), checked. has_shape is false
 * when output_shape is absent. */
typedef struct ir_transpose_window {
    int64_t out_pad[IR_MAX_RANK], out_shape[IR_MAX_RANK];
    bool has_shape;
} ir_transpose_window;
int ir_window_read_transpose(const ir_graph *g, const ir_node *n, const ir_window *w, ir_transpose_window *t,
                             diag *d);

#endif
