/* lower_movement.c — lowering of shape and data-movement ops, and the index
 * helpers (movement.h) that lower_index.c and lower_resize.c share.
 *
 * Every op here is one loop kernel over its output: the body is a load of
 * the input at an index computed from the output position (IDX), so a
 * consumer can later inline it like any elementwise producer. Reshape-like
 * ops (Reshape, Flatten, Squeeze, Unsqueeze) address the input through the
 * unravelled linear position; Transpose permutes IDX; Concat selects its
 * source by the position along the concat axis; Slice, Pad, Tile, Split,
 * DepthToSpace and SpaceToDepth are affine or div/mod index maps. Reads that
 * may fall outside the input (Pad in constant mode) are guarded by selects.
 * Shape and Size compute their result from the (possibly symbolic) dims.
 */
#include <math.h>
#include <string.h>

#include "lower.h"
#include "movement.h"

#define NODE (&p->g->nodes[node])

/* ---- index helpers (movement.h) ------------------------------------------------- */

static bool const_int(const kir_program *p, uint32_t e, int64_t *v) {
    const kir_expr *x = &p->exprs[e];
    if (x->op != KX_CONST || ir_dtype_is_float(x->dtype)) return false;
    *v = x->ival;
    return true;
}

static bool const_f64(const kir_program *p, uint32_t e, double *v) {
    const kir_expr *x = &p->exprs[e];
    if (x->op != KX_CONST || x->dtype != IR_F64) return false;
    *v = x->fval;
    return true;
}

static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

uint32_t mv_ibin(kir_program *p, kx_op op, uint32_t a, uint32_t b) {
    int64_t x = 0, y = 0;
    bool ka = const_int(p, a, &x), kb2 = const_int(p, b, &y);
    if (ka && kb2) {
        switch (op) {
        case KX_ADD: return mv_i(p, (int64_t)((uint64_t)x + (uint64_t)y));
        case KX_SUB: return mv_i(p, (int64_t)((uint64_t)x - (uint64_t)y));
        case KX_MUL: return mv_i(p, (int64_t)((uint64_t)x * (uint64_t)y));
        case KX_FLOORDIV: if (y != 0 && !(x == INT64_MIN && y == -1)) return mv_i(p, floordiv(x, y)); break;
        case KX_MOD: if (y != 0 && y != -1) return mv_i(p, x - floordiv(x, y) * y); break;
        case KX_MIN: return mv_i(p, x < y ? x : y);
        case KX_MAX: return mv_i(p, x > y ? x : y);
        default: break;
        }
    }
    if (kb2 && y == 1 && op == KX_FLOORDIV) return a;
    if (kb2 && y == 1 && op == KX_MOD) return mv_i(p, 0);
    if ((op == KX_MIN || op == KX_MAX) && a == b) return a;
    return kb_bin(p, op, a, b);
}

uint32_t mv_fbin(kir_program *p, kx_op op, uint32_t a, uint32_t b) {
    double x, y;
    if (const_f64(p, a, &x) && const_f64(p, b, &y)) {
        switch (op) {
        case KX_ADD: return mv_f(p, x + y);
        case KX_SUB: return mv_f(p, x - y);
        case KX_MUL: return mv_f(p, x * y);
        case KX_DIV: return mv_f(p, x / y);
        case KX_MIN: return mv_f(p, isnan(x) || isnan(y) ? NAN : x < y ? x : y);
        case KX_MAX: return mv_f(p, isnan(x) || isnan(y) ? NAN : x > y ? x : y);
        default: break;
        }
    }
    return kb_bin(p, op, a, b);
}

uint32_t mv_norm_index(kir_program *p, uint32_t idx, ir_dim dim) {
    uint32_t i = kb_cast(p, IR_I64, idx, false);
    int64_t c;
    if (const_int(p, i, &c) && c >= 0) return i;
    return kb_select(p, kb_bin(p, KX_LT, i, mv_i(p, 0)), mv_ibin(p, KX_ADD, i, kb_dim(p, dim)), i);
}

uint32_t mv_and(kir_program *p, uint32_t a, uint32_t b) {
    int64_t v;
    if (const_int(p, a, &v) && v) return b;
    if (const_int(p, b, &v) && v) return a;
    return kb_bin(p, KX_AND, a, b);
}

uint32_t mv_in_range(kir_program *p, uint32_t i, ir_dim dim) {
    return mv_and(p, kb_bin(p, KX_GE, i, mv_i(p, 0)), kb_bin(p, KX_LT, i, kb_dim(p, dim)));
}

