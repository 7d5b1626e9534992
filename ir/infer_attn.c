/* infer_attn.c — inference for the attention and sampling ops (attn
 * family): Attention, RotaryEmbedding, LinearAttention, CausalConvWithState,
 * GridSample, AffineGrid, RoiAlign, NonMaxSuppression and DeformConv, and
 * the readers of attention.h and sample.h that their lowerings share.
 *
 * Each checks what its lowering relies on: ranks, head counts that divide
 * the hidden sizes, key/value heads that divide the query heads, caches
 * whose sizes match, masks that broadcast, sample positions with one
 * coordinate per spatial axis, and attribute values in range. Sizes unknown
 * until run time (symbols) pass the checks that need values.
 */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "infer.h"
#include "runtime/lib.h"
#include "sample.h"
#include "window.h"

#define NODE (&g->nodes[node])

/* Heads and sizes beyond this can only come from a broken file. */
#define HEADS_MAX (INT64_C(1) << 24)

/* ---- helpers ------------------------------------------------------------------- */

/* Error unless a and b may be equal (they differ only when both are known). */
static int same_dim(ir_graph *g, const ir_node *n, ir_dim a, ir_dim b, const char *what, diag *d) {
    if (ir_dim_eq(a, b) || !ir_dim_is_const(a) || !ir_dim_is_const(b)) return 0;
    return ir_node_error(g, n, d, "%s: %lld and %lld differ", what, (long long)a.c, (long long)b.c);
}

/* size / parts into *out; the division must be exact where size is known. */
static int split_dim(ir_graph *g, const ir_node *n, ir_dim size, int64_t parts, const char *what, ir_dim *out,
                     diag *d) {
    if (ir_dim_is_const(size) && size.c % parts)
        return ir_node_error(g, n, d, "%s (%lld) is not a multiple of %lld heads", what, (long long)size.c,
                             (long long)parts);
    *out = ir_dim_div(g, size, ir_dim_const(parts));
    return 0;
}

/* A head-count attribute: required (when `required`) and in [1, HEADS_MAX];
 * 0 in *v when absent and not required. */
static int heads_attr(ir_graph *g, const ir_node *n, const char *name, bool required, int64_t *v, diag *d) {
    *v = 0;
    if (!ir_attr_is_set(n, name)) return required ? ir_node_error(g, n, d, "attribute '%s' is required", name) : 0;
    *v = ir_attr_int(n, name);
    if (*v < 1 || *v > HEADS_MAX) return ir_node_error(g, n, d, "%s = %lld is out of range", name, (long long)*v);
    return 0;
}

static int require_rank(ir_graph *g, const ir_node *n, const ir_value *v, const char *what, int rank, diag *d) {
    if (v->rank == rank) return 0;
    return ir_node_error(g, n, d, "%s has rank %d, expected %d", what, v->rank, rank);
}

static int require_float(ir_graph *g, const ir_node *n, const ir_value *v, const char *what, diag *d) {
    if (ir_dtype_is_float(v->dtype) && !ir_dtype_is_quant(v->dtype)) return 0;
    return ir_node_error(g, n, d, "%s must be a float tensor, got %s", what, ir_dtype_name(v->dtype));
}

static int require_dtype(ir_graph *g, const ir_node *n, const ir_value *v, const char *what, ir_dtype t, diag *d) {
    if (v->dtype == t) return 0;
    return ir_node_error(g, n, d, "%s is %s, expected %s", what, ir_dtype_name(v->dtype), ir_dtype_name(t));
}

/* v's first `count` dims must match want where known. */
static int match_dims(ir_graph *g, const ir_node *n, const ir_value *v, const char *what, int count,
                      const ir_dim *want, diag *d) {
    for (int i = 0; i < count && i < v->rank; i++)
        if (same_dim(g, n, v->dims[i], want[i], what, d)) return -1;
    return 0;
}

/* v must have rank `rank` and the dims want (where known). */
static int require_shape(ir_graph *g, const ir_node *n, const ir_value *v, const char *what, int rank,
                         const ir_dim *want, diag *d) {
    return require_rank(g, n, v, what, rank, d) || match_dims(g, n, v, what, rank, want, d) ? -1 : 0;
}

/* ---- Attention ------------------------------------------------------------------- */

/* Q, K, V: 4-D (batch, heads, seq, size) or 3-D packed with the head counts
 * from the attributes. */
