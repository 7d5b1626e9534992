/* movement.h — what the inference and the lowering of the shape and
 * data-movement ops share (infer_movement.c, infer_index.c, infer_resize.c,
 * lower_movement.c, lower_index.c, lower_resize.c).
 *
 * Ops whose output shape depends on input values (Slice starts, Pad pads,
 * Resize scales and sizes) compute their parameters once, in a "plan" read
 * from constant inputs: inference turns the plan into output dims and the
 * lowering into index expressions, so the two never disagree. When such an
 * input is not a constant the plan functions return 1: inference then gives
 * the output fresh symbolic dims, and the lowering reports the op as
 * unsupported for data-dependent parameters.
 *
 * The second half holds index-expression helpers of the lowerings: i64
 * arithmetic that folds constants, negative-index normalization, and the
 * linearize / unravel pair used by every reshape-like copy.
 */
#ifndef SMELT_MOVEMENT_H
#define SMELT_MOVEMENT_H

#include "infer.h"
#include "kir_build.h"

/* ---- constants ------------------------------------------------------------- */

/* Reads a constant numeric input (any int, float or bool dtype) into vals as
 * doubles (at most max, count in *count). 0 if constant, 1 if the input is
 * not a constant (or absent), -1 on error. */
int mv_const_doubles(ir_graph *g, const ir_node *n, uint32_t i, double *vals, int max, int *count, diag *d);

/* d + c as a dim, written as a subtraction when c < 0 (symbolic dims stay
 * free of negative constants, which run-time evaluation reads as unknown). */
ir_dim mv_dim_add_const(ir_graph *g, ir_dim x, int64_t c);

/* ---- Slice ----------------------------------------------------------------- */

/* Per data axis: out[i] = data[start + i * step], size elements. Axes that
 * are not sliced have start 0, step 1, size = the input dim. */
typedef struct mv_slice {
    ir_dim start[IR_MAX_RANK];
    int64_t step[IR_MAX_RANK];
    ir_dim size[IR_MAX_RANK];
} mv_slice;
int mv_slice_plan(ir_graph *g, const ir_node *n, mv_slice *s, diag *d);

/* ---- Pad ------------------------------------------------------------------- */

/* Per data axis: elements added before and after (negative: removed). */
typedef struct mv_pad {
    int64_t begin[IR_MAX_RANK], end[IR_MAX_RANK];
} mv_pad;
int mv_pad_plan(ir_graph *g, const ir_node *n, mv_pad *pp, diag *d);

/* ---- Resize ---------------------------------------------------------------- */

typedef enum mv_resize_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC } mv_resize_mode;
typedef enum mv_resize_coord {
    RZ_HALF_PIXEL, RZ_HALF_PIXEL_SYMMETRIC, RZ_PYTORCH_HALF_PIXEL, RZ_ALIGN_CORNERS, RZ_ASYMMETRIC,
    RZ_TF_HALF_PIXEL_FOR_NN, RZ_TF_CROP_AND_RESIZE
} mv_resize_coord;
typedef enum mv_resize_nearest { RZ_ROUND_PREFER_FLOOR, RZ_ROUND_PREFER_CEIL, RZ_FLOOR, RZ_CEIL } mv_resize_nearest;

typedef struct mv_resize {
    mv_resize_mode mode;
    mv_resize_coord coord;
    mv_resize_nearest nearest;
    bool antialias, exclude_outside;
    double cubic_a, extrapolation;
    int rank;
    bool resized[IR_MAX_RANK];    /* false: the axis is copied as it is */
    bool scale_known[IR_MAX_RANK]; /* false: scale = out / in at run time */
    double scale[IR_MAX_RANK];    /* output / input, the coordinate scale */
    ir_dim out[IR_MAX_RANK];      /* output dims */
    /* tf_crop_and_resize: the region of interest per axis, constant, or when
     * roi_runtime read from elements roi_at[a] and roi_at[a] + roi_count of
     * the roi input (roi_at[a] < 0: the axis has the full region [0, 1]) */
    double roi_start[IR_MAX_RANK], roi_end[IR_MAX_RANK];
    bool roi_runtime;
    uint32_t roi;                 /* the roi value when roi_runtime */
    int roi_at[IR_MAX_RANK], roi_count;
} mv_resize;
/* 1 when scales or sizes are not constants (a non-constant roi is read at
 * run time, see roi_runtime). */
