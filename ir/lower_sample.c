/* lower_sample.c — lowering of the ops that read a tensor at fractional
 * positions: GridSample, RoiAlign and DeformConv, and of AffineGrid, which
 * makes the positions GridSample reads.
 *
 * An interpolated read is separable: along each spatial axis a position
 * gives a few taps (1 nearest, 2 linear, 4 cubic), each an input index with
 * a weight, and the value is the sum over all tap combinations of the
 * product of the weights times the element there. So each op is one
 * reduction kernel whose reduction axes include one tap axis (RIDX) per
 * spatial axis; the tap's index and weight are expressions of that RIDX,
 * and a tap outside the input reads 0 (zeros padding, a select) or is moved
 * inside (border: clamped, reflection: mirrored). RoiAlign averages (or
 * takes the maximum of) such bilinear samples on a regular grid in each
 * output bin; DeformConv is a convolution whose taps are bilinear samples
 * at offset positions. Positions and weights are computed in the float type
 * of the coordinates, values in lr_float_type of the data (integers in f64).
 */
#include <math.h>

#include "lower_nn.h"
#include "lower_reduce.h"
#include "sample.h"
#include "window.h"

#define NODE (&p->g->nodes[node])

/* ---- interpolation taps ------------------------------------------------------------- */

/* One spatial axis of an interpolated read at tap RIDX r: the input index,
 * the weight (float), and whether the index is inside (KIR_NONE: always). */
typedef struct smp_tap {
    uint32_t idx, weight, inside;
} smp_tap;

static int taps_of(smp_mode mode) { return mode == SMP_NEAREST ? 1 : mode == SMP_LINEAR ? 2 : 4; }

static uint32_t fconst(kir_program *p, uint32_t like, double v) { return kb_const_f(p, kb_type(p, like), v); }

/* Keys' cubic convolution weight (alpha -0.75) of tap r = 0..3 of the taps
 * x0 - 1 .. x0 + 2 around x = x0 + f. */
static uint32_t cubic_weight(kir_program *p, uint32_t f, uint32_t r) {
    const double A = -0.75;
    uint32_t one = fconst(p, f, 1), two = fconst(p, f, 2), w[4];
    uint32_t d[4] = {kb_bin(p, KX_ADD, f, one), f, kb_bin(p, KX_SUB, one, f), kb_bin(p, KX_SUB, two, f)};
    for (int i = 0; i < 4; i++) {
        uint32_t x = d[i], v;
        if (i == 1 || i == 2) { /* ((A + 2) x - (A + 3)) x^2 + 1, for |x| <= 1 */
            v = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, fconst(p, f, A + 2), x), fconst(p, f, A + 3));
            v = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, kb_bin(p, KX_MUL, v, x), x), one);
        } else { /* ((A x - 5A) x + 8A) x - 4A, for 1 < |x| < 2 */
            v = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, fconst(p, f, A), x), fconst(p, f, 5 * A));
            v = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, v, x), fconst(p, f, 8 * A));
            v = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, v, x), fconst(p, f, 4 * A));
        }
        w[i] = v;
    }
    uint32_t out = w[3];
    for (int i = 2; i >= 0; i--) out = kb_select(p, kb_bin(p, KX_EQ, r, nn_ix(p, i)), w[i], out);
    return out;
}

/* Tap r of an interpolation around position x (float): nearest reads
 * trunc(x) (x is already rounded), linear floor(x) + r with weights 1 - f
 * and f, cubic floor(x) - 1 + r. */
static smp_tap interp_tap(kir_program *p, smp_mode mode, uint32_t x, uint32_t r) {
    smp_tap t = {.inside = KIR_NONE};
    if (mode == SMP_NEAREST) {
        t.idx = kb_cast(p, IR_I64, x, false);
        t.weight = fconst(p, x, 1);
        return t;
    }
    uint32_t x0 = kb_un(p, KX_FLOOR, x), f = kb_bin(p, KX_SUB, x, x0), base = kb_cast(p, IR_I64, x0, false);
    if (mode == SMP_LINEAR) {
        t.idx = kb_bin(p, KX_ADD, base, r);
        t.weight = kb_select(p, kb_bin(p, KX_EQ, r, nn_ix(p, 0)), kb_bin(p, KX_SUB, fconst(p, x, 1), f), f);
        return t;
    }
    t.idx = kb_bin(p, KX_ADD, kb_iadd(p, base, -1), r);
    t.weight = cubic_weight(p, f, r);
    return t;
}

