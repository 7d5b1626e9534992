/* infer_index.c — inference for the ops that address data through index
 * tensors: GatherElements, GatherND, ScatterElements, ScatterND, OneHot,
 * ReverseSequence, Compress. Index tensors must have an integer dtype; ranks
 * and the static parts of shapes are checked here so that the lowerings can
 * index without further checks. */
#include <string.h>

#include "movement.h"

#define NODE (&g->nodes[node])

static int require_indices(ir_graph *g, const ir_node *n, uint32_t i, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (v->dtype != IR_I64 && v->dtype != IR_I32)
        return ir_node_error(g, n, d, "indices ('%s') must be i32 or i64, got %s", v->name, ir_dtype_name(v->dtype));
    return 0;
}

/* Constant dims of a and b agree on axes [0, n) (symbolic dims are not checked). */
static int same_dims(ir_graph *g, const ir_node *n, const ir_value *a, const ir_value *b, int n_axes, diag *d) {
    for (int i = 0; i < n_axes; i++)
        if (ir_dim_is_const(a->dims[i]) && ir_dim_is_const(b->dims[i]) && a->dims[i].c != b->dims[i].c)
            return ir_node_error(g, n, d, "'%s' has size %lld at axis %d but '%s' has %lld", a->name,
                                 (long long)a->dims[i].c, i, b->name, (long long)b->dims[i].c);
    return 0;
}

static bool reduction_ok(const char *r) {
    return !strcmp(r, "none") || !strcmp(r, "add") || !strcmp(r, "mul") || !strcmp(r, "max") || !strcmp(r, "min");
}

int infer_gather_elements(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1);
    int axis;
    if (require_indices(g, n, 1, d) || infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    if (idx->rank != x->rank)
        return ir_node_error(g, n, d, "indices have rank %d but the data rank %d", idx->rank, x->rank);
    for (int i = 0; i < x->rank; i++)
        if (i != axis && ir_dim_is_const(idx->dims[i]) && ir_dim_is_const(x->dims[i]) && idx->dims[i].c > x->dims[i].c)
            return ir_node_error(g, n, d, "indices have size %lld at axis %d, larger than the data's %lld",
                                 (long long)idx->dims[i].c, i, (long long)x->dims[i].c);
    /* data (D...) [indices (I...)] -> (I...) */
    return infer_set(g, n, 0, x->dtype, idx->rank, idx->dims, d);
}

/* GatherND / ScatterND: k, the length of each index tuple (last indices axis). */
static int nd_tuple_len(ir_graph *g, const ir_node *n, const ir_value *x, const ir_value *idx, int batch, int *k, diag *d) {
    if (idx->rank < 1) return ir_node_error(g, n, d, "indices must have rank 1 or more");
    ir_dim last = idx->dims[idx->rank - 1];
    if (!ir_dim_is_const(last)) return ir_node_error(g, n, d, "the last axis of indices must have a known size");
    if (last.c < 1 || batch + last.c > x->rank)
        return ir_node_error(g, n, d, "index tuples of %lld entries do not fit data of rank %d (batch_dims %d)",
                             (long long)last.c, x->rank, batch);
    *k = (int)last.c;
    return 0;
}

int infer_gather_nd(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1);
    if (require_indices(g, n, 1, d)) return -1;
    int64_t b = ir_attr_int(n, "batch_dims");
    int k;
    if (b < 0 || b >= x->rank || b >= idx->rank)
        return ir_node_error(g, n, d, "batch_dims %lld must be below the ranks of data and indices", (long long)b);
    if (nd_tuple_len(g, n, x, idx, (int)b, &k, d) || same_dims(g, n, x, idx, (int)b, d)) return -1;
    /* data (B..., D...) [indices (B..., M..., k)] -> (B..., M..., D[b+k:]...) */
    int r = idx->rank - 1 + x->rank - (int)b - k;
    if (r > IR_MAX_RANK) return ir_node_error(g, n, d, "result rank %d is too large", r);
    ir_dim out[IR_MAX_RANK];
    int o = 0;
    for (int i = 0; i < idx->rank - 1; i++) out[o++] = idx->dims[i];
    for (int i = (int)b + k; i < x->rank; i++) out[o++] = x->dims[i];
    return infer_set(g, n, 0, x->dtype, r, out, d);
}

