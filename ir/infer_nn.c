/* infer_nn.c — inference for contractions (MatMul, Gemm, Einsum and the
 * quantized MatMulInteger, QLinearMatMul), convolutions (Conv, ConvTranspose,
 * ConvInteger, QLinearConv), pooling and normalizations. Window attributes
 * are read through window.h and Einsum equations through einsum.h, which the
 * lowering shares. */
#include <string.h>

#include "einsum.h"
#include "infer.h"
#include "window.h"

#define NODE (&g->nodes[node])

static bool is_quant8(ir_dtype t) { return t == IR_I8 || t == IR_U8; }

static int require_same_dtype(ir_graph *g, const ir_node *n, const ir_value *a, const ir_value *b, diag *d) {
    if (a->dtype == b->dtype) return 0;
    return ir_node_error(g, n, d, "'%s' is %s but '%s' is %s", a->name, ir_dtype_name(a->dtype), b->name,
                         ir_dtype_name(b->dtype));
}

static int require_quant8(ir_graph *g, const ir_node *n, const ir_value *v, diag *d) {
    if (is_quant8(v->dtype)) return 0;
    return ir_node_error(g, n, d, "'%s' is %s, expected i8 or u8", v->name, ir_dtype_name(v->dtype));
}

static bool dim_is_one(ir_dim x) { return ir_dim_is_const(x) && x.c == 1; }

/* A quantization parameter (zero point or scale), input i, when present:
 * of dtype t (IR_DTYPE_NONE: f32, f16 or bf16), and either one element or a
 * 1-D tensor of `per` elements (per NULL: one element only). With `like`,
 * also a tensor of like's rank that broadcasts to it and has size 1 along
 * axis red (MatMulInteger's N-D zero points). */
static int check_qparam(ir_graph *g, const ir_node *n, uint32_t i, ir_dtype t, const ir_dim *per,
                        const ir_value *like, int red, diag *d) {
    const ir_value *q = infer_input(g, n, i);
    if (!q) return 0;
    if (t != IR_DTYPE_NONE ? q->dtype != t : !ir_dtype_is_float(q->dtype) || q->dtype == IR_F64)
        return ir_node_error(g, n, d, "'%s' is %s, expected %s", q->name, ir_dtype_name(q->dtype),
                             t != IR_DTYPE_NONE ? ir_dtype_name(t) : "f32, f16 or bf16");
    if (ir_value_numel(g, n->in[i]) == 1) return 0;
    if (per && q->rank == 1 && ir_dim_eq(q->dims[0], *per)) return 0;
    if (like && q->rank == like->rank && dim_is_one(q->dims[red])) {
        bool ok = true;
        for (int a = 0; a < q->rank; a++) ok = ok && (dim_is_one(q->dims[a]) || ir_dim_eq(q->dims[a], like->dims[a]));
        if (ok) return 0;
    }
    return ir_node_error(g, n, d, "'%s' must hold one value%s", q->name, per ? " or one per row/column/channel" : "");
}

/* ---- MatMul family ---------------------------------------------------------- */

/* A (..., M, K) @ B (..., K, N) -> (..., M, N) with numpy's rules: a rank-1
 * A is (1, K) and a rank-1 B is (K, 1), the inserted axis then removed; the
 * batch dims broadcast. */
static int matmul_shape(ir_graph *g, const ir_node *n, const ir_value *a, const ir_value *b, ir_dim *out, int *rank,
                        diag *d) {
    if (a->rank < 1 || b->rank < 1) return ir_node_error(g, n, d, "MatMul operands must have rank >= 1");
    ir_dim ak = a->dims[a->rank - 1];
    ir_dim bk = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (ir_dim_is_const(ak) && ir_dim_is_const(bk) && ak.c != bk.c)
        return ir_node_error(g, n, d, "inner dimensions differ: '%s' has K=%lld, '%s' has K=%lld", a->name,
                             (long long)ak.c, b->name, (long long)bk.c);
    ir_dim batch[IR_MAX_RANK];
    int rb = 0;
    int abatch = a->rank > 2 ? a->rank - 2 : 0, bbatch = b->rank > 2 ? b->rank - 2 : 0;
    if (infer_broadcast_shapes(g, n, a->dims, abatch, b->dims, bbatch, batch, &rb, d)) return -1;
    int r = 0;
    for (int i = 0; i < rb; i++) out[r++] = batch[i];
    if (a->rank >= 2) out[r++] = a->dims[a->rank - 2];
    if (b->rank >= 2) out[r++] = b->dims[b->rank - 1];
    *rank = r;
    return 0;
}