/* x (float) mirrored at the borders lo and hi until it lies in [lo, hi]. */
static uint32_t reflect(kir_program *p, uint32_t x, uint32_t lo, uint32_t hi) {
    uint32_t range = kb_bin(p, KX_SUB, hi, lo), below = kb_bin(p, KX_LT, x, lo), above = kb_bin(p, KX_GT, x, hi);
    uint32_t dx = kb_select(p, below, kb_bin(p, KX_SUB, lo, x), kb_bin(p, KX_SUB, x, hi));
    uint32_t flips = kb_un(p, KX_TRUNC, kb_bin(p, KX_DIV, dx, range));
    uint32_t rest = kb_bin(p, KX_SUB, dx, kb_bin(p, KX_MUL, flips, range));
    uint32_t even = kb_bin(p, KX_EQ, kb_bin(p, KX_FMOD, flips, fconst(p, x, 2)), fconst(p, x, 0));
    uint32_t from_lo = kb_bin(p, KX_ADD, lo, rest), from_hi = kb_bin(p, KX_SUB, hi, rest);
    uint32_t y = kb_select(p, below, kb_select(p, even, from_lo, from_hi),
                           kb_select(p, above, kb_select(p, even, from_hi, from_lo), x));
    /* an axis of one element under align_corners has no range: its only position */
    return kb_select(p, kb_bin(p, KX_GT, range, fconst(p, x, 0)), y, lo);
}

/* The borders of an axis of size n (float): [0, n - 1] with align_corners,
 * else [-0.5, n - 0.5]. */
static void borders(kir_program *p, uint32_t n, bool align, uint32_t *lo, uint32_t *hi) {
    *lo = fconst(p, n, align ? 0 : -0.5);
    *hi = kb_bin(p, KX_SUB, n, fconst(p, n, align ? 1 : 0.5));
}

/* Make tap t read inside an axis of `size` elements by the padding mode:
 * zeros marks it (the read is 0 outside), border clamps, reflection mirrors. */
static void pad_tap(kir_program *p, smp_pad pad, smp_tap *t, ir_dim size, uint32_t lo, uint32_t hi) {
    uint32_t n = kb_dim(p, size);
    switch (pad) {
    case SMP_ZEROS: t->inside = nn_in_range(p, t->idx, size); break;
    case SMP_BORDER: t->idx = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, t->idx, nn_ix(p, 0)), kb_iadd(p, n, -1)); break;
    case SMP_REFLECTION:
        t->idx = kb_cast(p, IR_I64, reflect(p, kb_cast(p, kb_type(p, lo), t->idx, false), lo, hi), false);
        break;
    }
}

/* sum (or max) over the reduction domain of the product of the taps'
 * weights and x read at their indices (0 where a tap is outside), in type
 * t, as the body of a kernel; idx holds x's leading indices, the taps fill
 * the k spatial ones. */
static uint32_t tap_product(kir_program *p, uint32_t x, uint32_t *idx, int lead, const smp_tap *taps, int k,
                            ir_dtype t) {
    uint32_t inside = KIR_NONE, w = KIR_NONE;
    for (int i = 0; i < k; i++) {
        idx[lead + i] = taps[i].idx;
        inside = nn_and(p, inside, taps[i].inside);
        uint32_t wi = kb_cast(p, t, taps[i].weight, false);
        w = w == KIR_NONE ? wi : kb_bin(p, KX_MUL, w, wi);
    }
    uint32_t v = kb_cast(p, t, kb_load(p, x, idx), false);
    if (inside != KIR_NONE) v = kb_select(p, inside, v, kb_const_f(p, t, 0));
    return w == KIR_NONE ? v : kb_bin(p, KX_MUL, w, v);
}

/* ---- GridSample ----------------------------------------------------------------------- */

/* The position along input axis i (of k) that output point (n, c, o...)
 * samples: grid[n, o..., k - 1 - i] (the grid lists x first) mapped from
 * [-1, 1] to the axis, rounded for nearest, and moved inside the borders by
 * border / reflection padding. */
