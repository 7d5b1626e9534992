/* lower_nn.c — the helpers of lower_nn.h: folded index math, the terms of
 * a sum-of-products reduction (zero points, padding guards, compute types),
 * requantization, and sliding-window positions with their padding. */
#include <string.h>

#include "lower_nn.h"

#include <math.h>

void nn_bind_node(kir_program *p, ir_id node) {
    const ir_node *n = &p->g->nodes[node];
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in[i] != IR_NONE) kb_value(p, n->in[i]);
    for (uint32_t i = 0; i < n->n_out; i++)
        if (n->out[i] != IR_NONE) kb_value(p, n->out[i]);
}

/* ---- index math ------------------------------------------------------------------ */

static bool const_val(const kir_program *p, uint32_t e, int64_t *v) {
    if (p->exprs[e].op != KX_CONST) return false;
    *v = p->exprs[e].ival;
    return true;
}

static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

uint32_t nn_ibin(kir_program *p, kx_op op, uint32_t a, uint32_t b) {
    int64_t x, y;
    if (const_val(p, a, &x) && const_val(p, b, &y)) {
        switch (op) {
        case KX_MAX: return nn_ix(p, x > y ? x : y);
        case KX_MIN: return nn_ix(p, x < y ? x : y);
        case KX_FLOORDIV: if (y) return nn_ix(p, floordiv(x, y)); break;
        case KX_MOD: if (y) return nn_ix(p, x - floordiv(x, y) * y); break;
        default: break;
        }
    }
    if ((op == KX_FLOORDIV) && const_val(p, b, &y) && y == 1) return a;
    return kb_bin(p, op, a, b);
}

uint32_t nn_iceildiv(kir_program *p, uint32_t a, int64_t b) {
    /* ceil(a / b) = -floor(-a / b) */
    return kb_bin(p, KX_SUB, nn_ix(p, 0), nn_ibin(p, KX_FLOORDIV, kb_bin(p, KX_SUB, nn_ix(p, 0), a), nn_ix(p, b)));
}

uint32_t nn_and(kir_program *p, uint32_t a, uint32_t b) {
    if (a == KIR_NONE) return b;
    if (b == KIR_NONE) return a;
    return kb_bin(p, KX_AND, a, b);
}

/* ---- contractions ------------------------------------------------------------------ */

nn_operand nn_operand_of(kir_program *p, ir_id value) {
    nn_operand o = {.buf = kb_value(p, value), .inside = KIR_NONE, .zp = IR_NONE, .zp_axis = 0};
    return o;
}

ir_dtype nn_compute_type(ir_dtype t) {
    if (t == IR_I8 || t == IR_U8) return IR_I32;
    if (t == IR_F16 || t == IR_BF16) return IR_F32;
    return t;
}

static bool all_ones(const kir_buffer *b) {
    for (int a = 0; a < b->rank; a++)
        if (!ir_dim_is_const(b->dims[a]) || b->dims[a].c != 1) return false;
    return true;
}

/* The zero point of operand o for the element it loads: its only value, the
 * value along o's zp_axis (1-D), or the broadcast element (same rank). */
static uint32_t zero_point(kir_program *p, const nn_operand *o) {
    uint32_t zb = kb_value(p, o->zp), idx[IR_MAX_RANK];
    const kir_buffer *z = kb_buf(p, zb);
    for (int a = 0; a < z->rank; a++) {
        bool one = ir_dim_is_const(z->dims[a]) && z->dims[a].c == 1;
        idx[a] = all_ones(z) || one ? nn_ix(p, 0) : z->rank == 1 ? o->idx[o->zp_axis] : o->idx[a];
    }
    return kb_load(p, zb, idx);
}

static uint32_t zero_of(kir_program *p, ir_dtype t) {
    return ir_dtype_is_float(t) ? kb_const_f(p, t, 0.0) : kb_const_i(p, t, 0);
}

