/* infer_util.c — helpers shared by the inference functions: input access,
 * broadcasting, axis normalization, reading constant integer inputs. */
#include <string.h>

#include "infer.h"

const ir_value *infer_input(ir_graph *g, const ir_node *n, uint32_t i) {
    if (i >= n->n_in || n->in[i] == IR_NONE) return NULL;
    return &g->values[n->in[i]];
}

int infer_require(ir_graph *g, const ir_node *n, uint32_t i, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return ir_node_error(g, n, d, "input %u is required", i);
    if (v->rank < 0 || v->dtype == IR_DTYPE_NONE)
        return ir_node_error(g, n, d, "input %u ('%s') has no known type and shape", i, v->name);
    return 0;
}

int infer_broadcast_shapes(ir_graph *g, const ir_node *n, const ir_dim *a, int ra, const ir_dim *b,
                           int rb, ir_dim *out, int *rank, diag *d) {
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        ir_dim da = ia >= 0 ? a[ia] : ir_dim_const(1);
        ir_dim db = ib >= 0 ? b[ib] : ir_dim_const(1);
        if (ir_dim_eq(da, db)) out[i] = da;
        else if (ir_dim_is_const(da) && da.c == 1) out[i] = db;
        else if (ir_dim_is_const(db) && db.c == 1) out[i] = da;
        else if (!ir_dim_is_const(da) && ir_dim_is_const(db)) out[i] = db; /* symbol must equal it */
        else if (ir_dim_is_const(da) && !ir_dim_is_const(db)) out[i] = da;
        else if (!ir_dim_is_const(da) && !ir_dim_is_const(db)) out[i] = ir_dim_expr(g, IR_SYM_MAX, da, db);
        else {
            char sa[64], sb[64];
            ir_dim_format(g, da, sa, sizeof sa);
            ir_dim_format(g, db, sb, sizeof sb);
            return ir_node_error(g, n, d, "cannot broadcast dimension %s with %s (axis %d of the result)", sa,
                                 sb, i);
        }
    }
    *rank = r;
    return 0;
}

int infer_axis(const ir_graph *g, const ir_node *n, int64_t axis, int rank, int *out, diag *d) {
    if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
        return ir_node_error(g, n, d, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int infer_const_ints(ir_graph *g, const ir_node *n, uint32_t i, int64_t *vals, int max, int *count, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (v && v->kind != IR_VALUE_CONST && (v->dtype == IR_I64 || v->dtype == IR_I32)) /* a known shape value */
        return ir_value_sval_const(g, n->in[i], vals, max, count);
    if (!v || v->kind != IR_VALUE_CONST) return 1;
    if (v->dtype != IR_I64 && v->dtype != IR_I32)
        return ir_node_error(g, n, d, "input %u ('%s') must be i32 or i64, got %s", i, v->name,
                             ir_dtype_name(v->dtype));
    int64_t numel = ir_value_numel(g, n->in[i]);
    if (numel < 0 || numel > max)
        return ir_node_error(g, n, d, "input %u ('%s') has %lld elements, at most %d supported", i, v->name,
                             (long long)numel, max);
    size_t esz = v->dtype == IR_I64 ? 8 : 4;
    if (v->nbytes < (uint64_t)numel * esz)
        return ir_node_error(g, n, d, "constant '%s' holds %llu bytes, %lld needed", v->name,
                             (unsigned long long)v->nbytes, (long long)(numel * (int64_t)esz));
    const uint8_t *p = v->data;
    for (int64_t k = 0; k < numel; k++) {
        if (esz == 8) {
            int64_t x;
            memcpy(&x, p + 8 * k, 8);
            vals[k] = x;
        } else {
            int32_t x;
            memcpy(&x, p + 4 * k, 4);
            vals[k] = x;
        }
    }
    *count = (int)numel;
    return 0;
}

int infer_set(ir_graph *g, const ir_node *n, uint32_t o, ir_dtype t, int rank, const ir_dim *dims, diag *d) {
    if (o >= n->n_out || n->out[o] == IR_NONE) return 0;
    for (int i = 0; i < rank; i++)
        if (ir_dim_is_const(dims[i]) && dims[i].c < 0)
            return dims[i].c == INT64_MIN
                       ? ir_node_error(g, n, d, "output %u: the size of axis %d overflows or divides by zero", o, i)
                       : ir_node_error(g, n, d, "output %u would have negative dimension %lld at axis %d", o,
                                       (long long)dims[i].c, i);
    if (ir_set_type(g, n->out[o], t, rank, dims)) return diag_error(d, "%s: out of memory", g->source);
    return 0;
}

/* ---- the driver ------------------------------------------------------------ */

int ir_infer_node(ir_graph *g, ir_id node, diag *d) {
    const ir_node *n = &g->nodes[node];
    const ir_op_info *info = ir_op_get(n->op);
    if (n->n_in < info->min_in || (info->max_in != IR_VARIADIC && n->n_in > info->max_in))
        return ir_node_error(g, n, d, "has %u inputs, expected %u to %u", n->n_in, info->min_in, info->max_in);
    if (n->n_out < info->min_out || n->n_out > info->max_out)
        return ir_node_error(g, n, d, "has %u outputs, expected %u to %u", n->n_out, info->min_out, info->max_out);
    for (uint32_t i = 0; i < info->min_in; i++)
        if (n->in[i] == IR_NONE) return ir_node_error(g, n, d, "input %u is required", i);
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in[i] != IR_NONE && infer_require(g, n, i, d)) return -1;
    for (uint16_t a = 0; a < info->n_attrs; a++)
        if (info->attrs[a].required && !n->attrs[a].set)
            return ir_node_error(g, n, d, "required attribute '%s' is missing", info->attrs[a].name);
    if (info->infer(g, node, d)) return -1;
    if (infer_shape_value(g, node)) return diag_error(d, "%s: out of memory", g->source);
    return 0;
}

int ir_infer(ir_graph *g, diag *d) {
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && ir_infer_node(g, i, d)) return -1;
    return 0;
}