uint32_t mv_linearize(kir_program *p, const uint32_t *idx, const ir_dim *dims, int n) {
    uint32_t lin = mv_i(p, 0);
    for (int k = 0; k < n; k++) lin = mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, lin, kb_dim(p, dims[k])), idx[k]);
    return lin;
}

void mv_unravel(kir_program *p, uint32_t lin, const ir_dim *dims, int n, uint32_t *idx) {
    uint32_t stride = mv_i(p, 1);
    for (int k = n - 1; k >= 0; k--) {
        uint32_t q = mv_ibin(p, KX_FLOORDIV, lin, stride);
        idx[k] = k == 0 ? q : mv_ibin(p, KX_MOD, q, kb_dim(p, dims[k]));
        stride = mv_ibin(p, KX_MUL, stride, kb_dim(p, dims[k]));
    }
}

static bool is_one(ir_dim x) { return ir_dim_is_const(x) && x.c == 1; }

/* Length of the smallest group of leading constant dims of a and b with
 * equal products (*na, *nb), or false when a symbolic dim gets in the way. */
static bool const_group(const ir_dim *a, int ra, const ir_dim *b, int rb, int *na, int *nb) {
    if (!ir_dim_is_const(a[0]) || !ir_dim_is_const(b[0])) return false;
    int64_t pa = a[0].c, pb = b[0].c;
    int i = 1, j = 1;
    while (pa != pb) {
        if (pa < pb) {
            if (i >= ra || !ir_dim_is_const(a[i]) || a[i].c == 0) return false;
            pa *= a[i++].c;
        } else {
            if (j >= rb || !ir_dim_is_const(b[j]) || b[j].c == 0) return false;
            pb *= b[j++].c;
        }
        if (pa > ((int64_t)1 << 50) || pb > ((int64_t)1 << 50)) return false;
    }
    *na = i;
    *nb = j;
    return true;
}

void mv_reshape_index(kir_program *p, const ir_dim *in_dims, int ri, const ir_dim *out_dims, int ro, uint32_t *idx) {
    int i = 0, j = 0;
    uint32_t oidx[IR_MAX_RANK];
    for (int k = 0; k < ro; k++) oidx[k] = kb_idx(p, k);
    /* equal trailing dims map one to one, e.g. (batch*seq, 768) <-> (batch, seq, 768) */
    while (ri > 0 && ro > 0 && ir_dim_eq(in_dims[ri - 1], out_dims[ro - 1])) idx[--ri] = oidx[--ro];
    for (;;) {
        while (i < ri && is_one(in_dims[i])) idx[i++] = mv_i(p, 0);
        while (j < ro && is_one(out_dims[j])) j++;
        if (i == ri || j == ro) break;
        int gi, gj;
        if (ir_dim_eq(in_dims[i], out_dims[j])) {
            gi = gj = 1;
        } else if (!const_group(in_dims + i, ri - i, out_dims + j, ro - j, &gi, &gj)) {
            gi = ri - i; /* the rest as one group */
            gj = ro - j;
        }
        uint32_t lin = mv_linearize(p, oidx + j, out_dims + j, gj);
        mv_unravel(p, lin, in_dims + i, gi, idx + i);
        i += gi;
        j += gj;
    }
    while (i < ri) idx[i++] = mv_i(p, 0); /* only reached when the shapes disagree, e.g. empty tensors */
}

uint32_t mv_element(kir_program *p, ir_id value, int64_t k) {
    uint32_t b = kb_value(p, value), idx[IR_MAX_RANK];
    mv_unravel(p, mv_i(p, k), kb_buf(p, b)->dims, kb_buf(p, b)->rank, idx);
    return kb_load(p, b, idx);
}

uint32_t mv_const_of(kir_program *p, ir_dtype t, double v) {
    return ir_dtype_is_float(t) ? kb_const_f(p, t, v) : kb_const_i(p, t, (int64_t)v);
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand -------------------- */

int lower_reshape(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]), *o = mv_val(p, NODE->out[0]);
    uint32_t idx[IR_MAX_RANK];
    mv_reshape_index(p, x->dims, x->rank, o->dims, o->rank, idx);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, NODE->in[0]), idx));
}

int lower_transpose(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]);
    uint32_t cnt, idx[IR_MAX_RANK];
    const int64_t *perm = ir_attr_ints(NODE, "perm", &cnt);
    /* out[i0..] = x[...] with x axis perm[i] at IDX(i) */
    for (int i = 0; i < x->rank; i++) idx[perm ? perm[i] : x->rank - 1 - i] = kb_idx(p, i);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, NODE->in[0]), idx));
}

