/* infer_norm.c — inference for the normalizations (BatchNormalization,
 * InstanceNormalization, GroupNormalization, RMSNormalization,
 * MeanVarianceNormalization, LRN) and the checks of their parameters that
 * the lowerings rely on: per-channel vectors of the right length, scales
 * that broadcast into the input's shape, axes and sizes in range. (Layer
 * normalization's inference lives in infer_nn.c and uses the same checks.)
 */
#include "infer.h"

#define NODE (&g->nodes[node])

/* Two dims that must be equal: false only when they are known to differ. */
static bool dims_may_equal(ir_dim a, ir_dim b) {
    return ir_dim_eq(a, b) || !ir_dim_is_const(a) || !ir_dim_is_const(b);
}

/* Input i, when present, must have shape (c): one value per channel. */
static int check_channel_vector(ir_graph *g, const ir_node *n, uint32_t i, ir_dim c, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return 0;
    if (v->rank != 1 || !dims_may_equal(v->dims[0], c)) {
        char want[64], have[128];
        ir_dim_format(g, c, want, sizeof want);
        ir_type_format(g, v->dtype, v->rank, v->dims, have, sizeof have);
        return ir_node_error(g, n, d, "input %u ('%s') is %s, expected one value per channel (%s)", i, v->name, have,
                             want);
    }
    return 0;
}

int infer_norm_bcast_param(ir_graph *g, const ir_node *n, uint32_t i, diag *d) {
    const ir_value *x = infer_input(g, n, 0), *v = infer_input(g, n, i);
    if (!v) return 0;
    bool ok = v->rank <= x->rank;
    for (int k = 0; ok && k < v->rank; k++) {
        ir_dim vd = v->dims[k], xd = x->dims[x->rank - v->rank + k];
        ok = (ir_dim_is_const(vd) && vd.c == 1) || dims_may_equal(vd, xd);
    }
    if (!ok) {
        char have[128], want[128];
        ir_type_format(g, v->dtype, v->rank, v->dims, have, sizeof have);
        ir_type_format(g, x->dtype, x->rank, x->dims, want, sizeof want);
        return ir_node_error(g, n, d, "input %u ('%s') is %s, which does not broadcast to the input's shape %s", i,
                             v->name, have, want);
    }
    return 0;
}

int infer_norm_stash_type(ir_graph *g, const ir_node *n, ir_dtype *t, diag *d) {
    int64_t code = ir_attr_int(n, "stash_type");
    *t = code == (int32_t)code ? ir_dtype_from_onnx((int)code) : IR_DTYPE_NONE;
    if (!ir_dtype_is_float(*t))
        return ir_node_error(g, n, d, "stash_type %lld is not a float type", (long long)code);
    return 0;
}

/* The input X of shape (N, C, ...) with at least min_rank axes. */
static int check_channels_input(ir_graph *g, const ir_node *n, int min_rank, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank < min_rank)
        return ir_node_error(g, n, d, "input has rank %d, expected at least %d (N, C, ...)", x->rank, min_rank);
    return 0;
}

int infer_batch_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (check_channels_input(g, n, 2, d)) return -1;
    for (uint32_t i = 1; i < 5; i++)
        if (check_channel_vector(g, n, i, x->dims[1], d)) return -1;
    bool training = ir_attr_int(n, "training_mode") != 0;
    if (!training && n->n_out > 1)
        return ir_node_error(g, n, d, "outputs running_mean and running_var exist only with training_mode=1");
    if (infer_set(g, n, 0, x->dtype, x->rank, x->dims, d)) return -1;
    /* running_mean, running_var (C) */
    for (uint32_t o = 1; o < n->n_out; o++) {
        const ir_value *stat = infer_input(g, n, 2 + o);
        if (infer_set(g, n, o, stat->dtype, 1, stat->dims, d)) return -1;
    }
    return 0;
}

int infer_instance_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (check_channels_input(g, n, 3, d) || check_channel_vector(g, n, 1, x->dims[1], d) ||
        check_channel_vector(g, n, 2, x->dims[1], d))
        return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_group_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    ir_dtype st;
    if (check_channels_input(g, n, 2, d) || infer_norm_stash_type(g, n, &st, d)) return -1;
    int64_t groups = ir_attr_int(n, "num_groups");
    ir_dim c = x->dims[1];
    if (groups < 1) return ir_node_error(g, n, d, "num_groups must be positive, got %lld", (long long)groups);
    if (ir_dim_is_const(c) && c.c % groups)
        return ir_node_error(g, n, d, "%lld channels do not split into %lld groups", (long long)c.c, (long long)groups);
    for (uint32_t i = 1; i < 3; i++) {
        const ir_value *v = infer_input(g, n, i);
        if (v->rank == 1 && ir_dim_is_const(v->dims[0]) && v->dims[0].c == groups && !dims_may_equal(c, v->dims[0]))
            return ir_node_error(g, n, d, "input %u ('%s') has one value per group, the form of opset 18; only opset "
                                 "21's one value per channel is supported", i, v->name);
        if (check_channel_vector(g, n, i, c, d)) return -1;
    }
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_rms_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int axis;
    ir_dtype st;
    if (infer_trailing_norm(g, n, &axis, &st, d)) return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_mvn(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    bool mark[IR_MAX_RANK];
    if (infer_mvn_axes(g, n, mark, d)) return -1;
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}

int infer_mvn_axes(ir_graph *g, const ir_node *n, bool *mark, diag *d) {
    static const int64_t default_axes[] = {0, 2, 3};
    const ir_value *x = infer_input(g, n, 0);
    uint32_t cnt;
    const int64_t *axes = ir_attr_ints(n, "axes", &cnt);
    if (!axes) axes = default_axes, cnt = 3;
    for (int i = 0; i < x->rank; i++) mark[i] = false;
    for (uint32_t i = 0; i < cnt; i++) {
        int a;
        if (infer_axis(g, n, axes[i], x->rank, &a, d)) return -1;
        mark[a] = true;
    }
    return 0;
}

int infer_lrn(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t size = ir_attr_int(n, "size");
    if (check_channels_input(g, n, 2, d)) return -1;
    if (size < 1 || size > INT32_MAX) return ir_node_error(g, n, d, "size must be positive, got %lld", (long long)size);
    return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
}
