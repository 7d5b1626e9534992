/* lower_conv.c — lowering of Conv, its quantized forms (ConvInteger,
 * QLinearConv) and ConvTranspose. A convolution is one SUM reduction over
 * (C/group, K...) of x * w, with guarded loads where a tap falls into the
 * padding; the operands are described once (conv_operands) and the variants
 * differ only in zero points and the epilogue (bias, requantization).
 * ConvTranspose is written as a gather over the same reduction domain: an
 * output point takes the taps whose input position is a whole, in-range
 * multiple of the stride. */
#include "lower_nn.h"

#define NODE (&p->g->nodes[node])

/* Channel of X read by output channel IDX(1) and reduction channel RIDX(0):
 * g * C/group + c, where g = m / (M/group) is the output channel's group. */
static uint32_t input_channel(kir_program *p, int64_t group, ir_dim out_per_group, ir_dim in_per_group) {
    if (group == 1) return kb_ridx(p, 0);
    uint32_t g = nn_ibin(p, KX_FLOORDIV, kb_idx(p, 1), kb_dim(p, out_per_group));
    return kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, g, kb_dim(p, in_per_group)), kb_ridx(p, 0));
}

/* X (N, C, D...) * W (M, C/group, K...) -> Y (N, M, O...):
 * Y[n, m, o...] = sum over c < C/group, k... of
 *                 X[n, g*C/group + c, o*s - pad_begin + k*d] * W[m, c, k...]
 * (taps in the padding read 0). */
static int conv_operands(kir_program *p, ir_id node, ir_id x, ir_id wt, nn_contraction *c, diag *d) {
    const ir_node *n = NODE;
    const kir_buffer *xb = kb_buf(p, kb_value(p, x)), *wb = kb_buf(p, kb_value(p, wt));
    const kir_buffer *yb = kb_buf(p, kb_value(p, n->out[0]));
    int k = xb->rank - 2;
    ir_window w;
    if (ir_window_read(p->g, n, k, wb->dims + 2, &w, d)) return -1;
    int64_t group = ir_attr_int(n, "group");
    nn_taps taps;
    nn_window_taps(p, &w, xb->dims + 2, yb->dims + 2, 1, &taps);
    c->n = 2;
    c->op[0] = nn_operand_of(p, x);
    c->op[1] = nn_operand_of(p, wt);
    nn_operand *ox = &c->op[0], *ow = &c->op[1];
    ox->idx[0] = kb_idx(p, 0);
    ox->idx[1] = input_channel(p, group, ir_dim_div(p->g, wb->dims[0], ir_dim_const(group)), wb->dims[1]);
    ox->inside = taps.inside;
    ow->idx[0] = kb_idx(p, 1);
    ow->idx[1] = kb_ridx(p, 0);
    c->rrank = 1 + k;
    c->red[0] = wb->dims[1];
    for (int i = 0; i < k; i++) {
        ox->idx[2 + i] = taps.pos[i];
        ow->idx[2 + i] = kb_ridx(p, 1 + i);
        c->red[1 + i] = ir_dim_const(w.kernel[i]);
    }
    ow->zp_axis = 0; /* a 1-D weight zero point is per output channel */
    return 0;
}

/* acc + B[m] when the bias input i is present. */
static uint32_t plus_bias(kir_program *p, const ir_node *n, uint32_t i, uint32_t acc) {
    if (n->n_in <= i || n->in[i] == IR_NONE) return acc;
    return kb_bin(p, KX_ADD, acc, kb_cast(p, kb_type(p, acc), nn_param_at(p, n->in[i], 1), false));
}

static uint32_t out_buf(kir_program *p, ir_id node) { return kb_value(p, p->g->nodes[node].out[0]); }

int lower_conv(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    if (conv_operands(p, node, n->in[0], n->in[1], &c, d)) return -1;
    ir_dtype t = nn_compute_type(kb_buf(p, out_buf(p, node))->dtype);
    uint32_t acc = kb_acc(p, t), post = plus_bias(p, n, 2, acc);
    return nn_contraction_emit(p, node, out_buf(p, node), &c, t, post == acc ? KIR_NONE : post);
}

/* ConvInteger: sum of (x - x_zero_point) * (w - w_zero_point) in i32; the
 * padding contributes 0 (it stands for the zero point). */
int lower_conv_integer(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    if (conv_operands(p, node, n->in[0], n->in[1], &c, d)) return -1;
    c.op[0].zp = n->n_in > 2 ? n->in[2] : IR_NONE;
    c.op[1].zp = n->n_in > 3 ? n->in[3] : IR_NONE;
    return nn_contraction_emit(p, node, out_buf(p, node), &c, IR_I32, KIR_NONE);
}

/* QLinearConv: the ConvInteger sum plus the i32 bias, requantized with the
 * per-tensor or per-output-channel weight scale. */
