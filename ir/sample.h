/* sample.h — the attributes of the ops that sample a tensor at computed,
 * fractional positions (GridSample, RoiAlign, DeformConv) and of AffineGrid,
 * which makes the positions GridSample reads. Inference (infer_attn.c)
 * checks them and lowering (lower_sample.c) reads them through the same
 * functions, so that both see one set of modes and limits.
 */
#ifndef SMELT_SAMPLE_H
#define SMELT_SAMPLE_H

#include "ir.h"

/* GridSample's interpolation and the value of positions outside the input. */
typedef enum smp_mode { SMP_NEAREST, SMP_LINEAR, SMP_CUBIC } smp_mode;
typedef enum smp_pad { SMP_ZEROS, SMP_BORDER, SMP_REFLECTION } smp_pad;

/* mode (linear / bilinear, nearest, cubic / bicubic) and padding_mode. */
int grid_sample_modes(const ir_graph *g, const ir_node *n, smp_mode *mode, smp_pad *pad, diag *d);

/* RoiAlign's attributes, checked. */
typedef struct roi_align_attrs {
    bool max;            /* mode max, else avg */
    bool half_pixel;     /* coordinates shifted by -0.5 */
    int64_t out_h, out_w;
    int64_t ratio;       /* samples per bin and axis; 0: adaptive */
    double scale;        /* spatial_scale */
} roi_align_attrs;

int roi_align_read(const ir_graph *g, const ir_node *n, roi_align_attrs *a, diag *d);

/* AffineGrid's size input (N, C, H, W) or (N, C, D, H, W): the number of
 * values (4 or 5) in *count, and when it is a constant (returns 0) its
 * values in size[]; returns 1 when it is not a constant, -1 on error. */
int affine_grid_size(ir_graph *g, const ir_node *n, int64_t *size, int *count, diag *d);

#endif
