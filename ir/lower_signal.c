/* lower_signal.c — lowering of the signal ops of the loss family into loop
 * kernels: the windows (HannWindow, HammingWindow, BlackmanWindow) and
 * MelWeightMatrix are elementwise formulas of the output position; DFT and
 * STFT are one SUM reduction each over the signal positions n of
 * x[n] * e^(-+2 pi i k n / L) — a direct transform, O(L^2) per output
 * line, whose angle is taken from (k * n) mod L so that it stays exact for
 * long signals. Complex values are a trailing axis of 2 (signal.h); an
 * output point computes its real or imaginary part as that axis' index
 * says. Everything is computed in f64 and converted to the output type, as
 * the ONNX reference (numpy's FFT) does.
 */
#include <math.h>

#include "infer.h"
#include "lower.h"
#include "signal.h"

#define NODE (&p->g->nodes[node])

static uint32_t f64c(kir_program *p, double v) { return kb_const_f(p, IR_F64, v); }
/* e as f64; an integer constant becomes an f64 constant */
static uint32_t to_f64(kir_program *p, uint32_t e) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_CONST && ir_dtype_is_int(x->dtype)) return kb_const_f(p, IR_F64, (double)x->ival);
    return kb_cast(p, IR_F64, e, false);
}
static uint32_t f64mul(kir_program *p, uint32_t a, uint32_t b) { return kb_bin(p, KX_MUL, a, b); }

/* The one element of input i (a scalar or a one-element tensor), as f64. */
static uint32_t scalar_input(kir_program *p, ir_id node, uint32_t i) {
    uint32_t b = kb_value(p, NODE->in[i]), zeros[IR_MAX_RANK];
    for (int a = 0; a < kb_buf(p, b)->rank; a++) zeros[a] = kb_const_i(p, IR_I64, 0);
    return to_f64(p, kb_load(p, b, zeros));
}

/* ---- windows ----------------------------------------------------------------------------- */

/* w[n] over n < size, N = size (periodic) or size - 1 (symmetric), in the
 * reference's order of operations:
 *   Hann      sin(n pi / N)^2
 *   Hamming   25/46 - cos(n 2 pi / N) * (1 - 25/46)
 *   Blackman  cos(n 2 pi / N) * -0.5 + cos(n 4 pi / N) * 0.08 + 0.42 */
int lower_window(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t out = kb_value(p, n->out[0]);
    ir_dim size = kb_buf(p, out)->dims[0];
    if (!ir_dim_is_const(size)) return ir_node_error(p->g, n, d, "the window size must be a constant");
    double big_n = (double)(ir_attr_int(n, "periodic") ? size.c : size.c - 1);
    uint32_t pos = to_f64(p, kb_idx(p, 0)), nn = f64c(p, big_n), y;
    /* cos(n * m * pi / N) */
#define COS_OF(m) kb_un(p, KX_COS, kb_bin(p, KX_DIV, f64mul(p, pos, f64c(p, (m) * M_PI)), nn))
    switch (n->op) {
    case IR_OP_HannWindow: {
        uint32_t s = kb_un(p, KX_SIN, kb_bin(p, KX_DIV, f64mul(p, pos, f64c(p, M_PI)), nn));
        y = f64mul(p, s, s);
        break;
    }
    case IR_OP_HammingWindow: {
        double alpha = 25.0 / 46.0;
        y = kb_bin(p, KX_SUB, f64c(p, alpha), f64mul(p, COS_OF(2), f64c(p, 1 - alpha)));
        break;
    }
    case IR_OP_BlackmanWindow:
        y = kb_bin(p, KX_ADD, f64mul(p, COS_OF(2), f64c(p, -0.5)), f64mul(p, COS_OF(4), f64c(p, 0.08)));
        y = kb_bin(p, KX_ADD, y, f64c(p, 0.42));
        break;
    default: return ir_node_error(p->g, n, d, "not a window op");
    }
#undef COS_OF
    // y (size) = w[n]
    return kb_kernel(p, node, out, kb_cast(p, kb_buf(p, out)->dtype, y, false)) < 0 ? -1 : 0;
}

/* ---- DFT, STFT ------------------------------------------------------------------------------ */

/* (re + i im) * e^(sign i 2 pi k n / L) for f64 re and im (im KIR_NONE: a
 * real signal), index expressions k, n and the length len: its real part,
 * or with part (an index expression, KIR_NONE for the real part only) the
 * part it names: 0 real, 1 imaginary. */
