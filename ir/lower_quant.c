/* lower_quant.c — lowering of QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear into loop kernels, with the arithmetic of ONNX's
 * reference implementation: integer targets round half to even and
 * saturate to their range, float8 targets cast (saturating unless
 * saturate=0), dequantization computes (x - zero_point) * scale in f32.
 * The scale and zero point are read per tensor, per axis or per block
 * (quant.h). */
#include "lower.h"
#include "quant.h"

#define NODE (&p->g->nodes[node])

static uint32_t out_buf(kir_program *p, ir_id node, uint32_t o) { return kb_value(p, p->g->nodes[node].out[o]); }

/* Input i (the scale or the zero point) at the element of x that the
 * output's domain point is: scale[0], scale[IDX(axis)], or scale[.., IDX(axis) / block, ..]. */
static uint32_t param_at(kir_program *p, ir_id node, uint32_t i, const quant_layout *q) {
    uint32_t b = kb_value(p, NODE->in[i]), idx[IR_MAX_RANK];
    int rank = kb_buf(p, b)->rank;
    for (int a = 0; a < rank; a++) {
        if (q->kind == QUANT_TENSOR) idx[a] = kb_const_i(p, IR_I64, 0);
        else if (q->kind == QUANT_AXIS) idx[a] = kb_idx(p, q->axis);
        else if (a != q->axis) idx[a] = kb_idx(p, a);
        else idx[a] = kb_bin(p, KX_FLOORDIV, kb_idx(p, a), kb_const_i(p, IR_I64, q->block));
    }
    return kb_load(p, b, idx);
}

static int float_bits(ir_dtype t) { return t == IR_F64 ? 64 : t == IR_F32 ? 32 : 16; }

/* x / scale is computed in `precision`, or in the wider of the two dtypes
 * (numpy's promotion: f16 with bf16 gives f32, an integer x gives f64). */
static ir_dtype division_dtype(ir_dtype x, ir_dtype s, ir_dtype precision) {
    if (precision) return precision;
    if (!ir_dtype_is_float(x)) return IR_F64;
    if (x == s) return x;
    int bx = float_bits(x), bs = float_bits(s);
    return bx == bs ? IR_F32 : bx > bs ? x : s;
}

/* round(v) + zp, saturated to [lo, hi] of the integer type t. */
static uint32_t saturate_int(kir_program *p, ir_dtype t, uint32_t v, uint32_t zp) {
    int64_t lo, hi;
    quant_int_range(t, &lo, &hi);
    const double big = 1099511627776.0; /* 2^40: far outside every range, exact in i64 */
    uint32_t r = kb_cast(p, IR_F64, kb_un(p, KX_ROUND, v), false);
    r = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, r, kb_const_f(p, IR_F64, -big)), kb_const_f(p, IR_F64, big));
    uint32_t qi = kb_cast(p, IR_I64, r, false); /* NaN becomes INT64_MIN, then lo */
    if (zp != KIR_NONE) qi = kb_bin(p, KX_ADD, qi, kb_cast(p, IR_I64, zp, false));
    qi = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, qi, kb_const_i(p, IR_I64, lo)), kb_const_i(p, IR_I64, hi));
    return kb_cast(p, t, qi, false);
}

// y (x's shape) = saturate<T>(round(x / scale[q]) + zero_point[q])
int lower_quantize(kir_program *p, ir_id node, diag *d) {
    quant_layout q;
    if (quant_layout_of(p->g, NODE, &q, d)) return -1;
    uint32_t y = out_buf(p, node, 0), x = kb_load_same(p, kb_value(p, NODE->in[0]));
    uint32_t s = param_at(p, node, 1, &q);
    ir_dtype t = kb_buf(p, y)->dtype;
    ir_dtype c = division_dtype(kb_type(p, x), kb_type(p, s), (ir_dtype)ir_attr_int(NODE, "precision"));
    uint32_t v = kb_bin(p, KX_DIV, kb_cast(p, c, x, false), kb_cast(p, c, s, false));
    uint32_t zp = NODE->n_in > 2 && NODE->in[2] != IR_NONE ? param_at(p, node, 2, &q) : KIR_NONE;
    uint32_t body;
    int64_t lo, hi;
    if (quant_int_range(t, &lo, &hi)) {
        body = saturate_int(p, t, v, zp);
    } else if (t == IR_F4E2M1) { /* the reference adds the (zero) zero point; float4 always saturates */
        body = kb_cast(p, t, zp == KIR_NONE ? v : kb_bin(p, KX_ADD, v, kb_cast(p, c, zp, false)), true);
    } else { /* float8: the zero point must be 0 and is not used */
        body = kb_cast(p, t, v, ir_attr_int(NODE, "saturate") != 0);
    }
    return kb_kernel(p, node, y, body) < 0 ? -1 : 0;
}

