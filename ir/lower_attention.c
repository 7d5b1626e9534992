/* lower_attention.c — lowering of Attention, RotaryEmbedding and
 * CausalConvWithState into loop kernels.
 *
 * Attention is scaled dot-product attention in four steps, each a kernel
 * (or two) over (batch, q_heads, q_len, total) temporaries: the QK^T
 * contraction (nn_contraction of lower_nn.h, the scale in its epilogue),
 * the logits (softcap, then the additive mask, with -inf wherever a boolean
 * mask, the causal diagonal, the mask's length or nonpad_kv_seqlen rule a
 * key out), the softmax along the keys (lr_softmax of lower_reduce.h), and
 * the contraction of the probabilities with V. Unless the scores are an
 * output too, the softmax's division comes last: the unnormalized weights
 * exp(logits - max) are computed once and contracted with V, and each
 * output row divided by their sum (Lq * Dv divisions, not Lq * T). Packed 3-D inputs are read
 * in place through their head layout, grouped-query heads by dividing the
 * query head, and a past cache by first writing present = concat(past,
 * new) along the sequence. Everything is computed in lr_float_type of Q
 * (f16 and bf16 in f32), the softmax in softmax_precision where that is
 * wider.
 *
 * RotaryEmbedding is one elementwise kernel that reads each element's
 * rotation partner; CausalConvWithState a depthwise convolution over the
 * sequence prefixed with the carried state (a temporary), whose tail is the
 * next state.
 */
#include <math.h>

#include "attention.h"
#include "lower_nn.h"
#include "lower_reduce.h"

#define NODE (&p->g->nodes[node])

/* ---- heads ------------------------------------------------------------------------- */

/* A tensor of heads read as (batch, heads, seq, size): a 4-D buffer as it
 * is, a packed 3-D one (batch, seq, heads * size) through its last axis. */
typedef struct heads_view {
    uint32_t buf;
    bool packed;
    ir_dim size; /* head size */
} heads_view;

/* The index of element (b, h, s, e) of v into idx (one per buffer axis). */
static void heads_at(kir_program *p, const heads_view *v, uint32_t b, uint32_t h, uint32_t s, uint32_t e,
                     uint32_t *idx) {
    idx[0] = b;
    if (v->packed) {
        idx[1] = s;
        idx[2] = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, h, kb_dim(p, v->size)), e);
        return;
    }
    idx[1] = h;
    idx[2] = s;
    idx[3] = e;
}

/* (b, h, s, e) of the domain point of a kernel writing a heads tensor
 * (packed or not) with heads of `size` elements. */
static void heads_point(kir_program *p, bool packed, ir_dim size, uint32_t *pt) {
    pt[0] = kb_idx(p, 0);
    if (!packed) {
        for (int i = 1; i < 4; i++) pt[i] = kb_idx(p, i);
        return;
    }
    uint32_t hidden = kb_idx(p, 2), sz = kb_dim(p, size);
    pt[1] = nn_ibin(p, KX_FLOORDIV, hidden, sz);
    pt[2] = kb_idx(p, 1);
    pt[3] = nn_ibin(p, KX_MOD, hidden, sz);
}

/* An operand of a contraction reading buffer b at idx (rank entries). */
static nn_operand operand_at(kir_program *p, uint32_t b, const uint32_t *idx) {
    nn_operand o = {.buf = b, .inside = KIR_NONE, .zp = IR_NONE};
    for (int i = 0; i < kb_buf(p, b)->rank; i++) o.idx[i] = idx[i];
    return o;
}

static bool has_output(const kir_program *p, ir_id node, uint32_t o) {
    return o < NODE->n_out && NODE->out[o] != IR_NONE;
}

/* ---- Attention ------------------------------------------------------------------------ */

/* Keys (i = 1) or values (i = 2) as the contractions read them: the input,
 * or with a past cache present = concat(past, input) along the sequence,
 * written to output i (present_key / present_value; without a past it is
 * the input as 4-D) or to a temporary. */
