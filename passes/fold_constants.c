/* fold_constants.c — constant folding through the reference interpreter.
 *
 * A node whose inputs are all constants is lowered alone, evaluated by
 * ir/interp.c, and replaced by constants holding its results: exactly the
 * values the compiled code would compute, with no second implementation of
 * any op. Exported models compute many shapes this way (Shape -> Gather ->
 * Concat -> Reshape); folding them is what gives later nodes static shapes.
 * Ops flagged IR_F_SHAPE_ONLY (Shape, Size) fold as soon as their input's
 * shape is static, whatever its values: torchvision's attention reads the
 * shape of a computed tensor to find where to split it. A node whose result
 * inference knows as a shape value of constants (Gather(Shape(x), 2) of x:
 * [batch,seq,768] is 768) becomes that constant without running anything.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "passes/passes.h"

/* A value the node's result can be computed from: a constant, or any value
 * of static shape when the op reads only shapes (Shape, Size). */
static bool known_input(const ir_graph *g, const ir_node *n, ir_id v) {
    const ir_value *x = &g->values[v];
    if (x->kind == IR_VALUE_CONST) return true;
    if (!(ir_op_get(n->op)->flags & IR_F_SHAPE_ONLY)) return false;
    for (int i = 0; i < x->rank; i++)
        if (!ir_dim_is_const(x->dims[i])) return false;
    return true;
}

static bool foldable(const ir_graph *g, const ir_node *n) {
    if (n->dead || !ir_op_get(n->op)->lower) return false;
    /* quantized weights stay quantized: a QDQ group may become an integer kernel (fuse_qdq) */
    if (n->op == IR_OP_DequantizeGGML) return false;
    if (n->op == IR_OP_DequantizeLinear && ir_dtype_is_int(g->values[n->in[0]].dtype)) return false;
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in[i] != IR_NONE && !known_input(g, n, n->in[i])) return false;
    for (uint32_t o = 0; o < n->n_out; o++) {
        int64_t numel = ir_value_numel(g, n->out[o]);
        if (numel < 0 || numel > FOLD_MAX_ELEMENTS) return false;
    }
    return true;
}

/* The single output of the node as a constant from its shape value, when
 * every element is a constant: 1 done, 0 not such a value, -1 error. */
static int fold_shape_value(ir_graph *g, ir_id node, diag *d) {
    const ir_node *n = &g->nodes[node];
    if (n->dead || n->n_out != 1 || n->out[0] == IR_NONE) return 0;
    ir_id out = n->out[0];
    ir_value *v = &g->values[out];
    int64_t c[IR_SVAL_MAX];
    int cnt;
    if (v->kind != IR_VALUE_NODE || !v->sval || ir_value_sval_const(g, out, c, IR_SVAL_MAX, &cnt)) return 0;
    size_t esz = v->dtype == IR_I64 ? 8 : v->dtype == IR_I32 ? 4 : 1;
    uint8_t *data = arena_alloc(&g->arena, esz * (size_t)cnt);
    if (!data) return diag_error(d, "%s: out of memory", g->source);
    for (int k = 0; k < cnt; k++) {
        int32_t c32 = (int32_t)c[k];
        uint8_t c8 = c[k] != 0;
        memcpy(data + esz * (size_t)k, esz == 8 ? (const void *)&c[k] : esz == 4 ? (const void *)&c32 : &c8, esz);
    }
    v->kind = IR_VALUE_CONST;
    v->producer = IR_NONE;
    v->data = data;
    v->nbytes = esz * (uint64_t)cnt;
    v->mapping = -1;
    g->nodes[node].dead = true;
    return 1;
}

int fold_node(ir_graph *g, ir_id node, diag *d) {
    int rc = fold_shape_value(g, node, d);
    if (rc) return rc;
    if (!foldable(g, &g->nodes[node])) return 0;
    kir_program *p = kir_lower_node(g, node, d);
    if (!p) return -1;
    const ir_node *n = &g->nodes[node];
    interp_tensor out[64];
    if (n->n_out > 64) {
        kir_free(p);
        return 0;
    }
    memset(out, 0, sizeof out);
    rc = interp_run(p, NULL, out, d);
    kir_free(p);
    if (rc) return -1;
    for (uint32_t o = 0; o < n->n_out && rc == 0; o++) {
        ir_value *v = &g->values[n->out[o]];
        void *data = arena_memdup(&g->arena, out[o].data, out[o].nbytes, 1);
        if (out[o].nbytes && !data) rc = diag_error(d, "%s: out of memory", g->source);
        v->kind = IR_VALUE_CONST;
        v->producer = IR_NONE;
        v->data = data;
        v->nbytes = out[o].nbytes;
        v->mapping = -1;
    }
    for (uint32_t o = 0; o < n->n_out; o++) free(out[o].data);
    if (rc) return -1;
    g->nodes[node].dead = true;
    return 1;
}

int pass_fold_constants(ir_graph *g, diag *d) {
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (fold_node(g, i, d) < 0) return -1;
    return 0;
}
