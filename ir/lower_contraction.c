/* lower_contraction.c — lowering of MatMul, Gemm and their quantized forms
 * (MatMulInteger, QLinearMatMul). Each is one SUM reduction over K of a
 * product of two loads; the operands are described once (matmul_operands)
 * and the variants differ only in zero points and the epilogue: a cast,
 * alpha / beta / C, or requantization. */
#include "lower_nn.h"

#define NODE (&p->g->nodes[node])

/* Output axes of M and N in a MatMul result, -1 where the operand was a
 * vector (numpy drops that axis). */
typedef struct matmul_axes {
    int m, n;
} matmul_axes;

/* Index of operand x's batch axis j, right-aligned with the output's batch
 * axes (n_batch of them); 0 where x has size 1 and the output does not. */
static uint32_t batch_index(kir_program *p, const kir_buffer *x, int j, const kir_buffer *y, int n_batch) {
    int oa = j + n_batch - (x->rank - 2);
    bool bcast = ir_dim_is_const(x->dims[j]) && x->dims[j].c == 1 &&
                 !(ir_dim_is_const(y->dims[oa]) && y->dims[oa].c == 1);
    return bcast ? nn_ix(p, 0) : kb_idx(p, oa);
}

/* A (..., M, K) @ B (..., K, N) -> Y (..., M, N), numpy rules (rank-1
 * operands, broadcast batch): Y[..., m, n] = sum over k of A[..., m, k] * B[..., k, n]. */
static matmul_axes matmul_operands(kir_program *p, ir_id a, ir_id b, ir_id y, nn_contraction *c) {
    const kir_buffer *ab = kb_buf(p, kb_value(p, a)), *bb = kb_buf(p, kb_value(p, b)), *yb = kb_buf(p, kb_value(p, y));
    int ra = ab->rank, rb = bb->rank, ro = yb->rank;
    int n_batch = ro - (ra >= 2) - (rb >= 2);
    matmul_axes ax = {ra >= 2 ? n_batch : -1, rb >= 2 ? ro - 1 : -1};
    uint32_t k = kb_ridx(p, 0);
    c->n = 2;
    c->op[0] = nn_operand_of(p, a);
    c->op[1] = nn_operand_of(p, b);
    nn_operand *oa = &c->op[0], *ob = &c->op[1];
    for (int j = 0; j < ra - 2; j++) oa->idx[j] = batch_index(p, ab, j, yb, n_batch);
    for (int j = 0; j < rb - 2; j++) ob->idx[j] = batch_index(p, bb, j, yb, n_batch);
    if (ra >= 2) oa->idx[ra - 2] = kb_idx(p, ax.m);
    oa->idx[ra - 1] = k;
    if (rb >= 2) {
        ob->idx[rb - 2] = k;
        ob->idx[rb - 1] = kb_idx(p, ax.n);
    } else {
        ob->idx[0] = k;
    }
    /* 1-D zero points run along A's rows and B's columns */
    oa->zp_axis = ra >= 2 ? ra - 2 : 0;
    ob->zp_axis = rb - 1;
    c->rrank = 1;
    c->red[0] = ab->dims[ra - 1];
    return ax;
}

static uint32_t out_buf(kir_program *p, ir_id node) { return kb_value(p, p->g->nodes[node].out[0]); }

/* A Gemm coefficient in type t (integer Gemm: truncated). */
static uint32_t coefficient(kir_program *p, ir_dtype t, double v) {
    return ir_dtype_is_float(t) ? kb_const_f(p, t, v) : kb_const_i(p, t, (int64_t)v);
}

int lower_matmul(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    matmul_operands(p, n->in[0], n->in[1], n->out[0], &c);
    ir_dtype t = nn_compute_type(kb_buf(p, out_buf(p, node))->dtype);
    return nn_contraction_emit(p, node, out_buf(p, node), &c, t, KIR_NONE);
}

/* MatMulInteger: sum over k of (A - a_zero_point) * (B - b_zero_point) in i32. */
int lower_matmul_integer(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    matmul_operands(p, n->in[0], n->in[1], n->out[0], &c);
    c.op[0].zp = n->n_in > 2 ? n->in[2] : IR_NONE;
    c.op[1].zp = n->n_in > 3 ? n->in[3] : IR_NONE;
    return nn_contraction_emit(p, node, out_buf(p, node), &c, IR_I32, KIR_NONE);
}

/* QLinearMatMul: the MatMulInteger sum, requantized:
 * y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point). */
int lower_qlinear_matmul(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    nn_contraction c;
    matmul_axes ax = matmul_operands(p, n->in[0], n->in[3], n->out[0], &c);
    c.op[0].zp = n->in[2];
    c.op[1].zp = n->in[5];
    /* per-row parameters follow Y's M axis, per-column ones its N axis */
    uint32_t sa = nn_param_at(p, n->in[1], ax.m), sb = nn_param_at(p, n->in[4], ax.n);
    uint32_t sy = nn_param_at(p, n->in[6], ax.m), zy = nn_param_at(p, n->in[7], ax.m);
    uint32_t acc = nn_int_sum(p, node, out_buf(p, node), &c);
    if (acc == KIR_NONE) return -1;
    return kb_kernel(p, node, out_buf(p, node), nn_requantize(p, acc, sa, sb, sy, zy)) < 0 ? -1 : 0;
}

/* Gemm: Y (M, N) = alpha * sum over k of A'[m, k] * B'[k, n] + beta * C,
 * A' = transA ? A^T : A, B' = transB ? B^T : B, C broadcast to (M, N). */
int lower_gemm(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    bool ta = ir_attr_int(n, "transA") != 0, tb = ir_attr_int(n, "transB") != 0;
    uint32_t m = kb_idx(p, 0), nn = kb_idx(p, 1), k = kb_ridx(p, 0);
    nn_contraction c = {.n = 2, .rrank = 1};
    c.op[0] = nn_operand_of(p, n->in[0]);
    c.op[1] = nn_operand_of(p, n->in[1]);
    c.op[0].idx[0] = ta ? k : m;
    c.op[0].idx[1] = ta ? m : k;
    c.op[1].idx[0] = tb ? nn : k;
    c.op[1].idx[1] = tb ? k : nn;
    c.red[0] = kb_buf(p, c.op[0].buf)->dims[ta ? 0 : 1];
    uint32_t out = out_buf(p, node);
    const kir_buffer *ob = kb_buf(p, out);
    ir_dtype t = nn_compute_type(ob->dtype);
    double alpha = ir_attr_float(n, "alpha"), beta = ir_attr_float(n, "beta");
    uint32_t post = kb_acc(p, t);
    if (alpha != 1.0) post = kb_bin(p, KX_MUL, coefficient(p, t, alpha), post);
    if (n->n_in > 2 && n->in[2] != IR_NONE && beta != 0.0) {
        uint32_t cv = kb_cast(p, t, kb_load_bcast(p, kb_value(p, n->in[2]), ob->rank, ob->dims), false);
        if (beta != 1.0) cv = kb_bin(p, KX_MUL, coefficient(p, t, beta), cv);
        post = kb_bin(p, KX_ADD, post, cv);
    }
    return nn_contraction_emit(p, node, out, &c, t, post == kb_acc(p, t) ? KIR_NONE : post);
}