int infer_scatter_elements(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1), *upd = infer_input(g, n, 2);
    int axis;
    if (require_indices(g, n, 1, d) || infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    if (!reduction_ok(ir_attr_str(n, "reduction")))
        return ir_node_error(g, n, d, "reduction '%s' is not one of none, add, mul, max, min", ir_attr_str(n, "reduction"));
    if (idx->rank != x->rank || upd->rank != x->rank || upd->dtype != x->dtype)
        return ir_node_error(g, n, d, "indices and updates must have the rank of the data, updates its dtype");
    if (same_dims(g, n, idx, upd, idx->rank, d)) return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_scatter_nd(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1), *upd = infer_input(g, n, 2);
    int k;
    if (require_indices(g, n, 1, d) || nd_tuple_len(g, n, x, idx, 0, &k, d)) return -1;
    if (!reduction_ok(ir_attr_str(n, "reduction")))
        return ir_node_error(g, n, d, "reduction '%s' is not one of none, add, mul, max, min", ir_attr_str(n, "reduction"));
    /* updates (I[:-1]..., D[k:]...) */
    if (upd->dtype != x->dtype || upd->rank != idx->rank - 1 + x->rank - k)
        return ir_node_error(g, n, d, "updates must be %s of rank %d", ir_dtype_name(x->dtype), idx->rank - 1 + x->rank - k);
    if (same_dims(g, n, upd, idx, idx->rank - 1, d)) return -1;
    for (int i = k; i < x->rank; i++) {
        ir_dim a = upd->dims[idx->rank - 1 + i - k], b = x->dims[i];
        if (ir_dim_is_const(a) && ir_dim_is_const(b) && a.c != b.c)
            return ir_node_error(g, n, d, "updates have size %lld at axis %d, the data %lld", (long long)a.c,
                                 idx->rank - 1 + i - k, (long long)b.c);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_one_hot(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *idx = infer_input(g, n, 0), *depth = infer_input(g, n, 1), *vals = infer_input(g, n, 2);
    int r = idx->rank + 1, axis;
    if (r > IR_MAX_RANK) return ir_node_error(g, n, d, "result rank %d is too large", r);
    if (infer_axis(g, n, ir_attr_int(n, "axis"), r, &axis, d)) return -1;
    if (depth->rank > 1 || ir_value_numel(g, n->in[1]) != 1)
        return ir_node_error(g, n, d, "depth must hold one value");
    if (vals->rank != 1 || ir_value_numel(g, n->in[2]) != 2)
        return ir_node_error(g, n, d, "values must be [off_value, on_value]");
    if (ir_dtype_is_quant(idx->dtype) || ir_dtype_is_quant(depth->dtype))
        return ir_node_error(g, n, d, "indices and depth must be numbers");
    double dv;
    int cnt;
    int rc = mv_const_doubles(g, n, 1, &dv, 1, &cnt, d);
    if (rc < 0) return -1;
    if (rc == 0 && (dv < 0 || dv > (double)((int64_t)1 << 40)))
        return ir_node_error(g, n, d, "depth %g is out of range", dv);
    /* indices (I...) -> (I[:axis]..., depth, I[axis:]...) */
    ir_dim out[IR_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) out[i] = i == axis ? (rc ? ir_dim_fresh(g) : ir_dim_const((int64_t)dv)) : idx->dims[j++];
    return infer_set(g, n, 0, vals->dtype, r, out, d);
}

int infer_reverse_sequence(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *lens = infer_input(g, n, 1);
    int64_t ba = ir_attr_int(n, "batch_axis"), ta = ir_attr_int(n, "time_axis");
    if (x->rank < 2) return ir_node_error(g, n, d, "input must have rank 2 or more");
    if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return ir_node_error(g, n, d, "batch_axis and time_axis must be 0 and 1 in some order");
    if (require_indices(g, n, 1, d)) return -1;
    if (lens->rank != 1) return ir_node_error(g, n, d, "sequence_lens must be 1-D");
    ir_dim b = x->dims[ba], l = lens->dims[0];
    if (ir_dim_is_const(b) && ir_dim_is_const(l) && b.c != l.c)
        return ir_node_error(g, n, d, "sequence_lens has %lld entries for a batch of %lld", (long long)l.c, (long long)b.c);
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

/* True entries among the first `limit` of a constant bool condition; 1 if
 * the condition is not a constant. */
static int count_true(ir_graph *g, const ir_node *n, int64_t limit, int64_t *count, diag *d) {
    const ir_value *c = infer_input(g, n, 1);
    if (c->kind != IR_VALUE_CONST) return 1;
    int64_t numel = ir_value_numel(g, n->in[1]);
    if (numel < 0 || c->nbytes < (uint64_t)numel)
        return ir_node_error(g, n, d, "constant '%s' holds %llu bytes, %lld needed", c->name,
                             (unsigned long long)c->nbytes, (long long)numel);
    const uint8_t *p = c->data;
    *count = 0;
    for (int64_t i = 0; i < numel && i < limit; i++) *count += p[i] != 0;
    return 0;
}

int infer_compress(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *c = infer_input(g, n, 1);
    if (c->dtype != IR_BOOL || c->rank != 1) return ir_node_error(g, n, d, "condition must be a 1-D bool tensor");
    bool has_axis = ir_attr_is_set(n, "axis");
    int axis = 0;
    if (has_axis && infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d)) return -1;
    int64_t numel = ir_value_numel(g, n->in[0]);
    ir_dim len = has_axis ? x->dims[axis] : ir_dim_const(numel);
    if (ir_dim_is_const(len) && len.c >= 0 && ir_dim_is_const(c->dims[0]) && c->dims[0].c > len.c)
        return ir_node_error(g, n, d, "condition has %lld entries for %lld elements", (long long)c->dims[0].c,
                             (long long)len.c);
    int64_t count = 0;
    int rc = count_true(g, n, ir_dim_is_const(len) && len.c >= 0 ? len.c : INT64_MAX, &count, d);
    if (rc < 0) return -1;
    ir_dim kept = rc == 1 ? ir_dim_fresh(g) : ir_dim_const(count);
    if (!has_axis) return infer_set(g, n, 0, x->dtype, 1, &kept, d);
    /* input (..., D_axis, ...) -> (..., kept, ...) */
    ir_dim out[IR_MAX_RANK];
    memcpy(out, x->dims, sizeof(ir_dim) * (size_t)x->rank);
    out[axis] = kept;
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}
