/* infer_movement.c — inference for shape and data-movement ops: Reshape,
 * Transpose, Flatten, Squeeze/Unsqueeze, Concat, Gather, Expand, Shape, Size,
 * Slice, Pad, Tile, Split, DepthToSpace/SpaceToDepth, Trilu, EyeLike, Range,
 * ConstantOfShape; and the plans (movement.h) that Slice and Pad share with
 * their lowerings. Where a shape comes from a non-constant input, the result
 * gets fresh symbolic dimensions (its rank must still be known). */
#include <math.h>
#include <string.h>

#include "interp.h"
#include "runtime/half.h"
#include "movement.h"

#define NODE (&g->nodes[node])

/* Product of dims [from, to) as a dim. */
static ir_dim dims_product(ir_graph *g, const ir_dim *dims, int from, int to) {
    ir_dim p = ir_dim_const(1);
    for (int i = from; i < to; i++) p = ir_dim_mul(g, p, dims[i]);
    return p;
}

/* Split dims into a constant product and a list of symbolic factors
 * (flattening products such as batch*seq). Returns the factor count. */
static int factorize(const ir_graph *g, const ir_dim *dims, int n, int64_t *c, ir_dim *f, int max) {
    int k = 0;
    ir_dim stack[4 * IR_MAX_RANK];
    int sp = 0;
    for (int i = 0; i < n; i++) stack[sp++] = dims[i];
    *c = 1;
    while (sp > 0) {
        ir_dim x = stack[--sp];
        if (ir_dim_is_const(x)) *c *= x.c;
        else if (g->syms[x.sym].kind == IR_SYM_MUL && sp + 2 <= 4 * IR_MAX_RANK) {
            stack[sp++] = g->syms[x.sym].a;
            stack[sp++] = g->syms[x.sym].b;
        } else if (k < max) f[k++] = x;
    }
    return k;
}

/* prod(num) / prod(den) with shared symbolic factors cancelled, e.g.
 * (batch, seq, 768) / (768) = batch*seq; a plain division otherwise. */
static ir_dim dims_quotient(ir_graph *g, const ir_dim *num, int nn, const ir_dim *den, int nd) {
    ir_dim fn[4 * IR_MAX_RANK], fd[4 * IR_MAX_RANK];
    int64_t cn, cd;
    int kn = factorize(g, num, nn, &cn, fn, 4 * IR_MAX_RANK);
    int kd = factorize(g, den, nd, &cd, fd, 4 * IR_MAX_RANK);
    bool used[4 * IR_MAX_RANK] = {0};
    int cancelled = 0;
    for (int j = 0; j < kd; j++)
        for (int i = 0; i < kn; i++)
            if (!used[i] && ir_dim_eq(fn[i], fd[j])) {
                used[i] = true;
                cancelled++;
                break;
            }
    if (cancelled != kd || cd == 0 || cn % cd)
        return ir_dim_div(g, dims_product(g, num, 0, nn), dims_product(g, den, 0, nd));
    ir_dim q = ir_dim_const(1);
    for (int i = 0; i < kn; i++)
        if (!used[i]) q = ir_dim_mul(g, q, fn[i]);
    return ir_dim_mul(g, q, ir_dim_const(cn / cd));
}