int infer_matmul(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 1);
    ir_dim out[IR_MAX_RANK];
    int r;
    if (require_same_dtype(g, n, a, b, d) || matmul_shape(g, n, a, b, out, &r, d)) return -1;
    if (!ir_dtype_is_float(a->dtype) && !ir_dtype_is_int(a->dtype))
        return ir_node_error(g, n, d, "MatMul of %s is not supported", ir_dtype_name(a->dtype));
    return infer_set(g, n, 0, a->dtype, r, out, d);
}

/* The row dim of A (M) and the column dim of B (N) that per-row / per-column
 * quantization parameters follow; NULL where the operand is a vector. */
static const ir_dim *matmul_rows(const ir_value *a) { return a->rank >= 2 ? &a->dims[a->rank - 2] : NULL; }
static const ir_dim *matmul_cols(const ir_value *b) { return b->rank >= 2 ? &b->dims[b->rank - 1] : NULL; }

/* MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> i32 */
int infer_matmul_integer(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 1);
    ir_dim out[IR_MAX_RANK];
    int r;
    if (require_quant8(g, n, a, d) || require_quant8(g, n, b, d) || matmul_shape(g, n, a, b, out, &r, d)) return -1;
    if (check_qparam(g, n, 2, a->dtype, matmul_rows(a), a, a->rank - 1, d) ||
        check_qparam(g, n, 3, b->dtype, matmul_cols(b), b, b->rank >= 2 ? b->rank - 2 : 0, d))
        return -1;
    return infer_set(g, n, 0, IR_I32, r, out, d);
}

/* QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) */
int infer_qlinear_matmul(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 3), *yzp = infer_input(g, n, 7);
    ir_dim out[IR_MAX_RANK];
    int r;
    if (require_quant8(g, n, a, d) || require_quant8(g, n, b, d) || require_quant8(g, n, yzp, d) ||
        matmul_shape(g, n, a, b, out, &r, d))
        return -1;
    ir_dtype st = infer_input(g, n, 1)->dtype;
    if (check_qparam(g, n, 1, IR_DTYPE_NONE, matmul_rows(a), NULL, 0, d) ||
        check_qparam(g, n, 2, a->dtype, matmul_rows(a), NULL, 0, d) ||
        check_qparam(g, n, 4, st, matmul_cols(b), NULL, 0, d) ||
        check_qparam(g, n, 5, b->dtype, matmul_cols(b), NULL, 0, d) ||
        check_qparam(g, n, 6, st, matmul_rows(a), NULL, 0, d) ||
        check_qparam(g, n, 7, yzp->dtype, matmul_rows(a), NULL, 0, d))
        return -1;
    return infer_set(g, n, 0, yzp->dtype, r, out, d);
}

int infer_gemm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 1), *c = infer_input(g, n, 2);
    if (a->rank != 2 || b->rank != 2) return ir_node_error(g, n, d, "Gemm operands A and B must have rank 2");
    if (require_same_dtype(g, n, a, b, d) || (c && require_same_dtype(g, n, a, c, d))) return -1;
    int ta = ir_attr_int(n, "transA") != 0, tb = ir_attr_int(n, "transB") != 0;
    /* A' (M, K) @ B' (K, N) -> (M, N) */
    ir_dim m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1];
    ir_dim kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (ir_dim_is_const(ka) && ir_dim_is_const(kb) && ka.c != kb.c)
        return ir_node_error(g, n, d, "inner dimensions differ (%lld vs %lld)", (long long)ka.c, (long long)kb.c);
    ir_dim out[2] = {m, nn};
    /* C broadcasts to (M, N) (unidirectionally): each of its dims is 1 or equal */
    if (c && c->rank > 2) return ir_node_error(g, n, d, "C has rank %d, expected at most 2", c->rank);
    for (int i = 0; c && i < c->rank; i++) {
        ir_dim have = c->dims[i], want = out[i + 2 - c->rank];
        if (!dim_is_one(have) && !ir_dim_eq(have, want) && ir_dim_is_const(have) && ir_dim_is_const(want))
            return ir_node_error(g, n, d, "C has size %lld at axis %d, which does not broadcast to %lld", (long long)have.c,
                                 i, (long long)want.c);
    }
    return infer_set(g, n, 0, a->dtype, 2, out, d);
}

/* Einsum(inputs...) */
int infer_einsum(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    ir_einsum e;
    if (ir_einsum_parse(g, n, &e, d)) return -1;
    for (uint32_t i = 1; i < n->n_in; i++)
        if (require_same_dtype(g, n, infer_input(g, n, 0), infer_input(g, n, i), d)) return -1;
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < e.out_rank; i++) out[i] = e.size[e.out[i]];
    return infer_set(g, n, 0, infer_input(g, n, 0)->dtype, e.out_rank, out, d);
}

/* ---- convolutions ------------------------------------------------------------ */