// y (x's shape) = (f32(x) - f32(zero_point[q])) * scale[q], in f32 (f64 for f64 scales)
int lower_dequantize(kir_program *p, ir_id node, diag *d) {
    quant_layout q;
    if (quant_layout_of(p->g, NODE, &q, d)) return -1;
    uint32_t y = out_buf(p, node, 0), x = kb_load_same(p, kb_value(p, NODE->in[0]));
    uint32_t s = param_at(p, node, 1, &q);
    ir_dtype c = kb_type(p, s) == IR_F64 ? IR_F64 : IR_F32, xt = kb_type(p, x);
    uint32_t v = kb_cast(p, c, x, false);
    if (NODE->n_in > 2 && NODE->in[2] != IR_NONE && ir_dtype_is_int(xt)) /* float zero points must be 0 */
        v = kb_bin(p, KX_SUB, v, kb_cast(p, c, param_at(p, node, 2, &q), false));
    uint32_t body = kb_cast(p, kb_buf(p, y)->dtype, kb_bin(p, KX_MUL, v, kb_cast(p, c, s, false)), false);
    return kb_kernel(p, node, y, body) < 0 ? -1 : 0;
}

/* ---- DynamicQuantizeLinear ---- */

/* A rank-0 temporary holding op(extreme of x, 0): max(0, max(x)) or min(0, min(x)). */
static uint32_t extreme_with_zero(kir_program *p, ir_id node, uint32_t xb, kir_reduce r, const char *name) {
    const kir_buffer *xbuf = kb_buf(p, xb);
    uint32_t idx[IR_MAX_RANK];
    for (int a = 0; a < xbuf->rank; a++) idx[a] = kb_ridx(p, a);
    uint32_t t = kb_temp(p, name, IR_F32, 0, NULL);
    uint32_t post = kb_bin(p, r == KR_MAX ? KX_MAX : KX_MIN, kb_acc(p, IR_F32), kb_const_f(p, IR_F32, 0));
    if (kb_reduce(p, node, t, r, xbuf->rank, xbuf->dims, IR_F32, kb_load(p, xb, idx), post) < 0) return KIR_NONE;
    return t;
}

static uint32_t scalar(kir_program *p, uint32_t b) { return kb_load(p, b, NULL); }

// x (...) f32 -> y (...) u8, y_scale [] f32, y_zero_point [] u8:
//   scale = (max(0, max x) - min(0, min x)) / 255 (1/255 when they are equal)
//   zp = round(clamp(-min / scale, 0, 255)); y = clamp(round(x / scale) + zp, 0, 255)
int lower_dynamic_quantize(kir_program *p, ir_id node, diag *d) {
    uint32_t xb = kb_value(p, NODE->in[0]);
    uint32_t ys = out_buf(p, node, 1), yzp = out_buf(p, node, 2), y = out_buf(p, node, 0);
    uint32_t maxb = extreme_with_zero(p, node, xb, KR_MAX, "dq_max");
    uint32_t minb = extreme_with_zero(p, node, xb, KR_MIN, "dq_min");
    if (maxb == KIR_NONE || minb == KIR_NONE) return -1;
    uint32_t hi = scalar(p, maxb), lo = scalar(p, minb), f0 = kb_const_f(p, IR_F32, 0), f255 = kb_const_f(p, IR_F32, 255);
    uint32_t range = kb_select(p, kb_bin(p, KX_EQ, hi, lo), kb_const_f(p, IR_F32, 1), kb_bin(p, KX_SUB, hi, lo));
    if (kb_kernel(p, node, ys, kb_bin(p, KX_DIV, range, f255)) < 0) return -1;
    uint32_t scale = scalar(p, ys);
    uint32_t zp = kb_bin(p, KX_SUB, f0, kb_bin(p, KX_DIV, lo, scale));
    zp = kb_un(p, KX_ROUND, kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, zp, f0), f255));
    if (kb_kernel(p, node, yzp, kb_cast(p, IR_U8, zp, false)) < 0) return -1;
    uint32_t q = kb_bin(p, KX_ADD, kb_un(p, KX_ROUND, kb_bin(p, KX_DIV, kb_load_same(p, xb), scale)),
                        kb_cast(p, IR_F32, scalar(p, yzp), false));
    q = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, q, f0), f255);
    return kb_kernel(p, node, y, kb_cast(p, IR_U8, q, false)) < 0 ? -1 : 0;
}