int mv_resize_plan(ir_graph *g, const ir_node *n, mv_resize *rz, diag *d);

/* ---- node access (lowering) ------------------------------------------------ */

static inline const ir_value *mv_val(const kir_program *p, ir_id v) { return &p->g->values[v]; }
/* The buffer of input i / output o of a node. */
static inline uint32_t mv_in(kir_program *p, ir_id node, uint32_t i) { return kb_value(p, p->g->nodes[node].in[i]); }
static inline uint32_t mv_out(kir_program *p, ir_id node, uint32_t o) { return kb_value(p, p->g->nodes[node].out[o]); }
/* An axis attribute normalized against rank (inference has checked its range). */
static inline int mv_axis(const ir_node *n, const char *name, int rank) {
    int64_t a = ir_attr_int(n, name);
    return (int)(a < 0 ? a + rank : a);
}
/* A loop kernel writing output buffer out: 0, or -1 with an error in d. */
static inline int mv_emit(kir_program *p, ir_id node, uint32_t out, uint32_t body) {
    return kb_kernel(p, node, out, body) < 0 ? -1 : 0;
}

/* ---- index expressions (lowering) ------------------------------------------ */

/* i64 a op b, folded when both are constants (ADD SUB MUL FLOORDIV MOD MIN MAX). */
uint32_t mv_ibin(kir_program *p, kx_op op, uint32_t a, uint32_t b);
/* f64 a op b, folded when both are constants (ADD SUB MUL DIV MIN MAX). */
uint32_t mv_fbin(kir_program *p, kx_op op, uint32_t a, uint32_t b);
static inline uint32_t mv_i(kir_program *p, int64_t v) { return kb_const_i(p, IR_I64, v); }
static inline uint32_t mv_f(kir_program *p, double v) { return kb_const_f(p, IR_F64, v); }
/* An integer index loaded from data (any int dtype) as i64, with negative
 * values counted from the end of an axis of size dim: i < 0 ? i + dim : i. */
uint32_t mv_norm_index(kir_program *p, uint32_t idx, ir_dim dim);
/* a AND b, where a constant true operand drops out. */
uint32_t mv_and(kir_program *p, uint32_t a, uint32_t b);
/* i in [0, dim): the bool that guards a read that may fall outside. */
uint32_t mv_in_range(kir_program *p, uint32_t i, ir_dim dim);
/* Row-major linear position of idx[0..n) in dims[0..n). */
uint32_t mv_linearize(kir_program *p, const uint32_t *idx, const ir_dim *dims, int n);
/* The inverse: idx[0..n) of linear position lin in dims[0..n). */
void mv_unravel(kir_program *p, uint32_t lin, const ir_dim *dims, int n, uint32_t *idx);
/* Index into a tensor of shape in_dims for the domain point of a tensor of
 * shape out_dims holding the same elements in the same row-major order
 * (Reshape, Flatten, Squeeze, Unsqueeze): axes that match keep their IDX,
 * the others are linearized and unravelled group by group. */
void mv_reshape_index(kir_program *p, const ir_dim *in_dims, int ri, const ir_dim *out_dims, int ro, uint32_t *idx);
/* Element k (row-major) of a small tensor value, as an expression of its dtype. */
uint32_t mv_element(kir_program *p, ir_id value, int64_t k);
/* The constant 0 (or any value) of dtype t. */
uint32_t mv_const_of(kir_program *p, ir_dtype t, double v);

#endif
