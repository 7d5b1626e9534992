/* infer_movement.c — inference for shape and data-movement ops: Reshape,
 * Transpose, Flatten, Squeeze/Unsqueeze, Concat, Gather, Expand, Shape, Size.
 * Where a shape comes from a non-constant input, the result gets fresh
 * symbolic dimensions (its rank must still be known). */
#include <string.h>

#include "infer.h"

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
    int64_t want[IR_MAX_RANK];
    int cnt = 0;
    ir_dim out[IR_MAX_RANK];
    int rc = infer_const_ints(g, n, 1, want, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    if (rc == 1) { /* shape computed at run time */
        for (int i = 0; i < rank; i++) out[i] = ir_dim_fresh(g);
        return infer_set(g, n, 0, x->dtype, rank, out, d);
    }
    bool allowzero = ir_attr_int(n, "allowzero") != 0;
    int infer_at = -1;
    for (int i = 0; i < rank; i++) {
        if (want[i] == -1) {
            if (infer_at >= 0) return ir_node_error(g, n, d, "shape has more than one -1");
            infer_at = i;
            out[i] = ir_dim_const(1);
        } else if (want[i] == 0 && !allowzero) {
            if (i >= x->rank) return ir_node_error(g, n, d, "shape copies axis %d but input has rank %d", i, x->rank);
            out[i] = x->dims[i];
        } else if (want[i] < 0) {
            return ir_node_error(g, n, d, "shape has invalid value %lld", (long long)want[i]);
        } else {
            out[i] = ir_dim_const(want[i]);
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
    int64_t want[IR_MAX_RANK];
    int cnt;
    ir_dim target[IR_MAX_RANK], out[IR_MAX_RANK];
    int rc = infer_const_ints(g, n, 1, want, IR_MAX_RANK, &cnt, d);
    if (rc < 0) return -1;
    for (int i = 0; i < rank; i++) target[i] = rc == 1 ? ir_dim_fresh(g) : ir_dim_const(want[i]);
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