static int attn_cache(kir_program *p, ir_id node, const attn_dims *a, uint32_t i, ir_dim size, heads_view *view) {
    const ir_node *n = NODE;
    heads_view x = {kb_value(p, n->in[i]), a->packed, size};
    *view = x;
    if (!a->has_past && !has_output(p, node, i)) return 0;
    ir_dim dims[4] = {a->batch, a->kv_heads, a->total_len, size};
    uint32_t pres = has_output(p, node, i) ? kb_value(p, n->out[i])
                                           : lr_temp(p, node, i == 1 ? "present_key" : "present_value",
                                                     kb_buf(p, x.buf)->dtype, 4, dims);
    uint32_t s = kb_idx(p, 2), past = kb_dim(p, a->past_len), idx[4];
    heads_at(p, &x, kb_idx(p, 0), kb_idx(p, 1), kb_bin(p, KX_SUB, s, past), kb_idx(p, 3), idx);
    uint32_t v = kb_load(p, x.buf, idx);
    if (a->has_past) {
        uint32_t pb = kb_value(p, n->in[i + 3]);
        v = kb_select(p, kb_bin(p, KX_LT, s, past), kb_load_same(p, pb), v);
        *view = (heads_view){pres, false, size};
    }
    // present (B, Hkv, past + L, size) = s < past ? past[b, h, s, e] : x[b, h, s - past, e]
    return kb_kernel(p, node, pres, kb_cast(p, kb_buf(p, pres)->dtype, v, false)) < 0 ? -1 : 0;
}

/* The scale of QK^T: the attribute, else 1 / sqrt(head size). */
static uint32_t attn_scale(kir_program *p, const ir_node *n, const attn_dims *a, ir_dtype t) {
    if (ir_attr_is_set(n, "scale")) return kb_const_f(p, t, ir_attr_float(n, "scale"));
    if (ir_dim_is_const(a->head)) return kb_const_f(p, t, 1.0 / sqrt((double)a->head.c));
    return kb_un(p, KX_RECIP, kb_un(p, KX_SQRT, kb_cast(p, t, kb_dim(p, a->head), false)));
}

/* qk (B, Hq, Lq, T) = scale * sum over e of Q[b, h, i, e] * K[b, h / group, j, e] */
static int attn_scores(kir_program *p, ir_id node, const attn_dims *a, const heads_view *q, const heads_view *k,
                       uint32_t qk) {
    ir_dtype t = kb_buf(p, qk)->dtype;
    uint32_t b = kb_idx(p, 0), h = kb_idx(p, 1), e = kb_ridx(p, 0), qi[4], ki[4];
    heads_at(p, q, b, h, kb_idx(p, 2), e, qi);
    heads_at(p, k, b, nn_ibin(p, KX_FLOORDIV, h, kb_dim(p, a->group)), kb_idx(p, 3), e, ki);
    nn_contraction c = {.n = 2, .rrank = 1, .red = {a->head}};
    c.op[0] = operand_at(p, q->buf, qi);
    c.op[1] = operand_at(p, k->buf, ki);
    uint32_t post = kb_bin(p, KX_MUL, kb_acc(p, t), attn_scale(p, NODE, a, t));
    return nn_contraction_emit(p, node, qk, &c, t, post);
}

/* softcap * tanh(x / softcap), or x when softcap is 0. */
static uint32_t attn_softcap(kir_program *p, const ir_node *n, uint32_t x) {
    double cap = ir_attr_float(n, "softcap");
    if (cap <= 0) return x;
    uint32_t c = kb_const_f(p, kb_type(p, x), cap);
    return kb_bin(p, KX_MUL, kb_un(p, KX_TANH, kb_bin(p, KX_DIV, x, c)), c);
}

/* attn_mask at the point (b, h, i, j) of a (B, Hq, Lq, T) domain: its leading
 * axes broadcast, its last axis read at j (guarded by *inside: the mask may
 * cover fewer keys than there are). */
static uint32_t attn_mask_at(kir_program *p, const ir_node *n, const attn_dims *a, uint32_t *inside) {
    uint32_t mb = kb_value(p, n->in[3]), idx[4];
    const kir_buffer *m = kb_buf(p, mb);
    int rm = m->rank;
    ir_dim dom[4] = {a->batch, a->q_heads, a->q_len, a->total_len}, last = m->dims[rm - 1];
    for (int ax = 0; ax < rm - 1; ax++) {
        ir_dim md = m->dims[ax], od = dom[4 - rm + ax];
        bool bcast = ir_dim_is_const(md) && md.c == 1 && !(ir_dim_is_const(od) && od.c == 1);
        idx[ax] = bcast ? nn_ix(p, 0) : kb_idx(p, 4 - rm + ax);
    }
    idx[rm - 1] = kb_idx(p, 3);
    *inside = ir_dim_eq(last, a->total_len) ? KIR_NONE : kb_bin(p, KX_LT, kb_idx(p, 3), kb_dim(p, last));
    return kb_load(p, mb, idx);
}