/* X (N, C, D...) * W (M, C/group, K...) -> Y (N, M, O...); B (M) if present. */
int infer_conv_shape(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *wt, const ir_value *b,
                     ir_dim *out, diag *d) {
    if (x->rank < 3) return ir_node_error(g, n, d, "input X has rank %d, expected at least 3", x->rank);
    if (wt->rank != x->rank) return ir_node_error(g, n, d, "input W has rank %d, expected %d", wt->rank, x->rank);
    int64_t group = ir_attr_int(n, "group");
    if (group < 1) return ir_node_error(g, n, d, "group must be positive, got %lld", (long long)group);
    ir_dim c = x->dims[1], wc = wt->dims[1], m = wt->dims[0];
    if (ir_dim_is_const(c) && ir_dim_is_const(wc) && c.c != wc.c * group)
        return ir_node_error(g, n, d, "X has %lld channels but W expects %lld x group %lld", (long long)c.c,
                             (long long)wc.c, (long long)group);
    if (ir_dim_is_const(m) && m.c % group)
        return ir_node_error(g, n, d, "W has %lld output channels, not a multiple of group %lld", (long long)m.c,
                             (long long)group);
    if (b && (b->rank != 1 || !ir_dim_eq(b->dims[0], m))) return ir_node_error(g, n, d, "bias B must have shape (M)");
    ir_window w;
    int k = x->rank - 2;
    if (ir_window_read(g, n, k, wt->dims + 2, &w, d)) return -1;
    out[0] = x->dims[0];
    out[1] = m;
    for (int i = 0; i < k; i++) out[2 + i] = ir_window_out(g, &w, i, x->dims[2 + i]);
    return 0;
}

int infer_conv(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 1), *b = infer_input(g, n, 2);
    ir_dim out[IR_MAX_RANK];
    if (require_same_dtype(g, n, x, wt, d) || (b && require_same_dtype(g, n, x, b, d)) ||
        infer_conv_shape(g, n, x, wt, b, out, d))
        return -1;
    if (!ir_dtype_is_float(x->dtype)) return ir_node_error(g, n, d, "Conv of %s is not supported", ir_dtype_name(x->dtype));
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ConvInteger(x, w, x_zero_point?, w_zero_point?) -> i32 */
int infer_conv_integer(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 1);
    ir_dim out[IR_MAX_RANK];
    if (require_quant8(g, n, x, d) || require_quant8(g, n, wt, d) || infer_conv_shape(g, n, x, wt, NULL, out, d) ||
        check_qparam(g, n, 2, x->dtype, NULL, NULL, 0, d) || check_qparam(g, n, 3, wt->dtype, &wt->dims[0], NULL, 0, d))
        return -1;
    return infer_set(g, n, 0, IR_I32, x->rank, out, d);
}

/* QLinearConv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B?) */
int infer_qlinear_conv(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 3), *yzp = infer_input(g, n, 7);
    const ir_value *b = infer_input(g, n, 8);
    ir_dim out[IR_MAX_RANK];
    if (require_quant8(g, n, x, d) || require_quant8(g, n, wt, d) || require_quant8(g, n, yzp, d) ||
        infer_conv_shape(g, n, x, wt, b, out, d))
        return -1;
    if (b && b->dtype != IR_I32) return ir_node_error(g, n, d, "bias B is %s, expected i32", ir_dtype_name(b->dtype));
    ir_dtype st = infer_input(g, n, 1)->dtype;
    if (check_qparam(g, n, 1, IR_DTYPE_NONE, NULL, NULL, 0, d) || check_qparam(g, n, 2, x->dtype, NULL, NULL, 0, d) ||
        check_qparam(g, n, 4, st, &wt->dims[0], NULL, 0, d) ||
        check_qparam(g, n, 5, wt->dtype, &wt->dims[0], NULL, 0, d) || check_qparam(g, n, 6, st, NULL, NULL, 0, d) ||
        check_qparam(g, n, 7, yzp->dtype, NULL, NULL, 0, d))
        return -1;
    return infer_set(g, n, 0, yzp->dtype, x->rank, out, d);
}

/* Output size of spatial axis i of a ConvTranspose: output_shape when given,
 * in * stride for SAME_*, else stride * (in - 1) + output_padding + span - pads. */
static ir_dim conv_transpose_out(ir_graph *g, const ir_window *w, const ir_transpose_window *t, int i, ir_dim in) {
    if (t->has_shape) return ir_dim_const(t->out_shape[i]);
    ir_dim s = ir_dim_const(w->stride[i]);
    if (w->auto_pad == IR_PAD_SAME_UPPER || w->auto_pad == IR_PAD_SAME_LOWER) return ir_dim_mul(g, in, s);
    int64_t pads = w->auto_pad == IR_PAD_VALID ? 0 : w->pads[i] + w->pads[i + w->k];
    ir_dim o = ir_dim_mul(g, ir_dim_sub(g, in, ir_dim_const(1)), s);
    return ir_dim_add(g, o, ir_dim_const(t->out_pad[i] + ir_window_span(w, i) - pads));
}

