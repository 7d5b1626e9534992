/* infer_quant.c — inference for QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and DequantizeGGML, and the scale layout they share with their
 * lowering (quant.h). Quantized types are the 8/16/4/2-bit integers and the
 * float8 / float4 types; scales are floats. */
#include "infer.h"
#include "runtime/minifloat.h"
#include "quant.h"

#define NODE (&g->nodes[node])

bool quant_int_range(ir_dtype t, int64_t *lo, int64_t *hi) {
    switch (t) {
    case IR_U8: *lo = 0, *hi = 255; return true;
    case IR_I8: *lo = -128, *hi = 127; return true;
    case IR_U16: *lo = 0, *hi = 65535; return true;
    case IR_I16: *lo = -32768, *hi = 32767; return true;
    case IR_U4: *lo = 0, *hi = 15; return true;
    case IR_I4: *lo = -8, *hi = 7; return true;
    case IR_U2: *lo = 0, *hi = 3; return true;
    case IR_I2: *lo = -2, *hi = 1; return true;
    default: return false;
    }
}

static bool is_quant_type(ir_dtype t) {
    int64_t lo, hi;
    return quant_int_range(t, &lo, &hi) || (mf_is_minifloat(t) && t != IR_F8E8M0);
}

static bool one_element(const ir_value *v) {
    return v->rank == 0 || (v->rank == 1 && ir_dim_is_const(v->dims[0]) && v->dims[0].c == 1);
}

/* Same shape, or both a single element (a scalar and a one-element vector). */
static bool same_layout(const ir_value *a, const ir_value *b) {
    if (one_element(a) && one_element(b)) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (!ir_dim_eq(a->dims[i], b->dims[i])) return false;
    return true;
}

/* Blocked scales: x's shape except ceil(x / block) along the axis. */
static int check_blocked(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *s, quant_layout *q, diag *d) {
    for (int i = 0; i < x->rank; i++) {
        ir_dim want = i == q->axis ? ir_dim_cdiv(g, x->dims[i], ir_dim_const(q->block)) : x->dims[i];
        if (!ir_dim_eq(want, s->dims[i])) {
            char ws[64], hs[64];
            ir_dim_format(g, want, ws, sizeof ws);
            ir_dim_format(g, s->dims[i], hs, sizeof hs);
            return ir_node_error(g, n, d, "blocked scale has size %s at axis %d, expected %s (block_size %lld)", hs, i,
                                 ws, (long long)q->block);
        }
    }
    return 0;
}

int quant_layout_of(ir_graph *g, const ir_node *n, quant_layout *q, diag *d) {
    const ir_value *x = infer_input(g, n, 0), *s = infer_input(g, n, 1), *zp = infer_input(g, n, 2);
    int64_t block = ir_attr_int(n, "block_size");
    q->axis = 0;
    q->block = block;
    if (!ir_dtype_is_float(s->dtype) || mf_is_minifloat(s->dtype))
        return ir_node_error(g, n, d, "scale must be f32, f16, bf16 or f64, got %s", ir_dtype_name(s->dtype));
    if (zp && !same_layout(zp, s)) return ir_node_error(g, n, d, "zero point and scale have different shapes");
    if (block < 0) return ir_node_error(g, n, d, "block_size %lld is negative", (long long)block);
    bool one = s->rank == 0 || (one_element(s) && !block);
    if (one) {
        q->kind = QUANT_TENSOR;
        return 0;
    }
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &q->axis, d)) return -1;
    if (block) {
        q->kind = QUANT_BLOCKED;
        if (s->rank != x->rank)
            return ir_node_error(g, n, d, "blocked scale has rank %d, x has rank %d", s->rank, x->rank);
        return check_blocked(g, n, x, s, q, d);
    }
    q->kind = QUANT_AXIS;
    if (s->rank != 1 || !ir_dim_eq(s->dims[0], x->dims[q->axis]))
        return ir_node_error(g, n, d, "scale must be a scalar or a vector of x's size at axis %d", q->axis);
    return 0;
}

