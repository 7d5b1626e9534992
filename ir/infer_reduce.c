/* infer_reduce.c — inference for reductions over axes (Reduce*) and over one
 * axis (ArgMax, ArgMin). */
#include "infer.h"

#define NODE (&g->nodes[node])

/* Reduced shape: axes marked in `mark` become 1 (keepdims) or disappear. */
static int reduced(ir_graph *g, const ir_node *n, ir_dtype t, const ir_value *x, const bool *mark,
                   bool keepdims, diag *d) {
    ir_dim out[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!mark[i]) out[r++] = x->dims[i];
        else if (keepdims) out[r++] = ir_dim_const(1);
    }
    return infer_set(g, n, 0, t, r, out, d);
}

int infer_reduce_axes(ir_graph *g, const ir_node *n, bool *mark, bool *noop, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    int64_t axes[IR_MAX_RANK];
    int cnt = 0;
    int rc = infer_input(g, n, 1) ? infer_const_ints(g, n, 1, axes, IR_MAX_RANK, &cnt, d) : 0;
    if (rc < 0) return -1;
    if (rc == 1) return ir_node_error(g, n, d, "axes must be a constant");
    for (int i = 0; i < x->rank; i++) mark[i] = cnt == 0;
    *noop = cnt == 0 && ir_attr_int(n, "noop_with_empty_axes");
    for (int i = 0; i < cnt; i++) {
        int a;
        if (infer_axis(g, n, axes[i], x->rank, &a, d)) return -1;
        mark[a] = true;
    }
    return 0;
}

int infer_reduce(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    bool mark[IR_MAX_RANK], noop;
    if (infer_reduce_axes(g, n, mark, &noop, d)) return -1;
    if (noop) return infer_set(g, n, 0, x->dtype, x->rank, x->dims, d);
    return reduced(g, n, x->dtype, x, mark, ir_attr_int(n, "keepdims") != 0, d);
}

int infer_arg_reduce(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    bool mark[IR_MAX_RANK] = {0};
    int a;
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &a, d)) return -1;
    mark[a] = true;
    return reduced(g, n, IR_I64, x, mark, ir_attr_int(n, "keepdims") != 0, d);
}
