/* infer_signal.c — inference for the signal ops of the loss family: the
 * windows (HannWindow, HammingWindow, BlackmanWindow), DFT, STFT and
 * MelWeightMatrix, and the geometry readers of signal.h that the lowering
 * shares. Their output sizes come from scalar inputs (a window's size, a
 * DFT length, a frame step), which must therefore be constants: an
 * ahead-of-time compiler has to know them (`smelt run` makes small integer
 * inputs constants).
 */
#include <string.h>

#include "infer.h"
#include "signal.h"

#define NODE (&g->nodes[node])

/* Sizes beyond this are rejected: they can only come from a broken file. */
#define SIGNAL_MAX (INT64_C(1) << 32)

/* Input i, a constant integer in [lo, SIGNAL_MAX], into *v. */
static int const_size(ir_graph *g, const ir_node *n, uint32_t i, const char *what, int64_t lo, int64_t *v, diag *d) {
    int rc = infer_one_int(g, n, i, what, v, d);
    if (rc < 0) return -1;
    if (rc > 0) return ir_node_error(g, n, d, "%s must be a constant", what);
    if (*v < lo || *v > SIGNAL_MAX) return ir_node_error(g, n, d, "%s = %lld is out of range", what, (long long)*v);
    return 0;
}

/* A signal: floats whose last axis is 1 (real) or 2 (complex), rank >= min_rank. */
static int check_signal(ir_graph *g, const ir_node *n, const ir_value *x, int min_rank, bool *complex, diag *d) {
    if (!ir_dtype_is_float(x->dtype)) return ir_node_error(g, n, d, "the signal must be floats, got %s", ir_dtype_name(x->dtype));
    if (x->rank < min_rank) return ir_node_error(g, n, d, "the signal has rank %d, expected at least %d", x->rank, min_rank);
    ir_dim c = x->dims[x->rank - 1];
    if (!ir_dim_is_const(c) || (c.c != 1 && c.c != 2))
        return ir_node_error(g, n, d, "the signal's last axis must have size 1 (real) or 2 (complex)");
    *complex = c.c == 2;
    return 0;
}

/* A float output type named by the output_datatype attribute. */
static int output_datatype(ir_graph *g, const ir_node *n, ir_dtype *t, diag *d) {
    *t = (ir_dtype)ir_attr_int(n, "output_datatype");
    if (!ir_dtype_is_float(*t) && !ir_dtype_is_int(*t))
        return ir_node_error(g, n, d, "output_datatype %s is not a number type", ir_dtype_name(*t));
    return 0;
}

/* ---- windows --------------------------------------------------------------------------- */

/* HannWindow, HammingWindow, BlackmanWindow(size) -> output_datatype[size] */
int infer_window(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    int64_t size;
    ir_dtype t;
    if (const_size(g, n, 0, "size", 0, &size, d) || output_datatype(g, n, &t, d)) return -1;
    ir_dim dim = ir_dim_const(size);
    return infer_set(g, n, 0, t, 1, &dim, d);
}

/* ---- DFT ------------------------------------------------------------------------------- */

/* Bins of the spectrum of a signal of `length`: all, or for a one-sided
 * spectrum length/2 + 1 (the rest mirror them). */
static ir_dim spectrum_bins(ir_graph *g, ir_dim length, bool onesided) {
    return onesided ? ir_dim_add(g, ir_dim_div(g, length, ir_dim_const(2)), ir_dim_const(1)) : length;
}

int dft_read(ir_graph *g, const ir_node *n, dft_geometry *geo, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    memset(geo, 0, sizeof *geo);
    if (check_signal(g, n, x, 2, &geo->complex_in, d)) return -1;
    int64_t axis = -2, len;
    if (infer_input(g, n, 2)) {
        int rc = infer_one_int(g, n, 2, "axis", &axis, d);
        if (rc) return rc < 0 ? -1 : ir_node_error(g, n, d, "axis must be a constant");
    }
    if (infer_axis(g, n, axis, x->rank, &geo->axis, d)) return -1;
    if (geo->axis == x->rank - 1) return ir_node_error(g, n, d, "axis must not be the last (complex) axis");
    geo->inverse = ir_attr_int(n, "inverse") != 0;
    geo->onesided = ir_attr_int(n, "onesided") != 0;
    geo->in_len = x->dims[geo->axis];
    bool irfft = geo->inverse && geo->onesided;
    if (infer_input(g, n, 1)) {
        if (const_size(g, n, 1, "dft_length", 1, &len, d)) return -1;
        geo->length = ir_dim_const(len);
    } else if (irfft) { /* the full length of a one-sided spectrum of in_len bins, taken as even */
        geo->length = ir_dim_mul(g, ir_dim_sub(g, geo->in_len, ir_dim_const(1)), ir_dim_const(2));
    } else {
        geo->length = geo->in_len;
    }
    if (ir_dim_is_const(geo->length) && geo->length.c < 1)
        return ir_node_error(g, n, d, "the DFT length %lld is not positive", (long long)geo->length.c);
    geo->out_len = spectrum_bins(g, geo->length, geo->onesided && !geo->inverse);
    return 0;
}

