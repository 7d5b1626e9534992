/* fuse_qdq.c — QDQ groups of a quantized ONNX model into integer kernels.
 *
 * onnxruntime's quantizer writes QDQ models: a float Conv or MatMul whose
 * inputs come from DequantizeLinear and whose only reader is a
 * QuantizeLinear. Run as written, the contraction is float. This pass turns
 * each such group into the equivalent QOperator node, as onnxruntime's own
 * graph optimizer does, so that it runs as an i32 sum of 8-bit products with
 * one requantization (lower_conv.c, lower_contraction.c):
 *
 *   Q(Conv(DQ(x), DQ(w), DQ(b_i32)), ys, yzp)  ->  QLinearConv(x, xs, xzp, w, ws, wzp, ys, yzp, b_i32)
 *   Q(MatMul(DQ(a), DQ(b)), ys, yzp)           ->  QLinearMatMul(a, as, azp, b, bs, bzp, ys, yzp)
 *
 * Conditions (else the group stays float): 8-bit quantized operands with f32
 * scales; x / a and y per tensor; the weight per tensor or per output
 * channel (Conv axis 0, MatMul's last axis); the Conv bias an i32 tensor
 * whose scale is exactly xs * ws (as the quantizer makes it) and whose zero
 * point is 0; the contraction's output read by that QuantizeLinear alone.
 * The QuantizeLinear node becomes the fused node in place (it follows all
 * the values it reads, so node order stays valid); the DequantizeLinear and
 * float nodes are left to dce. Missing zero points become 0 constants of
 * the operand's dtype.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/quant.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

/* The DequantizeLinear producing v, or NULL. */
static const ir_node *dq_of(const ir_graph *g, ir_id v) {
    if (v == IR_NONE || g->values[v].kind != IR_VALUE_NODE) return NULL;
    const ir_node *p = &g->nodes[g->values[v].producer];
    return !p->dead && p->op == IR_OP_DequantizeLinear ? p : NULL;
}

static bool quant8(ir_dtype t) { return t == IR_I8 || t == IR_U8; }

/* Scale (input 1) and zero point (input 2) of a Q/DQ node n, laid out per
 * tensor, or per axis `axis` (-1: per tensor only), with an 8-bit quantized
 * tensor (input 0 of a DQ, output of a Q: `q`) and an f32 scale. */
static bool qparams_ok(ir_graph *g, const ir_node *n, ir_id q, int axis) {
    quant_layout l;
    diag quiet;
    diag_init(&quiet);
    if (!quant8(g->values[q].dtype) || g->values[n->in[1]].dtype != IR_F32) return false;
    if (quant_layout_of(g, n, &l, &quiet)) return false;
    return l.kind == QUANT_TENSOR || (l.kind == QUANT_AXIS && axis >= 0 && l.axis == axis);
}

/* A 0 scalar of dtype t (the omitted zero point). */
static ir_id zero_const(ir_graph *g, ir_dtype t, diag *d) {
    void *data = arena_alloc(&g->arena, 1);
    if (!data) {
        diag_error(d, "%s: out of memory", g->source);
        return IR_NONE;
    }
    return ir_add_const(g, ir_fresh_name(g, "qdq_zero_point"), t, 0, NULL, data, 1, -1, d);
}

/* The zero point of Q/DQ node n, or a new 0 constant of dtype t. */
static ir_id zero_point(ir_graph *g, const ir_node *n, ir_dtype t, diag *d) {
    return n->n_in > 2 && n->in[2] != IR_NONE ? n->in[2] : zero_const(g, t, d);
}

/* f32 element i of constant c (a one-element c for every i). */
static float f32_at(const ir_graph *g, ir_id c, int64_t i) {
    float x;
    if (ir_value_numel(g, c) == 1) i = 0;
    memcpy(&x, (const uint8_t *)g->values[c].data + i * 4, 4);
    return x;
}