int lower_expand(kir_program *p, ir_id node, diag *d) {
    const ir_value *o = mv_val(p, NODE->out[0]);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load_bcast(p, kb_value(p, NODE->in[0]), o->rank, o->dims));
}

/* ---- Concat, Split ----------------------------------------------------------------- */

/* Load of input `in` at the domain point with IDX(axis) shifted by +offset
 * (forward) or -offset. */
static uint32_t load_shifted(kir_program *p, ir_id in, int rank, int axis, uint32_t offset, bool forward) {
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) idx[i] = kb_idx(p, i);
    idx[axis] = mv_ibin(p, forward ? KX_ADD : KX_SUB, idx[axis], offset);
    return kb_load(p, kb_value(p, in), idx);
}

int lower_concat(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *o = mv_val(p, n->out[0]);
    int axis = mv_axis(n, "axis", o->rank);
    /* out (..., sum D_k, ...) = input k at IDX(axis) - offset[k], for the k with
     * offset[k] <= IDX(axis) < offset[k+1]: nested selects, last input innermost */
    uint32_t offsets[256 + 1], at = kb_idx(p, axis);
    if (n->n_in > 256) return ir_node_error(p->g, n, d, "%u inputs, at most 256 supported", n->n_in);
    offsets[0] = mv_i(p, 0);
    for (uint32_t k = 0; k < n->n_in; k++)
        offsets[k + 1] = mv_ibin(p, KX_ADD, offsets[k], kb_dim(p, mv_val(p, n->in[k])->dims[axis]));
    uint32_t body = load_shifted(p, n->in[n->n_in - 1], o->rank, axis, offsets[n->n_in - 1], false);
    for (uint32_t k = n->n_in - 1; k-- > 0;)
        body = kb_select(p, kb_bin(p, KX_LT, at, offsets[k + 1]), load_shifted(p, n->in[k], o->rank, axis, offsets[k], false), body);
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

int lower_split(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = mv_val(p, n->in[0]);
    int axis = mv_axis(n, "axis", x->rank);
    /* output k (..., S_k, ...) = input[..., IDX(axis) + S_0 + ... + S_k-1, ...] */
    uint32_t offset = mv_i(p, 0);
    for (uint32_t k = 0; k < n->n_out; k++) {
        if (mv_emit(p, node, mv_out(p, node, k), load_shifted(p, n->in[0], x->rank, axis, offset, true))) return -1;
        offset = mv_ibin(p, KX_ADD, offset, kb_dim(p, mv_val(p, n->out[k])->dims[axis]));
    }
    return 0;
}

/* ---- Gather ------------------------------------------------------------------------- */

int lower_gather(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = mv_val(p, n->in[0]), *ind = mv_val(p, n->in[1]);
    int axis = mv_axis(n, "axis", x->rank);
    /* data (D0.., D_axis, ..) [indices (I...)] -> (D0.., I..., ..) */
    uint32_t iidx[IR_MAX_RANK], idx[IR_MAX_RANK];
    for (int i = 0; i < ind->rank; i++) iidx[i] = kb_idx(p, axis + i);
    uint32_t at = kb_load(p, kb_value(p, n->in[1]), iidx);
    for (int i = 0; i < x->rank; i++)
        idx[i] = i < axis ? kb_idx(p, i) : i == axis ? mv_norm_index(p, at, x->dims[axis]) : kb_idx(p, i - 1 + ind->rank);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, n->in[0]), idx));
}

/* ---- Shape, Size ---------------------------------------------------------------------- */

int lower_shape_op(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = mv_val(p, n->in[0]);
    int64_t start = ir_attr_int(n, "start"), r = x->rank;
    if (start < 0) start += r;
    start = start < 0 ? 0 : start > r ? r : start;
    int64_t len = mv_val(p, n->out[0])->dims[0].c;
    /* out[j] = dim(start + j), as selects on IDX(0) */
    uint32_t body = len ? kb_dim(p, x->dims[start + len - 1]) : mv_i(p, 0);
    for (int64_t j = len - 1; j-- > 0;)
        body = kb_select(p, kb_bin(p, KX_EQ, kb_idx(p, 0), mv_i(p, j)), kb_dim(p, x->dims[start + j]), body);
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

int lower_size_op(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]);
    uint32_t body = mv_i(p, 1);
    for (int i = 0; i < x->rank; i++) body = mv_ibin(p, KX_MUL, body, kb_dim(p, x->dims[i]));
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

