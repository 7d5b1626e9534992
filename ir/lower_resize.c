/* lower_resize.c — lowering of Resize (nearest, linear, cubic; every
 * coordinate_transformation_mode; antialias, exclude_outside,
 * extrapolation_value), following the ONNX reference implementation.
 *
 * For each resized axis the output position y maps to a source coordinate
 * x (coordinate mode, in f64). Nearest rounds x to one source index per the
 * nearest_mode: one loop kernel, a load. Linear and cubic interpolation is
 * separable: the n taps of an axis are the source indices
 * ceil(x) - n/2 + t (t in [0, n)), clamped into the input (edge padding),
 * with weights K(s * (t + 1 - n/2 - ratio)), ratio = x - (ceil(x) - 1) in
 * (0, 1], K the triangle or cubic kernel, s = 1 except for antialiasing
 * downsamples, where s = scale and n grows to cover the stretched kernel.
 * One reduction kernel sums, over the taps of all resized axes, the product
 * of the per-axis weights and the input value, in f64; antialias and
 * exclude_outside normalize each axis's weights by their sum (unrolled over
 * the taps). tf_crop_and_resize writes extrapolation_value where any source
 * coordinate falls outside the input.
 */
#include <math.h>
#include <string.h>

#include "lower.h"
#include "movement.h"

#define NODE (&p->g->nodes[node])

/* A dim as an f64 expression. */
static uint32_t dim_f64(kir_program *p, ir_dim x) {
    return ir_dim_is_const(x) ? mv_f(p, (double)x.c) : kb_cast(p, IR_F64, kb_dim(p, x), false);
}

/* w == 1 ? a : b, decided now when w is a constant. */
static uint32_t if_one(kir_program *p, uint32_t w, uint32_t a, uint32_t b) {
    const kir_expr *e = &p->exprs[w];
    if (e->op == KX_CONST) return e->fval == 1 ? a : b;
    return kb_select(p, kb_bin(p, KX_EQ, w, mv_f(p, 1)), a, b);
}

#define F(op, a, b) mv_fbin(p, KX_##op, a, b)

/* The region of interest of axis a: its start and its length (f64). */
static void roi_of(kir_program *p, const mv_resize *rz, int a, uint32_t *start, uint32_t *span) {
    if (!rz->roi_runtime || rz->roi_at[a] < 0) {
        *start = mv_f(p, rz->roi_start[a]);
        *span = mv_f(p, rz->roi_end[a] - rz->roi_start[a]);
        return;
    }
    *start = kb_cast(p, IR_F64, mv_element(p, rz->roi, rz->roi_at[a]), false);
    *span = F(SUB, kb_cast(p, IR_F64, mv_element(p, rz->roi, rz->roi_at[a] + rz->roi_count), false), *start);
}

/* Source coordinate of output position IDX(a) along axis a (f64); *outside
 * gets the tf_crop_and_resize extrapolation test, else stays KIR_NONE. */
static uint32_t source_coord(kir_program *p, const mv_resize *rz, int a, ir_dim in, uint32_t *outside) {
    uint32_t y = kb_cast(p, IR_F64, kb_idx(p, a), false), w = dim_f64(p, in);
    uint32_t s = rz->scale_known[a] ? mv_f(p, rz->scale[a]) : F(DIV, dim_f64(p, rz->out[a]), w);
    uint32_t ow = F(MUL, s, w); /* the output width before truncation */
    uint32_t half = mv_f(p, 0.5), one = mv_f(p, 1), wm1 = F(SUB, w, one);
    uint32_t centered = F(SUB, F(DIV, F(ADD, y, half), s), half); /* (y + 0.5) / s - 0.5 */
    switch (rz->coord) {
    case RZ_HALF_PIXEL: return centered;
    case RZ_HALF_PIXEL_SYMMETRIC: { /* offset + centered, offset = w/2 * (1 - out/ow) */
        uint32_t adjust = F(DIV, dim_f64(p, rz->out[a]), ow);
        return F(ADD, F(MUL, F(DIV, w, mv_f(p, 2)), F(SUB, one, adjust)), centered);
    }
    case RZ_PYTORCH_HALF_PIXEL: return if_one(p, ow, mv_f(p, -0.5), centered);
    case RZ_ALIGN_CORNERS: return if_one(p, ow, mv_f(p, 0), F(DIV, F(MUL, y, wm1), F(SUB, ow, one)));
    case RZ_ASYMMETRIC: return F(DIV, y, s);
    case RZ_TF_HALF_PIXEL_FOR_NN: return F(DIV, F(ADD, y, half), s);
    case RZ_TF_CROP_AND_RESIZE: {
        uint32_t r0, span;
        roi_of(p, rz, a, &r0, &span);
        uint32_t x = if_one(p, ow, F(DIV, F(MUL, span, wm1), mv_f(p, 2)), F(DIV, F(MUL, F(MUL, y, span), wm1), F(SUB, ow, one)));
        x = F(ADD, x, F(MUL, r0, wm1));
        *outside = kb_bin(p, KX_OR, kb_bin(p, KX_LT, x, mv_f(p, 0)), kb_bin(p, KX_GT, x, wm1));
        return x;
    }
    }
    return centered;
}