/* DFT(input (..., n, ..., 1|2), dft_length?, axis?) -> (..., out_len, ..., 2),
 * or (..., L, ..., 1) for the inverse of a one-sided spectrum. */
int infer_dft(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    dft_geometry geo;
    if (dft_read(g, n, &geo, d)) return -1;
    const ir_value *x = infer_input(g, n, 0);
    ir_dim out[IR_MAX_RANK];
    memcpy(out, x->dims, (size_t)x->rank * sizeof *out);
    out[geo.axis] = geo.out_len;
    out[x->rank - 1] = ir_dim_const(geo.inverse && geo.onesided ? 1 : 2);
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- STFT ------------------------------------------------------------------------------- */

int stft_read(ir_graph *g, const ir_node *n, stft_geometry *geo, diag *d) {
    const ir_value *x = infer_input(g, n, 0), *w = infer_input(g, n, 2);
    memset(geo, 0, sizeof *geo);
    if (check_signal(g, n, x, 3, &geo->complex_in, d)) return -1;
    if (x->rank != 3) return ir_node_error(g, n, d, "the signal has rank %d, expected 3 (batch, length, 1|2)", x->rank);
    if (const_size(g, n, 1, "frame_step", 1, &geo->step, d)) return -1;
    geo->frame = x->dims[1];
    if (w) {
        if (w->rank != 1 || w->dtype != x->dtype)
            return ir_node_error(g, n, d, "the window must be a vector of the signal's type");
        geo->frame = w->dims[0];
    }
    if (infer_input(g, n, 3)) {
        int64_t len;
        if (const_size(g, n, 3, "frame_length", 1, &len, d)) return -1;
        if (w && ir_dim_is_const(w->dims[0]) && w->dims[0].c != len)
            return ir_node_error(g, n, d, "frame_length %lld differs from the window's length %lld", (long long)len,
                                 (long long)w->dims[0].c);
        geo->frame = ir_dim_const(len);
    }
    if (ir_dim_is_const(geo->frame) && geo->frame.c < 1) return ir_node_error(g, n, d, "the frame length is not positive");
    ir_dim rest = ir_dim_sub(g, x->dims[1], geo->frame);
    geo->frames = ir_dim_add(g, ir_dim_div(g, rest, ir_dim_const(geo->step)), ir_dim_const(1));
    geo->bins = spectrum_bins(g, geo->frame, ir_attr_int(n, "onesided") != 0);
    return 0;
}

/* STFT(signal (batch, length, 1|2), frame_step, window?, frame_length?)
 * -> (batch, frames, bins, 2) */
int infer_stft(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    stft_geometry geo;
    if (stft_read(g, n, &geo, d)) return -1;
    const ir_value *x = infer_input(g, n, 0);
    if (ir_dim_is_const(geo.frames) && geo.frames.c < 0)
        return ir_node_error(g, n, d, "the frame is longer than the signal");
    ir_dim out[4] = {x->dims[0], geo.frames, geo.bins, ir_dim_const(2)};
    return infer_set(g, n, 0, x->dtype, 4, out, d);
}

/* ---- MelWeightMatrix ------------------------------------------------------------------------ */

/* MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
 * upper_edge_hertz) -> output_datatype[dft_length / 2 + 1, num_mel_bins] */
int infer_mel_weight_matrix(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    int64_t mel, len, rate;
    ir_dtype t;
    if (const_size(g, n, 0, "num_mel_bins", 0, &mel, d) || const_size(g, n, 1, "dft_length", 1, &len, d) ||
        infer_one_int(g, n, 2, "sample_rate", &rate, d) < 0 || output_datatype(g, n, &t, d))
        return -1;
    for (uint32_t i = 3; i < 5; i++) {
        const ir_value *e = infer_input(g, n, i);
        if (!ir_dtype_is_float(e->dtype) || ir_value_numel(g, n->in[i]) != 1)
            return ir_node_error(g, n, d, "input %u (an edge frequency) must be one float", i);
    }
    ir_dim out[2] = {ir_dim_const(len / 2 + 1), ir_dim_const(mel)};
    return infer_set(g, n, 0, t, 2, out, d);
}