/* ---- Slice, Pad, Tile ------------------------------------------------------------------ */

static int needs_constants(kir_program *p, ir_id node, const char *what, diag *d) {
    return ir_node_error(p->g, NODE, d, "%s must be constants (data-dependent shapes are not supported)", what);
}

int lower_slice(kir_program *p, ir_id node, diag *d) {
    mv_slice s;
    int rc = mv_slice_plan(p->g, NODE, &s, d);
    if (rc) return rc < 0 ? -1 : needs_constants(p, node, "starts, ends, axes and steps", d);
    const ir_value *x = mv_val(p, NODE->in[0]);
    /* out[i] = x[start + i * step] per axis */
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        idx[i] = mv_ibin(p, KX_ADD, kb_dim(p, s.start[i]), mv_ibin(p, KX_MUL, kb_idx(p, i), mv_i(p, s.step[i])));
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, NODE->in[0]), idx));
}

/* Source index along one padded axis for position j (= IDX - pad_begin). */
static uint32_t pad_source(kir_program *p, const char *mode, uint32_t j, ir_dim dim) {
    uint32_t n = kb_dim(p, dim);
    if (!strcmp(mode, "edge")) /* clamp to [0, dim-1] */
        return mv_ibin(p, KX_MAX, mv_ibin(p, KX_MIN, j, mv_ibin(p, KX_SUB, n, mv_i(p, 1))), mv_i(p, 0));
    if (!strcmp(mode, "wrap")) return mv_ibin(p, KX_MOD, j, n);
    if (!strcmp(mode, "reflect")) { /* period 2(dim-1), mirrored in its second half */
        uint32_t period = mv_ibin(p, KX_MAX, mv_ibin(p, KX_MUL, mv_ibin(p, KX_SUB, n, mv_i(p, 1)), mv_i(p, 2)), mv_i(p, 1));
        uint32_t m = mv_ibin(p, KX_MOD, j, period);
        return kb_select(p, kb_bin(p, KX_LT, m, n), m, mv_ibin(p, KX_SUB, period, m));
    }
    return j; /* constant: guarded by the caller */
}

int lower_pad(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    mv_pad pp;
    int rc = mv_pad_plan(p->g, n, &pp, d);
    if (rc) return rc < 0 ? -1 : needs_constants(p, node, "pads and axes", d);
    const ir_value *x = mv_val(p, n->in[0]);
    const char *mode = ir_attr_str(n, "mode");
    bool constant = !strcmp(mode, "constant");
    /* out[i] = x[src(i - begin)]; constant mode: value where i - begin is outside x */
    uint32_t idx[IR_MAX_RANK], inside = kb_const_i(p, IR_BOOL, 1);
    for (int i = 0; i < x->rank; i++) {
        uint32_t j = mv_ibin(p, KX_SUB, kb_idx(p, i), mv_i(p, pp.begin[i]));
        bool grows = pp.begin[i] > 0 || pp.end[i] > 0;
        idx[i] = grows ? pad_source(p, mode, j, x->dims[i]) : j;
        if (constant && grows) inside = mv_and(p, inside, mv_in_range(p, j, x->dims[i]));
    }
    uint32_t body = kb_load(p, kb_value(p, n->in[0]), idx);
    if (constant) {
        bool has_value = n->n_in > 2 && n->in[2] != IR_NONE && ir_value_numel(p->g, n->in[2]) != 0;
        uint32_t value = has_value ? mv_element(p, n->in[2], 0) : mv_const_of(p, x->dtype, 0);
        body = kb_select(p, inside, body, value);
    }
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

int lower_tile(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]), *o = mv_val(p, NODE->out[0]);
    /* out[i] = x[i mod D] per axis */
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        idx[i] = ir_dim_eq(x->dims[i], o->dims[i]) ? kb_idx(p, i) : mv_ibin(p, KX_MOD, kb_idx(p, i), kb_dim(p, x->dims[i]));
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, NODE->in[0]), idx));
}

/* ---- DepthToSpace, SpaceToDepth ---------------------------------------------------------- */