/* An f64 index expression clamped into [0, dim) as i64 (edge padding). */
static uint32_t clamp_index(kir_program *p, uint32_t i, ir_dim dim) {
    uint32_t last = mv_ibin(p, KX_SUB, kb_dim(p, dim), mv_i(p, 1));
    return mv_ibin(p, KX_MAX, mv_ibin(p, KX_MIN, i, last), mv_i(p, 0));
}

/* Nearest source index of coordinate x. ceil(x) - 1 <= x <= ceil(x): ratio =
 * x - (ceil(x) - 1) in (0, 1] picks ceil(x) when the mode rounds up. */
static uint32_t nearest_index(kir_program *p, const mv_resize *rz, uint32_t x) {
    uint32_t c = kb_un(p, KX_CEIL, x), below = F(SUB, c, mv_f(p, 1)), ratio = F(SUB, x, below), pick;
    switch (rz->nearest) {
    case RZ_ROUND_PREFER_FLOOR: pick = kb_select(p, kb_bin(p, KX_GT, ratio, mv_f(p, 0.5)), c, below); break;
    case RZ_ROUND_PREFER_CEIL: pick = kb_select(p, kb_bin(p, KX_GE, ratio, mv_f(p, 0.5)), c, below); break;
    case RZ_FLOOR: pick = kb_un(p, KX_FLOOR, x); break;
    default: pick = c; break;
    }
    return kb_cast(p, IR_I64, pick, false);
}

/* The interpolation kernel K(d): triangle (linear) or cubic with coefficient A. */
static uint32_t kernel_weight(kir_program *p, const mv_resize *rz, uint32_t dist) {
    uint32_t ad = kb_un(p, KX_ABS, dist), one = mv_f(p, 1), zero = mv_f(p, 0);
    if (rz->mode == RZ_LINEAR) return F(MAX, F(SUB, one, ad), zero);
    double A = rz->cubic_a;
    /* |d| <= 1: ((A+2)|d| - (A+3)) |d|^2 + 1;  1 < |d| < 2: ((A|d| - 5A)|d| + 8A)|d| - 4A */
    uint32_t near = F(ADD, F(MUL, F(SUB, F(MUL, mv_f(p, A + 2), ad), mv_f(p, A + 3)), F(MUL, ad, ad)), one);
    uint32_t far = F(SUB, F(MUL, F(ADD, F(MUL, F(SUB, F(MUL, mv_f(p, A), ad), mv_f(p, 5 * A)), ad), mv_f(p, 8 * A)), ad), mv_f(p, 4 * A));
    return kb_select(p, kb_bin(p, KX_LE, ad, one), near, kb_select(p, kb_bin(p, KX_LT, ad, mv_f(p, 2)), far, zero));
}

#define MAX_TAPS 256 /* per axis: antialiased downsampling down to about 1/63 (cubic) or 1/127 (linear) */

/* Taps of one resized axis: count n and the offset of the first tap from
 * ceil(x) - 1, and the kernel's stretch s. */
static int axis_taps(kir_program *p, ir_id node, const mv_resize *rz, int a, int64_t *n, int64_t *first, double *s, diag *d) {
    double reach = rz->mode == RZ_LINEAR ? 1 : 2;
    *s = 1;
    if (rz->antialias) {
        if (!rz->scale_known[a])
            return ir_node_error(p->g, NODE, d, "antialias needs a known scale (axis %d has symbolic size)", a);
        *s = fmin(rz->scale[a], 1);
    }
    double taps = 2 - 2 * (floor(-reach / *s) + 1);
    if (!(taps <= MAX_TAPS))
        return ir_node_error(p->g, NODE, d, "antialias scale %g of axis %d needs more than %d taps", *s, a, MAX_TAPS);
    *n = (int64_t)taps;
    *first = 1 - *n / 2;
    return 0;
}

/* Weight of tap t (an i64 expression) of axis a at coordinate x, and its
 * clamped source index in *src; normalized by the sum over all taps when
 * antialiasing or excluding outside taps. */