static uint32_t rotate(kir_program *p, uint32_t re, uint32_t im, uint32_t k, uint32_t n, uint32_t len, int sign,
                       uint32_t part) {
    uint32_t kn = kb_bin(p, KX_MOD, kb_bin(p, KX_MUL, k, n), len);
    uint32_t theta = kb_bin(p, KX_DIV, f64mul(p, f64c(p, 2 * M_PI), to_f64(p, kn)), to_f64(p, len));
    uint32_t c = kb_un(p, KX_COS, theta), s = kb_un(p, KX_SIN, theta);
    if (sign < 0) s = kb_un(p, KX_NEG, s);
    uint32_t real = f64mul(p, re, c), imag = f64mul(p, re, s);
    if (im != KIR_NONE) {
        real = kb_bin(p, KX_SUB, real, f64mul(p, im, s));
        imag = kb_bin(p, KX_ADD, f64mul(p, im, c), imag);
    }
    if (part == KIR_NONE) return real;
    return kb_select(p, kb_bin(p, KX_EQ, part, kb_const_i(p, IR_I64, 0)), real, imag);
}

/* The real and imaginary (KIR_NONE for a real signal) parts of x at idx,
 * whose last entry is replaced by 0 and 1, as f64. */
static void load_complex(kir_program *p, uint32_t x, uint32_t *idx, bool complex, uint32_t *re, uint32_t *im) {
    int last = kb_buf(p, x)->rank - 1;
    idx[last] = kb_const_i(p, IR_I64, 0);
    *re = to_f64(p, kb_load(p, x, idx));
    *im = KIR_NONE;
    if (!complex) return;
    idx[last] = kb_const_i(p, IR_I64, 1);
    *im = to_f64(p, kb_load(p, x, idx));
}

/* Forward or inverse:  y[.., k, .., c] = (1/L if inverse) * part c of
 *   sum over n < min(n_in, L) of x[.., n, ..] * e^(-+2 pi i k n / L).
 * Inverse of a one-sided spectrum (k < n_in bins, a real output):
 *   y[.., n, .., 0] = 1/L * sum over k < min(n_in, L/2 + 1) of
 *                     w_k * Re(X[k] * e^(2 pi i k n / L)),
 *   w_k = 1 for k = 0 and k = L/2, else 2 (the mirrored bins). */
int lower_dft(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    dft_geometry geo;
    if (dft_read(p->g, n, &geo, d)) return -1;
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]);
    int rank = kb_buf(p, x)->rank;
    bool irfft = geo.inverse && geo.onesided;
    uint32_t len = kb_dim(p, geo.length), idx[IR_MAX_RANK], re, im;
    for (int a = 0; a < rank; a++) idx[a] = a == geo.axis ? kb_ridx(p, 0) : kb_idx(p, a);
    load_complex(p, x, idx, geo.complex_in, &re, &im);
    ir_dim red = geo.in_len;
    uint32_t body;
    if (irfft) {
        uint32_t k = kb_ridx(p, 0), one = f64c(p, 1);
        uint32_t edge = kb_bin(p, KX_OR, kb_bin(p, KX_EQ, k, kb_const_i(p, IR_I64, 0)),
                               kb_bin(p, KX_EQ, kb_imul(p, k, 2), len));
        body = f64mul(p, rotate(p, re, im, k, kb_idx(p, geo.axis), len, 1, KIR_NONE),
                    kb_select(p, edge, one, f64c(p, 2)));
        red = ir_dim_expr(p->g, IR_SYM_MIN, red,
                          ir_dim_add(p->g, ir_dim_div(p->g, geo.length, ir_dim_const(2)), ir_dim_const(1)));
    } else {
        body = rotate(p, re, im, kb_idx(p, geo.axis), kb_ridx(p, 0), len, geo.inverse ? 1 : -1, kb_idx(p, rank - 1));
        red = ir_dim_expr(p->g, IR_SYM_MIN, red, geo.length);
    }
    uint32_t acc = kb_acc(p, IR_F64), post = geo.inverse ? kb_bin(p, KX_DIV, acc, to_f64(p, len)) : acc;
    post = kb_cast(p, kb_buf(p, out)->dtype, post, false);
    // y (x's shape, out_len at axis, 1|2 last) = part c of (1/L) sum over n of x[n] e^(-+2 pi i k n / L)
    return kb_reduce(p, node, out, KR_SUM, 1, &red, IR_F64, body, post) < 0 ? -1 : 0;
}

// y (batch, frames, bins, 2)[b, f, k, c] = part c of
//     sum over n < frame of window[n] * x[b, f*step + n] * e^(-2 pi i k n / frame)
int lower_stft(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    stft_geometry geo;
    if (stft_read(p->g, n, &geo, d)) return -1;
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]), re, im;
    uint32_t tap = kb_ridx(p, 0);
    uint32_t idx[3] = {kb_idx(p, 0), kb_bin(p, KX_ADD, kb_imul(p, kb_idx(p, 1), geo.step), tap), 0};
    load_complex(p, x, idx, geo.complex_in, &re, &im);
    if (n->n_in > 2 && n->in[2] != IR_NONE) {
        uint32_t w = to_f64(p, kb_load(p, kb_value(p, n->in[2]), &tap));
        re = f64mul(p, re, w);
        if (im != KIR_NONE) im = f64mul(p, im, w);
    }
    uint32_t body = rotate(p, re, im, kb_idx(p, 2), tap, kb_dim(p, geo.frame), -1, kb_idx(p, 3));
    uint32_t post = kb_cast(p, kb_buf(p, out)->dtype, kb_acc(p, IR_F64), false);
    return kb_reduce(p, node, out, KR_SUM, 1, &geo.frame, IR_F64, body, post) < 0 ? -1 : 0;
}