/* (x - zero_point) in type t, 0 outside. */
static uint32_t operand_term(kir_program *p, const nn_operand *o, ir_dtype t) {
    uint32_t v = kb_cast(p, t, kb_load(p, o->buf, o->idx), false);
    if (o->zp != IR_NONE) v = kb_bin(p, KX_SUB, v, kb_cast(p, t, zero_point(p, o), false));
    if (o->inside != KIR_NONE) v = kb_select(p, o->inside, v, zero_of(p, t));
    return v;
}

uint32_t nn_contraction_body(kir_program *p, const nn_contraction *c, ir_dtype t) {
    uint32_t body = operand_term(p, &c->op[0], t);
    for (int i = 1; i < c->n; i++) body = kb_bin(p, KX_MUL, body, operand_term(p, &c->op[i], t));
    return body;
}

int nn_contraction_emit(kir_program *p, ir_id node, uint32_t out, const nn_contraction *c, ir_dtype t, uint32_t post) {
    ir_dtype ot = kb_buf(p, out)->dtype;
    uint32_t body = nn_contraction_body(p, c, t);
    if (c->rrank == 0 && post == KIR_NONE) return kb_kernel(p, node, out, kb_cast(p, ot, body, false)) < 0 ? -1 : 0;
    if (post == KIR_NONE && t != ot) post = kb_acc(p, t);
    if (post != KIR_NONE) post = kb_cast(p, ot, post, false);
    return kb_reduce(p, node, out, KR_SUM, c->rrank, c->red, t, body, post) < 0 ? -1 : 0;
}

uint32_t nn_int_sum(kir_program *p, ir_id node, uint32_t out, const nn_contraction *c) {
    int rank = kb_buf(p, out)->rank;
    ir_dim dims[IR_MAX_RANK];
    memcpy(dims, kb_buf(p, out)->dims, (size_t)rank * sizeof *dims);
    uint32_t t = kb_temp(p, "int_sum", IR_I32, rank, dims);
    if (nn_contraction_emit(p, node, t, c, IR_I32, KIR_NONE)) return KIR_NONE;
    return kb_load_same(p, t);
}

uint32_t nn_param_at(kir_program *p, ir_id v, int out_axis) {
    uint32_t b = kb_value(p, v), idx[IR_MAX_RANK];
    const kir_buffer *buf = kb_buf(p, b);
    for (int a = 0; a < buf->rank; a++) idx[a] = all_ones(buf) ? nn_ix(p, 0) : kb_idx(p, out_axis);
    return kb_load(p, b, idx);
}

uint32_t nn_requantize(kir_program *p, uint32_t acc, uint32_t sa, uint32_t sb, uint32_t sy, uint32_t zp) {
    ir_dtype ot = kb_type(p, zp);
    /* as onnxruntime (MLAS requantization): the multiplier in the scales'
     * dtype, the product f32(acc) * multiplier in that dtype too, rounded
     * half to even, plus zp, saturated */
    uint32_t mult = kb_bin(p, KX_DIV, kb_bin(p, KX_MUL, sa, sb), sy);
    ir_dtype ft = kb_type(p, mult) == IR_F64 ? IR_F64 : IR_F32;
    uint32_t y = kb_bin(p, KX_MUL, kb_cast(p, ft, acc, false), kb_cast(p, ft, mult, false));
    y = kb_bin(p, KX_ADD, kb_cast(p, IR_F64, kb_un(p, KX_ROUND, y), false), kb_cast(p, IR_F64, zp, false));
    /* the range of ot: the identities of MAX (its minimum) and MIN (its maximum) */
    double lo = (double)kb_reduce_init_i(KR_MAX, ot), hi = (double)kb_reduce_init_i(KR_MIN, ot);
    y = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, y, kb_const_f(p, IR_F64, lo)), kb_const_f(p, IR_F64, hi));
    return kb_cast(p, ot, y, false);
}

/* ---- sliding windows ---------------------------------------------------------------- */

/* Total SAME_* padding: max(0, (out - 1) * stride + span - in). */
static uint32_t same_total(kir_program *p, const ir_window *w, int i, ir_dim in, ir_dim out) {
    uint32_t t = kb_imul(p, kb_iadd(p, kb_dim(p, out), -1), w->stride[i]);
    t = kb_bin(p, KX_SUB, kb_iadd(p, t, ir_window_span(w, i)), kb_dim(p, in));
    return nn_ibin(p, KX_MAX, t, nn_ix(p, 0));
}