static uint32_t grid_position(kir_program *p, uint32_t grid, int i, int k, ir_dim size, smp_mode mode, smp_pad pad,
                              bool align, uint32_t *lo, uint32_t *hi) {
    uint32_t gi[IR_MAX_RANK];
    gi[0] = kb_idx(p, 0);
    for (int j = 0; j < k; j++) gi[1 + j] = kb_idx(p, 2 + j);
    gi[1 + k] = nn_ix(p, k - 1 - i);
    ir_dtype t = lr_float_type(kb_buf(p, grid)->dtype);
    uint32_t g = kb_cast(p, t, kb_load(p, grid, gi), false), n = kb_cast(p, t, kb_dim(p, size), false);
    uint32_t one = kb_const_f(p, t, 1), half = kb_const_f(p, t, 0.5), g1 = kb_bin(p, KX_ADD, g, one);
    /* align_corners: (g + 1) / 2 * (n - 1), else ((g + 1) * n - 1) / 2 */
    uint32_t x = align ? kb_bin(p, KX_MUL, kb_bin(p, KX_MUL, g1, half), kb_bin(p, KX_SUB, n, one))
                       : kb_bin(p, KX_MUL, kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, g1, n), one), half);
    if (mode == SMP_NEAREST) x = kb_un(p, KX_ROUND, x);
    borders(p, n, align, lo, hi);
    uint32_t outside = kb_bin(p, KX_OR, kb_bin(p, KX_LT, x, *lo), kb_bin(p, KX_GT, x, *hi));
    if (pad == SMP_BORDER) {
        uint32_t clamped = kb_bin(p, KX_MIN, kb_bin(p, KX_MAX, x, kb_const_f(p, t, 0)), kb_bin(p, KX_SUB, n, one));
        x = kb_select(p, outside, clamped, x);
    } else if (pad == SMP_REFLECTION) {
        x = reflect(p, x, *lo, *hi);
    }
    return x;
}

/* X (N, C, D1..Dk) at grid (N, O1..Ok, k) -> Y (N, C, O1..Ok):
 * Y[n, c, o...] = sum over the taps of each axis of prod(weights) * X[n, c, taps...] */
int lower_grid_sample(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    smp_mode mode;
    smp_pad pad;
    if (grid_sample_modes(p->g, n, &mode, &pad, d)) return -1;
    uint32_t x = kb_value(p, n->in[0]), grid = kb_value(p, n->in[1]), y = kb_value(p, n->out[0]);
    int k = kb_buf(p, x)->rank - 2;
    bool align = ir_attr_int(n, "align_corners") != 0;
    ir_dtype xt = kb_buf(p, x)->dtype, t = lr_float_type(xt);
    smp_tap taps[IR_MAX_RANK];
    ir_dim red[IR_MAX_RANK];
    for (int i = 0; i < k; i++) {
        ir_dim size = kb_buf(p, x)->dims[2 + i];
        uint32_t lo, hi, pos = grid_position(p, grid, i, k, size, mode, pad, align, &lo, &hi);
        taps[i] = interp_tap(p, mode, pos, kb_ridx(p, i));
        pad_tap(p, pad, &taps[i], size, lo, hi);
        red[i] = ir_dim_const(taps_of(mode));
    }
    uint32_t idx[IR_MAX_RANK] = {kb_idx(p, 0), kb_idx(p, 1)};
    uint32_t body = tap_product(p, x, idx, 2, taps, k, t);
    if (mode == SMP_NEAREST) return kb_kernel(p, node, y, kb_cast(p, xt, body, false)) < 0 ? -1 : 0;
    uint32_t post = kb_cast(p, xt, kb_acc(p, t), false);
    return kb_reduce(p, node, y, KR_SUM, k, red, t, body, post == kb_acc(p, t) ? KIR_NONE : post) < 0 ? -1 : 0;
}

/* ---- AffineGrid ----------------------------------------------------------------------------- */

/* The base coordinate in [-1, 1] of index i on an axis of n elements:
 * -1 + 2i / (n - 1) with align_corners (-1 when n is 1), else -1 + (2i + 1) / n. */