/* logits (B, Hq, Lq, T) = softcap(qk) + mask, or -inf where key j is masked
 * out: a false boolean mask, j beyond the mask, j > i + past (is_causal),
 * j <= i + past - sliding_window, j >= nonpad_kv_seqlen[b]. */
static int attn_logits(kir_program *p, ir_id node, const attn_dims *a, uint32_t qk, uint32_t logits) {
    const ir_node *n = NODE;
    ir_dtype t = kb_buf(p, logits)->dtype;
    uint32_t x = attn_softcap(p, n, kb_cast(p, t, kb_load_same(p, qk), false)), keep = KIR_NONE;
    uint32_t i = kb_idx(p, 2), j = kb_idx(p, 3);
    if (n->n_in > 3 && n->in[3] != IR_NONE) {
        uint32_t m = attn_mask_at(p, n, a, &keep);
        if (kb_type(p, m) == IR_BOOL) keep = nn_and(p, keep, m);
        else x = kb_bin(p, KX_ADD, x, kb_cast(p, t, m, false));
    }
    if (ir_attr_int(n, "is_causal"))
        keep = nn_and(p, keep, kb_bin(p, KX_LE, j, kb_bin(p, KX_ADD, i, kb_dim(p, a->past_len))));
    int64_t w = ir_attr_int(n, "sliding_window");
    if (w > 0) /* j + w > i + past */
        keep = nn_and(p, keep, kb_bin(p, KX_LT, kb_bin(p, KX_ADD, i, kb_dim(p, a->past_len)), kb_iadd(p, j, w)));
    if (n->n_in > 6 && n->in[6] != IR_NONE) {
        uint32_t b = kb_idx(p, 0);
        keep = nn_and(p, keep, kb_bin(p, KX_LT, j, kb_load(p, kb_value(p, n->in[6]), &b)));
    }
    if (keep != KIR_NONE) x = kb_select(p, keep, x, kb_const_f(p, t, -INFINITY));
    return kb_kernel(p, node, logits, x) < 0 ? -1 : 0;
}

/* qk_matmul_output: the scores at the stage its mode names. */
static int attn_qk_output(kir_program *p, ir_id node, uint32_t qk, uint32_t logits, uint32_t probs) {
    const ir_node *n = NODE;
    uint32_t out = kb_value(p, n->out[3]), v;
    switch (ir_attr_int(n, "qk_matmul_output_mode")) {
    case ATTN_QK_SOFTCAP: v = attn_softcap(p, n, kb_load_same(p, qk)); break;
    case ATTN_QK_BIASED: v = kb_load_same(p, logits); break;
    case ATTN_QK_SOFTMAX: v = kb_load_same(p, probs); break;
    default: v = kb_load_same(p, qk); break;
    }
    // qk_matmul_output (B, Hq, Lq, T) = the stage of the scores
    return kb_kernel(p, node, out, kb_cast(p, kb_buf(p, out)->dtype, v, false)) < 0 ? -1 : 0;
}

/* Y[b, h, i, e] (packed: Y[b, i, h * Dv + e]) = sum over j of probs[b, h, i, j] * V[b, h / group, j, e],
 * divided by sum[b, h, i, 0] where sum is not KIR_NONE (probs then holds
 * the softmax's weights, not yet normalized).
 * A packed Y is computed as (B, Hq, Lq, Dv) into a temporary, then copied:
 * there each head's rows are a plain matrix product (rows i, columns e), the
 * shape the packed GEMM engine takes; written packed, the output's last
 * axis is read by both operands and the contraction is a loop nest. */
static int attn_values(kir_program *p, ir_id node, const attn_dims *a, uint32_t probs, uint32_t sum,
                       const heads_view *v) {
    uint32_t y = kb_value(p, NODE->out[0]), vi[4], pt[4];
    ir_dim dims[4] = {a->batch, a->q_heads, a->q_len, a->v_head};
    uint32_t dst = a->packed ? lr_temp(p, node, "values", kb_buf(p, probs)->dtype, 4, dims) : y;
    for (int i = 0; i < 4; i++) pt[i] = kb_idx(p, i);
    uint32_t j = kb_ridx(p, 0), pi[4] = {pt[0], pt[1], pt[2], j};
    heads_at(p, v, pt[0], nn_ibin(p, KX_FLOORDIV, pt[1], kb_dim(p, a->group)), j, pt[3], vi);
    nn_contraction c = {.n = 2, .rrank = 1, .red = {a->total_len}};
    c.op[0] = operand_at(p, probs, pi);
    c.op[1] = operand_at(p, v->buf, vi);
    ir_dtype t = kb_buf(p, probs)->dtype;
    uint32_t post = KIR_NONE;
    if (sum != KIR_NONE) {
        uint32_t si[4] = {pt[0], pt[1], pt[2], nn_ix(p, 0)};
        post = kb_bin(p, KX_DIV, kb_acc(p, t), kb_load(p, sum, si));
    }
    if (nn_contraction_emit(p, node, dst, &c, t, post)) return -1;
    if (dst == y) return 0;
    heads_point(p, true, a->v_head, pt);
    // Y[b, i, h * Dv + e] = values[b, h, i, e]
    return kb_kernel(p, node, y, kb_cast(p, kb_buf(p, y)->dtype, kb_load(p, dst, pt), false)) < 0 ? -1 : 0;
}