int infer_reshape(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *s = infer_input(g, n, 1);
    if (s->rank != 1 || !ir_dim_is_const(s->dims[0]))
        return ir_node_error(g, n, d, "shape input must be a 1-D tensor of known length");
    int rank = (int)s->dims[0].c;
    if (rank > IR_MAX_RANK) return ir_node_error(g, n, d, "target rank %d is too large", rank);
    ir_dim want[IR_MAX_RANK];
    int cnt = 0;
    ir_dim out[IR_MAX_RANK];
    int rc = infer_sym_ints(g, n, 1, want, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    if (rc == 1) { /* shape computed at run time */
        for (int i = 0; i < rank; i++) out[i] = ir_dim_fresh(g);
        return infer_set(g, n, 0, x->dtype, rank, out, d);
    }
    bool allowzero = ir_attr_int(n, "allowzero") != 0;
    int infer_at = -1;
    for (int i = 0; i < rank; i++) { /* symbolic entries are sizes (>= 0), used as they are */
        int64_t w = want[i].c;
        if (!ir_dim_is_const(want[i])) {
            out[i] = want[i];
        } else if (w == -1) {
            if (infer_at >= 0) return ir_node_error(g, n, d, "shape has more than one -1");
            infer_at = i;
            out[i] = ir_dim_const(1);
        } else if (w == 0 && !allowzero) {
            if (i >= x->rank) return ir_node_error(g, n, d, "shape copies axis %d but input has rank %d", i, x->rank);
            out[i] = x->dims[i];
        } else if (w < 0) {
            return ir_node_error(g, n, d, "shape has invalid value %lld", (long long)w);
        } else {
            out[i] = want[i];
        }
    }
    ir_dim total = dims_product(g, x->dims, 0, x->rank);
    ir_dim known = dims_product(g, out, 0, rank);
    if (infer_at >= 0) {
        if (ir_dim_is_const(total) && ir_dim_is_const(known)) {
            if (known.c == 0 || total.c % known.c)
                return ir_node_error(g, n, d, "cannot reshape %lld elements with -1 and %lld others",
                                     (long long)total.c, (long long)known.c);
            out[infer_at] = ir_dim_const(total.c / known.c);
        } else {
            out[infer_at] = dims_quotient(g, x->dims, x->rank, out, rank);
        }
    } else if (ir_dim_is_const(total) && ir_dim_is_const(known) && total.c != known.c) {
        return ir_node_error(g, n, d, "cannot reshape %lld elements into %lld", (long long)total.c,
                             (long long)known.c);
    }
    return infer_set(g, n, 0, x->dtype, rank, out, d);
}

int infer_transpose(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    uint32_t cnt;
    const int64_t *perm = ir_attr_ints(n, "perm", &cnt);
    ir_dim out[IR_MAX_RANK];
    bool seen[IR_MAX_RANK] = {0};
    if (perm && (int)cnt != x->rank)
        return ir_node_error(g, n, d, "perm has %u entries but the input has rank %d", cnt, x->rank);
    for (int i = 0; i < x->rank; i++) {
        int64_t p = perm ? perm[i] : x->rank - 1 - i;
        if (p < 0 || p >= x->rank || seen[p]) return ir_node_error(g, n, d, "perm is not a permutation");
        seen[p] = true;
        out[i] = x->dims[p];
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

int infer_flatten(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t axis = ir_attr_int(n, "axis");
    if (axis < -x->rank || axis > x->rank)
        return ir_node_error(g, n, d, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    ir_dim out[2] = {dims_product(g, x->dims, 0, (int)axis), dims_product(g, x->dims, (int)axis, x->rank)};
    return infer_set(g, n, 0, x->dtype, 2, out, d);
}

/* Reads the axes input (index 1) normalized against rank; 1 if absent. */
static int read_axes(ir_graph *g, const ir_node *n, int rank, bool *mark, diag *d) {
    int64_t axes[IR_MAX_RANK];
    int cnt = 0;
    int rc = infer_const_ints(g, n, 1, axes, IR_MAX_RANK, &cnt, d);
    if (rc) return rc;
    for (int i = 0; i < cnt; i++) {
        int a;
        if (infer_axis(g, n, axes[i], rank, &a, d)) return -1;
        if (mark[a]) return ir_node_error(g, n, d, "axis %lld is repeated", (long long)axes[i]);
        mark[a] = true;
    }
    return 0;
}

int infer_squeeze(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    bool mark[IR_MAX_RANK] = {0};
    int rc = infer_input(g, n, 1) ? read_axes(g, n, x->rank, mark, d) : 1;
    if (rc < 0) return -1;
    if (rc == 1 && infer_input(g, n, 1)) return ir_node_error(g, n, d, "axes must be a constant");
    ir_dim out[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        bool one = ir_dim_is_const(x->dims[i]) && x->dims[i].c == 1;
        if (rc == 1 ? one : mark[i]) {
            if (!one && ir_dim_is_const(x->dims[i]))
                return ir_node_error(g, n, d, "cannot squeeze axis %d of size %lld", i, (long long)x->dims[i].c);
            continue;
        }
        out[r++] = x->dims[i];
    }
    return infer_set(g, n, 0, x->dtype, r, out, d);
}

int infer_unsqueeze(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *ax = infer_input(g, n, 1);
    if (ax->rank != 1 || !ir_dim_is_const(ax->dims[0]))
        return ir_node_error(g, n, d, "axes must be a 1-D tensor of known length");
    int r = x->rank + (int)ax->dims[0].c;
    if (r > IR_MAX_RANK) return ir_node_error(g, n, d, "result rank %d is too large", r);
    bool mark[IR_MAX_RANK] = {0};
    int rc = read_axes(g, n, r, mark, d);
    if (rc < 0) return -1;
    if (rc == 1) return ir_node_error(g, n, d, "axes must be a constant");
    ir_dim out[IR_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) out[i] = mark[i] ? ir_dim_const(1) : x->dims[j++];
    return infer_set(g, n, 0, x->dtype, r, out, d);
}

int infer_concat(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x0 = infer_input(g, n, 0);
    int axis;
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x0->rank, &axis, d)) return -1;
    ir_dim out[IR_MAX_RANK];
    memcpy(out, x0->dims, sizeof(ir_dim) * (size_t)x0->rank);
    for (uint32_t k = 1; k < n->n_in; k++) {
        const ir_value *x = infer_input(g, n, k);
        if (x->rank != x0->rank || x->dtype != x0->dtype)
            return ir_node_error(g, n, d, "input %u ('%s') is %s of rank %d, expected %s of rank %d", k, x->name,
                                 ir_dtype_name(x->dtype), x->rank, ir_dtype_name(x0->dtype), x0->rank);
        for (int i = 0; i < x->rank; i++) {
            if (i == axis) out[i] = ir_dim_add(g, out[i], x->dims[i]);
            else if (ir_dim_is_const(out[i]) && ir_dim_is_const(x->dims[i]) && out[i].c != x->dims[i].c)
                return ir_node_error(g, n, d, "input %u ('%s') has size %lld at axis %d, expected %lld", k, x->name,
                                     (long long)x->dims[i].c, i, (long long)out[i].c);
        }
    }
    return infer_set(g, n, 0, x0->dtype, x0->rank, out, d);
}

int infer_gather(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1);
    if (idx->dtype != IR_I64 && idx->dtype != IR_I32)
        return ir_node_error(g, n, d, "indices must be i32 or i64, got %s", ir_dtype_name(idx->dtype));
    int axis;
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    int r = x->rank - 1 + idx->rank;
    if (r > IR_MAX_RANK) return ir_node_error(g, n, d, "result rank %d is too large", r);
    /* data (..., D_axis, ...) [indices (I...)] -> (..., I..., ...) */
    ir_dim out[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++) out[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) out[k++] = idx->dims[i];
    for (int i = axis + 1; i < x->rank; i++) out[k++] = x->dims[i];
    return infer_set(g, n, 0, x->dtype, r, out, d);
}

int infer_expand(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *s = infer_input(g, n, 1);
    if (s->rank != 1 || !ir_dim_is_const(s->dims[0]) || s->dims[0].c > IR_MAX_RANK)
        return ir_node_error(g, n, d, "shape input must be a 1-D tensor of known length");
    int rank = (int)s->dims[0].c;
    int cnt;
    ir_dim target[IR_MAX_RANK], out[IR_MAX_RANK];
    int rc = infer_sym_ints(g, n, 1, target, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    for (int i = 0; rc == 1 && i < rank; i++) target[i] = ir_dim_fresh(g);
    int r;
    if (infer_broadcast_shapes(g, n, x->dims, x->rank, target, rank, out, &r, d)) return -1;
    return infer_set(g, n, 0, x->dtype, r, out, d);
}

int infer_shape_op(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t start = ir_attr_int(n, "start"), end = ir_attr_int(n, "end"), r = x->rank;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    ir_dim out = ir_dim_const(end > start ? end - start : 0);
    return infer_set(g, n, 0, IR_I64, 1, &out, d);
}

int infer_size_op(ir_graph *g, uint32_t node, diag *d) {
    return infer_set(g, NODE, 0, IR_I64, 0, NULL, d);
}

/* ---- helpers shared with the lowerings (movement.h) --------------------------- */

int mv_const_doubles(ir_graph *g, const ir_node *n, uint32_t i, double *vals, int max, int *count, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v || v->kind != IR_VALUE_CONST) return 1;
    int64_t numel = ir_value_numel(g, n->in[i]);
    if (numel < 0 || numel > max)
        return ir_node_error(g, n, d, "input %u ('%s') has %lld elements, at most %d supported", i, v->name,
                             (long long)numel, max);
    int64_t need = ir_dtype_storage_bytes(v->dtype, numel);
    if (ir_dtype_is_quant(v->dtype) || v->dtype == IR_I4 || v->dtype == IR_U4)
        return ir_node_error(g, n, d, "input %u ('%s') has unsupported dtype %s", i, v->name, ir_dtype_name(v->dtype));
    if (need < 0 || v->nbytes < (uint64_t)need)
        return ir_node_error(g, n, d, "constant '%s' holds %llu bytes, %lld needed", v->name,
                             (unsigned long long)v->nbytes, (long long)need);
    const uint8_t *p = v->data;
    for (int64_t k = 0; k < numel; k++) {
        union { float f; double d; uint16_t h; int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
                uint32_t u32; int64_t i64; uint64_t u64; } u;
        size_t esz = (size_t)ir_dtype_get(v->dtype)->block_bytes;
        memcpy(&u, p + (size_t)k * esz, esz);
        double x;
        switch (v->dtype) {
        case IR_F32: x = u.f; break;
        case IR_F64: x = u.d; break;
        case IR_F16: x = rt_f16_to_f32(u.h); break;
        case IR_BF16: x = rt_bf16_to_f32(u.h); break;
        case IR_I8: x = u.i8; break;
        case IR_U8: x = u.u8; break;
        case IR_BOOL: x = u.u8 != 0; break;
        case IR_I16: x = u.i16; break;
        case IR_U16: x = u.u16; break;
        case IR_I32: x = u.i32; break;
        case IR_U32: x = u.u32; break;
        case IR_I64: x = (double)u.i64; break;
        case IR_U64: x = (double)u.u64; break;
        default: return ir_node_error(g, n, d, "input %u ('%s') has unsupported dtype %s", i, v->name,
                                      ir_dtype_name(v->dtype));
        }
        vals[k] = x;
    }
    *count = (int)numel;
    return 0;
}

ir_dim mv_dim_add_const(ir_graph *g, ir_dim x, int64_t c) {
    if (c == INT64_MIN) return IR_DIM_INVALID;
    return c >= 0 ? ir_dim_add(g, x, ir_dim_const(c)) : ir_dim_sub(g, x, ir_dim_const(-c));
}

/* Whether the value (input i) is present with a statically empty shape: an
 * omitted optional input written as an empty tensor (Resize scales, ...). */
static bool input_is_empty(ir_graph *g, const ir_node *n, uint32_t i) {
    const ir_value *v = infer_input(g, n, i);
    return v && ir_value_numel(g, n->in[i]) == 0;
}

/* ---- Slice ---------------------------------------------------------------------- */

/* |v| at least this means "to the end" on a symbolic axis (INT64_MAX, INT32_MAX, ...). */
#define SLICE_FAR ((int64_t)INT32_MAX)

/* start / size of one sliced axis of constant size dim, clamped per ONNX. */
static void slice_const_axis(int64_t dim, int64_t st, int64_t en, int64_t step, int64_t *start, int64_t *size) {
    if (st < 0) st += dim; /* still negative: clamped below */
    if (en < 0) en += dim;
    if (dim == 0) {
        *start = 0, *size = 0;
        return;
    }
    if (step > 0) {
        st = st < 0 ? 0 : st > dim ? dim : st;
        en = en < 0 ? 0 : en > dim ? dim : en;
        *start = st;
        *size = en > st ? (en - st - 1) / step + 1 : 0;
    } else {
        int64_t ns = step == INT64_MIN ? INT64_MAX : -step;
        st = st < 0 ? 0 : st > dim - 1 ? dim - 1 : st;
        en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en;
        *start = st;
        *size = st > en ? (st - en - 1) / ns + 1 : 0;
    }
}

/* The same on a symbolic axis, assuming the axis is at least as long as the
 * constant offsets (x[2:], x[-3:], x[:4]); a shorter axis makes the run-time
 * size negative, which the run time reports instead of clamping. */
static void slice_sym_axis(ir_graph *g, ir_dim dim, int64_t st, int64_t en, int64_t step, ir_dim *start, ir_dim *size) {
    if (step > 0) {
        ir_dim s = st >= SLICE_FAR ? dim : st >= 0 ? ir_dim_expr(g, IR_SYM_MIN, ir_dim_const(st), dim)
                 : st <= -SLICE_FAR ? ir_dim_const(0) : ir_dim_sub(g, dim, ir_dim_const(-st));
        ir_dim e = en >= SLICE_FAR ? dim : en >= 0 ? ir_dim_expr(g, IR_SYM_MIN, ir_dim_const(en), dim)
                 : en <= -SLICE_FAR ? ir_dim_const(0) : ir_dim_sub(g, dim, ir_dim_const(-en));
        *start = s;
        *size = ir_dim_cdiv(g, ir_dim_sub(g, e, s), ir_dim_const(step));
    } else {
        ir_dim last = ir_dim_sub(g, dim, ir_dim_const(1));
        ir_dim s = st >= SLICE_FAR ? last : st >= 0 ? ir_dim_expr(g, IR_SYM_MIN, ir_dim_const(st), last)
                 : st <= -SLICE_FAR ? ir_dim_const(0) : ir_dim_sub(g, dim, ir_dim_const(-st));
        /* one past the end, so that no intermediate value is negative */
        ir_dim e1 = en <= -SLICE_FAR ? ir_dim_const(0)
                  : en >= 0 ? ir_dim_expr(g, IR_SYM_MIN, ir_dim_const(en >= SLICE_FAR ? SLICE_FAR : en + 1), dim)
                            : ir_dim_sub(g, dim, ir_dim_const(-en - 1));
        *start = s;
        int64_t ns = step == INT64_MIN ? INT64_MAX : -step;
        *size = ir_dim_cdiv(g, ir_dim_sub(g, ir_dim_add(g, s, ir_dim_const(1)), e1), ir_dim_const(ns));
    }
}

/* A bound (start or end) of a positive-step slice on an axis of size dim,
 * clamped into [0, dim]: constants as ONNX says (negative from the end, on a
 * symbolic axis assumed long enough), a symbolic bound (a size, so >= 0) as
 * min(bound, dim): slicing a table of 512 positions to seq gives
 * min(seq,512), which a later broadcast against seq reduces to seq. */
static ir_dim slice_bound(ir_graph *g, ir_dim dim, ir_dim v) {
    if (!ir_dim_is_const(v)) return ir_dim_expr(g, IR_SYM_MIN, v, dim);
    if (v.c >= SLICE_FAR) return dim;
    if (v.c >= 0) return ir_dim_expr(g, IR_SYM_MIN, v, dim);
    if (v.c <= -SLICE_FAR) return ir_dim_const(0);
    if (ir_dim_is_const(dim)) return ir_dim_const(dim.c + v.c < 0 ? 0 : dim.c + v.c);
    return ir_dim_sub(g, dim, ir_dim_const(-v.c));
}

/* One sliced axis whose start or end is symbolic (a shape value): positive
 * steps only; 1 otherwise (the bounds are then known at run time only). */
static int slice_sym_bounds(ir_graph *g, ir_dim dim, ir_dim st, ir_dim en, int64_t step, ir_dim *start, ir_dim *size) {
    if (step <= 0) return 1;
    ir_dim s = slice_bound(g, dim, st), e = slice_bound(g, dim, en);
    *start = s;
    /* max(e - s, 0) with no negative intermediate */
    *size = ir_dim_cdiv(g, ir_dim_sub(g, e, ir_dim_expr(g, IR_SYM_MIN, s, e)), ir_dim_const(step));
    return 0;
}

/* Reads starts/ends (constants or shape values) and axes/steps (constants);
 * count in *k, axes normalized. 0, 1 (not known) or -1. */
static int slice_params(ir_graph *g, const ir_node *n, ir_dim *st, ir_dim *en, int64_t *axes, int64_t *steps,
                        int *k, diag *d) {
    int r = infer_input(g, n, 0)->rank, cs, ce, ca, cp;
    int rc = infer_sym_ints(g, n, 1, st, IR_MAX_RANK, &cs, d);
    if (rc) return rc;
    if ((rc = infer_sym_ints(g, n, 2, en, IR_MAX_RANK, &ce, d))) return rc;
    if (cs != ce) return ir_node_error(g, n, d, "starts has %d entries but ends has %d", cs, ce);
    if (infer_input(g, n, 3)) {
        if ((rc = infer_const_ints(g, n, 3, axes, IR_MAX_RANK, &ca, d))) return rc;
        if (ca != cs) return ir_node_error(g, n, d, "axes has %d entries but starts has %d", ca, cs);
    } else {
        if (cs > r) return ir_node_error(g, n, d, "starts has %d entries for rank %d", cs, r);
        for (int i = 0; i < cs; i++) axes[i] = i;
    }
    if (infer_input(g, n, 4)) {
        if ((rc = infer_const_ints(g, n, 4, steps, IR_MAX_RANK, &cp, d))) return rc;
        if (cp != cs) return ir_node_error(g, n, d, "steps has %d entries but starts has %d", cp, cs);
    } else {
        for (int i = 0; i < cs; i++) steps[i] = 1;
    }
    bool seen[IR_MAX_RANK] = {0};
    for (int i = 0; i < cs; i++) {
        int a;
        if (infer_axis(g, n, axes[i], r, &a, d)) return -1;
        if (seen[a]) return ir_node_error(g, n, d, "axis %lld is repeated", (long long)axes[i]);
        if (steps[i] == 0) return ir_node_error(g, n, d, "step of axis %d is 0", a);
        seen[a] = true;
        axes[i] = a;
    }
    *k = cs;
    return 0;
}

int mv_slice_plan(ir_graph *g, const ir_node *n, mv_slice *s, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    ir_dim st[IR_MAX_RANK], en[IR_MAX_RANK];
    int64_t axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int k = 0;
    int rc = slice_params(g, n, st, en, axes, steps, &k, d);
    if (rc) return rc;
    for (int i = 0; i < x->rank; i++) {
        s->start[i] = ir_dim_const(0);
        s->step[i] = 1;
        s->size[i] = x->dims[i];
    }
    for (int i = 0; i < k; i++) {
        int a = (int)axes[i];
        ir_dim dim = x->dims[a];
        s->step[a] = steps[i];
        if (!ir_dim_is_const(st[i]) || !ir_dim_is_const(en[i])) {
            if (slice_sym_bounds(g, dim, st[i], en[i], steps[i], &s->start[a], &s->size[a])) return 1;
        } else if (ir_dim_is_const(dim)) {
            int64_t start, size;
            slice_const_axis(dim.c, st[i].c, en[i].c, steps[i], &start, &size);
            s->start[a] = ir_dim_const(start);
            s->size[a] = ir_dim_const(size);
        } else {
            slice_sym_axis(g, dim, st[i].c, en[i].c, steps[i], &s->start[a], &s->size[a]);
        }
    }
    return 0;
}

int infer_slice(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    for (uint32_t i = 1; i < n->n_in; i++) {
        const ir_value *v = infer_input(g, n, i);
        if (v && (v->rank != 1 || (v->dtype != IR_I64 && v->dtype != IR_I32)))
            return ir_node_error(g, n, d, "input %u ('%s') must be a 1-D i32 or i64 tensor", i, v->name);
    }
    mv_slice s;
    int rc = mv_slice_plan(g, n, &s, d);
    if (rc < 0) return -1;
    ir_dim out[IR_MAX_RANK];
    if (rc == 1) { /* bounds known at run time: the sliced axes get fresh sizes */
        int64_t axes[IR_MAX_RANK];
        int ca = 0;
        int arc = infer_input(g, n, 3) ? infer_const_ints(g, n, 3, axes, IR_MAX_RANK, &ca, d) : 1;
        if (arc < 0) return -1;
        bool sliced[IR_MAX_RANK] = {0};
        for (int i = 0; i < x->rank; i++) sliced[i] = arc == 1;
        for (int i = 0; arc == 0 && i < ca; i++) {
            int a;
            if (infer_axis(g, n, axes[i], x->rank, &a, d)) return -1;
            sliced[a] = true;
        }
        for (int i = 0; i < x->rank; i++) out[i] = sliced[i] ? ir_dim_fresh(g) : x->dims[i];
    } else {
        memcpy(out, s.size, sizeof(ir_dim) * (size_t)x->rank);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- Pad ------------------------------------------------------------------------ */

static bool pad_mode_ok(const char *m) {
    return !strcmp(m, "constant") || !strcmp(m, "reflect") || !strcmp(m, "edge") || !strcmp(m, "wrap");
}

int mv_pad_plan(ir_graph *g, const ir_node *n, mv_pad *pp, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    int r = x->rank, cp, ca;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    int rc = infer_const_ints(g, n, 1, pads, 2 * IR_MAX_RANK, &cp, d);
    if (rc) return rc;
    if (infer_input(g, n, 3)) {
        if ((rc = infer_const_ints(g, n, 3, axes, IR_MAX_RANK, &ca, d))) return rc;
    } else {
        ca = r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    if (cp != 2 * ca) return ir_node_error(g, n, d, "pads has %d entries for %d axes (expected %d)", cp, ca, 2 * ca);
    memset(pp, 0, sizeof *pp);
    bool seen[IR_MAX_RANK] = {0};
    for (int i = 0; i < ca; i++) {
        int a;
        if (infer_axis(g, n, axes[i], r, &a, d)) return -1;
        if (seen[a]) return ir_node_error(g, n, d, "axis %lld is repeated", (long long)axes[i]);
        seen[a] = true;
        int64_t b = pads[i], e = pads[ca + i], lim = (int64_t)1 << 40;
        if (b < -lim || b > lim || e < -lim || e > lim)
            return ir_node_error(g, n, d, "pads of axis %d (%lld, %lld) are out of range", a, (long long)b, (long long)e);
        pp->begin[a] = b;
        pp->end[a] = e;
    }
    return 0;
}

int infer_pad(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *pads = infer_input(g, n, 1), *cv = infer_input(g, n, 2);
    if (!pad_mode_ok(ir_attr_str(n, "mode")))
        return ir_node_error(g, n, d, "mode '%s' is not one of constant, reflect, edge, wrap", ir_attr_str(n, "mode"));
    if (pads->rank != 1 || (pads->dtype != IR_I64 && pads->dtype != IR_I32))
        return ir_node_error(g, n, d, "pads must be a 1-D i32 or i64 tensor");
    if (cv && cv->dtype != x->dtype)
        return ir_node_error(g, n, d, "constant_value is %s, the data %s", ir_dtype_name(cv->dtype),
                             ir_dtype_name(x->dtype));
    mv_pad pp;
    int rc = mv_pad_plan(g, n, &pp, d);
    if (rc < 0) return -1;
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        out[i] = rc == 1 ? ir_dim_fresh(g) : mv_dim_add_const(g, x->dims[i], pp.begin[i] + pp.end[i]);
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- Tile, Split ---------------------------------------------------------------- */

int infer_tile(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    ir_dim rep[IR_MAX_RANK];
    int cnt;
    int rc = infer_sym_ints(g, n, 1, rep, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    if (rc == 0 && cnt != x->rank)
        return ir_node_error(g, n, d, "repeats has %d entries for rank %d", cnt, x->rank);
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (rc == 0 && ir_dim_is_const(rep[i]) && rep[i].c < 0)
            return ir_node_error(g, n, d, "repeats[%d] = %lld is negative", i, (long long)rep[i].c);
        out[i] = rc == 1 ? ir_dim_fresh(g) : ir_dim_mul(g, x->dims[i], rep[i]);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

#define SPLIT_MAX_OUT 4096

/* Sizes of the outputs of an equal split into k chunks of ceil(dim / k), the
 * last one taking what remains. */
static int split_equal(ir_graph *g, const ir_node *n, ir_dim dim, uint32_t k, ir_dim *sizes, diag *d) {
    ir_dim chunk = ir_dim_cdiv(g, dim, ir_dim_const(k));
    ir_dim last = ir_dim_sub(g, dim, ir_dim_mul(g, chunk, ir_dim_const(k - 1)));
    if (ir_dim_is_const(last) && last.c < 0)
        return ir_node_error(g, n, d, "cannot split %lld elements into %u chunks of %lld", (long long)dim.c, k,
                             (long long)chunk.c);
    for (uint32_t i = 0; i < k; i++) sizes[i] = i + 1 < k ? chunk : last;
    return 0;
}

int infer_split(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int axis;
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    uint32_t k = n->n_out;
    if (k > SPLIT_MAX_OUT) return ir_node_error(g, n, d, "%u outputs, at most %d supported", k, SPLIT_MAX_OUT);
    ir_dim sizes[SPLIT_MAX_OUT];
    ir_dim dim = x->dims[axis];
    if (infer_input(g, n, 1) && !input_is_empty(g, n, 1)) {
        int64_t v[SPLIT_MAX_OUT];
        int cnt;
        int rc = infer_const_ints(g, n, 1, v, SPLIT_MAX_OUT, &cnt, d);
        if (rc < 0) return -1;
        if (rc == 0 && (uint32_t)cnt != k)
            return ir_node_error(g, n, d, "split has %d entries for %u outputs", cnt, k);
        int64_t sum = 0;
        for (uint32_t i = 0; i < k; i++) {
            if (rc == 0 && (v[i] < 0 || v[i] > ((int64_t)1 << 48)))
                return ir_node_error(g, n, d, "split[%u] = %lld is out of range", i, (long long)v[i]);
            sizes[i] = rc == 1 ? ir_dim_fresh(g) : ir_dim_const(v[i]);
            if (rc == 0) sum += v[i];
        }
        if (rc == 0 && ir_dim_is_const(dim) && sum != dim.c)
            return ir_node_error(g, n, d, "split sums to %lld but axis %d has %lld elements", (long long)sum, axis,
                                 (long long)dim.c);
    } else {
        int64_t no = ir_attr_int(n, "num_outputs");
        if (ir_attr_is_set(n, "num_outputs") && no != (int64_t)k)
            return ir_node_error(g, n, d, "num_outputs is %lld but the node has %u outputs", (long long)no, k);
        if (split_equal(g, n, dim, k, sizes, d)) return -1;
    }
    ir_dim out[IR_MAX_RANK];
    memcpy(out, x->dims, sizeof(ir_dim) * (size_t)x->rank);
    for (uint32_t i = 0; i < k; i++) {
        out[axis] = sizes[i];
        if (infer_set(g, n, i, x->dtype, x->rank, out, d)) return -1;
    }
    return 0;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------------- */

/* The block size of a 4-D (N, C, H, W) input. */
static int block_size(ir_graph *g, const ir_node *n, const ir_value *x, int64_t *b, diag *d) {
    if (x->rank != 4) return ir_node_error(g, n, d, "input must be 4-D (N, C, H, W), got rank %d", x->rank);
    *b = ir_attr_int(n, "blocksize");
    if (*b < 1 || *b > 4096) return ir_node_error(g, n, d, "blocksize %lld is out of range", (long long)*b);
    return 0;
}

static bool divisible(ir_dim x, int64_t k) { return !ir_dim_is_const(x) || x.c % k == 0; }

int infer_depth_to_space(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t b;
    if (block_size(g, n, x, &b, d)) return -1;
    const char *mode = ir_attr_str(n, "mode");
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return ir_node_error(g, n, d, "mode '%s' is not DCR or CRD", mode);
    if (!divisible(x->dims[1], b * b))
        return ir_node_error(g, n, d, "%lld channels are not a multiple of blocksize^2 = %lld", (long long)x->dims[1].c,
                             (long long)(b * b));
    /* (N, C, H, W) -> (N, C/b^2, H*b, W*b) */
    ir_dim out[4] = {x->dims[0], ir_dim_div(g, x->dims[1], ir_dim_const(b * b)), ir_dim_mul(g, x->dims[2], ir_dim_const(b)),
                     ir_dim_mul(g, x->dims[3], ir_dim_const(b))};
    return infer_set(g, n, 0, x->dtype, 4, out, d);
}

int infer_space_to_depth(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t b;
    if (block_size(g, n, x, &b, d)) return -1;
    if (!divisible(x->dims[2], b) || !divisible(x->dims[3], b))
        return ir_node_error(g, n, d, "height and width must be multiples of blocksize %lld", (long long)b);
    /* (N, C, H, W) -> (N, C*b^2, H/b, W/b) */
    ir_dim out[4] = {x->dims[0], ir_dim_mul(g, x->dims[1], ir_dim_const(b * b)), ir_dim_div(g, x->dims[2], ir_dim_const(b)),
                     ir_dim_div(g, x->dims[3], ir_dim_const(b))};
    return infer_set(g, n, 0, x->dtype, 4, out, d);
}

/* ---- Trilu, EyeLike, Range, ConstantOfShape ------------------------------------- */

/* Input i, when present, is a one-element integer tensor. */
static int require_int_scalar(ir_graph *g, const ir_node *n, uint32_t i, const char *what, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return 0;
    int64_t numel = ir_value_numel(g, n->in[i]);
    if (!ir_dtype_is_int(v->dtype) || v->rank > 1 || (numel >= 0 && numel != 1))
        return ir_node_error(g, n, d, "%s ('%s') must be one integer, got %s of rank %d", what, v->name,
                             ir_dtype_name(v->dtype), v->rank);
    return 0;
}

int infer_trilu(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank < 2) return ir_node_error(g, n, d, "input must have rank 2 or more, got %d", x->rank);
    if (require_int_scalar(g, n, 1, "k", d)) return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_eye_like(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank != 2) return ir_node_error(g, n, d, "input must be 2-D, got rank %d", x->rank);
    ir_dtype t = (ir_dtype)ir_attr_int(n, "dtype");
    if (t == IR_DTYPE_NONE) t = x->dtype;
    if (ir_dtype_is_quant(t)) return ir_node_error(g, n, d, "dtype %s is not supported", ir_dtype_name(t));
    return infer_set(g, n, 0, t, 2, x->dims, d);
}

/* Element count of Range(start, limit, delta): max(ceil((limit-start)/delta), 0). */
static int range_count(ir_graph *g, const ir_node *n, ir_dtype t, const double *v, int64_t *count, diag *d) {
    if (v[2] == 0) return ir_node_error(g, n, d, "delta is 0");
    double c = ceil((v[1] - v[0]) / v[2]);
    if (!ir_dtype_is_float(t)) { /* exact for large integers */
        int64_t s = (int64_t)v[0], l = (int64_t)v[1], dl = (int64_t)v[2];
        int64_t span = l - s;
        c = (double)(span / dl + ((span % dl != 0) && ((span < 0) == (dl < 0))));
    }
    if (isnan(c) || c > (double)((int64_t)1 << 40))
        return ir_node_error(g, n, d, "range of %g elements is too large", c);
    *count = c > 0 ? (int64_t)c : 0;
    return 0;
}

/* The element count of an integer Range whose start or limit is a symbolic
 * shape value and whose delta is a positive constant: torch's arange(seq)
 * has seq elements. 1 when not of that form. */
static int range_sym_count(ir_graph *g, const ir_node *n, ir_dim *count) {
    ir_dim v[3];
    int cnt;
    for (uint32_t i = 0; i < 3; i++)
        if (infer_sym_ints(g, n, i, &v[i], 1, &cnt, NULL) || cnt != 1) return 1;
    if (!ir_dim_is_const(v[2]) || v[2].c <= 0 || (ir_dim_is_const(v[0]) && ir_dim_is_const(v[1]))) return 1;
    ir_dim span; /* max(limit - start, 0), no intermediate negative */
    if (ir_dim_is_const(v[0]) && v[0].c < 0)
        span = v[0].c == INT64_MIN ? IR_DIM_INVALID : ir_dim_add(g, v[1], ir_dim_const(-v[0].c));
    else
        span = ir_dim_sub(g, v[1], ir_dim_expr(g, IR_SYM_MIN, v[0], v[1]));
    *count = ir_dim_cdiv(g, span, v[2]);
    return 0;
}

int infer_range(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *s = infer_input(g, n, 0);
    for (uint32_t i = 0; i < 3; i++) {
        const ir_value *v = infer_input(g, n, i);
        if (v->dtype != s->dtype || v->rank > 1 || ir_value_numel(g, n->in[i]) > 1)
            return ir_node_error(g, n, d, "start, limit and delta must be scalars of one dtype");
    }
    if (!ir_dtype_is_float(s->dtype) && !ir_dtype_is_int(s->dtype))
        return ir_node_error(g, n, d, "dtype %s is not supported", ir_dtype_name(s->dtype));
    double v[3];
    ir_dim out;
    if (range_sym_count(g, n, &out) == 0) return infer_set(g, n, 0, s->dtype, 1, &out, d);
    out = ir_dim_fresh(g);
    for (uint32_t i = 0; i < 3; i++) {
        int cnt;
        int rc = mv_const_doubles(g, n, i, &v[i], 1, &cnt, d);
        if (rc < 0) return -1;
        if (rc == 1 || cnt != 1) return infer_set(g, n, 0, s->dtype, 1, &out, d);
    }
    int64_t count = 0;
    if (range_count(g, n, s->dtype, v, &count, d)) return -1;
    out = ir_dim_const(count);
    return infer_set(g, n, 0, s->dtype, 1, &out, d);
}

int infer_constant_of_shape(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *s = infer_input(g, n, 0);
    if (s->rank != 1 || s->dtype != IR_I64 || !ir_dim_is_const(s->dims[0]) || s->dims[0].c > IR_MAX_RANK)
        return ir_node_error(g, n, d, "input must be a 1-D i64 tensor of known length (at most %d)", IR_MAX_RANK);
    ir_dtype t = (ir_dtype)ir_attr_int(n, "dtype");
    if (t == IR_DTYPE_NONE || ir_dtype_is_quant(t))
        return ir_node_error(g, n, d, "dtype %s is not supported", ir_dtype_name(t));
    int rank = (int)s->dims[0].c, cnt;
    ir_dim out[IR_MAX_RANK];
    int rc = infer_sym_ints(g, n, 0, out, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    for (int i = 0; i < rank; i++) {
        if (rc == 0 && ir_dim_is_const(out[i]) && out[i].c < 0)
            return ir_node_error(g, n, d, "shape[%d] = %lld is negative", i, (long long)out[i].c);
        if (rc == 1) out[i] = ir_dim_fresh(g);
    }
    return infer_set(g, n, 0, t, rank, out, d);
}
