/* quant.h — facts shared by the inference (infer_quant.c) and lowering
 * (lower_quant.c) of QuantizeLinear and DequantizeLinear: how the scale and
 * zero point map onto the elements of x, and which dtypes are quantized types.
 */
#ifndef SMELT_QUANT_H
#define SMELT_QUANT_H

#include "ir.h"

typedef enum quant_kind {
    QUANT_TENSOR,  /* one scale (rank 0, or one element) */
    QUANT_AXIS,    /* a vector of x.dims[axis] scales */
    QUANT_BLOCKED, /* x's rank; axis holds ceil(x.dims[axis] / block) scales */
} quant_kind;

typedef struct quant_layout {
    quant_kind kind;
    int axis;        /* QUANT_AXIS, QUANT_BLOCKED: normalized */
    int64_t block;   /* QUANT_BLOCKED */
} quant_layout;

/* The layout of the node's scale (input 1) against x (input 0), from its
 * shape and the axis / block_size attributes; checks the zero point (input 2)
 * has the scale's shape. Errors name the node. */
int quant_layout_of(ir_graph *g, const ir_node *n, quant_layout *out, diag *d);

/* Integer quantized types and their ranges; false for other dtypes. */
bool quant_int_range(ir_dtype t, int64_t *lo, int64_t *hi);

#endif