int lower_depth_to_space(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    int64_t b = ir_attr_int(n, "blocksize");
    const ir_value *o = mv_val(p, n->out[0]);
    /* out (N, C, H*b, W*b): block offsets (h mod b, w mod b) select the input channel;
     * DCR: ((h mod b)*b + w mod b)*C + c, CRD: c*b*b + (h mod b)*b + w mod b */
    uint32_t h = kb_idx(p, 2), w = kb_idx(p, 3), bb = mv_i(p, b);
    uint32_t blk = mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, mv_ibin(p, KX_MOD, h, bb), bb), mv_ibin(p, KX_MOD, w, bb));
    uint32_t c = !strcmp(ir_attr_str(n, "mode"), "CRD")
                     ? mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, kb_idx(p, 1), mv_i(p, b * b)), blk)
                     : mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, blk, kb_dim(p, o->dims[1])), kb_idx(p, 1));
    uint32_t idx[4] = {kb_idx(p, 0), c, mv_ibin(p, KX_FLOORDIV, h, bb), mv_ibin(p, KX_FLOORDIV, w, bb)};
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, n->in[0]), idx));
}

int lower_space_to_depth(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    int64_t b = ir_attr_int(n, "blocksize");
    const ir_value *x = mv_val(p, n->in[0]);
    /* out (N, C*b*b, H/b, W/b): channel (bh*b + bw)*C + c reads x[n, c, h*b + bh, w*b + bw] */
    uint32_t bb = mv_i(p, b), cin = kb_dim(p, x->dims[1]);
    uint32_t blk = mv_ibin(p, KX_FLOORDIV, kb_idx(p, 1), cin);
    uint32_t idx[4] = {
        kb_idx(p, 0), mv_ibin(p, KX_MOD, kb_idx(p, 1), cin),
        mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, kb_idx(p, 2), bb), mv_ibin(p, KX_FLOORDIV, blk, bb)),
        mv_ibin(p, KX_ADD, mv_ibin(p, KX_MUL, kb_idx(p, 3), bb), mv_ibin(p, KX_MOD, blk, bb)),
    };
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, kb_value(p, n->in[0]), idx));
}

/* ---- Trilu, EyeLike, Range, ConstantOfShape ------------------------------------------------- */

int lower_trilu(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = mv_val(p, n->in[0]);
    uint32_t k = n->n_in > 1 && n->in[1] != IR_NONE ? kb_cast(p, IR_I64, mv_element(p, n->in[1], 0), false) : mv_i(p, 0);
    /* keep x[.., i, j] where j - i >= k (upper) or j - i <= k (lower), else 0 */
    uint32_t diag_off = mv_ibin(p, KX_SUB, kb_idx(p, x->rank - 1), kb_idx(p, x->rank - 2));
    uint32_t keep = kb_bin(p, ir_attr_int(n, "upper") ? KX_GE : KX_LE, diag_off, k);
    uint32_t body = kb_select(p, keep, kb_load_same(p, kb_value(p, n->in[0])), mv_const_of(p, x->dtype, 0));
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

int lower_eye_like(kir_program *p, ir_id node, diag *d) {
    ir_dtype t = mv_val(p, NODE->out[0])->dtype;
    /* out[i, j] = j - i == k */
    uint32_t on = kb_bin(p, KX_EQ, mv_ibin(p, KX_SUB, kb_idx(p, 1), kb_idx(p, 0)), mv_i(p, ir_attr_int(NODE, "k")));
    return mv_emit(p, node, mv_out(p, node, 0), kb_select(p, on, mv_const_of(p, t, 1), mv_const_of(p, t, 0)));
}

int lower_range(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    ir_dtype t = mv_val(p, n->out[0])->dtype, wide = ir_dtype_is_float(t) ? IR_F64 : IR_I64;
    /* out[i] = start + i * delta, computed in f64 or i64 */
    uint32_t start = kb_cast(p, wide, mv_element(p, n->in[0], 0), false);
    uint32_t delta = kb_cast(p, wide, mv_element(p, n->in[2], 0), false);
    uint32_t body = kb_bin(p, KX_ADD, start, kb_bin(p, KX_MUL, kb_cast(p, wide, kb_idx(p, 0), false), delta));
    return mv_emit(p, node, mv_out(p, node, 0), kb_cast(p, t, body, false));
}

int lower_constant_of_shape(kir_program *p, ir_id node, diag *d) {
    ir_dtype t = mv_val(p, NODE->out[0])->dtype;
    uint32_t v = ir_dtype_is_float(t) ? kb_const_f(p, t, ir_attr_float(NODE, "value_float"))
                                      : kb_const_i(p, t, ir_attr_int(NODE, "value_int"));
    return mv_emit(p, node, mv_out(p, node, 0), v);
}