static uint32_t tap_weight(kir_program *p, const mv_resize *rz, int64_t n, int64_t first, double s, uint32_t x,
                           uint32_t t, ir_dim in, uint32_t *src) {
    uint32_t base = F(SUB, kb_un(p, KX_CEIL, x), mv_f(p, 1)), ratio = F(SUB, x, base);
    uint32_t base_i = kb_cast(p, IR_I64, base, false);
    /* weight and index of tap number tt (an i64 expression) */
    uint32_t tf = kb_cast(p, IR_F64, t, false);
    uint32_t i = mv_ibin(p, KX_ADD, base_i, mv_ibin(p, KX_ADD, t, mv_i(p, first)));
    uint32_t w = kernel_weight(p, rz, F(MUL, mv_f(p, s), F(SUB, F(ADD, tf, mv_f(p, (double)first)), ratio)));
    *src = clamp_index(p, i, in);
    if (!rz->antialias && !rz->exclude_outside) return w;
    uint32_t zero = mv_f(p, 0), sum = zero;
    for (int64_t k = 0; k < n; k++) { /* unrolled over the taps: depends on the output position only */
        uint32_t ik = mv_ibin(p, KX_ADD, base_i, mv_i(p, k + first));
        uint32_t wk = kernel_weight(p, rz, F(MUL, mv_f(p, s), F(SUB, mv_f(p, (double)(k + first)), ratio)));
        if (rz->exclude_outside) wk = kb_select(p, mv_in_range(p, ik, in), wk, zero);
        sum = F(ADD, sum, wk);
    }
    if (rz->exclude_outside) w = kb_select(p, mv_in_range(p, i, in), w, zero);
    sum = kb_select(p, kb_bin(p, KX_EQ, sum, zero), mv_f(p, 1), sum);
    return F(DIV, w, sum);
}

/* f64 value v stored in dtype t: integers round half to even and saturate. */
static uint32_t store_as(kir_program *p, ir_dtype t, uint32_t v) {
    if (ir_dtype_is_float(t)) return kb_cast(p, t, v, false);
    double lo = (double)kb_reduce_init_i(KR_MAX, t), hi = (double)kb_reduce_init_i(KR_MIN, t);
    v = F(MIN, F(MAX, kb_un(p, KX_ROUND, v), mv_f(p, lo)), mv_f(p, hi));
    return kb_cast(p, t, v, false);
}

int lower_resize(kir_program *p, ir_id node, diag *d) {
    mv_resize rz;
    int rc = mv_resize_plan(p->g, NODE, &rz, d);
    if (rc) return rc < 0 ? -1 : ir_node_error(p->g, NODE, d, "scales and sizes must be constants (data-dependent shapes are not supported)");
    const ir_value *x = &p->g->values[NODE->in[0]];
    ir_dtype t = x->dtype;
    uint32_t xb = kb_value(p, NODE->in[0]), out = kb_value(p, NODE->out[0]);
    uint32_t idx[IR_MAX_RANK], outside = KIR_NONE; /* tf_crop_and_resize only */
    uint32_t weight = mv_f(p, 1);
    ir_dim red[IR_MAX_RANK];
    int rrank = 0;
    for (int a = 0; a < x->rank; a++) {
        idx[a] = kb_idx(p, a);
        if (!rz.resized[a]) continue;
        uint32_t out_a = KIR_NONE;
        uint32_t xa = source_coord(p, &rz, a, x->dims[a], &out_a);
        if (out_a != KIR_NONE) outside = outside == KIR_NONE ? out_a : kb_bin(p, KX_OR, outside, out_a);
        if (rz.mode == RZ_NEAREST) {
            idx[a] = clamp_index(p, nearest_index(p, &rz, xa), x->dims[a]);
            continue;
        }
        int64_t n = 0, first = 0;
        double s = 1;
        if (axis_taps(p, node, &rz, a, &n, &first, &s, d)) return -1;
        weight = F(MUL, weight, tap_weight(p, &rz, n, first, s, xa, kb_ridx(p, rrank), x->dims[a], &idx[a]));
        red[rrank++] = ir_dim_const(n);
    }
    uint32_t ev = store_as(p, t, mv_f(p, rz.extrapolation));
    if (rz.mode == RZ_NEAREST) { /* out[y] = x[nearest(source(y))] */
        uint32_t body = kb_load(p, xb, idx);
        if (outside != KIR_NONE) body = kb_select(p, outside, ev, body);
        return kb_kernel(p, node, out, body) < 0 ? -1 : 0;
    }
    /* out[y] = sum over taps of prod_a w_a(tap_a) * x[tap index] */
    uint32_t body = F(MUL, weight, kb_cast(p, IR_F64, kb_load(p, xb, idx), false));
    uint32_t post = store_as(p, t, kb_acc(p, IR_F64));
    if (outside != KIR_NONE) post = kb_select(p, outside, ev, post);
    return kb_reduce(p, node, out, KR_SUM, rrank, red, IR_F64, body, post) < 0 ? -1 : 0;
}