/* The Conv bias DQ(b_i32, bs, 0) with bs[m] == f32(xs * ws[m]): b_i32, or IR_NONE. */
static ir_id int_bias(ir_graph *g, ir_id bias, const ir_node *dx, const ir_node *dw) {
    const ir_node *db = dq_of(g, bias);
    if (!db || g->values[db->in[0]].dtype != IR_I32 || g->values[db->in[1]].dtype != IR_F32) return IR_NONE;
    ir_id bs = db->in[1], xs = dx->in[1], ws = dw->in[1];
    if (g->values[bs].kind != IR_VALUE_CONST || g->values[xs].kind != IR_VALUE_CONST ||
        g->values[ws].kind != IR_VALUE_CONST || !g->values[bs].data)
        return IR_NONE;
    int64_t m = ir_value_numel(g, db->in[0]);
    if (ir_value_numel(g, bs) != 1 && ir_value_numel(g, bs) != m) return IR_NONE;
    if (ir_value_numel(g, ws) != 1 && ir_value_numel(g, ws) != m) return IR_NONE;
    for (int64_t i = 0; i < m; i++)
        if (f32_at(g, bs, i) != f32_at(g, xs, 0) * f32_at(g, ws, i)) return IR_NONE;
    if (db->n_in > 2 && db->in[2] != IR_NONE) { /* the zero point: a constant of zeros */
        const ir_value *z = &g->values[db->in[2]];
        if (z->kind != IR_VALUE_CONST || !z->data) return IR_NONE;
        for (uint64_t k = 0; k < z->nbytes; k++)
            if (((const uint8_t *)z->data)[k]) return IR_NONE;
    }
    return db->in[0];
}

/* Fuse the group whose QuantizeLinear is node q, if it is one. */
static int fuse_one(ir_graph *g, ir_id q, const uint32_t *uses, diag *d) {
    const ir_node *qn = &g->nodes[q];
    ir_id y = qn->in[0];
    if (g->values[y].kind != IR_VALUE_NODE || uses[y] != 1 || rw_is_output(g, y)) return 0;
    if (!qparams_ok(g, qn, qn->out[0], -1) || ir_attr_int(qn, "block_size")) return 0;
    ir_id cid = g->values[y].producer;
    const ir_node *c = &g->nodes[cid];
    bool conv = c->op == IR_OP_Conv;
    if (!conv && c->op != IR_OP_MatMul) return 0;
    const ir_node *dx = dq_of(g, c->in[0]), *dw = dq_of(g, c->in[1]);
    if (!dx || !dw || !qparams_ok(g, dx, dx->in[0], -1)) return 0;
    int wrank = g->values[dw->in[0]].rank;
    if (wrank < 1 || !qparams_ok(g, dw, dw->in[0], conv ? 0 : wrank - 1)) return 0;
    if (!conv && wrank == 1 && ir_value_numel(g, dw->in[1]) != 1) return 0;
    ir_id bias = IR_NONE;
    if (conv && c->n_in > 2 && c->in[2] != IR_NONE && (bias = int_bias(g, c->in[2], dx, dw)) == IR_NONE) return 0;
    ir_id xzp = zero_point(g, dx, g->values[dx->in[0]].dtype, d);
    ir_id wzp = zero_point(g, dw, g->values[dw->in[0]].dtype, d);
    ir_id yzp = zero_point(g, qn, g->values[qn->out[0]].dtype, d);
    if (xzp == IR_NONE || wzp == IR_NONE || yzp == IR_NONE) return -1;
    qn = &g->nodes[q]; /* zero_point may have grown the arrays */
    c = &g->nodes[cid];
    ir_id in[9] = {dx->in[0], dx->in[1], xzp, dw->in[0], dw->in[1], wzp, qn->in[1], yzp, bias};
    if (rw_morph(g, q, conv ? IR_OP_QLinearConv : IR_OP_QLinearMatMul, in, conv && bias != IR_NONE ? 9 : 8, d))
        return -1;
    if (conv) rw_copy_attrs(g, q, c);
    return ir_infer_node(g, q, d) ? -1 : 1;
}

int pass_fuse_qdq(ir_graph *g, diag *d) {
    uint32_t *uses = rw_use_counts(g, d);
    if (!uses) return -1;
    int rc = 0;
    for (uint32_t i = 0; i < g->n_nodes && rc >= 0; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_QuantizeLinear) rc = fuse_one(g, i, uses, d);
    free(uses);
    return rc < 0 ? -1 : 0;
}