static uint32_t base_coordinate(kir_program *p, uint32_t i, int64_t n, bool align, ir_dtype t) {
    uint32_t fi = kb_cast(p, t, i, false);
    if (align && n == 1) return kb_const_f(p, t, -1);
    if (align)
        return kb_bin(p, KX_ADD, kb_const_f(p, t, -1), kb_bin(p, KX_MUL, fi, kb_const_f(p, t, 2.0 / (double)(n - 1))));
    uint32_t twice = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, fi, kb_const_f(p, t, 2)), kb_const_f(p, t, 1));
    return kb_bin(p, KX_SUB, kb_bin(p, KX_DIV, twice, kb_const_f(p, t, (double)n)), kb_const_f(p, t, 1));
}

/* grid (N, [D,] H, W, k)[n, ..., c] = sum over j < k of theta[n, c, j] * base_j + theta[n, c, k],
 * base = (x, y[, z]) of the point: x runs along W, y along H, z along D. */
int lower_affine_grid(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    int64_t size[5];
    int count;
    int rc = affine_grid_size(p->g, n, size, &count, d);
    if (rc < 0) return -1;
    if (rc) return ir_node_error(p->g, n, d, "size must be a constant (data-dependent shapes are not supported)");
    int k = count - 2;
    bool align = ir_attr_int(n, "align_corners") != 0;
    uint32_t theta = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]);
    ir_dtype tt = kb_buf(p, theta)->dtype, t = lr_float_type(tt);
    uint32_t ti[3] = {kb_idx(p, 0), kb_idx(p, k + 1), nn_ix(p, k)};
    uint32_t v = kb_cast(p, t, kb_load(p, theta, ti), false);
    for (int j = 0; j < k; j++) {
        int axis = k - 1 - j; /* spatial axis of base component j */
        ti[2] = nn_ix(p, j);
        uint32_t b = base_coordinate(p, kb_idx(p, 1 + axis), size[2 + axis], align, t);
        v = kb_bin(p, KX_ADD, v, kb_bin(p, KX_MUL, kb_cast(p, t, kb_load(p, theta, ti), false), b));
    }
    return kb_kernel(p, node, out, kb_cast(p, tt, v, false)) < 0 ? -1 : 0;
}

/* ---- RoiAlign -------------------------------------------------------------------------------- */

/* Tap r (0 low, 1 high) of RoiAlign's bilinear sample at position y on an
 * axis of n elements (float), as the reference computes it: y clamped to
 * [0, ...), low = trunc(y), both taps at n - 1 when low >= n - 1. */
static smp_tap roi_tap(kir_program *p, uint32_t y, ir_dim size, uint32_t r) {
    uint32_t n1 = kb_iadd(p, kb_dim(p, size), -1);
    uint32_t yc = kb_bin(p, KX_MAX, y, fconst(p, y, 0)), low = kb_cast(p, IR_I64, yc, false);
    uint32_t at_end = kb_bin(p, KX_GE, low, n1);
    low = kb_select(p, at_end, n1, low);
    uint32_t high = kb_select(p, at_end, n1, kb_iadd(p, low, 1));
    uint32_t ly = kb_select(p, at_end, fconst(p, y, 0), kb_bin(p, KX_SUB, yc, kb_cast(p, kb_type(p, y), low, false)));
    uint32_t is_low = kb_bin(p, KX_EQ, r, nn_ix(p, 0));
    smp_tap t = {kb_select(p, is_low, low, high), kb_select(p, is_low, kb_bin(p, KX_SUB, fconst(p, y, 1), ly), ly),
                 KIR_NONE};
    return t;
}

/* The sample position along one axis (0: y, 1: x) of output bin IDX(2 + a),
 * sample RIDX(a) of `ratio`: start + bin * (o + (s + 0.5) / ratio), where the
 * roi's corners are rois[r, a] and rois[r, a + 2] (x first in the roi). */