static int attn_qkv(ir_graph *g, const ir_node *n, attn_dims *a, diag *d) {
    const ir_value *q = infer_input(g, n, 0), *k = infer_input(g, n, 1), *v = infer_input(g, n, 2);
    if (q->rank != 3 && q->rank != 4) return ir_node_error(g, n, d, "Q has rank %d, expected 3 or 4", q->rank);
    if (k->rank != q->rank || v->rank != q->rank) return ir_node_error(g, n, d, "Q, K and V must have the same rank");
    if (require_float(g, n, q, "Q", d) || require_dtype(g, n, k, "K", q->dtype, d) || require_float(g, n, v, "V", d))
        return -1;
    int64_t hq, hkv;
    bool packed = q->rank == 3;
    if (heads_attr(g, n, "q_num_heads", packed, &hq, d) || heads_attr(g, n, "kv_num_heads", packed, &hkv, d))
        return -1;
    a->packed = packed;
    a->batch = q->dims[0];
    if (packed) {
        ir_dim kh;
        a->q_heads = ir_dim_const(hq);
        a->kv_heads = ir_dim_const(hkv);
        a->q_len = q->dims[1];
        a->kv_len = k->dims[1];
        if (split_dim(g, n, q->dims[2], hq, "Q's hidden size", &a->head, d) ||
            split_dim(g, n, k->dims[2], hkv, "K's hidden size", &kh, d) ||
            split_dim(g, n, v->dims[2], hkv, "V's hidden size", &a->v_head, d) ||
            same_dim(g, n, kh, a->head, "head sizes of Q and K", d) ||
            same_dim(g, n, v->dims[1], a->kv_len, "sequence lengths of K and V", d))
            return -1;
    } else {
        a->q_heads = q->dims[1];
        a->kv_heads = k->dims[1];
        a->q_len = q->dims[2];
        a->kv_len = k->dims[2];
        a->head = q->dims[3];
        a->v_head = v->dims[3];
        if (same_dim(g, n, k->dims[3], a->head, "head sizes of Q and K", d) ||
            same_dim(g, n, v->dims[1], a->kv_heads, "head counts of K and V", d) ||
            same_dim(g, n, v->dims[2], a->kv_len, "sequence lengths of K and V", d) ||
            (hq && same_dim(g, n, a->q_heads, ir_dim_const(hq), "q_num_heads and Q's heads", d)) ||
            (hkv && same_dim(g, n, a->kv_heads, ir_dim_const(hkv), "kv_num_heads and K's heads", d)))
            return -1;
    }
    if (same_dim(g, n, k->dims[0], a->batch, "batch sizes of Q and K", d) ||
        same_dim(g, n, v->dims[0], a->batch, "batch sizes of Q and V", d))
        return -1;
    if (ir_dim_is_const(a->q_heads) && ir_dim_is_const(a->kv_heads) &&
        (a->kv_heads.c < 1 || a->q_heads.c % a->kv_heads.c))
        return ir_node_error(g, n, d, "%lld query heads are not a multiple of %lld key/value heads",
                             (long long)a->q_heads.c, (long long)a->kv_heads.c);
    a->group = ir_dim_div(g, a->q_heads, a->kv_heads);
    return 0;
}

/* past_key (batch, kv_heads, past, head) and past_value (..., v_head), both or neither. */
static int attn_past(ir_graph *g, const ir_node *n, attn_dims *a, diag *d) {
    const ir_value *pk = infer_input(g, n, 4), *pv = infer_input(g, n, 5);
    a->past_len = ir_dim_const(0);
    if (!pk != !pv) return ir_node_error(g, n, d, "past_key and past_value must be given together");
    if (pk) {
        a->has_past = true;
        a->past_len = pk->dims[2];
        ir_dim want_k[4] = {a->batch, a->kv_heads, a->past_len, a->head};
        ir_dim want_v[4] = {a->batch, a->kv_heads, a->past_len, a->v_head};
        if (require_shape(g, n, pk, "past_key", 4, want_k, d) || require_shape(g, n, pv, "past_value", 4, want_v, d) ||
            require_dtype(g, n, pk, "past_key", infer_input(g, n, 1)->dtype, d) ||
            require_dtype(g, n, pv, "past_value", infer_input(g, n, 2)->dtype, d))
            return -1;
    }
    a->total_len = ir_dim_add(g, a->past_len, a->kv_len);
    return 0;
}