int infer_conv_transpose(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 1), *b = infer_input(g, n, 2);
    /* X (N, C, D...) * W (C, M/group, K...) -> Y (N, M, O...) */
    if (x->rank < 3 || wt->rank != x->rank)
        return ir_node_error(g, n, d, "X and W must have the same rank >= 3 (got %d and %d)", x->rank, wt->rank);
    if (require_same_dtype(g, n, x, wt, d) || (b && require_same_dtype(g, n, x, b, d))) return -1;
    if (!ir_dtype_is_float(x->dtype))
        return ir_node_error(g, n, d, "ConvTranspose of %s is not supported", ir_dtype_name(x->dtype));
    int64_t group = ir_attr_int(n, "group");
    if (group < 1) return ir_node_error(g, n, d, "group must be positive");
    if (!ir_dim_eq(x->dims[1], wt->dims[0]))
        return ir_node_error(g, n, d, "X has a different channel count than W's first axis");
    if (ir_dim_is_const(wt->dims[0]) && wt->dims[0].c % group)
        return ir_node_error(g, n, d, "W has %lld input channels, not a multiple of group %lld",
                             (long long)wt->dims[0].c, (long long)group);
    ir_dim m = ir_dim_mul(g, wt->dims[1], ir_dim_const(group));
    if (b && (b->rank != 1 || !ir_dim_eq(b->dims[0], m))) return ir_node_error(g, n, d, "bias B must have shape (M)");
    ir_window w;
    ir_transpose_window t;
    int k = x->rank - 2;
    if (ir_window_read(g, n, k, wt->dims + 2, &w, d) || ir_window_read_transpose(g, n, &w, &t, d)) return -1;
    ir_dim out[IR_MAX_RANK] = {x->dims[0], m};
    for (int i = 0; i < k; i++) out[2 + i] = conv_transpose_out(g, &w, &t, i, x->dims[2 + i]);
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- pooling ------------------------------------------------------------------ */

int infer_pool(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank < 3) return ir_node_error(g, n, d, "input has rank %d, expected at least 3", x->rank);
    bool is_max = n->op == IR_OP_MaxPool;
    if (!ir_dtype_is_float(x->dtype) && !(is_max && is_quant8(x->dtype)))
        return ir_node_error(g, n, d, "%s of %s is not supported", ir_op_get(n->op)->name, ir_dtype_name(x->dtype));
    if (ir_attr_index(n->op, "p") >= 0 && ir_attr_int(n, "p") < 1)
        return ir_node_error(g, n, d, "p must be positive, got %lld", (long long)ir_attr_int(n, "p"));
    ir_window w;
    int k = x->rank - 2;
    if (ir_window_read(g, n, k, NULL, &w, d)) return -1;
    if (is_max && (ir_attr_int(n, "storage_order") < 0 || ir_attr_int(n, "storage_order") > 1))
        return ir_node_error(g, n, d, "storage_order must be 0 or 1");
    ir_dim out[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < k; i++) out[2 + i] = ir_window_out(g, &w, i, x->dims[2 + i]);
    if (infer_set(g, n, 0, x->dtype, x->rank, out, d)) return -1;
    return infer_set(g, n, 1, IR_I64, x->rank, out, d); /* MaxPool indices */
}

int infer_global_pool(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank < 2) return ir_node_error(g, n, d, "input has rank %d, expected at least 2", x->rank);
    if (!ir_dtype_is_float(x->dtype))
        return ir_node_error(g, n, d, "%s of %s is not supported", ir_op_get(n->op)->name, ir_dtype_name(x->dtype));
    if (ir_attr_index(n->op, "p") >= 0 && ir_attr_int(n, "p") < 1)
        return ir_node_error(g, n, d, "p must be positive, got %lld", (long long)ir_attr_int(n, "p"));
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) out[i] = i < 2 ? x->dims[i] : ir_dim_const(1);
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- normalization ---------------------------------------------------------- */

int infer_trailing_norm(ir_graph *g, const ir_node *n, int *axis, ir_dtype *stash, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    return infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, axis, d) || infer_norm_stash_type(g, n, stash, d) ||
                   infer_norm_bcast_param(g, n, 1, d)
               ? -1
               : 0;
}

int infer_layer_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int axis;
    ir_dtype st;
    if (infer_trailing_norm(g, n, &axis, &st, d) || infer_norm_bcast_param(g, n, 2, d)) return -1;
    if (infer_set(g, n, 0, x->dtype, x->rank, x->dims, d)) return -1;
    ir_dim stat[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stat[i] = i < axis ? x->dims[i] : ir_dim_const(1);
    if (infer_set(g, n, 1, st, x->rank, stat, d)) return -1;
    return infer_set(g, n, 2, st, x->rank, stat, d);
}
