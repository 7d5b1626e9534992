/* channel_affine.c — see channel_affine.h. New weights W' = W * scale[c]
 * along the weight axis that maps to output channel c, new bias
 * B' = B * scale + shift; computed in double, stored in the weights' dtype.
 */
#include "passes/channel_affine.h"

#include <stdlib.h>

#include "passes/rewrite.h"

/* Gemm's C operand is per column or a scalar: numel 1 or N along the last axis. */
static bool gemm_bias_per_column(const ir_graph *g, ir_id c, int64_t n) {
    if (c == IR_NONE) return true;
    const ir_value *v = &g->values[c];
    int64_t numel = ir_value_numel(g, c);
    if (!rw_float_const(g, c) || v->rank > 2) return false;
    if (numel == 1) return true;
    return numel == n && v->dims[v->rank - 1].c == n;
}

int64_t ca_channels(const ir_graph *g, ir_id node) {
    const ir_node *n = &g->nodes[node];
    if (n->dead || n->n_in < 2) return -1;
    ir_id w = n->in[1], b = n->n_in > 2 ? n->in[2] : IR_NONE;
    const ir_value *y = &g->values[n->out[0]], *wv = &g->values[w];
    if (!rw_float_const(g, w) || wv->dtype != y->dtype || y->rank < 2 || ir_value_numel(g, w) < 0) return -1;
    if (b != IR_NONE && (!rw_float_const(g, b) || g->values[b].dtype != y->dtype)) return -1;
    switch (n->op) {
    case IR_OP_Conv:
        if (wv->rank < 3 || (b != IR_NONE && ir_value_numel(g, b) != wv->dims[0].c)) return -1;
        return wv->dims[0].c;
    case IR_OP_ConvTranspose: {
        int64_t groups = ir_attr_int(n, "group"), c = wv->rank >= 3 ? groups * wv->dims[1].c : -1;
        if (c <= 0 || (b != IR_NONE && ir_value_numel(g, b) != c)) return -1;
        return c;
    }
    case IR_OP_Gemm: {
        int64_t cols = wv->dims[ir_attr_int(n, "transB") ? 0 : 1].c;
        return gemm_bias_per_column(g, b, cols) ? cols : -1;
    }
    case IR_OP_MatMul:
        if (wv->rank != 2 || y->rank != 2 || g->values[n->in[0]].rank != 2) return -1;
        return wv->dims[1].c;
    default: return -1;
    }
}

/* Output channel of flat weight element i. */
static int64_t weight_channel(const ir_graph *g, const ir_node *n, int64_t i) {
    const ir_value *w = &g->values[n->in[1]];
    int64_t inner = 1; /* elements per (axis0, axis1) pair */
    for (int a = 2; a < w->rank; a++) inner *= w->dims[a].c;
    switch (n->op) {
    case IR_OP_Conv: return i / (inner * w->dims[1].c);
    case IR_OP_ConvTranspose: { /* W (Cin, Cout/group, k...) */
        int64_t per = w->dims[1].c, cin = w->dims[0].c, groups = ir_attr_int(n, "group");
        int64_t ci = i / (inner * per), j = (i / inner) % per;
        return (ci / (cin / groups)) * per + j;
    }
    case IR_OP_Gemm:
        return ir_attr_int(n, "transB") ? i / w->dims[1].c : i % w->dims[1].c;
    default: return i % w->dims[1].c; /* MatMul: W (K, N) */
    }
}

/* The old bias at channel c: Conv's B, Gemm's beta * C (broadcast), 0. */
static double old_bias(const ir_graph *g, const ir_node *n, int64_t c) {
    ir_id b = n->n_in > 2 ? n->in[2] : IR_NONE;
    if (b == IR_NONE || n->op == IR_OP_MatMul) return 0;
    double v = rw_const_at(g, b, ir_value_numel(g, b) == 1 ? 0 : c);
    return n->op == IR_OP_Gemm ? ir_attr_float(n, "beta") * v : v;
}

/* A MatMul becomes Gemm(A, B, C) with the default attributes (alpha = beta = 1). */
static int matmul_to_gemm(ir_graph *g, ir_id node, diag *d) {
    ir_node *n = &g->nodes[node];
    ir_attr *attrs = arena_array(&g->arena, ir_op_get(IR_OP_Gemm)->n_attrs, sizeof *attrs);
    if (!attrs) return diag_error(d, "%s: out of memory", g->source);
    n->op = IR_OP_Gemm;
    n->attrs = attrs;
    return 0;
}

int ca_fold(ir_graph *g, ir_id node, const double *scale, const double *shift, diag *d) {
    int64_t c = ca_channels(g, node);
    ir_node *n = &g->nodes[node];
    ir_id w = n->in[1];
    int64_t wn = ir_value_numel(g, w);
    double *wv = malloc((size_t)(wn ? wn : 1) * sizeof *wv), *bv = malloc((size_t)(c > 0 ? c : 1) * sizeof *bv);
    if (!wv || !bv) {
        free(wv);
        free(bv);
        return diag_error(d, "%s: out of memory", g->source);
    }
    for (int64_t i = 0; i < wn; i++) wv[i] = rw_const_at(g, w, i) * (scale ? scale[weight_channel(g, n, i)] : 1);
    for (int64_t k = 0; k < c; k++) bv[k] = old_bias(g, n, k) * (scale ? scale[k] : 1) + (shift ? shift[k] : 0);
    const ir_value *wval = &g->values[w];
    ir_dtype t = wval->dtype;
    ir_dim bdim = ir_dim_const(c);
    ir_id nw = scale ? rw_new_const(g, wval->name, t, wval->rank, wval->dims, wv, wn, d) : w;
    ir_id nb = nw == IR_NONE ? IR_NONE : rw_new_const(g, "folded_bias", t, 1, &bdim, bv, c, d);
    free(wv);
    free(bv);
    if (nb == IR_NONE) return -1;
    n = &g->nodes[node];
    if (n->op == IR_OP_MatMul && matmul_to_gemm(g, node, d)) return -1;
    if (n->op == IR_OP_Gemm && ir_set_attr_float(g, node, "beta", 1.0f, d)) return -1;
    if (n->n_in < 3) {
        ir_id *in = arena_array(&g->arena, 3, sizeof *in);
        if (!in) return diag_error(d, "%s: out of memory", g->source);
        in[0] = n->in[0];
        n->in = in;
        n->n_in = 3;
    }
    n->in[1] = nw;
    n->in[2] = nb;
    return 0;
}