/* The softmax's type: softmax_precision where it is wider than t. */
static ir_dtype attn_softmax_type(const ir_node *n, ir_dtype t) {
    ir_dtype sp = (ir_dtype)ir_attr_int(n, "softmax_precision");
    if (sp == IR_DTYPE_NONE || ir_dtype_get(sp)->block_bytes <= ir_dtype_get(t)->block_bytes) return t;
    return sp;
}

int lower_attention(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    attn_dims a;
    if (attn_read_dims(p->g, n, &a, d)) return -1;
    ir_dtype t = lr_float_type(kb_buf(p, kb_value(p, n->in[0]))->dtype), ts = attn_softmax_type(n, t);
    heads_view q = {kb_value(p, n->in[0]), a.packed, a.head}, k, v;
    if (attn_cache(p, node, &a, 1, a.head, &k) || attn_cache(p, node, &a, 2, a.v_head, &v)) return -1;
    ir_dim sd[4] = {a.batch, a.q_heads, a.q_len, a.total_len};
    uint32_t qk = lr_temp(p, node, "qk", t, 4, sd), logits = lr_temp(p, node, "logits", ts, 4, sd);
    if (attn_scores(p, node, &a, &q, &k, qk) || attn_logits(p, node, &a, qk, logits)) return -1;
    if (!has_output(p, node, 3)) { /* the division after the value contraction */
        uint32_t weights, sum;
        if (lr_softmax_weights(p, node, logits, 3, ts, &weights, &sum)) return -1;
        return attn_values(p, node, &a, weights, sum, &v);
    }
    uint32_t probs = lr_temp(p, node, "probs", ts, 4, sd);
    if (lr_softmax(p, node, logits, probs, 3, false) || attn_qk_output(p, node, qk, logits, probs)) return -1;
    return attn_values(p, node, &a, probs, KIR_NONE, &v);
}

/* ---- RotaryEmbedding ---------------------------------------------------------------------- */

/* Y = X with the first 2 * half elements e of each head rotated in pairs
 * (x1, x2) = (x[i], x[i + half]) or, interleaved, (x[2i], x[2i + 1]):
 * y = x1 * cos - x2 * sin at the first of the pair, x1 * sin + x2 * cos at
 * the second, with cos, sin = cache[position_ids[b, s], i] or cache[b, s, i]. */
int lower_rotary_embedding(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    rope_dims r;
    if (rope_read_dims(p->g, n, &r, d)) return -1;
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]), pt[4];
    ir_dtype xt = kb_buf(p, x)->dtype, t = lr_float_type(xt);
    heads_view xv = {x, r.packed, r.head};
    heads_point(p, r.packed, r.head, pt);
    uint32_t e = pt[3], half = kb_dim(p, r.half), i, first, i1, i2, idx[4];
    if (ir_attr_int(n, "interleaved")) {
        i = nn_ibin(p, KX_FLOORDIV, e, nn_ix(p, 2));
        first = kb_bin(p, KX_EQ, nn_ibin(p, KX_MOD, e, nn_ix(p, 2)), nn_ix(p, 0));
        i1 = kb_imul(p, i, 2);
        i2 = kb_iadd(p, i1, 1);
    } else {
        first = kb_bin(p, KX_LT, e, half);
        i = kb_bin(p, KX_SUB, e, kb_select(p, first, nn_ix(p, 0), half));
        i1 = i;
        i2 = kb_bin(p, KX_ADD, i, half);
    }
    uint32_t ci[3] = {pt[0], pt[2], i};
    if (r.has_positions) {
        uint32_t bs[2] = {pt[0], pt[2]};
        ci[0] = kb_load(p, kb_value(p, n->in[3]), bs);
        ci[1] = i;
    }
    uint32_t c = kb_cast(p, t, kb_load(p, kb_value(p, n->in[1]), ci), false);
    uint32_t s = kb_cast(p, t, kb_load(p, kb_value(p, n->in[2]), ci), false);
    heads_at(p, &xv, pt[0], pt[1], pt[2], i1, idx);
    uint32_t x1 = kb_cast(p, t, kb_load(p, x, idx), false);
    heads_at(p, &xv, pt[0], pt[1], pt[2], i2, idx);
    uint32_t x2 = kb_cast(p, t, kb_load(p, x, idx), false);
    uint32_t re = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, c, x1), kb_bin(p, KX_MUL, s, x2));
    uint32_t im = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, s, x1), kb_bin(p, KX_MUL, c, x2));
    uint32_t rotated = kb_cast(p, xt, kb_select(p, first, re, im), false);
    uint32_t y = kb_select(p, kb_bin(p, KX_LT, e, kb_imul(p, half, 2)), rotated, kb_load_same(p, x));
    // Y (X shape) = rotated pair element, or x beyond the rotated width
    return kb_kernel(p, node, out, y) < 0 ? -1 : 0;
}