/* attn_mask broadcasts to (batch, q_heads, q_len, total) except that its last
 * axis may be shorter (the rest is masked out); nonpad_kv_seqlen is (batch). */
static int attn_masks(ir_graph *g, const ir_node *n, const attn_dims *a, diag *d) {
    const ir_value *m = infer_input(g, n, 3), *np = infer_input(g, n, 6);
    if (m) {
        ir_dim want[4] = {a->batch, a->q_heads, a->q_len, a->total_len};
        if (m->rank < 1 || m->rank > 4)
            return ir_node_error(g, n, d, "attn_mask has rank %d, expected 1 to 4", m->rank);
        if (m->dtype != IR_BOOL && !ir_dtype_is_float(m->dtype) && !ir_dtype_is_int(m->dtype))
            return ir_node_error(g, n, d, "attn_mask of %s is not supported", ir_dtype_name(m->dtype));
        for (int i = 0; i < m->rank - 1; i++) {
            ir_dim md = m->dims[i], w = want[4 - m->rank + i];
            if (!(ir_dim_is_const(md) && md.c == 1) && same_dim(g, n, md, w, "attn_mask does not broadcast", d))
                return -1;
        }
        ir_dim last = m->dims[m->rank - 1];
        if (ir_dim_is_const(last) && ir_dim_is_const(a->total_len) && last.c > a->total_len.c)
            return ir_node_error(g, n, d, "attn_mask covers %lld keys, more than the %lld there are", (long long)last.c,
                                 (long long)a->total_len.c);
    }
    if (np) {
        if (a->has_past) return ir_node_error(g, n, d, "nonpad_kv_seqlen cannot be used with past_key and past_value");
        if (require_dtype(g, n, np, "nonpad_kv_seqlen", IR_I64, d) ||
            require_shape(g, n, np, "nonpad_kv_seqlen", 1, &a->batch, d))
            return -1;
    }
    return 0;
}

static int attn_attrs(ir_graph *g, const ir_node *n, diag *d) {
    int64_t mode = ir_attr_int(n, "qk_matmul_output_mode"), causal = ir_attr_int(n, "is_causal");
    if (mode < ATTN_QK_RAW || mode > ATTN_QK_SOFTMAX)
        return ir_node_error(g, n, d, "qk_matmul_output_mode %lld is not 0 to 3", (long long)mode);
    if (causal != 0 && causal != 1) return ir_node_error(g, n, d, "is_causal must be 0 or 1");
    if (ir_attr_int(n, "sliding_window") < 0) return ir_node_error(g, n, d, "sliding_window must not be negative");
    if (!(ir_attr_float(n, "softcap") >= 0)) return ir_node_error(g, n, d, "softcap must not be negative");
    ir_dtype sp = (ir_dtype)ir_attr_int(n, "softmax_precision");
    if (sp != IR_DTYPE_NONE && (!ir_dtype_is_float(sp) || ir_dtype_is_quant(sp)))
        return ir_node_error(g, n, d, "softmax_precision must be a float type, got %s", ir_dtype_name(sp));
    return 0;
}

int attn_read_dims(ir_graph *g, const ir_node *n, attn_dims *a, diag *d) {
    memset(a, 0, sizeof *a);
    if (attn_qkv(g, n, a, d) || attn_past(g, n, a, d) || attn_masks(g, n, a, d)) return -1;
    return attn_attrs(g, n, d);
}

/* Y (batch, q_heads, q_len, v_head) or packed (batch, q_len, q_heads * v_head);
 * present_key / present_value (batch, kv_heads, total, head / v_head);
 * qk_matmul_output (batch, q_heads, q_len, total). */
int infer_attention(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    attn_dims a;
    if (attn_read_dims(g, n, &a, d)) return -1;
    ir_dtype tq = infer_input(g, n, 0)->dtype;
    ir_dim y4[4] = {a.batch, a.q_heads, a.q_len, a.v_head};
    ir_dim y3[3] = {a.batch, a.q_len, ir_dim_mul(g, a.q_heads, a.v_head)};
    ir_dim pk[4] = {a.batch, a.kv_heads, a.total_len, a.head};
    ir_dim pv[4] = {a.batch, a.kv_heads, a.total_len, a.v_head};
    ir_dim qk[4] = {a.batch, a.q_heads, a.q_len, a.total_len};
    if (infer_set(g, n, 0, tq, a.packed ? 3 : 4, a.packed ? y3 : y4, d) ||
        infer_set(g, n, 1, infer_input(g, n, 1)->dtype, 4, pk, d) ||
        infer_set(g, n, 2, infer_input(g, n, 2)->dtype, 4, pv, d))
        return -1;
    return infer_set(g, n, 3, tq, 4, qk, d);
}

