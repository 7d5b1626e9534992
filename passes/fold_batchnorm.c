/* fold_batchnorm.c — BatchNormalization in inference mode after a Conv,
 * ConvTranspose, Gemm or rank-2 MatMul with constant weights is a
 * per-channel affine map, y*s + (bias - mean*s) with s = scale/sqrt(var+eps),
 * folded at compile time into new weights and bias (channel_affine.c); the
 * BatchNormalization node dies. Only when the contraction's output has no
 * other reader and is not a graph output, since it changes.
 */
#include <math.h>
#include <stdlib.h>

#include "passes/channel_affine.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

/* The contraction feeding BatchNormalization node bn if it can absorb it,
 * else IR_NONE. */
static ir_id foldable_producer(const ir_graph *g, const ir_node *bn, const uint32_t *uses, int64_t *channels) {
    if (bn->op != IR_OP_BatchNormalization || ir_attr_int(bn, "training_mode")) return IR_NONE;
    for (uint32_t o = 1; o < bn->n_out; o++)
        if (uses[bn->out[o]]) return IR_NONE;
    ir_id y = bn->in[0];
    const ir_value *yv = &g->values[y];
    if (yv->kind != IR_VALUE_NODE || uses[y] != 1 || rw_is_output(g, y) || rw_is_captured(g, bn->out[0])) return IR_NONE;
    int64_t c = ca_channels(g, yv->producer);
    if (c <= 0 || yv->rank < 2 || !ir_dim_is_const(yv->dims[1]) || yv->dims[1].c != c) return IR_NONE;
    for (uint32_t k = 1; k < 5; k++)
        if (!rw_float_const(g, bn->in[k]) || ir_value_numel(g, bn->in[k]) != c) return IR_NONE;
    *channels = c;
    return yv->producer;
}

static int fold_one(ir_graph *g, ir_id bn_id, ir_id conv, int64_t c, uint32_t *uses, diag *d) {
    const ir_node *bn = &g->nodes[bn_id];
    double *scale = malloc((size_t)c * sizeof *scale), *shift = malloc((size_t)c * sizeof *shift);
    if (!scale || !shift) {
        free(scale);
        free(shift);
        return diag_error(d, "%s: out of memory", g->source);
    }
    double eps = ir_attr_float(bn, "epsilon");
    for (int64_t k = 0; k < c; k++) {
        scale[k] = rw_const_at(g, bn->in[1], k) / sqrt(rw_const_at(g, bn->in[4], k) + eps);
        shift[k] = rw_const_at(g, bn->in[2], k) - rw_const_at(g, bn->in[3], k) * scale[k];
    }
    int rc = ca_fold(g, conv, scale, shift, d);
    free(scale);
    free(shift);
    if (rc) return -1;
    bn = &g->nodes[bn_id];
    ir_id y = bn->in[0], z = bn->out[0];
    if (!rw_replace(g, z, y)) return diag_error(d, "%s: internal: cannot rewire '%s'", g->source, bn->name);
    g->nodes[bn_id].dead = true;
    uses[y] = uses[z]; /* z's readers read y now */
    return 0;
}

int pass_fold_batchnorm(ir_graph *g, diag *d) {
    uint32_t *uses = rw_use_counts(g, d);
    if (!uses) return -1;
    int rc = 0;
    for (uint32_t i = 0; i < g->n_nodes && rc == 0; i++) {
        int64_t c;
        ir_id conv;
        if (g->nodes[i].dead || (conv = foldable_producer(g, &g->nodes[i], uses, &c)) == IR_NONE) continue;
        rc = fold_one(g, i, conv, c, uses, d);
    }
    free(uses);
    return rc;
}