/* ---- MelWeightMatrix -------------------------------------------------------------------------- */

/* The DFT bin of mel band edge k (an index expression), as the reference
 * computes it: floor((L + 1) * hz(k * step + low) / rate), where
 * hz(m) = 700 * (10^(m / 2595) - 1). */
static uint32_t mel_edge_bin(kir_program *p, uint32_t k, uint32_t step, uint32_t low, double len, uint32_t rate) {
    uint32_t m = kb_bin(p, KX_ADD, f64mul(p, to_f64(p, k), step), low);
    uint32_t hz = kb_bin(p, KX_POW, f64c(p, 10), kb_bin(p, KX_DIV, m, f64c(p, 2595)));
    hz = f64mul(p, f64c(p, 700), kb_bin(p, KX_SUB, hz, f64c(p, 1)));
    uint32_t bin = kb_un(p, KX_FLOOR, kb_bin(p, KX_DIV, f64mul(p, f64c(p, len + 1), hz), rate));
    return kb_cast(p, IR_I64, bin, false);
}

/* 2595 * log10(1 + hz / 700) */
static uint32_t to_mel(kir_program *p, uint32_t hz) {
    uint32_t x = kb_bin(p, KX_ADD, f64c(p, 1), kb_bin(p, KX_DIV, hz, f64c(p, 700)));
    return f64mul(p, f64c(p, 2595), kb_bin(p, KX_DIV, kb_un(p, KX_LOG, x), f64c(p, M_LN10)));
}

static uint32_t ratio(kir_program *p, uint32_t a, uint32_t b) {
    return kb_bin(p, KX_DIV, to_f64(p, a), to_f64(p, b));
}

static uint32_t all3(kir_program *p, uint32_t a, uint32_t b, uint32_t c) {
    return kb_bin(p, KX_AND, kb_bin(p, KX_AND, a, b), c);
}

/* Band i's triangle over bins j, from its edge bins l <= c <= h: rising
 * (j - l) / (c - l) on [l, c], falling (h - j) / (h - c) on [c, h) (which
 * wins where both apply), 1 at j = c when l = c, else 0. */
int lower_mel_weight_matrix(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t out = kb_value(p, n->out[0]);
    ir_dim bands_dim = kb_buf(p, out)->dims[1];
    ir_dtype ot = kb_buf(p, out)->dtype;
    int64_t len;
    if (!ir_dim_is_const(bands_dim) || infer_one_int(p->g, n, 1, "dft_length", &len, d) != 0)
        return ir_node_error(p->g, n, d, "num_mel_bins and dft_length must be constants");
    int64_t bands = bands_dim.c;
    uint32_t low = to_mel(p, scalar_input(p, node, 3)), high = to_mel(p, scalar_input(p, node, 4));
    uint32_t step = kb_bin(p, KX_DIV, kb_bin(p, KX_SUB, high, low), f64c(p, (double)(bands + 2)));
    uint32_t rate = scalar_input(p, node, 2), i = kb_idx(p, 1), j = kb_idx(p, 0);
    uint32_t l = mel_edge_bin(p, i, step, low, (double)len, rate);
    uint32_t c = mel_edge_bin(p, kb_iadd(p, i, 1), step, low, (double)len, rate);
    uint32_t h = mel_edge_bin(p, kb_iadd(p, i, 2), step, low, (double)len, rate);
    uint32_t falling = all3(p, kb_bin(p, KX_LT, c, h), kb_bin(p, KX_LE, c, j), kb_bin(p, KX_LT, j, h));
    uint32_t rising = all3(p, kb_bin(p, KX_LT, l, c), kb_bin(p, KX_LE, l, j), kb_bin(p, KX_LE, j, c));
    uint32_t peak = kb_bin(p, KX_AND, kb_bin(p, KX_EQ, l, c), kb_bin(p, KX_EQ, j, c));
    uint32_t y = kb_select(p, peak, f64c(p, 1), f64c(p, 0));
    y = kb_select(p, rising, ratio(p, kb_bin(p, KX_SUB, j, l), kb_bin(p, KX_SUB, c, l)), y);
    y = kb_select(p, falling, ratio(p, kb_bin(p, KX_SUB, h, j), kb_bin(p, KX_SUB, h, c)), y);
    // y (L/2 + 1, bands)[j, i] = triangle of band i at bin j
    return kb_kernel(p, node, out, kb_cast(p, ot, y, false)) < 0 ? -1 : 0;
}
