/* infer_elementwise.c — inference for elementwise ops: unary, casts,
 * broadcasting binary and variadic ops, comparisons, Where. */
#include "infer.h"
#include "runtime/minifloat.h"

#define NODE (&g->nodes[node])

int infer_unary(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0);
    return infer_set(g, NODE, 0, x->dtype, x->rank, x->dims, d);
}

int infer_unary_bool(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0);
    if (!ir_dtype_is_float(x->dtype))
        return ir_node_error(g, NODE, d, "input must be a float type, got %s", ir_dtype_name(x->dtype));
    return infer_set(g, NODE, 0, IR_BOOL, x->rank, x->dims, d);
}

int infer_first_input(ir_graph *g, uint32_t node, diag *d) { return infer_unary(g, node, d); }

/* Cast and CastLike's round_mode (float8e8m0 targets, minifloat.h). */
static int check_round_mode(ir_graph *g, uint32_t node, diag *d) {
    const char *mode = ir_attr_str(NODE, "round_mode");
    if (mf_round_from_name(mode) < 0)
        return ir_node_error(g, NODE, d, "round_mode '%s' must be up, down or nearest", mode);
    return 0;
}

int infer_cast(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0);
    int64_t to = ir_attr_int(NODE, "to");
    if (to <= IR_DTYPE_NONE || to >= IR_DTYPE_COUNT || ir_dtype_is_quant((ir_dtype)to))
        return ir_node_error(g, NODE, d, "cannot cast to dtype #%lld", (long long)to);
    if (check_round_mode(g, node, d)) return -1;
    return infer_set(g, NODE, 0, (ir_dtype)to, x->rank, x->dims, d);
}

int infer_cast_like(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0), *like = infer_input(g, NODE, 1);
    if (check_round_mode(g, node, d)) return -1;
    return infer_set(g, NODE, 0, like->dtype, x->rank, x->dims, d);
}

/* Broadcast all inputs together; all must share a dtype unless mixed_ok. */
static int broadcast_all(ir_graph *g, uint32_t node, ir_dtype out_t, bool same_dtype, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x0 = infer_input(g, n, 0);
    ir_dim shape[IR_MAX_RANK], tmp[IR_MAX_RANK];
    int rank = x0->rank;
    for (int i = 0; i < rank; i++) shape[i] = x0->dims[i];
    for (uint32_t k = 1; k < n->n_in; k++) {
        const ir_value *x = infer_input(g, n, k);
        if (same_dtype && x->dtype != x0->dtype)
            return ir_node_error(g, n, d, "input %u ('%s') is %s but input 0 ('%s') is %s", k, x->name,
                                 ir_dtype_name(x->dtype), x0->name, ir_dtype_name(x0->dtype));
        int r;
        if (infer_broadcast_shapes(g, n, shape, rank, x->dims, x->rank, tmp, &r, d)) return -1;
        for (int i = 0; i < r; i++) shape[i] = tmp[i];
        rank = r;
    }
    return infer_set(g, n, 0, out_t == IR_DTYPE_NONE ? x0->dtype : out_t, rank, shape, d);
}

int infer_broadcast(ir_graph *g, uint32_t node, diag *d) {
    if (NODE->op == IR_OP_PRelu) { /* slope broadcasts to X, result is X's shape */
        const ir_value *x = infer_input(g, NODE, 0);
        if (broadcast_all(g, node, IR_DTYPE_NONE, true, d)) return -1;
        return infer_set(g, NODE, 0, x->dtype, x->rank, x->dims, d);
    }
    return broadcast_all(g, node, IR_DTYPE_NONE, true, d);
}

int infer_pow(ir_graph *g, uint32_t node, diag *d) {
    return broadcast_all(g, node, IR_DTYPE_NONE, false, d);
}

int infer_compare(ir_graph *g, uint32_t node, diag *d) {
    return broadcast_all(g, node, IR_BOOL, true, d);
}

int infer_where(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *c = infer_input(g, n, 0), *x = infer_input(g, n, 1), *y = infer_input(g, n, 2);
    if (c->dtype != IR_BOOL)
        return ir_node_error(g, n, d, "condition '%s' must be bool, got %s", c->name, ir_dtype_name(c->dtype));
    if (x->dtype != y->dtype)
        return ir_node_error(g, n, d, "branches '%s' (%s) and '%s' (%s) differ in dtype", x->name,
                             ir_dtype_name(x->dtype), y->name, ir_dtype_name(y->dtype));
    ir_dim s1[IR_MAX_RANK], s2[IR_MAX_RANK];
    int r1, r2;
    if (infer_broadcast_shapes(g, n, c->dims, c->rank, x->dims, x->rank, s1, &r1, d)) return -1;
    if (infer_broadcast_shapes(g, n, s1, r1, y->dims, y->rank, s2, &r2, d)) return -1;
    return infer_set(g, n, 0, x->dtype, r2, s2, d);
}

/* Same type and shape as the input, with an `axis` attribute to check. */
int infer_unary_axis(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0);
    int axis;
    if (infer_axis(g, NODE, ir_attr_int(NODE, "axis"), x->rank, &axis, d)) return -1;
    return infer_set(g, NODE, 0, x->dtype, x->rank, x->dims, d);
}
