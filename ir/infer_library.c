/* infer_library.c — inference for the ops that lower to library kernels
 * (runtime/lib.h): TopK, NonZero, Unique, CumSum, CumProd, Det, BitCast, and
 * Dropout when its mode is known only at run time. Sizes that depend on the data
 * (NonZero's count, Unique's number of distinct values, TopK's K when it is
 * not a constant) get fresh symbols; the library routine binds them when it
 * runs. */
#include "infer.h"
#include "runtime/half.h"
#include "interp.h"

#include <string.h>

#define NODE (&g->nodes[node])

int infer_one_int(ir_graph *g, const ir_node *n, uint32_t i, const char *what, int64_t *v, diag *d) {
    const ir_value *x = infer_input(g, n, i);
    if (x->dtype != IR_I64 && x->dtype != IR_I32)
        return ir_node_error(g, n, d, "%s must be i32 or i64, got %s", what, ir_dtype_name(x->dtype));
    if (x->rank > 1 || (x->rank == 1 && !(ir_dim_is_const(x->dims[0]) && x->dims[0].c == 1)))
        return ir_node_error(g, n, d, "%s must be a scalar or a one-element vector", what);
    int cnt = 0;
    int rc = infer_const_ints(g, n, i, v, 1, &cnt, d);
    return rc == 0 && cnt != 1 ? ir_node_error(g, n, d, "%s must hold one value", what) : rc;
}

/* TopK(X, K) -> Values (X's dtype), Indices (i64): X's shape with K at axis. */
int infer_topk(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int axis;
    int64_t k = 0;
    if (x->rank == 0) return ir_node_error(g, n, d, "input X must have rank >= 1");
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    int rc = infer_one_int(g, n, 1, "K", &k, d);
    if (rc < 0) return -1;
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) out[i] = x->dims[i];
    if (rc == 0) {
        ir_dim len = x->dims[axis];
        if (k < 0) return ir_node_error(g, n, d, "K = %lld is negative", (long long)k);
        if (ir_dim_is_const(len) && k > len.c)
            return ir_node_error(g, n, d, "K = %lld is more than the size %lld of axis %d", (long long)k,
                                 (long long)len.c, axis);
        out[axis] = ir_dim_const(k);
    } else {
        out[axis] = ir_dim_fresh(g);
    }
    if (infer_set(g, n, 0, x->dtype, x->rank, out, d)) return -1;
    return infer_set(g, n, 1, IR_I64, x->rank, out, d);
}

/* NonZero(X) -> i64 (rank, count); a scalar counts as rank 1. */
int infer_nonzero(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    ir_dim out[2] = {ir_dim_const(x->rank ? x->rank : 1), ir_dim_fresh(g)};
    return infer_set(g, n, 0, IR_I64, 2, out, d);
}

/* Unique(X) -> Y, indices (U), inverse_indices (N), counts (U): without an
 * axis Y is the U distinct elements (N = numel), with one it is X with U
 * slices along the axis (N = the axis' size). */
int infer_unique(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    ir_dim u = ir_dim_fresh(g), y[IR_MAX_RANK], len;
    int rank = 1;
    y[0] = u;
    if (ir_attr_is_set(n, "axis")) {
        int axis;
        if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
        for (int i = 0; i < x->rank; i++) y[i] = x->dims[i];
        y[axis] = u;
        rank = x->rank;
        len = x->dims[axis];
    } else {
        len = ir_dim_const(1);
        for (int i = 0; i < x->rank; i++) len = ir_dim_mul(g, len, x->dims[i]);
    }
    if (infer_set(g, n, 0, x->dtype, rank, y, d) || infer_set(g, n, 1, IR_I64, 1, &u, d) ||
        infer_set(g, n, 2, IR_I64, 1, &len, d))
        return -1;
    return infer_set(g, n, 3, IR_I64, 1, &u, d);
}