int lower_qlinear_conv(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    if (conv_operands(p, node, n->in[0], n->in[3], &c, d)) return -1;
    c.op[0].zp = n->in[2];
    c.op[1].zp = n->in[5];
    uint32_t sum = nn_int_sum(p, node, out_buf(p, node), &c);
    if (sum == KIR_NONE) return -1;
    uint32_t acc = plus_bias(p, n, 8, sum);
    uint32_t y = nn_requantize(p, acc, nn_param_at(p, n->in[1], 1), nn_param_at(p, n->in[4], 1),
                               nn_param_at(p, n->in[6], 1), nn_param_at(p, n->in[7], 1));
    return kb_kernel(p, node, out_buf(p, node), y) < 0 ? -1 : 0;
}

/* ---- ConvTranspose ---------------------------------------------------------------- */

/* Begin padding of spatial axis i: the explicit pads, 0 for VALID, else a
 * split of total = max(0, stride*(in-1) + output_padding + span - out), the
 * odd element at the end for SAME_UPPER and at the begin otherwise (ONNX
 * spec). An output_shape larger than the natural size (negative total) adds
 * rows at the end, as onnxruntime and the ONNX reference do. */
static uint32_t transpose_pad_begin(kir_program *p, const ir_window *w, const ir_transpose_window *t, int i, ir_dim in,
                                    ir_dim out) {
    bool same = w->auto_pad == IR_PAD_SAME_UPPER || w->auto_pad == IR_PAD_SAME_LOWER;
    if (!t->has_shape && !same) return nn_ix(p, w->auto_pad == IR_PAD_VALID ? 0 : w->pads[i]);
    uint32_t total = kb_imul(p, kb_iadd(p, kb_dim(p, in), -1), w->stride[i]);
    total = kb_bin(p, KX_SUB, kb_iadd(p, total, t->out_pad[i] + ir_window_span(w, i)), kb_dim(p, out));
    total = nn_ibin(p, KX_MAX, total, nn_ix(p, 0));
    uint32_t half = nn_ibin(p, KX_FLOORDIV, total, nn_ix(p, 2));
    return w->auto_pad == IR_PAD_SAME_UPPER ? half : kb_bin(p, KX_SUB, total, half);
}

/* X (N, C, D...) * W (C, M/group, K...) -> Y (N, M, O...):
 * Y[n, m, o...] = B[m] + sum over c < C/group, k... of
 *                 X[n, g*C/group + c, i...] * W[g*C/group + c, m mod M/group, k...]
 * where o + pad_begin - k*d = i*s; taps with no such in-range i read 0. */
int lower_conv_transpose(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    const kir_buffer *xb = kb_buf(p, kb_value(p, n->in[0])), *wb = kb_buf(p, kb_value(p, n->in[1]));
    uint32_t out = out_buf(p, node);
    const kir_buffer *yb = kb_buf(p, out);
    int k = xb->rank - 2;
    ir_window w;
    ir_transpose_window tw;
    if (ir_window_read(p->g, n, k, wb->dims + 2, &w, d) || ir_window_read_transpose(p->g, n, &w, &tw, d)) return -1;
    int64_t group = ir_attr_int(n, "group");
    ir_dim in_per_group = ir_dim_div(p->g, wb->dims[0], ir_dim_const(group)), out_per_group = wb->dims[1];
    nn_contraction c = {.n = 2, .rrank = 1 + k};
    c.op[0] = nn_operand_of(p, n->in[0]);
    c.op[1] = nn_operand_of(p, n->in[1]);
    nn_operand *ox = &c.op[0], *ow = &c.op[1];
    uint32_t channel = input_channel(p, group, out_per_group, in_per_group);
    ox->idx[0] = kb_idx(p, 0);
    ox->idx[1] = channel;
    ow->idx[0] = channel;
    ow->idx[1] = group == 1 ? kb_idx(p, 1) : nn_ibin(p, KX_MOD, kb_idx(p, 1), kb_dim(p, out_per_group));
    c.red[0] = in_per_group;
    for (int i = 0; i < k; i++) {
        uint32_t begin = transpose_pad_begin(p, &w, &tw, i, xb->dims[2 + i], yb->dims[2 + i]);
        uint32_t tap = kb_ridx(p, 1 + i);
        ox->idx[2 + i] = nn_transpose_pos(p, &w, i, begin, tap, xb->dims[2 + i], &ox->inside);
        ow->idx[2 + i] = tap;
        c.red[1 + i] = ir_dim_const(w.kernel[i]);
    }
    ir_dtype t = nn_compute_type(yb->dtype);
    uint32_t acc = kb_acc(p, t), post = plus_bias(p, n, 2, acc);
    return nn_contraction_emit(p, node, out, &c, t, post == acc ? KIR_NONE : post);
}
