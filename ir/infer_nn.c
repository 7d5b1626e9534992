/* infer_nn.c — inference for contractions (MatMul, Gemm, Conv,
 * ConvTranspose), pooling and normalizations. */
#include <string.h>

#include "infer.h"

#define NODE (&g->nodes[node])

int infer_matmul(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 1);
    if (a->rank < 1 || b->rank < 1) return ir_node_error(g, n, d, "MatMul operands must have rank >= 1");
    if (a->dtype != b->dtype)
        return ir_node_error(g, n, d, "operands are %s and %s", ir_dtype_name(a->dtype), ir_dtype_name(b->dtype));
    /* A (..., M, K) @ B (..., K, N) -> (..., M, N); rank-1 operands get a 1 inserted and removed */
    ir_dim ak = a->dims[a->rank - 1];
    ir_dim bk = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (ir_dim_is_const(ak) && ir_dim_is_const(bk) && ak.c != bk.c)
        return ir_node_error(g, n, d, "inner dimensions differ: '%s' has K=%lld, '%s' has K=%lld", a->name,
                             (long long)ak.c, b->name, (long long)bk.c);
    ir_dim batch[IR_MAX_RANK], out[IR_MAX_RANK];
    int rb = 0;
    int abatch = a->rank > 2 ? a->rank - 2 : 0, bbatch = b->rank > 2 ? b->rank - 2 : 0;
    if (infer_broadcast_shapes(g, n, a->dims, abatch, b->dims, bbatch, batch, &rb, d)) return -1;
    int r = 0;
    for (int i = 0; i < rb; i++) out[r++] = batch[i];
    if (a->rank >= 2) out[r++] = a->dims[a->rank - 2];
    if (b->rank >= 2) out[r++] = b->dims[b->rank - 1];
    return infer_set(g, n, 0, a->dtype, r, out, d);
}

int infer_gemm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *a = infer_input(g, n, 0), *b = infer_input(g, n, 1), *c = infer_input(g, n, 2);
    if (a->rank != 2 || b->rank != 2) return ir_node_error(g, n, d, "Gemm operands A and B must have rank 2");
    int ta = ir_attr_int(n, "transA") != 0, tb = ir_attr_int(n, "transB") != 0;
    /* A' (M, K) @ B' (K, N) -> (M, N) */
    ir_dim m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1];
    ir_dim kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (ir_dim_is_const(ka) && ir_dim_is_const(kb) && ka.c != kb.c)
        return ir_node_error(g, n, d, "inner dimensions differ (%lld vs %lld)", (long long)ka.c, (long long)kb.c);
    ir_dim out[2] = {m, nn};
    if (c) { /* C must broadcast to (M, N) */
        ir_dim tmp[IR_MAX_RANK];
        int r;
        if (infer_broadcast_shapes(g, n, out, 2, c->dims, c->rank, tmp, &r, d)) return -1;
        if (r != 2) return ir_node_error(g, n, d, "C of rank %d does not broadcast to (M, N)", c->rank);
    }
    return infer_set(g, n, 0, a->dtype, 2, out, d);
}