/* CumSum(x, axis), CumProd(x, axis) -> x's type. */
int infer_cumsum(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t a;
    int axis;
    if (x->dtype == IR_BOOL || ir_dtype_is_quant(x->dtype))
        return ir_node_error(g, n, d, "cannot accumulate %s elements", ir_dtype_name(x->dtype));
    int rc = infer_one_int(g, n, 1, "axis", &a, d);
    if (rc < 0 || (rc == 0 && infer_axis(g, n, a, x->rank ? x->rank : 1, &axis, d))) return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

/* Det(X (..., M, M) floats) -> (...) */
int infer_det(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (!ir_dtype_is_float(x->dtype)) return ir_node_error(g, n, d, "input must be floats, got %s", ir_dtype_name(x->dtype));
    if (x->rank < 2) return ir_node_error(g, n, d, "input has rank %d, expected at least 2 (..., M, M)", x->rank);
    ir_dim r = x->dims[x->rank - 2], c = x->dims[x->rank - 1];
    if (ir_dim_is_const(r) && ir_dim_is_const(c) && r.c != c.c)
        return ir_node_error(g, n, d, "matrices are %lld x %lld, not square", (long long)r.c, (long long)c.c);
    return infer_set(g, n, 0, x->dtype, x->rank - 2, x->dims, d);
}

/* BitCast(x) -> x's shape as `to`, which must have x's bit width. */
int infer_bitcast(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    ir_dtype to = (ir_dtype)ir_attr_int(n, "to");
    const ir_dtype_info *a = ir_dtype_get(x->dtype), *b = ir_dtype_get(to);
    if (ir_dtype_is_quant(x->dtype) || ir_dtype_is_quant(to) || to == IR_DTYPE_NONE ||
        a->block_bytes * b->block_elems != b->block_bytes * a->block_elems)
        return ir_node_error(g, n, d, "cannot reinterpret %s as %s: their widths differ", ir_dtype_name(x->dtype),
                             ir_dtype_name(to));
    return infer_set(g, n, 0, to, x->rank, x->dims, d);
}

/* ---- Dropout ---- */

/* The value of constant scalar input i as a double (floats and bools). */
static bool const_scalar(ir_graph *g, const ir_node *n, uint32_t i, double *v) {
    const ir_value *x = infer_input(g, n, i);
    if (!x || x->kind != IR_VALUE_CONST || ir_value_numel(g, n->in[i]) != 1 || !x->data) return false;
    const uint8_t *p = x->data;
    uint16_t h;
    switch (x->dtype) {
    case IR_BOOL: *v = p[0] != 0; return true;
    case IR_F32: { float f; memcpy(&f, p, 4); *v = f; return true; }
    case IR_F64: memcpy(v, p, 8); return true;
    case IR_F16: memcpy(&h, p, 2); *v = rt_f16_to_f32(h); return true;
    case IR_BF16: memcpy(&h, p, 2); *v = rt_bf16_to_f32(h); return true;
    default: return false;
    }
}

int dropout_is_identity(ir_graph *g, const ir_node *n) {
    double training = 0, ratio = 0.5;
    bool have_ratio = !infer_input(g, n, 1) || const_scalar(g, n, 1, &ratio);
    if (!infer_input(g, n, 2)) return 1; /* inference mode */
    if (!const_scalar(g, n, 2, &training)) return have_ratio && ratio == 0 ? 1 : -1;
    return !training || (have_ratio && ratio == 0) ? 1 : have_ratio ? 0 : -1;
}

/* Dropout(data, ratio?, training_mode?) -> output (data's type), mask? (bool):
 * an identity unless training with a nonzero ratio, which is random. */
int infer_dropout(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *r = infer_input(g, n, 1), *t = infer_input(g, n, 2);
    if (r && (!ir_dtype_is_float(r->dtype) || r->rank > 1)) return ir_node_error(g, n, d, "ratio must be a float scalar");
    if (t && (t->dtype != IR_BOOL || t->rank > 1)) return ir_node_error(g, n, d, "training_mode must be a bool scalar");
    if (dropout_is_identity(g, n) == 0)
        return ir_node_error(g, n, d, "training-mode Dropout with a nonzero ratio is random: not supported");
    if (infer_set(g, n, 0, x->dtype, x->rank, x->dims, d)) return -1;
    return infer_set(g, n, 1, IR_BOOL, x->rank, x->dims, d);
}
