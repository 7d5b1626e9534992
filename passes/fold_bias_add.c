/* fold_bias_add.c — Add of a constant that is the same along every axis
 * but the channel (axis 1) to the output of a Conv, ConvTranspose, Gemm or
 * rank-2 MatMul with constant weights: the constant joins the contraction's
 * bias (channel_affine.c) and the Add dies. Only when the Add does not
 * broadcast the contraction's output to a larger shape and that output has
 * no other reader and is not a graph output.
 */
#include <stdlib.h>

#include "passes/channel_affine.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

/* shift[c] = the constant at channel c when k, broadcast to y's shape, is
 * constant along every axis but axis 1; false otherwise. */
static bool per_channel(const ir_graph *g, ir_id k, ir_id y, int64_t c, double *shift) {
    const ir_value *kv = &g->values[k], *yv = &g->values[y];
    if (!rw_float_const(g, k) || kv->dtype != yv->dtype || kv->rank > yv->rank) return false;
    int lead = yv->rank - kv->rank; /* axis a of k aligns with axis a + lead of y */
    bool along = false;
    for (int a = 0; a < kv->rank; a++) {
        if (!ir_dim_is_const(kv->dims[a])) return false;
        if (kv->dims[a].c == 1) continue;
        if (a + lead != 1 || kv->dims[a].c != c) return false;
        along = true;
    }
    for (int64_t i = 0; i < c; i++) shift[i] = rw_const_at(g, k, along ? i : 0);
    return true;
}

static int fold_one(ir_graph *g, ir_id add, uint32_t *uses, diag *d) {
    const ir_node *n = &g->nodes[add];
    for (int side = 0; side < 2; side++) {
        ir_id y = n->in[side], k = n->in[1 - side];
        const ir_value *yv = &g->values[y];
        if (yv->kind != IR_VALUE_NODE || uses[y] != 1 || rw_is_output(g, y) || !rw_same_type(g, y, n->out[0]) ||
            rw_is_captured(g, n->out[0]))
            continue;
        int64_t c = ca_channels(g, yv->producer);
        if (c <= 0 || !ir_dim_is_const(yv->dims[1]) || yv->dims[1].c != c) continue;
        double *shift = malloc((size_t)c * sizeof *shift);
        if (!shift) return diag_error(d, "%s: out of memory", g->source);
        int rc = 0;
        if (per_channel(g, k, y, c, shift)) {
            rc = ca_fold(g, yv->producer, NULL, shift, d);
            ir_id z = g->nodes[add].out[0];
            if (rc == 0 && rw_replace(g, z, y)) { /* cannot fail: z is not captured, y only read here */
                g->nodes[add].dead = true;
                uses[y] = uses[z]; /* z's readers read y now */
            }
        }
        free(shift);
        return rc;
    }
    return 0;
}

int pass_fold_bias_add(ir_graph *g, diag *d) {
    uint32_t *uses = rw_use_counts(g, d);
    if (!uses) return -1;
    int rc = 0;
    for (uint32_t i = 0; i < g->n_nodes && rc == 0; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_Add) rc = fold_one(g, i, uses, d);
    free(uses);
    return rc;
}