/* Spatial attributes of Conv / ConvTranspose / pools, defaults filled in. */
typedef struct window {
    int k;                   /* spatial rank */
    int64_t kernel[IR_MAX_RANK], stride[IR_MAX_RANK], dil[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    const char *auto_pad;
} window;

static int read_list(const ir_graph *g, const ir_node *n, const char *name, int64_t *dst, int want,
                     int64_t dflt, diag *d) {
    uint32_t cnt;
    const int64_t *v = ir_attr_ints(n, name, &cnt);
    if (!v) {
        for (int i = 0; i < want; i++) dst[i] = dflt;
        return 0;
    }
    if ((int)cnt != want)
        return ir_node_error(g, n, d, "attribute '%s' has %u values, expected %d", name, cnt, want);
    for (int i = 0; i < want; i++) {
        if (v[i] < (strcmp(name, "pads") == 0 ? 0 : 1) || v[i] > (INT64_C(1) << 32))
            return ir_node_error(g, n, d, "attribute '%s' has invalid value %lld", name, (long long)v[i]);
        dst[i] = v[i];
    }
    return 0;
}

static int read_window(const ir_graph *g, const ir_node *n, int k, const ir_dim *wdims, window *w, diag *d) {
    w->k = k;
    if (ir_attr_ints(n, "kernel_shape", &(uint32_t){0})) {
        if (read_list(g, n, "kernel_shape", w->kernel, k, 1, d)) return -1;
    } else if (wdims) {
        for (int i = 0; i < k; i++) {
            if (!ir_dim_is_const(wdims[i])) return ir_node_error(g, n, d, "kernel size must be constant");
            w->kernel[i] = wdims[i].c;
        }
    } else {
        return ir_node_error(g, n, d, "attribute 'kernel_shape' is missing");
    }
    if (read_list(g, n, "strides", w->stride, k, 1, d) || read_list(g, n, "dilations", w->dil, k, 1, d) ||
        read_list(g, n, "pads", w->pads, 2 * k, 0, d))
        return -1;
    w->auto_pad = ir_attr_str(n, "auto_pad");
    if (strcmp(w->auto_pad, "NOTSET") && strcmp(w->auto_pad, "VALID") && strcmp(w->auto_pad, "SAME_UPPER") &&
        strcmp(w->auto_pad, "SAME_LOWER"))
        return ir_node_error(g, n, d, "unknown auto_pad '%s'", w->auto_pad);
    return 0;
}

/* Output size of one spatial axis of a forward window (Conv, pools). */
static ir_dim window_out(ir_graph *g, const window *w, int i, ir_dim in, bool ceil_mode) {
    int64_t span = (w->kernel[i] - 1) * w->dil[i] + 1;
    ir_dim s = ir_dim_const(w->stride[i]);
    if (!strcmp(w->auto_pad, "SAME_UPPER") || !strcmp(w->auto_pad, "SAME_LOWER")) return ir_dim_cdiv(g, in, s);
    if (!strcmp(w->auto_pad, "VALID")) return ir_dim_cdiv(g, ir_dim_sub(g, in, ir_dim_const(span - 1)), s);
    ir_dim padded = ir_dim_add(g, in, ir_dim_const(w->pads[i] + w->pads[i + w->k] - span));
    ir_dim out = ir_dim_add(g, (ceil_mode ? ir_dim_cdiv : ir_dim_div)(g, padded, s), ir_dim_const(1));
    /* ceil mode: drop a last window that would start in the end padding */
    if (ceil_mode && ir_dim_is_const(out) && ir_dim_is_const(in) &&
        (out.c - 1) * w->stride[i] >= in.c + w->pads[i])
        out.c--;
    return out;
}

int infer_conv(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 1), *b = infer_input(g, n, 2);
    /* X (N, C, D...) * W (M, C/group, K...) -> Y (N, M, O...) */
    if (x->rank < 3) return ir_node_error(g, n, d, "input X has rank %d, expected at least 3", x->rank);
    if (wt->rank != x->rank)
        return ir_node_error(g, n, d, "input W has rank %d, expected %d", wt->rank, x->rank);
    int64_t group = ir_attr_int(n, "group");
    if (group < 1) return ir_node_error(g, n, d, "group must be positive, got %lld", (long long)group);
    ir_dim c = x->dims[1], wc = wt->dims[1], m = wt->dims[0];
    if (ir_dim_is_const(c) && ir_dim_is_const(wc) && c.c != wc.c * group)
        return ir_node_error(g, n, d, "X has %lld channels but W expects %lld x group %lld", (long long)c.c,
                             (long long)wc.c, (long long)group);
    if (ir_dim_is_const(m) && m.c % group)
        return ir_node_error(g, n, d, "W has %lld output channels, not a multiple of group %lld", (long long)m.c,
                             (long long)group);
    if (b && (b->rank != 1 || !ir_dim_eq(b->dims[0], m)))
        return ir_node_error(g, n, d, "bias B must have shape (M)");
    window w;
    int k = x->rank - 2;
    if (read_window(g, n, k, wt->dims + 2, &w, d)) return -1;
    ir_dim out[IR_MAX_RANK] = {x->dims[0], m};
    for (int i = 0; i < k; i++) out[2 + i] = window_out(g, &w, i, x->dims[2 + i], false);
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

int infer_conv_transpose(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *wt = infer_input(g, n, 1);
    /* X (N, C, D...) * W (C, M/group, K...) -> Y (N, M, O...) */
    if (x->rank < 3 || wt->rank != x->rank)
        return ir_node_error(g, n, d, "X and W must have the same rank >= 3 (got %d and %d)", x->rank, wt->rank);
    int64_t group = ir_attr_int(n, "group");
    if (group < 1) return ir_node_error(g, n, d, "group must be positive");
    window w;
    int k = x->rank - 2;
    if (read_window(g, n, k, wt->dims + 2, &w, d)) return -1;
    int64_t outpad[IR_MAX_RANK], oshape[IR_MAX_RANK];
    if (read_list(g, n, "output_padding", outpad, k, 0, d)) return -1;
    uint32_t n_os;
    const int64_t *os = ir_attr_ints(n, "output_shape", &n_os);
    if (os && (int)n_os != k && (int)n_os != k + 2)
        return ir_node_error(g, n, d, "output_shape has %u values, expected %d", n_os, k);
    for (int i = 0; os && i < k; i++) oshape[i] = os[n_os == (uint32_t)k ? i : i + 2];
    ir_dim out[IR_MAX_RANK] = {x->dims[0], ir_dim_mul(g, wt->dims[1], ir_dim_const(group))};
    for (int i = 0; i < k; i++) {
        if (os) {
            out[2 + i] = ir_dim_const(oshape[i]);
        } else if (!strcmp(w.auto_pad, "SAME_UPPER") || !strcmp(w.auto_pad, "SAME_LOWER")) {
            out[2 + i] = ir_dim_mul(g, x->dims[2 + i], ir_dim_const(w.stride[i]));
        } else {
            int64_t span = (w.kernel[i] - 1) * w.dil[i] + 1;
            int64_t pads = strcmp(w.auto_pad, "VALID") ? w.pads[i] + w.pads[i + k] : 0;
            ir_dim o = ir_dim_mul(g, ir_dim_sub(g, x->dims[2 + i], ir_dim_const(1)), ir_dim_const(w.stride[i]));
            out[2 + i] = ir_dim_add(g, o, ir_dim_const(outpad[i] + span - pads));
        }
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

int infer_pool(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    if (x->rank < 3) return ir_node_error(g, n, d, "input has rank %d, expected at least 3", x->rank);
    window w;
    int k = x->rank - 2;
    if (read_window(g, n, k, NULL, &w, d)) return -1;
    bool ceil_mode = ir_attr_int(n, "ceil_mode") != 0;
    ir_dim out[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < k; i++) out[2 + i] = window_out(g, &w, i, x->dims[2 + i], ceil_mode);
    if (infer_set(g, n, 0, x->dtype, x->rank, out, d)) return -1;
    return infer_set(g, n, 1, IR_I64, x->rank, out, d); /* MaxPool indices */
}

int infer_global_pool(ir_graph *g, uint32_t node, diag *d) {
    const ir_value *x = infer_input(g, NODE, 0);
    if (x->rank < 2) return ir_node_error(g, NODE, d, "input has rank %d, expected at least 2", x->rank);
    ir_dim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) out[i] = i < 2 ? x->dims[i] : ir_dim_const(1);
    return infer_set(g, NODE, 0, x->dtype, x->rank, out, d);
}

int infer_layer_norm(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int axis;
    ir_dtype st;
    if (infer_axis(g, n, ir_attr_int(n, "axis"), x->rank, &axis, d) || infer_norm_stash_type(g, n, &st, d) ||
        infer_norm_bcast_param(g, n, 1, d) || infer_norm_bcast_param(g, n, 2, d))
        return -1;
    if (infer_set(g, n, 0, x->dtype, x->rank, x->dims, d)) return -1;
    ir_dim stat[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stat[i] = i < axis ? x->dims[i] : ir_dim_const(1);
    if (infer_set(g, n, 1, st, x->rank, stat, d)) return -1;
    return infer_set(g, n, 2, st, x->rank, stat, d);
}