static uint32_t roi_position(kir_program *p, uint32_t rois, int a, const roi_align_attrs *ra, ir_dtype t,
                             uint32_t *valid, ir_dim size) {
    uint32_t ri[2] = {kb_idx(p, 0), nn_ix(p, 1 - a)};
    double off = ra->half_pixel ? 0.5 : 0;
    uint32_t scale = kb_const_f(p, t, ra->scale), shift = kb_const_f(p, t, off);
    uint32_t start = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, kb_cast(p, t, kb_load(p, rois, ri), false), scale), shift);
    ri[1] = nn_ix(p, 3 - a);
    uint32_t end = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, kb_cast(p, t, kb_load(p, rois, ri), false), scale), shift);
    uint32_t extent = kb_bin(p, KX_SUB, end, start);
    if (!ra->half_pixel) extent = kb_bin(p, KX_MAX, extent, kb_const_f(p, t, 1)); /* malformed rois: 1 x 1 */
    uint32_t bin = kb_bin(p, KX_DIV, extent, kb_const_f(p, t, (double)(a ? ra->out_w : ra->out_h)));
    uint32_t frac = kb_bin(p, KX_DIV, kb_bin(p, KX_ADD, kb_cast(p, t, kb_ridx(p, a), false), kb_const_f(p, t, 0.5)),
                           kb_const_f(p, t, (double)ra->ratio));
    uint32_t o = kb_bin(p, KX_ADD, kb_cast(p, t, kb_idx(p, 2 + a), false), frac);
    uint32_t pos = kb_bin(p, KX_ADD, start, kb_bin(p, KX_MUL, bin, o));
    /* a sample beyond [-1, n] contributes 0 */
    uint32_t n = kb_cast(p, t, kb_dim(p, size), false);
    uint32_t ok = kb_bin(p, KX_AND, kb_bin(p, KX_GE, pos, kb_const_f(p, t, -1)), kb_bin(p, KX_LE, pos, n));
    *valid = nn_and(p, *valid, ok);
    return pos;
}

/* X (N, C, H, W), rois (R, 4) as (x1, y1, x2, y2), batch_indices (R) -> Y (R, C, PH, PW):
 * Y[r, c, ph, pw] = avg (or max) over the ratio x ratio samples of bin
 * (ph, pw) of the bilinear value of X[batch_indices[r], c] there. */
int lower_roi_align(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    roi_align_attrs ra;
    if (roi_align_read(p->g, n, &ra, d)) return -1;
    if (ra.ratio == 0)
        return ir_node_error(p->g, n, d, "sampling_ratio 0 (a sample count that depends on each roi's size) is "
                                         "not supported");
    uint32_t x = kb_value(p, n->in[0]), rois = kb_value(p, n->in[1]), y = kb_value(p, n->out[0]);
    ir_dtype xt = kb_buf(p, x)->dtype, t = lr_float_type(xt);
    uint32_t valid = KIR_NONE, r0 = kb_idx(p, 0);
    smp_tap taps[2];
    for (int a = 0; a < 2; a++) {
        ir_dim size = kb_buf(p, x)->dims[2 + a];
        taps[a] = roi_tap(p, roi_position(p, rois, a, &ra, t, &valid, size), size, kb_ridx(p, 2 + a));
    }
    uint32_t idx[4] = {kb_cast(p, IR_I64, kb_load(p, kb_value(p, n->in[2]), &r0), false), kb_idx(p, 1)};
    uint32_t body = kb_select(p, valid, tap_product(p, x, idx, 2, taps, 2, t), kb_const_f(p, t, 0));
    ir_dim red[4] = {ir_dim_const(ra.ratio), ir_dim_const(ra.ratio), ir_dim_const(2), ir_dim_const(2)};
    uint32_t acc = kb_acc(p, t), count = kb_const_f(p, t, (double)(ra.ratio * ra.ratio));
    uint32_t post = ra.max ? acc : kb_bin(p, KX_DIV, acc, count);
    post = kb_cast(p, xt, post, false);
    // Y (R, C, PH, PW) = sum / count (or max) over samples and bilinear taps
    return kb_reduce(p, node, y, ra.max ? KR_MAX : KR_SUM, 4, red, t, body, post == acc ? KIR_NONE : post) < 0 ? -1 : 0;
}

/* ---- DeformConv -------------------------------------------------------------------------------- */

/* X (N, C, D...) * W (M, C/group, K...) at offset positions -> Y (N, M, O...):
 * Y[n, m, o...] = B[m] + sum over c < C/group, taps k..., corners of
 *   W[m, c, k...] * mask[n, g*|K| + k] * bilinear X[n, ic] at
 *   o*stride - pad + k*dilation + offset[n, (g*|K| + k)*dims + axis, o...],
 * ic = (m / (M/group)) * C/group + c, g = ic / (C/offset_group), zeros outside. */
