/* signal.h — the geometry of the signal ops (DFT, STFT), read from a node
 * the same way by inference (infer_signal.c) and lowering
 * (lower_signal.c): which axis holds the signal, the transform length, and
 * the output sizes. Complex numbers are a trailing axis of size 2 (real,
 * imaginary), as ONNX has them; a real signal has a trailing axis of 1.
 * Sizes that shape the output (dft_length, axis, frame_step,
 * frame_length) must be constants.
 */
#ifndef SMELT_SIGNAL_H
#define SMELT_SIGNAL_H

#include "ir.h"

/* DFT(input, dft_length?, axis?): X (..., n, ..., 1|2) along `axis`. */
typedef struct dft_geometry {
    int axis;          /* the signal axis (never the last) */
    ir_dim in_len;     /* the input's size along it */
    ir_dim length;     /* the transform length L (dft_length, else a default) */
    ir_dim out_len;    /* the output's size along it */
    bool inverse;
    bool onesided;     /* forward: bins 0..L/2 only; inverse: input is those bins, output real */
    bool complex_in;   /* trailing axis of 2 */
} dft_geometry;
int dft_read(ir_graph *g, const ir_node *n, dft_geometry *geo, diag *d);

/* STFT(signal (batch, length, 1|2), frame_step, window?, frame_length?)
 * -> (batch, frames, bins, 2). */
typedef struct stft_geometry {
    int64_t step;      /* frame_step */
    ir_dim frame;      /* frame length: frame_length, else the window's, else the signal's */
    ir_dim frames;     /* 1 + (length - frame) / step */
    ir_dim bins;       /* frame / 2 + 1 when onesided, else frame */
    bool complex_in;
} stft_geometry;
int stft_read(ir_graph *g, const ir_node *n, stft_geometry *geo, diag *d);

#endif
