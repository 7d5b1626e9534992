/* window.c — reading and checking the sliding-window attributes of Conv,
 * ConvTranspose, their quantized forms, the pools, MaxUnpool and Col2Im
 * (see window.h), and the output sizes they imply (ONNX spec formulas). */
#include "window.h"

#include <string.h>

/* Sizes beyond this are rejected: they can only come from a broken file. */
#define WINDOW_MAX (INT64_C(1) << 32)

/* Read list attribute `name` into dst (want values, each in [lo, WINDOW_MAX]),
 * or fill it with dflt when the attribute is absent (or name is NULL: the op
 * has no such attribute). */
static int read_list(const ir_graph *g, const ir_node *n, const char *name, int64_t *dst, int want, int64_t lo,
                     int64_t dflt, diag *d) {
    uint32_t cnt;
    const int64_t *v = name ? ir_attr_ints(n, name, &cnt) : NULL;
    if (!v) {
        for (int i = 0; i < want; i++) dst[i] = dflt;
        return 0;
    }
    if ((int)cnt != want)
        return ir_node_error(g, n, d, "attribute '%s' has %u values, expected %d", name, cnt, want);
    for (int i = 0; i < want; i++) {
        if (v[i] < lo || v[i] > WINDOW_MAX)
            return ir_node_error(g, n, d, "attribute '%s' has invalid value %lld", name, (long long)v[i]);
        dst[i] = v[i];
    }
    return 0;
}

/* auto_pad; NOTSET for ops without the attribute (Col2Im, MaxUnpool). */
static int read_auto_pad(const ir_graph *g, const ir_node *n, ir_auto_pad *out, diag *d) {
    static const char *names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    if (ir_attr_index(n->op, "auto_pad") < 0) {
        *out = IR_PAD_NOTSET;
        return 0;
    }
    const char *s = ir_attr_str(n, "auto_pad");
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (ir_auto_pad)i;
            return 0;
        }
    return ir_node_error(g, n, d, "unknown auto_pad '%s'", s);
}

/* kernel_shape from the attribute, or from the weight's spatial dims (also
 * for ops without the attribute: Col2Im's block_shape). */
static int read_kernel(const ir_graph *g, const ir_node *n, int k, const ir_dim *wdims, ir_window *w, diag *d) {
    uint32_t cnt;
    if (ir_attr_index(n->op, "kernel_shape") >= 0 && ir_attr_ints(n, "kernel_shape", &cnt)) {
        if (read_list(g, n, "kernel_shape", w->kernel, k, 1, 1, d)) return -1;
        for (int i = 0; wdims && i < k; i++)
            if (ir_dim_is_const(wdims[i]) && wdims[i].c != w->kernel[i])
                return ir_node_error(g, n, d, "kernel_shape[%d] is %lld but the weight has %lld there", i,
                                     (long long)w->kernel[i], (long long)wdims[i].c);
        return 0;
    }
    if (!wdims) return ir_node_error(g, n, d, "attribute 'kernel_shape' is missing");
    for (int i = 0; i < k; i++) {
        if (!ir_dim_is_const(wdims[i])) return ir_node_error(g, n, d, "kernel size must be constant");
        if (wdims[i].c < 1) return ir_node_error(g, n, d, "the weight has an empty kernel axis %d", i);
        w->kernel[i] = wdims[i].c;
    }
    return 0;
}

int ir_window_read(const ir_graph *g, const ir_node *n, int k, const ir_dim *wdims, ir_window *w, diag *d) {
    memset(w, 0, sizeof *w);
    if (k < 1 || k > IR_MAX_RANK - 2) return ir_node_error(g, n, d, "%d spatial axes are not supported", k);
    w->k = k;
    if (read_kernel(g, n, k, wdims, w, d)) return -1;
    if (read_list(g, n, "strides", w->stride, k, 1, 1, d) || read_list(g, n, "pads", w->pads, 2 * k, 0, 0, d) ||
        read_auto_pad(g, n, &w->auto_pad, d))
        return -1;
    bool has_dilations = ir_attr_index(n->op, "dilations") >= 0;
    if (read_list(g, n, has_dilations ? "dilations" : NULL, w->dil, k, 1, 1, d)) return -1;
    w->ceil_mode = ir_attr_index(n->op, "ceil_mode") >= 0 && ir_attr_int(n, "ceil_mode") != 0;
    /* keep spans and tap counts far from overflowing index math */
    int64_t taps = 1;
    for (int i = 0; i < k; i++) {
        if (w->kernel[i] > WINDOW_MAX / w->dil[i] || w->kernel[i] > WINDOW_MAX / taps)
            return ir_node_error(g, n, d, "the window is too large (kernel %lld, dilation %lld)",
                                 (long long)w->kernel[i], (long long)w->dil[i]);
        taps *= w->kernel[i];
    }
    return 0;
}

ir_dim ir_window_out(ir_graph *g, const ir_window *w, int i, ir_dim in) {
    int64_t span = ir_window_span(w, i);
    ir_dim s = ir_dim_const(w->stride[i]);
    switch (w->auto_pad) {
    case IR_PAD_SAME_UPPER:
    case IR_PAD_SAME_LOWER: return ir_dim_cdiv(g, in, s); /* ceil(in / s) */
    case IR_PAD_VALID: return ir_dim_cdiv(g, ir_dim_sub(g, in, ir_dim_const(span - 1)), s);
    case IR_PAD_NOTSET: break;
    }
    /* floor or ceil((in + pads - span) / s) + 1 */
    ir_dim padded = ir_dim_add(g, in, ir_dim_const(w->pads[i] + w->pads[i + w->k] - span));
    ir_dim out = ir_dim_add(g, (w->ceil_mode ? ir_dim_cdiv : ir_dim_div)(g, padded, s), ir_dim_const(1));
    /* ceil mode: a last window that would start in the end padding is dropped */
    if (w->ceil_mode && ir_dim_is_const(out) && ir_dim_is_const(in) && (out.c - 1) * w->stride[i] >= in.c + w->pads[i])
        out.c--;
    return out;
}

ir_dim ir_window_unpool_out(ir_graph *g, const ir_window *w, int i, ir_dim in) {
    ir_dim o = ir_dim_mul(g, ir_dim_sub(g, in, ir_dim_const(1)), ir_dim_const(w->stride[i]));
    return ir_dim_add(g, o, ir_dim_const(w->kernel[i] - w->pads[i] - w->pads[i + w->k]));
}

int ir_window_read_transpose(const ir_graph *g, const ir_node *n, const ir_window *w, ir_transpose_window *t,
                             diag *d) {
    int k = w->k;
    if (read_list(g, n, "output_padding", t->out_pad, k, 0, 0, d)) return -1;
    uint32_t n_os;
    const int64_t *os = ir_attr_ints(n, "output_shape", &n_os);
    t->has_shape = os != NULL;
    if (os && (int)n_os != k && (int)n_os != k + 2)
        return ir_node_error(g, n, d, "output_shape has %u values, expected %d", n_os, k);
    for (int i = 0; os && i < k; i++) {
        t->out_shape[i] = os[(int)n_os == k ? i : i + 2];
        if (t->out_shape[i] < 0 || t->out_shape[i] > WINDOW_MAX)
            return ir_node_error(g, n, d, "output_shape has invalid value %lld", (long long)t->out_shape[i]);
    }
    return 0;
}