int lower_deform_conv(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]), w = kb_value(p, n->in[1]), off = kb_value(p, n->in[2]);
    uint32_t y = kb_value(p, n->out[0]);
    int k = kb_buf(p, x)->rank - 2;
    ir_window win;
    if (ir_window_read(p->g, n, k, kb_buf(p, w)->dims + 2, &win, d)) return -1;
    if (1 + 2 * k > IR_MAX_RANK) return ir_node_error(p->g, n, d, "%d spatial axes are too many", k);
    ir_dtype xt = kb_buf(p, x)->dtype, t = nn_compute_type(xt);
    int64_t group = ir_attr_int(n, "group"), og = ir_attr_int(n, "offset_group"), taps = 1;
    for (int i = 0; i < k; i++) taps *= win.kernel[i];
    ir_dim c = kb_buf(p, x)->dims[1], cg = kb_buf(p, w)->dims[1];
    ir_dim m_per_group = ir_dim_div(p->g, kb_buf(p, w)->dims[0], ir_dim_const(group));
    uint32_t gi = nn_ibin(p, KX_FLOORDIV, kb_idx(p, 1), kb_dim(p, m_per_group));
    uint32_t ic = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, gi, kb_dim(p, cg)), kb_ridx(p, 0));
    uint32_t ogi = nn_ibin(p, KX_FLOORDIV, ic, kb_dim(p, ir_dim_div(p->g, c, ir_dim_const(og))));
    /* the kernel tap's row-major number within the window */
    uint32_t tap = nn_ix(p, 0);
    for (int i = 0; i < k; i++) tap = kb_bin(p, KX_ADD, kb_imul(p, tap, win.kernel[i]), kb_ridx(p, 1 + i));
    uint32_t ch = kb_bin(p, KX_ADD, kb_imul(p, ogi, taps), tap);
    uint32_t oi[IR_MAX_RANK], wi[IR_MAX_RANK] = {kb_idx(p, 1), kb_ridx(p, 0)}, xi[IR_MAX_RANK] = {kb_idx(p, 0), ic};
    smp_tap corner[IR_MAX_RANK];
    ir_dim red[IR_MAX_RANK];
    red[0] = cg;
    oi[0] = kb_idx(p, 0);
    for (int i = 0; i < k; i++) oi[2 + i] = kb_idx(p, 2 + i);
    for (int i = 0; i < k; i++) {
        ir_dim in = kb_buf(p, x)->dims[2 + i], out = kb_buf(p, y)->dims[2 + i];
        uint32_t at = nn_window_pos(p, &win, i, nn_pad_begin(p, &win, i, in, out), kb_ridx(p, 1 + i));
        oi[1] = kb_iadd(p, kb_imul(p, ch, k), i);
        uint32_t pos = kb_bin(p, KX_ADD, kb_cast(p, t, at, false), kb_cast(p, t, kb_load(p, off, oi), false));
        corner[i] = interp_tap(p, SMP_LINEAR, pos, kb_ridx(p, 1 + k + i));
        pad_tap(p, SMP_ZEROS, &corner[i], in, KIR_NONE, KIR_NONE);
        wi[2 + i] = kb_ridx(p, 1 + i);
        red[1 + i] = ir_dim_const(win.kernel[i]);
        red[1 + k + i] = ir_dim_const(2);
    }
    uint32_t body = kb_bin(p, KX_MUL, kb_cast(p, t, kb_load(p, w, wi), false), tap_product(p, x, xi, 2, corner, k, t));
    if (n->n_in > 4 && n->in[4] != IR_NONE) {
        oi[1] = ch;
        body = kb_bin(p, KX_MUL, body, kb_cast(p, t, kb_load(p, kb_value(p, n->in[4]), oi), false));
    }
    uint32_t acc = kb_acc(p, t), post = acc;
    if (n->n_in > 3 && n->in[3] != IR_NONE)
        post = kb_bin(p, KX_ADD, acc, kb_cast(p, t, nn_param_at(p, n->in[3], 1), false));
    post = kb_cast(p, xt, post, false);
    // Y (N, M, O...) = B[m] + sum over (c, k..., corners) of W * mask * bilinear(X)
    return kb_reduce(p, node, y, KR_SUM, 1 + 2 * k, red, t, body, post == acc ? KIR_NONE : post) < 0 ? -1 : 0;
}