/* QuantizeLinear(x, y_scale, y_zero_point?) -> y: the zero point's dtype, or
 * output_dtype, or u8. */
int infer_quantize(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *zp = infer_input(g, n, 2);
    ir_dtype want = (ir_dtype)ir_attr_int(n, "output_dtype"), t = zp ? zp->dtype : want ? want : IR_U8;
    ir_dtype prec = (ir_dtype)ir_attr_int(n, "precision");
    quant_layout q;
    if (!ir_dtype_is_float(x->dtype) && x->dtype != IR_I32)
        return ir_node_error(g, n, d, "x must be a float or i32 tensor, got %s", ir_dtype_name(x->dtype));
    if (prec && (!ir_dtype_is_float(prec) || mf_is_minifloat(prec)))
        return ir_node_error(g, n, d, "precision %s is not f32, f16, bf16 or f64", ir_dtype_name(prec));
    if (zp && want && want != zp->dtype)
        return ir_node_error(g, n, d, "output_dtype %s differs from the zero point's %s", ir_dtype_name(want),
                             ir_dtype_name(zp->dtype));
    if (!is_quant_type(t)) return ir_node_error(g, n, d, "cannot quantize to %s", ir_dtype_name(t));
    if (quant_layout_of(g, n, &q, d)) return -1;
    return infer_set(g, n, 0, t, x->rank, x->dims, d);
}

/* DequantizeLinear(x, x_scale, x_zero_point?) -> y: output_dtype or the scale's. */
int infer_dequantize(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *s = infer_input(g, n, 1), *zp = infer_input(g, n, 2);
    ir_dtype want = (ir_dtype)ir_attr_int(n, "output_dtype");
    quant_layout q;
    if (!is_quant_type(x->dtype) && x->dtype != IR_I32)
        return ir_node_error(g, n, d, "cannot dequantize %s", ir_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
        return ir_node_error(g, n, d, "zero point is %s, x is %s", ir_dtype_name(zp->dtype), ir_dtype_name(x->dtype));
    if (want && (!ir_dtype_is_float(want) || mf_is_minifloat(want)))
        return ir_node_error(g, n, d, "output_dtype %s is not f32, f16, bf16 or f64", ir_dtype_name(want));
    if (quant_layout_of(g, n, &q, d)) return -1;
    return infer_set(g, n, 0, want ? want : s->dtype, x->rank, x->dims, d);
}

/* DynamicQuantizeLinear(x f32) -> y u8, y_scale f32[], y_zero_point u8[]. */
int infer_dynamic_quantize(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->dtype != IR_F32) return ir_node_error(g, n, d, "x must be f32, got %s", ir_dtype_name(x->dtype));
    if (infer_set(g, n, 0, IR_U8, x->rank, x->dims, d) || infer_set(g, n, 1, IR_F32, 0, NULL, d)) return -1;
    return infer_set(g, n, 2, IR_U8, 0, NULL, d);
}

/* DequantizeGGML(x: q4_0 .. q6_k, rank >= 1) -> f32 of x's shape. */
int infer_dequantize_ggml(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (!ir_dtype_is_quant(x->dtype))
        return ir_node_error(g, n, d, "x is %s, not a ggml block type", ir_dtype_name(x->dtype));
    if (x->rank < 1) return ir_node_error(g, n, d, "x is a scalar");
    ir_dim row = x->dims[x->rank - 1];
    if (!ir_dim_is_const(row) || row.c % ir_dtype_get(x->dtype)->block_elems)
        return ir_node_error(g, n, d, "rows of %s must be a known multiple of %u elements", ir_dtype_name(x->dtype),
                             ir_dtype_get(x->dtype)->block_elems);
    return infer_set(g, n, 0, IR_F32, x->rank, x->dims, d);
}