/* ---- RotaryEmbedding ---------------------------------------------------------------- */

int rope_read_dims(ir_graph *g, const ir_node *n, rope_dims *r, diag *d) {
    const ir_value *x = infer_input(g, n, 0), *cs = infer_input(g, n, 1), *sn = infer_input(g, n, 2);
    const ir_value *pos = infer_input(g, n, 3);
    memset(r, 0, sizeof *r);
    if (x->rank != 3 && x->rank != 4) return ir_node_error(g, n, d, "X has rank %d, expected 3 or 4", x->rank);
    if (require_float(g, n, x, "X", d) || require_dtype(g, n, cs, "cos_cache", x->dtype, d) ||
        require_dtype(g, n, sn, "sin_cache", x->dtype, d))
        return -1;
    int64_t heads;
    r->packed = x->rank == 3;
    if (heads_attr(g, n, "num_heads", r->packed, &heads, d)) return -1;
    if (r->packed) {
        if (split_dim(g, n, x->dims[2], heads, "X's hidden size", &r->head, d)) return -1;
    } else {
        r->head = x->dims[3];
        if (heads && same_dim(g, n, x->dims[1], ir_dim_const(heads), "num_heads and X's heads", d)) return -1;
    }
    ir_dim batch = x->dims[0], seq = x->dims[r->packed ? 1 : 2];
    r->has_positions = pos != NULL;
    int cache_rank = pos ? 2 : 3;
    if (require_rank(g, n, cs, "cos_cache", cache_rank, d)) return -1;
    if (require_shape(g, n, sn, "sin_cache", cache_rank, cs->dims, d)) return -1;
    if (pos) {
        ir_dim want[2] = {batch, seq};
        if (require_dtype(g, n, pos, "position_ids", IR_I64, d) || require_shape(g, n, pos, "position_ids", 2, want, d))
            return -1;
    } else {
        ir_dim want[3] = {batch, seq, cs->dims[2]};
        if (require_shape(g, n, cs, "cos_cache (batch, seq, rotary_dim / 2)", 3, want, d)) return -1;
    }
    r->half = cs->dims[cache_rank - 1];
    int64_t rd = ir_attr_int(n, "rotary_embedding_dim");
    if (rd < 0 || rd > HEADS_MAX || rd % 2)
        return ir_node_error(g, n, d, "rotary_embedding_dim %lld must be even and not negative", (long long)rd);
    ir_dim width = rd ? ir_dim_const(rd) : r->head;
    if (ir_dim_is_const(width) && ir_dim_is_const(r->head) && width.c > r->head.c)
        return ir_node_error(g, n, d, "rotary_embedding_dim %lld is more than the head size %lld", (long long)width.c,
                             (long long)r->head.c);
    if (!ir_dim_is_const(width)) return 0;
    if (width.c % 2) return ir_node_error(g, n, d, "the rotated width %lld is odd", (long long)width.c);
    return same_dim(g, n, r->half, ir_dim_const(width.c / 2), "the caches' last axis and half the rotated width", d);
}