uint32_t nn_pad_begin(kir_program *p, const ir_window *w, int i, ir_dim in, ir_dim out) {
    switch (w->auto_pad) {
    case IR_PAD_NOTSET: return nn_ix(p, w->pads[i]);
    case IR_PAD_VALID: return nn_ix(p, 0);
    case IR_PAD_SAME_UPPER: return nn_ibin(p, KX_FLOORDIV, same_total(p, w, i, in, out), nn_ix(p, 2));
    case IR_PAD_SAME_LOWER: return nn_iceildiv(p, same_total(p, w, i, in, out), 2);
    }
    return nn_ix(p, 0);
}

uint32_t nn_pad_end(kir_program *p, const ir_window *w, int i, ir_dim in, ir_dim out) {
    if (w->auto_pad == IR_PAD_NOTSET) return nn_ix(p, w->pads[i + w->k]);
    if (w->auto_pad == IR_PAD_VALID) return nn_ix(p, 0);
    return kb_bin(p, KX_SUB, same_total(p, w, i, in, out), nn_pad_begin(p, w, i, in, out));
}

uint32_t nn_window_pos(kir_program *p, const ir_window *w, int i, uint32_t pad_begin, uint32_t tap) {
    uint32_t start = kb_bin(p, KX_SUB, kb_imul(p, kb_idx(p, 2 + i), w->stride[i]), pad_begin);
    return kb_bin(p, KX_ADD, start, kb_imul(p, tap, w->dil[i]));
}

uint32_t nn_transpose_pos(kir_program *p, const ir_window *w, int i, uint32_t pad_begin, uint32_t tap, ir_dim size,
                          uint32_t *inside) {
    /* o + pad_begin - k*d, which must be pos*s */
    uint32_t at = kb_bin(p, KX_SUB, kb_bin(p, KX_ADD, kb_idx(p, 2 + i), pad_begin), kb_imul(p, tap, w->dil[i]));
    uint32_t pos = nn_ibin(p, KX_FLOORDIV, at, nn_ix(p, w->stride[i]));
    *inside = nn_and(p, *inside, nn_in_range(p, pos, size));
    if (w->stride[i] != 1)
        *inside = nn_and(p, *inside, kb_bin(p, KX_EQ, nn_ibin(p, KX_MOD, at, nn_ix(p, w->stride[i])), nn_ix(p, 0)));
    return pos;
}

uint32_t nn_in_range(kir_program *p, uint32_t pos, ir_dim size) {
    return kb_bin(p, KX_AND, kb_bin(p, KX_GE, pos, nn_ix(p, 0)), kb_bin(p, KX_LT, pos, kb_dim(p, size)));
}

/* Whether every tap of axis i lands inside the input (all sizes constant),
 * so that the axis needs no guard. */
static bool window_always_inside(const kir_program *p, const ir_window *w, int i, uint32_t begin, ir_dim in, ir_dim out) {
    int64_t pb;
    if (!const_val(p, begin, &pb) || !ir_dim_is_const(in) || !ir_dim_is_const(out)) return false;
    int64_t last = (out.c - 1) * w->stride[i] - pb + ir_window_span(w, i) - 1;
    return pb <= 0 && last < in.c;
}

void nn_window_taps(kir_program *p, const ir_window *w, const ir_dim *in, const ir_dim *out, int first_red,
                    nn_taps *t) {
    t->inside = KIR_NONE;
    for (int i = 0; i < w->k; i++) {
        t->begin[i] = nn_pad_begin(p, w, i, in[i], out[i]);
        t->pos[i] = nn_window_pos(p, w, i, t->begin[i], kb_ridx(p, first_red + i));
        if (!window_always_inside(p, w, i, t->begin[i], in[i], out[i]))
            t->inside = nn_and(p, t->inside, nn_in_range(p, t->pos[i], in[i]));
    }
}