/* ---- CausalConvWithState -------------------------------------------------------------------- */

int lower_causal_conv(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    bool silu;
    if (causal_conv_activation(n, &silu)) return ir_node_error(p->g, n, d, "unknown activation");
    uint32_t x = kb_value(p, n->in[0]), w = kb_value(p, n->in[1]), y = kb_value(p, n->out[0]);
    uint32_t state = kb_value(p, n->out[1]);
    ir_dtype xt = kb_buf(p, x)->dtype, t = nn_compute_type(xt);
    ir_dim len = kb_buf(p, x)->dims[2], k = kb_buf(p, w)->dims[2], k1 = ir_dim_sub(p->g, k, ir_dim_const(1));
    ir_dim pd[3] = {kb_buf(p, x)->dims[0], kb_buf(p, x)->dims[1], ir_dim_add(p->g, k1, len)};
    uint32_t padded = lr_temp(p, node, "padded", xt, 3, pd);
    uint32_t pos = kb_idx(p, 2), carried = kb_dim(p, k1);
    uint32_t xi[3] = {kb_idx(p, 0), kb_idx(p, 1), kb_bin(p, KX_SUB, pos, carried)};
    uint32_t head = n->n_in > 3 && n->in[3] != IR_NONE ? kb_load_same(p, kb_value(p, n->in[3])) : kb_const_i(p, xt, 0);
    // padded (B, C, K-1 + L) = pos < K-1 ? past_state[b, c, pos] (or 0) : input[b, c, pos - (K-1)]
    if (kb_kernel(p, node, padded, kb_select(p, kb_bin(p, KX_LT, pos, carried), head, kb_load(p, x, xi))) < 0)
        return -1;
    // output (B, C, L) = act(cast<X>(bias[c] + sum over k of weight[c, 0, k] * padded[b, c, l + k]))
    uint32_t wi[3] = {kb_idx(p, 1), nn_ix(p, 0), kb_ridx(p, 0)};
    uint32_t pi[3] = {kb_idx(p, 0), kb_idx(p, 1), kb_bin(p, KX_ADD, kb_idx(p, 2), kb_ridx(p, 0))};
    nn_contraction c = {.n = 2, .rrank = 1, .red = {k}};
    c.op[0] = operand_at(p, w, wi);
    c.op[1] = operand_at(p, padded, pi);
    uint32_t post = kb_acc(p, t);
    if (n->n_in > 2 && n->in[2] != IR_NONE)
        post = kb_bin(p, KX_ADD, post, kb_cast(p, t, nn_param_at(p, n->in[2], 1), false));
    if (silu) {
        uint32_t v = kb_cast(p, t, kb_cast(p, xt, post, false), false);
        post = kb_bin(p, KX_MUL, v, lower_sigmoid(p, v));
    }
    if (nn_contraction_emit(p, node, y, &c, t, post == kb_acc(p, t) ? KIR_NONE : post)) return -1;
    // present_state (B, C, K-1) = padded[b, c, L + s]
    uint32_t si[3] = {kb_idx(p, 0), kb_idx(p, 1), kb_bin(p, KX_ADD, kb_idx(p, 2), kb_dim(p, len))};
    return kb_kernel(p, node, state, kb_load(p, padded, si)) < 0 ? -1 : 0;
}