int infer_rotary_embedding(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    rope_dims r;
    if (rope_read_dims(g, n, &r, d)) return -1;
    const ir_value *x = infer_input(g, n, 0);
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

/* ---- LinearAttention -------------------------------------------------------------------- */

int linear_attention_rule(const ir_node *n, bool *gating, bool *delta) {
    return rt_linear_attention_rule(ir_attr_str(n, "update_rule"), gating, delta);
}

/* decay is (batch, seq, kv_heads) or (..., kv_heads * dk); beta (..., kv_heads) or (..., 1). */
static int linear_attention_gates(ir_graph *g, const ir_node *n, ir_dim batch, ir_dim seq, int64_t hkv, ir_dim dk,
                                  diag *d) {
    const ir_value *q = infer_input(g, n, 0), *decay = infer_input(g, n, 4), *beta = infer_input(g, n, 5);
    bool gating, delta;
    if (linear_attention_rule(n, &gating, &delta))
        return ir_node_error(g, n, d, "unknown update_rule '%s'", ir_attr_str(n, "update_rule"));
    if (gating != (decay != NULL))
        return ir_node_error(g, n, d, "update_rule '%s' %s the decay input", ir_attr_str(n, "update_rule"),
                             gating ? "needs" : "takes no");
    if (delta != (beta != NULL))
        return ir_node_error(g, n, d, "update_rule '%s' %s the beta input", ir_attr_str(n, "update_rule"),
                             delta ? "needs" : "takes no");
    ir_dim lead[2] = {batch, seq};
    if (decay) {
        ir_dim last = decay->dims[2], per_key = ir_dim_mul(g, ir_dim_const(hkv), dk);
        if (require_dtype(g, n, decay, "decay", q->dtype, d) || require_rank(g, n, decay, "decay", 3, d) ||
            match_dims(g, n, decay, "decay", 2, lead, d) ||
            (ir_dim_is_const(last) && last.c != hkv && same_dim(g, n, last, per_key, "decay's last axis", d)))
            return -1;
    }
    if (beta) {
        ir_dim last = beta->dims[2];
        if (require_dtype(g, n, beta, "beta", q->dtype, d) || require_rank(g, n, beta, "beta", 3, d) ||
            match_dims(g, n, beta, "beta", 2, lead, d))
            return -1;
        if (ir_dim_is_const(last) && last.c != 1 && last.c != hkv)
            return ir_node_error(g, n, d, "beta's last axis is %lld, expected 1 or %lld", (long long)last.c,
                                 (long long)hkv);
    }
    return 0;
}

/* query (B, T, Hq*dk), key (B, T, Hkv*dk), value (B, T, Hkv*dv), past_state
 * (B, Hkv, dk, dv) -> output (B, T, Hq*dv), present_state (B, Hkv, dk, dv). */
int infer_linear_attention(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *q = infer_input(g, n, 0), *k = infer_input(g, n, 1), *v = infer_input(g, n, 2);
    const ir_value *past = infer_input(g, n, 3);
    int64_t hq, hkv;
    if (require_rank(g, n, q, "query", 3, d) || require_rank(g, n, k, "key", 3, d) ||
        require_rank(g, n, v, "value", 3, d) || require_float(g, n, q, "query", d) ||
        require_dtype(g, n, k, "key", q->dtype, d) || require_dtype(g, n, v, "value", q->dtype, d) ||
        heads_attr(g, n, "q_num_heads", true, &hq, d) || heads_attr(g, n, "kv_num_heads", true, &hkv, d))
        return -1;
    if (hq % hkv)
        return ir_node_error(g, n, d, "q_num_heads %lld is not a multiple of kv_num_heads %lld", (long long)hq,
                             (long long)hkv);
    ir_dim batch = q->dims[0], seq = q->dims[1], dk, kdk, dv;
    if (split_dim(g, n, q->dims[2], hq, "query's hidden size", &dk, d) ||
        split_dim(g, n, k->dims[2], hkv, "key's hidden size", &kdk, d) ||
        split_dim(g, n, v->dims[2], hkv, "value's hidden size", &dv, d) ||
        same_dim(g, n, kdk, dk, "head sizes of query and key", d))
        return -1;
    ir_dim lead[2] = {batch, seq};
    if (match_dims(g, n, k, "key", 2, lead, d) || match_dims(g, n, v, "value", 2, lead, d) ||
        linear_attention_gates(g, n, batch, seq, hkv, dk, d))
        return -1;
    ir_dim state[4] = {batch, ir_dim_const(hkv), dk, dv};
    if (past && (require_float(g, n, past, "past_state", d) || require_shape(g, n, past, "past_state", 4, state, d)))
        return -1;
    if (ir_attr_float(n, "scale") < 0 || ir_attr_int(n, "chunk_size") < 1)
        return ir_node_error(g, n, d, "scale must not be negative and chunk_size must be positive");
    ir_dim out[3] = {batch, seq, ir_dim_mul(g, ir_dim_const(hq), dv)};
    if (infer_set(g, n, 0, q->dtype, 3, out, d)) return -1;
    return infer_set(g, n, 1, past ? past->dtype : q->dtype, 4, state, d);
}

/* ---- CausalConvWithState ------------------------------------------------------------------- */

int causal_conv_activation(const ir_node *n, bool *silu) {
    const char *s = ir_attr_str(n, "activation");
    *silu = !strcmp(s, "silu") || !strcmp(s, "swish");
    return *silu || !strcmp(s, "none") ? 0 : -1;
}

/* input (B, C, L), weight (C, 1, K), bias (C), past_state (B, C, K-1)
 * -> output (B, C, L), present_state (B, C, K-1). */
int infer_causal_conv(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *w = infer_input(g, n, 1), *b = infer_input(g, n, 2);
    const ir_value *past = infer_input(g, n, 3);
    bool silu;
    if (causal_conv_activation(n, &silu))
        return ir_node_error(g, n, d, "unknown activation '%s'", ir_attr_str(n, "activation"));
    if (require_rank(g, n, x, "input", 3, d) || require_float(g, n, x, "input", d) ||
        require_dtype(g, n, w, "weight", x->dtype, d))
        return -1;
    ir_dim wd[2] = {x->dims[1], ir_dim_const(1)};
    if (require_rank(g, n, w, "weight", 3, d) || match_dims(g, n, w, "weight (channels, 1, k)", 2, wd, d)) return -1;
    ir_dim k = w->dims[2];
    if (ir_dim_is_const(k) && k.c < 1) return ir_node_error(g, n, d, "the kernel is empty");
    ir_dim state[3] = {x->dims[0], x->dims[1], ir_dim_sub(g, k, ir_dim_const(1))};
    if (b && (require_dtype(g, n, b, "bias", x->dtype, d) || require_shape(g, n, b, "bias", 1, &x->dims[1], d)))
        return -1;
    if (past && (require_dtype(g, n, past, "past_state", x->dtype, d) ||
                 require_shape(g, n, past, "past_state", 3, state, d)))
        return -1;
    if (infer_set(g, n, 0, x->dtype, 3, x->dims, d)) return -1;
    return infer_set(g, n, 1, x->dtype, 3, state, d);
}

/* ---- GridSample ------------------------------------------------------------------------ */

int grid_sample_modes(const ir_graph *g, const ir_node *n, smp_mode *mode, smp_pad *pad, diag *d) {
    static const struct { const char *name; smp_mode mode; } modes[] = {
        {"linear", SMP_LINEAR}, {"bilinear", SMP_LINEAR}, {"nearest", SMP_NEAREST},
        {"cubic", SMP_CUBIC},   {"bicubic", SMP_CUBIC},
    };
    static const char *pads[] = {"zeros", "border", "reflection"};
    const char *m = ir_attr_str(n, "mode"), *p = ir_attr_str(n, "padding_mode");
    size_t i, j;
    for (i = 0; i < sizeof modes / sizeof modes[0] && strcmp(m, modes[i].name); i++) {}
    for (j = 0; j < 3 && strcmp(p, pads[j]); j++) {}
    if (i == sizeof modes / sizeof modes[0]) return ir_node_error(g, n, d, "unknown mode '%s'", m);
    if (j == 3) return ir_node_error(g, n, d, "unknown padding_mode '%s'", p);
    *mode = modes[i].mode;
    *pad = (smp_pad)j;
    return 0;
}

/* X (N, C, D1..Dk) sampled at grid (N, O1..Ok, k) -> Y (N, C, O1..Ok). */
int infer_grid_sample(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *grid = infer_input(g, n, 1);
    smp_mode mode;
    smp_pad pad;
    if (grid_sample_modes(g, n, &mode, &pad, d) || require_float(g, n, grid, "grid", d)) return -1;
    if (x->rank < 3) return ir_node_error(g, n, d, "X has rank %d, expected at least 3", x->rank);
    if (x->dtype == IR_BOOL || ir_dtype_is_quant(x->dtype))
        return ir_node_error(g, n, d, "GridSample of %s is not supported", ir_dtype_name(x->dtype));
    int k = x->rank - 2;
    ir_dim coords = ir_dim_const(k);
    if (require_rank(g, n, grid, "grid", x->rank, d) ||
        same_dim(g, n, grid->dims[0], x->dims[0], "batch sizes of X and grid", d) ||
        same_dim(g, n, grid->dims[k + 1], coords, "grid's last axis (one coordinate per spatial axis)", d))
        return -1;
    ir_dim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    out[1] = x->dims[1];
    for (int i = 0; i < k; i++) out[2 + i] = grid->dims[1 + i];
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- AffineGrid ------------------------------------------------------------------------- */

int affine_grid_size(ir_graph *g, const ir_node *n, int64_t *size, int *count, diag *d) {
    const ir_value *s = infer_input(g, n, 1);
    if (s->dtype != IR_I64 || s->rank != 1 || !ir_dim_is_const(s->dims[0]) || (s->dims[0].c != 4 && s->dims[0].c != 5))
        return ir_node_error(g, n, d, "size must be an i64 vector of 4 or 5 values");
    *count = (int)s->dims[0].c;
    int cnt, rc = infer_const_ints(g, n, 1, size, 5, &cnt, d);
    for (int i = 0; rc == 0 && i < cnt; i++)
        if (size[i] < 0 || size[i] > HEADS_MAX)
            return ir_node_error(g, n, d, "size[%d] = %lld is out of range", i, (long long)size[i]);
    return rc;
}

/* theta (N, 2, 3) with size (N, C, H, W) -> grid (N, H, W, 2);
 * theta (N, 3, 4) with size (N, C, D, H, W) -> grid (N, D, H, W, 3);
 * sizes known only at run time (size not a constant) are fresh symbols. */
int infer_affine_grid(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *theta = infer_input(g, n, 0);
    int64_t size[5];
    int count;
    int rc = require_float(g, n, theta, "theta", d) ? -1 : affine_grid_size(g, n, size, &count, d);
    if (rc < 0) return -1;
    int k = count - 2;
    ir_dim out[5];
    out[0] = rc ? theta->dims[0] : ir_dim_const(size[0]);
    for (int i = 0; i < k; i++) out[1 + i] = rc ? ir_dim_fresh(g) : ir_dim_const(size[2 + i]);
    out[k + 1] = ir_dim_const(k);
    ir_dim want[3] = {out[0], ir_dim_const(k), ir_dim_const(k + 1)};
    if (require_shape(g, n, theta, "theta (N, k, k + 1)", 3, want, d)) return -1;
    return infer_set(g, n, 0, theta->dtype, k + 2, out, d);
}

/* ---- RoiAlign ------------------------------------------------------------------------------ */

int roi_align_read(const ir_graph *g, const ir_node *n, roi_align_attrs *a, diag *d) {
    const char *mode = ir_attr_str(n, "mode"), *ct = ir_attr_str(n, "coordinate_transformation_mode");
    if (strcmp(mode, "avg") && strcmp(mode, "max")) return ir_node_error(g, n, d, "unknown mode '%s'", mode);
    if (strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel"))
        return ir_node_error(g, n, d, "unknown coordinate_transformation_mode '%s'", ct);
    a->max = !strcmp(mode, "max");
    a->half_pixel = !strcmp(ct, "half_pixel");
    a->out_h = ir_attr_int(n, "output_height");
    a->out_w = ir_attr_int(n, "output_width");
    a->ratio = ir_attr_int(n, "sampling_ratio");
    a->scale = ir_attr_float(n, "spatial_scale");
    if (a->out_h < 1 || a->out_w < 1 || a->out_h > HEADS_MAX || a->out_w > HEADS_MAX)
        return ir_node_error(g, n, d, "output_height and output_width must be positive");
    if (a->ratio < 0 || a->ratio > 1024)
        return ir_node_error(g, n, d, "sampling_ratio %lld is out of range", (long long)a->ratio);
    if (!isfinite(a->scale)) return ir_node_error(g, n, d, "spatial_scale must be finite");
    return 0;
}

/* X (N, C, H, W), rois (R, 4), batch_indices (R) -> Y (R, C, output_height, output_width). */
int infer_roi_align(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *rois = infer_input(g, n, 1), *bi = infer_input(g, n, 2);
    roi_align_attrs a;
    if (roi_align_read(g, n, &a, d) || require_float(g, n, x, "X", d) || require_rank(g, n, x, "X", 4, d) ||
        require_dtype(g, n, rois, "rois", x->dtype, d))
        return -1;
    ir_dim want[2] = {rois->dims[0], ir_dim_const(4)};
    if (require_shape(g, n, rois, "rois (R, 4)", 2, want, d) ||
        require_shape(g, n, bi, "batch_indices (R)", 1, want, d) ||
        (bi->dtype != IR_I64 && bi->dtype != IR_I32 && require_dtype(g, n, bi, "batch_indices", IR_I64, d)))
        return -1;
    ir_dim out[4] = {rois->dims[0], x->dims[1], ir_dim_const(a.out_h), ir_dim_const(a.out_w)};
    return infer_set(g, n, 0, x->dtype, 4, out, d);
}

/* ---- NonMaxSuppression ---------------------------------------------------------------------- */

/* Optional input i: a scalar or one-element vector of type t. */
static int one_value(ir_graph *g, const ir_node *n, uint32_t i, const char *what, ir_dtype t, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return 0;
    if (require_dtype(g, n, v, what, t, d)) return -1;
    if (v->rank > 1 || (v->rank == 1 && !(ir_dim_is_const(v->dims[0]) && v->dims[0].c <= 1)))
        return ir_node_error(g, n, d, "%s must be a scalar or a one-element vector", what);
    return 0;
}

/* boxes (B, N, 4), scores (B, C, N) -> selected_indices (S, 3) of (batch,
 * class, box), S known only at run time. */
int infer_nms(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *boxes = infer_input(g, n, 0), *scores = infer_input(g, n, 1);
    int64_t cpb = ir_attr_int(n, "center_point_box");
    if (cpb != 0 && cpb != 1) return ir_node_error(g, n, d, "center_point_box must be 0 or 1");
    if (require_float(g, n, boxes, "boxes", d) || require_dtype(g, n, scores, "scores", boxes->dtype, d) ||
        require_rank(g, n, boxes, "boxes", 3, d) || require_rank(g, n, scores, "scores", 3, d) ||
        same_dim(g, n, boxes->dims[2], ir_dim_const(4), "boxes' last axis", d) ||
        same_dim(g, n, scores->dims[0], boxes->dims[0], "batch sizes of boxes and scores", d) ||
        same_dim(g, n, scores->dims[2], boxes->dims[1], "box counts of boxes and scores", d) ||
        one_value(g, n, 2, "max_output_boxes_per_class", IR_I64, d) ||
        one_value(g, n, 3, "iou_threshold", boxes->dtype, d) || one_value(g, n, 4, "score_threshold", boxes->dtype, d))
        return -1;
    ir_dim out[2] = {ir_dim_fresh(g), ir_dim_const(3)};
    return infer_set(g, n, 0, IR_I64, 2, out, d);
}

/* ---- DeformConv ------------------------------------------------------------------------------- */

/* X (N, C, D...) with W (M, C/group, K...), offset (N, G*|K|*k, O...),
 * B (M), mask (N, G*|K|, O...) -> Y (N, M, O...), G = offset_group. */
int infer_deform_conv(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *w = infer_input(g, n, 1), *off = infer_input(g, n, 2);
    const ir_value *b = infer_input(g, n, 3), *mask = infer_input(g, n, 4);
    ir_dim out[IR_MAX_RANK];
    if (require_float(g, n, x, "X", d) || require_dtype(g, n, w, "W", x->dtype, d) ||
        require_dtype(g, n, off, "offset", x->dtype, d) || (b && require_dtype(g, n, b, "B", x->dtype, d)) ||
        (mask && require_dtype(g, n, mask, "mask", x->dtype, d)) || infer_conv_shape(g, n, x, w, b, out, d))
        return -1;
    int k = x->rank - 2;
    int64_t og = ir_attr_int(n, "offset_group"), taps = 1;
    ir_window win;
    if (ir_window_read(g, n, k, w->dims + 2, &win, d)) return -1;
    for (int i = 0; i < k; i++) taps *= win.kernel[i];
    if (og < 1 || og > HEADS_MAX) return ir_node_error(g, n, d, "offset_group must be positive");
    if (ir_dim_is_const(x->dims[1]) && x->dims[1].c % og)
        return ir_node_error(g, n, d, "%lld channels are not a multiple of offset_group %lld", (long long)x->dims[1].c,
                             (long long)og);
    ir_dim want[IR_MAX_RANK];
    want[0] = x->dims[0];
    want[1] = ir_dim_const(og * taps * k);
    for (int i = 0; i < k; i++) want[2 + i] = out[2 + i];
    if (require_shape(g, n, off, "offset (N, offset_group * kernel taps * k, output size...)", x->rank, want, d))
        return -1;
    want[1] = ir_dim_const(og * taps);
    if (mask && require_shape(g, n, mask, "mask (N, offset_group * kernel taps, output size...)", x->rank, want, d))
        return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}
